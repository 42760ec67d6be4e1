# shellcheck shell=bash
# Helpers for Berth's end-to-end tests. Source this file from a bash script that runs with
# `set -euo pipefail`; it does not change the caller's shell options.
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_init            # temp root + EXIT trap that stops servers and removes temp dirs
#   berth_start         # free loopback port, temp data dir, waits for GET /v2/ -> 200 (as admin)
#   ... use $BERTH_HOST (127.0.0.1:PORT), $BERTH_URL (http://127.0.0.1:PORT), $BERTH_DATA ...
#   ... and $BERTH_ADMIN_USER / $BERTH_ADMIN_PASSWORD (the server's `admin` account) ...
#   berth_project e2e   # create project e2e (private; `berth_project e2e public` for public)
#   berth_api GET /projects/e2e   # admin call to /api/v2.0, prints the body, fails on non-2xx
#   acurl -s "$BERTH_URL/v2/_catalog"          # curl as admin; http_code also runs as admin
#   berth_kill9; berth_start "$BERTH_DATA"   # crash and restart on the same data dir
#   check "description" command args...      # counts a check, never aborts the script
#   e2e_summary skopeo  # prints "skopeo: N passed, M failed", returns non-zero if M > 0
#
# Environment:
#   BERTH_BIN        the server binary (default: target/debug/berth under the repo root)
#   BERTH_METADATA   passed through to berth unchanged when set (e.g. postgres://…)
#   BERTH_STORAGE    passed through to berth unchanged when set (e.g. s3://…)
#   BERTH_ADMIN_PASSWORD  the admin password berth_start gives a new server (default
#                    E2e-Admin-Pass1); a server restarted on an old data dir keeps the first one
#   E2E_KEEP_TMP=1   keep the temp root (server logs, data dirs) after the run
#   E2E_READY_TIMEOUT  seconds to wait for the server to answer (default 30)
#   BERTH_TLS_CERT, BERTH_TLS_KEY  when both are set, berth_start serves HTTPS with them
#                    (--tls-cert/--tls-key): BERTH_SCHEME and BERTH_URL become https://…
#   BERTH_TLS_CA     the CA the helpers' curl calls trust (--cacert) when set; required with
#                    BERTH_TLS_CERT. Unset (the default), everything is plain HTTP as before.
#   make_test_ca DIR writes a throw-away CA and a server certificate for 127.0.0.1/localhost.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
BERTH_BIN=${BERTH_BIN:-$REPO_ROOT/target/debug/berth}
E2E_READY_TIMEOUT=${E2E_READY_TIMEOUT:-30}
# The account berth creates on its first start from BERTH_ADMIN_PASSWORD (berth_start passes it
# to the server). Not exported: scripts that start servers by hand choose what they pass.
BERTH_ADMIN_USER=admin
BERTH_ADMIN_PASSWORD=${BERTH_ADMIN_PASSWORD:-E2e-Admin-Pass1}

E2E_TMP=""
E2E_PASSED=0
E2E_FAILED=0
E2E_FAILURES=()
BERTH_PID=""
BERTH_PORT=""
BERTH_HOST=""
BERTH_URL=""
BERTH_SCHEME=http
BERTH_DATA=""
BERTH_LOG=""
BERTH_STARTS=0
BERTH_EXITED=""

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    printf '[e2e] FATAL: %s\n' "$*" >&2
    exit 1
}

# Create the temp root and install the cleanup trap. Call once, early.
e2e_init() {
    [[ -x "$BERTH_BIN" ]] || die "berth binary not found or not executable: $BERTH_BIN (build it with: cargo build -p registry-http, or set BERTH_BIN)"
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-e2e.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    log "temp root $E2E_TMP, server $BERTH_BIN"
    if [[ -n "${BERTH_METADATA:-}" ]]; then log "passing through BERTH_METADATA"; fi
    if [[ -n "${BERTH_STORAGE:-}" ]]; then log "passing through BERTH_STORAGE"; fi
}

