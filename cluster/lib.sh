# What the embedded cluster's parts share: its paths and settings, the list of its nodes, logging, kubectl,
# the admin and node kubeconfigs, and how its processes are launched, waited for, recognised and stopped.
#
# How cluster/ is sourced: each file sources, itself, the files whose functions or settings it uses, by
# their path next to its own (with a `# shellcheck source=` line, so shellcheck follows them), and each
# sourced file starts with a guard so that it runs once however many files source it. Dependencies go one
# way: lib.sh sources nothing of the cluster; control-plane.sh, host-state.sh, host-network.sh and
# load-balancer.sh source lib.sh; node.sh sources lib.sh, control-plane.sh and host-network.sh; nodes.sh
# sources node.sh and load-balancer.sh; the command, cluster.sh, sources them all and nothing sources it.
# shellcheck shell=bash
[ -z "${_cluster_lib_sh:-}" ] || return 0 # read once
_cluster_lib_sh=1

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${CLUSTER_DIR:-$repo/.cluster}" # the cluster's state (CLUSTER_DIR, default .cluster/)
bin="$repo/.toolchain/bin"           # its binaries (npm run toolchain)
TIMEOUT="${CLUSTER_START_TIMEOUT:-120}" # seconds per wait_for
export PATH="$bin:$PATH"
# shellcheck source=../toolchain/versions.sh
source "$repo/toolchain/versions.sh"
# Used by the parts, not in this file (shellcheck checks each file on its own, not the files that source it).
# shellcheck disable=SC2034
{
    NODES="${CLUSTER_NODES:-3}" # nodes at start (real or fake) unless --nodes says otherwise
    MAX_NODES=4                 # the tutorial's node group: 1 to 4 nodes
    nodes_dir=$dir/node         # the real nodes' files, a folder each (node.sh)
    host_dir=$dir/host          # the machine's state recorded before the first node started (host-state.sh)
    SERVICE_CIDR=10.96.0.0/16   # virtual: each node's kube-proxy routes it, nothing on the machine does
    BRIDGE=eks-nginx0           # the cluster's host-internal network on the machine: the nodes' switch
    HOST_IP=198.18.0.1          # the machine on it (RFC 2544's benchmarking range, routed on no real network)
    NODE_NET=198.18.0.0/24      # node k is 198.18.0.(10+k)
    POD_NET=198.19.0.0/16       # node k's pods are 198.19.k.0/24
}

# The nodes are listed in $dir/nodes, a "name number zone" line each (fake nodes too); a real node's number
# gives its addresses, and is never reused within a cluster (as a cloud never reuses an instance's name).
# node_names: the nodes' names, in the order they were added.
node_names() { awk '{ print $1 }' "$dir/nodes" 2>/dev/null || true; }
# node_count: how many nodes the cluster has (all must be Ready).
node_count() { awk 'END { print NR }' "$dir/nodes" 2>/dev/null || echo 0; }
# node_number NAME, node_zone NAME: that node's number and zone.
node_number() { awk -v n="$1" '$1 == n { print $2 }' "$dir/nodes" 2>/dev/null || true; }
node_zone() { awk -v n="$1" '$1 == n { print $3 }' "$dir/nodes" 2>/dev/null || true; }
# node_ip NAME: the node's address on the host-internal network; node_pods NAME: its pods' network.
node_ip() { echo "198.18.0.$((10 + $(node_number "$1")))"; }
node_pods() { echo "198.19.$(node_number "$1").0/24"; }

# log MESSAGE...: a progress line on stderr.
log() { printf '[cluster] %s\n' "$*" >&2; }
# die MESSAGE...: the failure on stderr, and exit 1 (an EXIT trap then undoes a half-done start).
die() { printf '[cluster] FAILED: %s\n' "$*" >&2; exit 1; }
# kc ARGS...: kubectl as admin; its discovery cache stays in the cluster's folder (not ~/.kube/cache).
kc() { kubectl --kubeconfig "$dir/kubeconfig" --cache-dir "$dir/kubectl-cache" --request-timeout=5s "$@"; }

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
# a zombie or has disappeared. Bash builtins only (npm run local checks every component before each pulumi
# command: with cat, tr and grep that was about 60 processes started).
alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local stat args=() cmd
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ] || return 1
    { mapfile -d '' args <"/proc/$1/cmdline"; } 2>/dev/null || return 1
    [ "${#args[@]}" -gt 0 ] || return 0
    printf -v cmd '%s ' "${args[@]}"
    [[ "$cmd" == *"$dir/"* ]]
}
# pid_of NAME: the PID recorded for component NAME in $dir/pids ("name pid" lines); nothing if none.
pid_of() {
    local name pid
    [ -f "$dir/pids" ] || return 0
    while read -r name pid _; do
        if [ "$name" = "$1" ]; then echo "$pid"; fi
    done <"$dir/pids"
}
# port_of NAME: the port picked for NAME at start, from $dir/ports ("name port" lines); nothing if none.
port_of() { awk -v n="$1" '$1 == n { print $2 }' "$dir/ports" 2>/dev/null || true; }

