# The machine's side of the real nodes' cluster: Debian's HAProxy, twice.
#   api-forward      the API server for the nodes: TCP from $HOST_IP (the bridge, where the nodes reach the
#                    machine) to kube-apiserver on 127.0.0.1, at the same port; a static configuration.
#   load-balancer    the LoadBalancer Services' load balancer (master and workers, reloaded without a gap),
#   lb-controller    and its controller (load-balancer.ts), which writes its configuration from the Services
#                    and Nodes: each Service port on the Service's address (127.96.x.y, the kwok stage's),
#                    forwarded to the nodes' NodePorts, each node health-checked on kube-proxy's /healthz.
# HAProxy's statistics (each server's state) are on 127.0.0.1, port load-balancer-stats of $dir/ports.
# shellcheck shell=bash
[ -z "${_cluster_load_balancer_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_load_balancer_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2034 # used by cluster.sh
lb_components=(api-forward load-balancer lb-controller) # the machine's processes of real nodes, in start order
lb_dir=$dir/load-balancer
# The controller, run by Node.js (which strips its types; the file's import statements make it an ES module,
# which package.json does not say, hence the warning it need not print); its arguments: init or run, and the
# cluster's folder.
LB_CONTROLLER=(node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON -e 'import(process.argv[1]).then((m) => m.main(process.argv.slice(2)))' "$repo/cluster/load-balancer.ts")

# start_api_forward: the API server on $HOST_IP, for the nodes (the bridge must be up).
start_api_forward() {
    local port
    port=$(port_of kube-apiserver)
    mkdir -p "$lb_dir"
    cat >"$lb_dir/api-forward.cfg" <<EOF
# The API server for the nodes: $HOST_IP:$port (the machine on the bridge) to 127.0.0.1:$port.
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    # Watches stay open for minutes without a byte.
    timeout client 1h
    timeout server 1h
frontend kube-apiserver
    bind $HOST_IP:$port
    default_backend kube-apiserver
backend kube-apiserver
    server kube-apiserver 127.0.0.1:$port
EOF
    launch api-forward haproxy -db -f "$lb_dir/api-forward.cfg"
    wait_for "the API server on $HOST_IP" curl -sk -o /dev/null -m 2 "https://$HOST_IP:$port/readyz"
}

# start_load_balancer: HAProxy on the configuration without Services, then the controller that keeps it current.
start_load_balancer() {
    mkdir -p "$lb_dir"
    "${LB_CONTROLLER[@]}" init "$dir/" ||
        die "writing the load balancer's first configuration (cluster/load-balancer.ts)"
    launch load-balancer haproxy -W -db -f "$lb_dir/haproxy.cfg" -S "$lb_dir/master.sock,mode,600"
    wait_for "the load balancer's statistics" lb_answers
    launch lb-controller "${LB_CONTROLLER[@]}" run "$dir/"
}

# lb_stats: HAProxy's statistics as CSV (one line per frontend, backend and server).
lb_stats() { curl -fsS -m 2 "http://127.0.0.1:$(port_of load-balancer-stats)/;csv" 2>/dev/null; }

# lb_answers: HAProxy's statistics page answers.
lb_answers() { lb_stats >/dev/null; }

# lb_servers: "backend server status" for every server of every Service's backend (status: UP, DOWN, ...).
lb_servers() {
    lb_stats | awk -F, '$1 !~ /^#/ && $2 != "FRONTEND" && $2 != "BACKEND" && $1 != "stats" { print $1, $2, $18 }'
}

# lb_server_down NAME: no backend sends new connections to node NAME (each reports it DOWN, or has none).
lb_server_down() {
    local servers
    servers=$(lb_servers) || return 1
    ! awk -v n="$1" '$2 == n && $3 !~ /^DOWN/ { found = 1 } END { exit !found }' <<<"$servers"
}

# lb_summary: one line per Service port: its backend and each node's state.
lb_summary() {
    lb_servers | awk '{ s[$1] = s[$1] " " $2 " " $3 } END { for (b in s) print "load balancer " b ":" s[b] }' | sort
}
