#!/usr/bin/env bash
# End-to-end: the SBOM of a real Debian root filesystem.
#
#   1. mmdebstrap builds a Debian bookworm minbase root filesystem from Debian's packages
#      (about 20 s), packed as a one-layer OCI image (gzip'd tar) and pushed with skopeo;
#   2. POST …/artifacts/bookworm/scan {"scan_type":"sbom"} queues a job that builds its SBOM;
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
#   4b. the security hub (/vul/summary, /vuls) counts and lists those findings; a developer
#      cannot read it but exports its project's CVEs as CSV through a job (/export/cve);
#      scan all scans every artifact and reports metrics; PUT /system/vulndb imports the zip;
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

# wait_until SECONDS CMD...: run CMD every half second until it succeeds (scans are jobs).
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
# scan_status REPO: the artifact bookworm's vulnerability scan status.
scan_status() {
    curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/$1/artifacts/bookworm?with_scan_overview=true" |
        jq -r '.scan_overview[]?.scan_status' 2>/dev/null || true
}
scanned() { [[ $(scan_status "$1") == "$2" ]]; }
report_id() {
    curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/$1/artifacts/bookworm?with_scan_overview=true" |
        jq -r '.scan_overview[]?.report_id' 2>/dev/null || true
}
# rescanned REPO OLD_ID: a new report (another id) that succeeded.
rescanned() { [[ $(report_id "$1") != "$2" ]] && scanned "$1" Success; }
sbom_count() {
    curl -sf --max-time 10 -u "$CREDS" \
        "$BERTH_URL/api/v2.0/projects/e2e/repositories/$1/artifacts/bookworm/accessories?q=type%3Dsbom.harbor" | jq length 2>/dev/null || echo 0
}
has_sbom() { [[ $(sbom_count "$1") == 1 ]]; }
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"

ROOTFS=$E2E_TMP/rootfs.tar
t0=$SECONDS
check "mmdebstrap --variant=minbase bookworm builds a root filesystem" \
    bash -c "timeout 600 mmdebstrap --quiet --variant=minbase bookworm '$ROOTFS' >'$E2E_TMP/mmdebstrap.log' 2>&1"
log "mmdebstrap took $((SECONDS - t0)) s"

# One gzip'd layer, its config (rootfs.diff_ids) and manifest, as an OCI layout.
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layout" --tag bookworm --layer-tar "$ROOTFS" >/dev/null ||
    die "make_layout.py failed"
check "skopeo pushes the Debian image" \
    timeout 300 skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "$CREDS" \
    "oci:$E2E_TMP/layout:bookworm" "docker://$BERTH_HOST/e2e/debian:bookworm"

t1=$SECONDS
code=$(curl -s -o "$E2E_TMP/scan.out" -w '%{http_code}' --max-time 300 -u "$CREDS" -X POST \
    -H 'Content-Type: application/json' --data '{"scan_type":"sbom"}' \
    "$BERTH_URL/api/v2.0/projects/e2e/repositories/debian/artifacts/bookworm/scan")
check "POST …/artifacts/bookworm/scan {scan_type: sbom}: 202, queued ($((SECONDS - t1)) s)" assert_eq 202 "$code" "status"
check "the SBOM job stores the accessory" wait_until 120 has_sbom debian
log "SBOM built $((SECONDS - t1)) s after the request"
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
check "POST …/scan (vulnerability, the default): 202, queued ($((SECONDS - t1)) s)" assert_eq 202 "$code" "status"
check "the scan job finishes with Success" wait_until 120 scanned debian Success
log "scan finished $((SECONDS - t1)) s after the request"
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

# ---- 4b. Security hub, CVE export, scan all, the vulnerability database over the API ----
NFIND=$(wc -l <"$E2E_TMP/findings.txt")
SUMMARY=$(curl -sf --max-time 30 -u "$CREDS" "$BERTH_URL/api/v2.0/vul/summary?with_dangerous_cve=true&with_dangerous_artifact=true" || echo '{}')
check "/vul/summary counts every finding of the one scanned artifact" \
    assert_eq "$NFIND 1" "$(jq -r '"\(.total_vuls) \(.scanned_cnt)"' <<<"$SUMMARY")" "total_vuls scanned_cnt"
