# The embedded cluster's real worker node: containerd + runc, a CNI bridge network, kubelet and kube-proxy,
# running pods of the images toolchain/images/build.sh made; its start, and the reset and stop that end it.
#
# What it changes on the machine while it runs, and `stop` undoes (start records the state before, see
# host-state.sh):
#   - the bridge eks-nginx0 (node and pod network 198.18.0.0/24, the RFC 2544 benchmarking range, which no
#     real network routes) and one veth per pod; network namespaces, mounts and cgroups (/eks-nginx) of pods;
#   - iptables/ip6tables: kube-proxy's KUBE-* chains, kubelet's canary chains, and EKS-NGINX-GUARD-* (mangle),
#     which drop what arrives from other interfaces for the pods, Services or loopback addresses, and what
#     pods send beyond the bridge: nothing outside the machine reaches a pod, a Service or the node, and no pod
#     traffic leaves the machine; the nftables tables iptables-nft creates for them;
#   - kernel settings (SYSCTLS in host-state.sh), restored to the recorded values;
#   - paths kubelet, containerd and the CNI plugins use whatever their settings (HOST_PATHS in host-state.sh),
#     removed when they did not exist before.
# Every server listens on 127.0.0.1 (kubelet included: the API server reaches it as `localhost`, the node's
# name); the load balancer's addresses (127.96.x.y) and NodePorts exist only as kube-proxy rules on loopback.
# shellcheck shell=bash
[ -z "${_cluster_node_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_node_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-state.sh
source "$(dirname "${BASH_SOURCE[0]}")/host-state.sh"

BRIDGE=eks-nginx0
POD_CIDR=198.18.0.0/24
NODE_IP=198.18.0.1
CGROUP_ROOT=eks-nginx
GUARD_CHAIN=EKS-NGINX-GUARD
node_components=(containerd kubelet kube-proxy) # its processes, in start order

# real_node_unavailable: prints why a real node cannot run here (and returns 0), or returns 1 when it can.
real_node_unavailable() {
    [ "$(id -u)" = 0 ] || { echo "not root (kubelet, containerd and the pod network need root)"; return 0; }
    local b
    for b in kubelet kube-proxy; do
        [ -x "$bin/$b" ] || { echo "$bin/$b is missing (npm run toolchain builds it)"; return 0; }
    done
    for b in containerd containerd-shim-runc-v2 ctr runc iptables-save iptables-restore ip6tables-save ip6tables-restore nft ip curl; do
        command -v "$b" >/dev/null || { echo "$b is not installed (npm run toolchain installs Debian's package)"; return 0; }
    done
    for b in bridge host-local loopback; do
        [ -x "/usr/lib/cni/$b" ] || { echo "the CNI plugin /usr/lib/cni/$b is missing (Debian's containernetworking-plugins)"; return 0; }
    done
    for b in pause nginx httpd; do
        [ -f "$repo/.toolchain/images/$b.tar" ] || { echo "the $b image is missing (npm run toolchain builds it)"; return 0; }
    done
    grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return 0; }
    [ -e /proc/self/ns/net ] || { echo "the kernel has no network namespaces"; return 0; }
    [ -d /proc/sys/net/bridge ] || { echo "the kernel has no bridge netfilter (br_netfilter)"; return 0; }
    [ -d /sys/fs/cgroup/memory ] || { echo "no cgroup v1 hierarchy under /sys/fs/cgroup (the node was built and checked on cgroup v1 only; a unified v2 hierarchy is not supported yet)"; return 0; }
    iptables-save -t nat >/dev/null 2>&1 || { echo "iptables does not work here"; return 0; }
    if other_node_here; then
        local other
        other=$(bridge_owner)
        echo "the node of another embedded cluster is on this machine (its folder: ${other:-unknown}); stop it first: CLUSTER_DIR=${other:-<folder>} npm run cluster -- stop"
        return 0
    fi
    # Captured first: `grep -q` stops reading at a match, and pipefail would then report the writer's SIGPIPE.
    local rules
    rules=$({ iptables-save; ip6tables-save; } 2>/dev/null || true)
    if grep -qE '^:(KUBE|CNI)-' <<<"$rules" || nft list table ip kube-proxy >/dev/null 2>&1; then
        echo "iptables or nftables already hold the rules of another Kubernetes node (KUBE-/CNI- chains, or kube-proxy's table)"
        return 0
    fi
    return 1
}

