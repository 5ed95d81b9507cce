#!/usr/bin/env bash
# npm run lint, second half: shellcheck (Debian's package) on every shell script git tracks, that is every
# *.sh file and every other file whose first line is a sh or bash shebang (.ci/run), so a
# new script is checked once it is added. Findings of every severity fail (shellcheck's default, style and
# up); its settings are in .shellcheckrc (sourced files are followed, from the sourcing script's folder).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
    echo "lint: shellcheck is not installed; install Debian's package (as root: apt-get install shellcheck;" \
        "elsewhere see https://github.com/koalaman/shellcheck#installing). .ci/run installs it when missing." >&2
    exit 1
fi
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "lint: not a git checkout: the scripts to check are the ones git tracks" >&2; exit 1; }
scripts=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue # deleted in the work tree, not yet in the index
    case "$f" in
        *.sh) scripts+=("$f") ;;
        *)
            # The first line only (at most 200 bytes, NULs dropped: binary files are tracked too).
            first=$(head -c 200 -- "$f" | tr -d '\0' | sed -n 1p)
            if [[ $first =~ ^'#!'.*[/\ ](ba)?sh([[:space:]]|$) ]]; then scripts+=("$f"); fi ;;
    esac
done < <(git ls-files -z)
shellcheck "${scripts[@]}"
echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#scripts[@]} scripts, no findings"
