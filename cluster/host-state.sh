# The machine's state around the embedded cluster's real nodes: what start records before the nodes change
# anything (kernel settings, which host paths exist, the nftables tables), and what stop puts back from that
# record (the settings, the absence of those paths, the tables). The records live in $host_dir.
# shellcheck shell=bash
[ -z "${_cluster_host_state_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_host_state_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kernel settings of the machine the nodes change: kubelet sets the vm/kernel ones at start (they are not per
# namespace), host-network.sh ip_forward (the machine routes between the nodes). The net.* settings kubelet,
# kube-proxy and the CNI plugins change are the nodes' own, in their network namespaces.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
    kernel.keys.root_maxbytes net.ipv4.ip_forward)
# Made on the machine when missing: the folders each node mounts a folder of its own over (NODE_PRIVATE_PATHS
# in node.sh, so empty on the machine), and the iptables lock of the guard chains.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /run/xtables.lock)

# record_sysctls: the current value of each of SYSCTLS, as key=value lines.
record_sysctls() {
    local key
    for key in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$key" "$(sysctl -n "$key")"; done
}

# record_host_state: what stop restores (kernel settings) and removes (paths that did not exist).
record_host_state() {
    mkdir -p "$host_dir"
    local path
    record_sysctls >"$host_dir/sysctl"
    for path in "${HOST_PATHS[@]}"; do
        [ -e "$path" ] || echo "$path"
    done >"$host_dir/absent-paths"
    nft list tables >"$host_dir/nft-tables"
}

# remove_new_tables: iptables-nft's tables (filter, nat, mangle, raw, security) that did not exist before
# start and hold no rule any more; other programs' tables are never touched.
remove_new_tables() {
    [ -f "$host_dir/nft-tables" ] || return 0
    local family table listing
    while read -r _ family table; do
        grep -qx "table $family $table" "$host_dir/nft-tables" && continue
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
# changed it since the nodes set it (then it is left, and said).
restore_sysctls() {
    [ -f "$host_dir/sysctl" ] || return 0
    local line key before set now
    while IFS= read -r line; do
        key=${line%%=*} before=${line#*=}
        now=$(sysctl -n "$key")
        [ "$now" != "$before" ] || continue
        set=$(sed -n "s/^$key=//p" "$host_dir/sysctl-node" 2>/dev/null || true)
        if [ -n "$set" ] && [ "$now" != "$set" ]; then
            log "$key is $now, set by something else since the node started: left as it is (it was $before)"
            continue
        fi
        sysctl -q -w "$line" >/dev/null || log "could not restore $line"
    done <"$host_dir/sysctl"
}

# restore_host_state: the kernel settings as recorded, and the paths that did not exist before start removed
# (their mounts first).
restore_host_state() {
    local path
    restore_sysctls
    if [ -f "$host_dir/absent-paths" ]; then
        while IFS= read -r path; do
            unmount_under "$path"
            rm -rf "$path"
        done <"$host_dir/absent-paths"
    fi
}
