# Shared by the toolchain build scripts (sourced): progress lines, timing, long commands with their progress
# and log, a cached Go build, Debian packages.
# shellcheck shell=bash
TOOLCHAIN_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_BIN="$TOOLCHAIN_REPO/.toolchain/bin"
# Built binaries, one folder per name and version, kept outside the clone so a fresh clone reuses them.
TOOLCHAIN_CACHE="${TOOLCHAIN_CACHE:-$HOME/.cache/eks-nginx-toolchain}"
mkdir -p "$TOOLCHAIN_BIN" "$TOOLCHAIN_CACHE"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] FAILED: %s\n' "$*" >&2; exit 1; }

# version_at_least HAVE WANT: true when HAVE >= WANT (dotted versions).
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# use_from_path NAME MIN_VERSION VERSION_ARGS...: when a NAME outside .toolchain is on PATH and reports a
# version >= MIN_VERSION, link it into .toolchain/bin instead of building one.
use_from_path() {
    local name=$1 min=$2 found have
    shift 2
    found=$(PATH="${PATH//$TOOLCHAIN_BIN/}" command -v "$name" 2>/dev/null) || return 1
    have=$("$found" "$@" 2>&1) || return 1
    have=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$have" | head -n 1)
    [ -n "$have" ] || return 1
    version_at_least "$have" "$min" || { log "$name: not using $found ($have, older than $min)"; return 1; }
    ln -sfn "$found" "$TOOLCHAIN_BIN/$name"
    log "$name: using $found ($have >= $min)"
}

# elapsed SECONDS: 75 -> 1m15s.
elapsed() { if [ "$1" -ge 60 ]; then printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); else printf '%ds' "$1"; fi; }

