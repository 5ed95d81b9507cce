#!/usr/bin/env bash
# npm run test:e2e: the tutorial's scenario with the real Pulumi CLI on the embedded control plane.
# Needs the toolchain (npm run toolchain) and node_modules (npm ci).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
source scripts/pulumi-env.sh
for b in pulumi pulumi-language-nodejs pulumi-resource-kubernetes kubectl kube-apiserver kwok etcd; do
    [ -x ".toolchain/bin/$b" ] || { echo "[e2e] .toolchain/bin/$b missing: run npm run toolchain" >&2; exit 1; }
done
exec node -r ts-node/register/transpile-only tests/e2e/scenario.ts
