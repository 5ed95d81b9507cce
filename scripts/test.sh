#!/usr/bin/env bash
# npm test [-- mocha arguments]: the unit suite (mocha with .mocharc.json: tests/**/*.test.ts, ts-node in
# transpile-only mode, Pulumi mocks), on a fresh clone too: Node.js >= 22 and node_modules first, each only
# when missing (scripts/lib.sh). `npm test -- --grep config` passes --grep config to mocha.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
log_prefix="test"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
use_node
use_deps
cd "$repo"
exec node_modules/.bin/mocha "$@"
