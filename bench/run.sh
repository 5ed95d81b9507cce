#!/usr/bin/env bash
# npm run bench [-- --quick] [--no-cluster]: see bench/bench.ts. Part 2 needs npm run toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pulumi-env.sh
exec node -r ts-node/register/transpile-only bench/bench.ts "$@"