# bridge_owner: the cluster folder the machine's node bridge names (its alias); nothing without a bridge.
bridge_owner() { ip -o link show "$BRIDGE" 2>/dev/null | sed -n 's/.*alias //p' || true; }
# other_node_here: another cluster's node is on this machine; its machine-wide parts (cgroups, iptables,
# kernel settings, host paths) are then not this cluster's to touch.
other_node_here() { ip link show "$BRIDGE" >/dev/null 2>&1 && [ "$(bridge_owner)" != "$dir" ]; }

# setup_network: the bridge (named after this cluster), the guard chains and the CNI configuration.
setup_network() {
    ip link add "$BRIDGE" type bridge
    # The bridge carries the folder of the cluster that made it: a second start on this machine names it.
    ip link set "$BRIDGE" alias "$dir"
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    # The bridge plugin turns forwarding on at the first pod; on now, so that the value is the node's from start
    # (stop restores a setting only while it still holds the node's value).
    sysctl -q -w net.ipv4.ip_forward=1
    # Only this machine reaches the node, the pods and the Services: what arrives from any other interface for
    # the pod network, the Service range or loopback addresses (a neighbour routing them here) is dropped in
    # mangle, before kube-proxy's nat and filter rules (which accept what they DNAT) see it; and the pods
    # reach nothing beyond the bridge.
    local t="iptables -w -t mangle"
    $t -N "$GUARD_CHAIN-IN"
    $t -A "$GUARD_CHAIN-IN" -i lo -j RETURN
    $t -A "$GUARD_CHAIN-IN" -i "$BRIDGE" -j RETURN
    local range
    for range in 127.0.0.0/8 "$SERVICE_CIDR" "$POD_CIDR"; do $t -A "$GUARD_CHAIN-IN" -d "$range" -j DROP; done
    $t -N "$GUARD_CHAIN-FORWARD"
    $t -A "$GUARD_CHAIN-FORWARD" -i "$BRIDGE" -o "$BRIDGE" -j RETURN
    $t -A "$GUARD_CHAIN-FORWARD" -i "$BRIDGE" -j DROP
    $t -A "$GUARD_CHAIN-FORWARD" -o "$BRIDGE" -j DROP
    $t -I PREROUTING -j "$GUARD_CHAIN-IN"
    $t -I FORWARD -j "$GUARD_CHAIN-FORWARD"
    mkdir -p "$node_dir/cni/net.d" "$node_dir/cni/ipam"
    cat >"$node_dir/cni/net.d/10-eks-nginx.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "eks-nginx",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$node_dir/cni/ipam"
      }
    }
  ]
}
EOF
}

