# Shared by scripts/start.sh, scripts/test.sh and scripts/local.sh, sourced the one way they all do:
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets $repo (the project folder) and defines the steps they share: Node.js >= 22 first on PATH, and
# node_modules as package-lock.json pins it. Set $log_prefix before sourcing it to name the messages.
# shellcheck shell=bash source-path=SCRIPTDIR
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log_prefix="${log_prefix:-eks-nginx}"

# say MESSAGE...: one line on stderr, [prefix] first.
say() { printf '[%s] %s\n' "$log_prefix" "$*" >&2; }

# fail MESSAGE...: says MESSAGE as a failure and exits 1.
fail() { say "FAILED: $*"; exit 1; }

# use_node: puts Node.js >= 22 first on PATH; toolchain/node.sh installs Node 24 from the npm registry into
# .toolchain/node when the machine's is older.
use_node() {
    # shellcheck source=../toolchain/node.sh
    source "$repo/toolchain/node.sh" || fail "Node.js >= 22 (toolchain/node.sh)"
}

# use_deps: runs `npm ci` when node_modules is missing or is not what package-lock.json pins
# (scripts/deps.js says why), and does nothing when it is: a second run, or CI's `npm ci` just before.
use_deps() {
    local why
    why=$(node "$repo/scripts/deps.js" "$repo") && return 0
    # npm ci empties node_modules first: through a link, that would be another checkout's.
    [ ! -L "$repo/node_modules" ] || fail "$why, and node_modules is a link to $(readlink "$repo/node_modules"): run npm ci there, or remove the link"
    say "$why: npm ci"
    (cd "$repo" && npm ci --no-audit --no-fund) || fail "npm ci (see npm's messages above; retry with npm ci)"
}
