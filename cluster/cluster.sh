#!/usr/bin/env bash
# An embedded Kubernetes control plane on 127.0.0.1 with no container runtime: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok. kwok fakes the nodes and drives pods and Services
# through the stages in cluster/stages/ (pods become Running/Ready, terminating pods are deleted,
# LoadBalancer Services get the ingress address 127.0.0.1 as from a cloud's load balancer controller).
#
#   cluster/cluster.sh start    start and wait until healthy (no-op that prints the status if running)
#   cluster/cluster.sh stop     stop exactly the processes start recorded (TERM, then KILL) and remove the data
#   cluster/cluster.sh status   print what runs; exit 0 when healthy, 1 otherwise
#   cluster/cluster.sh env      print `export KUBECONFIG=...`
#   cluster/cluster.sh restart-apiserver [DOWN_SECONDS]   stop kube-apiserver, wait, start it again (fault tests)
#
# Binaries: .toolchain/bin (toolchain/control-plane/build.sh). State: $CLUSTER_DIR (default .cluster/):
# pki/ (openssl-generated CA, serving and client certificates, service-account keys), etcd/ (data),
# logs/, pids ("name pid" lines), ports ("name port" lines), kubeconfig (admin). Every port is chosen
# free at start, so instances with different CLUSTER_DIRs run side by side.
# Settings: CLUSTER_NODES (fake nodes, default 3), CLUSTER_START_TIMEOUT (seconds per wait, default 120).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${CLUSTER_DIR:-$repo/.cluster}"
bin="$repo/.toolchain/bin"
stages="$repo/cluster/stages"
NODES="${CLUSTER_NODES:-3}"
TIMEOUT="${CLUSTER_START_TIMEOUT:-120}"
SERVICE_CIDR=10.96.0.0/16 # virtual: no proxy routes it
SERVICE_IP=10.96.0.1      # the kubernetes Service's ClusterIP: first address of SERVICE_CIDR
export PATH="$bin:$PATH"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] FAILED: %s\n' "$*" >&2; exit 1; }
kc() { kubectl --kubeconfig "$dir/kubeconfig" --request-timeout=5s "$@"; }

# free_ports N: N distinct TCP ports on 127.0.0.1 that the kernel reports free (all held at once).
free_ports() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
    elif command -v node >/dev/null 2>&1; then
        node -e '
const net = require("net"), n = +process.argv[1], ports = [], servers = [];
const next = () => { if (ports.length === n) { console.log(ports.join(" ")); servers.forEach((s) => s.close()); return; }
  const s = net.createServer(); servers.push(s); s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); next(); }); };
next();' "$1"
    else
        die "python3 or node is needed to pick free ports"
    fi
}

# alive PID: the process runs and is one of this cluster's (its command line names $dir), so a PID
# reused by an unrelated process is never taken for ours.
# A process that is exiting has an empty command line but is not gone yet: it counts as alive until it is
# a zombie or has disappeared.
alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local stat cmd
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [ -z "$cmd" ] || grep -qF -- "$dir/" <<<"$cmd"
}
pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$dir/pids" 2>/dev/null; }
port_of() { awk -v n="$1" '$1 == n { print $2 }' "$dir/ports" 2>/dev/null; }
all_alive() {
    [ -f "$dir/pids" ] || return 1
    local name
    for name in "${components[@]}"; do alive "$(pid_of "$name")" || return 1; done
}
api_ready() { [ -f "$dir/kubeconfig" ] && kc get --raw /readyz >/dev/null 2>&1; }
nodes_ready() {
    local ready want
    want=$(cat "$dir/nodes" 2>/dev/null || echo "$NODES")
    ready=$(kc get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
        grep -c '^True$') || true
    [ "${ready:-0}" -ge "$want" ]
}

sa_ready() { kc get serviceaccount default -n default -o name >/dev/null 2>&1; }

