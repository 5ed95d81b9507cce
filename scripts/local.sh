#!/usr/bin/env bash
# Runs the app's `local` stack without AWS:  npm run local -- up|preview|refresh|destroy [pulumi flags]
# The cluster: the stack's `kubeconfig` config when set (npm run local -- config set kubeconfig ~/.kube/config),
# else the embedded cluster (started here, and stopped again after `destroy`). $KUBECONFIG is not used: a
# shell's ambient one is often a work cluster, so this stack deploys there only when named in its config.
# State and secrets: see scripts/pulumi-env.sh. Any other pulumi command runs on the same stack and
# environment: npm run local -- config set replicas 3, npm run --silent local -- stack output url.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
log_prefix=local
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
use_node
# shellcheck source=pulumi-env.sh
source scripts/pulumi-env.sh
command -v pulumi >/dev/null || fail "no pulumi CLI: run npm run toolchain, or install Pulumi"
# The Kubernetes provider writes a copy of its kubeconfig (the cluster's client key included) into the temporary
# folder on every run and never removes it: a private folder of this project, emptied after each run.
export TMPDIR="$repo/.pulumi-state/tmp"
mkdir -p "$TMPDIR" && chmod 700 "$TMPDIR"
trap 'find "$TMPDIR" -mindepth 1 -delete 2>/dev/null || true' EXIT

action="${1:-}"
[ -n "$action" ] || { echo "usage: npm run local -- up|preview|refresh|destroy [pulumi flags], or any pulumi command" >&2; exit 2; }
shift

# The program reads the stack's `kubeconfig` config, else $KUBECONFIG: set it to the embedded cluster's here,
# or drop it when the config names the cluster, for every command (`pulumi import`, `watch`, ... run the
# program too).
ambient="${KUBECONFIG:-}"
unset KUBECONFIG
# The stack is selected (made on first use) while its config is read: two CLI starts at once, about 0.17 s
# each. When the read fails (the stack did not exist yet, or anything else), it is read again once the
# stack is selected.
pulumi stack select local --create --secrets-provider passphrase >/dev/null &
select_pid=$!
read_ok=true
configured=$(pulumi config get kubeconfig --stack local 2>/dev/null) || read_ok=false
wait "$select_pid"
[ "$read_ok" = true ] || configured=$(pulumi config get kubeconfig 2>/dev/null || true)
embedded_kubeconfig="${CLUSTER_DIR:-$repo/.cluster}/kubeconfig"
[ -n "$configured" ] || export KUBECONFIG="$embedded_kubeconfig"
case "$action" in
    up | preview | refresh | destroy) ;;
    *) pulumi "$action" "$@"; exit ;;
esac
use_deps

embedded_running=false
if [ -n "$configured" ]; then
    say "cluster: $configured (the stack's kubeconfig config)"
else
    if [ "$action" != destroy ] || cluster/cluster.sh status >/dev/null 2>&1; then
        cluster/cluster.sh start --quiet
        embedded_running=true
        say "cluster: the embedded cluster ($KUBECONFIG)"
    else
        say "cluster: the embedded cluster (not running)"
    fi
fi
if [ -n "$ambient" ] && [ "$ambient" != "${KUBECONFIG:-$configured}" ]; then
    say "\$KUBECONFIG ($ambient) is not used; to deploy this stack there: npm run local -- config set kubeconfig $ambient"
fi

# Non-interactive runs (CI, no terminal) cannot answer pulumi's confirmation prompt.
yes=()
if [ "$action" != preview ] && { [ -n "${CI:-}" ] || [ ! -t 0 ]; }; then yes=(--yes); fi

if [ "$action" = destroy ] && [ -z "$configured" ] && [ "$embedded_running" = false ]; then
    # Its data went with it (stop removes .cluster/), so nothing can be stranded: let the Kubernetes
    # provider drop the unreachable objects from the state (README: "The cluster is already gone").
    say "the embedded cluster is not running: destroying with PULUMI_K8S_DELETE_UNREACHABLE=true"
    export PULUMI_K8S_DELETE_UNREACHABLE=true
fi
pulumi "$action" "${yes[@]}" "$@"
if [ "$action" = destroy ] && [ -z "$configured" ]; then
    cluster/cluster.sh stop
fi
