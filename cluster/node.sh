# The embedded cluster's real worker nodes, each a machine of its own: a network namespace and a mount
# namespace held open by the node's init (a `pause` process, as a pod's sandbox holds the pod's), a cgroup
# subtree (/eks-nginx/<node>/ in every cgroup v1 hierarchy: system/ for its daemons, kubepods/ for its pods),
# and in them containerd + runc, kubelet and kube-proxy, running pods of the images toolchain/images/build.sh
# made on a CNI bridge network of the node's own. Its start, and the stop that ends it.
#
# Every process of a node is in its cgroups, so stopping (or crashing) a node is ending what they hold; the
# namespaces then go with the last process, and with them the node's mounts (pod roots, volumes, the pods'
# network namespaces), its iptables rules and its link: nothing of it stays on the machine but its cgroup
# folders and files, which stop_node removes. Inside its mount namespace the node has folders of its own
# over the host paths kubelet, containerd and the CNI plugins write whatever their settings, and a
# resolv.conf without nameservers (the nodes reach no DNS). Every server of a node listens on its address
# (198.18.0.(10+k), on the machine's bridge: host-network.sh) or on its own loopback.
# shellcheck shell=bash
[ -z "${_cluster_node_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_node_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=control-plane.sh
source "$(dirname "${BASH_SOURCE[0]}")/control-plane.sh"
# shellcheck source=host-network.sh
source "$(dirname "${BASH_SOURCE[0]}")/host-network.sh"

CGROUP_ROOT=eks-nginx
# shellcheck disable=SC2034 # used by cluster.sh
node_components=(init containerd kubelet kube-proxy) # each node's processes, in start order ("<node>/<name>" in pids)
# Host paths that kubelet, containerd and the CNI plugins write whatever their settings (kubelet's plugin
# registry, container log links, the CNI result cache, containerd's shim sockets): each node mounts a folder of
# its own over them, inside its mount namespace. The machine gets them only as empty folders (host-state.sh).
NODE_PRIVATE_PATHS=(/var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /run/containerd)

# real_node_unavailable: prints why a real node cannot run here (and returns 0), or returns 1 when it can.
real_node_unavailable() {
    [ "$(id -u)" = 0 ] || { echo "not root (kubelet, containerd and the nodes' network need root)"; return 0; }
    local b
    for b in kubelet kube-proxy pause; do
        [ -x "$bin/$b" ] || { echo "$bin/$b is missing (npm run toolchain builds it)"; return 0; }
    done
    for b in containerd containerd-shim-runc-v2 ctr runc iptables-save iptables-restore ip6tables-save ip6tables-restore nft ip curl nsenter unshare haproxy; do
        command -v "$b" >/dev/null || { echo "$b is not installed (npm run toolchain installs Debian's package)"; return 0; }
    done
    for b in bridge host-local loopback; do
        [ -x "/usr/lib/cni/$b" ] || { echo "the CNI plugin /usr/lib/cni/$b is missing (Debian's containernetworking-plugins)"; return 0; }
    done
    for b in pause nginx httpd; do
        [ -f "$repo/.toolchain/images/$b.tar" ] || { echo "the $b image is missing (npm run toolchain builds it)"; return 0; }
    done
    [ "$(node -p 'process.features.typescript || ""' 2>/dev/null)" = strip ] ||
        { echo "node $(node --version 2>/dev/null || echo '(none)') does not run TypeScript (the load balancer's controller needs Node.js 22.18 or newer)"; return 0; }
    grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return 0; }
    { [ -e /proc/self/ns/net ] && [ -e /proc/self/ns/mnt ]; } || { echo "the kernel has no network or mount namespaces"; return 0; }
    [ -d /proc/sys/net/bridge ] || { echo "the kernel has no bridge netfilter (br_netfilter)"; return 0; }
    [ -d /sys/fs/cgroup/memory ] || { echo "no cgroup v1 hierarchy under /sys/fs/cgroup (the nodes were built and checked on cgroup v1 only; a unified v2 hierarchy is not supported yet)"; return 0; }
    iptables-save -t mangle >/dev/null 2>&1 || { echo "iptables does not work here"; return 0; }
    if other_node_here; then
        local other
        other=$(bridge_owner)
        echo "the nodes of another embedded cluster are on this machine (its folder: ${other:-unknown}); stop it first: CLUSTER_DIR=${other:-<folder>} npm run cluster -- stop"
        return 0
    fi
    local used
    used=$(addresses_in_use)
    [ -z "$used" ] || { echo "the machine already uses addresses of the nodes' networks ($NODE_NET, $POD_NET): $(tr '\n' ';' <<<"$used")"; return 0; }
    # Captured first: `grep -q` stops reading at a match, and pipefail would then report the writer's SIGPIPE.
    local rules
    rules=$({ iptables-save; ip6tables-save; } 2>/dev/null || true)
    if grep -qE '^:(KUBE|CNI)-' <<<"$rules" || nft list table ip kube-proxy >/dev/null 2>&1; then
        echo "iptables or nftables already hold the rules of another Kubernetes node on this machine (KUBE-/CNI- chains, or kube-proxy's table)"
        return 0
    fi
    return 1
}

