#!/usr/bin/env bash
# npm run test:e2e [scenario|readme|node-faults|nodes|hardening ...]: the tutorial's scenario checked over HTTP,
# README's commands as typed in a fresh clone (npm start, npm run local -- ...), the faults real pods make real,
# and node events (drains, a rollover, a crash, a scale-in) under counted traffic, on the embedded cluster's three
# real nodes; then the production-hardening suite (policy, faults, bad input, secrets, teardown) on kwok's fake
# nodes; all with the real Pulumi CLI. Each suite makes its own project copy and cluster. Needs the toolchain
# (npm run toolchain), node_modules and root (the real nodes).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
source scripts/pulumi-env.sh
for b in pulumi pulumi-language-nodejs pulumi-resource-kubernetes kubectl kube-apiserver kwok etcd kubelet kube-proxy; do
    [ -x ".toolchain/bin/$b" ] || { echo "[e2e] .toolchain/bin/$b missing: run npm run toolchain" >&2; exit 1; }
done
# The suites; the other files in tests/e2e are their helpers.
all=(scenario readme node-faults nodes hardening)
suites=()
for arg in "${@:-${all[@]}}"; do
    read -ra words <<<"$arg"
    for suite in "${words[@]}"; do
        [[ " ${all[*]} " == *" $suite "* ]] || { echo "[e2e] no suite $suite: the suites are ${all[*]}" >&2; exit 2; }
    done
    suites+=("${words[@]}")
done
failed=()
for suite in "${suites[@]}"; do
    t0=$SECONDS
    node -r ts-node/register/transpile-only "tests/e2e/$suite.ts" || failed+=("$suite")
    echo "[e2e] $suite: $((SECONDS - t0)) s"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "[e2e] FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "[e2e] all suites passed: ${suites[*]}"
