#!/usr/bin/env bash
# End-to-end: image signing with the real cosign CLI (tests/setup.sh installs it as
# $BERTH_TOOLS/bin/cosign) against `berth serve`, logged in as the admin through the token flow.
# The formats cosign pushes are described in docs/cosign-formats.md.
#
#   1. cosign against the registry: key pair, `cosign login`; in cosign's tag scheme
#      `sign` + `verify` (and a foreign key that does not verify), `attest` +
#      `verify-attestation`, `attach sbom` + `download sbom`; in OCI 1.1 referrers mode
#      (`--registry-referrers-mode=oci-1-1`) `sign` + `verify --experimental-oci11` and
#      `attach sbom`, with the referrers API listing both and no fallback tag pushed.
#   2. API checks (need accessories support): the artifact list with `with_accessory=true` shows
#      the image alone, with its signature (`signature.cosign`) and SBOM (`sbom.harbor`) in
#      `accessories`; `GET …/artifacts/{ref}/accessories` lists and filters them; the project
#      policy `enable_content_trust_cosign` refuses unsigned manifests with 412
#      PROJECTPOLICYVIOLATION (Basic and Bearer) while signed images, their signatures and
#      `cosign verify` still work, cosign can still sign under the policy, and turning the policy
#      off lets the unsigned image pull again.
#
# Usage: tests/e2e/signing.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP,
#        COSIGN (the cosign binary; default: cosign on PATH, else $BERTH_TOOLS/bin/cosign),
#        SIGNING_API_CHECKS=0 to stop before the API checks, COSIGN_TIMEOUT, SKOPEO_TIMEOUT)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
command -v jq >/dev/null || die "jq is not installed"
if [[ -z "${COSIGN:-}" ]]; then
    COSIGN=$(command -v cosign || echo "${BERTH_TOOLS:-$HOME/.cache/berth-tools}/bin/cosign")
fi
[[ -x "$COSIGN" ]] || die "cosign not found ($COSIGN); run tests/setup.sh, which installs it into \$BERTH_TOOLS/bin"

e2e_init
# Garbage collection at the end frees what deleted signatures referenced at once.
export BERTH_GC_GRACE_SECS=1
berth_start
berth_project e2e || die "could not create project e2e"
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"
log "cosign $("$COSIGN" version 2>/dev/null | awk '/^GitVersion:/{print $2}') at $COSIGN"

# cosign keeps its registry login and sigstore caches under the temp root; keys have no password.
export DOCKER_CONFIG="$E2E_TMP/docker" TUF_ROOT="$E2E_TMP/sigstore" COSIGN_PASSWORD=""
COSIGN_TIMEOUT=${COSIGN_TIMEOUT:-120}
cs() { # bounded cosign, run in the keys directory
    (cd "$E2E_TMP/keys" && timeout --kill-after=10 "$COSIGN_TIMEOUT" "$COSIGN" "$@")
}
# Flags for every registry command: plain HTTP on loopback, nothing sent to a transparency log.
REG=(--allow-insecure-registry)
SIGN=(--tlog-upload=false --allow-insecure-registry -y)
VERIFY=(--insecure-ignore-tlog=true --allow-insecure-registry)
jqr() { jq -r "$@" 2>/dev/null || true; } # jqr FILTER [FILE]: jq -r, empty on bad input
oci_manifest() { # oci_manifest REPO REF: the manifest as served (empty when not 200)
    acurl -sf --max-time 30 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.oci.image.index.v1+json' "$BERTH_URL/v2/$1/manifests/$2" || true
}
blob() { acurl -sf --max-time 30 "$BERTH_URL/v2/$1/blobs/$2" || true; }
referrers() { # referrers REPO DIGEST [ARTIFACT_TYPE]: the referrers index ('+' sent as %2B)
    local t=${3:-}
    acurl -sf --max-time 30 "$BERTH_URL/v2/$1/referrers/$2${t:+?artifactType=${t//+/%2B}}" || true
}
digest_of() { printf '%s' "$1" | sha256sum | awk '{print "sha256:" $1}'; }

SIG_TYPE=application/vnd.dev.cosign.artifact.sig.v1+json
SBOM_TYPE=application/vnd.dev.cosign.artifact.sbom.v1+json
SIMPLESIGNING=application/vnd.dev.cosign.simplesigning.v1+json

