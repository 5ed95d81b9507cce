#!/usr/bin/env bash
# An embedded Kubernetes control plane on 127.0.0.1, no container runtime: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes; pods become Running/Ready through kwok
# stages; LoadBalancer Services get an ingress address from a kwok stage playing the cloud's controller).
#
#   cluster/cluster.sh start    start (no-op if already running), wait until healthy
#   cluster/cluster.sh stop     stop exactly the processes it started (by PID) and remove its data
#   cluster/cluster.sh status   print what runs; exit 0 when healthy
#   cluster/cluster.sh env      print `export KUBECONFIG=...`
#
# Binaries come from .toolchain/bin (npm run toolchain). State lives in $CLUSTER_DIR (default .cluster/):
# generated certificates, data, logs, pids, ports and the admin kubeconfig. Ports are chosen free at start.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CLUSTER_DIR:-$repo/.cluster}"
bin="$repo/.toolchain/bin"
NODES="${CLUSTER_NODES:-3}"
PATH="$bin:$PATH"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] FAILED: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1, excluding those already handed out in this run.
taken=" "
free_port() {
    local port
    while :; do
        port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
        case "$taken" in *" $port "*) continue ;; esac
        taken="$taken$port "
        echo "$port"
        return
    done
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -qa -- "$dir" "/proc/$1/cmdline" 2>/dev/null; }

healthy() {
    [ -f "$dir/kubeconfig" ] && kubectl --kubeconfig "$dir/kubeconfig" --request-timeout=3s get --raw /readyz >/dev/null 2>&1
}

all_alive() {
    [ -f "$dir/pids" ] || return 1
    local name pid
    while read -r name pid; do alive "$pid" || return 1; done <"$dir/pids"
}

gen_pki() {
    local pki=$dir/pki
    mkdir -p "$pki"
    (
        cd "$pki"
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=eks-nginx-embedded-ca" -out ca.crt
        openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key
        openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
        printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile apiserver.ext -out apiserver.crt
        openssl ecparam -name prime256v1 -genkey -noout -out admin.key
        openssl req -new -key admin.key -subj "/O=system:masters/CN=embedded-admin" -out admin.csr
        printf 'extendedKeyUsage=clientAuth\n' >admin.ext
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile admin.ext -out admin.crt
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
    ) >"$dir/logs/pki.log" 2>&1 || die "generating certificates with openssl (see $dir/logs/pki.log)"
}

write_kubeconfig() {
    local b64
    b64() { base64 -w0 <"$1"; }
    cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: embedded
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$dir/pki/ca.crt")
users:
- name: embedded-admin
  user:
    client-certificate-data: $(b64 "$dir/pki/admin.crt")
    client-key-data: $(b64 "$dir/pki/admin.key")
contexts:
- name: embedded
  context:
    cluster: embedded
    user: embedded-admin
current-context: embedded
EOF
    chmod 600 "$dir/kubeconfig"
}

# Starts NAME in the background with its output in logs/NAME.log, and records its PID.
launch() {
    local name=$1
    shift
    setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
    echo "$name $!" >>"$dir/pids"
}

wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if [ $SECONDS -ge $deadline ]; then
            die "$what not ready after ${seconds}s (logs in $dir/logs)"
        fi
        all_alive || die "a process exited while waiting for $what: $(tail -n 5 "$dir"/logs/*.log | tail -n 20)"
        sleep 0.5
    done
}

kwok_stages() {
    # kwok's own default stages, from its module (fetched by npm run toolchain), plus ours.
    local mod
    mod="$(cd "$repo/toolchain/control-plane/kwok" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)" \
        || die "locating the kwok module (run npm run toolchain)"
    local s=$mod/kustomize/stage
    : >"$dir/kwok-stages.yaml"
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
        { cat "$s/$f"; printf '\n---\n'; } >>"$dir/kwok-stages.yaml"
    done
    cat "$repo/cluster/stages/"*.yaml >>"$dir/kwok-stages.yaml"
}

