#!/usr/bin/env bash
# npm run test:aws [-- --help]: the tutorial's scenario (tests/e2e/tutorial.ts, the steps npm run test:e2e runs on
# the embedded cluster) on a new stack in AWS. Opt-in and never run by CI: it costs money, so it prints what it will
# create and asks first (--yes for unattended runs), and it destroys everything afterwards. See tests/aws/README.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
source toolchain/node.sh
[ -d node_modules ] || { echo "test:aws: node_modules missing: run npm ci first; nothing was created" >&2; exit 1; }
# The toolchain's CLI when built (npm run toolchain), as scripts/pulumi-env.sh uses it, except that pulumi may fetch
# the aws, eks and awsx plugins (the toolchain holds the kubernetes one only). The state backend and its passphrase
# are set up by the runner once the run is confirmed: nothing is written before that.
if [ -x .toolchain/bin/pulumi ]; then
    export PATH="$repo/.toolchain/bin:$PATH"
    export PULUMI_HOME="${PULUMI_HOME:-$repo/.toolchain/pulumi-home}"
    export PULUMI_IGNORE_AMBIENT_PLUGINS=true
fi
export PULUMI_SKIP_UPDATE_CHECK=true
exec node -r ts-node/register/transpile-only tests/aws/main.ts "$@"
