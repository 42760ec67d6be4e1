#!/usr/bin/env bash
# End-to-end crash test: `kill -9` of the server in the middle of blob uploads must leave no
# visible partial blob after a restart on the same data dir, and the same blobs must upload
# cleanly afterwards.
#
#   A. chunked upload: POST -> PATCH 1 MiB (committed) -> PATCH streaming the remaining
#      ~199 MiB at a limited rate; kill -9 while that PATCH is in flight.
#   B. monolithic upload: POST ?digest= streaming 100 MiB at a limited rate; kill -9 mid-body.
#
# After each restart: HEAD/GET of the interrupted digests are 404, no file named after them
# exists under the blob store's blobs/, the catalog and tag list hold only what was pushed
# before the crash, the chunked session reports its last committed offset (1 MiB) or is
# unknown (404), never a finished blob. Then A is resumed (or redone) and B re-uploaded, and
# GET returns bytes whose sha256 matches.
#
# Every request is made as the admin (Basic auth).
#
# Usage: tests/e2e/crash.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP,
#        CRASH_BIG_MIB=200, CRASH_MONO_MIB=100, CRASH_RATE=10M)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in curl jq python3 sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

BIG_MIB=${CRASH_BIG_MIB:-200}
MONO_MIB=${CRASH_MONO_MIB:-100}
RATE=${CRASH_RATE:-10M} # curl --limit-rate while streaming the interrupted bodies
MIB=$((1024 * 1024))
BIG=$((BIG_MIB * MIB))
MONO=$((MONO_MIB * MIB))
FIRST=$MIB # the chunk of upload A that completes before the crash
KILL_AFTER=$((16 * MIB)) # kill once the server has staged at least this much of a body
REPO=e2e/crash
SKIPPED=0

# Deterministic pseudo-random bytes: gen SIZE SEED [SKIP] writes bytes SKIP..SIZE-1 of the
# stream for SEED to stdout (1 MiB blocks from random.Random(SEED), so any SKIP gives a suffix
# of the same stream).
GEN_PY='
import os, random, sys
size, seed = int(sys.argv[1]), int(sys.argv[2])
skip = int(sys.argv[3]) if len(sys.argv) > 3 else 0
rng, block, pos, out = random.Random(seed), 1 << 20, 0, sys.stdout.buffer
try:
    while pos < size:
        b = rng.randbytes(min(block, size - pos))
        if pos + len(b) > skip:
            out.write(b[max(0, skip - pos):])
        pos += len(b)
    out.flush()
except BrokenPipeError:
    os._exit(0)  # the reader (curl) went away, as it does when the server is killed
'
gen() { python3 -c "$GEN_PY" "$@"; }

e2e_init

