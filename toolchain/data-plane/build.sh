#!/usr/bin/env bash
# The worker nodes' runtime: containerd, runc, the CNI plugins, iptables and nftables, and HAProxy (the load
# balancer in front of the nodes, and the API server's address on their network), from Debian's packages
# (installed when missing; the node needs root anyway), and the pod sandbox's pause program, built here.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../versions.sh
source "$here/../versions.sh"

apt_install containerd runc containernetworking-plugins iptables nftables haproxy
# at_least PACKAGE MIN: the installed Debian package is MIN or newer (the upstream part of its version).
at_least() {
    local have
    have=$(deb_installed "$1")
    have=${have#*:}
    version_at_least "${have%%[~+-]*}" "$2" || die "$1 $have is older than $2"
    log "$1: $have"
}
at_least containerd "$CONTAINERD_MIN_VERSION"
at_least runc "$RUNC_MIN_VERSION"
at_least containernetworking-plugins "$CNI_PLUGINS_MIN_VERSION"
for tool in containerd containerd-shim-runc-v2 ctr runc iptables ip6tables iptables-save nft; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH after installing its package"
done
for plugin in bridge host-local loopback; do
    [ -x "/usr/lib/cni/$plugin" ] || die "CNI plugin $plugin is missing from /usr/lib/cni (bridge, host-local and loopback are needed)"
done

# Keyed by its source too: this program is the project's own, an edit must rebuild it.
go_build pause "$PAUSE_VERSION-$(cat "$here/pause/go.mod" "$here/pause/main.go" | sha256sum | cut -c1-12)" "$here/pause" . -ldflags "-s -w"