# ---- image, keys, login ------------------------------------------------------------------------
LAYOUT="$E2E_TMP/layout"
python3 "$E2E_DIR/make_layout.py" "$LAYOUT" --tag v1 --big-mib 1 >"$E2E_TMP/layout.json" ||
    die "make_layout.py failed"
D=$(jq -r .manifest "$E2E_TMP/layout.json")
HEX=${D#sha256:}
log "image digest $D"
for r in signed signed11 unsigned late foreign notary notary2; do
    check "skopeo copy oci:layout:v1 -> docker://$BERTH_HOST/e2e/$r:v1" \
        ok_cmd sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/e2e/$r:v1"
done

mkdir -p "$E2E_TMP/keys" "$E2E_TMP/keys/other"
check "cosign generate-key-pair writes cosign.key and cosign.pub" \
    ok_cmd bash -c 'cd "$1" && "$2" generate-key-pair && [[ -s cosign.key && -s cosign.pub ]]' _ "$E2E_TMP/keys" "$COSIGN"
check "a second key pair (another signer) is generated in other/" \
    ok_cmd bash -c 'cd "$1" && "$2" generate-key-pair && [[ -s cosign.pub ]]' _ "$E2E_TMP/keys/other" "$COSIGN"
check "cosign login $BERTH_HOST as the admin" \
    ok_cmd cs login "$BERTH_HOST" -u "$BERTH_ADMIN_USER" -p "$BERTH_ADMIN_PASSWORD"

cat >"$E2E_TMP/keys/predicate.json" <<'EOF'
{"builder":{"id":"https://builder.berth.test/e2e"},"buildType":"https://berth.test/e2e/build","invocation":{}}
EOF
cat >"$E2E_TMP/keys/sbom.spdx.json" <<'EOF'
{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"e2e-app","documentNamespace":"https://berth.test/e2e/app","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: signing.sh"]},"packages":[]}
EOF

# ---- tag scheme: e2e/signed --------------------------------------------------------------------
IMG="$BERTH_HOST/e2e/signed"
check "cosign sign --key (tag scheme) signs $IMG@$D" \
    ok_cmd cs sign --key cosign.key "${SIGN[@]}" "$IMG@$D"

SIG_MANIFEST=$(oci_manifest e2e/signed "sha256-$HEX.sig")
SIG_DIGEST=$(digest_of "$SIG_MANIFEST")
check "the signature is stored under tag sha256-<hex>.sig with a simple-signing layer" \
    assert_eq "$SIMPLESIGNING" "$(jqr '.layers[0].mediaType' <<<"$SIG_MANIFEST")" "layers[0].mediaType"
check "the signature layer carries the dev.cosignproject.cosign/signature annotation" \
    assert_eq true "$(jqr '.layers[0].annotations["dev.cosignproject.cosign/signature"] | length > 0' <<<"$SIG_MANIFEST")" "annotation present"
PAYLOAD=$(blob e2e/signed "$(jqr '.layers[0].digest' <<<"$SIG_MANIFEST")")
check "the simple-signing payload names the image digest (critical.image.docker-manifest-digest)" \
    assert_eq "$D" "$(jqr '.critical.image["docker-manifest-digest"]' <<<"$PAYLOAD")" "docker-manifest-digest"

verify_out=$(cs verify --key cosign.pub "${VERIFY[@]}" "$IMG:v1" 2>"$E2E_TMP/verify.err") || verify_out=FAILED
check "cosign verify --key cosign.pub $IMG:v1 succeeds (tag scheme)" \
    assert_not_contains "$verify_out" FAILED
check "cosign verify reports a payload for the image digest" \
    assert_eq "$D" "$(jqr '.[0].critical.image["docker-manifest-digest"]' <<<"$verify_out")" "verified digest"
check "cosign verify with another signer's key fails" \
    fails_cmd cs verify --key other/cosign.pub "${VERIFY[@]}" "$IMG:v1"

check "cosign attest --predicate --type slsaprovenance (tag scheme)" \
    ok_cmd cs attest --key cosign.key --predicate predicate.json --type slsaprovenance "${SIGN[@]}" "$IMG@$D"
