#!/usr/bin/env bash
# End-to-end: a proxy-cache project in front of Distribution 2.8 (Debian docker-registry).
#   - registry endpoints: create (secret sealed, shown masked), ping, info, adapters; the least
#     privileged callers are refused;
#   - the first skopeo pull streams through, the second is served locally (upstream request
#     counts from Distribution's access log);
#   - with the upstream stopped, cached images pull with skopeo and crane; an uncached one fails
#     clearly;
#   - 20 concurrent GETs of one uncached 100 MiB layer make one upstream fetch;
#   - pushes into the proxy project are refused.
# Usage: tests/e2e/proxy.sh   (env: BERTH_BIN, E2E_KEEP_TMP)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in skopeo jq docker-registry crane; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

e2e_init
ADMIN="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"

# ---- the upstream: Distribution 2.8 with its access log ---------------------------------------
UP_PORT=$(e2e_free_port)
UP_HOST=127.0.0.1:$UP_PORT
UP_LOG=$E2E_TMP/upstream.log
cat >"$E2E_TMP/upstream.yml" <<YML
version: 0.1
log: { level: info, accesslog: { disabled: false } }
storage: { filesystem: { rootdirectory: $E2E_TMP/upstream-data }, delete: { enabled: true } }
http: { addr: $UP_HOST }
YML
UP_PID=""
upstream_start() {
    docker-registry serve "$E2E_TMP/upstream.yml" >>"$UP_LOG" 2>&1 &
    UP_PID=$!
    wait_http "http://$UP_HOST/v2/" 30 || die "Distribution did not start (log: $UP_LOG)"
}
upstream_stop() {
    [[ -n $UP_PID ]] || return 0
    kill "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
    UP_PID=""
}
trap 'upstream_stop; e2e_cleanup' EXIT
upstream_start
# Requests Distribution logged for PATH-PATTERN (a grep -E on the request line).
upstream_hits() { grep -cE "\"(GET|HEAD) $1" "$UP_LOG" || true; }
upstream_gets() { grep -cE "\"GET $1" "$UP_LOG" || true; }

python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layout" --tag v1 --big-mib 3 >"$E2E_TMP/layout.json"
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/big" --tag v1 --big-mib 100 --seed 99 >"$E2E_TMP/big.json"
SRC_MANIFEST=$(jq -r .manifest "$E2E_TMP/layout.json")
BIG_LAYER=$(jq -r '.layers[1]' "$E2E_TMP/big.json")
check "the test images go to Distribution" ok_cmd sk copy --dest-tls-verify=false \
    "oci:$E2E_TMP/layout:v1" "docker://$UP_HOST/lib/app:v1"
check "a second tag and a 100 MiB image go to Distribution" ok_cmd bash -c "
    $(declare -f sk) ; E2E_TMP=$E2E_TMP
    sk copy --dest-tls-verify=false oci:$E2E_TMP/layout:v1 docker://$UP_HOST/lib/app:uncached &&
    sk copy --dest-tls-verify=false oci:$E2E_TMP/big:v1 docker://$UP_HOST/lib/big:v1"

berth_start
berth_api POST /users '{"username":"dev","email":"dev@example.com","realname":"Dev","password":"Dev-Pass-123"}' >/dev/null

# ---- registry endpoints ------------------------------------------------------------------------
SECRET=never-shown-$RANDOM$RANDOM
check "an anonymous caller cannot list registries (401)" \
    assert_eq 401 "$(http_code_anon "$BERTH_URL/api/v2.0/registries")"
check "a plain user cannot list registries (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 "$BERTH_URL/api/v2.0/registries")"
check "a plain user cannot add a registry (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 -H 'Content-Type: application/json' \
        --data "{\"name\":\"x\",\"url\":\"http://$UP_HOST\",\"type\":\"docker-registry\"}" "$BERTH_URL/api/v2.0/registries")"
check "a bad url is a 400 that stores nothing" \
    assert_eq 400 "$(http_code -H 'Content-Type: application/json' \
        --data '{"name":"bad","url":"http://host/path","type":"docker-registry"}' "$BERTH_URL/api/v2.0/registries")"
check "an unknown type is a 400" \
    assert_eq 400 "$(http_code -H 'Content-Type: application/json' \
        --data "{\"name\":\"bad\",\"url\":\"http://$UP_HOST\",\"type\":\"quay-or-so\"}" "$BERTH_URL/api/v2.0/registries")"
