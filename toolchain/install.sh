#!/usr/bin/env bash
# npm run toolchain: the Pulumi CLI, its Node.js language host and Kubernetes provider, and an embedded
# cluster: control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok) and
# worker node (kubelet, kube-proxy; containerd, runc, CNI plugins and iptables from Debian; the pause, nginx
# and httpd images built from Debian's packages), pinned in toolchain/versions.sh. Go programs are built
# from the Go module proxy into .toolchain/bin, images into .toolchain/images. Idempotent: built binaries
# and images are cached per version in $TOOLCHAIN_CACHE (default ~/.cache/eks-nginx-toolchain), Go's own
# caches are kept, so a second run or a fresh clone on the same machine takes seconds.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=versions.sh
source "$here/versions.sh"
t0=$SECONDS
# step NAME SCRIPT: runs one part, timed; a failure names the part.
step() {
    local t=$SECONDS
    "$2" || die "$1 (toolchain/${2#"$here/"})"
    log "$1: done in $((SECONDS - t))s"
}
step "Pulumi CLI, language host, Kubernetes provider" "$here/pulumi/build.sh"
step "Kubernetes control plane and node binaries, etcd, kwok" "$here/control-plane/build.sh"
step "node runtime (Debian packages, pause)" "$here/data-plane/build.sh"
step "images (pause, nginx, httpd)" "$here/images/build.sh"

log "versions:"
check() {
    local name=$1 want=$2 got have
    # The whole output first: `| head` would end kubectl with SIGPIPE, which pipefail reports.
    got=$("$TOOLCHAIN_BIN/$name" "${@:3}" 2>&1) || die "$name does not run: $got"
    got=${got%%$'\n'*}
    have=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$got" | head -n 1)
    version_at_least "${have:-0}" "$want" || die "$name reports '$got', expected $want or newer"
    log "  $name: $got"
}
check pulumi "$PULUMI_VERSION" version
# These two have no version flag: look for the version the build stamped into them.
stamped() {
    grep -q -a -- "$2" "$TOOLCHAIN_BIN/$1" || die "$1 does not carry $2"
    log "  $1: carries $2"
}
stamped pulumi-language-nodejs "v$PULUMI_LANGUAGE_NODEJS_VERSION"
stamped pulumi-resource-kubernetes "\"version\":\"$KUBERNETES_PROVIDER_VERSION\""
check kube-apiserver "$KUBERNETES_VERSION" --version
check kube-controller-manager "$KUBERNETES_VERSION" --version
check kube-scheduler "$KUBERNETES_VERSION" --version
check kubectl "$KUBERNETES_VERSION" version --client
check kubelet "$KUBERNETES_VERSION" --version
check kube-proxy "$KUBERNETES_VERSION" --version
check etcd "$ETCD_VERSION" --version
check kwok "$KWOK_VERSION" --version
log "toolchain ready in $((SECONDS - t0))s: $TOOLCHAIN_BIN"
