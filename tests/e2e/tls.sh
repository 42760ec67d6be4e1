#!/usr/bin/env bash
# Berth over HTTPS (`berth serve --tls-cert FILE --tls-key FILE`), every client verifying the
# server certificate against a throw-away CA made here with openssl (never -k or
# --tls-verify=false):
#   - curl: GET /v2/ as the admin with --cacert CA1 -> 200 (by IP and by the DNS name
#     localhost); without the CA the handshake fails verification; plain HTTP is not served;
#     the anonymous 401 names realm="https://HOST/service/token" (the host the client used),
#     over HTTP/1.1 and over HTTP/2; the token service hands the admin a token.
#   - skopeo: push an OCI layout with --dest-cert-dir (the CA as ca.crt) and --dest-creds,
#     inspect, pull it back with --src-cert-dir; same digest. Without the CA the push fails.
#   - podman (when installed; root, no daemon, storage under the temp root): login, push and
#     pull with --cert-dir; without it the login fails verification.
#   - reload: a certificate from a second CA (CA2) moved over the files is served within 10 s,
#     CA1 no longer verifies, the server kept its PID.
#   - broken pairs (a garbage key, then a key that does not match the certificate) are logged
#     ("do not load") and the CA2 certificate stays in service.
# Prints "tls: N passed, M failed[, K skipped]".
# Usage: tests/e2e/tls.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
command -v jq >/dev/null || die "jq is not installed"

e2e_init
T0=$SECONDS
SKIPPED=0
skip() {
    SKIPPED=$((SKIPPED + 1))
    printf 'skip %s\n' "$1"
}
fails_verify() { # the command must fail, and say why: the certificate is not trusted
    local out
    if out=$("$@" 2>&1); then
        printf '     command unexpectedly succeeded: %s\n%s\n' "$*" "$out" | sed 's/^/     /' >&2
        return 1
    fi
    if grep -qiE 'x509|certificate' <<<"$out"; then return 0; fi
    printf '     command failed, but not on the certificate: %s\n%s\n' "$*" "$out" | sed 's/^/     /' >&2
    return 1
}

# ---- certificates -----------------------------------------------------------------------------
CA1="$E2E_TMP/ca1"
CA2="$E2E_TMP/ca2"
make_test_ca "$CA1" "Berth e2e CA1"
make_test_ca "$CA2" "Berth e2e CA2"
# The files the server reads; replaced atomically (temp name + mv) in the reload checks.
TLS="$E2E_TMP/tls"
mkdir -p "$TLS"
cp "$CA1/server.crt" "$TLS/server.crt"
cp "$CA1/server.key" "$TLS/server.key"
# containers/image cert dirs: *.crt there are the roots it trusts (nothing else in them: a
# *.key there would be read as a client key).
CERTS1="$E2E_TMP/certs-ca1"
CERTS2="$E2E_TMP/certs-ca2"
mkdir -p "$CERTS1" "$CERTS2"
cp "$CA1/ca.crt" "$CERTS1/ca.crt"
cp "$CA2/ca.crt" "$CERTS2/ca.crt"

# lib.sh: serve HTTPS with these files; the helpers (acurl, http_code, berth_api) trust BERTH_TLS_CA.
BERTH_TLS_CERT="$TLS/server.crt"
BERTH_TLS_KEY="$TLS/server.key"
BERTH_TLS_CA="$CA1/ca.crt"
berth_start
START_PID=$BERTH_PID
ADMIN="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"