# Where blob files live, when they live in a local directory we can look into.
store_root() {
    local s=${BERTH_STORAGE:-}
    if [[ -z "$s" ]]; then
        echo "$BERTH_DATA"
    elif [[ "$s" == file://* ]]; then
        echo "${s#file://}"
    elif [[ "$s" != *://* ]]; then
        echo "$s"
    fi
}

header() { # header NAME FILE: value of a response header in a curl -D dump (last one wins)
    tr -d '\r' <"$2" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" \
        'BEGIN{FS=": "} tolower($1)==n{v=substr($0, length($1)+3)} END{print v}'
}

skip() {
    SKIPPED=$((SKIPPED + 1))
    printf 'skip %s\n' "$1"
}

# Monolithic push of an in-memory-sized blob: push_small REPO FILE -> prints digest.
push_small() {
    local d
    d=$(sha256_of "$2")
    local code
    code=$(http_code -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
        "$BERTH_URL/v2/$1/blobs/uploads/?digest=$d")
    [[ "$code" == 201 ]] || die "baseline blob push answered $code"
    echo "$d"
}

# Wait until a staging file under uploads/ (other than those listed in $2..) reaches $1 bytes,
# or, when the blob store is not a local directory, just give the stream a few seconds.
# wait_staged WANT [SKIP_ID]: until some staging file other than SKIP_ID holds WANT bytes.
wait_staged() {
    local want=$1 skip=${2:-} root f size deadline=$((SECONDS + 60))
    root=$(store_root)
    if [[ -z "$root" ]]; then
        sleep 3
        return 0
    fi
    while ((SECONDS < deadline)); do
        for f in "$root"/uploads/*; do
            [[ -f "$f" && "$(basename "$f")" != "$skip" ]] || continue
            size=$(stat -c %s "$f" 2>/dev/null || echo 0)
            if ((size >= want)); then
                log "staging file $(basename "$f") holds $size bytes"
                return 0
            fi
        done
        sleep 0.1
    done
    log "no staging file reached $want bytes within 60s"
    return 1
}

no_blob_file() { # no_blob_file DIGEST: nothing under <store>/blobs is named after it
    local root found
    root=$(store_root)
    found=$(find "$root/blobs" -name "${1#sha256:}*" 2>/dev/null)
    if [[ -z "$found" ]]; then return 0; fi
    printf '     found %s\n' "$found" >&2
    return 1
}

blob_absent_checks() { # blob_absent_checks LABEL DIGEST
    check "$1: HEAD /v2/$REPO/blobs/<digest> is 404" \
        assert_eq 404 "$(http_code -I "$BERTH_URL/v2/$REPO/blobs/$2")" "status"
    check "$1: GET /v2/$REPO/blobs/<digest> is 404" \
        assert_eq 404 "$(http_code "$BERTH_URL/v2/$REPO/blobs/$2")" "status"
    check "$1: HEAD of the digest in another repository is 404" \
        assert_eq 404 "$(http_code -I "$BERTH_URL/v2/e2e/other/blobs/$2")" "status"
    if [[ -n "$(store_root)" ]]; then
        check "$1: no file under the blob store's blobs/ is named after the digest" no_blob_file "$2"
    else
        skip "$1: blob store is not a local directory; cannot look for blob files"
    fi
}

visible_state_checks() { # what was pushed before the crashes is all there is, and intact
    local label=$1
    check "$label: catalog lists only $REPO" \
        assert_eq "[\"$REPO\"]" "$(acurl -s --max-time 30 "$BERTH_URL/v2/_catalog" | jq -c .repositories)" "repositories"
    check "$label: tag list of $REPO is exactly [\"before\"]" \
        assert_eq '["before"]' "$(acurl -s --max-time 30 "$BERTH_URL/v2/$REPO/tags/list" | jq -c .tags)" "tags"
    check "$label: the pre-crash manifest is served unchanged" \
        assert_eq "$BASE_MANIFEST_DIGEST" \
        "$(acurl -s --max-time 30 -H "Accept: application/vnd.oci.image.manifest.v1+json" "$BERTH_URL/v2/$REPO/manifests/before" | sha256sum | sed 's/^/sha256:/; s/ .*//')" \
        "sha256 of manifest"
    check "$label: the pre-crash layer blob is intact" \
        assert_eq "$BASE_LAYER" "$(acurl -s --max-time 30 "$BERTH_URL/v2/$REPO/blobs/$BASE_LAYER" | sha256sum | sed 's/^/sha256:/; s/ .*//')" \
        "sha256 of layer"
}

session_checks() { # the chunked session reports its committed offset or is unknown
    local label=$1 code range
    acurl -s --max-time 30 -o /dev/null -D "$E2E_TMP/status.h" "$BERTH_URL$LOC_A" || true
    code=$(head -n1 "$E2E_TMP/status.h" | awk '{print $2}')
    range=$(header Range "$E2E_TMP/status.h")
    SESSION_A_STATUS=$code
    case "$code" in
    204)
        check "$label: upload session A reports its last committed offset (Range 0-$((FIRST - 1)))" \
            assert_eq "0-$((FIRST - 1))" "$range" "Range"
        ;;
    404)
        check "$label: upload session A is unknown (404), which is allowed" true
        ;;
    *)
        check "$label: upload session A status is 204 (committed offset) or 404 (unknown)" \
            assert_eq "204 or 404" "$code" "status"
        ;;
    esac
    check "$label: the upload session URL is not a finished blob (no Docker-Content-Digest)" \
        assert_eq "" "$(header Docker-Content-Digest "$E2E_TMP/status.h")" "Docker-Content-Digest"
}

log "computing digests of the ${BIG_MIB} MiB and ${MONO_MIB} MiB test blobs"
DIGEST_A="sha256:$(gen "$BIG" 1 | sha256sum | cut -d' ' -f1)"
DIGEST_B="sha256:$(gen "$MONO" 2 | sha256sum | cut -d' ' -f1)"
log "A = $DIGEST_A, B = $DIGEST_B"

berth_start
DATA=$BERTH_DATA
berth_project e2e || die "could not create project e2e"

# ---- baseline: a small image that must survive the crashes untouched --------------------------
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$E2E_TMP/base-config.json"
head -c 4096 /dev/urandom >"$E2E_TMP/base-layer.bin"
BASE_CONFIG=$(push_small "$REPO" "$E2E_TMP/base-config.json")
BASE_LAYER=$(push_small "$REPO" "$E2E_TMP/base-layer.bin")
cat >"$E2E_TMP/base-manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$BASE_CONFIG","size":$(stat -c %s "$E2E_TMP/base-config.json")},"layers":[{"mediaType":"application/octet-stream","digest":"$BASE_LAYER","size":4096}]}
EOF
BASE_MANIFEST_DIGEST=$(sha256_of "$E2E_TMP/base-manifest.json")
check "baseline manifest PUT as tag 'before' is 201" \
    assert_eq 201 "$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
        --data-binary "@$E2E_TMP/base-manifest.json" "$BERTH_URL/v2/$REPO/manifests/before")" "status"

