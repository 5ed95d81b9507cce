# Source this file: the environment for running `pulumi` on the local stage.
# - Node >= 22 first on PATH; the project's toolchain (.toolchain/bin, npm run toolchain) next, when built;
#   a Pulumi CLI already on PATH is used otherwise, with its own plugins.
# - State: $PULUMI_BACKEND_URL if set, else the local file backend in .pulumi-state/, opened with
#   `metadata=skip` (below).
# - TypeScript: nothing to set; Pulumi.yaml's main.js runs the program tsc compiled and type-checked (bin/),
#   rebuilding it when a source changed, as a plain `pulumi` does.
# - Secrets: passphrase provider; $PULUMI_CONFIG_PASSPHRASE(_FILE) if set, else a random passphrase kept
#   in .pulumi-state/passphrase (git-ignored, readable by you only), and beside it the keys the toolchain's
#   CLI derives from it (.pulumi-state/passphrase-keys, the same), so that a command does not spend a
#   quarter of a second deriving the key again (toolchain/pulumi/passphrase-cache/README.md).
# shellcheck shell=bash source-path=SCRIPTDIR
_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../toolchain/node.sh
source "$_repo/toolchain/node.sh"
if [ -x "$_repo/.toolchain/bin/pulumi" ]; then
    export PATH="$_repo/.toolchain/bin:$PATH"
    export PULUMI_HOME="${PULUMI_HOME:-$_repo/.toolchain/pulumi-home}"
    # Offline: the plugins this toolchain built are all there is.
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    # Use the plugins installed in PULUMI_HOME by exact version, not the same binaries found on PATH.
    export PULUMI_IGNORE_AMBIENT_PLUGINS=true
fi
export PULUMI_SKIP_UPDATE_CHECK=true
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p "$_repo/.pulumi-state"
    # metadata=skip: the file backend (gocloud.dev's fileblob) then writes no `<file>.attrs` sidecar. It
    # writes each state file to a temporary file and renames it, but truncates and rewrites the sidecar in
    # place, and reads it back before the file; a `pulumi up` killed in between (SIGKILL, a cancelled CI
    # job) leaves it empty and the stack unreadable ("failed to load checkpoint: EOF"). Pulumi reads
    # nothing from the sidecars (a content type and an MD5 sum).
    export PULUMI_BACKEND_URL="file://$_repo/.pulumi-state?metadata=skip"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    _pass="$_repo/.pulumi-state/passphrase"
    if [ ! -s "$_pass" ]; then
        mkdir -p "$(dirname "$_pass")"
        (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64"))' >"$_pass")
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$_pass"
    export EKS_NGINX_PASSPHRASE_KEY_CACHE="$_repo/.pulumi-state/passphrase-keys"
fi
unset _repo _pass