# curl_rc CAFILE|- URL [curl args...]: curl's exit status for GET URL as the admin, trusting
# only CAFILE (- = curl's default trust store). 0 = verified (any HTTP status), 60 = the peer
# certificate cannot be authenticated.
curl_rc() {
    local ca=$1 url=$2 rc=0
    shift 2
    local args=(-s -o /dev/null --max-time 10 -u "$ADMIN" "$@")
    if [[ "$ca" == - ]]; then
        env -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR curl "${args[@]}" "$url" || rc=$?
    else
        curl --cacert "$ca" "${args[@]}" "$url" || rc=$?
    fi
    echo "$rc"
}
# code_with CAFILE URL: HTTP status of GET URL as the admin, trusting CAFILE (000 on failure).
code_with() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$1" -u "$ADMIN" "$2" || true; }
# served_fp CAFILE: SHA-256 fingerprint of the certificate the server presents, read with a
# handshake that must verify against CAFILE (empty when it does not).
served_fp() {
    timeout 15 openssl s_client -connect "$BERTH_HOST" -CAfile "$1" -verify_return_error \
        -verify_ip 127.0.0.1 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null || true
}
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
# log_since OFFSET: the server log from byte OFFSET on.
log_size() { wc -c <"$BERTH_LOG"; }
log_since() { tail -c +$(($1 + 1)) "$BERTH_LOG"; }
# replace SRC DEST: copy SRC next to DEST under a temp name, then rename it over DEST (atomic).
replace() {
    cp "$1" "$2.new.$$"
    mv -f "$2.new.$$" "$2"
}
same_server() { # the server that started is the one answering, and it never restarted
    assert_eq "$START_PID" "$BERTH_PID" "server pid" && kill -0 "$START_PID" 2>/dev/null &&
        assert_eq 1 "$BERTH_STARTS" "server starts"
}

# ---- curl -------------------------------------------------------------------------------------
check "curl --cacert CA1: GET https://$BERTH_HOST/v2/ as the admin answers 200" \
    assert_eq 200 "$(code_with "$CA1/ca.crt" "$BERTH_URL/v2/")" "status"
check "curl without the CA fails certificate verification (exit 60)" \
    assert_eq 60 "$(curl_rc - "$BERTH_URL/v2/")" "curl exit status"
check "curl --cacert CA1 by DNS name (https://localhost:$BERTH_PORT, subjectAltName) answers 200" \
    assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CA1/ca.crt" -u "$ADMIN" \
        --resolve "localhost:$BERTH_PORT:127.0.0.1" "https://localhost:$BERTH_PORT/v2/" || true)" "status"
check "curl --cacert of another CA (CA2) fails verification (exit 60)" \
    assert_eq 60 "$(curl_rc "$CA2/ca.crt" "$BERTH_URL/v2/")" "curl exit status"
check "the server presents the CA1 certificate" \
    assert_eq "$(file_fp "$CA1/server.crt")" "$(served_fp "$CA1/ca.crt")" "fingerprint"
check "plain HTTP on the TLS port is not served" \
    assert_not_contains "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$BERTH_HOST/v2/" || true)" 200

challenge() { # challenge URL [curl args]: status and WWW-Authenticate of an anonymous GET
    curl -s -o /dev/null -D - --max-time 10 --cacert "$CA1/ca.crt" "${@:2}" "$1" | tr -d '\r' |
        grep -iE '^(HTTP/|www-authenticate:)' || true
}
# curl offers h2 and http/1.1 (ALPN) and the server speaks both: check the challenge on each
# (HTTP/2 has no Host header; the host is the request's :authority).
for proto in http1.1 http2; do
    hdr=$(challenge "$BERTH_URL/v2/" "--$proto")
    check "anonymous GET /v2/ over TLS ($proto) answers 401" assert_contains "$hdr" " 401"
    check "the 401 challenge ($proto) names realm=\"https://$BERTH_HOST/service/token\"" \
        assert_contains "$hdr" "realm=\"https://$BERTH_HOST/service/token\""
    hdr=$(challenge "https://localhost:$BERTH_PORT/v2/" "--$proto" --resolve "localhost:$BERTH_PORT:127.0.0.1")
    check "by DNS name ($proto) the realm is https://localhost:$BERTH_PORT/service/token" \
        assert_contains "$hdr" "realm=\"https://localhost:$BERTH_PORT/service/token\""
done
service=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$hdr")
check "the token service answers over TLS with a token for the admin" \
    assert_contains "$(acurl -s --max-time 10 "$BERTH_URL/service/token?service=$service&scope=registry:catalog:*" |
        jq -r '.token // .access_token // empty' 2>/dev/null | cut -c1-3)" "ey"

