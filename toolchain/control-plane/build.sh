#!/usr/bin/env bash
# Installs the embedded control plane into $REPO/.toolchain/bin, at the versions pinned in versions.sh:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (one Kubernetes release)
#   etcd                                                              (go.etcd.io/etcd/server/v3)
#   kwok                                                              (sigs.k8s.io/kwok/cmd/kwok)
# built with Go (CGO_ENABLED=0) from the Go module proxy through the committed wrapper modules in
# kubernetes/, etcd/ and kwok/ (regenerate them with modules.sh after a version change).
#
# Idempotent. For each binary, the first of these that reports the pinned version is used:
#   1. .toolchain/bin/NAME  2. NAME on PATH (copied)  3. the cache (copied)  4. a build (then cached).
# The cache is ${TOOLCHAIN_CACHE:-~/.cache/eks-nginx-toolchain}/NAME-VERSION/NAME, outside the clone, so a
# fresh clone on the same machine copies instead of building. Go's own module and build caches are used
# as configured (GOMODCACHE, GOCACHE). Build output goes to .toolchain/logs/.
# Cold (empty Go caches) the Kubernetes build takes tens of minutes on 2 cores; warm, seconds.
set -Eeuo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$here/../.." && pwd)"
# shellcheck source=toolchain/control-plane/versions.sh
source "$here/versions.sh"
BIN="$REPO/.toolchain/bin"
LOGS="$REPO/.toolchain/logs"
CACHE="${TOOLCHAIN_CACHE:-$HOME/.cache/eks-nginx-toolchain}"

t_all=$SECONDS
step="setup"
t_step=$SECONDS
log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] FAILED at step "%s": %s\n' "$step" "$*" >&2; exit 1; }
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR
begin() { step=$1; t_step=$SECONDS; }
finish() { log "$step: $* ($((SECONDS - t_step))s)"; }

mkdir -p "$BIN" "$LOGS" "$CACHE" || die "cannot create $BIN, $LOGS or $CACHE"

# version_of NAME FILE: the version FILE reports, without a leading v (empty if it does not run).
version_of() {
    local out
    case $1 in
        kubectl) out=$(timeout 30 "$2" version --client 2>/dev/null | sed -n 's/^Client Version: v//p') ;;
        kube-*) out=$(timeout 30 "$2" --version 2>/dev/null | sed -n 's/^Kubernetes v//p') ;;
        etcd) out=$(timeout 30 "$2" --version 2>/dev/null | sed -n 's/^etcd Version: //p') ;;
        kwok) out=$(timeout 30 "$2" --version 2>/dev/null | sed -n 's/^kwok version v\([^ ]*\).*/\1/p') ;;
        *) out= ;;
    esac || true
    printf '%s' "$out"
}

# reuse NAME VERSION: puts a binary of exactly VERSION into .toolchain/bin from .toolchain/bin itself,
# from PATH or from the cache, and says where from; returns 1 when it has to be built.
reuse() {
    local name=$1 want=$2 found dir
    if [ -x "$BIN/$name" ] && [ "$(version_of "$name" "$BIN/$name")" = "$want" ]; then
        finish "$name $want already in .toolchain/bin"
        return 0
    fi
    # PATH without .toolchain/bin (already looked at).
    found=""
    local IFS=:
    for dir in $PATH; do
        [ -n "$dir" ] && [ "$(cd "$dir" 2>/dev/null && pwd -P)" != "$(cd "$BIN" && pwd -P)" ] || continue
        if [ -x "$dir/$name" ] && [ "$(version_of "$name" "$dir/$name")" = "$want" ]; then
            found=$dir/$name
            break
        fi
    done
    unset IFS
    if [ -n "$found" ]; then
        install -m 0755 "$found" "$BIN/$name"
        finish "$name $want copied from PATH ($found)"
        return 0
    fi
    found="$CACHE/$name-$want/$name"
    if [ -x "$found" ] && [ "$(version_of "$name" "$found")" = "$want" ]; then
        install -m 0755 "$found" "$BIN/$name"
        finish "$name $want copied from the cache ($found)"
        return 0
    fi
    return 1
}