e2e_cleanup() {
    local rc=$?
    berth_stop || true
    # Children this script started in the background (curl uploads, generators): by PID only.
    local p
    for p in $(jobs -p 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    if [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]]; then
        if [[ "${E2E_KEEP_TMP:-0}" == 1 ]]; then
            log "keeping $E2E_TMP"
        else
            rm -rf -- "$E2E_TMP"
        fi
    fi
    return "$rc"
}

# A new directory under the temp root.
e2e_mktemp() { mktemp -d "$E2E_TMP/${1:-d}.XXXXXX"; }

# Print a TCP port on 127.0.0.1 that is free right now (the kernel picks it).
e2e_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# curl that trusts $BERTH_TLS_CA when it is set (the helpers below all go through it); with
# BERTH_TLS_CA unset it is plain curl.
e2e_curl() {
    if [[ -n "${BERTH_TLS_CA:-}" ]]; then
        curl --cacert "$BERTH_TLS_CA" "$@"
    else
        curl "$@"
    fi
}

# make_test_ca DIR [NAME]: a throw-away CA (DIR/ca.crt, DIR/ca.key) and a server certificate
# it signs (DIR/server.crt, DIR/server.key) for IP 127.0.0.1 and DNS localhost (both in the
# subjectAltName), EC P-256, valid for 2 days. NAME goes into the CA's common name.
make_test_ca() {
    local dir=$1 name=${2:-Berth e2e test CA}
    command -v openssl >/dev/null || die "make_test_ca: openssl is not installed"
    mkdir -p "$dir"
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
        'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >"$dir/server.ext"
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 2 -subj "/CN=$name" \
            -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$dir/server.key" -out "$dir/server.csr" -subj /CN=localhost &&
            openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
                -set_serial "0x$(openssl rand -hex 12)" -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" &&
            openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt"
    } >"$dir/openssl.log" 2>&1 || {
        cat "$dir/openssl.log" >&2
        die "make_test_ca: openssl failed (log above)"
    }
}

# berth_start [DATA_DIR]
# Start berth in the background on a free loopback port, with DATA_DIR (default: a new temp
# dir). Sets BERTH_PID BERTH_PORT BERTH_HOST BERTH_URL BERTH_DATA BERTH_LOG. Waits until
# GET /v2/ answers 200 to the admin; on timeout or early exit, prints the server log and exits
# non-zero.
# With BERTH_TLS_CERT and BERTH_TLS_KEY set it serves HTTPS (BERTH_SCHEME=https, and
# BERTH_URL is https://…); the readiness check then trusts BERTH_TLS_CA.
# A restart on the same data dir gets a new port (the old one may linger in TIME_WAIT).
berth_start() {
    [[ -z "$BERTH_PID" ]] || die "berth_start: a server is already running (pid $BERTH_PID)"
    local tls=()
    BERTH_SCHEME=http
    if [[ -n "${BERTH_TLS_CERT:-}" || -n "${BERTH_TLS_KEY:-}" ]]; then
        [[ -n "${BERTH_TLS_CERT:-}" && -n "${BERTH_TLS_KEY:-}" ]] || die "berth_start: set both BERTH_TLS_CERT and BERTH_TLS_KEY"
        [[ -n "${BERTH_TLS_CA:-}" ]] || die "berth_start: BERTH_TLS_CERT is set but BERTH_TLS_CA (the CA clients trust) is not"
        tls=(--tls-cert "$BERTH_TLS_CERT" --tls-key "$BERTH_TLS_KEY")
        BERTH_SCHEME=https
    fi
    BERTH_DATA=${1:-$(e2e_mktemp data)}
    mkdir -p "$BERTH_DATA"
    local attempt
    BERTH_EXITED=""
    for attempt in 1 2 3; do
        BERTH_STARTS=$((BERTH_STARTS + 1))
        BERTH_PORT=$(e2e_free_port)
        BERTH_HOST="127.0.0.1:$BERTH_PORT"
        BERTH_URL="$BERTH_SCHEME://$BERTH_HOST"
        BERTH_LOG="$E2E_TMP/berth.$BERTH_STARTS.log"
        # BERTH_METADATA / BERTH_STORAGE stay in the environment and berth reads them itself.
        BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD "$BERTH_BIN" serve --listen "$BERTH_HOST" --data-dir "$BERTH_DATA" "${tls[@]}" >"$BERTH_LOG" 2>&1 &
        BERTH_PID=$!
        if berth_wait_ready; then
            log "berth pid $BERTH_PID listening on $BERTH_URL (data $BERTH_DATA, log $BERTH_LOG)"
            return 0
        fi
        if [[ -z "$BERTH_PID" ]] && grep -q "binding" "$BERTH_LOG" && ((attempt < 3)); then
            log "port $BERTH_PORT was taken before berth bound it; retrying on another port"
            continue
        fi
        break
    done
    echo "----- berth log ($BERTH_LOG) -----" >&2
    cat "$BERTH_LOG" >&2 || true
    echo "----- end of berth log -----" >&2
    berth_stop || true
    die "${BERTH_EXITED:-berth did not answer GET $BERTH_URL/v2/ with 200 within ${E2E_READY_TIMEOUT}s} (server log above)"
}

