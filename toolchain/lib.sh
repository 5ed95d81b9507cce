# Shared by the toolchain build scripts (sourced): progress lines, timing, and a cached Go build.
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
    version_at_least "$have" "$min" || { log "$name: $found is $have, older than $min: building $min"; return 1; }
    ln -sfn "$found" "$TOOLCHAIN_BIN/$name"
    log "$name: using $found ($have >= $min)"
}

# go_build NAME VERSION MODULE_DIR PACKAGE [extra go build args...]
# Builds PACKAGE inside the wrapper module MODULE_DIR (committed go.mod/go.sum) into .toolchain/bin/NAME,
# unless a binary of that version is cached already.
go_build() {
    local name=$1 version=$2 module=$3 package=$4
    shift 4
    local cached="$TOOLCHAIN_CACHE/$name-$version/$name"
    local t0=$SECONDS
    if [ ! -x "$cached" ]; then
        command -v go >/dev/null || die "$name $version: Go is needed to build it (go.dev/dl or the package manager)"
        log "$name $version: building $package (minutes on a cold Go cache)"
        mkdir -p "$(dirname "$cached")"
        (cd "$module" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -o "$cached.tmp" "$@" "$package") \
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
    log "apt-get update"
    apt-get update -q >"$TOOLCHAIN_CACHE/apt-update.log" 2>&1 || die "apt-get update (see $TOOLCHAIN_CACHE/apt-update.log)"
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
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >"$TOOLCHAIN_CACHE/apt-install.log" 2>&1 || die "apt-get install ${missing[*]} (see $TOOLCHAIN_CACHE/apt-install.log)"
}
