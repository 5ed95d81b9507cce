#!/usr/bin/env bash
# Runs the app's `local` stack without AWS:  npm run local -- up|preview|refresh|destroy [pulumi flags]
# The cluster: $KUBECONFIG if set, else the stack's `kubeconfig` config, else the embedded cluster
# (started here, and stopped again after `destroy`). State and secrets: see scripts/pulumi-env.sh.
# Any other pulumi command runs on the same stack and environment: npm run local -- config set replicas 3,
# npm run --silent local -- stack output url.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source scripts/pulumi-env.sh
command -v pulumi >/dev/null || { echo "[local] no pulumi CLI: run npm run toolchain, or install Pulumi" >&2; exit 1; }
# The Kubernetes provider writes a copy of its kubeconfig (the cluster's client key included) into the temporary
# folder on every run and never removes it: a private folder of this project, emptied after each run.
export TMPDIR="$repo/.pulumi-state/tmp"
mkdir -p "$TMPDIR" && chmod 700 "$TMPDIR"
trap 'find "$TMPDIR" -mindepth 1 -delete 2>/dev/null || true' EXIT

action="${1:-}"
[ -n "$action" ] || { echo "usage: npm run local -- up|preview|refresh|destroy [pulumi flags], or any pulumi command" >&2; exit 2; }
shift

pulumi stack select local --create --secrets-provider passphrase >/dev/null
case "$action" in
    up | preview | refresh | destroy) ;;
    *) pulumi "$action" "$@"; exit ;;
esac

embedded=false
if [ -z "${KUBECONFIG:-}" ] && [ -z "$(pulumi config get kubeconfig 2>/dev/null || true)" ]; then
    embedded=true
    if [ "$action" != destroy ] || cluster/cluster.sh status >/dev/null 2>&1; then
        cluster/cluster.sh start
        export KUBECONFIG="${CLUSTER_DIR:-$repo/.cluster}/kubeconfig"
    fi
fi
echo "[local] cluster: ${KUBECONFIG:-$(pulumi config get kubeconfig 2>/dev/null || echo '(embedded cluster not running)')}" >&2

# Non-interactive runs (CI, no terminal) cannot answer pulumi's confirmation prompt.
yes=()
if [ "$action" != preview ] && { [ -n "${CI:-}" ] || [ ! -t 0 ]; }; then yes=(--yes); fi

if [ "$action" = destroy ] && [ "$embedded" = true ] && [ -z "${KUBECONFIG:-}" ]; then
    # Its data went with it (stop removes .cluster/), so nothing can be stranded: let the Kubernetes
    # provider drop the unreachable objects from the state (README: "The cluster is already gone").
    echo "[local] the embedded cluster is not running: destroying with PULUMI_K8S_DELETE_UNREACHABLE=true" >&2
    export PULUMI_K8S_DELETE_UNREACHABLE=true
fi
pulumi "$action" "${yes[@]}" "$@"
if [ "$action" = destroy ] && [ "$embedded" = true ]; then
    cluster/cluster.sh stop
fi