# Poll GET /v2/ (as admin) until 200, the server exits, or the timeout passes.
berth_wait_ready() {
    local deadline=$((SECONDS + E2E_READY_TIMEOUT)) code
    while ((SECONDS < deadline)); do
        if ! kill -0 "$BERTH_PID" 2>/dev/null; then
            local rc=0
            wait "$BERTH_PID" 2>/dev/null || rc=$?
            BERTH_EXITED="berth exited with status $rc before answering"
            log "$BERTH_EXITED"
            BERTH_PID=""
            return 1
        fi
        code=$(e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD" \
            "$BERTH_URL/v2/" || true)
        if [[ "$code" == 200 ]]; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Stop berth gracefully (SIGTERM, then SIGKILL after 10 s). No-op when none is running.
berth_stop() {
    [[ -n "$BERTH_PID" ]] || return 0
    local pid=$BERTH_PID i
    BERTH_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "berth pid $pid ignored SIGTERM for 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Crash berth: SIGKILL, and reap it.
berth_kill9() {
    [[ -n "$BERTH_PID" ]] || die "berth_kill9: no server running"
    local pid=$BERTH_PID
    BERTH_PID=""
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    log "killed berth pid $pid with SIGKILL"
}

# check DESCRIPTION COMMAND [ARGS...]: run the command, count a pass or a failure, and carry on.
check() {
    local desc=$1
    shift
    if "$@"; then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   %s\n' "$desc"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILURES+=("$desc")
        printf 'FAIL %s\n' "$desc"
    fi
}

# Assertion helpers for `check`; they print what differed on failure.
assert_eq() { # assert_eq EXPECTED ACTUAL [what]
    if [[ "$1" == "$2" ]]; then return 0; fi
    printf '     expected %s: %q\n     actual:   %q\n' "${3:-value}" "$1" "$2" >&2
    return 1
}
assert_contains() { # assert_contains HAYSTACK NEEDLE
    if [[ "$1" == *"$2"* ]]; then return 0; fi
    printf '     %q does not contain %q\n' "$1" "$2" >&2
    return 1
}
assert_not_contains() {
    if [[ "$1" != *"$2"* ]]; then return 0; fi
    printf '     %q unexpectedly contains %q\n' "$1" "$2" >&2
    return 1
}
assert_same_file() { # byte-for-byte
    if cmp -s -- "$1" "$2"; then return 0; fi
    printf '     files differ: %s vs %s\n' "$1" "$2" >&2
    return 1
}

# Bounded skopeo: no signature policy lookup, its own temp dir, SKOPEO_TIMEOUT (default 300) s.
sk() {
    timeout --kill-after=10 "${SKOPEO_TIMEOUT:-300}" skopeo --insecure-policy --tmpdir "$E2E_TMP" \
        --command-timeout "${SKOPEO_TIMEOUT:-300}s" "$@"
}
ok_cmd() { # ok_cmd CMD...: run it, show its output only when it fails
    local out
    if out=$("$@" 2>&1); then return 0; fi
    printf '     command failed: %s\n%s\n' "$*" "$out" | sed 's/^/     /' >&2
    return 1
}
fails_cmd() { # fails_cmd CMD...: the command must fail; show its output when it does not
    local out
    if ! out=$("$@" 2>&1); then return 0; fi
    printf '     command unexpectedly succeeded: %s\n%s\n' "$*" "$out" | sed 's/^/     /' >&2
    return 1
}

# sha256 of a file as "sha256:<hex>".
sha256_of() { printf 'sha256:%s' "$(sha256sum -- "$1" | cut -d' ' -f1)"; }

# curl with the admin's Basic credentials.
acurl() { e2e_curl -u "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD" "$@"; }

# HTTP status of a request made as the admin, e.g. http_code -I "$BERTH_URL/v2/…" (bounded by
# --max-time 60); http_code_anon makes it without credentials.
http_code() { e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 60 -u "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD" "$@"; }
http_code_anon() { e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$@"; }

# Wait until URL answers anything over HTTP (any status), at most SECONDS (default 30).
wait_http() { # wait_http URL [SECONDS]
    local deadline=$((SECONDS + ${2:-30})) code
    while ((SECONDS < deadline)); do
        code=$(e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
        [[ "$code" != 000 ]] && return 0
        sleep 0.2
    done
    return 1
}

# berth_api METHOD PATH [JSON]: call $BERTH_URL/api/v2.0PATH as the admin and print the body.
# Non-2xx answers print the status and body to stderr and return 1, unless BERTH_API_OK lists
# the status (e.g. BERTH_API_OK="409" berth_api POST /projects '{…}'). BERTH_API_AUTH=user:pw
# calls as someone else; BERTH_API_AUTH=- calls anonymously.
berth_api() {
    local method=$1 path=$2 body=${3:-} out code auth=()
    case "${BERTH_API_AUTH:-}" in
    "") auth=(-u "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD") ;;
    -) auth=() ;;
    *) auth=(-u "$BERTH_API_AUTH") ;;
    esac
    local args=(-s --max-time 60 -X "$method" "${auth[@]}" -w '\n%{http_code}')
    if [[ -n "$body" ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
    out=$(e2e_curl "${args[@]}" "$BERTH_URL/api/v2.0$path") || {
        echo "berth_api $method $path: curl failed" >&2
        return 1
    }
    code=${out##*$'\n'}
    out=${out%$'\n'*}
    [[ -n "$out" ]] && printf '%s\n' "$out"
    if [[ "$code" == 2?? || " ${BERTH_API_OK:-} " == *" $code "* ]]; then return 0; fi
    printf 'berth_api %s %s -> %s %s\n' "$method" "$path" "$code" "$out" >&2
    return 1
}

# berth_project NAME [public]: create the project unless it exists (as the admin).
berth_project() {
    local name=$1 public=false
    [[ "${2:-}" == public ]] && public=true
    if [[ "$(http_code -I "$BERTH_URL/api/v2.0/projects?project_name=$name")" == 200 ]]; then return 0; fi
    BERTH_API_OK=409 berth_api POST /projects \
        "{\"project_name\":\"$name\",\"metadata\":{\"public\":\"$public\"}}" >/dev/null
}

# e2e_summary NAME [SKIPPED]: print "NAME: N passed, M failed[, K skipped]"; non-zero if M > 0.
e2e_summary() {
    local name=$1
    if ((E2E_FAILED > 0)); then
        printf 'failed checks:\n' >&2
        printf '  - %s\n' "${E2E_FAILURES[@]}" >&2
        if [[ -n "$BERTH_LOG" && -f "$BERTH_LOG" ]]; then
            printf -- '----- last 40 lines of the server log (%s; E2E_KEEP_TMP=1 keeps it) -----\n' "$BERTH_LOG" >&2
            tail -n 40 "$BERTH_LOG" >&2
        fi
    fi
    if ((${2:-0} > 0)); then
        printf '%s: %d passed, %d failed, %d skipped\n' "$name" "$E2E_PASSED" "$E2E_FAILED" "$2"
    else
        printf '%s: %d passed, %d failed\n' "$name" "$E2E_PASSED" "$E2E_FAILED"
    fi
    ((E2E_FAILED == 0))
}
