#!/usr/bin/env bash
# End-to-end: push, pull, convert, list and delete an image with the real skopeo client, logged
# in as the admin (skopeo follows the Bearer challenge to /service/token with the credentials);
# an anonymous push is refused and a project robot with push can push.
# Usage: tests/e2e/skopeo.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
command -v jq >/dev/null || die "jq is not installed"

e2e_init
berth_start
berth_project e2e || die "could not create project e2e"
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"


REPO=e2e/app
REF="$BERTH_HOST/$REPO"
LAYOUT="$E2E_TMP/layout"
SUMMARY="$E2E_TMP/layout.json"

# ---- source layout -----------------------------------------------------------------------------
check "make_layout.py builds a deterministic 3-layer OCI layout" \
    ok_cmd python3 "$E2E_DIR/make_layout.py" "$LAYOUT" --tag v1 --big-mib 5
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layout-again" --tag v1 --big-mib 5 >"$SUMMARY"
check "a second build of the layout is byte-identical" ok_cmd diff -r "$LAYOUT" "$E2E_TMP/layout-again"

SRC_MANIFEST=$(jq -r .manifest "$SUMMARY")
SRC_CONFIG=$(jq -r .config "$SUMMARY")
mapfile -t SRC_LAYERS < <(jq -r '.layers[]' "$SUMMARY")
SRC_BLOBS=("$SRC_CONFIG" "${SRC_LAYERS[@]}")
src_blob() { echo "$LAYOUT/blobs/sha256/${1#sha256:}"; }
log "source manifest $SRC_MANIFEST, config $SRC_CONFIG, ${#SRC_LAYERS[@]} layers"

# Every blob named by digest in DIR_OR_LAYOUT is byte-identical to the source and hashes to its name.
blobs_match() { # blobs_match PATH_FN_PREFIX: "$1/<hex>" must equal the source blob
    local dir=$1 d f rc=0
    for d in "${SRC_BLOBS[@]}"; do
        f="$dir/${d#sha256:}"
        if [[ ! -f "$f" ]]; then
            echo "     missing $f" >&2
            rc=1
            continue
        fi
        assert_eq "$d" "$(sha256_of "$f")" "sha256 of $f" || rc=1
        assert_same_file "$(src_blob "$d")" "$f" || rc=1
    done
    return "$rc"
}

# ---- push (OCI manifest, unchanged) ------------------------------------------------------------
check "skopeo copy oci:layout:v1 -> docker://$REF:v1" \
    ok_cmd sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$LAYOUT:v1" "docker://$REF:v1"

sk inspect --tls-verify=false --creds "$CREDS" --raw "docker://$REF:v1" >"$E2E_TMP/pushed-manifest.json" || true
check "the registry serves the manifest byte-for-byte as pushed" \
    assert_same_file "$(src_blob "$SRC_MANIFEST")" "$E2E_TMP/pushed-manifest.json"

inspect_json=$(sk inspect --tls-verify=false --creds "$CREDS" "docker://$REF:v1" 2>&1 || true)
check "skopeo inspect reports the source manifest digest" \
    assert_eq "$SRC_MANIFEST" "$(jq -r .Digest <<<"$inspect_json" 2>/dev/null)" "inspect .Digest"
check "skopeo inspect lists the source layers in order" \
    assert_eq "${SRC_LAYERS[*]}" "$(jq -r '.Layers | join(" ")' <<<"$inspect_json" 2>/dev/null)" "inspect .Layers"
check "skopeo inspect shows tag v1 in RepoTags" \
    assert_eq "true" "$(jq -r '.RepoTags | index("v1") != null' <<<"$inspect_json" 2>/dev/null)" "v1 in RepoTags"

sk inspect --tls-verify=false --creds "$CREDS" --config --raw "docker://$REF:v1" >"$E2E_TMP/pushed-config.json" || true
check "the registry serves the config blob byte-for-byte" \
    assert_same_file "$(src_blob "$SRC_CONFIG")" "$E2E_TMP/pushed-config.json"