check "the admin adds Distribution as a docker-registry endpoint with a credential" \
    ok_cmd berth_api POST /registries "{\"name\":\"dist\",\"url\":\"http://$UP_HOST\",\"type\":\"docker-registry\",
        \"credential\":{\"type\":\"basic\",\"access_key\":\"puller\",\"access_secret\":\"$SECRET\"}}"
REG_ID=$(berth_api GET '/registries?q=name%3Ddist' | jq -r '.[0].id')
shown=$(berth_api GET "/registries/$REG_ID")
check "the endpoint shows its secret masked, never in clear" \
    assert_eq '*****' "$(jq -r .credential.access_secret <<<"$shown")"
check "the API never answers the secret (list, get)" \
    assert_not_contains "$(berth_api GET /registries)$shown" "$SECRET"
check "the secret is sealed at rest (not in the database file)" \
    fails_cmd grep -rqa "$SECRET" "$BERTH_DATA"
check "the secret is not in the server log" fails_cmd grep -qa "$SECRET" "$BERTH_LOG"
check "ping by id: Distribution answers" ok_cmd berth_api POST /registries/ping "{\"id\":$REG_ID}"
check "the ping recorded the endpoint healthy" \
    assert_eq healthy "$(berth_api GET "/registries/$REG_ID" | jq -r .status)"
check "ping of a closed port is a 400 naming the cause" \
    assert_contains "$(BERTH_API_OK=400 berth_api POST /registries/ping "{\"url\":\"http://127.0.0.1:$(e2e_free_port)\",\"type\":\"docker-registry\"}")" "unavailable"
check "info lists the filters and triggers" \
    assert_eq '"name","tag"' "$(berth_api GET "/registries/$REG_ID/info" | jq -c '[.supported_resource_filters[].type]' | tr -d '[]')"
check "adapters: docker-hub, docker-registry, harbor" \
    assert_eq '["docker-hub","docker-registry","harbor"]' "$(berth_api GET /replication/adapters | jq -c .)"

# ---- the proxy-cache project -------------------------------------------------------------------
check "a plain user cannot create a proxy-cache project (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 -H 'Content-Type: application/json' \
        --data "{\"project_name\":\"hub2\",\"registry_id\":$REG_ID}" "$BERTH_URL/api/v2.0/projects")"
check "a proxy project on an unknown endpoint is a 400" \
    assert_eq 400 "$(http_code -H 'Content-Type: application/json' \
        --data '{"project_name":"hub3","registry_id":999}' "$BERTH_URL/api/v2.0/projects")"
check "the admin creates proxy-cache project hub on the endpoint" \
    ok_cmd berth_api POST /projects "{\"project_name\":\"hub\",\"registry_id\":$REG_ID,\"metadata\":{\"public\":\"false\"}}"
check "the project shows its registry_id" \
    assert_eq "$REG_ID" "$(berth_api GET /projects/hub | jq -r .registry_id)"
check "the endpoint cannot be deleted while the project uses it (412)" \
    assert_eq 412 "$(http_code -X DELETE "$BERTH_URL/api/v2.0/registries/$REG_ID")"

PROXY_REF=$BERTH_HOST/hub/lib/app
before=$(upstream_hits "/v2/lib/app/blobs/")
check "the first pull through the proxy (skopeo) gets the source manifest" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$ADMIN" "docker://$PROXY_REF:v1" "oci:$E2E_TMP/pulled1:v1"
check "the pulled manifest is the source's, byte for byte" \
    assert_same_file "$E2E_TMP/layout/blobs/sha256/${SRC_MANIFEST#sha256:}" "$E2E_TMP/pulled1/blobs/sha256/${SRC_MANIFEST#sha256:}"
first_blob_hits=$(($(upstream_hits "/v2/lib/app/blobs/") - before))
check "the first pull fetched each blob from upstream once (4 blobs)" assert_eq 4 "$first_blob_hits"
# The manifest is stored once its blobs are in (a background task); wait for it.
stored=""
for _ in $(seq 1 50); do
    stored=$(berth_api GET '/projects/hub/repositories/lib%252Fapp/artifacts' 2>/dev/null | jq -r '.[0].digest' 2>/dev/null || true)
    [[ $stored == "$SRC_MANIFEST" ]] && break
    sleep 0.2
