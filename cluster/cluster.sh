#!/usr/bin/env bash
# An embedded Kubernetes cluster on this machine (cluster/README.md): a control plane on 127.0.0.1
# (cluster/control-plane.sh) and either a real worker node (cluster/node.sh: containerd, kubelet, kube-proxy;
# pods really run and a LoadBalancer Service answers on a loopback address; cluster/host-state.sh records
# the machine before it and restores it after) or three fake kwok nodes in three zones (pods only pretend to
# run; for control-plane behaviour and for cases that need several zones). Shared helpers: cluster/lib.sh.
#
#   cluster/cluster.sh start [--node real|kwok]   start and wait until healthy (prints the status if running).
#                       Default: a real node where the machine allows it (root, the toolchain's binaries
#                       and images, kernel features), else kwok's fake nodes, saying why.
#   cluster/cluster.sh stop     stop exactly what start started (TERM, then KILL), undo what the node changed
#                               on the machine, and remove the data
#   cluster/cluster.sh status   print what runs; exit 0 when healthy, 1 otherwise
#   cluster/cluster.sh env      print `export KUBECONFIG=...`
#   cluster/cluster.sh restart-apiserver [DOWN_SECONDS]   stop kube-apiserver, wait, start it again (fault tests)
#
# Binaries: .toolchain/bin (npm run toolchain). State: $CLUSTER_DIR (default .cluster/): pki/ (openssl-made
# CA and certificates), etcd/, node/ (containerd, kubelet, kube-proxy, CNI), logs/, pids ("name pid" lines),
# ports ("name port" lines), mode (real or kwok), nodes (how many), kubeconfig (admin, with the extension
# eks-nginx/images naming the images the cluster holds). Ports are picked free at start, so
# clusters with different CLUSTER_DIRs run side by side, but only one real node per machine.
# Settings: CLUSTER_NODES (fake nodes, default 3), CLUSTER_START_TIMEOUT (seconds per wait, default 120).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=control-plane.sh
source "$(dirname "${BASH_SOURCE[0]}")/control-plane.sh"
# shellcheck source=host-state.sh
source "$(dirname "${BASH_SOURCE[0]}")/host-state.sh"
# shellcheck source=node.sh
source "$(dirname "${BASH_SOURCE[0]}")/node.sh"
control_plane=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# mode: the kind of node of the cluster in $dir (real or kwok).
mode() { cat "$dir/mode" 2>/dev/null || echo kwok; }
# components: the names of the processes the cluster in $dir runs.
components() {
    echo "${control_plane[@]}"
    [ "$(mode)" != real ] || echo "${node_components[@]}"
}

# all_alive: every component of the cluster in $dir runs.
all_alive() {
    [ -f "$dir/pids" ] || return 1
    local name
    for name in $(components); do alive "$(pid_of "$name")" || return 1; done
}
# nodes_ready: as many Nodes are Ready as the cluster has ($dir/nodes).
nodes_ready() {
    local ready want
    want=$(cat "$dir/nodes" 2>/dev/null || echo "$NODES")
    ready=$(kc get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
        grep -c '^True$') || true
    [ "${ready:-0}" -ge "$want" ]
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

# choose_mode REQUESTED: real or kwok; auto means real where the machine allows it.
choose_mode() {
    local why
    case "$1" in
        kwok) echo kwok ;;
        real)
            if why=$(real_node_unavailable); then die "no real node on this machine: $why (--node kwok runs fake nodes)"; fi
            echo real ;;
        auto)
            if why=$(real_node_unavailable); then
                log "no real node: $why; starting $NODES fake kwok nodes instead (nothing answers on the load balancer)"
                echo kwok
            else
                echo real
            fi ;;
        *) die "--node takes real or kwok, not '$1'" ;;
    esac
}