hdr_digest=$(acurl -s --max-time 30 -o /dev/null -D - \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$BERTH_URL/v2/$REPO/manifests/v1" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
check "GET /v2/$REPO/manifests/v1 answers Docker-Content-Digest = source digest" \
    assert_eq "$SRC_MANIFEST" "$hdr_digest" "Docker-Content-Digest"

check "skopeo list-tags shows v1" \
    assert_eq "true" "$(sk list-tags --tls-verify=false --creds "$CREDS" "docker://$REF" 2>/dev/null | jq -r '.Tags | index("v1") != null')" "v1 in Tags"

# ---- pull back: oci: and dir: ------------------------------------------------------------------
OUT_OCI="$E2E_TMP/pulled-oci"
check "skopeo copy docker://$REF:v1 -> oci:OUT:v1" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$REF:v1" "oci:$OUT_OCI:v1"
check "pulled oci layout's index.json names the source manifest digest for v1" \
    assert_eq "$SRC_MANIFEST" \
    "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="v1") | .digest' "$OUT_OCI/index.json" 2>/dev/null)" \
    "index.json digest"
check "pulled oci layout's manifest is byte-identical to the source" \
    assert_same_file "$(src_blob "$SRC_MANIFEST")" "$OUT_OCI/blobs/sha256/${SRC_MANIFEST#sha256:}"
check "pulled oci layout's config and 3 layers are byte-identical to the source" \
    blobs_match "$OUT_OCI/blobs/sha256"

OUT_DIR="$E2E_TMP/pulled-dir"
check "skopeo copy docker://$REF:v1 -> dir:OUT" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$REF:v1" "dir:$OUT_DIR"
check "dir: manifest.json is byte-identical to the source manifest" \
    assert_same_file "$(src_blob "$SRC_MANIFEST")" "$OUT_DIR/manifest.json"
check "dir: config and 3 layers are byte-identical to the source" blobs_match "$OUT_DIR"

# ---- cross-repository copy (blob mount or re-upload) -------------------------------------------
check "skopeo copy docker://$REF:v1 -> docker://$BERTH_HOST/e2e/mirror:v1" \
    ok_cmd sk copy --src-tls-verify=false --dest-tls-verify=false --src-creds "$CREDS" --dest-creds "$CREDS" "docker://$REF:v1" "docker://$BERTH_HOST/e2e/mirror:v1"
check "the mirrored manifest keeps the source digest" \
    assert_eq "$SRC_MANIFEST" \
    "$(sk inspect --tls-verify=false --creds "$CREDS" "docker://$BERTH_HOST/e2e/mirror:v1" 2>/dev/null | jq -r .Digest)" "mirror digest"

# ---- Docker schema 2 conversion to a second tag ------------------------------------------------
check "skopeo copy --format v2s2 oci:layout:v1 -> docker://$REF:v1-v2s2" \
    ok_cmd sk copy --format v2s2 --dest-tls-verify=false --dest-creds "$CREDS" "oci:$LAYOUT:v1" "docker://$REF:v1-v2s2"
sk inspect --tls-verify=false --creds "$CREDS" --raw "docker://$REF:v1-v2s2" >"$E2E_TMP/v2s2-manifest.json" || true
check "the v1-v2s2 tag holds a Docker schema 2 manifest" \
    assert_eq "application/vnd.docker.distribution.manifest.v2+json" \
    "$(jq -r .mediaType "$E2E_TMP/v2s2-manifest.json" 2>/dev/null)" "mediaType"
check "the v2s2 manifest references the same layer blobs" \
    assert_eq "${SRC_LAYERS[*]}" "$(jq -r '[.layers[].digest] | join(" ")' "$E2E_TMP/v2s2-manifest.json" 2>/dev/null)" "layers"
V2S2_DIGEST=$(sk inspect --tls-verify=false --creds "$CREDS" "docker://$REF:v1-v2s2" 2>/dev/null | jq -r .Digest || true)
check "the v2s2 manifest's digest is the sha256 of the bytes served" \
    assert_eq "$V2S2_DIGEST" "$(sha256_of "$E2E_TMP/v2s2-manifest.json")" "v2s2 digest"

v2s2_pull_ok() { # pull the v2s2 tag to a fresh dir: and compare with what the registry served
    local out
    out=$(e2e_mktemp v2s2-dir)
    rm -rf "$out"
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$REF:v1-v2s2" "dir:$out" || return 1
    assert_same_file "$E2E_TMP/v2s2-manifest.json" "$out/manifest.json" || return 1
    local d f rc=0
    for d in "${SRC_LAYERS[@]}"; do
        assert_same_file "$(src_blob "$d")" "$out/${d#sha256:}" || rc=1
    done
    d=$(jq -r .config.digest "$out/manifest.json")
    f="$out/${d#sha256:}"
    assert_eq "$d" "$(sha256_of "$f")" "v2s2 config sha256" || rc=1
    return "$rc"
}
check "the v1-v2s2 tag pulls back to dir: with identical layers" v2s2_pull_ok

tags=$(sk list-tags --tls-verify=false --creds "$CREDS" "docker://$REF" 2>/dev/null | jq -r '.Tags | sort | join(" ")' || true)
check "skopeo list-tags shows exactly v1 and v1-v2s2" assert_eq "v1 v1-v2s2" "$tags" "tags"

# ---- delete ------------------------------------------------------------------------------------
check "skopeo delete docker://$REF:v1" ok_cmd sk delete --tls-verify=false --creds "$CREDS" "docker://$REF:v1"
tags=$(sk list-tags --tls-verify=false --creds "$CREDS" "docker://$REF" 2>/dev/null | jq -r '.Tags | sort | join(" ")' || true)
check "after delete, list-tags shows only v1-v2s2" assert_eq "v1-v2s2" "$tags" "tags"
check "after delete, skopeo inspect of v1 fails" \
    bash -c '! "$@" >/dev/null 2>&1' _ timeout 60 skopeo --insecure-policy inspect --tls-verify=false --creds "$CREDS" --retry-times 0 "docker://$REF:v1"
check "after delete, GET /v2/$REPO/manifests/v1 is 404" \
    assert_eq 404 "$(http_code "$BERTH_URL/v2/$REPO/manifests/v1")" "status"
check "after delete, GET /v2/$REPO/manifests/<source digest> is 404" \
    assert_eq 404 "$(http_code "$BERTH_URL/v2/$REPO/manifests/$SRC_MANIFEST")" "status"
check "the mirror repository still serves v1 after the delete in $REPO" \
    assert_eq "$SRC_MANIFEST" \
    "$(sk inspect --tls-verify=false --creds "$CREDS" "docker://$BERTH_HOST/e2e/mirror:v1" 2>/dev/null | jq -r .Digest)" "mirror digest"
check "the v1-v2s2 tag still pulls back after deleting v1 (shared layers kept)" v2s2_pull_ok

# ---- authentication ----------------------------------------------------------------------------
check "an anonymous skopeo copy (no credentials) into e2e/anon is refused" \
    fails_cmd sk copy --retry-times 0 --dest-tls-verify=false "oci:$LAYOUT:v1" "docker://$BERTH_HOST/e2e/anon:v1"
check "nothing was stored by the refused anonymous push" \
    assert_eq 404 "$(http_code "$BERTH_URL/v2/e2e/anon/manifests/v1")" "status"
check "a copy with a wrong password is refused" \
    fails_cmd sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$BERTH_ADMIN_USER:Wrong-Pass-1" \
    "oci:$LAYOUT:v1" "docker://$BERTH_HOST/e2e/anon:v1"

robot_json=$(berth_api POST /robots '{"name":"skopeo","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"e2e","access":[{"resource":"repository","action":"push"},{"resource":"repository","action":"pull"}]}]}' || true)
ROBOT_NAME=$(jq -r '.name // empty' <<<"$robot_json" 2>/dev/null || true)
ROBOT_SECRET=$(jq -r '.secret // empty' <<<"$robot_json" 2>/dev/null || true)
check "POST /api/v2.0/robots creates project robot robot\$e2e+skopeo with a secret" \
    assert_eq 'robot$e2e+skopeo yes' "$ROBOT_NAME $([[ -n "$ROBOT_SECRET" ]] && echo yes)" "name and secret"
ROBOT_CREDS="$ROBOT_NAME:$ROBOT_SECRET"
check "the robot pushes with skopeo --dest-creds (token flow) into e2e/robot:v1" \
    ok_cmd sk copy --dest-tls-verify=false --dest-creds "$ROBOT_CREDS" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/e2e/robot:v1"
check "the robot's push is there with the source digest" \
    assert_eq "$SRC_MANIFEST" "$(sk inspect --tls-verify=false --creds "$CREDS" "docker://$BERTH_HOST/e2e/robot:v1" 2>/dev/null | jq -r .Digest)" "digest"
check "the robot pulls its image back with --src-creds" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$ROBOT_CREDS" "docker://$BERTH_HOST/e2e/robot:v1" "oci:$E2E_TMP/robot-pull:v1"
check "the robot cannot push outside its project (library/robot)" \
    fails_cmd sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$ROBOT_CREDS" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/library/robot:v1"

e2e_summary skopeo
