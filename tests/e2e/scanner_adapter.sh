#!/usr/bin/env bash
# End-to-end: Harbor's Pluggable Scanner API v1.2, both ways, with two Berth processes.
#
#   B  `berth scanner serve` with its own data dir and its own (fixture) vulnerability database,
#      an API key, and a scanner name of its own;
#   A  the registry (`berth serve`, another data dir, no vulnerability database at all, so a
#      finding can only come from B). A's internal_url points at a small logging proxy in front
#      of A, so the test sees what B sends A.
#
# Checks:
#   - B's answers against the adapter spec's schemas (ScannerAdapterMetadata, ScanResponse,
#     HarborVulnerabilityReport, ErrorResponse: required fields and types, written out below
#     from the spec), its content types, 302 + Refresh-After while running, 400/422/404/401;
#   - registrations in A: only system admins manage them (anonymous 401; a project admin, a
#     developer and a robot 403); the credential is masked; the built-in one cannot be deleted;
#   - B as e2e's scanner: a scan through A gives B's report (B's scanner name, the fixture's
#     CVEs), and scan_overview names B's scanner;
#   - the robot B pulled with: named robot$e2e+scanner-…, absent before, created and deleted
#     (audit log), gone after; its credential (captured by the proxy) cannot pull another
#     repository, nor the scanned one once deleted; A's audit log shows it pulled only e2e/app;
#   - prevent_vul then blocks a pull (412 naming the CVE), also for a robot that holds pull.
#
# Usage: tests/e2e/scanner_adapter.sh   (env: BERTH_BIN, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for tool in skopeo jq python3 curl; do
    command -v "$tool" >/dev/null || die "$tool is not installed (tests/setup.sh installs it)"
done

e2e_init
ADMIN="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"
KEY=adapter-key-0123456789
OTHER_PIDS=()
stop_others() {
    local p
    for p in "${OTHER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${OTHER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_others; e2e_cleanup' EXIT

# ---- the fixture: a one-layer Debian 12 image with three packages (its tar; make_layout.py
# makes the OCI layout), and OSV advisories ----------------------------------------------------
python3 - "$E2E_TMP" <<'PY'
import io, json, os, sys, tarfile
out = sys.argv[1]
files = {
    "etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    "var/lib/dpkg/status": b"".join(
        f"Package: {p}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n{s}\n".encode()
        for p, v, s in [("libc6", "2.36-9+deb12u3", "Source: glibc\n"), ("dpkg", "1.21.22", ""),
                        ("bash", "5.2.15-2+b2", "")]),
}
with tarfile.open(os.path.join(out, "rootfs.tar"), mode="w") as t:
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 0
        t.addfile(info, io.BytesIO(data))