# progress_words COMPILED DOWNLOADS LINES: "412 packages compiled, 37 downloads", leaving out a zero count;
# "N lines of output" when both are.
progress_words() {
    local parts=()
    [ "$1" -eq 0 ] || parts+=("$1 packages compiled")
    [ "$2" -eq 0 ] || parts+=("$2 downloads")
    [ ${#parts[@]} -gt 0 ] || parts=("$3 lines of output")
    printf '%s' "${parts[0]}${parts[1]:+, ${parts[1]}}"
}

# progress_summary LOG: progress_words for a whole log.
progress_summary() {
    local compiled downloads
    compiled=$(grep -c -E "$PROGRESS_PACKAGE" "$1") || true
    downloads=$(grep -c -E "$PROGRESS_DOWNLOAD" "$1") || true
    progress_words "${compiled:-0}" "${downloads:-0}" "$(wc -l <"$1")"
}
# `go build -v` (and go run -v, go list) print each package as they compile it, one import path a line,
# and "go: downloading MODULE VERSION" per module fetched; apt-get prints "Get:N ..." per file.
PROGRESS_PACKAGE='^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~+-]+)*$'
PROGRESS_DOWNLOAD='^(go: downloading |Get:[0-9])'

# progress_filter WHAT DOING LOG PARENT_PID: copies its input (a command's output) into LOG and, every
# $TOOLCHAIN_PROGRESS_SECONDS (15), prints "[toolchain] WHAT: DOING, N packages compiled, N downloads, 1m15s"
# from what has arrived. It ends with the input, or at the next tick once PARENT_PID is gone (a toolchain
# run stopped by a signal): the command's next write then fails, so an orphaned build stops too.
progress_filter() {
    local what=$1 doing=$2 logfile=$3 parent=$4 t0=$SECONDS every=${TOOLCHAIN_PROGRESS_SECONDS:-15}
    local next=$((SECONDS + every)) line partial="" compiled=0 downloads=0 lines=0 got
    exec 3>"$logfile"
    while :; do
        got=0
        IFS= read -r -t 1 line || got=$?
        if [ "$got" -gt 128 ]; then
            partial+=$line  # a timeout keeps what it read of an unfinished line
        else
            line=$partial$line
            partial=""
            [ "$got" -eq 0 ] || { [ -z "$line" ] || printf '%s' "$line" >&3; break; }
            printf '%s\n' "$line" >&3
            lines=$((lines + 1))
            if [[ $line =~ $PROGRESS_PACKAGE ]]; then compiled=$((compiled + 1)); fi
            if [[ $line =~ $PROGRESS_DOWNLOAD ]]; then downloads=$((downloads + 1)); fi
        fi
        if [ "$SECONDS" -ge "$next" ]; then
            kill -0 "$parent" 2>/dev/null || break
            log "$what: $doing, $(progress_words "$compiled" "$downloads" "$lines"), $(elapsed $((SECONDS - t0)))"
            next=$((SECONDS + every))
        fi
    done
    exec 3>&-
}

# progress_run WHAT DOING LOG COMMAND...: runs COMMAND (in a subshell) with its output going to LOG through
# progress_filter, so that a cold build of many minutes prints where it is every 15 s instead of nothing.
# The ticker is that filter, the pipeline's reader, not a background process: it ends with the command's
# output (however the command ends), so no exit path leaves one running. On failure: the log's last lines
# and its path, and COMMAND's status as this function's.
progress_run() {
    local what=$1 doing=$2 logfile=$3 t0=$SECONDS status=(0 0) self=$BASHPID
    shift 3
    mkdir -p "$(dirname "$logfile")"
    ("$@") 2>&1 </dev/null | progress_filter "$what" "$doing" "$logfile" "$self" || status=("${PIPESTATUS[@]}")
    if [ "${status[0]}" -ne 0 ]; then
        tail -n 20 "$logfile" | sed 's/^/    /' >&2
        log "$what: $doing failed after $(elapsed $((SECONDS - t0))) (status ${status[0]}); the whole log: $logfile"
        return "${status[0]}"
    fi
    log "$what: $doing done in $(elapsed $((SECONDS - t0))): $(progress_summary "$logfile") (log: $logfile)"
}

# in_dir DIR [NAME=VALUE...] COMMAND...: COMMAND in DIR with those variables (for progress_run, which runs
# it in a subshell, so the cd stays there).
in_dir() {
    cd "$1" && shift && env "$@"
}

# go_build NAME VERSION MODULE_DIR PACKAGE [extra go build args...]
# Builds PACKAGE inside the wrapper module MODULE_DIR (committed go.mod/go.sum) into .toolchain/bin/NAME,
# unless a binary of that version is cached already. Progress and the build's log: progress_run.
go_build() {
    local name=$1 version=$2 module=$3 package=$4
    shift 4
    local cached="$TOOLCHAIN_CACHE/$name-$version/$name"
    local t0=$SECONDS
    if [ ! -x "$cached" ]; then
        command -v go >/dev/null || die "$name $version: Go is needed to build it (go.dev/dl or the package manager)"
        log "$name $version: building $package (minutes on a cold Go cache)"
        progress_run "$name $version" building "$(dirname "$cached")/build.log" \
            in_dir "$module" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -v -trimpath -o "$cached.tmp" "$@" "$package" \
            || die "$name $version: go build of $package in $module"
        mv "$cached.tmp" "$cached"
    fi
    rm -f "$TOOLCHAIN_BIN/$name"
    install -m 0755 "$cached" "$TOOLCHAIN_BIN/$name"
    log "$name $version: ready in $((SECONDS - t0))s"
}

# apt_update_once: refreshes Debian's package lists, at most once per toolchain run.
apt_update_once() {
    [ -z "${_apt_updated:-}" ] || return 0
    progress_run "apt-get update" running "$TOOLCHAIN_CACHE/apt-update.log" apt-get update -q || die "apt-get update"
    _apt_updated=1
}

# deb_installed PACKAGE: the installed version, or nothing.
deb_installed() { dpkg-query -W -f '${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null | awk '$1 == "ii" { print $2 }'; }

# apt_install PACKAGE...: installs the Debian packages that are missing (needs root).
apt_install() {
    local missing=() p
    for p in "$@"; do [ -n "$(deb_installed "$p")" ] || missing+=("$p"); done
    [ ${#missing[@]} -gt 0 ] || return 0
    [ "$(id -u)" = 0 ] || die "Debian packages missing: ${missing[*]}; install them as root (apt-get install ${missing[*]})"
    apt_update_once
    log "apt-get install ${missing[*]}"
    progress_run "apt-get install" running "$TOOLCHAIN_CACHE/apt-install.log" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]}"
}
