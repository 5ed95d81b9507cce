#!/usr/bin/env bash
# An embedded Kubernetes cluster on this machine (cluster/README.md): a control plane on 127.0.0.1
# (cluster/control-plane.sh) and either real worker nodes, each a machine of its own in network and mount
# namespaces and cgroups (cluster/node.sh, nodes.sh; the machine routes between them, host-network.sh) behind a
# load balancer (cluster/load-balancer.sh: HAProxy, fed from the Services; pods really run, a LoadBalancer
# Service answers on a loopback address), or fake kwok nodes in three zones (pods only pretend to run; for
# control-plane behaviour). host-state.sh records the machine before the nodes and restores it after.
#
#   cluster/cluster.sh start [--node real|kwok] [--nodes N] [--quiet]   start and wait until healthy (prints
#                       the status if running; --quiet: one line). Default: real nodes where the machine allows
#                       them (root, the toolchain's binaries and images, kernel features), as many as asked (1 to
#                       4, default 3) or as the machine holds, else kwok's fake nodes; it says why.
#   cluster/cluster.sh stop     stop exactly what start started (TERM, then KILL), undo what the nodes changed
#                               on the machine, and remove the data
#   cluster/cluster.sh status   print what runs; exit 0 when healthy, 1 otherwise
#   cluster/cluster.sh add-node [--zone zone-N]   add a real node (in the zone with fewest nodes); prints its name
#   cluster/cluster.sh remove-node NAME   cordon, drain, out of the load balancer, stop, delete (as EKS does)
#   cluster/cluster.sh env      print `export KUBECONFIG=...`
#   cluster/cluster.sh restart-apiserver [DOWN_SECONDS]   stop kube-apiserver, wait, start it again (fault tests)
#
# Binaries: .toolchain/bin (npm run toolchain). State: $CLUSTER_DIR (default .cluster/), see cluster/README.md.
# Ports are picked free at start, so clusters with different CLUSTER_DIRs run side by side, but only one of
# them with real nodes. Settings: CLUSTER_NODES (nodes at start, default 3), CLUSTER_START_TIMEOUT (seconds
# per wait, default 120).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=control-plane.sh
source "$(dirname "${BASH_SOURCE[0]}")/control-plane.sh"
# shellcheck source=host-state.sh
source "$(dirname "${BASH_SOURCE[0]}")/host-state.sh"
# shellcheck source=host-network.sh
source "$(dirname "${BASH_SOURCE[0]}")/host-network.sh"
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh"
# shellcheck source=load-balancer.sh
source "$(dirname "${BASH_SOURCE[0]}")/load-balancer.sh"
# shellcheck source=nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"
# shellcheck source=../toolchain/node.sh
source "$repo/toolchain/node.sh"
control_plane=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# mode: the kind of nodes of the cluster in $dir (real or kwok).
mode() { cat "$dir/mode" 2>/dev/null || echo kwok; }
# components: the names of the processes the cluster in $dir runs.
components() {
    echo "${control_plane[@]}"
    [ "$(mode)" = real ] || return 0
    echo "${lb_components[@]}"
    local name component
    for name in $(node_names); do
        for component in "${node_components[@]}"; do echo "$name/$component"; done
    done
}

# all_alive: every component of the cluster in $dir runs.
all_alive() {
    [ -f "$dir/pids" ] || return 1
    local name
    for name in $(components); do alive "$(pid_of "$name")" || return 1; done
}
# nodes_ready: every node of $dir/nodes is Ready.
nodes_ready() {
    local ready
    ready=$(kc get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
        grep -c '^True$') || true
    [ "${ready:-0}" -ge "$(node_count)" ]
}

# restart_apiserver [DOWN_SECONDS]: stops kube-apiserver (TERM), keeps it down DOWN_SECONDS (default 0), starts
# it again on the same port and waits until it is ready; the other components reconnect by themselves.
restart_apiserver() {
    all_alive || die "not running (start it first)"
    local pid t0=$SECONDS
    pid=$(pid_of kube-apiserver)
    kill -TERM "$pid" 2>/dev/null || true
    await_exit "$pid" kube-apiserver || die "kube-apiserver would not stop"
    awk '$1 != "kube-apiserver"' "$dir/pids" >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
    log "kube-apiserver (pid $pid) stopped; down for ${1:-0}s"
    sleep "${1:-0}"
    launch_apiserver
    wait_for "kube-apiserver /readyz" api_ready
    log "kube-apiserver restarted as pid $(pid_of kube-apiserver) ($((SECONDS - t0))s)"
}