# ---- skopeo -----------------------------------------------------------------------------------
PROJECT=tls
berth_project "$PROJECT" || die "could not create project $PROJECT over HTTPS"
LAYOUT="$E2E_TMP/layout"
python3 "$E2E_DIR/make_layout.py" "$LAYOUT" --tag v1 --big-mib 1 >"$E2E_TMP/layout.json"
SRC_MANIFEST=$(jq -r .manifest "$E2E_TMP/layout.json")
digest_with() { # digest_with CERT_DIR REF: the digest skopeo inspect reports (verifying with CERT_DIR)
    sk inspect --cert-dir "$1" --creds "$ADMIN" "docker://$2" 2>/dev/null | jq -r .Digest 2>/dev/null || true
}
REF="$BERTH_HOST/$PROJECT/app"
check "skopeo: a push without the CA fails verification" \
    fails_verify sk copy --retry-times 0 --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/$PROJECT/untrusted:v1"
check "skopeo: pushes with --dest-cert-dir (CA1) and --dest-creds" \
    ok_cmd sk copy --dest-cert-dir "$CERTS1" --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$REF:v1"
check "skopeo: inspect with --cert-dir reports the source digest" \
    assert_eq "$SRC_MANIFEST" "$(digest_with "$CERTS1" "$REF:v1")" "digest"
check "skopeo: pulls it back with --src-cert-dir" \
    ok_cmd sk copy --src-cert-dir "$CERTS1" --src-creds "$ADMIN" "docker://$REF:v1" "oci:$E2E_TMP/pulled:v1"
check "skopeo: the pulled manifest has the source digest" \
    assert_eq "$SRC_MANIFEST" "$(jq -r '.manifests[0].digest' "$E2E_TMP/pulled/index.json" 2>/dev/null)" "digest"

# ---- podman -----------------------------------------------------------------------------------
PM="$E2E_TMP/podman"
mkdir -p "$PM"
export REGISTRY_AUTH_FILE="$PM/auth.json" # logins stay in the temp root
pm() {
    timeout --kill-after=10 300 podman --root "$PM/root" --runroot "$PM/run" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend file "$@"
}
podman_ready() { command -v podman >/dev/null && pm info >/dev/null 2>&1; }
if podman_ready; then
    PREF="$BERTH_HOST/$PROJECT/podman"
    check "podman: login without the CA fails verification" \
        fails_verify pm login -u "$BERTH_ADMIN_USER" -p "$BERTH_ADMIN_PASSWORD" "$BERTH_HOST"
    check "podman: login with --cert-dir (CA1)" \
        ok_cmd pm login --cert-dir "$CERTS1" -u "$BERTH_ADMIN_USER" -p "$BERTH_ADMIN_PASSWORD" "$BERTH_HOST"
    check "podman: the image goes into podman's store" \
        ok_cmd sk copy "oci:$LAYOUT:v1" "containers-storage:[vfs@$PM/root+$PM/run]localhost/e2e/app:v1"
    check "podman: tag for the registry" ok_cmd pm tag localhost/e2e/app:v1 "$PREF:v1"
    check "podman: push with --cert-dir" \
        ok_cmd pm push --cert-dir "$CERTS1" --digestfile "$PM/digest" "$PREF:v1"
    pushed=$(cat "$PM/digest" 2>/dev/null || true)
    check "podman: the registry serves the digest podman pushed" \
        assert_eq "$pushed" "$(digest_with "$CERTS1" "$PREF:v1")" "digest"
    check "podman: remove the local image" ok_cmd pm rmi -f "$PREF:v1" localhost/e2e/app:v1
    check "podman: pull with --cert-dir" ok_cmd pm pull --cert-dir "$CERTS1" "$PREF:v1"
    check "podman: the pulled image has the pushed digest" \
        assert_eq "$pushed" "$(pm image inspect --format '{{.Digest}}' "$PREF:v1" 2>/dev/null)" "digest"
    pm logout --all >/dev/null 2>&1 || true
    pm rmi -af >/dev/null 2>&1 || true
else
    skip "podman: not installed or cannot run here (apt-get install podman; runs as root with its own storage)"
fi

# ---- certificate reload -----------------------------------------------------------------------
# The server checks the files' mtime and size every ~2 s; a new pair is served without a restart.
replace "$CA2/server.key" "$TLS/server.key"
replace "$CA2/server.crt" "$TLS/server.crt"
t=$SECONDS
reloaded=no
while ((SECONDS - t <= 10)); do
    if [[ "$(curl_rc "$CA2/ca.crt" "$BERTH_URL/v2/")" == 0 ]]; then
        reloaded=yes
        break
    fi
    sleep 0.2
