# Pinned versions of everything the toolchain builds (sourced). Keep in step with package.json.
# shellcheck shell=bash
PULUMI_VERSION=3.260.0                 # = npm @pulumi/pulumi
PULUMI_LANGUAGE_NODEJS_VERSION=3.68.0  # newest sdk/v3 on the proxy that carries the language host
KUBERNETES_PROVIDER_VERSION=4.25.0     # = npm @pulumi/kubernetes
# The proxy serves provider/v4 only at this revision: the last commit before the v4.25.0 tag
# (sdk/v4.25.0 = 144dd813, 2026-01-16; this one 2026-01-15).
KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBERNETES_VERSION=1.33.13             # kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
ETCD_VERSION=3.5.21
KWOK_VERSION=0.8.0