done
check "the cache stored the artifact, tagged v1" assert_eq "$SRC_MANIFEST" "$stored"
before=$(upstream_hits "/v2/lib/app/blobs/")
manifest_gets=$(upstream_gets "/v2/lib/app/manifests/")
check "the second pull succeeds" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$ADMIN" "docker://$PROXY_REF:v1" "oci:$E2E_TMP/pulled2:v1"
check "the second pull fetched no blob upstream" assert_eq 0 "$(($(upstream_hits "/v2/lib/app/blobs/") - before))"
check "the second pull asked upstream only for the tag, by HEAD (no manifest GET)" \
    assert_eq 0 "$(($(upstream_gets "/v2/lib/app/manifests/") - manifest_gets))"
check "a push into the proxy project is refused" \
    fails_cmd sk copy --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$E2E_TMP/layout:v1" "docker://$PROXY_REF:pushed"

referrers=$(acurl -s -w '\n%{http_code}' "$BERTH_URL/v2/hub/lib/app/referrers/$SRC_MANIFEST")
check "the referrers API is proxied (Distribution 2.8 has none: its tag schema, an empty index)" \
    assert_eq "200 0" "${referrers##*$'\n'} $(jq '.manifests | length' <<<"${referrers%$'\n'*}")"
check "... asked of the upstream" \
    assert_contains "$(grep -E "lib/app/(referrers/|manifests/sha256-)" "$UP_LOG" | head -n 1)" "lib/app"

# ---- single flight -----------------------------------------------------------------------------
before=$(upstream_hits "/v2/lib/big/blobs/$BIG_LAYER")
pids=()
for i in $(seq 1 20); do
    acurl -s -o "$E2E_TMP/big-$i" -w '%{http_code}\n' --max-time 120 \
        "$BERTH_URL/v2/hub/lib/big/blobs/$BIG_LAYER" >"$E2E_TMP/big-$i.code" &
    pids+=($!)
done
wait "${pids[@]}" || true
ok20=0
for i in $(seq 1 20); do
    [[ $(cat "$E2E_TMP/big-$i.code") == 200 && $(sha256_of "$E2E_TMP/big-$i") == "$BIG_LAYER" ]] && ok20=$((ok20 + 1))
done
check "20 concurrent GETs of one uncached 100 MiB layer all get the right bytes" assert_eq 20 "$ok20"
((ok20 == 20)) || log "answers: $(cat "$E2E_TMP"/big-*.code | sort | uniq -c | tr '\n' ' ')"
check "... from exactly one upstream fetch" \
    assert_eq 1 "$(($(upstream_hits "/v2/lib/big/blobs/$BIG_LAYER") - before))"
rm -f "$E2E_TMP"/big-*

# ---- upstream gone -----------------------------------------------------------------------------
upstream_stop
check "with the upstream stopped, the cached image still pulls (skopeo)" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$ADMIN" "docker://$PROXY_REF:v1" "oci:$E2E_TMP/pulled3:v1"
check "... byte for byte" \
    assert_same_file "$E2E_TMP/layout/blobs/sha256/${SRC_MANIFEST#sha256:}" "$E2E_TMP/pulled3/blobs/sha256/${SRC_MANIFEST#sha256:}"
export DOCKER_CONFIG=$E2E_TMP/docker
crane auth login "$BERTH_HOST" -u "$BERTH_ADMIN_USER" -p "$BERTH_ADMIN_PASSWORD" >/dev/null 2>&1
check "... and with crane (pull to a tarball, the same manifest digest)" \
    assert_eq "$SRC_MANIFEST" "$(crane digest --insecure "$PROXY_REF:v1" 2>&1)"
check "... crane pulls every layer" ok_cmd crane pull --insecure "$PROXY_REF:v1" "$E2E_TMP/crane.tar"
uncached=$(acurl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' -w '\n%{http_code}' "$BERTH_URL/v2/hub/lib/app/manifests/uncached")
check "an uncached tag fails with 503 UNAVAILABLE naming the upstream" \
    assert_eq 503 "${uncached##*$'\n'}"
check "... in the OCI error envelope" assert_contains "$uncached" '"code":"UNAVAILABLE"'
check "with the upstream stopped, referrers answer from the cache (200)" \
    assert_eq 200 "$(http_code "$BERTH_URL/v2/hub/lib/app/referrers/$SRC_MANIFEST")"
check "the server log names no secret" fails_cmd grep -qa "$SECRET" "$BERTH_LOG"

e2e_summary proxy
