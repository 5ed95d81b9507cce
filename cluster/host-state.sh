# The machine's state around the embedded cluster's real node: what start records before the node changes
# anything (kernel settings, which host paths exist, the nftables tables), and what stop puts back from that
# record (the settings, the absence of those paths, the tables) together with the node's own files left in
# host paths that existed before and so stay. The records live in $node_dir/host/.
# shellcheck shell=bash
[ -z "${_cluster_host_state_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_host_state_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kernel settings the node changes: kubelet sets the vm/kernel ones at start, the bridge plugin ip_forward,
# kube-proxy route_localnet (which the loopback load balancer needs).
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
    kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.route_localnet)
# Written outside the cluster's folder whatever the settings: kubelet's device-plugin folder, container log
# links, the CNI result cache, containerd's shim sockets, the iptables lock.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /run/xtables.lock)

# record_sysctls: the current value of each of SYSCTLS, as key=value lines.
record_sysctls() {
    local key
    for key in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$key" "$(sysctl -n "$key")"; done
}

# record_host_state: what stop restores (kernel settings) and removes (paths that did not exist).
record_host_state() {
    mkdir -p "$node_dir/host"
    local path
    record_sysctls >"$node_dir/host/sysctl"
    for path in "${HOST_PATHS[@]}"; do
        [ -e "$path" ] || echo "$path"
    done >"$node_dir/host/absent-paths"
    nft list tables >"$node_dir/host/nft-tables"
}

# remove_new_tables: iptables-nft's tables (filter, nat, mangle, raw, security) that did not exist before
# start and hold no rule any more; other programs' tables are never touched.
remove_new_tables() {
    [ -f "$node_dir/host/nft-tables" ] || return 0
    local family table listing
    while read -r _ family table; do
        grep -qx "table $family $table" "$node_dir/host/nft-tables" && continue
        case "$family" in ip | ip6) ;; *) continue ;; esac
        case "$table" in filter | nat | mangle | raw | security) ;; *) continue ;; esac
        listing=$(nft list table "$family" "$table" 2>/dev/null || true)
        # Only the table, its base chains and their hooks: no rule left.
        if ! grep -qvE '^[[:space:]]*(table |chain |type |\}|$)' <<<"$listing"; then
            nft delete table "$family" "$table" || log "could not remove the nftables table $family $table"
        fi
    done < <(nft list tables)
}

# restore_sysctls: each recorded kernel setting back to its value before start, unless something else has
# changed it since the node set it (then it is left, and said).
restore_sysctls() {
    [ -f "$node_dir/host/sysctl" ] || return 0
    local line key before set now
    while IFS= read -r line; do
        key=${line%%=*} before=${line#*=}
        now=$(sysctl -n "$key")
        [ "$now" != "$before" ] || continue
        set=$(sed -n "s/^$key=//p" "$node_dir/host/sysctl-node" 2>/dev/null || true)
        if [ -n "$set" ] && [ "$now" != "$set" ]; then
            log "$key is $now, set by something else since the node started: left as it is (it was $before)"
            continue
        fi
        sysctl -q -w "$line" >/dev/null || log "could not restore $line"
    done <"$node_dir/host/sysctl"
}

# remove_node_files: what the node leaves in host paths that existed before start (and so stay): its shims'
# sockets, its CNI results, its container log links.
remove_node_files() {
    local f
    [ ! -f "$node_dir/host/shim-sockets" ] || while IFS= read -r f; do rm -f "$f"; done <"$node_dir/host/shim-sockets"
    rm -f /var/lib/cni/results/eks-nginx-* 2>/dev/null || true
    for f in /var/log/containers/*; do
        [ -L "$f" ] && [[ "$(readlink "$f")" == "$dir/"* ]] && rm -f "$f"
    done
    return 0
}

# restore_host_state: the kernel settings as recorded, the node's files out of the host paths that stay, and
# the paths that did not exist before start removed (their mounts first).
restore_host_state() {
    local path
    restore_sysctls
    remove_node_files
    if [ -f "$node_dir/host/absent-paths" ]; then
        while IFS= read -r path; do
            unmount_under "$path"
            rm -rf "$path"
        done <"$node_dir/host/absent-paths"
    fi
}