# choose_mode REQUESTED N: "real N'" or "kwok N": real nodes where the machine allows them (auto), as many as
# it holds up to N; else (or when asked) fake ones. Says why it starts fewer or fake nodes.
choose_mode() {
    local why capacity
    if [ "$1" = kwok ]; then echo "kwok $2"; return 0; fi
    if why=$(real_node_unavailable); then
        [ "$1" = auto ] || die "no real node on this machine: $why (--node kwok runs fake nodes)"
        log "no real node: $why; starting $2 fake kwok nodes instead (nothing answers on the load balancer)"
        echo "kwok $2"
        return 0
    fi
    capacity=$(machine_capacity)
    log "machine: ${capacity#* }"
    if [ "${capacity%% *}" -ge "$2" ]; then echo "real $2"; return 0; fi
    if [ "${capacity%% *}" -ge 1 ]; then
        log "starting ${capacity%% *} real nodes, not the $2 asked for: the machine holds no more"
        echo "real ${capacity%% *}"
    elif [ "$1" = auto ]; then
        log "no real node: the machine holds none; starting $2 fake kwok nodes instead (nothing answers on the load balancer)"
        echo "kwok $2"
    else
        die "no real node on this machine: it holds none (--node kwok runs fake nodes)"
    fi
}

# start [--node real|kwok] [--nodes N]: see the top of this file.
start() {
    local requested=auto count=$NODES quiet=false
    while [ $# -gt 0 ]; do
        case "$1" in
            --quiet) quiet=true ;;
            --node) requested=${2:-}; shift ;;
            --node=*) requested=${1#--node=} ;;
            --nodes) count=${2:-}; shift ;;
            --nodes=*) count=${1#--nodes=} ;;
            *) die "start takes [--node real|kwok] [--nodes N] [--quiet], not '$*'" ;;
        esac
        shift
    done
    { [[ "$count" =~ ^[1-9][0-9]*$ ]] && [ "$count" -le "$MAX_NODES" ]; } || die "--nodes takes a number from 1 to $MAX_NODES, not '$count'"
    case "$requested" in real | kwok | auto) ;; *) die "--node takes real or kwok, not '$requested'" ;; esac
    if all_alive && api_ready && { [ "$requested" = auto ] || [ "$requested" = "$(mode)" ]; }; then
        # --quiet (npm run local, before every pulumi command): one line instead of the status table, which
        # checks everything again (about 0.5 s).
        if [ "$quiet" = true ]; then
            log "already running: $(node_summary)"
        else
            log "already running"
            status
        fi
        return 0
    fi
    if resumable "$requested"; then
        resume
        return 0
    fi
    if [ -f "$dir/pids" ] || node_left_behind; then
        log "a previous instance in $dir is not healthy or not of the node kind asked for: stopping it first"
        stop
    fi
    local b
    for b in "${control_plane[@]}" kubectl; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing: run npm run toolchain"
    done
    local chosen choice
    # choose_mode runs in a subshell: its die ends only that, so its answer is checked here.
    choice=$(choose_mode "$requested" "$count") || exit 1
    read -r chosen count <<<"$choice"
    local t0=$SECONDS
    remove_dir || die "$dir holds other files: set CLUSTER_DIR to a new or a cluster's folder"
    mkdir -p "$dir/logs" "$dir/etcd"
    # A start that fails stops what it launched and undoes the nodes' changes, and keeps the logs for a look
    # (the next start clears them).
    trap 'stop_real_nodes; if [ -s "$dir/pids" ]; then kill_recorded; fi; log "stopped what this start launched; logs kept in $dir/logs"' EXIT
    chmod 700 "$dir" "$dir/etcd"
    : >"$dir/pids"
    : >"$dir/nodes"
    echo "$chosen" >"$dir/mode"

    local names=(etcd etcd-peer kube-apiserver kube-controller-manager kube-scheduler kwok load-balancer-stats) ports i
    read -r -a ports <<<"$(free_ports ${#names[@]})" || true
    [ ${#ports[@]} -eq ${#names[@]} ] || die "could not pick free ports"
    for i in "${!names[@]}"; do echo "${names[i]} ${ports[i]}"; done >"$dir/ports"

    gen_pki
    write_kubeconfig "$dir/kubeconfig" admin --images
    for i in $(seq 1 "$count"); do
        if [ "$chosen" = real ]; then register_node node >/dev/null; else register_node kwok-node "${ZONES[(i - 1) % 3]}" >/dev/null; fi
    done
    start_control_plane
    if [ "$chosen" = real ]; then
        start_machine_side
    else
        create_fake_nodes
    fi
    wait_for "$(node_count) nodes Ready" nodes_ready
    # Pods are admitted once their namespace's default ServiceAccount exists (the controller-manager's).
    wait_for "the default ServiceAccount" sa_ready
    trap - EXIT
    log "started in $((SECONDS - t0))s: API https://127.0.0.1:$(port_of kube-apiserver), $(node_summary); KUBECONFIG=$dir/kubeconfig"
}

# start_machine_side: for real nodes, on a machine as record_host_state found it (a new start) or as
# stop_real_nodes left it (a resume): the bridge and guards, the API server for the nodes, the nodes, the
# load balancer.
start_machine_side() {
    [ -f "$host_dir/sysctl" ] || record_host_state
    setup_host_network
    start_api_forward
    # shellcheck disable=SC2046 # one name per word
    start_nodes $(node_names)
    start_load_balancer
    # The values the nodes set: stop restores a key only while it still holds one (nobody else changed it since).
    record_sysctls >"$host_dir/sysctl-node"
}

# resumable REQUESTED: $dir holds a cluster of the kind asked for whose processes are gone (killed, crashed, a
# reboot), with its data and certificates: it can be restarted as it was.
resumable() {
    [ -f "$dir/pids" ] && [ -f "$dir/ports" ] && [ -f "$dir/pki/ca.crt" ] && [ -f "$dir/kubeconfig" ] && [ -d "$dir/etcd/member" ] || return 1
    [ -s "$dir/nodes" ] || return 1
    [ "$1" = auto ] || [ "$1" = "$(mode)" ] || return 1
    [ "$(mode)" != real ] || [ -f "$host_dir/sysctl" ]
}

# resume: ends what is left of the crashed instance (the nodes' pods and network included) and starts every
# process again on the same data, certificates and ports: the API objects are kept, so each node registers
# again under its name, address and zone, its kubelet runs its pods again and the load balancer answers as
# before.
resume() {
    local t0=$SECONDS name port
    log "$dir holds a cluster whose processes are not all running: restarting them on the same data"
    if [ "$(mode)" = real ] && other_node_here; then
        die "the nodes of another embedded cluster ($(bridge_owner)) run on this machine: stop it first (CLUSTER_DIR=$(bridge_owner) npm run cluster -- stop)"
    fi
    trap 'reset_real_nodes; kill_recorded; log "recovery failed: its processes are stopped, its data is kept (npm run cluster -- stop removes it)"' EXIT
    reset_real_nodes
    [ ! -s "$dir/pids" ] || kill_recorded
    : >"$dir/pids"
    while read -r name port; do
        ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
            die "port $port ($name) is taken by another process now: npm run cluster -- stop, then start anew"
    done <"$dir/ports"
    start_control_plane
    if [ "$(mode)" = real ]; then
        local why
        if why=$(real_node_unavailable); then die "the real nodes cannot run: $why"; fi
        start_machine_side
    fi
    wait_for "$(node_count) nodes Ready" nodes_ready
    wait_for "the default ServiceAccount" sa_ready
    trap - EXIT
    log "recovered in $((SECONDS - t0))s: API https://127.0.0.1:$(port_of kube-apiserver), $(node_summary); KUBECONFIG=$dir/kubeconfig"
}

# node_summary: the cluster's nodes in a few words.
node_summary() {
    local kind=fake
    [ "$(mode)" != real ] || kind=real
    local plural=s
    [ "$(node_count)" != 1 ] || plural=""
    echo "$(node_count) $kind node$plural ($(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $3 }' "$dir/nodes"))"
}

# kill_recorded: TERM to each recorded PID that is still ours, in reverse start order, and KILL to any left
# after 10s: first everything but etcd (the load balancer, kwok and the controllers, the API server), then
# etcd. kube-apiserver's last act is removing its address from the `kubernetes` Service's endpoints in etcd:
# with etcd stopped at the same moment it waited out its 10 s and was killed.
kill_recorded() {
    local name pid others=() etcd=() names=() survivors=0 group
    while read -r name pid; do
        if [ "$name" = etcd ]; then etcd+=("$pid"); else others=("$pid" "${others[@]}"); fi
        names[pid]=$name
    done <"$dir/pids"
    for group in "${others[*]}" "${etcd[*]}"; do
        for pid in $group; do
            if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
        done
        for pid in $group; do await_exit "$pid" "${names[pid]}" || survivors=$((survivors + 1)); done
    done
    [ "$survivors" -eq 0 ] || die "$survivors process(es) still running"
}

# node_left_behind: true when this cluster's nodes (or what a crash left of them) are on the machine.
node_left_behind() { [ -d "$nodes_dir" ] || host_network_here; }

# reset_real_nodes: ends the nodes and the load balancer and removes the network they had on the machine,
# keeping the record of the machine from the first start (a resume). The kernel settings the machine's
# routing needs go back before the guard chains go, so that no moment forwards anything; a restarted cluster
# sets them again. When another cluster's nodes are on the machine, only this cluster's own processes are
# touched.
reset_real_nodes() {
    node_left_behind || return 0
    local component pid
    for component in lb-controller load-balancer api-forward; do
        pid=$(pid_of "$component")
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; await_exit "$pid" "$component" || true; fi
    done
    # shellcheck disable=SC2046 # one name per word
    stop_nodes $(node_names)
    other_node_here && return 0
    rmdir /sys/fs/cgroup/*/"$CGROUP_ROOT" 2>/dev/null || true
    restore_sysctls
    teardown_host_network
    rm -rf "$lb_dir"
}

# stop_real_nodes: reset_real_nodes, then the machine as it was before start (nftables tables, kernel
# settings, paths).
stop_real_nodes() {
    node_left_behind || return 0
    [ -f "$host_dir/sysctl" ] || log "no record of the kernel settings before start: they are left as they are"
    reset_real_nodes
    other_node_here && return 0
    remove_new_tables
    restore_host_state
}

# remove_dir: removes $dir when it is a cluster's folder (or empty), never another folder CLUSTER_DIR names.
remove_dir() {
    [ -e "$dir" ] || return 0
    if [ -f "$dir/ports" ] || [ -f "$dir/mode" ] || [ -f "$dir/pids" ] || [ -z "$(ls -A "$dir")" ]; then
        rm -rf "$dir"
    else
        log "$dir is not a cluster's folder (no ports, mode or pids file): left as it is"
        return 1
    fi
}

# stop: see the top of this file.
stop() {
    if [ ! -f "$dir/pids" ] && ! node_left_behind; then
        log "not running"
        remove_dir || true
        return 0
    fi
    local t0=$SECONDS recorded
    recorded=$(wc -l 2>/dev/null <"$dir/pids" || echo 0)
    stop_real_nodes
    [ ! -f "$dir/pids" ] || kill_recorded
    if remove_dir; then
        log "stopped $recorded processes and removed $dir ($((SECONDS - t0))s)"
    else
        log "stopped $recorded processes ($((SECONDS - t0))s)"
    fi
}

# status: one line per component, then the API, the nodes and the load balancer; returns 1 unless all is healthy.
status() {
    if [ ! -f "$dir/pids" ]; then
        echo "not running ($dir has no pids)"
        return 1
    fi
    local name pid ok=0
    for name in $(components); do
        pid=$(pid_of "$name")
        if alive "$pid"; then
            printf '%-24s running  pid %-7s %s\n' "$name" "$pid" "$(port_of "$name" | sed 's/^./port &/')"
        else
            printf '%-24s STOPPED  pid %s\n' "$name" "${pid:-?}"
            ok=1
        fi
    done
    if api_ready; then
        echo "api: ready at $(sed -n 's/^ *server: //p' "$dir/kubeconfig")  KUBECONFIG=$dir/kubeconfig"
        if nodes_ready; then echo "nodes: $(node_summary), Ready"; else echo "nodes: fewer than $(node_count) Ready"; ok=1; fi
    else
        echo "api: NOT ready"
        ok=1
    fi
    [ "$(mode)" != real ] || lb_summary || true
    return $ok
}

# running_real: the cluster runs with real nodes (for add-node and remove-node).
running_real() { { [ "$(mode)" = real ] && [ -f "$dir/pids" ] && api_ready; } || die "no running cluster with real nodes in $dir (npm run cluster -- start)"; }

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    add-node)
        running_real
        case "${2:-}" in --zone) add_node "${3:-}" ;; --zone=*) add_node "${2#--zone=}" ;; "") add_node ;; *) die "add-node takes [--zone zone-N]" ;; esac ;;
    remove-node) running_real; remove_node "${2:-}" ;;
    env) echo "export KUBECONFIG=$dir/kubeconfig" ;;
    restart-apiserver) restart_apiserver "${2:-0}" ;;
    *) echo "usage: $0 start [--node real|kwok] [--nodes N] [--quiet]|stop|status|add-node [--zone Z]|remove-node NAME|env|restart-apiserver [down seconds]" >&2; exit 2 ;;
esac