ATT_MANIFEST=$(oci_manifest e2e/signed "sha256-$HEX.att")
check "the attestation is stored under tag sha256-<hex>.att with a DSSE layer" \
    assert_eq "application/vnd.dsse.envelope.v1+json https://slsa.dev/provenance/v0.2" \
    "$(jqr '.layers[0] | "\(.mediaType) \(.annotations.predicateType)"' <<<"$ATT_MANIFEST")" "layer type and predicateType"
check "cosign verify-attestation --type slsaprovenance succeeds" \
    ok_cmd cs verify-attestation --key cosign.pub --type slsaprovenance "${VERIFY[@]}" "$IMG:v1"

check "cosign attach sbom --type spdx (tag scheme)" \
    ok_cmd cs attach sbom --sbom sbom.spdx.json --type spdx "${REG[@]}" "$IMG@$D"
SBOM_MANIFEST=$(oci_manifest e2e/signed "sha256-$HEX.sbom")
SBOM_DIGEST=$(digest_of "$SBOM_MANIFEST")
check "the SBOM is stored under tag sha256-<hex>.sbom as a text/spdx+json layer" \
    assert_eq "text/spdx+json $(sha256_of "$E2E_TMP/keys/sbom.spdx.json")" \
    "$(jqr '.layers[0] | "\(.mediaType) \(.digest)"' <<<"$SBOM_MANIFEST")" "layer type and digest"
cs download sbom "${REG[@]}" "$IMG@$D" >"$E2E_TMP/sbom.downloaded" 2>/dev/null || true
check "cosign download sbom returns the SBOM byte-for-byte" \
    assert_same_file "$E2E_TMP/keys/sbom.spdx.json" "$E2E_TMP/sbom.downloaded"
check "skopeo list-tags shows v1 and the .sig, .att and .sbom tags" \
    assert_eq "sha256-$HEX.att sha256-$HEX.sbom sha256-$HEX.sig v1" \
    "$(sk list-tags --tls-verify=false --creds "$CREDS" "docker://$IMG" 2>/dev/null | jqr '.Tags | sort | join(" ")')" "tags"

# ---- OCI 1.1 referrers: e2e/signed11 -----------------------------------------------------------
IMG11="$BERTH_HOST/e2e/signed11"
check "COSIGN_EXPERIMENTAL=1 cosign sign --registry-referrers-mode=oci-1-1 signs $IMG11@$D" \
    ok_cmd env COSIGN_EXPERIMENTAL=1 "$COSIGN" sign --registry-referrers-mode=oci-1-1 \
    --key "$E2E_TMP/keys/cosign.key" "${SIGN[@]}" "$IMG11@$D"
REFS=$(referrers e2e/signed11 "$D")
SIG11_DIGEST=$(jqr --arg t "$SIG_TYPE" '[.manifests[] | select(.artifactType == $t)] | if length == 1 then .[0].digest else empty end' <<<"$REFS")
check "GET /v2/e2e/signed11/referrers/<digest> lists one cosign signature ($SIG_TYPE)" \
    assert_eq true "$([[ "$SIG11_DIGEST" == sha256:* ]] && echo true)" "one referrer of that type"
SIG11_MANIFEST=$(oci_manifest e2e/signed11 "$SIG11_DIGEST")
check "the referrer is a simple-signing manifest whose subject is the image" \
    assert_eq "$SIMPLESIGNING $D" "$(jqr '"\(.layers[0].mediaType) \(.subject.digest)"' <<<"$SIG11_MANIFEST")" "layer type and subject"
check "no referrers fallback tag sha256-<hex> and no .sig tag were pushed (the API answered)" \
    assert_eq "404 404" "$(http_code "$BERTH_URL/v2/e2e/signed11/manifests/sha256-$HEX") $(http_code "$BERTH_URL/v2/e2e/signed11/manifests/sha256-$HEX.sig")" "statuses"
check "cosign verify --experimental-oci11 --key cosign.pub $IMG11:v1 succeeds" \
    ok_cmd env COSIGN_EXPERIMENTAL=1 "$COSIGN" verify --experimental-oci11 --key "$E2E_TMP/keys/cosign.pub" "${VERIFY[@]}" "$IMG11:v1"
check "cosign verify --experimental-oci11 with another signer's key fails" \
    fails_cmd env COSIGN_EXPERIMENTAL=1 "$COSIGN" verify --experimental-oci11 --key "$E2E_TMP/keys/other/cosign.pub" "${VERIFY[@]}" "$IMG11:v1"

