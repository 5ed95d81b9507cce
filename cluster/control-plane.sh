# The embedded cluster's control plane: certificates, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok, all on 127.0.0.1. kwok gives each LoadBalancer Service its address and finalizer
# through cluster/stages/ (load-balancer.sh answers there on real nodes), and in `kwok` node mode also fakes
# the nodes and their pods.
# shellcheck shell=bash
[ -z "${_cluster_control_plane_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_control_plane_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICE_IP=10.96.0.1 # the kubernetes Service's ClusterIP: first address of SERVICE_CIDR (lib.sh)
stages="$repo/cluster/stages"

# sign_cert NAME SUBJECT EXTENSIONS: pki/NAME.key and pki/NAME.crt signed by the cluster's CA (openssl; run in pki/).
sign_cert() {
    openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf '%b' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 -extfile "$1.ext" -out "$1.crt"
    rm -f "$1.csr" "$1.ext"
    chmod 600 "$1.key"
}
CLIENT_CERT="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
SERVER_CERT="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"

# gen_pki: a new CA and the cluster's certificates and keys in $dir/pki (openssl; log in logs/pki.log). The
# nodes' own come with each node (sign_node_certs).
gen_pki() {
    local pki=$dir/pki
    mkdir -p "$pki"
    (
        set -e
        cd "$pki"
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 365 -subj "/CN=embedded-cluster-ca" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.crt
        # The nodes reach the API server at $HOST_IP (load-balancer.sh forwards it to 127.0.0.1).
        sign_cert apiserver "/CN=kube-apiserver" "${SERVER_CERT}subjectAltName=IP:127.0.0.1,IP:$HOST_IP,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        sign_cert admin "/O=system:masters/CN=embedded-admin" "$CLIENT_CERT"
        # The API server's identity towards kubelets (logs, exec, port-forward).
        sign_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$CLIENT_CERT"
        # kube-proxy's identity, the same on every node.
        sign_cert kube-proxy "/CN=system:kube-proxy" "$CLIENT_CERT"
        # The service-account token signing key pair.
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
        chmod 600 ./*.key
    ) >"$dir/logs/pki.log" 2>&1 || die "generating certificates with openssl (see $dir/logs/pki.log)"
}

# sign_node_certs NAME IP: node NAME's kubelet identity (pki/NAME-kubelet: the Node authorizer and
# NodeRestriction know it by its name) and its serving certificate for its address (pki/NAME-serving: the
# API server dials the kubelet there).
sign_node_certs() {
    (
        set -e
        cd "$dir/pki"
        sign_cert "$1-kubelet" "/O=system:nodes/CN=system:node:$1" "$CLIENT_CERT"
        sign_cert "$1-serving" "/CN=$1" "${SERVER_CERT}subjectAltName=DNS:$1,IP:$2\n"
    ) >>"$dir/logs/pki.log" 2>&1 || die "signing the certificates of node $1 (see $dir/logs/pki.log)"
}

# launch_apiserver: kube-apiserver on the ports and certificates of this instance (start, restart-apiserver).
# It reaches each kubelet at its node's address (InternalIP). With real nodes it advertises $HOST_IP, where
# the nodes reach it, so that the kubernetes Service works from pods too.
launch_apiserver() {
    local pki=$dir/pki advertise=127.0.0.1
    [ "$(cat "$dir/mode" 2>/dev/null)" != real ] || advertise=$HOST_IP
    launch kube-apiserver kube-apiserver --etcd-servers "http://127.0.0.1:$(port_of etcd)" \
        --bind-address 127.0.0.1 --advertise-address "$advertise" --secure-port "$(port_of kube-apiserver)" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true --profiling=false
}

# api_ready: kube-apiserver answers ready (/readyz) to the admin kubeconfig.
api_ready() { [ -f "$dir/kubeconfig" ] && kc get --raw /readyz >/dev/null 2>&1; }
# sa_ready: the default namespace's ServiceAccount exists (pods are admitted from then on).
sa_ready() { kc get serviceaccount default -n default -o name >/dev/null 2>&1; }

# start_control_plane: etcd, kube-apiserver (waits until ready), controller-manager, scheduler, kwok, with the
# certificates and data in $dir (new, or kept from before a crash).
start_control_plane() {
    local t0=$SECONDS
    local pki=$dir/pki kubeconfig=$dir/kubeconfig

    launch etcd etcd --name embedded --data-dir "$dir/etcd" --unsafe-no-fsync \
        --listen-client-urls "http://127.0.0.1:$(port_of etcd)" --advertise-client-urls "http://127.0.0.1:$(port_of etcd)" \
        --listen-peer-urls "http://127.0.0.1:$(port_of etcd-peer)" --initial-advertise-peer-urls "http://127.0.0.1:$(port_of etcd-peer)" \
        --initial-cluster "embedded=http://127.0.0.1:$(port_of etcd-peer)" --log-level warn
    launch_apiserver
    wait_for "kube-apiserver /readyz" api_ready
    log "kube-apiserver ready on https://127.0.0.1:$(port_of kube-apiserver) ($((SECONDS - t0))s)"

    launch kube-controller-manager kube-controller-manager --kubeconfig "$kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$(port_of kube-controller-manager)" --leader-elect=false \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --use-service-account-credentials=false --controllers '*' --profiling=false
    launch kube-scheduler kube-scheduler --kubeconfig "$kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$(port_of kube-scheduler)" --leader-elect=false --profiling=false
    # kwok manages only the fake nodes (annotated below), never a real one; its Service stages apply to all.
    local stage_files
    stage_files=$(printf '%s,' "$stages"/*.yaml)
    launch kwok kwok --kubeconfig "$kubeconfig" --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
        --node-lease-duration-seconds 40 --cidr 10.244.0.0/16 --server-address "127.0.0.1:$(port_of kwok)" \
        --config "${stage_files%,}"
}

# create_fake_nodes: the bare fake Nodes $dir/nodes lists, each in its zone, no taints; kwok makes them Ready
# and keeps their leases. Their addresses are loopback ones (127.0.1.N): nothing real is behind them, and
# nothing off this machine.
create_fake_nodes() {
    local name number zone
    while read -r name number zone; do
        cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $name
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: $zone
    type: kwok
  annotations:
    kwok.x-k8s.io/node: fake
status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110"}
  capacity: {cpu: "16", memory: 64Gi, pods: "110"}
  addresses:
  - {type: InternalIP, address: 127.0.1.$number}
  - {type: Hostname, address: $name}
---
EOF
    done <"$dir/nodes" | kc create -f - >/dev/null || die "creating $(node_count) fake nodes"
}
