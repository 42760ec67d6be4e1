#!/usr/bin/env bash
# Run every test: installs what is missing (tests/setup.sh), starts a throw-away PostgreSQL
# cluster and an S3-compatible server on loopback, then runs
#   1. cargo tests: unit tests, the backend suites on all five backends, HTTP tests;
#   2. the official OCI conformance suite against `berth serve` on SQLite + filesystem and on
#      PostgreSQL + S3, each with OCI_VERSION=1.1 and OCI_VERSION=dev;
#      and over TLS (a CA made in the test, verification on);
#   3. real clients with credentials (skopeo, podman, the oras Python SDK) on both
#      configurations, the RBAC matrix and the management API tests, quotas / GC / read-only
#      mode through skopeo, LDAP (slapd) and OIDC
#      sign-in, the kill -9 test, two nodes sharing PostgreSQL + S3, the `berth serve` contract,
#      and the embedding examples;
#   4. the Python and Node bindings (built from source, tested with pytest and node --test).
# Every step runs even when an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BERTH_TOOLS=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
export CARGO_TERM_COLOR=never
# A clean clone builds each crate once: incremental caches would only cost disk (gigabytes).
export CARGO_INCREMENTAL=0

bash tests/setup.sh || { echo "run: setup failed"; exit 1; }
export PATH=$BERTH_TOOLS/bin:$PATH
py=$BERTH_TOOLS/venv/bin/python

source tests/lib/services.sh
trap stop_services EXIT
start_postgres || { echo "run: PostgreSQL did not start"; exit 1; }
start_s3 || { echo "run: S3 server did not start"; exit 1; }
source tests/lib/ldap.sh
source tests/lib/oidc.sh
start_ldap || { echo "run: OpenLDAP did not start"; exit 1; }
start_oidc || { echo "run: OIDC provider did not start"; exit 1; }
export BERTH_TEST_REQUIRE_ALL=1
# Servers started by one step may share a PostgreSQL database: they share this secret key too,
# as the nodes of one deployment must (a test that wants another key sets its own).
BERTH_SECRET_KEY=$(openssl rand -hex 32)
export BERTH_SECRET_KEY

passed=0
failed=0
failures=()
step() {
  local name=$1 t0=$SECONDS
  shift
  echo
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
  echo "=== disk free: $(df -h --output=avail "$root" | tail -n 1 | tr -d ' ')"
}

# A PostgreSQL database and an S3 prefix of their own for each server run.
with_pg_s3() {
  BERTH_METADATA=$(new_pg_database) BERTH_STORAGE="${BERTH_TEST_S3_URL/berth\?/berth/run-$RANDOM$RANDOM?}" "$@"
}