check "COSIGN_EXPERIMENTAL=1 cosign attach sbom --registry-referrers-mode=oci-1-1" \
    ok_cmd env COSIGN_EXPERIMENTAL=1 "$COSIGN" attach sbom --registry-referrers-mode=oci-1-1 \
    --sbom "$E2E_TMP/keys/sbom.spdx.json" --type spdx "${REG[@]}" "$IMG11@$D"
REFS=$(referrers e2e/signed11 "$D")
SBOM11_DIGEST=$(jqr --arg t "$SBOM_TYPE" '[.manifests[] | select(.artifactType == $t)] | if length == 1 then .[0].digest else empty end' <<<"$REFS")
check "referrers list the SBOM with artifactType $SBOM_TYPE (from its config.mediaType)" \
    assert_eq true "$([[ "$SBOM11_DIGEST" == sha256:* ]] && echo true)" "one referrer of that type"
check "referrers ?artifactType=<sig type> returns only the signature" \
    assert_eq "$SIG11_DIGEST" "$(referrers e2e/signed11 "$D" "$SIG_TYPE" | jqr '[.manifests[].digest] | join(" ")')" "filtered digests"

if [[ "${SIGNING_API_CHECKS:-1}" == 0 ]]; then
    log "SIGNING_API_CHECKS=0: stopping before the API checks"
    e2e_summary signing
    exit $?
fi

# --- API checks (need accessories support) ---
# Harbor's artifact and accessory views. Types here follow Berth: cosign signatures (tag scheme
# and OCI 1.1) are signature.cosign, and cosign's SBOMs (`.sbom` tag, or an OCI 1.1 referrer with
# config.mediaType application/vnd.dev.cosign.artifact.sbom.v1+json) are sbom.harbor. (Harbor
# itself makes no accessory of a `.sbom` tag and types the OCI 1.1 one subject.accessory; see
# docs/cosign-formats.md.)
artifacts() { # artifacts REPO: the artifact list with accessories (page of 100)
    acurl -sf --max-time 30 "$BERTH_URL/api/v2.0/projects/e2e/repositories/$1/artifacts?with_accessory=true&page_size=100" || true
}
accessories() { # accessories REPO REF [QUERY]
    acurl -sf --max-time 30 "$BERTH_URL/api/v2.0/projects/e2e/repositories/$1/artifacts/$2/accessories${3:+?$3}" || true
}
acc_of() { # acc_of JSON_ARRAY TYPE DIGEST: "yes" when an accessory of TYPE with DIGEST has subject D
    jqr --arg t "$2" --arg d "$3" --arg s "$D" \
        'if [.[] | select(.type == $t and .digest == $d and .subject_artifact_digest == $s)] | length == 1 then "yes" else "no" end' <<<"$1"
}

LIST=$(artifacts signed)
check "e2e/signed lists exactly one artifact, the image (signature, attestation, SBOM are not artifacts)" \
    assert_eq "1 $D" "$(jqr '"\(length) \(.[0].digest)"' <<<"$LIST")" "count and digest"
IMG_ACCS=$(jqr '.[0].accessories // []' <<<"$LIST")
check "the image's accessories hold the .sig manifest as signature.cosign, subject_artifact_digest = image" \
    assert_eq yes "$(acc_of "$IMG_ACCS" signature.cosign "$SIG_DIGEST")" "signature accessory"
check "the image's accessories hold the .sbom manifest as sbom.harbor, subject_artifact_digest = image" \
    assert_eq yes "$(acc_of "$IMG_ACCS" sbom.harbor "$SBOM_DIGEST")" "sbom accessory"
check "no listed artifact carries a .sig/.att/.sbom tag" \
    assert_eq 0 "$(jqr '[.[].tags[]?.name | select(test("^sha256-"))] | length' <<<"$LIST")" "cosign tags listed"

ACCS=$(accessories signed "$D")
check "GET …/artifacts/<digest>/accessories lists the signature.cosign item" \
    assert_eq yes "$(acc_of "$ACCS" signature.cosign "$SIG_DIGEST")" "signature item"
check "GET …/artifacts/<digest>/accessories lists the sbom.harbor item" \
    assert_eq yes "$(acc_of "$ACCS" sbom.harbor "$SBOM_DIGEST")" "sbom item"
