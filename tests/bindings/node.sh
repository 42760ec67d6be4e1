#!/usr/bin/env bash
# Build and test the Node package from the repository as a user would:
#   cd registry-node && npm install && npm run build (release) && npm test (node --test),
#   then a TypeScript check of the generated index.d.ts, and the example tool
#   examples/node/repo-report.mjs against a served registry.
# Exit status is non-zero on any failure. Needs node >= 20, npm and cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}   # reuse compiled dependencies
export CARGO_TERM_COLOR=never
cd "$root/registry-node"

t0=$SECONDS
npm install --no-audit --no-fund --loglevel=error
echo "node.sh: npm install took $((SECONDS - t0)) s"
t1=$SECONDS
# BERTH_BINDINGS_PROFILE=dev (tests/run.sh) builds the addon in the profile the rest of the test
# run compiled the tree in, instead of compiling it all again optimized.
if [[ ${BERTH_BINDINGS_PROFILE:-release} == dev ]]; then npm run build:debug; else npm run build; fi
echo "node.sh: npm run build (${BERTH_BINDINGS_PROFILE:-release}) took $((SECONDS - t1)) s"
npm test
npm run --silent typecheck
node "$root/examples/node/repo-report.mjs"
echo "node.sh: ok ($((SECONDS - t0)) s)"
