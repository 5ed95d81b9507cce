#!/usr/bin/env bash
# Smoke test of the embedded cluster with kubectl only (no Pulumi): on a fresh cluster in a temporary
# CLUSTER_DIR, a Deployment (nginx:1.27, 1 replica, port 80, RollingUpdate 25%/25%) and a LoadBalancer
# Service (80->80) come up (rollout complete, pod Ready, EXTERNAL-IP 127.0.0.1), scale to 3, roll to
# httpd:2.4, a never-ready image leaves the rollout stuck with the old pods serving, everything is
# deleted, and stop leaves no process behind. Needs .toolchain/bin (toolchain/control-plane/build.sh).
# Prints `N passed, N failed` last; exits non-zero on any failure.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CLUSTER_DIR
CLUSTER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cluster-smoke.XXXXXX")/.cluster"
export PATH="$repo/.toolchain/bin:$PATH"
export KUBECONFIG="$CLUSTER_DIR/kubeconfig"
cluster="$repo/cluster/cluster.sh"
passed=0 failed=0
pids=""
check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   - $name"
    else
        failed=$((failed + 1))
        echo "FAIL - $name"
    fi
}
cleanup() {
    "$cluster" stop >/dev/null 2>&1 || true
    rm -rf "$(dirname "$CLUSTER_DIR")"
}
trap cleanup EXIT

manifest() { # manifest IMAGE
    cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  progressDeadlineSeconds: 15
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "$1", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
EOF
}
ready_pods() { kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true; }
images() { kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u | tr '\n' ' '; }
external_ip() { kubectl get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}'; }
wait_external_ip() { local _; for _ in $(seq 1 50); do [ "$(external_ip)" = 127.0.0.1 ] && return 0; sleep 0.2; done; return 1; }
no_cluster_process() { ! pgrep -f -- "$CLUSTER_DIR/" >/dev/null; }
# A recorded PID that still exists other than as a zombie (exited, not yet reaped by its new parent).
none_alive() {
    local p
    for p in $pids; do
        [ -r "/proc/$p/stat" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ] && return 1
    done
    return 0
}
no_pods() { local _; for _ in $(seq 1 50); do [ -z "$(kubectl get pods -l app=web -o name)" ] && return 0; sleep 0.2; done; return 1; }

t0=$SECONDS
"$cluster" start
echo "# cluster started in $((SECONDS - t0))s"
check "status exits 0 when healthy" "$cluster" status
check "start again is a no-op" "$cluster" start
pids=$(awk '{ print $2 }' "$CLUSTER_DIR/pids" | tr '\n' ' ')
check "5 processes recorded" test "$(wc -w <<<"$pids")" -eq 5

manifest nginx:1.27 | kubectl apply -f - >/dev/null
check "rollout nginx:1.27 x1 completes" kubectl rollout status deploy/web --timeout=60s
check "1 pod Ready" test "$(ready_pods)" -eq 1
check "Service gets EXTERNAL-IP 127.0.0.1" wait_external_ip
kubectl get svc web

kubectl scale deploy/web --replicas=3 >/dev/null
check "scale to 3 completes" kubectl rollout status deploy/web --timeout=60s
check "3 pods Ready" test "$(ready_pods)" -eq 3

kubectl set image deploy/web web=httpd:2.4 >/dev/null
check "rollout to httpd:2.4 completes" kubectl rollout status deploy/web --timeout=60s
check "only httpd:2.4 pods left (terminating pods deleted)" test "$(images)" = "httpd:2.4 "
check "3 pods Ready after the image change" test "$(ready_pods)" -eq 3

kubectl set image deploy/web web=registry.invalid/never-ready:1 >/dev/null
check "rollout to a never-ready image fails" bash -c '! kubectl rollout status deploy/web --timeout=40s'
check "old pods keep serving (3 Ready)" test "$(ready_pods)" -eq 3
check "the never-ready pod is Running, not Ready" test "$(kubectl get pods -l app=web -o jsonpath='{range .items[?(@.spec.containers[0].image=="registry.invalid/never-ready:1")]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}{end}')" = "Running/False"

manifest nginx:1.27 | kubectl delete -f - --wait=true --timeout=60s >/dev/null
check "everything deleted" no_pods

"$cluster" stop
check "no cluster process left after stop (pgrep)" no_cluster_process
check "none of the recorded PIDs alive" none_alive
check "status exits non-zero when stopped" bash -c "! '$cluster' status >/dev/null"
check "cluster data removed" test ! -e "$CLUSTER_DIR"
t0=$SECONDS
"$cluster" start
echo "# restarted in $((SECONDS - t0))s"
check "start works again after stop" "$cluster" status
"$cluster" stop

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