check "and its critical count is the report's" \
    assert_eq "$(grep -c '|Critical$' "$E2E_TMP/findings.txt")" "$(jq -r .critical_cnt <<<"$SUMMARY")" "critical_cnt"
check "the most dangerous CVE is the critical dpkg one" \
    assert_eq DEBIAN-CVE-2022-1664 "$(jq -r '.dangerous_cves[0].cve_id' <<<"$SUMMARY")" "dangerous_cves[0]"
VULS_HDR="$E2E_TMP/vuls.hdr"
VULS=$(curl -sf --max-time 30 -D "$VULS_HDR" -u "$CREDS" "$BERTH_URL/api/v2.0/vuls?q=severity%3DHigh&page_size=100" || echo '[]')
check "/vuls?q=severity=High lists the High findings, with tags" \
    assert_eq "$(grep -c '|High$' "$E2E_TMP/findings.txt") bookworm" "$(jq -r 'length' <<<"$VULS") $(jq -r '.[0].tags[0]' <<<"$VULS")" "count tag"
check "and says how many in X-Total-Count" \
    assert_contains "$(tr -d '\r' <"$VULS_HDR" | tr 'A-Z' 'a-z')" "x-total-count: $(grep -c '|High$' "$E2E_TMP/findings.txt")"
check "an unknown /vuls query key is a 400 in Harbor's envelope" \
    assert_contains "$(curl -s --max-time 30 -u "$CREDS" "$BERTH_URL/api/v2.0/vuls?q=owner%3Dme")" '"code":"BAD_REQUEST"'

# A developer of the project: no security hub, but its own CVE export.
curl -sf -o /dev/null -u "$CREDS" -X POST -H 'Content-Type: application/json' \
    --data '{"username":"dev","email":"dev@example.com","realname":"Dev","password":"Dev-pass-1"}' "$BERTH_URL/api/v2.0/users"
curl -sf -o /dev/null -u "$CREDS" -X POST -H 'Content-Type: application/json' \
    --data '{"role_id":2,"member_user":{"username":"dev"}}' "$BERTH_URL/api/v2.0/projects/e2e/members"
DEV=dev:Dev-pass-1
check "a developer may not read the security hub (403)" \
    assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' -u "$DEV" "$BERTH_URL/api/v2.0/vul/summary")" "status"
check "nor upload to the vulnerability database (403)" \
    assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' -u "$DEV" -X PUT --data-binary '{}' "$BERTH_URL/api/v2.0/system/vulndb")" "status"
check "nor start scan all (403)" \
    assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' -u "$DEV" -X POST -H 'Content-Type: application/json' \
        --data '{"schedule":{"type":"Manual"}}' "$BERTH_URL/api/v2.0/system/scanAll/schedule")" "status"
PID=$(curl -sf --max-time 30 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e" | jq -r .project_id)
EXPORT=$(curl -sf --max-time 30 -u "$DEV" -X POST -H 'Content-Type: application/json' \
    --data "{\"job_name\":\"e2e\",\"projects\":[$PID],\"repositories\":\"**\",\"tags\":\"**\",\"cveIds\":\"\"}" \
    "$BERTH_URL/api/v2.0/export/cve" || echo '{}')
EXPORT_ID=$(jq -r '.id // empty' <<<"$EXPORT")
check "the developer starts a CVE export of the project: {id}" \
    assert_eq 1 "$([[ $EXPORT_ID =~ ^[0-9]+$ ]] && echo 1 || echo 0)" "numeric id in $EXPORT"
export_done() {
    [[ $(curl -sf --max-time 10 -u "$DEV" "$BERTH_URL/api/v2.0/export/cve/execution/$EXPORT_ID" | jq -r '.file_present' 2>/dev/null) == true ]]
}
check "the export job finishes with its file" wait_until 60 export_done
curl -sf --max-time 30 -u "$DEV" -D "$E2E_TMP/export.hdr" -o "$E2E_TMP/export.csv" "$BERTH_URL/api/v2.0/export/cve/download/$EXPORT_ID" || true
check "the CSV has a header and one row per finding" \
    assert_eq "$((NFIND + 1))" "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' "$E2E_TMP/export.csv" 2>/dev/null)" "rows"
check "its CVE column is the report's CVEs" \
    assert_eq "$(cut -d'|' -f1 "$E2E_TMP/findings.txt" | sort | sha256sum)" \
    "$(python3 -c 'import csv,sys; print("\n".join(r[4] for r in list(csv.reader(open(sys.argv[1], newline="")))[1:]))' "$E2E_TMP/export.csv" | sort | sha256sum)" "CVE ids"
check "it is a named attachment" assert_contains "$(cat "$E2E_TMP/export.hdr")" 'filename="e2e.csv"'
check "the admin's export list does not show the developer's export" \
    assert_eq 0 "$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/export/cve/executions" | jq '.items | length')" "admin's exports"