gen_pki() {
    local pki=$dir/pki
    mkdir -p "$pki"
    (
        set -e
        cd "$pki"
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 365 -subj "/CN=embedded-cluster-ca" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.crt
        # sign NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt signed by the CA.
        sign() {
            openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
            openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
            printf '%b' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 -extfile "$1.ext" -out "$1.crt"
            rm -f "$1.csr" "$1.ext"
        }
        sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        sign admin "/O=system:masters/CN=embedded-admin" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
        # The service-account token signing key pair.
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
        chmod 600 ./*.key
    ) >"$dir/logs/pki.log" 2>&1 || die "generating certificates with openssl (see $dir/logs/pki.log)"
}

write_kubeconfig() {
    local port=$1
    (
        umask 077
        cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: embedded
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 <"$dir/pki/ca.crt")
users:
- name: embedded-admin
  user:
    client-certificate-data: $(base64 -w0 <"$dir/pki/admin.crt")
    client-key-data: $(base64 -w0 <"$dir/pki/admin.key")
contexts:
- name: embedded
  context:
    cluster: embedded
    user: embedded-admin
current-context: embedded
EOF
    )
}

# launch NAME COMMAND...: runs it in its own session, output in logs/NAME.log, and records its PID.
# (setsid from a non-leader execs in place, so $! is the component's own PID.)
launch() {
    local name=$1
    shift
    setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
    echo "$name $!" >>"$dir/pids"
}

# wait_for WHAT COMMAND...: retries COMMAND until it succeeds; fails after $TIMEOUT s or when a
# component has exited (showing the end of its log).
wait_for() {
    local what=$1 t0=$SECONDS name
    shift
    until "$@"; do
        for name in $(awk '{ print $1 }' "$dir/pids"); do
            alive "$(pid_of "$name")" || {
                tail -n 15 "$dir/logs/$name.log" | sed 's/^/    /' >&2
                die "$name exited while waiting for $what (log: $dir/logs/$name.log)"
            }
        done
        [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || die "$what not ready after ${TIMEOUT}s (logs: $dir/logs/)"
        sleep 0.3
    done
}

# launch_apiserver: kube-apiserver on the ports and certificates of this instance (start, restart-apiserver).
launch_apiserver() {
    local pki=$dir/pki
    launch kube-apiserver kube-apiserver --etcd-servers "http://127.0.0.1:$(port_of etcd)" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(port_of kube-apiserver)" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true --profiling=false
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

start() {
    if all_alive && api_ready; then
        log "already running"
        status
        return 0
    fi
    if [ -f "$dir/pids" ]; then
        log "a previous instance in $dir is not healthy: stopping it first"
        stop
    fi
    local b
    for b in "${components[@]}" kubectl; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing: run toolchain/control-plane/build.sh"
    done
    local t0=$SECONDS
    rm -rf "$dir"
    mkdir -p "$dir/logs" "$dir/etcd"
    # A start that fails stops what it launched, and keeps the logs for a look (the next start clears them).
    trap 'if [ -s "$dir/pids" ]; then kill_recorded >/dev/null; log "stopped what this start launched; logs kept in $dir/logs"; fi' EXIT
    chmod 700 "$dir" "$dir/etcd"
    : >"$dir/pids"
    echo "$NODES" >"$dir/nodes"

    local etcd_port peer_port api_port cm_port sched_port kwok_port
    read -r etcd_port peer_port api_port cm_port sched_port kwok_port <<<"$(free_ports 6)" || true
    [ -n "$kwok_port" ] || die "could not pick free ports"
    printf '%s %s\n' etcd "$etcd_port" etcd-peer "$peer_port" kube-apiserver "$api_port" \
        kube-controller-manager "$cm_port" kube-scheduler "$sched_port" kwok "$kwok_port" >"$dir/ports"
    gen_pki
    write_kubeconfig "$api_port"
    local pki=$dir/pki kubeconfig=$dir/kubeconfig

    launch etcd etcd --name embedded --data-dir "$dir/etcd" --unsafe-no-fsync \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "embedded=http://127.0.0.1:$peer_port" --log-level warn
    launch_apiserver
    wait_for "kube-apiserver /readyz" api_ready
    log "kube-apiserver ready on https://127.0.0.1:$api_port ($((SECONDS - t0))s)"

    launch kube-controller-manager kube-controller-manager --kubeconfig "$kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$cm_port" --leader-elect=false \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --use-service-account-credentials=false --controllers '*' --profiling=false
    launch kube-scheduler kube-scheduler --kubeconfig "$kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false --profiling=false
    local stage_files
    stage_files=$(printf '%s,' "$stages"/*.yaml)
    launch kwok kwok --kubeconfig "$kubeconfig" --manage-all-nodes=true --node-lease-duration-seconds 40 \
        --cidr 10.244.0.0/16 --server-address "127.0.0.1:$kwok_port" --config "${stage_files%,}"

    # Bare fake Nodes, no taints; kwok (--manage-all-nodes) makes them Ready and keeps their leases. Their
    # addresses are loopback ones (127.0.1.N): nothing real is behind them, and nothing off this machine.
    local i
    for i in $(seq 1 "$NODES"); do
        cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-$(( (i - 1) % 3 + 1 ))
    type: kwok
  annotations:
    kwok.x-k8s.io/node: fake
status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110"}
  capacity: {cpu: "16", memory: 64Gi, pods: "110"}
  addresses:
  - {type: InternalIP, address: 127.0.1.$i}
  - {type: Hostname, address: kwok-node-$i}
---
EOF
    done | kc create -f - >/dev/null || die "creating $NODES fake nodes"
    wait_for "$NODES nodes Ready" nodes_ready
    # Pods are admitted once their namespace's default ServiceAccount exists (the controller-manager's).
    wait_for "the default ServiceAccount" sa_ready
    trap - EXIT
    log "started in $((SECONDS - t0))s: API https://127.0.0.1:$api_port, $NODES nodes Ready; KUBECONFIG=$kubeconfig"
}

# await_exit PID NAME: waits up to 10s for a process sent TERM to end, then KILLs it; returns 1 if it survives.
await_exit() {
    for _ in $(seq 1 50); do alive "$1" || return 0; sleep 0.2; done
    log "$2 (pid $1) did not stop within 10s of TERM: KILL"
    kill -KILL "$1" 2>/dev/null || true
    for _ in $(seq 1 25); do alive "$1" || return 0; sleep 0.2; done
    log "$2 (pid $1) is still running"
    return 1
}

# kill_recorded: TERM to each recorded PID that is still ours (reverse start order: kwok and the
# controllers before the API server, etcd last), KILL to any left after 10s. Prints how many it recorded.
kill_recorded() {
    local name pid pids=() names=()
    while read -r name pid; do pids=("$pid" "${pids[@]}"); names[pid]=$name; done <"$dir/pids"
    for pid in "${pids[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
    local survivors=0
    for pid in "${pids[@]}"; do await_exit "$pid" "${names[pid]}" || survivors=$((survivors + 1)); done
    [ "$survivors" -eq 0 ] || die "$survivors process(es) still running"
    echo "${#pids[@]}"
}

stop() {
    if [ ! -f "$dir/pids" ]; then
        log "not running"
        rm -rf "$dir"
        return 0
    fi
    local n t0=$SECONDS
    n=$(kill_recorded)
    rm -rf "$dir"
    log "stopped $n processes and removed $dir ($((SECONDS - t0))s)"
}

status() {
    if [ ! -f "$dir/pids" ]; then
        echo "not running ($dir has no pids)"
        return 1
    fi
    local name pid ok=0
    for name in "${components[@]}"; do
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
        if nodes_ready; then echo "nodes: $(cat "$dir/nodes") Ready"; else echo "nodes: fewer than $(cat "$dir/nodes") Ready"; ok=1; fi
    else
        echo "api: NOT ready"
        ok=1
    fi
    return $ok
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export KUBECONFIG=$dir/kubeconfig" ;;
    restart-apiserver) restart_apiserver "${2:-0}" ;;
    *) echo "usage: $0 start|stop|status|env|restart-apiserver [down seconds]" >&2; exit 2 ;;
esac
