#!/usr/bin/env bash
# Governance through a real server and a real client:
#   - quota: skopeo's push into a project whose limit is below the image size is refused, and
#     skopeo shows the registry's message (project, limit, usage); nothing is stored; after the
#     limit is raised with PUT /quotas/{id} the same push succeeds and usage is counted;
#   - garbage collection: the artifact is deleted, GC runs through Harbor's API
#     (POST /system/gc/schedule {"schedule":{"type":"Manual"}}) on the server's job workers,
#     its history and log show what it freed, the layer's bytes are gone and usage is back to 0;
#     `berth gc --dry-run` runs against the same data while the server is up;
#   - read-only mode: pushes fail with the read-only message, pulls work, then it is lifted.
# Prints "governance: N passed, M failed".
# Usage: tests/e2e/test_governance.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
command -v jq >/dev/null || die "jq is not installed"

e2e_init
# Unreferenced content may go one second after its last use (the default is two hours).
export BERTH_GC_GRACE_SECS=1
berth_start

ADMIN="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"
quiet() { # run a command, show its output only when it fails
    local out
    out=$("$@" 2>&1) && return 0
    printf '     command failed: %s\n%s\n' "$*" "$out" >&2
    return 1
}

LAYOUT="$E2E_TMP/layout"
python3 "$E2E_DIR/make_layout.py" "$LAYOUT" --tag v1 --big-mib 1 >"$E2E_TMP/layout.json"
BIG_LAYER=$(jq -r '.layers[1]' "$E2E_TMP/layout.json") # the 1 MiB one

# ---- quota ------------------------------------------------------------------------------------
berth_api POST /projects '{"project_name":"quota","storage_limit":500000}' >/dev/null || die "could not create project quota"
PID=$(berth_api GET /projects/quota | jq -r .project_id)
QUOTA=$(berth_api GET "/quotas?reference=project&reference_id=$PID")
QID=$(jq -r '.[0].id' <<<"$QUOTA")
check "quota: the API shows the limit given at creation" assert_eq 500000 "$(jq -r '.[0].hard.storage' <<<"$QUOTA")" "hard.storage"

REF="$BERTH_HOST/quota/app"
out=$(sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$REF:v1" 2>&1) && rc=0 || rc=$?
check "quota: skopeo's push over the limit fails" assert_eq 1 "$((rc != 0))" "failure"
check "quota: skopeo shows the registry's message" assert_contains "$out" "quota exceeded in project quota"
check "quota: the message names the limit" assert_contains "$out" "limit of 488.3 KiB"
check "quota: nothing was stored" assert_eq 404 "$(http_code "$BERTH_URL/v2/quota/app/manifests/v1")" "status"
check "quota: the big layer is not linked" assert_eq 404 "$(http_code -I "$BERTH_URL/v2/quota/app/blobs/$BIG_LAYER")" "status"

berth_api PUT "/quotas/$QID" '{"hard":{"storage":10485760}}' >/dev/null
check "quota: after raising the limit the push succeeds" \
    quiet sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$REF:v1"
USED=$(berth_api GET "/quotas/$QID" | jq -r .used.storage)
check "quota: usage counts the image (over 1 MiB)" assert_eq 1 "$((USED > 1048576))" "used > 1 MiB (used $USED)"

# ---- garbage collection -----------------------------------------------------------------------
check "gc: berth gc --dry-run runs beside the server" \
    bash -c "\"$BERTH_BIN\" gc --dry-run --data-dir \"$BERTH_DATA\" | grep -q 'dry run'"
berth_api DELETE /projects/quota/repositories/app/artifacts/v1 >/dev/null
sleep 1.5 # past the grace period
LOC=$(curl -s -D - -o /dev/null -u "$ADMIN" -H 'Content-Type: application/json' -X POST \
    --data '{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"workers":2}}' \
    "$BERTH_URL/api/v2.0/system/gc/schedule" | tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
GC_ID=${LOC##*/}
check "gc: a Manual schedule starts a run" assert_contains "$LOC" "/api/v2.0/system/gc/"
status=""
for _ in $(seq 1 100); do
    status=$(berth_api GET "/system/gc/$GC_ID" | jq -r .job_status)
    [[ "$status" == Success || "$status" == Error ]] && break
    sleep 0.2
done
check "gc: the run succeeds on the server's job workers" assert_eq Success "$status" "job_status"
LOG=$(acurl -s "$BERTH_URL/api/v2.0/system/gc/$GC_ID/log")
check "gc: the log says what it freed" assert_contains "$LOG" "freed"
check "gc: the history lists the run" assert_eq "$GC_ID" "$(berth_api GET /system/gc | jq -r '.[0].id')" "id"
check "gc: the layer's bytes are gone" assert_eq 404 "$(http_code -I "$BERTH_URL/v2/quota/app/blobs/$BIG_LAYER")" "status"
check "gc: the project's usage is back to 0" assert_eq 0 "$(berth_api GET "/quotas/$QID" | jq -r .used.storage)" "used"

# ---- read-only mode ---------------------------------------------------------------------------
berth_project ro || die "could not create project ro"
check "read-only: pushing works before" \
    quiet sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/ro/app:v1"
berth_api PUT /configurations '{"read_only":true}' >/dev/null
out=$(sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/ro/app:v2" 2>&1) && rc=0 || rc=$?
check "read-only: a push fails" assert_eq 1 "$((rc != 0))" "failure"
check "read-only: skopeo shows why" assert_contains "$out" "read-only"
check "read-only: pulls work" \
    quiet sk copy --src-tls-verify=false --src-creds "$ADMIN" "docker://$BERTH_HOST/ro/app:v1" "oci:$E2E_TMP/pulled:v1"
check "read-only: the API refuses changes" \
    assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' -u "$ADMIN" -X POST -H 'Content-Type: application/json' --data '{"project_name":"x"}' "$BERTH_URL/api/v2.0/projects")" "status"
berth_api PUT /configurations '{"read_only":false}' >/dev/null
check "read-only: lifted, pushing works again" \
    quiet sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/ro/app:v2"

e2e_summary governance