# node_folder NAME: node NAME's files: containerd/, runc/, kubelet/, kube-proxy/, cni/, pod-logs/, fs/ (its
# folders over NODE_PRIVATE_PATHS), resolv.conf.
node_folder() { echo "$nodes_dir/$1"; }
# node_cgroups NAME: the node's cgroup folder in each cgroup hierarchy (the v1 ones, and the unified one that
# a hybrid layout mounts next to them, where kubelet's runc makes the pods' groups too).
node_cgroups() {
    local mount
    for mount in /sys/fs/cgroup/*/; do
        [ ! -d "$mount" ] || echo "$mount$CGROUP_ROOT/$1"
    done
}

# setup_node_cgroups NAME: /eks-nginx/NAME/system in every hierarchy, for the node's daemons; kubelet makes
# kubepods/ next to it. A new cpuset group has no CPUs or memory nodes until given its parent's.
setup_node_cgroups() {
    local group parent
    for group in $(node_cgroups "$1"); do
        mkdir -p "$group/system" 2>/dev/null || continue
        if [ -f "$group/../../cpuset.cpus" ]; then
            for parent in "$group/.." "$group" "$group/system"; do
                [ -n "$(tr -d '\n' <"$parent/cpuset.cpus")" ] || cat "$parent/../cpuset.cpus" >"$parent/cpuset.cpus"
                [ -n "$(tr -d '\n' <"$parent/cpuset.mems")" ] || cat "$parent/../cpuset.mems" >"$parent/cpuset.mems"
            done
        fi
    done
}

# node_launch NAME COMPONENT [--new] COMMAND...: COMMAND as node NAME's process COMPONENT, in the node's
# cgroups (so that what it starts, the pods' shims included, is the node's too) and in its namespaces: those
# of its init, or with --new (the init itself) new ones. bash joins the cgroups and execs, and so does
# nsenter or unshare: the recorded PID is COMMAND's.
node_launch() {
    local name=$1 component=$2 enter groups
    shift 2
    mapfile -t groups < <(node_cgroups "$name" | sed 's|$|/system|')
    if [ "$1" = --new ]; then
        shift
        enter=(unshare --net --mount --propagation slave --)
    else
        enter=(nsenter --target "$(pid_of "$name/init")" --net --mount --)
    fi
    # shellcheck disable=SC2016 # the script's $$ and $1 are its own
    launch "$name/$component" bash -c 'while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs"; shift; done; shift; exec "$@"' \
        node-launch "${groups[@]}" -- "${enter[@]}" "$@"
}

# in_node NAME COMMAND...: COMMAND in node NAME's namespaces (not its cgroups: for short setup commands).
in_node() {
    local name=$1
    shift
    nsenter --target "$(pid_of "$name/init")" --net --mount -- "$@"
}

# init_ready NAME: the node's init runs in namespaces of its own.
init_ready() {
    local pid
    pid=$(pid_of "$1/init")
    alive "$pid" && [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
        [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
}

# start_node_init NAME: the node's init with its new namespaces, its private folders mounted in them, and its
# link to the machine's bridge.
start_node_init() {
    local name=$1 folder path
    folder=$(node_folder "$name")
    mkdir -p "$folder/fs"
    printf '# The embedded cluster'"'"'s nodes reach no DNS server.\n' >"$folder/resolv.conf"
    node_launch "$name" init --new "$bin/pause" "$folder/"
    wait_for "the init of node $name" init_ready "$name"
    for path in "${NODE_PRIVATE_PATHS[@]}"; do
        mkdir -p "$path" "$folder/fs$path"
        in_node "$name" mount --bind "$folder/fs$path" "$path"
    done
    if [ -e /etc/resolv.conf ]; then in_node "$name" mount --bind "$folder/resolv.conf" /etc/resolv.conf; fi
    attach_node "$name" "$(pid_of "$name/init")"
}

# start_node_containerd NAME: containerd with its state in the node's folder.
start_node_containerd() {
    local name=$1 c
    c=$(node_folder "$name")/containerd
    mkdir -p "$c" "$(node_folder "$name")/cni/net.d" "$(node_folder "$name")/cni/ipam"
    cat >"$(node_folder "$name")/cni/net.d/10-eks-nginx.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "eks-nginx",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "eks-pods0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$(node_pods "$name")" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$(node_folder "$name")/cni/ipam"
      }
    }
  ]
}
EOF
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
    conf_dir = "$(node_folder "$name")/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$(node_folder "$name")/runc"
        SystemdCgroup = false
EOF
    node_launch "$name" containerd containerd --config "$c/config.toml"
}
# ctr_cmd NAME ARGS...: ctr on node NAME's containerd (its socket is a file: reachable from the machine).
ctr_cmd() {
    local name=$1
    shift
    ctr --address "$(node_folder "$name")/containerd/containerd.sock" --timeout 5s "$@"
}
# ctr_ok NAME ARGS...: ctr_cmd, quiet: only its exit status.
ctr_ok() { ctr_cmd "$@" >/dev/null 2>&1; }

# import_images NAME: the toolchain's images into node NAME's containerd (once it answers); log in logs/.
import_images() {
    local name=$1 image
    wait_for "containerd of node $name" ctr_ok "$name" version
    for image in "$repo"/.toolchain/images/*.tar; do
        # Unpacking takes more than ctr_cmd's 5 s when the nodes import at once.
        ctr --address "$(node_folder "$name")/containerd/containerd.sock" --timeout "${TIMEOUT}s" -n k8s.io \
            images import "$image" >>"$dir/logs/$name-images.log" 2>&1 ||
            die "importing $image into node $name's containerd (see $dir/logs/$name-images.log)"
    done
}

# start_node_kubelet NAME: kubelet on the node's address, in its zone, its root, certificates and pod logs in
# the node's folder.
start_node_kubelet() {
    local name=$1 k pki=$dir/pki folder
    folder=$(node_folder "$name") k=$(node_folder "$name")/kubelet
    mkdir -p "$k/root" "$k/pki" "$k/volume-plugins" "$folder/pod-logs"
    write_kubeconfig "$k/kubeconfig" "$name-kubelet" --node
    cat >"$k/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(node_ip "$name")
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/$name-serving.crt
tlsPrivateKeyFile: $pki/$name-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$folder/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT/$name
failSwapOn: false
podLogsDir: $folder/pod-logs
resolvConf: $folder/resolv.conf
# Its default is under /usr/libexec, outside the node's folders.
volumePluginDir: $k/volume-plugins
# A small or busy test disk must not evict pods or delete the imported images (no registry to pull them again).
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
    node_launch "$name" kubelet kubelet --config "$k/config.yaml" --kubeconfig "$k/kubeconfig" --hostname-override "$name" \
        --node-ip "$(node_ip "$name")" --root-dir "$k/root" --cert-dir "$k/pki" \
        --node-labels "topology.kubernetes.io/region=embedded,topology.kubernetes.io/zone=$(node_zone "$name")"
}

# start_node_kube_proxy NAME: kube-proxy in iptables mode, NodePorts on the node's address only, its /healthz
# there too (the load balancer checks it).
start_node_kube_proxy() {
    local name=$1 p
    p=$(node_folder "$name")/kube-proxy
    mkdir -p "$p"
    write_kubeconfig "$p/kubeconfig" kube-proxy --node
    cat >"$p/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $p/kubeconfig}
hostnameOverride: $name
mode: iptables
clusterCIDR: $POD_NET
healthzBindAddress: $(node_ip "$name"):10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$(node_ip "$name")/32]
iptables: {localhostNodePorts: false}
# Zero: leave the machine's conntrack table settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
    node_launch "$name" kube-proxy kube-proxy --config "$p/config.yaml"
}

# node_ready NAME: the node's Node object reports Ready.
node_ready() {
    [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# proxy_ready NAME: the node's kube-proxy answers 200 on /healthz (its first sync is done).
proxy_ready() { curl -fsS -m 2 "http://$(node_ip "$1"):10256/healthz" >/dev/null 2>&1; }

# start_nodes NAME...: the nodes (listed in $dir/nodes) on a machine as host-network.sh set it up, step by
# step for all of them at once: inits and containerds, their images (in parallel), kubelets and kube-proxies,
# then until each is Ready.
start_nodes() {
    local t0=$SECONDS name pids=() pid WAIT_NODES="$*"
    for name in "$@"; do
        [ -f "$dir/pki/$name-kubelet.crt" ] || sign_node_certs "$name" "$(node_ip "$name")"
        setup_node_cgroups "$name"
        start_node_init "$name"
        start_node_containerd "$name"
    done
    for name in "$@"; do import_images "$name" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid" || die "the images could not be imported (logs: $dir/logs/)"; done
    log "$# containerd ready with their images ($((SECONDS - t0))s)"
    for name in "$@"; do
        start_node_kubelet "$name"
        start_node_kube_proxy "$name"
    done
    for name in "$@"; do
        wait_for "node $name Ready" node_ready "$name"
        wait_for "kube-proxy's first sync on node $name" proxy_ready "$name"
    done
    log "nodes ready: $(for name in "$@"; do printf '%s (%s, %s) ' "$name" "$(node_ip "$name")" "$(node_zone "$name")"; done)($((SECONDS - t0))s)"
}

# ---- stop: every step tolerates what a crash or a half-done start left ----

# node_pids NAME: every process of node NAME: those in its cgroups, and any other started with its paths.
# The cgroups' and links' names are the same in every cluster, so while another cluster's nodes run on the
# machine (this one's left behind by a reboot, say), only the processes naming this cluster's paths count.
node_pids() {
    local folder p groups=()
    folder=$(node_folder "$1")
    other_node_here || mapfile -t groups < <(node_cgroups "$1")
    {
        [ ${#groups[@]} -eq 0 ] || find "${groups[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null || true
        for p in /proc/[0-9]*; do
            if grep -qF -- "$folder/" "$p/cmdline" 2>/dev/null; then echo "${p#/proc/}"; fi
        done
    } | sort -u
}

# kill_node_processes NAME: SIGKILL to every process of the node until none is left.
kill_node_processes() {
    local pids
    for _ in $(seq 1 50); do
        pids=$(node_pids "$1")
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    done
    log "processes of node $1 still running: $(tr '\n' ' ' <<<"$pids")"
}

# stop_nodes NAME...: TERM to each node's kubelet and kube-proxy (KILL after 10 s), SIGKILL to everything
# else of the node (its pods, containerd, its init: its namespaces, mounts and link go with them), then its
# route, cgroups and runtime state (containers, pod addresses, kubelet's root, pod logs). Its configuration,
# certificates and place in $dir/nodes stay (start runs it again; nodes.sh forgets a removed node).
stop_nodes() {
    local name component pid group
    for name in "$@"; do
        for component in kubelet kube-proxy; do
            pid=$(pid_of "$name/$component")
            if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
        done
    done
    for name in "$@"; do
        for component in kubelet kube-proxy; do
            pid=$(pid_of "$name/$component")
            if alive "$pid"; then await_exit "$pid" "$name/$component" || true; fi
        done
        kill_node_processes "$name"
        if ! other_node_here; then
            detach_node "$name"
            for group in $(node_cgroups "$name"); do
                [ ! -d "$group" ] || find "$group" -depth -type d -exec rmdir {} + 2>/dev/null || true
            done
        fi
        local folder
        folder=$(node_folder "$name")
        # Safety net: a node's mounts live in its own namespace, gone with its processes.
        unmount_under "$folder"
        rm -rf "$folder/containerd" "$folder/runc" "$folder/kubelet/root" "$folder/cni/ipam" "$folder/pod-logs" "$folder/fs"
        if [ -f "$dir/pids" ]; then
            awk -v n="$name/" 'index($1, n) != 1' "$dir/pids" >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
        fi
    done
}