# start [--node real|kwok]: see the top of this file.
start() {
    local requested=auto
    case "${1:-}" in
        --node) requested=${2:-} ;;
        --node=*) requested=${1#--node=} ;;
        "") ;;
        *) die "start takes [--node real|kwok], not '$*'" ;;
    esac
    if all_alive && api_ready && { [ "$requested" = auto ] || [ "$requested" = "$(mode)" ]; }; then
        log "already running"
        status
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
    local chosen
    chosen=$(choose_mode "$requested")
    local t0=$SECONDS
    remove_dir || die "$dir holds other files: set CLUSTER_DIR to a new or a cluster's folder"
    mkdir -p "$dir/logs" "$dir/etcd"
    # A start that fails stops what it launched and undoes the node's changes, and keeps the logs for a look
    # (the next start clears them).
    trap 'stop_node; if [ -s "$dir/pids" ]; then kill_recorded; fi; log "stopped what this start launched; logs kept in $dir/logs"' EXIT
    chmod 700 "$dir" "$dir/etcd"
    : >"$dir/pids"
    echo "$chosen" >"$dir/mode"

    local names=(etcd etcd-peer kube-apiserver kube-controller-manager kube-scheduler kwok
        kubelet kubelet-healthz kube-proxy-healthz kube-proxy-metrics) ports
    read -r -a ports <<<"$(free_ports ${#names[@]})" || true
    [ ${#ports[@]} -eq ${#names[@]} ] || die "could not pick free ports"
    local i
    for i in "${!names[@]}"; do echo "${names[i]} ${ports[i]}"; done >"$dir/ports"

    gen_pki
    write_kubeconfig "$dir/kubeconfig" admin --images
    start_control_plane
    if [ "$chosen" = real ]; then
        echo 1 >"$dir/nodes"
        record_host_state
        start_node
    else
        echo "$NODES" >"$dir/nodes"
        create_fake_nodes "$NODES"
    fi
    wait_for "$(cat "$dir/nodes") nodes Ready" nodes_ready
    # Pods are admitted once their namespace's default ServiceAccount exists (the controller-manager's).
    wait_for "the default ServiceAccount" sa_ready
    trap - EXIT
    log "started in $((SECONDS - t0))s: API https://127.0.0.1:$(port_of kube-apiserver), $(node_summary); KUBECONFIG=$dir/kubeconfig"
}

# resumable REQUESTED: $dir holds a cluster of the kind asked for whose processes are gone (killed, crashed, a
# reboot), with its data and certificates: it can be restarted as it was.
resumable() {
    [ -f "$dir/pids" ] && [ -f "$dir/ports" ] && [ -f "$dir/pki/ca.crt" ] && [ -f "$dir/kubeconfig" ] && [ -d "$dir/etcd/member" ] || return 1
    [ "$1" = auto ] || [ "$1" = "$(mode)" ] || return 1
    [ "$(mode)" != real ] || [ -f "$node_dir/host/sysctl" ]
}

# resume: ends what is left of the crashed instance (the node's pods and network included) and starts every
# process again on the same data, certificates and ports: the API objects are kept, so the kubelet runs the
# pods again and the load balancer's addresses answer as before.
resume() {
    local t0=$SECONDS name port
    log "$dir holds a cluster whose processes are not all running: restarting them on the same data"
    if [ "$(mode)" = real ] && other_node_here; then
        die "the node of another embedded cluster ($(bridge_owner)) runs on this machine: stop it first (CLUSTER_DIR=$(bridge_owner) npm run cluster -- stop)"
    fi
    trap '[ "$(mode)" != real ] || reset_node; kill_recorded; log "recovery failed: its processes are stopped, its data is kept (npm run cluster -- stop removes it)"' EXIT
    [ ! -s "$dir/pids" ] || kill_recorded
    [ "$(mode)" != real ] || reset_node
    : >"$dir/pids"
    while read -r name port; do
        ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
            die "port $port ($name) is taken by another process now: npm run cluster -- stop, then start anew"
    done <"$dir/ports"
    start_control_plane
    if [ "$(mode)" = real ]; then
        local why
        if why=$(real_node_unavailable); then die "the real node cannot run: $why"; fi
        start_node
    fi
    wait_for "$(cat "$dir/nodes") nodes Ready" nodes_ready
    wait_for "the default ServiceAccount" sa_ready
    trap - EXIT
    log "recovered in $((SECONDS - t0))s: API https://127.0.0.1:$(port_of kube-apiserver), $(node_summary); KUBECONFIG=$dir/kubeconfig"
}

# node_summary: the cluster's nodes in a few words.
node_summary() {
    if [ "$(mode)" = real ]; then
        echo "1 real node ($NODE_NAME)"
    else
        echo "$(cat "$dir/nodes") fake kwok nodes"
    fi
}

# kill_recorded: TERM to each recorded PID that is still ours (reverse start order: kwok and the
# controllers before the API server, etcd last), KILL to any left after 10s.
kill_recorded() {
    local name pid pids=() names=()
    while read -r name pid; do pids=("$pid" "${pids[@]}"); names[pid]=$name; done <"$dir/pids"
    for pid in "${pids[@]}"; do
        if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    local survivors=0
    for pid in "${pids[@]}"; do await_exit "$pid" "${names[pid]}" || survivors=$((survivors + 1)); done
    [ "$survivors" -eq 0 ] || die "$survivors process(es) still running"
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
    stop_node
    [ ! -f "$dir/pids" ] || kill_recorded
    if remove_dir; then
        log "stopped $recorded processes and removed $dir ($((SECONDS - t0))s)"
    else
        log "stopped $recorded processes ($((SECONDS - t0))s)"
    fi
}

# status: one line per component, then the API and the nodes; returns 1 unless all is healthy.
status() {
    if [ ! -f "$dir/pids" ]; then
        echo "not running ($dir has no pids)"
        return 1
    fi
    local name pid ok=0
    for name in $(components); do
        pid=$(pid_of "$name")
        if alive "$pid"; then
            printf '%-24s running  pid %-7s port %s\n' "$name" "$pid" "$(port_of "$name")"
        else
            printf '%-24s STOPPED  pid %s\n' "$name" "${pid:-?}"
            ok=1
        fi
    done
    if api_ready; then
        echo "api: ready at $(sed -n 's/^ *server: //p' "$dir/kubeconfig")  KUBECONFIG=$dir/kubeconfig"
        if nodes_ready; then echo "nodes: $(node_summary), Ready"; else echo "nodes: fewer than $(cat "$dir/nodes") Ready"; ok=1; fi
    else
        echo "api: NOT ready"
        ok=1
    fi
    return $ok
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    env) echo "export KUBECONFIG=$dir/kubeconfig" ;;
    restart-apiserver) restart_apiserver "${2:-0}" ;;
    *) echo "usage: $0 start [--node real|kwok]|stop|status|env|restart-apiserver [down seconds]" >&2; exit 2 ;;
esac