# setup_cgroups: the pods' parent cgroup /$CGROUP_ROOT in every cgroup v1 hierarchy.
setup_cgroups() {
    local mount
    for mount in /sys/fs/cgroup/*/; do
        # cgroup v1 hierarchies only (real_node_unavailable refuses a unified v2 one).
        [ "$mount" != /sys/fs/cgroup/unified/ ] || continue
        mkdir -p "$mount$CGROUP_ROOT" 2>/dev/null || continue
        # cgroup v1 cpuset: a new group has no CPUs or memory nodes until given its parent's.
        if [ -f "$mount/cpuset.cpus" ]; then
            cat "$mount/cpuset.cpus" >"$mount$CGROUP_ROOT/cpuset.cpus"
            cat "$mount/cpuset.mems" >"$mount$CGROUP_ROOT/cpuset.mems"
        fi
    done
}

# start_containerd: containerd with its state in the node's folder, then the toolchain's images imported.
start_containerd() {
    local c=$node_dir/containerd
    mkdir -p "$c"
    cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$c/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # The sandbox's bounding set lacks CAP_SYS_RESOURCE here: without this every pod sandbox fails in runc.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node_dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$node_dir/runc"
        SystemdCgroup = false
EOF
    launch containerd containerd --config "$c/config.toml"
    wait_for "containerd" ctr_ok version
    local image t0=$SECONDS
    for image in "$repo"/.toolchain/images/*.tar; do
        ctr_ok -n k8s.io images import "$image" >>"$dir/logs/images.log" 2>&1 || die "importing $image into containerd (see $dir/logs/images.log)"
    done
    log "containerd ready with $(ctr_cmd -n k8s.io images list -q | grep -c '^eks-nginx.local/') images ($((SECONDS - t0))s)"
}
# ctr_cmd ARGS...: ctr on the node's containerd.
ctr_cmd() { ctr --address "$node_dir/containerd/containerd.sock" --timeout 5s "$@"; }
# ctr_ok ARGS...: ctr_cmd, quiet: only its exit status.
ctr_ok() { ctr_cmd "$@" >/dev/null 2>&1; }

# start_kubelet: kubelet on 127.0.0.1, its root, certificates and pod logs in the node's folder.
start_kubelet() {
    local k=$node_dir/kubelet pki=$dir/pki
    mkdir -p "$k/root" "$k/pki" "$node_dir/pod-logs"
    write_kubeconfig "$k/kubeconfig" kubelet
    cat >"$k/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $(port_of kubelet)
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(port_of kubelet-healthz)
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$node_dir/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failSwapOn: false
podLogsDir: $node_dir/pod-logs
# A small or busy test disk must not evict pods or delete the imported images (no registry to pull them again).
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
    launch kubelet kubelet --config "$k/config.yaml" --kubeconfig "$k/kubeconfig" --hostname-override "$NODE_NAME" \
        --node-ip "$NODE_IP" --root-dir "$k/root" --cert-dir "$k/pki"
}

# start_kube_proxy: kube-proxy in iptables mode, NodePorts on loopback only.
start_kube_proxy() {
    local p=$node_dir/kube-proxy
    mkdir -p "$p"
    write_kubeconfig "$p/kubeconfig" kube-proxy
    cat >"$p/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $p/kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$(port_of kube-proxy-healthz)
metricsBindAddress: 127.0.0.1:$(port_of kube-proxy-metrics)
# NodePorts answer on loopback only.
nodePortAddresses: [127.0.0.0/8]
iptables: {localhostNodePorts: true}
# Zero: leave the machine's conntrack table settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
    launch kube-proxy kube-proxy --config "$p/config.yaml"
}

# node_ready: the real node's Node object reports Ready.
node_ready() {
    [ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# proxy_ready: kube-proxy's healthz answers (its first sync is done).
proxy_ready() { curl -fsS -m 2 "http://127.0.0.1:$(port_of kube-proxy-healthz)/healthz" >/dev/null 2>&1; }

# start_node: the node on a machine as record_host_state found it (a new start), or as reset_node left it.
start_node() {
    local t0=$SECONDS
    setup_cgroups
    setup_network
    start_containerd
    start_kubelet
    start_kube_proxy
    wait_for "node $NODE_NAME Ready" node_ready
    wait_for "kube-proxy's first sync" proxy_ready
    # The values the node set: stop restores a key only while it still holds one (nobody else changed it since).
    record_sysctls >"$node_dir/host/sysctl-node"
    log "node $NODE_NAME ready: kubelet, kube-proxy, containerd; pods on $POD_CIDR ($((SECONDS - t0))s)"
}

# ---- stop: every step tolerates what an earlier crash or a half-done start left ----

# cgroup_pids: processes in the node's pod cgroups.
cgroup_pids() { find /sys/fs/cgroup/*/"$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true; }
# node_process_pids: containerd's shims and anything else started with the node's paths.
node_process_pids() {
    local p
    for p in /proc/[0-9]*; do
        if grep -qF -- "$node_dir/" "$p/cmdline" 2>/dev/null; then echo "${p#/proc/}"; fi
    done
}

# kill_pods [WHICH]: SIGKILL to the pods' processes (in the node's cgroups, unless WHICH is own-only) and to
# every process started with the node's paths, until none is left.
kill_pods() {
    local pids
    for _ in $(seq 1 50); do
        pids=$([ "${1:-}" = own-only ] || cgroup_pids; node_process_pids)
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    done
    log "processes still running: $(tr '\n' ' ' <<<"$pids")"
}

# shim_sockets: the sockets containerd's shims of this node listen on (/run/containerd/s/<hash>, a fixed
# place whatever containerd's settings); killed shims leave them behind.
shim_sockets() {
    local pid
    for pid in $(node_process_pids); do
        ss -xlpH 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { print $5 }' || true
    done
}

# sweep_chains: removes the jumps into, and the chains of, KUBE-*, CNI-* and EKS-NGINX-* in every table
# (start refuses a real node while such chains exist, so all of them are this node's).
sweep_chains() {
    local family table
    local -a chains
    for family in iptables ip6tables; do
        for table in filter nat mangle raw; do
            mapfile -t chains < <("$family-save" -t "$table" 2>/dev/null | awk '/^:(KUBE|CNI|EKS-NGINX)-/ { print substr($1, 2) }')
            [ ${#chains[@]} -gt 0 ] || continue
            {
                echo "*$table"
                "$family-save" -t "$table" | grep -E -- '-j (KUBE|CNI|EKS-NGINX)-' | grep -vE '^-A (KUBE|CNI|EKS-NGINX)-' | sed 's/^-A /-D /'
                printf -- '-F %s\n' "${chains[@]}"
                printf -- '-X %s\n' "${chains[@]}"
                echo COMMIT
            } | "$family-restore" -w --noflush || log "could not remove every $family $table chain: $(printf '%s ' "${chains[@]}")"
        done
    done
}

# node_left_behind: true when this cluster's node (or what its crash left) is on the machine.
node_left_behind() { [ -d "$node_dir" ] || [ "$(bridge_owner)" = "$dir" ]; }

# reset_node: ends every process of the node and removes what they made: pods, mounts, veths, the bridge,
# iptables chains, cgroups, and the runtime's state (containers, pod IPs); host paths stay. The kernel
# settings the loopback load balancer needs (route_localnet, ip_forward) go back before the guard chains go,
# so that no moment exposes loopback services; a restarted node sets them again. When another cluster's node
# is on the machine, only this cluster's own processes and mounts are touched.
reset_node() {
    local name pid
    for name in kubelet kube-proxy; do
        pid=$(pid_of "$name")
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; await_exit "$pid" "$name" || true; fi
    done
    if other_node_here; then
        log "the node of $(bridge_owner) runs on this machine: only this cluster's processes and mounts are removed"
        kill_pods own-only
        unmount_under "$dir"
    else
        shim_sockets >>"$node_dir/host/shim-sockets" 2>/dev/null || true
        kill_pods
        pid=$(pid_of containerd)
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; await_exit "$pid" containerd || true; fi
        kill_pods
        restore_sysctls
        if [ -x "$bin/kube-proxy" ]; then "$bin/kube-proxy" --cleanup >"$dir/logs/kube-proxy-cleanup.log" 2>&1 || true; fi
        unmount_under "$dir"
        local veth
        for veth in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
            ip link del "$veth" 2>/dev/null || true
        done
        [ "$(bridge_owner)" != "$dir" ] || ip link del "$BRIDGE"
        sweep_chains
        find /sys/fs/cgroup/*/"$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    rm -rf "$node_dir/containerd" "$node_dir/runc" "$node_dir/kubelet/root" "$node_dir/cni/ipam" "$node_dir/pod-logs"
    if [ -f "$dir/pids" ]; then
        local own
        own=$(IFS='|'; echo "${node_components[*]}")
        awk -v own="^($own)\$" '$1 !~ own' "$dir/pids" >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
    fi
}

# stop_node: reset_node, then the machine as it was before start (nftables tables, kernel settings, paths).
stop_node() {
    node_left_behind || return 0
    [ -f "$node_dir/host/sysctl" ] || log "no record of the kernel settings before start: they are left as they are"
    reset_node
    other_node_here && return 0
    remove_new_tables
    restore_host_state
}