# ---- A: kill -9 during a streaming PATCH -------------------------------------------------------
acurl -s --max-time 30 -o /dev/null -D "$E2E_TMP/post.h" -X POST "$BERTH_URL/v2/$REPO/blobs/uploads/"
LOC_A=$(header Location "$E2E_TMP/post.h")
ID_A=${LOC_A##*/}
check "A: POST /blobs/uploads/ opens a session (Location $LOC_A)" assert_contains "$LOC_A" "/v2/$REPO/blobs/uploads/"

gen "$FIRST" 1 >"$E2E_TMP/first.bin"
acurl -s --max-time 60 -o /dev/null -D "$E2E_TMP/patch1.h" -X PATCH \
    -H 'Content-Type: application/octet-stream' -H "Content-Range: 0-$((FIRST - 1))" \
    --data-binary "@$E2E_TMP/first.bin" "$BERTH_URL$LOC_A"
check "A: the first 1 MiB PATCH is accepted (Range 0-$((FIRST - 1)))" \
    assert_eq "0-$((FIRST - 1))" "$(header Range "$E2E_TMP/patch1.h")" "Range"

# kill_during WHAT PID: kill -9 the server while the client PID is still uploading; the client
# must see its upload fail.
kill_during() {
    local what=$1 pid=$2 rc=0
    check "$what is still in flight when the server is killed" kill -0 "$pid"
    berth_kill9
    wait "$pid" || rc=$?
    check "$what: the client saw the upload fail (curl exit $rc)" test "$rc" -ne 0
}

log "A: streaming the remaining $((BIG - FIRST)) bytes at $RATE/s, to be interrupted"
gen "$BIG" 1 "$FIRST" | acurl -s --max-time 300 --limit-rate "$RATE" -o /dev/null -X PATCH \
    -H 'Content-Type: application/octet-stream' -H "Content-Range: $FIRST-$((BIG - 1))" \
    -T - "$BERTH_URL$LOC_A" &
CURL_A=$!
wait_staged $((FIRST + KILL_AFTER)) || true
kill_during "A: the big PATCH" "$CURL_A"

berth_start "$DATA"
blob_absent_checks "A after restart" "$DIGEST_A"
session_checks "A after restart"
visible_state_checks "after restart 1"

# ---- B: kill -9 during a monolithic POST ?digest= ----------------------------------------------
log "B: streaming a monolithic POST ?digest= of $MONO bytes at $RATE/s, to be interrupted"
gen "$MONO" 2 | acurl -s --max-time 300 --limit-rate "$RATE" -o /dev/null -X POST \
    -H 'Content-Type: application/octet-stream' -T - \
    "$BERTH_URL/v2/$REPO/blobs/uploads/?digest=$DIGEST_B" &
CURL_B=$!
# A's staging file may still hold what arrived before the first crash: only a staging file
# other than A's counts as B's progress.
wait_staged "$KILL_AFTER" "$ID_A" || true
kill_during "B: the monolithic POST" "$CURL_B"

berth_start "$DATA"
blob_absent_checks "B after restart" "$DIGEST_B"
blob_absent_checks "A after restart 2" "$DIGEST_A"
session_checks "A after restart 2"
visible_state_checks "after restart 2"

# ---- recovery: the same blobs upload cleanly ---------------------------------------------------
if [[ "$SESSION_A_STATUS" == 204 ]]; then
    log "A: resuming session $ID_A from offset $FIRST"
    gen "$BIG" 1 "$FIRST" | acurl -s --max-time 300 -o /dev/null -D "$E2E_TMP/patch2.h" -X PATCH \
        -H 'Content-Type: application/octet-stream' -H "Content-Range: $FIRST-$((BIG - 1))" \
        -T - "$BERTH_URL$LOC_A" || true
    check "A: resuming PATCH from the committed offset is accepted (Range 0-$((BIG - 1)))" \
        assert_eq "0-$((BIG - 1))" "$(header Range "$E2E_TMP/patch2.h")" "Range"
    check "A: PUT ?digest= completes the resumed upload (201)" \
        assert_eq 201 "$(http_code -X PUT -H 'Content-Length: 0' "$BERTH_URL$LOC_A?digest=$DIGEST_A")" "status"
else
    log "A: session unknown after restart; uploading again from scratch"
    acurl -s --max-time 30 -o /dev/null -D "$E2E_TMP/post2.h" -X POST "$BERTH_URL/v2/$REPO/blobs/uploads/"
    loc=$(header Location "$E2E_TMP/post2.h")
    gen "$BIG" 1 | acurl -s --max-time 300 -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' \
        -T - "$BERTH_URL$loc" || true
    check "A: PUT ?digest= completes a fresh upload (201)" \
        assert_eq 201 "$(http_code -X PUT -H 'Content-Length: 0' "$BERTH_URL$loc?digest=$DIGEST_A")" "status"
fi
gen "$MONO" 2 >"$E2E_TMP/b.bin"
check "B: monolithic POST ?digest= re-upload completes (201)" \
    assert_eq 201 "$(http_code -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$E2E_TMP/b.bin" \
        "$BERTH_URL/v2/$REPO/blobs/uploads/?digest=$DIGEST_B")" "status"
