# The cluster's host-internal network on the machine: the bridge eks-nginx0 (198.18.0.1/24) that the real
# nodes' links are ports of, the routes to each node's pods, and the guard chains that keep everything of the
# cluster on this machine. The machine is the nodes' router, as a VPC's router is for its instances: node k
# (198.18.0.(10+k)) sends what is not on the bridge's network to 198.18.0.1, and the machine sends node k's
# pods' network (198.19.k.0/24) to node k.
#
# Guard chains (iptables mangle, so that nothing of a node's namespace or of another program's filter rules
# comes first):
#   EKS-NGINX-GUARD-IN (PREROUTING): what arrives from any interface but loopback and the bridge for the node
#     network, the pod network, the Service range or a loopback address (a neighbour routing them here) is
#     dropped: nothing outside the machine reaches a node, a pod, a Service or the load balancer;
#   EKS-NGINX-GUARD-FORWARD (FORWARD): the machine forwards between the bridge's ports only: no traffic of a
#     node or a pod leaves the machine, none comes in;
#   EKS-NGINX-GUARD-HOST (INPUT): from the bridge the machine accepts the API server's port (where the nodes
#     reach it) and the replies to its own connections (the load balancer's, the API server's to kubelets)
#     only: a pod cannot reach the machine's other services.
# shellcheck shell=bash
[ -z "${_cluster_host_network_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_host_network_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GUARD_CHAIN=EKS-NGINX-GUARD

# bridge_owner: the cluster folder the machine's node bridge names (its alias); nothing without a bridge.
bridge_owner() { ip -o link show "$BRIDGE" 2>/dev/null | sed -n 's/.*alias //p' || true; }
# other_node_here: another cluster's nodes are on this machine; its machine-wide parts (cgroups, iptables,
# kernel settings, host paths) are then not this cluster's to touch.
other_node_here() { ip link show "$BRIDGE" >/dev/null 2>&1 && [ "$(bridge_owner)" != "$dir" ]; }
# host_network_here: this cluster's bridge is on the machine.
host_network_here() { [ "$(bridge_owner)" = "$dir" ]; }

# addresses_in_use: the machine's addresses and routes in the cluster's ranges that are not the cluster's own
# (a machine on one of these networks cannot hold the nodes); nothing when they are free.
addresses_in_use() {
    local range
    for range in "$NODE_NET" "$POD_NET" 198.18.0.0/15; do
        ip -o addr show to "$range" 2>/dev/null | grep -v " $BRIDGE " || true
        ip route show to match "$range" 2>/dev/null | grep -v -e "dev $BRIDGE" -e '^default' || true
    done | sort -u
}

# setup_host_network: the bridge (named after this cluster), forwarding, and the guard chains.
setup_host_network() {
    ip link add "$BRIDGE" type bridge
    # The bridge carries the folder of the cluster that made it: a second start on this machine names it.
    ip link set "$BRIDGE" alias "$dir"
    # Settings of the bridge itself go with it: no IPv6 on the host-internal network (no pod has an IPv6
    # address; this closes the machine's link-local services to the nodes), and no ICMP redirects (the nodes
    # are meant to route through the machine).
    sysctl -q -w "net.ipv6.conf.$BRIDGE.disable_ipv6=1" "net.ipv4.conf.$BRIDGE.send_redirects=0"
    ip addr add "$HOST_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    # The machine routes between the nodes (stop restores a setting only while it still holds the node's value).
    sysctl -q -w net.ipv4.ip_forward=1
    local t="iptables -w -t mangle" range
    $t -N "$GUARD_CHAIN-IN"
    $t -A "$GUARD_CHAIN-IN" -i lo -j RETURN
    $t -A "$GUARD_CHAIN-IN" -i "$BRIDGE" -j RETURN
    for range in 127.0.0.0/8 "$NODE_NET" "$POD_NET" "$SERVICE_CIDR"; do $t -A "$GUARD_CHAIN-IN" -d "$range" -j DROP; done
    $t -N "$GUARD_CHAIN-FORWARD"
    $t -A "$GUARD_CHAIN-FORWARD" -i "$BRIDGE" -o "$BRIDGE" -j RETURN
    $t -A "$GUARD_CHAIN-FORWARD" -i "$BRIDGE" -j DROP
    $t -A "$GUARD_CHAIN-FORWARD" -o "$BRIDGE" -j DROP
    $t -N "$GUARD_CHAIN-HOST"
    $t -A "$GUARD_CHAIN-HOST" -i "$BRIDGE" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
    $t -A "$GUARD_CHAIN-HOST" -i "$BRIDGE" -d "$HOST_IP" -p tcp --dport "$(port_of kube-apiserver)" -j RETURN
    $t -A "$GUARD_CHAIN-HOST" -i "$BRIDGE" -j DROP
    $t -I PREROUTING -j "$GUARD_CHAIN-IN"
    $t -I FORWARD -j "$GUARD_CHAIN-FORWARD"
    $t -I INPUT -j "$GUARD_CHAIN-HOST"
}

# node_link NAME: the machine's end of node NAME's link (a port of the bridge).
node_link() { echo "eks-nginx-n$(node_number "$1")"; }

# attach_node NAME PID: node NAME's link, from the bridge to eth0 in the network namespace of process PID (the
# node's init), with the node's address, its default route via the machine, and the machine's route to its pods.
attach_node() {
    local name=$1 pid=$2 ip link
    ip=$(node_ip "$name") link=$(node_link "$name")
    ip link add "$link" type veth peer name eth0 netns "$pid"
    ip link set "$link" master "$BRIDGE" up
    nsenter --target "$pid" --net sh -c "
        sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv4.ip_forward=1 &&
        ip link set lo up && ip addr add $ip/24 dev eth0 && ip link set eth0 up &&
        ip route add default via $HOST_IP"
    ip route add "$(node_pods "$name")" via "$ip" dev "$BRIDGE"
}

# detach_node NAME: the machine's side of node NAME's link and its route, when still there (a node whose
# namespaces are gone has lost its link already).
detach_node() {
    ip link del "$(node_link "$1")" 2>/dev/null || true
    ip route del "$(node_pods "$1")" 2>/dev/null || true
}

# sweep_chains: removes the jumps into, and the chains of, EKS-NGINX-* in every table (the guard chains; the
# nodes' own KUBE-* and CNI-* chains are in their namespaces and went with them).
sweep_chains() {
    local family table
    local -a chains
    for family in iptables ip6tables; do
        for table in filter nat mangle raw; do
            mapfile -t chains < <("$family-save" -t "$table" 2>/dev/null | awk '/^:EKS-NGINX-/ { print substr($1, 2) }')
            [ ${#chains[@]} -gt 0 ] || continue
            {
                echo "*$table"
                "$family-save" -t "$table" | grep -E -- '-j EKS-NGINX-' | grep -vE '^-A EKS-NGINX-' | sed 's/^-A /-D /'
                printf -- '-F %s\n' "${chains[@]}"
                printf -- '-X %s\n' "${chains[@]}"
                echo COMMIT
            } | "$family-restore" -w --noflush || log "could not remove every $family $table chain: $(printf '%s ' "${chains[@]}")"
        done
    done
}

# teardown_host_network: the nodes' links and the bridge (its routes go with it), then the guard chains.
teardown_host_network() {
    local link
    for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
        ip link del "$link" 2>/dev/null || true
    done
    if host_network_here; then ip link del "$BRIDGE"; fi
    sweep_chains
}