start() {
    if all_alive && healthy; then
        log "already running"
        status
        return 0
    fi
    if [ -f "$dir/pids" ]; then
        log "a previous instance is half-alive: stopping it first"
        stop
    fi
    for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing: run npm run toolchain"
    done
    local t0=$SECONDS
    rm -rf "$dir" && mkdir -p "$dir/logs" "$dir/etcd"
    : >"$dir/pids"
    ETCD_PORT=$(free_port) ETCD_PEER_PORT=$(free_port) API_PORT=$(free_port)
    CM_PORT=$(free_port) SCHED_PORT=$(free_port) KWOK_PORT=$(free_port)
    printf 'etcd %s\netcd-peer %s\nkube-apiserver %s\nkube-controller-manager %s\nkube-scheduler %s\nkwok %s\n' \
        "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$CM_PORT" "$SCHED_PORT" "$KWOK_PORT" >"$dir/ports"
    gen_pki
    write_kubeconfig
    kwok_stages

    launch etcd etcd --name embedded --data-dir "$dir/etcd" --unsafe-no-fsync \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "embedded=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn
    launch kube-apiserver kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
        --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
        --client-ca-file "$dir/pki/ca.crt" --authorization-mode RBAC \
        --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$dir/pki/sa.pub" \
        --service-account-signing-key-file "$dir/pki/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
        --allow-privileged=true --endpoint-reconciler-type none
    wait_for "kube-apiserver" 90 healthy
    launch kube-controller-manager kube-controller-manager --kubeconfig "$dir/kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$CM_PORT" --leader-elect=false \
        --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
        --use-service-account-credentials=false --controllers '*,-nodeipam'
    launch kube-scheduler kube-scheduler --kubeconfig "$dir/kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false
    launch kwok kwok --kubeconfig "$dir/kubeconfig" --manage-all-nodes=true \
        --server-address "127.0.0.1:$KWOK_PORT" --config "$dir/kwok-stages.yaml"

    local k=(kubectl --kubeconfig "$dir/kubeconfig")
    for i in $(seq 0 $((NODES - 1))); do
        cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    topology.kubernetes.io/zone: zone-$((i % 3))
    type: kwok
  annotations:
    kwok.x-k8s.io/node: fake
status:
  allocatable: {cpu: "32", memory: 64Gi, pods: "110"}
  capacity: {cpu: "32", memory: 64Gi, pods: "110"}
---
EOF
    done | "${k[@]}" apply -f - >/dev/null || die "creating the fake nodes"
    wait_for "nodes Ready" 60 "${k[@]}" wait --for=condition=Ready node --all --timeout=2s >/dev/null 2>&1
    # Pods need the default service account, which the controller-manager creates.
    wait_for "default service account" 60 "${k[@]}" get serviceaccount default -n default >/dev/null 2>&1
    log "started in $((SECONDS - t0))s: API https://127.0.0.1:$API_PORT, $NODES nodes; KUBECONFIG=$dir/kubeconfig"
}

stop() {
    if [ ! -f "$dir/pids" ]; then
        log "not running"
        rm -rf "$dir"
        return 0
    fi
    local name pid pids=()
    # Reverse start order: kwok and the controllers before the API server, etcd last.
    while read -r name pid; do pids=("$pid" "${pids[@]}"); done <"$dir/pids"
    for pid in "${pids[@]}"; do
        if alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.2; done
            alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$dir"
    log "stopped ${#pids[@]} processes and removed $dir"
}

status() {
    if [ ! -f "$dir/pids" ]; then
        echo "not running"
        return 1
    fi
    local name pid ok=0
    while read -r name pid; do
        if alive "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: NOT running (pid $pid)"; ok=1; fi
    done <"$dir/pids"
    if healthy; then echo "api: healthy (KUBECONFIG=$dir/kubeconfig)"; else echo "api: NOT healthy"; ok=1; fi
    return $ok
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export KUBECONFIG=$dir/kubeconfig" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