rm -f "$E2E_TMP/b.bin"

for pair in "A:$DIGEST_A:$BIG" "B:$DIGEST_B:$MONO"; do
    IFS=: read -r label alg hex size <<<"$pair"
    d="$alg:$hex"
    acurl -s --max-time 30 -I -o /dev/null -D "$E2E_TMP/head.h" "$BERTH_URL/v2/$REPO/blobs/$d" || true
    check "$label: HEAD after re-upload is 200 with Content-Length $size" \
        assert_eq "200 $size" "$(head -n1 "$E2E_TMP/head.h" | awk '{print $2}') $(header Content-Length "$E2E_TMP/head.h")" "status and length"
    check "$label: GET after re-upload returns bytes whose sha256 is the digest" \
        assert_eq "$d" "sha256:$(acurl -s --max-time 120 "$BERTH_URL/v2/$REPO/blobs/$d" | sha256sum | cut -d' ' -f1)" "sha256 of body"
    if [[ -n "$(store_root)" ]]; then
        f="$(store_root)/blobs/sha256/${hex:0:2}/$hex"
        check "$label: the stored blob file has the digest's sha256" \
            assert_eq "$d" "$( [[ -f "$f" ]] && sha256_of "$f")" "sha256 of $f"
    fi
done
if [[ -n "$(store_root)" ]]; then
    check "A: the finished session's staging file is gone" test ! -e "$(store_root)/uploads/$ID_A"
fi
check "after the re-uploads, GET of the finished session A is 404" \
    assert_eq 404 "$(http_code "$BERTH_URL$LOC_A")" "status"
visible_state_checks "after re-upload"

e2e_summary crash "$SKIPPED"