osv = os.path.join(out, "osv")
os.makedirs(osv)
def rec(id_, pkg, events, vector):
    return {"schema_version": "1.6.0", "id": id_, "modified": "2024-05-01T00:00:00Z",
            "aliases": [id_.replace("DEBIAN-", "")], "summary": f"{id_} in {pkg}",
            "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/" + id_.replace("DEBIAN-", "")}],
            "severity": [{"type": "CVSS_V3", "score": vector}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": pkg},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}
for r in [
    rec("DEBIAN-CVE-2023-4911", "glibc", [{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}],
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"),
    rec("DEBIAN-CVE-2022-1664", "dpkg", [{"introduced": "0"}, {"fixed": "1.21.23"}],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    # Fixed below the installed bash: not a finding.
    rec("DEBIAN-CVE-2022-3715", "bash", [{"introduced": "0"}, {"fixed": "5.1-1"}],
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"),
]:
    json.dump(r, open(os.path.join(osv, r["id"] + ".json"), "w"))
open(os.path.join(out, "expected.txt"), "w").write(
    "DEBIAN-CVE-2022-1664|dpkg|Critical\nDEBIAN-CVE-2023-4911|libc6|High\n")
PY
DIGEST=$(python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layout" --tag v1 --layer-tar "$E2E_TMP/rootfs.tar" | jq -r .manifest)
[[ $DIGEST == sha256:* ]] || die "make_layout.py failed"

# ---- the spec's schemas (required fields and types), as read from the v1.2 OpenAPI document ---
cat >"$E2E_TMP/spec_check.py" <<'PY'
"""Check a JSON document against the Scanner Adapter API v1.2 schemas (scanner-adapter-openapi-v1.2.yaml):
required fields, types and enums, recursively. Usage: spec_check.py SCHEMA FILE."""
import json, sys
S, A, N = "string", "array", "number"
SCANNER = {"type": "object", "properties": {"name": {"type": S}, "vendor": {"type": S}, "version": {"type": S}}}
ARTIFACT = {"type": "object", "properties": {k: {"type": S} for k in ("repository", "digest", "tag", "mime_type")}}
SEVERITY = {"type": S, "enum": ["Unknown", "Negligible", "Low", "Medium", "High", "Critical"]}
SCHEMAS = {
    "ScannerAdapterMetadata": {"type": "object", "required": ["scanner", "capabilities"], "properties": {
        "scanner": SCANNER,
        "capabilities": {"type": A, "items": {"type": "object", "required": ["consumes_mime_types", "produces_mime_types"],
            "properties": {"type": {"type": S, "enum": ["vulnerability", "sbom"]},
                           "consumes_mime_types": {"type": A, "items": {"type": S}},
                           "produces_mime_types": {"type": A, "items": {"type": S}},
                           "additional_attributes": {"type": "object"}}}},
        "properties": {"type": "object", "additionalProperties": {"type": S}}}},
    "ScanResponse": {"type": "object", "required": ["id"], "properties": {"id": {"type": S}}},
    "ErrorResponse": {"type": "object", "properties": {"error": {"type": "object", "properties": {"message": {"type": S}}}}},
    "HarborVulnerabilityReport": {"type": "object", "properties": {
        "generated_at": {"type": S}, "artifact": ARTIFACT, "scanner": SCANNER, "severity": SEVERITY,
        "vulnerabilities": {"type": A, "items": {"type": "object", "properties": {
            "id": {"type": S}, "package": {"type": S}, "version": {"type": S}, "fix_version": {"type": S},
            "severity": SEVERITY, "description": {"type": S}, "links": {"type": A, "items": {"type": S}},
            "preferred_cvss": {"type": "object", "properties": {"score_v3": {"type": N}, "score_v2": {"type": N},
                                                                 "vector_v3": {"type": S}, "vector_v2": {"type": S}}},
            "cwe_ids": {"type": A, "items": {"type": S}}, "vendor_attributes": {"type": "object"}}}}}},
}
PY_TYPES = {"object": dict, "array": list, "string": str, "number": (int, float)}
def check(schema, v, path, errs):
    t = schema.get("type")
    if t and (not isinstance(v, PY_TYPES[t]) or isinstance(v, bool)):
        errs.append(f"{path}: expected {t}, got {json.dumps(v)[:60]}")
        return
    if "enum" in schema and v not in schema["enum"]:
        errs.append(f"{path}: {v!r} not in {schema['enum']}")
    if t == "object":
        for r in schema.get("required", []):
            if r not in v:
                errs.append(f"{path}: missing required {r}")
        for k, sub in schema.get("properties", {}).items():
            if k in v:
                check(sub, v[k], f"{path}.{k}", errs)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for k, x in v.items():
                if k not in schema.get("properties", {}):
                    check(extra, x, f"{path}.{k}", errs)
    if t == "array":
        for i, x in enumerate(v):
            check(schema.get("items", {}), x, f"{path}[{i}]", errs)
errs = []
check(SCHEMAS[sys.argv[1]], json.load(open(sys.argv[2])), sys.argv[1], errs)
for e in errs:
    print("    " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY
conforms() { python3 "$E2E_TMP/spec_check.py" "$1" "$2"; }
# api_code AUTH METHOD PATH [JSON]: the status of an /api/v2.0 call on A (AUTH user:pw, "" for
# the admin, - for anonymous).
api_code() {
    local auth=() args=()
    case "$1" in
    "") auth=(-u "$ADMIN") ;;
    -) ;;
    *) auth=(-u "$1") ;;
    esac
    [[ -n "${4:-}" ]] && args=(-H 'Content-Type: application/json' --data-binary "$4")
    curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X "$2" "${auth[@]}" "${args[@]}" "$BERTH_URL/api/v2.0$3"
}

# ---- B: the adapter -----------------------------------------------------------------------------
B_DATA=$(e2e_mktemp scanner-data)
check "B: berth vulndb import into the adapter's own store" \
    ok_cmd "$BERTH_BIN" vulndb import "$E2E_TMP/osv" --data-dir "$B_DATA"
B_PORT=$(e2e_free_port)
B_URL="http://127.0.0.1:$B_PORT"
"$BERTH_BIN" scanner serve --listen "127.0.0.1:$B_PORT" --data-dir "$B_DATA" --api-key "$KEY" \
    --scanner-name "Berth adapter B" >"$E2E_TMP/scanner.log" 2>&1 &
OTHER_PIDS+=($!)
wait_http "$B_URL/api/v1/metadata" 30 || die "berth scanner serve did not start (log: $E2E_TMP/scanner.log)"

# ---- A: the registry, behind a logging proxy for what B sends it -------------------------------
PROXY_PORT=$(e2e_free_port)
printf 'internal_url = "http://127.0.0.1:%s"\n' "$PROXY_PORT" >"$E2E_TMP/a.toml"
BERTH_CONFIG="$E2E_TMP/a.toml" berth_start
python3 - "$PROXY_PORT" "$BERTH_HOST" "$E2E_TMP/proxy.log" >"$E2E_TMP/proxy.out" 2>&1 <<'PY' &
import base64, http.client, http.server, sys, time
port, upstream, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tried = set()
def other_repo(auth):
    """While the scanner's robot lives: may its credential pull another repository?"""
    c = http.client.HTTPConnection(upstream, timeout=60)
    c.request("GET", "/v2/e2e/other/manifests/v1", headers={"Authorization": auth,
              "Accept": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse()
    r.read()
    mine = http.client.HTTPConnection(upstream, timeout=60)
    mine.request("GET", "/v2/e2e/app/manifests/v1", headers={"Authorization": auth,
                 "Accept": "application/vnd.oci.image.manifest.v1+json"})
    m = mine.getresponse()
    m.read()
    with open(logfile + ".other", "a") as f:
        f.write(f"other {r.status} app {m.status}\n")
class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "-")
        if "/e2e/slow/" in self.path:
            time.sleep(2)
        if auth.startswith("Basic ") and auth not in tried:
            tried.add(auth)
            if base64.b64decode(auth[6:]).startswith(b"robot$e2e+scanner-"):
                other_repo(auth)
        c = http.client.HTTPConnection(upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body or None, headers=headers)
        r = c.getresponse()
        data = r.read()
        with open(logfile, "a") as f:
            f.write(f"{self.command} {self.path} {auth} {r.status}\n")
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
PY
OTHER_PIDS+=($!)
wait_http "http://127.0.0.1:$PROXY_PORT/v2/" 10 || die "the logging proxy did not start"

berth_project e2e
for repo in app other; do
    check "skopeo pushes the fixture to e2e/$repo" \
        ok_cmd sk copy -q --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$E2E_TMP/layout:v1" "docker://$BERTH_HOST/e2e/$repo:v1"
done

# ---- B on its own: the spec's shapes -------------------------------------------------------------
bcurl() { curl -s --max-time 60 "$@"; }
code=$(bcurl -o /dev/null -w '%{http_code}' "$B_URL/api/v1/metadata")
check "B without the API key: 401" assert_eq 401 "$code" "status"
code=$(bcurl -o "$E2E_TMP/md.json" -D "$E2E_TMP/md.h" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$B_URL/api/v1/metadata")
check "B metadata: 200" assert_eq 200 "$code" "status"
check "... is a ScannerAdapterMetadata" conforms ScannerAdapterMetadata "$E2E_TMP/md.json"
check "... of type application/vnd.scanner.adapter.metadata+json; version=1.1" \
    assert_contains "$(tr -d '\r' <"$E2E_TMP/md.h")" "content-type: application/vnd.scanner.adapter.metadata+json; version=1.1"
check "... names its scanner, os-package-vulnerability, the vulndb date and Basic pulls" \
    assert_eq "Berth adapter B|os-package-vulnerability|true|Basic" \
    "$(jq -r '[.scanner.name, .properties["harbor.scanner-adapter/scanner-type"],
        (.properties["harbor.scanner-adapter/vulnerability-database-updated-at"] | length > 0),
        .properties["harbor.scanner-adapter/registry-authorization-type"]] | join("|")' "$E2E_TMP/md.json")"
check "... consumes OCI and Docker image manifests, produces Harbor's report types" \
    assert_eq "application/vnd.docker.distribution.manifest.v2+json application/vnd.oci.image.manifest.v1+json|application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0 application/vnd.security.vulnerability.report; version=1.1" \
    "$(jq -r '.capabilities[0] | [(.consumes_mime_types | sort | join(" ")), (.produces_mime_types | sort | join(" "))] | join("|")' "$E2E_TMP/md.json")"
code=$(bcurl -o "$E2E_TMP/e400.json" -D "$E2E_TMP/e400.h" -w '%{http_code}' -H "X-ScannerAdapter-API-Key: $KEY" -X POST --data '{"registry":' "$B_URL/api/v1/scan")
check "B: malformed scan request: 400 (Harbor's X-ScannerAdapter-API-Key header works too)" assert_eq 400 "$code" "status"
check "... an ErrorResponse with a message" bash -c "python3 '$E2E_TMP/spec_check.py' ErrorResponse '$E2E_TMP/e400.json' && jq -e '.error.message | length > 0' '$E2E_TMP/e400.json' >/dev/null"
check "... of type application/vnd.scanner.adapter.error+json; version=1.0" \
    assert_contains "$(tr -d '\r' <"$E2E_TMP/e400.h")" "content-type: application/vnd.scanner.adapter.error+json; version=1.0"
req() { # req MIME AUTHORIZATION
    jq -cn --arg url "$BERTH_URL" --arg auth "$2" --arg d "$DIGEST" --arg m "$1" \
        '{registry: {url: $url, authorization: $auth}, artifact: {repository: "e2e/app", digest: $d, tag: "v1", mime_type: $m}}'
}
code=$(bcurl -o "$E2E_TMP/e422.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" -X POST \
    --data "$(req application/vnd.oci.image.index.v1+json "")" "$B_URL/api/v1/scan")
check "B: an index (not consumed): 422 ErrorResponse" bash -c "[[ $code == 422 ]] && python3 '$E2E_TMP/spec_check.py' ErrorResponse '$E2E_TMP/e422.json'"
code=$(bcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$B_URL/api/v1/scan/no-such-scan/report")
check "B: report of an unknown id: 404" assert_eq 404 "$code" "status"
# A direct scan, pulling from A with the admin's Basic credentials.
BASIC="Basic $(printf '%s' "$ADMIN" | base64 -w0)"
code=$(bcurl -o "$E2E_TMP/scan.json" -D "$E2E_TMP/scan.h" -w '%{http_code}' -H "Authorization: Bearer $KEY" -X POST \
    -H 'Content-Type: application/vnd.scanner.adapter.scan.request+json; version=1.1' \
    --data "$(req application/vnd.oci.image.manifest.v1+json "$BASIC")" "$B_URL/api/v1/scan")
check "B: POST /scan: 202" assert_eq 202 "$code" "status"
check "... a ScanResponse" conforms ScanResponse "$E2E_TMP/scan.json"
check "... of type application/vnd.scanner.adapter.scan.response+json; version=1.0" \
    assert_contains "$(tr -d '\r' <"$E2E_TMP/scan.h")" "content-type: application/vnd.scanner.adapter.scan.response+json; version=1.0"
ID=$(jq -r .id "$E2E_TMP/scan.json")
for _ in $(seq 1 100); do
    code=$(bcurl -o "$E2E_TMP/report.json" -D "$E2E_TMP/report.h" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Accept: application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0' "$B_URL/api/v1/scan/$ID/report")
    [[ $code == 302 ]] || break
    sleep 0.2
done
check "B: then 200" assert_eq 200 "$code" "status"
check "... a HarborVulnerabilityReport" conforms HarborVulnerabilityReport "$E2E_TMP/report.json"
check "... of the type asked for" \
    assert_contains "$(tr -d '\r' <"$E2E_TMP/report.h")" "content-type: application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
jq -r '.vulnerabilities[] | "\(.id)|\(.package)|\(.severity)"' "$E2E_TMP/report.json" | sort >"$E2E_TMP/direct.txt"
check "... with exactly the fixture's findings" assert_same_file "$E2E_TMP/expected.txt" "$E2E_TMP/direct.txt"
check "... for the artifact as A names it" \
    assert_eq "e2e/app|$DIGEST|Berth adapter B" "$(jq -r '[.artifact.repository, .artifact.digest, .scanner.name] | join("|")' "$E2E_TMP/report.json")"
code=$(bcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Accept: text/csv' "$B_URL/api/v1/scan/$ID/report")
check "B: a report type it does not produce: 501" assert_eq 501 "$code" "status"
# Through the proxy, whose e2e/slow answers after 2 s (and A has no e2e/slow): 302 meanwhile.
SLOW=$(jq -cn --arg url "http://127.0.0.1:$PROXY_PORT" --arg auth "$BASIC" --arg d "$DIGEST" \
    '{registry: {url: $url, authorization: $auth}, artifact: {repository: "e2e/slow", digest: $d, mime_type: "application/vnd.oci.image.manifest.v1+json"}}')
ID2=$(bcurl -H "Authorization: Bearer $KEY" -X POST --data "$SLOW" "$B_URL/api/v1/scan" | jq -r .id)
saw302=no
for _ in $(seq 1 100); do
    code=$(bcurl -o "$E2E_TMP/e500.json" -D "$E2E_TMP/e500.h" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$B_URL/api/v1/scan/$ID2/report")
    if [[ $code == 302 ]]; then
        grep -qi '^refresh-after: [0-9]' "$E2E_TMP/e500.h" && saw302=yes
        sleep 0.2
        continue
    fi
    break
done
check "B: the report is 302 + Refresh-After while the scan runs" assert_eq yes "$saw302" "302 seen"
check "B: a scan whose pull fails (no such repository) ends in 500 with an ErrorResponse naming it" \
    bash -c "[[ $code == 500 ]] && python3 '$E2E_TMP/spec_check.py' ErrorResponse '$E2E_TMP/e500.json' && grep -qi 'not found' '$E2E_TMP/e500.json'"

# ---- registrations in A: who may manage them ------------------------------------------------------
berth_api POST /users '{"username":"padmin","email":"p@example.com","realname":"P","password":"Padmin-Pass-1"}' >/dev/null
berth_api POST /users '{"username":"dev","email":"d@example.com","realname":"D","password":"Dev-Pass-123"}' >/dev/null
berth_api POST /projects/e2e/members '{"role_id":1,"member_user":{"username":"padmin"}}' >/dev/null
berth_api POST /projects/e2e/members '{"role_id":2,"member_user":{"username":"dev"}}' >/dev/null
ROBOT=$(berth_api POST /robots '{"name":"puller","level":"project","duration":1,"permissions":[{"kind":"project","namespace":"e2e","access":[{"resource":"repository","action":"pull"}]}]}')
ROBOT_AUTH="$(jq -r .name <<<"$ROBOT"):$(jq -r .secret <<<"$ROBOT")"
REG_BODY=$(jq -cn --arg url "$B_URL" --arg key "$KEY" \
    '{name: "b", description: "berth scanner serve", url: $url, auth: "Bearer", access_credential: $key, use_internal_addr: true}')
for who in "-|401" "padmin:Padmin-Pass-1|403" "dev:Dev-Pass-123|403" "$ROBOT_AUTH|403"; do
    auth=${who%|*} want=${who##*|}
    name=${auth%%:*}
    check "register a scanner as ${name/-/anonymous}: $want" assert_eq "$want" "$(api_code "$auth" POST /scanners "$REG_BODY")" status
    check "list scanners as ${name/-/anonymous}: $want" assert_eq "$want" "$(api_code "$auth" GET /scanners)" status
    check "set the default scanner as ${name/-/anonymous}: $want" assert_eq "$want" "$(api_code "$auth" PATCH /scanners/builtin '{"is_default":true}')" status
done
code=$(http_code -X POST -H 'Content-Type: application/json' --data "$REG_BODY" "$BERTH_URL/api/v2.0/scanners")
check "the system admin registers B: 201" assert_eq 201 "$code" "status"
LIST=$(berth_api GET /scanners)
UUID=$(jq -r '.[] | select(.name == "b") | .uuid' <<<"$LIST")
check "the list shows the built-in scanner (the default) and B" \
    assert_eq "builtin true|$UUID false" "$(jq -r '[.[] | "\(.uuid) \(.is_default)"] | join("|")' <<<"$LIST")"
check "B's access_credential is masked" assert_eq "*****" "$(jq -r '.[] | select(.name == "b") | .access_credential' <<<"$LIST")"
check "the key is nowhere in A's answers" assert_not_contains "$LIST$(berth_api GET "/scanners/$UUID")" "$KEY"
check "ping B through A" ok_cmd berth_api POST /scanners/ping "$(jq -c '{name, url, auth, access_credential}' <<<"$REG_BODY")"
check "B's metadata through A" \
    assert_eq "Berth adapter B" "$(berth_api GET "/scanners/$UUID/metadata" | jq -r .scanner.name)"
check "the built-in scanner cannot be deleted (412)" assert_eq 412 "$(api_code "" DELETE /scanners/builtin)" status
check "... nor changed (400)" assert_eq 400 "$(api_code "" PUT /scanners/builtin "$REG_BODY")" status
check "the system default: B, then the built-in scanner again" \
    assert_eq "200 $UUID 200 builtin" "$(api_code "" PATCH "/scanners/$UUID" '{"is_default":true}') $(berth_api GET /scanners | jq -r '.[] | select(.is_default) | .uuid') $(api_code "" PATCH /scanners/builtin '{"is_default":true}') $(berth_api GET /scanners | jq -r '.[] | select(.is_default) | .uuid')"
check "a developer cannot choose e2e's scanner (403)" \
    assert_eq 403 "$(api_code dev:Dev-Pass-123 PUT /projects/e2e/scanner "{\"uuid\":\"$UUID\"}")" status
ROBOTS_BEFORE=$(berth_api GET "/robots?q=Level%3Dproject,ProjectID%3D$(berth_api GET /projects/e2e | jq .project_id)" | jq -r '[.[].name] | join(" ")')
check "e2e's project admin chooses B as e2e's scanner (200)" \
    assert_eq 200 "$(api_code padmin:Padmin-Pass-1 PUT /projects/e2e/scanner "{\"uuid\":\"$UUID\"}")" status
check "GET /projects/e2e/scanner is B" assert_eq "$UUID" "$(berth_api GET /projects/e2e/scanner | jq -r .uuid)"
check "the candidates are the built-in scanner and B" \
    assert_eq "builtin $UUID" "$(berth_api GET /projects/e2e/scanner/candidates | jq -r '[.[].uuid] | join(" ")')"

# A scan is a job: POST …/scan answers 202 at once. scan_done REF waits (60 s at most) until the
# artifact's scan is over (its scan_overview left Pending and Running) and prints the status.
scan_done() {
    local st="" i
    for i in $(seq 1 120); do
        st=$(berth_api GET "/projects/e2e/repositories/app/artifacts/$1?with_scan_overview=true" | jq -r '[.scan_overview[]?] | .[0].scan_status // ""')
        [[ $st == Pending || $st == Running || -z $st ]] || break
        sleep 0.5
    done
    printf '%s' "$st"
}

# ---- a scan through B --------------------------------------------------------------------------
: >"$E2E_TMP/proxy.log"
t0=$SECONDS
code=$(http_code --max-time 120 -X POST "$BERTH_URL/api/v2.0/projects/e2e/repositories/app/artifacts/v1/scan")
check "POST …/app/artifacts/v1/scan on A: 202 ($((SECONDS - t0)) s)" assert_eq 202 "$code" "status"
check "... the scan job succeeds" assert_eq Success "$(scan_done v1)" "scan_status"
log "scan through B finished $((SECONDS - t0)) s after the request"
VULN=$(berth_api GET /projects/e2e/repositories/app/artifacts/v1/additions/vulnerabilities)
jq -r '.[] | .vulnerabilities[] | "\(.id)|\(.package)|\(.severity)"' <<<"$VULN" | sort >"$E2E_TMP/through_a.txt"
check "A's report is B's: the fixture's findings (A has no vulnerability database)" \
    assert_same_file "$E2E_TMP/expected.txt" "$E2E_TMP/through_a.txt"
check "... by B's scanner" assert_eq "Berth adapter B" "$(jq -r '.[] | .scanner.name' <<<"$VULN" | head -1)"
ART=$(berth_api GET "/projects/e2e/repositories/app/artifacts/v1?with_scan_overview=true")
check "scan_overview: Success, Critical, 2 findings, by B's scanner" \
    assert_eq "Success Critical 2 Berth adapter B" \
    "$(jq -r '[.scan_overview[]] | .[0] | "\(.scan_status) \(.severity) \(.summary.total) \(.scanner.name)"' <<<"$ART")"

# What B sent A: the robot's Basic credential.
AUTHS=$(awk '$3 == "Basic" {print $4}' "$E2E_TMP/proxy.log" | sort -u)
OTHER=$(cat "$E2E_TMP/proxy.log.other" 2>/dev/null || true)
check "while it lived, the robot's credential pulled e2e/app (200) but not e2e/other (403)" \
    assert_eq "other 403 app 200" "$OTHER" "status of e2e/other and e2e/app"
SCANNER_CRED=$(head -1 <<<"$AUTHS" | base64 -d 2>/dev/null || true)
SCANNER_ROBOT=${SCANNER_CRED%%:*}
log "B pulled as $SCANNER_ROBOT ($(wc -l <"$E2E_TMP/proxy.log") requests through the proxy)"
check "B pulled from A as one robot named robot\$e2e+scanner-…" \
    bash -c "[[ $(wc -l <<<"$AUTHS") == 1 && '$SCANNER_ROBOT' == 'robot\$e2e+scanner-'* ]]"
check "that robot did not exist before the scan" assert_not_contains " $ROBOTS_BEFORE " " $SCANNER_ROBOT "
check "... and is gone after it" assert_not_contains "$(berth_api GET '/robots?page_size=100' 2>/dev/null; berth_api GET "/robots?q=Level%3Dproject,ProjectID%3D$(berth_api GET /projects/e2e | jq .project_id)")" "scanner-"
LOGS=$(berth_api GET '/audit-logs?page_size=100')
check "A's audit log: the robot was created and deleted" \
    assert_eq "create delete" "$(jq -r --arg r "$SCANNER_ROBOT" '[.[] | select(.resource == $r) | .operation] | sort | join(" ")' <<<"$LOGS")"
check "A's audit log: it pulled only e2e/app" \
    assert_eq "e2e/app" "$(jq -r --arg r "$SCANNER_ROBOT" '[.[] | select(.username == $r and .operation == "pull") | .resource | split(":")[0] | split("@")[0]] | unique | join(" ")' <<<"$LOGS")"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "${SCANNER_CRED:-none:none}" "$BERTH_URL/v2/e2e/app/manifests/v1")
check "its credential no longer pulls e2e/app (deleted): 401" assert_eq 401 "$code" "status"

# ---- prevent_vul: the scanner's robot passes; others do not -------------------------------------
berth_api PUT /projects/e2e '{"metadata":{"prevent_vul":"true","severity":"high"}}' >/dev/null
code=$(curl -s -o "$E2E_TMP/pv.out" -w '%{http_code}' -u "$ADMIN" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$BERTH_URL/v2/e2e/app/manifests/v1")
check "prevent_vul (high): the admin's pull of e2e/app is refused (412)" assert_eq 412 "$code" "status"
check "... naming the CVE B found" assert_contains "$(cat "$E2E_TMP/pv.out")" "CVE-2022-1664"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$ROBOT_AUTH" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$BERTH_URL/v2/e2e/app/manifests/v1")
check "... and a robot holding pull does not pass either (412)" assert_eq 412 "$code" "status"
: >"$E2E_TMP/proxy.log"
code=$(http_code --max-time 120 -X POST "$BERTH_URL/api/v2.0/projects/e2e/repositories/app/artifacts/v1/scan")
check "a rescan under prevent_vul is queued (202)" assert_eq 202 "$code" "status"
check "... and succeeds: the scanner's robot passes the policy" assert_eq Success "$(scan_done v1)" "scan_status"
check "... its pull got the manifest (200 through the proxy, no 412)" \
    bash -c "grep -E '^GET /v2/e2e/app/manifests/[^ ]+ Basic [^ ]+ 200$' '$E2E_TMP/proxy.log' >/dev/null && ! grep -q ' 412$' '$E2E_TMP/proxy.log'"

# ---- C: an adapter that asks for Bearer tokens (Berth's token service) instead ------------------
C_DATA=$(e2e_mktemp scanner-c-data)
check "C: its own vulnerability database" ok_cmd "$BERTH_BIN" vulndb import "$E2E_TMP/osv" --data-dir "$C_DATA"
C_PORT=$(e2e_free_port)
"$BERTH_BIN" scanner serve --listen "127.0.0.1:$C_PORT" --data-dir "$C_DATA" --registry-auth Bearer \
    --scanner-name "Berth adapter C" >"$E2E_TMP/scanner-c.log" 2>&1 &
OTHER_PIDS+=($!)
wait_http "http://127.0.0.1:$C_PORT/api/v1/metadata" 30 || die "the second adapter did not start"
C_UUID=$(acurl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data "{\"name\":\"c\",\"url\":\"http://127.0.0.1:$C_PORT\",\"use_internal_addr\":true}" \
    "$BERTH_URL/api/v2.0/scanners" | tr -d '\r' | sed -n 's|^location: /api/v2.0/scanners/||Ip')
check "C registered (no auth)" assert_contains "$C_UUID" "-"
check "C is e2e's scanner now" assert_eq 200 "$(api_code "" PUT /projects/e2e/scanner "{\"uuid\":\"$C_UUID\"}")" status
: >"$E2E_TMP/proxy.log"
code=$(http_code --max-time 120 -X POST "$BERTH_URL/api/v2.0/projects/e2e/repositories/app/artifacts/v1/scan")
check "a scan through C: 202" assert_eq 202 "$code" "status"
check "... the scan job succeeds" assert_eq Success "$(scan_done v1)" "scan_status"
VULN=$(berth_api GET /projects/e2e/repositories/app/artifacts/v1/additions/vulnerabilities)
check "... the report is C's, with the fixture's findings" \
    assert_eq "Berth adapter C 2" "$(jq -r '.[] | "\(.scanner.name) \(.vulnerabilities | length)"' <<<"$VULN")"
SUB=$(awk '$1 == "GET" && $2 ~ "^/v2/e2e/app/manifests/" && $3 == "Bearer" {print $4}' "$E2E_TMP/proxy.log" | head -1 |
    python3 -c 'import base64, json, sys; p = sys.stdin.read().strip().split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sub"])' 2>/dev/null || true)
check "C pulled with a token of A's token service issued to a scanner robot" assert_contains "$SUB" 'robot$e2e+scanner-'
check "... which is gone after the scan" \
    assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(awk '$3 == "Bearer" {print $4}' "$E2E_TMP/proxy.log" | head -1)" "$BERTH_URL/v2/e2e/app/manifests/v1")" status
check "scan_overview follows the project's scanner: C's" \
    assert_eq "Berth adapter C" "$(berth_api GET "/projects/e2e/repositories/app/artifacts/v1?with_scan_overview=true" | jq -r '[.scan_overview[]][0].scanner.name')"
# An index through an adapter: each image it lists, and the union for the index.
SIZE=$(wc -c <"$E2E_TMP/layout/blobs/sha256/${DIGEST#sha256:}")
INDEX=$(jq -cn --arg d "$DIGEST" --argjson s "$SIZE" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}]}')
code=$(acurl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
    --data-binary "$INDEX" "$BERTH_URL/v2/e2e/app/manifests/multi")
check "an index of the image is pushed (201)" assert_eq 201 "$code" status
code=$(http_code --max-time 120 -X POST "$BERTH_URL/api/v2.0/projects/e2e/repositories/app/artifacts/multi/scan")
check "a scan of the index through C: 202" assert_eq 202 "$code" "status"
check "... the scan job succeeds" assert_eq Success "$(scan_done multi)" "scan_status"
check "... the index's report is the union of its images' (C's, 2 findings, Critical)" \
    assert_eq "Berth adapter C 2 Critical" \
    "$(berth_api GET /projects/e2e/repositories/app/artifacts/multi/additions/vulnerabilities | jq -r '.[] | "\(.scanner.name) \(.vulnerabilities | length) \(.severity)"')"

# ---- an adapter that is not there: the scan fails naming it ------------------------------------
DOWN_UUID=$(acurl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data "{\"name\":\"down\",\"url\":\"http://127.0.0.1:$(e2e_free_port)\"}" \
    "$BERTH_URL/api/v2.0/scanners" | tr -d '\r' | sed -n 's|^location: /api/v2.0/scanners/||Ip')
api_code "" PUT /projects/e2e/scanner "{\"uuid\":\"$DOWN_UUID\"}" >/dev/null
code=$(acurl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$BERTH_URL/api/v2.0/projects/e2e/repositories/app/artifacts/v1/scan")
check "a scan through an unreachable adapter is queued (202)" assert_eq 202 "$code" "status"
check "... and ends in Error" assert_eq Error "$(scan_done v1)" "scan_status"
berth_api GET /projects/e2e/repositories/app/artifacts/v1/scan/latest/log >"$E2E_TMP/down.log" 2>/dev/null || true
check "... its log (…/scan/{report_id}/log) names the adapter" \
    grep -q 'scanner adapter http://127.0.0.1' "$E2E_TMP/down.log"
check "... and A's audit log has SCANNING_FAILED for it" \
    assert_contains "$(berth_api GET '/auditlog-exts?q=event_type%3DSCANNING_FAILED')" "e2e/app@sha256:"
check "... and leaves no robot behind" \
    assert_not_contains "$(berth_api GET "/robots?q=Level%3Dproject,ProjectID%3D$(berth_api GET /projects/e2e | jq .project_id)")" "scanner-"

check "no log line carries the adapter's key or the scanner robot's secret" \
    bash -c "! grep -qF -e '$KEY' -e '${SCANNER_CRED#*:}' '$BERTH_LOG' '$E2E_TMP/scanner.log' '$E2E_TMP/scanner-c.log'"

e2e_summary scanner_adapter
