# Pinned versions of everything the toolchain builds (sourced). Keep in step with package.json.
# shellcheck shell=bash
# Every variable here is read by the scripts that source this file (and by toolchain/versions.ts), none by
# this file itself: shellcheck, checking it alone, would call each one unused.
# shellcheck disable=SC2034
PULUMI_VERSION=3.274.1                 # the CLI; its sdk/v3 also builds the language host. npm serves no 3.274.1 of @pulumi/pulumi
PULUMI_LANGUAGE_NODEJS_VERSION=3.68.0  # newest sdk/v3 on the proxy that carries the language host's source: patched, pulumi/build.sh
KUBERNETES_PROVIDER_VERSION=4.25.0     # = npm @pulumi/kubernetes
# The proxy serves provider/v4 only at this revision: the last commit before the v4.25.0 tag
# (sdk/v4.25.0 = 144dd813, 2026-01-16; this one 2026-01-15).
KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBERNETES_VERSION=1.33.13             # kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
ETCD_VERSION=3.5.21
KWOK_VERSION=0.8.0
# The worker node's runtime (containerd, runc, CNI plugins, iptables) comes from Debian's packages; these
# are the oldest versions it was tried with.
CONTAINERD_MIN_VERSION=1.6.20
RUNC_MIN_VERSION=1.1.5
CNI_PLUGINS_MIN_VERSION=1.1.1
# Images for the worker node, built from Debian 12's packages (no registry holds nginx or httpd here). The
# package versions are pinned: when Debian replaces one (a security update), the build says so and this is
# the line to change. The tag is the upstream version; the name says what the image is.
NGINX_DEBIAN_VERSION=1.22.1-9+deb12u11
NGINX_IMAGE="eks-nginx.local/nginx-debian:${NGINX_DEBIAN_VERSION%%-*}"
HTTPD_DEBIAN_VERSION=2.4.71-1~deb12u1  # apache2-bin
HTTPD_IMAGE="eks-nginx.local/httpd-debian:${HTTPD_DEBIAN_VERSION%%-*}"
PAUSE_VERSION=1.0                      # toolchain/data-plane/pause
PAUSE_IMAGE="eks-nginx.local/pause:$PAUSE_VERSION"