check "GET …/artifacts/v1/accessories (by tag) gives the same digests" \
    assert_eq "$(jqr '[.[].digest] | sort | join(" ")' <<<"$ACCS")" \
    "$(accessories signed v1 | jqr '[.[].digest] | sort | join(" ")')" "digests"
check "GET …/accessories?q=type%3Dsignature.cosign returns only signatures" \
    assert_eq "signature.cosign" "$(accessories signed "$D" 'q=type%3Dsignature.cosign' | jqr '[.[].type] | unique | join(" ")')" "types"

LIST11=$(artifacts signed11)
check "e2e/signed11 lists exactly one artifact, the image (OCI 1.1 referrers are not artifacts)" \
    assert_eq "1 $D" "$(jqr '"\(length) \(.[0].digest)"' <<<"$LIST11")" "count and digest"
IMG11_ACCS=$(jqr '.[0].accessories // []' <<<"$LIST11")
check "the OCI 1.1 signature is the image's signature.cosign accessory" \
    assert_eq yes "$(acc_of "$IMG11_ACCS" signature.cosign "$SIG11_DIGEST")" "signature accessory"
check "the OCI 1.1 cosign SBOM is the image's sbom.harbor accessory" \
    assert_eq yes "$(acc_of "$IMG11_ACCS" sbom.harbor "$SBOM11_DIGEST")" "sbom accessory"

# ---- content trust: enable_content_trust_cosign ------------------------------------------------
check "PUT /api/v2.0/projects/e2e {metadata: {enable_content_trust_cosign: true}}" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"enable_content_trust_cosign":"true"}}'
check "the project's metadata shows enable_content_trust_cosign = true" \
    assert_eq true "$(berth_api GET /projects/e2e 2>/dev/null | jqr '.metadata.enable_content_trust_cosign')" "metadata"

ACCEPT_MANIFEST=(-H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.oci.image.index.v1+json')
policy_answer() { # policy_answer CURL_AUTH... -- URL: "<status> <errors[0].code>" of a manifest GET
    local out code
    out=$(e2e_curl -s --max-time 30 "${ACCEPT_MANIFEST[@]}" -w '\n%{http_code}' "$@") || true
    code=${out##*$'\n'}
    printf '%s %s' "$code" "$(jqr '.errors[0].code' <<<"${out%$'\n'*}")"
}
check "GET /v2/e2e/unsigned/manifests/v1 (Basic) answers 412 PROJECTPOLICYVIOLATION" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -u "$CREDS" "$BERTH_URL/v2/e2e/unsigned/manifests/v1")" "status and code"
check "GET /v2/e2e/unsigned/manifests/<digest> (Basic) answers 412 PROJECTPOLICYVIOLATION" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -u "$CREDS" "$BERTH_URL/v2/e2e/unsigned/manifests/$D")" "status and code"

challenge=$(curl -s --max-time 10 -o /dev/null -D - "$BERTH_URL/v2/" | tr -d '\r' | awk 'tolower($1)=="www-authenticate:"{sub(/^[^:]*: /,""); print}' || true)
realm=$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$challenge")
service=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$challenge")
token=$(acurl -s --max-time 30 "$realm?service=$service&scope=repository:e2e/unsigned:pull" | jqr '.token // .access_token // empty' || true)
check "GET /v2/e2e/unsigned/manifests/v1 with a Bearer token answers 412 PROJECTPOLICYVIOLATION" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -H "Authorization: Bearer $token" "$BERTH_URL/v2/e2e/unsigned/manifests/v1")" "status and code"
skopeo_out=$(sk copy --retry-times 0 --src-tls-verify=false --src-creds "$CREDS" \
    "docker://$BERTH_HOST/e2e/unsigned:v1" "oci:$E2E_TMP/pull-unsigned:v1" 2>&1 && echo SUCCEEDED || true)
check "skopeo copy of the unsigned e2e/unsigned:v1 fails, reporting the image is not signed" \
    assert_contains "$skopeo_out" "not signed"
