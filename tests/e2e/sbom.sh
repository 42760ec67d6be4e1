#!/usr/bin/env bash
# End-to-end: the SBOM of a real Debian root filesystem.
#
#   1. mmdebstrap builds a Debian bookworm minbase root filesystem from Debian's packages
#      (about 20 s), packed as a one-layer OCI image (gzip'd tar) and pushed with skopeo;
#   2. POST …/artifacts/bookworm/scan {"scan_type":"sbom"} builds its SBOM;
#   3. the SBOM is the image's sbom.harbor accessory, pulled over /v2 like any artifact, and its
#      SPDX 2.3 package list (name, version, source package) equals `dpkg-query -W` on the root
#      filesystem's own dpkg database, exactly; the CycloneDX 1.5 document lists the same;
#      Syft (tests/setup.sh builds it) scans the same image as an OCI layout, offline, and its
#      name+version pairs agree with Berth's on at least 99 % (both counts and the differences
#      are printed);
#   4. vulnerabilities: a fixture OSV database is written for that root filesystem (real
#      advisory ids and formats; fixed versions placed above and below the installed ones,
#      Debian "not affected" and withdrawn records, another release's advisory), half as JSON
#      files and half as a zip, and imported with `berth vulndb import` beside the running
#      server. A scan must find exactly the expected set with the expected severities; which
#      versions are affected is decided independently with `dpkg --compare-versions`;
#   5. prevent_vul: skopeo's pull gets 412 naming the CVEs; allowlisting them lets it through;
#      an expired allowlist blocks again; auto_scan scans a new push within 10 s, and
#      auto_sbom_generation gives it its SBOM.
#
# Usage: tests/e2e/sbom.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for tool in mmdebstrap skopeo jq dpkg-query python3 syft; do
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

# Syft, offline, on the same image (the OCI layout skopeo pushed).
t1=$SECONDS
check "syft scans the image (oci-dir, offline)" \
    env SYFT_CHECK_FOR_APP_UPDATE=false timeout 600 syft scan "oci-dir:$E2E_TMP/layout" -q \
    -o "spdx-json=$E2E_TMP/syft.json"
log "syft took $((SECONDS - t1)) s"
AGREE=$(python3 - "$E2E_TMP/spdx.json" "$E2E_TMP/syft.json" <<'PY'
import json, sys
def pairs(path):
    try:
        return {(p["name"], p.get("versionInfo", "")) for p in json.load(open(path))["packages"]
                # Packages with a purl; not the image itself (Syft lists it as pkg:oci/…).
                if any(r.get("referenceType") == "purl" and not r["referenceLocator"].startswith("pkg:oci/")
                       for r in p.get("externalRefs", []))}
    except (OSError, ValueError, KeyError):
        return set()
ours, syft = pairs(sys.argv[1]), pairs(sys.argv[2])
both = len(ours & syft)
print(f"Berth {len(ours)}, Syft {len(syft)}, both {both}", file=sys.stderr)
for name, version in sorted(ours - syft):
    print(f"  only Berth: {name} {version}", file=sys.stderr)
for name, version in sorted(syft - ours):
    print(f"  only Syft: {name} {version}", file=sys.stderr)
# Agreement: the pairs both list, of all the pairs either lists.
print(int(10000 * both / max(1, len(ours | syft))))
PY
)
log "Berth and Syft agree on $((AGREE / 100)).$(printf '%02d' $((AGREE % 100))) % of name+version pairs"
check "Berth's and Syft's name+version pairs agree on at least 99 %" \
    assert_eq 1 "$((AGREE >= 9900))" "agreement >= 99 %"

# ---- 4. Vulnerabilities against a fixture OSV database ----
mkdir -p "$E2E_TMP/osv/files"
python3 - "$E2E_TMP/expected.txt" "$E2E_TMP/osv" <<'PY'
import json, os, subprocess, sys, zipfile
installed, out = sys.argv[1], sys.argv[2]
pkgs = [l.rstrip("\n").split("|") for l in open(installed) if l.strip()]
by_source = {}
for name, version, source in pkgs:
    by_source.setdefault(source, []).append((name, version))
def ver(source):
    return by_source[source][0][1]
def above(v):  # a version dpkg orders after v
    return v + "+fix1"