# launch NAME COMMAND...: runs it in its own session, output in logs/NAME.log (node-1/kubelet: node-1-kubelet.log),
# and records its PID. (setsid from a non-leader execs in place, so $! is the component's own PID.)
launch() {
    local name=$1
    shift
    setsid "$@" >>"$dir/logs/${name//\//-}.log" 2>&1 </dev/null &
    echo "$name $!" >>"$dir/pids"
}

# wait_for WHAT COMMAND...: retries COMMAND until it succeeds; fails after $TIMEOUT s or when a
# component has exited (showing the end of its log). While $WAIT_NODES names nodes (start_nodes sets it), the
# processes of the other nodes are not watched: a node that crashed before does not fail the start of another.
wait_for() {
    local what=$1 t0=$SECONDS name
    shift
    until "$@"; do
        while read -r name; do
            if [ -n "${WAIT_NODES:-}" ] && [[ $name == */* ]] && [[ " $WAIT_NODES " != *" ${name%%/*} "* ]]; then continue; fi
            alive "$(pid_of "$name")" || {
                tail -n 15 "$dir/logs/${name//\//-}.log" | sed 's/^/    /' >&2
                die "$name exited while waiting for $what (log: $dir/logs/${name//\//-}.log)"
            }
        done < <(awk '{ print $1 }' "$dir/pids")
        [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || die "$what not ready after ${TIMEOUT}s (logs: $dir/logs/)"
        sleep 0.3
    done
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

# write_kubeconfig FILE CERT_NAME [--images | --node]: a kubeconfig for the API server with the client
# certificate pki/CERT_NAME.crt. With --node it names the API server at $HOST_IP, where a node reaches it
# (load-balancer.sh forwards it to 127.0.0.1). With --images (the admin one) its cluster entry also carries
# the extension eks-nginx/images: the images this cluster holds (each node imports them at start and cannot
# pull from any registry), for programs to choose from, as minikube's cluster_info extension says what made a
# cluster; and, with real nodes ($dir/mode), eks-nginx/load-balancer: its load-balancer addresses answer on
# this machine (kwok's do not), so the program's readiness check may wait for the url over HTTP.
write_kubeconfig() {
    local file=$1 cert=$2 server=127.0.0.1 extensions=""
    [ "${3:-}" != --node ] || server=$HOST_IP
    [ "${3:-}" != --images ] || extensions="
    extensions:
    - name: eks-nginx/images
      extension:
        nginx: \"$NGINX_IMAGE\"
        httpd: \"$HTTPD_IMAGE\""
    if [ "${3:-}" = --images ] && [ "$(cat "$dir/mode" 2>/dev/null)" = real ]; then
        extensions="$extensions
    - name: eks-nginx/load-balancer
      extension:
        answers: this-machine"
    fi
    (
        umask 077
        cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: embedded
  cluster:
    server: https://$server:$(port_of kube-apiserver)
    certificate-authority-data: $(base64 -w0 <"$dir/pki/ca.crt")$extensions
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 <"$dir/pki/$cert.crt")
    client-key-data: $(base64 -w0 <"$dir/pki/$cert.key")
contexts:
- name: embedded
  context:
    cluster: embedded
    user: $cert
current-context: embedded
EOF
    )
}

# mountinfo_escape PATH: PATH as /proc/self/mountinfo writes it (space, tab, newline, backslash in octal).
mountinfo_escape() { sed 's/\\/\\134/g; s/ /\\040/g; s/\t/\\011/g' <<<"$1"; }

# unmount_under PATH: unmounts every mount below PATH, deepest first (lazily when busy), up to three rounds.
unmount_under() {
    local mounts prefix
    prefix=$(mountinfo_escape "$1/")
    for _ in 1 2 3; do
        mounts=$(awk -v d="$prefix" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
        [ -n "$mounts" ] || return 0
        while read -r m; do
            m=$(printf '%b' "$m")
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done <<<"$mounts"
    done
}
