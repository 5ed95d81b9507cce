# Shared by the toolchain build scripts (sourced): progress lines, timing, and a cached Go build.
# shellcheck shell=bash
TOOLCHAIN_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_BIN="$TOOLCHAIN_REPO/.toolchain/bin"
# Built binaries, one folder per name and version, kept outside the clone so a fresh clone reuses them.
TOOLCHAIN_CACHE="${TOOLCHAIN_CACHE:-$HOME/.cache/eks-nginx-toolchain}"
mkdir -p "$TOOLCHAIN_BIN" "$TOOLCHAIN_CACHE"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] FAILED: %s\n' "$*" >&2; exit 1; }

# go_build NAME VERSION MODULE_DIR PACKAGE [extra go build args...]
# Builds PACKAGE inside the wrapper module MODULE_DIR (committed go.mod/go.sum) into .toolchain/bin/NAME,
# unless a binary of that version is cached already.
go_build() {
    local name=$1 version=$2 module=$3 package=$4
    shift 4
    local cached="$TOOLCHAIN_CACHE/$name-$version/$name"
    local t0=$SECONDS
    if [ ! -x "$cached" ]; then
        log "$name $version: building $package (minutes on a cold Go cache)"
        mkdir -p "$(dirname "$cached")"
        (cd "$module" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$cached.tmp" "$@" "$package") \
            || die "$name $version: go build of $package in $module"
        mv "$cached.tmp" "$cached"
    fi
    install -m 0755 "$cached" "$TOOLCHAIN_BIN/$name"
    log "$name $version: ready in $((SECONDS - t0))s"
}
