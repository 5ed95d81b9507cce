# The cluster's real nodes as a node group manages its instances: how many this machine holds, a node added
# in the zone with fewest nodes, and a node removed the way EKS removes one on a scale-in or an update
# (cordoned, drained with its PodDisruptionBudgets respected, marked for deletion so that the load balancer
# stops sending to it, then stopped and its Node deleted).
# shellcheck shell=bash
[ -z "${_cluster_nodes_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_nodes_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh"
# shellcheck source=load-balancer.sh
source "$(dirname "${BASH_SOURCE[0]}")/load-balancer.sh"

ZONES=(zone-1 zone-2 zone-3)
# What a node needs of the machine: memory for its containerd, kubelet, kube-proxy and a few pods, and a share
# of a core; the control plane and the load balancer need their own memory once. Measured (the RSS of every
# process in a node's cgroups, and of the recorded control-plane processes, on 12-01 with the app's 3 pods):
# 220-240 MiB per node with one nginx pod, 735 MiB for the control plane and the load balancer; the figures
# below leave room for a rollout's extra pod and the API server's growth.
NODE_MIB=400
CONTROL_PLANE_MIB=1024
NODES_PER_CORE=2

# machine_capacity: "N why": how many real nodes this machine holds (0 to MAX_NODES) and the numbers it
# comes from.
machine_capacity() {
    local cores mib by_memory by_cores n
    cores=$(nproc)
    mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    by_memory=$(((mib - CONTROL_PLANE_MIB) / NODE_MIB))
    by_cores=$((cores * NODES_PER_CORE))
    n=$MAX_NODES
    [ "$by_memory" -ge "$n" ] || n=$by_memory
    [ "$by_cores" -ge "$n" ] || n=$by_cores
    [ "$n" -ge 0 ] || n=0
    echo "$n $cores cores and $mib MiB of memory available hold $n real nodes ($NODES_PER_CORE per core, $NODE_MIB MiB each after $CONTROL_PLANE_MIB MiB for the control plane; at most $MAX_NODES)"
}

# least_used_zone: the zone with fewest nodes (the first of them on a tie), as an auto-scaling group
# balances its zones.
least_used_zone() {
    local zone
    for zone in "${ZONES[@]}"; do
        echo "$(awk -v z="$zone" '$3 == z' "$dir/nodes" 2>/dev/null | wc -l) $zone"
    done | sort -s -n -k1,1 | awk 'NR == 1 { print $2 }'
}

# register_node PREFIX [ZONE]: a new node's line in $dir/nodes, named PREFIX-<number> with a number this
# cluster never used (kept in $dir/node-seq), in ZONE or the least used zone; prints its name.
register_node() {
    local number zone=${2:-}
    number=$(($(cat "$dir/node-seq" 2>/dev/null || echo 0) + 1))
    [ "$number" -le 240 ] || die "no more node numbers in this cluster (240 used; stop and start it anew)"
    [ -n "$zone" ] || zone=$(least_used_zone)
    echo "$number" >"$dir/node-seq"
    echo "$1-$number $number $zone" >>"$dir/nodes"
    echo "$1-$number"
}

# unregister_node NAME: forgets node NAME: its line, its folder, its certificates.
unregister_node() {
    awk -v n="$1" '$1 != n' "$dir/nodes" >"$dir/nodes.new" && mv "$dir/nodes.new" "$dir/nodes"
    rm -rf "$(node_folder "$1")" "$dir/pki/$1-kubelet".* "$dir/pki/$1-serving".*
}

# add_node [ZONE]: a new real node (in ZONE, else the least used zone), started and Ready; prints its name.
add_node() {
    [ "$(node_count)" -lt "$MAX_NODES" ] || die "the cluster has $MAX_NODES nodes, the most it takes"
    if [ -n "${1:-}" ] && [[ " ${ZONES[*]} " != *" $1 "* ]]; then die "--zone takes one of ${ZONES[*]}, not '$1'"; fi
    local mib name t0=$SECONDS
    mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    [ "$mib" -ge "$NODE_MIB" ] || die "$mib MiB of memory available, less than a node needs ($NODE_MIB MiB)"
    name=$(register_node node "${1:-}")
    start_nodes "$name"
    log "added node $name ($(node_ip "$name"), $(node_zone "$name")) in $((SECONDS - t0))s"
    echo "$name"
}

# remove_node NAME: as EKS removes a node: cordon, drain (evictions respect the PodDisruptionBudgets; kubectl
# retries the ones a budget refuses), the cluster autoscaler's taint ToBeDeletedByClusterAutoscaler (kube-proxy's
# /healthz then answers 503, so the load balancer marks the node down and sends it no new connection), then
# its processes stopped and its Node deleted. A node that is not Ready (lost, crashed) is removed without a
# drain, as a cloud deletes the Node of an instance that is gone: the pods bound to it are deleted with it.
remove_node() {
    local name=$1 t0=$SECONDS
    { [ -n "$name" ] && [ -n "$(node_number "$name")" ]; } || die "no node '$name' in this cluster (its nodes: $(node_names | tr '\n' ' '))"
    [ "$(node_count)" -gt 1 ] || die "$name is the cluster's only node (a node group keeps at least one)"
    if alive "$(pid_of "$name/kubelet")" && node_ready "$name"; then
        kc drain "$name" --ignore-daemonsets --delete-emptydir-data --timeout "${TIMEOUT}s" >&2 ||
            die "draining $name did not finish within ${TIMEOUT}s (it stays cordoned)"
        kc taint node "$name" "ToBeDeletedByClusterAutoscaler=$(date +%s):NoSchedule" --overwrite >/dev/null
        wait_for "the load balancer to mark $name down" lb_server_down "$name"
        log "$name drained and out of the load balancer ($((SECONDS - t0))s)"
    else
        log "$name is not Ready: removed without a drain, as a cloud deletes the Node of a lost instance"
    fi
    stop_nodes "$name"
    kc delete node "$name" --wait=false >/dev/null 2>&1 || true
    unregister_node "$name"
    log "removed node $name in $((SECONDS - t0))s; nodes: $(node_names | tr '\n' ' ')"
}