check "an anonymous caller cannot download it" \
    assert_contains " 401 404 " " $(curl -s -o /dev/null -w '%{http_code}' "$BERTH_URL/api/v2.0/export/cve/download/$EXPORT_ID") "

# Scan all: every artifact, with metrics; then a stop.
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X POST -H 'Content-Type: application/json' \
    --data '{"schedule":{"type":"Manual"}}' "$BERTH_URL/api/v2.0/system/scanAll/schedule")
check "POST /system/scanAll/schedule (Manual): 201" assert_eq 201 "$code" "status"
scan_all_done() {
    [[ $(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/scans/all/metrics" | jq -r '"\(.ongoing) \(.trigger)"' 2>/dev/null) == "false MANUAL" ]]
}
check "scan all finishes" wait_until 120 scan_all_done
METRICS=$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/scans/all/metrics" || echo '{}')
check "its metrics: 1 artifact, 1 Success" \
    assert_eq "1 1 1" "$(jq -r '"\(.total) \(.completed) \(.metrics.Success)"' <<<"$METRICS")" "total completed Success"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X PUT -H 'Content-Type: application/json' \
    --data '{"schedule":{"type":"Custom","cron":"0 0 4 * * *"}}' "$BERTH_URL/api/v2.0/system/scanAll/schedule")
check "a cron schedule for scan all: 200" assert_eq 200 "$code" "status"
check "and it is shown" assert_eq "0 0 4 * * *" \
    "$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/system/scanAll/schedule" | jq -r .schedule.cron)" "cron"
check "stopping scan all when none runs: 404" \
    assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X POST "$BERTH_URL/api/v2.0/system/scanAll/stop")" "status"

# The vulnerability database over the API: the same zip `berth vulndb import` read.
ZIP=$(find "$E2E_TMP/osv/files" -name '*.zip' | head -1)
before=$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/system/vulndb" | jq -r .updated_at)
check "GET /system/vulndb names the last import (vulnerability-database-updated-at)" assert_contains "$before" "T"
sleep 1
IMPORTED=$(curl -sf --max-time 120 -u "$CREDS" -X PUT -H 'Content-Type: application/zip' --data-binary "@$ZIP" \
    "$BERTH_URL/api/v2.0/system/vulndb" || echo '{}')
check "PUT /system/vulndb imports an OSV zip" assert_eq 1 "$(($(jq -r '.advisories // 0' <<<"$IMPORTED") > 0))" "advisories > 0"
check "and moves updated_at" assert_eq 1 \
    "$([[ $(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/system/vulndb" | jq -r .updated_at) > $before ]] && echo 1 || echo 0)" "newer"
check "a body that is not OSV is refused (400) and changes nothing" \
    assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' -u "$CREDS" -X PUT --data-binary 'hello' "$BERTH_URL/api/v2.0/system/vulndb")" "status"

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
BEFORE_AUTO=$(report_id debian)
check "skopeo pushes the image to a second repository" \
    timeout 300 skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "$CREDS" \
    "oci:$E2E_TMP/layout:bookworm" "docker://$BERTH_HOST/e2e/auto:bookworm"
check "auto_scan: a new finished report within 10 s of the push" wait_until 10 rescanned auto "$BEFORE_AUTO"
check "auto_sbom_generation: the SBOM accessory within 10 s of the push" wait_until 10 has_sbom auto
check "and the artifact's sbom_overview names it" \
    assert_contains "$(curl -sf --max-time 10 -u "$CREDS" "$BERTH_URL/api/v2.0/projects/e2e/repositories/auto/artifacts/bookworm" | jq -r '.sbom_overview.sbom_digest')" "sha256:"

e2e_summary sbom