def gt(a, b):
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
def osv(id_, source, events, eco="Debian:12", **extra):
    aff = {"package": {"ecosystem": eco, "name": source},
           "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    aff.update(extra.pop("affected_extra", {}))
    d = {"schema_version": "1.6.0", "id": id_, "modified": "2024-05-01T00:00:00Z",
         "aliases": [id_.replace("DEBIAN-", "")], "summary": f"{id_} in {source}",
         "references": [{"type": "ADVISORY", "url": f"https://security-tracker.debian.org/tracker/{id_.replace('DEBIAN-', '')}"}],
         "affected": [aff]}
    d.update(extra)
    return d
V3 = lambda v: [{"type": "CVSS_V3", "score": v}]
records = [
    # glibc, fixed above the installed version: affected, High (CVSS 7.8).
    osv("DEBIAN-CVE-2023-4911", "glibc", [{"introduced": "0"}, {"fixed": above(ver("glibc"))}],
        severity=V3("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")),
    # dpkg, fixed above: Critical (9.8).
    osv("DEBIAN-CVE-2022-1664", "dpkg", [{"introduced": "0"}, {"fixed": above(ver("dpkg"))}],
        severity=V3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")),
    # apt: open, Debian urgency "unimportant": Negligible.
    osv("DEBIAN-CVE-2011-3374", "apt", [{"introduced": "0"}],
        affected_extra={"ecosystem_specific": {"urgency": "unimportant"}}),
    # util-linux: open, urgency low.
    osv("DEBIAN-CVE-2022-0563", "util-linux", [{"introduced": "0"}],
        affected_extra={"ecosystem_specific": {"urgency": "low"}}),
    # gcc-12: last_affected is the installed version: affected, Medium (4.8).
    osv("DEBIAN-CVE-2023-4039", "gcc-12", [{"introduced": "0"}, {"last_affected": ver("gcc-12")}],
        severity=V3("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N")),
    # bash: fixed below the installed version: not affected.
    osv("DEBIAN-CVE-2022-3715", "bash", [{"introduced": "0"}, {"fixed": "5.1-1"}],
        severity=V3("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")),
    # zlib: Debian's "not affected" (fixed at 0).
    osv("DEBIAN-CVE-2023-45853", "zlib", [{"introduced": "0"}, {"fixed": "0"}],
        severity=V3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")),
    # pam: introduced after the installed version: not affected.
    osv("DEBIAN-CVE-2024-22365", "pam", [{"introduced": above(ver("pam"))}],
        severity=V3("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H")),
    # glibc in Debian 11: another release, not applied to bookworm.
    osv("DEBIAN-CVE-2021-3999", "glibc", [{"introduced": "0"}], eco="Debian:11",
        severity=V3("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")),
    # coreutils: withdrawn.
    osv("DEBIAN-CVE-2016-2781", "coreutils", [{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z"),
]
# The oracle for "affected": dpkg's own ordering, not Berth's.
assert gt(above(ver("glibc")), ver("glibc")) and gt(above(ver("dpkg")), ver("dpkg"))
assert gt(ver("bash"), "5.1-1") and gt(above(ver("pam")), ver("pam"))
sev = {"DEBIAN-CVE-2023-4911": "High", "DEBIAN-CVE-2022-1664": "Critical",
       "DEBIAN-CVE-2011-3374": "Negligible", "DEBIAN-CVE-2022-0563": "Low", "DEBIAN-CVE-2023-4039": "Medium"}
src = {"DEBIAN-CVE-2023-4911": "glibc", "DEBIAN-CVE-2022-1664": "dpkg", "DEBIAN-CVE-2011-3374": "apt",
       "DEBIAN-CVE-2022-0563": "util-linux", "DEBIAN-CVE-2023-4039": "gcc-12"}
with open(os.path.join(out, "expected-findings.txt"), "w") as f:
    for id_, source in sorted(src.items()):
        for name, _ in by_source[source]:
            f.write(f"{id_}|{name}|{sev[id_]}\n")
half = len(records) // 2
for r in records[:half]:
    json.dump(r, open(os.path.join(out, "files", r["id"] + ".json"), "w"))
with zipfile.ZipFile(os.path.join(out, "files", "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for r in records[half:]:
        z.writestr(r["id"] + ".json", json.dumps(r))
open(os.path.join(out, "files", "README.txt"), "w").write("not OSV\n")
PY
sort -o "$E2E_TMP/osv/expected-findings.txt" "$E2E_TMP/osv/expected-findings.txt"
log "expected findings: $(wc -l <"$E2E_TMP/osv/expected-findings.txt")"
# shellcheck disable=SC2086
check "berth vulndb import (OSV files and a zip) beside the running server" \
    bash -c "'$BERTH_BIN' vulndb import '$E2E_TMP/osv/files' --data-dir '$BERTH_DATA' >'$E2E_TMP/import.out' 2>&1"
cat "$E2E_TMP/import.out" >&2
check "the import counts 10 advisories, 1 withdrawn" assert_contains "$(cat "$E2E_TMP/import.out")" "10 advisories (9 affected packages, 1 withdrawn"

t1=$SECONDS
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 -u "$CREDS" -X POST \
    "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/scan")
check "POST …/scan (vulnerability, the default): 202 ($((SECONDS - t1)) s)" assert_eq 202 "$code" "status"
REPORT=$(curl -sf --max-time 30 -u "$CREDS" \
    "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/additions/vulnerabilities" || echo '{}')
jq -r '.[] | .vulnerabilities[] | "\(.id)|\(.package)|\(.severity)"' <<<"$REPORT" | sort >"$E2E_TMP/findings.txt"
check "the findings are exactly the expected set, with their severities" \
    assert_same_file "$E2E_TMP/osv/expected-findings.txt" "$E2E_TMP/findings.txt"
if ! cmp -s "$E2E_TMP/osv/expected-findings.txt" "$E2E_TMP/findings.txt"; then
    diff "$E2E_TMP/osv/expected-findings.txt" "$E2E_TMP/findings.txt" | head -20 >&2 || true
fi
check "the glibc finding names its fixed version" \
    assert_contains "$(jq -r '.[] | .vulnerabilities[] | select(.id == "DEBIAN-CVE-2023-4911") | .fix_version' <<<"$REPORT" | head -1)" "+fix1"
ART=$(curl -sf --max-time 30 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm?with_scan_overview=true" || echo '{}')
check "the artifact's scan_overview: Success, severity Critical, total = findings" \
    assert_eq "Success Critical $(wc -l <"$E2E_TMP/findings.txt")" \
    "$(jq -r '.scan_overview[] | "\(.scan_status) \(.severity) \(.summary.total)"' <<<"$ART")" "overview"

# ---- 5. Prevent vulnerable images ----
pull() { timeout 120 skopeo inspect --raw --tls-verify=false --creds "$CREDS" "docker://$BERTH_HOST/e2e/debian:bookworm" >/dev/null 2>"$E2E_TMP/pull.err"; }
refused() { ! pull; }
curl -sf -o /dev/null -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"metadata":{"prevent_vul":"true","severity":"high"}}' "$BERTH_URL/api/v2.0/projects/e2e"
check "with prevent_vul (severity high), skopeo cannot pull the image" refused
check "and the error is 412 naming the CVEs" \
    assert_contains "$(cat "$E2E_TMP/pull.err")" "CVE-2022-1664"
log "skopeo said: $(head -c 600 "$E2E_TMP/pull.err")"
curl -sf -o /dev/null -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"cve_allowlist":{"items":[{"cve_id":"CVE-2022-1664"},{"cve_id":"CVE-2023-4911"}]}}' "$BERTH_URL/api/v2.0/projects/e2e"
check "allowlisting both CVEs lets the pull through" pull
past=$(($(date +%s) - 60))
curl -sf -o /dev/null -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data "{\"cve_allowlist\":{\"expires_at\":$past,\"items\":[{\"cve_id\":\"CVE-2022-1664\"},{\"cve_id\":\"CVE-2023-4911\"}]}}" "$BERTH_URL/api/v2.0/projects/e2e"
check "an expired allowlist blocks again" refused
curl -sf -o /dev/null -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"metadata":{"severity":"critical"},"cve_allowlist":{"items":[{"cve_id":"CVE-2022-1664"}]}}' "$BERTH_URL/api/v2.0/projects/e2e"
check "at severity critical with the critical CVE allowlisted, the High one does not block" pull
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"cve_allowlist":{"items":[{"cve_id":"not a cve"}]}}' "$BERTH_URL/api/v2.0/projects/e2e")
check "a malformed allowlist entry is refused (400)" assert_eq 400 "$code" "status"

# ---- auto_scan: a new push is scanned within 10 s ----
curl -sf -o /dev/null -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"metadata":{"auto_scan":"true","auto_sbom_generation":"true","prevent_vul":"false"}}' "$BERTH_URL/api/v2.0/projects/e2e"
check "skopeo pushes the image to a second repository" \
    timeout 300 skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "$CREDS" \
    "oci:$E2E_TMP/layout:bookworm" "docker://$BERTH_HOST/e2e/auto:bookworm"
status=""
for _ in $(seq 1 20); do
    status=$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/auto/artifacts/bookworm" |
        jq -r '.scan_overview[]?.scan_status' 2>/dev/null || true)
    [[ $status == Success ]] && break
    sleep 0.5
done
check "auto_scan: a finished report within 10 s of the push" assert_eq Success "$status" "scan_status"
sboms=0
for _ in $(seq 1 20); do
    sboms=$(curl -sf --max-time 10 -u "$CREDS" \
        "$BERTH_URL/api/v2.0/projects/e2e/repositories/auto/artifacts/bookworm/accessories?q=type%3Dsbom.harbor" | jq length 2>/dev/null || echo 0)
    [[ $sboms == 1 ]] && break
    sleep 0.5
done
check "auto_sbom_generation: the SBOM accessory within 10 s of the push" assert_eq 1 "$sboms" "sbom accessories"
check "and the artifact's sbom_overview names it" \
    assert_contains "$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/auto/artifacts/bookworm" | jq -r '.sbom_overview.sbom_digest')" "sha256:"

e2e_summary sbom
