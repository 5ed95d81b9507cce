# The embedded cluster's control plane: certificates, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok, all on 127.0.0.1. kwok plays the cloud's load-balancer controller through
# cluster/stages/, and in `kwok` node mode also fakes the nodes and their pods.
# shellcheck shell=bash
[ -z "${_cluster_control_plane_sh:-}" ] || return 0 # read once (see lib.sh)
_cluster_control_plane_sh=1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICE_IP=10.96.0.1 # the kubernetes Service's ClusterIP: first address of SERVICE_CIDR (lib.sh)
stages="$repo/cluster/stages"

# gen_pki: a new CA and every certificate and key of the cluster in $dir/pki (openssl; log in logs/pki.log).
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
        local client="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
        local server="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        sign apiserver "/CN=kube-apiserver" "${server}subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        sign admin "/O=system:masters/CN=embedded-admin" "$client"
        # The API server's identity towards kubelets (logs, exec, port-forward).
        sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
        # The real node: kubelet's identity (the Node authorizer and NodeRestriction know it by this name),
        # its serving certificate (the API server dials it as localhost), and kube-proxy's identity.
        sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
        sign kubelet-serving "/CN=$NODE_NAME" "${server}subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        sign kube-proxy "/CN=system:kube-proxy" "$client"
        # The service-account token signing key pair.
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
        chmod 600 ./*.key
    ) >"$dir/logs/pki.log" 2>&1 || die "generating certificates with openssl (see $dir/logs/pki.log)"
}

# launch_apiserver: kube-apiserver on the ports and certificates of this instance (start, restart-apiserver).
# It reaches kubelets by their Hostname address first: the real node is named localhost and its kubelet
# listens on 127.0.0.1 only.
launch_apiserver() {
    local pki=$dir/pki
    launch kube-apiserver kube-apiserver --etcd-servers "http://127.0.0.1:$(port_of etcd)" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(port_of kube-apiserver)" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types Hostname,InternalIP \
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

# create_fake_nodes N: bare fake Nodes in 3 zones, no taints; kwok makes them Ready and keeps their leases.
# Their addresses are loopback ones (127.0.1.N): nothing real is behind them, and nothing off this machine.
create_fake_nodes() {
    local i
    for i in $(seq 1 "$1"); do
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
    done | kc create -f - >/dev/null || die "creating $1 fake nodes"
}
