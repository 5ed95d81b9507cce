#!/usr/bin/env bash
# Builds one Kubernetes release's kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet and kube-proxy,
# etcd, and kwok into .toolchain/bin.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../versions.sh
source "$here/../versions.sh"

k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION") \
-X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
    version_args=(--version)
    [ "$cmd" = kubectl ] && version_args=(version --client)
    use_from_path "$cmd" "$KUBERNETES_VERSION" "${version_args[@]}" ||
        go_build "$cmd" "$KUBERNETES_VERSION" "$here/kubernetes" "k8s.io/kubernetes/cmd/$cmd" -ldflags "$k8s_ldflags"
done
use_from_path etcd "$ETCD_VERSION" --version ||
go_build etcd "$ETCD_VERSION" "$here/etcd" . -ldflags "-s -w"
use_from_path kwok "$KWOK_VERSION" --version ||
go_build kwok "$KWOK_VERSION" "$here/kwok" sigs.k8s.io/kwok/cmd/kwok \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