check "skopeo copy of e2e/signed:v1 (tag-scheme signature) pulls" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$IMG:v1" "oci:$E2E_TMP/pull-signed:v1"
check "skopeo copy of e2e/signed11:v1 (OCI 1.1 signature) pulls" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$IMG11:v1" "oci:$E2E_TMP/pull-signed11:v1"
check "the signature manifest itself (sha256-<hex>.sig) still pulls: 200" \
    assert_eq 200 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/signed/manifests/sha256-$HEX.sig")" "status"
check "cosign verify of $IMG:v1 still succeeds under the policy" \
    ok_cmd cs verify --key cosign.pub "${VERIFY[@]}" "$IMG:v1"
check "cosign verify --experimental-oci11 of $IMG11:v1 still succeeds under the policy" \
    ok_cmd env COSIGN_EXPERIMENTAL=1 "$COSIGN" verify --experimental-oci11 --key "$E2E_TMP/keys/cosign.pub" "${VERIFY[@]}" "$IMG11:v1"

check "cosign can sign the unsigned e2e/late under the policy (the signer reads the manifest first)" \
    ok_cmd cs sign --key cosign.key "${SIGN[@]}" "$BERTH_HOST/e2e/late@$D"
check "once signed, skopeo copy of e2e/late:v1 pulls" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$BERTH_HOST/e2e/late:v1" "oci:$E2E_TMP/pull-late:v1"

# ---- verification with trusted keys (content_trust_verify, Berth) ----------------------------
check "cosign signs e2e/foreign with the other signer's key" \
    ok_cmd cs sign --key other/cosign.key "${SIGN[@]}" "$BERTH_HOST/e2e/foreign@$D"
check "under existence-only content trust, e2e/foreign:v1 (signed by anyone) pulls: 200" \
    assert_eq 200 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/foreign/manifests/v1")" "status"
KEY_BODY=$(jq -n --arg pem "$(cat "$E2E_TMP/keys/cosign.pub")" '{name: "release", pem: $pem}')
anon_code=$(http_code_anon -X POST -H 'Content-Type: application/json' --data-binary "$KEY_BODY" "$BERTH_URL/api/v2.0/projects/e2e/trust-keys")
check "an anonymous caller cannot add a trust key to the private project (401 or 404, got $anon_code)" \
    assert_contains " 401 404 " " $anon_code "
check "and the project trusts no key yet" \
    assert_eq 0 "$(berth_api GET /projects/e2e/trust-keys 2>/dev/null | jqr 'length')" "keys"
check "POST /projects/e2e/trust-keys trusts cosign.pub (ecdsa-p256)" \
    assert_eq "cosign ecdsa-p256" "$(berth_api POST /projects/e2e/trust-keys "$KEY_BODY" 2>/dev/null | jqr '"\(.kind) \(.algorithm)"')" "kind and algorithm"
check "a private key is refused as a trust key (400)" \
    assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X POST -H 'Content-Type: application/json' \
        --data-binary "$(jq -n --arg pem "$(cat "$E2E_TMP/keys/cosign.key")" '{name: "oops", pem: $pem}')" \
        "$BERTH_URL/api/v2.0/projects/e2e/trust-keys")" "status"
check "PUT content_trust_verify = true" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"content_trust_verify":"true"}}'
check "e2e/foreign:v1, signed only by an untrusted key, answers 412 PROJECTPOLICYVIOLATION" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -u "$CREDS" "$BERTH_URL/v2/e2e/foreign/manifests/v1")" "status and code"
check "the API shows that signature as unknown_key" \
    assert_eq unknown_key "$(accessories foreign v1 'q=type%3Dsignature.cosign' | jqr '.[0].verification')" "verification"
check "e2e/signed:v1, signed with the trusted key, pulls with skopeo" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$IMG:v1" "oci:$E2E_TMP/pull-verified:v1"
check "re-signed with the trusted key, e2e/foreign:v1 pulls with skopeo" \
    ok_cmd bash -c 'cd "$1" && "$2" sign --key cosign.key --tlog-upload=false --allow-insecure-registry -y "$3" >/dev/null 2>&1 &&
        skopeo --insecure-policy copy --src-tls-verify=false --src-creds "$4" "docker://$5" "oci:$6:v1" >/dev/null' \
        _ "$E2E_TMP/keys" "$COSIGN" "$BERTH_HOST/e2e/foreign@$D" "$CREDS" "$BERTH_HOST/e2e/foreign:v1" "$E2E_TMP/pull-foreign"
