#!/usr/bin/env bash
# End-to-end: the SBOM of a real Debian root filesystem.
#
#   1. mmdebstrap builds a Debian bookworm minbase root filesystem from Debian's packages
#      (about 20 s), packed as a one-layer OCI image (gzip'd tar) and pushed with skopeo;
#   2. POST …/artifacts/bookworm/scan {"scan_type":"sbom"} builds its SBOM;
#   3. the SBOM is the image's sbom.harbor accessory, pulled over /v2 like any artifact, and its
#      SPDX 2.3 package list (name, version, source package) equals `dpkg-query -W` on the root
#      filesystem's own dpkg database, exactly; the CycloneDX 1.5 document lists the same.
#
# Usage: tests/e2e/sbom.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for tool in mmdebstrap skopeo jq dpkg-query python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed (tests/setup.sh installs it)"
done

e2e_init
berth_start
berth_project e2e || die "could not create project e2e"
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"

ROOTFS=$E2E_TMP/rootfs.tar
t0=$SECONDS
check "mmdebstrap --variant=minbase bookworm builds a root filesystem" \
    bash -c "timeout 600 mmdebstrap --quiet --variant=minbase bookworm '$ROOTFS' >'$E2E_TMP/mmdebstrap.log' 2>&1"
log "mmdebstrap took $((SECONDS - t0)) s"

# One gzip'd layer, its config (rootfs.diff_ids) and manifest, as an OCI layout.
python3 - "$ROOTFS" "$E2E_TMP/layout" <<'PY'
import gzip, hashlib, json, os, shutil, sys
rootfs, out = sys.argv[1], sys.argv[2]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
def put(data: bytes) -> str:
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return d
raw = open(rootfs, "rb").read()
layer = gzip.compress(raw, compresslevel=1, mtime=0)
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + put(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + put(layer), "size": len(layer)}]}).encode()
m = put(manifest)
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + m, "size": len(manifest),
    "annotations": {"org.opencontainers.image.ref.name": "bookworm"}}]}, open(os.path.join(out, "index.json"), "w"))
PY
check "skopeo pushes the Debian image" \
    timeout 300 skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "$CREDS" \
    "oci:$E2E_TMP/layout:bookworm" "docker://$BERTH_HOST/e2e/debian:bookworm"

t1=$SECONDS
code=$(curl -s -o "$E2E_TMP/scan.out" -w '%{http_code}' --max-time 300 -u "$CREDS" -X POST \
    -H 'Content-Type: application/json' --data '{"scan_type":"sbom"}' \
    "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/scan")
check "POST …/artifacts/bookworm/scan {scan_type: sbom}: 202 ($((SECONDS - t1)) s)" assert_eq 202 "$code" "status"
check "an anonymous caller may not start a scan of the private project" \
    assert_contains " 401 404 " " $(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{"scan_type":"sbom"}' \
        "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/scan") "

ACC=$(curl -sf --max-time 30 -u "$CREDS" \
    "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/accessories?q=type%3Dsbom.harbor" || echo '[]')
SBOM_DIGEST=$(jq -r '.[0].digest // empty' <<<"$ACC")
check "the SBOM is the image's sbom.harbor accessory" assert_contains "$SBOM_DIGEST" "sha256:"
check "and not an artifact of its own" \
    assert_eq 1 "$(curl -sf --max-time 30 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts" | jq length)" "artifacts"
MAN=$(curl -sf --max-time 30 -u "$CREDS" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$BERTH_URL/v2/e2e/debian/manifests/$SBOM_DIGEST" || echo '{}')
check "its manifest holds SPDX and CycloneDX layers" \
    assert_eq "application/spdx+json application/vnd.cyclonedx+json" "$(jq -r '[.layers[].mediaType] | join(" ")' <<<"$MAN")" "layers"
curl -sf --max-time 60 -u "$CREDS" -o "$E2E_TMP/spdx.json" "$BERTH_URL/v2/e2e/debian/blobs/$(jq -r '.layers[0].digest' <<<"$MAN")" || true
curl -sf --max-time 60 -u "$CREDS" -o "$E2E_TMP/cdx.json" "$BERTH_URL/v2/e2e/debian/blobs/$(jq -r '.layers[1].digest' <<<"$MAN")" || true

mkdir -p "$E2E_TMP/db"
tar -xf "$ROOTFS" -C "$E2E_TMP/db" ./var/lib/dpkg/status
dpkg-query --admindir="$E2E_TMP/db/var/lib/dpkg" -W -f '${db:Status-Abbrev}|${Package}|${Version}|${source:Package}\n' |
    awk -F'|' '$1 ~ /^ii/ {print $2 "|" $3 "|" $4}' | sort >"$E2E_TMP/expected.txt"
jq -r '.packages[] | "\(.name)|\(.versionInfo)|\((.sourceInfo // "") | sub("^built package from: "; "") | if . == "" then null else . end)"' \
    "$E2E_TMP/spdx.json" 2>/dev/null | sort >"$E2E_TMP/spdx.raw" || true
# A package built from a source of its own name has no sourceInfo: its source is its name.
awk -F'|' '{ print $1 "|" $2 "|" ($3 == "null" ? $1 : $3) }' "$E2E_TMP/spdx.raw" | sort >"$E2E_TMP/got.txt"
log "dpkg-query lists $(wc -l <"$E2E_TMP/expected.txt") installed packages; the SBOM $(wc -l <"$E2E_TMP/got.txt")"
check "the SPDX 2.3 document is valid JSON with spdxVersion SPDX-2.3" \
    assert_eq SPDX-2.3 "$(jq -r .spdxVersion "$E2E_TMP/spdx.json" 2>/dev/null)" "spdxVersion"
check "dpkg-query finds a real package set (over 80 packages)" \
    assert_eq 1 "$(($(wc -l <"$E2E_TMP/expected.txt") > 80))" "count"
check "SPDX packages (name, version, source) equal dpkg-query -W exactly" \
    assert_same_file "$E2E_TMP/expected.txt" "$E2E_TMP/got.txt"
check "the CycloneDX 1.5 document lists the same packages" \
    assert_eq "$(cut -d'|' -f1,2 "$E2E_TMP/expected.txt" | sort | sha256sum)" \
    "$(jq -r '.components[] | "\(.name)|\(.version)"' "$E2E_TMP/cdx.json" 2>/dev/null | sort | sha256sum)" "name|version"
if ! cmp -s "$E2E_TMP/expected.txt" "$E2E_TMP/got.txt"; then
    diff "$E2E_TMP/expected.txt" "$E2E_TMP/got.txt" | head -20 >&2 || true
fi

e2e_summary sbom