# build LOG DIR ARGS...: `go build ARGS` inside the wrapper module DIR, in the background with its
# output in LOG, printing a progress line every minute; on failure shows the end of LOG and stops.
build() {
    local logf=$1 dir=$2 pid next
    shift 2
    log "$step: go build in ${dir#"$REPO"/} (log: ${logf#"$REPO"/})"
    (cd "$dir" && exec env CGO_ENABLED=0 go build -mod=readonly -trimpath "$@") >"$logf" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
    next=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        if [ "$SECONDS" -ge "$next" ]; then
            log "$step: still building ($((SECONDS - t_step))s so far)"
            next=$((SECONDS + 60))
        fi
    done
    if ! wait "$pid"; then
        trap - INT TERM
        tail -n 25 "$logf" | sed 's/^/    /' >&2
        die "go build failed after $((SECONDS - t_step))s (full log: $logf)"
    fi
    trap - INT TERM
}

# store NAME VERSION FILE: moves a freshly built FILE into the cache and installs it.
store() {
    local name=$1 want=$2 file=$3 got
    got=$(version_of "$name" "$file")
    [ "$got" = "$want" ] || die "the freshly built $name reports version '$got', expected $want"
    mkdir -p "$CACHE/$name-$want"
    mv -f "$file" "$CACHE/$name-$want/$name"
    install -m 0755 "$CACHE/$name-$want/$name" "$BIN/$name"
}

command -v go >/dev/null || die "Go is needed to build the control plane (none on PATH)"
log "control plane: Kubernetes $CP_KUBERNETES_VERSION, etcd $CP_ETCD_VERSION, kwok $CP_KWOK_VERSION -> ${BIN#"$REPO"/} ($(go version | cut -d' ' -f3))"

# --- Kubernetes: the four binaries that are missing, in one go build ----------------------------------
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=()
for name in "${k8s_cmds[@]}"; do
    begin "$name"
    reuse "$name" "$CP_KUBERNETES_VERSION" || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
    begin "kubernetes $CP_KUBERNETES_VERSION (${missing[*]})"
    minor=$(cut -d. -f2 <<<"$CP_KUBERNETES_VERSION")
    # The release's tag time, from the proxy, as the build date: the same for every build of this version.
    build_date=$(cd "$here/kubernetes" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes) \
        || die "go list -m k8s.io/kubernetes in ${here#"$REPO"/}/kubernetes (is the module proxy reachable?)"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=v$CP_KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
    done
    out="$CACHE/.build-kubernetes-$$"
    rm -rf "$out" && mkdir -p "$out"
    pkgs=()
    for name in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
    build "$LOGS/kubernetes-$CP_KUBERNETES_VERSION.log" "$here/kubernetes" -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
    for name in "${missing[@]}"; do store "$name" "$CP_KUBERNETES_VERSION" "$out/$name"; done
    rm -rf "$out"
    finish "built and cached"
fi

# --- etcd ---------------------------------------------------------------------------------------------
begin "etcd"
if ! reuse etcd "$CP_ETCD_VERSION"; then
    begin "etcd $CP_ETCD_VERSION"
    build "$LOGS/etcd-$CP_ETCD_VERSION.log" "$here/etcd" -ldflags "-s -w" -o "$CACHE/.build-etcd-$$" .
    store etcd "$CP_ETCD_VERSION" "$CACHE/.build-etcd-$$"
    finish "built and cached"
fi

# --- kwok ---------------------------------------------------------------------------------------------
begin "kwok"
if ! reuse kwok "$CP_KWOK_VERSION"; then
    begin "kwok $CP_KWOK_VERSION"
    build "$LOGS/kwok-$CP_KWOK_VERSION.log" "$here/kwok" \
        -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$CP_KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.PreRelease=GA" \
        -o "$CACHE/.build-kwok-$$" sigs.k8s.io/kwok/cmd/kwok
    store kwok "$CP_KWOK_VERSION" "$CACHE/.build-kwok-$$"
    finish "built and cached"
fi

# --- check what is installed --------------------------------------------------------------------------
begin "version check"
for pair in kube-apiserver="$CP_KUBERNETES_VERSION" kube-controller-manager="$CP_KUBERNETES_VERSION" \
    kube-scheduler="$CP_KUBERNETES_VERSION" kubectl="$CP_KUBERNETES_VERSION" etcd="$CP_ETCD_VERSION" kwok="$CP_KWOK_VERSION"; do
    name=${pair%%=*} want=${pair#*=}
    got=$(version_of "$name" "$BIN/$name")
    [ "$got" = "$want" ] || die "$BIN/$name reports '${got:-nothing}', expected $want"
    log "  $name $got"
done
finish "all 6 binaries report the pinned versions"
log "control plane ready in $((SECONDS - t_all))s: ${BIN}"