check "the API now shows the foreign repository's signature as verified" \
    assert_eq verified "$(accessories foreign v1 'q=type%3Dsignature.cosign' | jqr '[.[].verification] | sort | last')" "verification"
check "PUT content_trust_verify = false" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"content_trust_verify":"false"}}'

# ---- notation-format signatures (JWS envelope, pushed with the oras SDK) ----------------------
# The notation CLI is not on the Go module proxy: tests/e2e/notation_sign.py builds its JWS
# envelope from the specification, signs with openssl (PS256) and pushes with oras.
make_ca() { # make_ca DIR NAME: a CA and a code-signing leaf it issued (RSA 2048)
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=$2 CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
    openssl req -newkey rsa:2048 -nodes -keyout "$1/leaf.key" -out "$1/leaf.csr" -subj "/CN=$2 signer" &&
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$1/leaf.ext" &&
    openssl x509 -req -in "$1/leaf.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial -days 2 \
        -extfile "$1/leaf.ext" -out "$1/leaf.pem"
}
mkdir -p "$E2E_TMP/notation/trusted" "$E2E_TMP/notation/other"
check "openssl makes a test CA and a signer, and a second (untrusted) pair" \
    ok_cmd bash -c "$(declare -f make_ca); make_ca '$E2E_TMP/notation/trusted' 'Berth test' && make_ca '$E2E_TMP/notation/other' 'Other'"
MSIZE=$(e2e_curl -sI --max-time 30 -u "$CREDS" "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/notary/manifests/v1" | tr -d '\r' | awk 'tolower($1)=="content-length:"{print $2}')
notation_sign() { # notation_sign KEYDIR REPO: the signature manifest's digest
    "${BERTH_TOOLS:-$HOME/.cache/berth-tools}/venv/bin/python" "$E2E_DIR/notation_sign.py" "$1" "$BERTH_HOST" "$2" "$D" \
        application/vnd.oci.image.manifest.v1+json "$MSIZE" "$BERTH_ADMIN_USER" "$BERTH_ADMIN_PASSWORD" 2>"$E2E_TMP/notation.err"
}
NSIG=$(notation_sign "$E2E_TMP/notation/trusted" e2e/notary) || NSIG=FAILED
check "a notation signature (JWS) of e2e/notary is pushed with oras as an OCI 1.1 referrer" \
    assert_contains "$NSIG" "sha256:"
NSIG2=$(notation_sign "$E2E_TMP/notation/other" e2e/notary2) || NSIG2=FAILED
check "and one of e2e/notary2 by the untrusted signer" assert_contains "$NSIG2" "sha256:"
check "e2e/notary lists one artifact whose accessory is the signature as signature.notation" \
    assert_eq "1 signature.notation $NSIG" "$(artifacts notary | jqr '"\(length) \(.[0].accessories[0].type) \(.[0].accessories[0].digest)"')" "artifact and accessory"
NOTARY_BODY=$(jq -n --arg pem "$(cat "$E2E_TMP/notation/trusted/ca.pem")" '{name: "test CA", pem: $pem}')
check "POST the test CA as a trust key: kind notation" \
    assert_eq notation "$(berth_api POST /projects/e2e/trust-keys "$NOTARY_BODY" 2>/dev/null | jqr '.kind')" "kind"
check "a leaf (non-CA) certificate is refused as a notation trust anchor (400)" \
    assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X POST -H 'Content-Type: application/json' \
        --data-binary "$(jq -n --arg pem "$(cat "$E2E_TMP/notation/trusted/leaf.pem")" '{name: "leaf", pem: $pem}')" \
        "$BERTH_URL/api/v2.0/projects/e2e/trust-keys")" "status"
check "the API shows the notation signature as verified (chain to the trusted CA)" \
    assert_eq verified "$(accessories notary v1 | jqr '.[0].verification')" "verification"
check "and the untrusted signer's as unknown_key" \
    assert_eq unknown_key "$(accessories notary2 v1 | jqr '.[0].verification')" "verification"
