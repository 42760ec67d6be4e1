#!/usr/bin/env bash
# Run the official OCI distribution-spec conformance suite against a fresh `berth serve`.
#   tests/conformance.sh LABEL [OCI_VERSION] [USERNAME PASSWORD]
# BERTH_METADATA / BERTH_STORAGE select the backends (default: SQLite + filesystem in a temp
# data dir). The repositories live in project `conformance` (created first); the suite logs in
# as USERNAME/PASSWORD, by default the server's admin (tests/e2e/lib.sh: BERTH_ADMIN_PASSWORD),
# so its requests go through Berth's Bearer challenge and token service.
# Passes only with 0 failures and 0 errors; prints "conformance-LABEL: N passed, M failed".
# BERTH_CONFORMANCE_TLS=1 serves HTTPS instead: a throw-away CA and a certificate for
# 127.0.0.1 (lib.sh make_test_ca), `berth serve --tls-cert/--tls-key`, and the suite runs with
# OCI_TLS=enabled and SSL_CERT_FILE=the CA (Go's trust store: certificates are verified); the
# label gets a "-tls" suffix.
set -euo pipefail
source "$(dirname "$0")/e2e/lib.sh"
label=$1
version=${2:-1.1}
tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
suite=${CONFORMANCE_BIN:-$tools/bin/conformance}
[[ -x "$suite" ]] || die "conformance suite not found at $suite (run tests/setup.sh)"

e2e_init
oci_tls=disabled
tls_env=()
if [[ "${BERTH_CONFORMANCE_TLS:-0}" == 1 ]]; then
  certs=$(e2e_mktemp certs)
  make_test_ca "$certs" "Berth conformance CA"
  BERTH_TLS_CERT=$certs/server.crt BERTH_TLS_KEY=$certs/server.key BERTH_TLS_CA=$certs/ca.crt
  # Trust exactly that CA: SSL_CERT_FILE replaces Go's system bundle, and an empty
  # SSL_CERT_DIR keeps the system's certificate directories out.
  tls_env=(SSL_CERT_FILE="$BERTH_TLS_CA" SSL_CERT_DIR="$(e2e_mktemp no-certs)")
  oci_tls=enabled
  label=$label-tls
fi
berth_start
berth_project conformance || die "could not create project conformance"
results=$(e2e_mktemp results)
rc=0
(
  cd "$results"
  OCI_REGISTRY=$BERTH_HOST OCI_TLS=$oci_tls OCI_VERSION=$version \
  OCI_REPO1=conformance/distribution-test OCI_REPO2=conformance/crossmount-test \
  OCI_RESULTS_DIR=$results OCI_USERNAME=${3:-$BERTH_ADMIN_USER} OCI_PASSWORD=${4:-$BERTH_ADMIN_PASSWORD} \
  env "${tls_env[@]}" timeout 900 "$suite" >"$results/out.txt" 2>&1
) || rc=$?
junit=$results/junit.xml
count() { grep -o "$1=\"[0-9]*\"" "$junit" | head -1 | grep -o '[0-9]*'; }
tests=$(count tests || echo 0)
failures=$(count failures || echo 0)
errors=$(count errors || echo 0)
skipped=$(grep -c ': Skip$' "$results/out.txt" || true)
log "conformance $label ($BERTH_URL, OCI_VERSION=$version): $tests tests, $failures failures, $errors errors, $skipped skipped, exit $rc"
check "conformance suite exits 0" assert_eq 0 "$rc" "exit status"
check "conformance ran its tests" test "${tests:-0}" -gt 800
check "no failures" assert_eq 0 "$failures" failures
check "no errors" assert_eq 0 "$errors" errors
check "no skips" assert_eq 0 "$skipped" skips
if ((rc != 0)); then
  grep -E ': (FAIL|Error)' "$results/out.txt" | head -40 >&2 || true
fi
echo "conformance-$label ($version): $tests tests, $failures failures, $errors errors, $skipped skipped"
e2e_summary "conformance-$label-$version"