step "format (cargo fmt --check)" cargo fmt --all --check
step "layering (tests/lint.sh)" bash tests/lint.sh
step "build" cargo build --locked
export BERTH_BIN=$root/target/debug/berth
step "clippy (-D warnings)" cargo clippy --locked --workspace --all-targets -- -D warnings
# Tests that need PostgreSQL, S3, LDAP or OIDC are #[ignore]d with the reason in a plain
# `cargo test`; here the services run, so every test runs.
step "cargo test (with the service tests)" cargo test --locked -- --include-ignored
step "conformance sqlite+fs 1.1" bash tests/conformance.sh sqlite-fs 1.1
step "conformance sqlite+fs dev" bash tests/conformance.sh sqlite-fs dev
step "conformance postgres+s3 1.1" with_pg_s3 bash tests/conformance.sh pg-s3 1.1
step "conformance postgres+s3 dev" with_pg_s3 bash tests/conformance.sh pg-s3 dev
step "conformance over TLS sqlite+fs 1.1" env BERTH_CONFORMANCE_TLS=1 bash tests/conformance.sh sqlite-fs 1.1
step "conformance over TLS postgres+s3 1.1" with_pg_s3 env BERTH_CONFORMANCE_TLS=1 bash tests/conformance.sh pg-s3 1.1
step "TLS: skopeo, podman, certificate reload" bash tests/e2e/tls.sh
step "security probes against berth serve (bodies, mounts, quota, throttle, secrets)" "$py" -m pytest -q tests/e2e/test_security.py
step "skopeo sqlite+fs" bash tests/e2e/skopeo.sh
step "skopeo postgres+s3" with_pg_s3 bash tests/e2e/skopeo.sh
step "oras sqlite+fs" "$py" -m pytest -q tests/e2e/test_oras.py
step "oras postgres+s3" with_pg_s3 "$py" -m pytest -q tests/e2e/test_oras.py
step "RBAC matrix sqlite+fs" "$py" -m pytest -q tests/e2e/test_rbac.py
step "RBAC matrix postgres+s3" with_pg_s3 "$py" -m pytest -q tests/e2e/test_rbac.py
step "management API sqlite+fs" "$py" -m pytest -q tests/e2e/test_api.py
step "management API postgres+s3" with_pg_s3 "$py" -m pytest -q tests/e2e/test_api.py
step "clients with credentials (skopeo, podman) sqlite+fs" bash tests/e2e/test_auth_clients.sh
step "clients with credentials (skopeo, podman) postgres+s3" with_pg_s3 bash tests/e2e/test_auth_clients.sh
step "signing: cosign sign/verify/attest/attach, accessories, content trust sqlite+fs" bash tests/e2e/signing.sh
step "signing: cosign, accessories, content trust postgres+s3" with_pg_s3 bash tests/e2e/signing.sh
step "proxy cache in front of Distribution 2.8: pull-through, single flight, upstream gone; registry endpoints" bash tests/e2e/proxy.sh
step "replication: push and pull with Distribution 2.8, v3 and a second Berth; filters, naming, signatures" bash tests/e2e/replication.sh
step "SBOM of a real Debian root filesystem (mmdebstrap) vs dpkg-query and Syft" bash tests/e2e/sbom.sh
step "SBOM of Python, Node, Rust, Go and rpm content vs pip, package.json files, Cargo.lock, go version -m, cargo metadata, rpm -qa and Syft" "$py" -m pytest -q tests/e2e/test_sbom_languages.py
step "pluggable scanner API v1.2 both ways: berth scanner serve registered in another Berth" bash tests/e2e/scanner_adapter.sh
step "governance: quota, GC, read-only with skopeo sqlite+fs" bash tests/e2e/test_governance.sh
step "governance: quota, GC, read-only with skopeo postgres+s3" with_pg_s3 bash tests/e2e/test_governance.sh
step "crash (kill -9 during upload)" bash tests/e2e/crash.sh
step "durability (fsync of file and directory, seen with strace)" bash tests/e2e/durability.sh
step "faults: a full disk under the filesystem store" bash tests/e2e/faults.sh full-disk
step "faults: PostgreSQL down during pushes" with_pg_s3 bash tests/e2e/faults.sh pg-restart
step "two nodes on one postgres+s3" with_pg_s3 bash tests/e2e/two_nodes.sh
step "scale-out: three nodes behind nginx (kill -9, schedules, GC under load)" with_pg_s3 bash tests/e2e/scale_out.sh
step "LDAP sign-in through berth serve (slapd)" "$py" -m pytest -q tests/e2e/test_ldap_login.py
step "OIDC sign-in through berth serve (OIDC provider)" "$py" -m pytest -q tests/e2e/test_oidc_login.py
step "berth serve contract (config, env, logs, metrics, SIGTERM)" bash tests/e2e/serve.sh
step "portal in headless Chromium (sign-in, projects, members, robots, GC, audit, Helm chart, zh, CSRF, OIDC code flow)" bash tests/e2e/portal.sh
# Every fuzz target for 60 s on its committed corpus (tests/fuzz.sh; fuzz/README.md). An
# unoptimized build (about 4 minutes cold on 2 cores, against 20 for the release build the long
# runs use), kept in the tools cache so later runs rebuild only what changed.
step "fuzz smoke (6 targets x 60 s)" env FUZZ_PROFILE=dev FUZZ_TARGET_DIR="$BERTH_TOOLS/fuzz-target" bash tests/fuzz.sh 60
step "embedding example" cargo run --locked -q -p berth-examples --bin embed
step "embedding the router in a host app" cargo run --locked -q -p berth-examples --bin embed_router
# The wheel and the addon are built in the dev profile, which the steps above compiled the tree
# in: one compilation of the workspace for the whole run (a user's `pip install ./registry-py` and
# `npm run build` stay optimized).
export BERTH_BINDINGS_PROFILE=dev
step "python bindings (pip install ./registry-py, pytest + oras, mypy, stubtest)" bash tests/bindings/python.sh
step "node bindings (npm install, build, node --test, tsc, example tool)" bash tests/bindings/node.sh

echo
if ((failed > 0)); then
  printf 'failed steps:\n'
  printf '  - %s\n' "${failures[@]}"
fi
echo "run: $passed passed, $failed failed"
((failed == 0))
