#!/usr/bin/env bash
# npm start: the app running on the embedded cluster, from a fresh clone with nothing before it (Linux; as
# root the cluster's real nodes serve the page, else fake nodes only pretend to run it). Four steps, each
# doing only what is missing, so a second run on a running app takes seconds and prints the same URL:
#   1. Node.js >= 22 and node_modules (scripts/lib.sh)
#   2. npm run toolchain: Pulumi CLI, its plugins, the cluster's binaries and images (toolchain/README.md:
#      cached per version; a cold build takes many minutes and prints its progress)
#   3. npm run local -- up --yes: the embedded cluster, the `local` stack, pulumi up (scripts/local.sh)
#   4. the stack's url, fetched: what it serves
# The stack's `kubeconfig` config, when set, names another cluster for steps 3 and 4 (scripts/local.sh).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
log_prefix=start
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
# shellcheck source=../toolchain/versions.sh
source toolchain/versions.sh
t_start=$SECONDS
steps=4
current=""

# step N TITLE RETRY: announces step N of the run; a failure from here on names it and RETRY, the command
# that runs this step alone.
step() {
    current="step $1/$steps ($2)"
    retry=$3
    say "$current"
    t_step=$SECONDS
}
# done_step: the current step's time.
done_step() { say "$current: done in $((SECONDS - t_step))s"; }
# on_exit: after a failure, which step failed and how to retry.
on_exit() {
    local rc=$?
    [ "$rc" -eq 0 ] || [ -z "$current" ] ||
        say "FAILED at $current: see the messages above. Retry this step alone with \`$retry\`, or run npm start again (finished steps take seconds)."
}
trap on_exit EXIT

step 1 "Node.js >= 22 and node_modules" "npm ci"
use_node
use_deps
say "node $(node --version), node_modules current"
done_step

step 2 "toolchain: npm run toolchain" "npm run toolchain"
bash toolchain/install.sh
done_step

step 3 "the app: npm run local -- up" "npm run local -- up"
# --yes: nothing to confirm in a command whose whole point is to bring the app up.
bash scripts/local.sh up --yes
done_step

step 4 "what the app serves" "curl \"\$(npm run --silent local -- stack output url)\""
# What was deployed, from the state local.sh just wrote (pulumi itself, in the same environment): the stack's
# url, and the Deployment's image and replicas as Kubernetes reported them (the image may come from the
# stack's config or from the cluster's defaults).
# shellcheck source=pulumi-env.sh
source scripts/pulumi-env.sh
read -r url image ready replicas <<<"$(pulumi stack export --stack local | node -e '
    const resources = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment.resources ?? [];
    const outputs = (type) => resources.find((r) => r.type === type)?.outputs ?? {};
    const app = outputs("kubernetes:apps/v1:Deployment");
    console.log(outputs("pulumi:pulumi:Stack").url ?? "", app.spec?.template?.spec?.containers?.[0]?.image ?? "?",
        app.status?.readyReplicas ?? 0, app.spec?.replicas ?? "?");')"
[ -n "$url" ] || fail "the stack has no url output"
# The load balancer's address answers once kube-proxy has written its rules, usually at once: allow 30 s.
page=""
for _ in $(seq 30); do
    page=$(curl -fsS --max-time 5 "$url" 2>/dev/null) && break
    page=""
    sleep 1
done
if [ -z "$page" ]; then
    if [ "$(cat "${CLUSTER_DIR:-$repo/.cluster}/mode" 2>/dev/null)" = kwok ]; then
        fail "$url does not answer: the cluster runs fake kwok nodes (pods only pretend to run; real nodes need root, see npm run cluster -- start)"
    fi
    fail "$url does not answer (curl $url)"
fi
# What a reader of the page sees first: its <title>, else its text without the tags.
what=$(tr '\n' ' ' <<<"$page" | sed -n 's:.*<title>\([^<]*\)</title>.*:\1:p')
[ -n "$what" ] || what=$(tr '\n' ' ' <<<"$page" | sed 's/<[^>]*>//g; s/  */ /g; s/^ //; s/ $//' | cut -c1-80)
done_step
current=""

say "ready in $((SECONDS - t_start))s: $url serves \"$what\" ($image, $ready of $replicas pods ready)"
say "next: curl $url; scale: npm run local -- config set replicas 3 && npm run local -- up; swap: npm run local -- config set image $HTTPD_IMAGE && npm run local -- up; stop it all: npm run local -- destroy"