done
log "certificate from CA2 verified after $((SECONDS - t)) s (reloaded: $reloaded)"
check "reload: curl --cacert CA2 verifies within 10 s of the swap" assert_eq yes "$reloaded" "reloaded"
check "reload: curl --cacert CA2 answers 200" assert_eq 200 "$(code_with "$CA2/ca.crt" "$BERTH_URL/v2/")" "status"
check "reload: curl --cacert CA1 now fails verification (exit 60)" \
    assert_eq 60 "$(curl_rc "$CA1/ca.crt" "$BERTH_URL/v2/")" "curl exit status"
check "reload: the server presents the CA2 certificate" \
    assert_eq "$(file_fp "$CA2/server.crt")" "$(served_fp "$CA2/ca.crt")" "fingerprint"
check "reload: the server was not restarted (same pid $START_PID)" same_server
check "reload: the server log says the certificate was reloaded" \
    grep -q "certificate reloaded" "$BERTH_LOG"
BERTH_TLS_CA="$CA2/ca.crt" # the helpers trust CA2 from now on
check "reload: skopeo verifies with the CA2 cert dir and finds the image" \
    assert_eq "$SRC_MANIFEST" "$(digest_with "$CERTS2" "$REF:v1")" "digest"
check "reload: skopeo with the CA1 cert dir fails verification" \
    fails_verify sk inspect --retry-times 0 --cert-dir "$CERTS1" --creds "$ADMIN" "docker://$REF:v1"

# ---- broken pairs -----------------------------------------------------------------------------
CA2_FP=$(file_fp "$CA2/server.crt")
# broken_pair NAME KEYFILE: put KEYFILE in place of the key, wait 5 s (two reload periods), and
# check the CA2 certificate is still served and the log says the files do not load.
broken_pair() {
    local name=$1 key=$2 off
    off=$(log_size)
    replace "$key" "$TLS/server.key"
    sleep 5
    check "$name: curl --cacert CA2 still answers 200 after 5 s" \
        assert_eq 200 "$(code_with "$CA2/ca.crt" "$BERTH_URL/v2/")" "status"
    check "$name: the server still presents the CA2 certificate" assert_eq "$CA2_FP" "$(served_fp "$CA2/ca.crt")" "fingerprint"
    check "$name: the server log says the files do not load" \
        assert_contains "$(log_since "$off" | grep -i 'do not load' | head -3)" "do not load"
    check "$name: the server was not restarted" same_server
}
# restore_pair: put the CA2 key back; the watcher notices and loads the good pair again.
restore_pair() {
    local off t ok=no
    off=$(log_size)
    replace "$CA2/server.key" "$TLS/server.key"
    t=$SECONDS
    while ((SECONDS - t <= 10)); do
        if log_since "$off" | grep -q "certificate reloaded"; then
            ok=yes
            break
        fi
        sleep 0.2
    done
    check "$1: the good pair put back is loaded again within 10 s" assert_eq yes "$ok" "reloaded"
}

head -c 300 /dev/urandom | base64 >"$E2E_TMP/garbage.key"
broken_pair "garbage key" "$E2E_TMP/garbage.key"
restore_pair "garbage key"
# A valid key that belongs to another certificate (CA1's server key with the CA2 certificate).
broken_pair "mismatched key" "$CA1/server.key"
restore_pair "mismatched key"
check "after the broken pairs: curl --cacert CA2 answers 200" \
    assert_eq 200 "$(code_with "$CA2/ca.crt" "$BERTH_URL/v2/")" "status"
check "after the broken pairs: skopeo pulls with the CA2 cert dir" \
    ok_cmd sk copy --src-cert-dir "$CERTS2" --src-creds "$ADMIN" "docker://$REF:v1" "oci:$E2E_TMP/pulled2:v1"
check "the same server process served the whole run (pid $START_PID)" same_server

log "tls.sh took $((SECONDS - T0)) s"
e2e_summary tls "$SKIPPED"
