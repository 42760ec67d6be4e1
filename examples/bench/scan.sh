#!/usr/bin/env bash
# What scanning a large image costs: SBOM and vulnerability scan time and the server's memory
# for an image of about 500 MB, on `berth serve` (release, SQLite + filesystem on /dev/shm).
#
# The image: a Debian bookworm minbase root filesystem from mmdebstrap (gzip'd layer) plus a
# layer of incompressible files (plain tar) that brings it to about 500 MB. The vulnerability
# database: OSV_RECORDS synthetic advisories (a zip, as OSV publishes them) for made-up packages,
# plus one per installed source package, imported with `berth vulndb import` beside the server.
# Printed: import time, the SBOM and scan times, and the server's RSS before and its peak
# (VmHWM) after; layers are streamed, so the peak should not grow with the image.
#
#   cargo build --release -p registry-http && bash examples/bench/scan.sh
# Environment: FILLER_MB (420), OSV_RECORDS (50000), PORT (15091), BERTH (target/release/berth).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
PORT=${PORT:-15091}
FILLER_MB=${FILLER_MB:-420}
OSV_RECORDS=${OSV_RECORDS:-50000}
PW=Bench-Pass-1
for tool in mmdebstrap skopeo curl jq python3; do
  command -v "$tool" >/dev/null || { echo "scan.sh: $tool is missing (tests/setup.sh installs it)" >&2; exit 1; }
done
WORK=$(mktemp -d /dev/shm/berth-scan.XXXXXX)
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
rss() { awk -v k="$1:" '$1 == k {print int($2 / 1024) " MiB"}' "/proc/$PID/status"; }

timeout 600 mmdebstrap --quiet --variant=minbase bookworm "$WORK/rootfs.tar" >"$WORK/mmdebstrap.log" 2>&1
python3 - "$WORK" "$FILLER_MB" "$OSV_RECORDS" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile, zipfile
work, filler_mb, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = os.path.join(work, "layout")
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return d
raw = open(os.path.join(work, "rootfs.tar"), "rb").read()
base = gzip.compress(raw, compresslevel=1, mtime=0)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as tar:
    for i in range(filler_mb // 4):
        data = os.urandom(4 << 20)
        info = tarfile.TarInfo(f"opt/filler/{i:04}.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
filler = buf.getvalue()
layers = [(base, "application/vnd.oci.image.layer.v1.tar+gzip", raw), (filler, "application/vnd.oci.image.layer.v1.tar", filler)]
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
    "diff_ids": ["sha256:" + hashlib.sha256(u).hexdigest() for _, _, u in layers]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + put(config), "size": len(config)},
    "layers": [{"mediaType": mt, "digest": "sha256:" + put(b), "size": len(b)} for b, mt, _ in layers]}).encode()
m = put(manifest)
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + m, "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "big"}}]},
    open(os.path.join(out, "index.json"), "w"))
print(f"image: {(len(base) + len(filler)) / 1e6:.0f} MB of layers ({len(raw) / 1e6:.0f} MB root filesystem)", file=sys.stderr)
# The advisories: made-up packages, and one per installed source package.
status = tarfile.open(os.path.join(work, "rootfs.tar")).extractfile("./var/lib/dpkg/status").read().decode()
sources = set()
for para in status.split("\n\n"):
    f = dict(l.split(": ", 1) for l in para.splitlines() if ": " in l and not l.startswith(" "))
    if "Package" in f:
        sources.add(f.get("Source", f["Package"]).split(" ")[0])
def rec(i, pkg):
    return {"id": f"BENCH-{i}", "modified": "2024-01-01T00:00:00Z", "aliases": [f"CVE-2099-{i}"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": pkg},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99:1"}]}]}]}
with zipfile.ZipFile(os.path.join(work, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    names = sorted(sources) + [f"made-up-{i}" for i in range(records - len(sources))]
    for i, pkg in enumerate(names):
        z.writestr(f"BENCH-{i}.json", json.dumps(rec(i, pkg)))
PY
BERTH_ADMIN_PASSWORD=$PW "$BERTH" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/berth.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done
api() { curl -sf --max-time 600 -u "admin:$PW" -H 'Content-Type: application/json' -X "$1" "http://127.0.0.1:$PORT/api/v2.0$2" ${3:+--data-binary "$3"}; }
api POST /projects '{"project_name":"bench"}' >/dev/null
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "admin:$PW" \
  "oci:$WORK/layout:big" "docker://127.0.0.1:$PORT/bench/big:v1"
t0=$(now)
"$BERTH" vulndb import "$WORK/all.zip" --data-dir "$WORK/data" | tail -1
t1=$(now)
echo "vulndb import of $OSV_RECORDS advisories: $(secs "$t0" "$t1") s"
echo "server RSS before the scans: $(rss VmRSS) (peak so far $(rss VmHWM))"
# Scans are jobs: each is timed from the request until its result is stored.
sboms() { api GET /projects/bench/repositories/big/artifacts/v1/accessories | jq length; }
scan_status() { api GET '/projects/bench/repositories/big/artifacts/v1?with_scan_overview=true' | jq -r '.scan_overview[]?.scan_status'; }
t0=$(now)
api POST /projects/bench/repositories/big/artifacts/v1/scan '{"scan_type":"sbom"}'
until [[ $(sboms) -ge 1 ]]; do sleep 0.05; done
t1=$(now)
api POST /projects/bench/repositories/big/artifacts/v1/scan
until [[ $(scan_status) == Success || $(scan_status) == Error ]]; do sleep 0.05; done
t2=$(now)
echo "SBOM: $(secs "$t0" "$t1") s; vulnerability scan: $(secs "$t1" "$t2") s"
echo "findings: $(api GET /projects/bench/repositories/big/artifacts/v1/additions/vulnerabilities | jq '[.[] | .vulnerabilities | length] | add')"
echo "server RSS after: $(rss VmRSS); peak: $(rss VmHWM)"