check "PUT enable_content_trust (notation) = true, content_trust_verify = true, cosign policy off" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"enable_content_trust":"true","content_trust_verify":"true","enable_content_trust_cosign":"false"}}'
check "e2e/notary:v1 (notation signature verified) pulls with skopeo" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$BERTH_HOST/e2e/notary:v1" "oci:$E2E_TMP/pull-notary:v1"
check "e2e/notary2:v1 (signed by an untrusted CA) answers 412 PROJECTPOLICYVIOLATION" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -u "$CREDS" "$BERTH_URL/v2/e2e/notary2/manifests/v1")" "status and code"
check "e2e/signed:v1 (cosign only) answers 412 under the notation policy" \
    assert_eq "412 PROJECTPOLICYVIOLATION" "$(policy_answer -u "$CREDS" "$BERTH_URL/v2/e2e/signed/manifests/v1")" "status and code"
check "PUT enable_content_trust = false, content_trust_verify = false" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"enable_content_trust":"false","content_trust_verify":"false","enable_content_trust_cosign":"true"}}'

check "PUT enable_content_trust_cosign = false turns the policy off" \
    ok_cmd berth_api PUT /projects/e2e '{"metadata":{"enable_content_trust_cosign":"false"}}'
check "with the policy off, e2e/unsigned:v1 pulls again (200)" \
    assert_eq 200 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/unsigned/manifests/v1")" "status"

# ---- copy with accessories, delete with accessories, GC, exact quota --------------------------
check "POST …/repositories/copied/artifacts?from=e2e/signed:v1 copies the image: 201" \
    assert_eq 201 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -u "$CREDS" -X POST \
        "$BERTH_URL/api/v2.0/projects/e2e/repositories/copied/artifacts?from=e2e/signed:v1")" "status"
COPIED=$(artifacts copied)
check "the copy is one artifact that brought its signature and SBOM along" \
    assert_eq "1 yes yes" "$(jqr length <<<"$COPIED") $(acc_of "$(jqr '.[0].accessories' <<<"$COPIED")" signature.cosign "$SIG_DIGEST") $(acc_of "$(jqr '.[0].accessories' <<<"$COPIED")" sbom.harbor "$SBOM_DIGEST")" "copy"
check "cosign verify of the copy succeeds" \
    ok_cmd cs verify --key cosign.pub "${VERIFY[@]}" "$BERTH_HOST/e2e/copied:v1"
check "DELETE …/repositories/signed/artifacts/<digest> deletes the signed image" \
    ok_cmd berth_api DELETE "/projects/e2e/repositories/signed/artifacts/$D"
check "its signature manifest went with it (404)" \
    assert_eq 404 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/signed/manifests/$SIG_DIGEST")" "status"
check "and its SBOM manifest (404)" \
    assert_eq 404 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/signed/manifests/$SBOM_DIGEST")" "status"
check "the copy's signature is untouched (200)" \
    assert_eq 200 "$(http_code "${ACCEPT_MANIFEST[@]}" "$BERTH_URL/v2/e2e/copied/manifests/$SIG_DIGEST")" "status"
for r in $(berth_api GET "/projects/e2e/repositories?page_size=100" 2>/dev/null | jqr '.[].name | sub("^e2e/"; "")'); do
    berth_api DELETE "/projects/e2e/repositories/$r" >/dev/null 2>&1 || true
done
E2E_PID=$(berth_api GET /projects/e2e 2>/dev/null | jqr .project_id)
check "with every repository of e2e deleted, its quota usage is exactly 0" \
    assert_eq 0 "$(berth_api GET "/quotas?reference=project&reference_id=$E2E_PID" 2>/dev/null | jqr '.[0].used.storage')" "used.storage"
sleep 1.5 # past the grace period
GC_LOC=$(curl -s -D - -o /dev/null -u "$CREDS" -H 'Content-Type: application/json' -X POST \
    --data '{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"workers":2}}' \
    "$BERTH_URL/api/v2.0/system/gc/schedule" | tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
gc_status=""
for _ in $(seq 1 150); do
    gc_status=$(berth_api GET "/system/gc/${GC_LOC##*/}" 2>/dev/null | jqr .job_status)
    [[ "$gc_status" == Success || "$gc_status" == Error ]] && break
    sleep 0.2
done
check "garbage collection runs: Success" assert_eq Success "$gc_status" "job_status"
check "its log reports the bytes it freed" \
    assert_contains "$(acurl -s "$BERTH_URL/api/v2.0/system/gc/${GC_LOC##*/}/log")" "freed"

e2e_summary signing
