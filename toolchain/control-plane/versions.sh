# Pinned versions of the embedded control plane (sourced by build.sh and modules.sh).
# After changing one, run toolchain/control-plane/modules.sh to regenerate the wrapper modules.
# shellcheck shell=bash disable=SC2034
# One Kubernetes release for kube-apiserver, kube-controller-manager, kube-scheduler and kubectl. The proxy
# serves k8s.io/kubernetes v1.33.6 and v1.33.13, but the staging modules (k8s.io/api, ...) only at v0.33.13
# of those two.
CP_KUBERNETES_VERSION=1.33.13
# The etcd minor Kubernetes 1.33 is tested with (its go.mod requires go.etcd.io/etcd/client/v3 v3.5.21).
CP_ETCD_VERSION=3.5.21
CP_KWOK_VERSION=0.8.0
