#!/usr/bin/env bash
# Replication and proxy-cache figures (docs/benchmarks.md).
#
#   cargo build --release -p registry-http
#   bash examples/bench/replicate.sh
#
# 1. IMAGES images (REPOS repositories, one LAYER_MIB layer of random bytes each, about
#    IMAGES x LAYER_MIB MiB in all) are pushed to Berth A; a push-based policy copies them to
#    Berth B (a `harbor` endpoint, token auth), timed from the start of the execution to its end;
#    then `skopeo sync` copies the same repositories from A to Berth C, timed the same way.
# 2. A Distribution 2.8 holds one image of a PROXY_MIB MiB layer; skopeo copies it (to a local
#    dir) directly from Distribution, then through a Berth proxy-cache project twice (the first
#    pull fetches upstream while streaming, the second is served from the cache).
# Data lives under SHM (default /tmp: 3 x 5 GB does not fit in memory here).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
SHM=${SHM:-/tmp}
IMAGES=${IMAGES:-500}
REPOS=${REPOS:-20}
LAYER_MIB=${LAYER_MIB:-10}
PROXY_MIB=${PROXY_MIB:-100}
PASS=Bench-Pass-1
ADMIN=admin:$PASS
WORK=$(mktemp -d "$SHM/berth-replicate.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" >&2; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
start_berth() { # start_berth NAME: prints host:port
    local p
    p=$(port)
    BERTH_ADMIN_PASSWORD=$PASS "$BERTH" serve --listen "127.0.0.1:$p" --data-dir "$WORK/$1" >"$WORK/$1.log" 2>&1 &
    PIDS+=($!)
    wait_up "http://127.0.0.1:$p/v2/" || { cat "$WORK/$1.log" >&2; exit 1; }
    echo "127.0.0.1:$p"
}
api() { curl -sf -u "$ADMIN" -H 'Content-Type: application/json' "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }

A=$(start_berth a)
B=$(start_berth b)
C=$(start_berth c)
log "Berth A $A, B $B, C $C; $IMAGES images of $LAYER_MIB MiB in $REPOS repositories"
api -X POST "http://$A/api/v2.0/projects" --data '{"project_name":"bench"}' >/dev/null
t0=$(now)
python3 - "http://$A" "$ADMIN" "$IMAGES" "$REPOS" "$LAYER_MIB" <<'PY'
import base64, hashlib, json, os, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, creds, images, repos, mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
auth = "Basic " + base64.b64encode(creds.encode()).decode()
def req(method, path, body=b"", ctype="application/octet-stream"):
    r = urllib.request.Request(url + path, data=body, method=method, headers={"Authorization": auth, "Content-Type": ctype})
    urllib.request.urlopen(r, timeout=300).read()
def push(i):
    repo, tag = f"bench/r{i % repos:02d}", f"t{i // repos}"
    config = json.dumps({"architecture": "amd64", "os": "linux", "i": i}).encode()
    layer = os.urandom(mib << 20)
    descs = []
    for blob, mt in ((config, "application/vnd.oci.image.config.v1+json"), (layer, "application/vnd.oci.image.layer.v1.tar")):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", blob)
        descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": descs[0], "layers": descs[1:]}).encode()
    req("PUT", f"/v2/{repo}/manifests/{tag}", m, "application/vnd.oci.image.manifest.v1+json")
with ThreadPoolExecutor(4) as ex:
    list(ex.map(push, range(images)))
PY
log "pushed to A in $(secs "$t0" "$(now)") s"
BYTES=$((IMAGES * LAYER_MIB))

# ---- Berth A -> Berth B by a replication policy ------------------------------------------------
api -X POST "http://$A/api/v2.0/registries" --data "{\"name\":\"b\",\"url\":\"http://$B\",\"type\":\"harbor\",
    \"credential\":{\"access_key\":\"admin\",\"access_secret\":\"$PASS\"}}" >/dev/null
REG=$(api "http://$A/api/v2.0/registries" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
api -X POST "http://$A/api/v2.0/replication/policies" --data "{\"name\":\"bench\",\"dest_registry\":{\"id\":$REG},
    \"dest_namespace\":\"copy\",\"dest_namespace_replace_count\":1,\"filters\":[{\"type\":\"name\",\"value\":\"bench/**\"}]}" >/dev/null
POLICY=$(api "http://$A/api/v2.0/replication/policies" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
t0=$(now)
EXEC=$(curl -sf -u "$ADMIN" -D - -o /dev/null -H 'Content-Type: application/json' --data "{\"policy_id\":$POLICY}" \
    "http://$A/api/v2.0/replication/executions" | tr -d '\r' | sed -n 's/^[Ll]ocation: .*\///p')
while [[ $(api "http://$A/api/v2.0/replication/executions/$EXEC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == InProgress ]]; do
    sleep 0.2
done
t_rep=$(secs "$t0" "$(now)")
status=$(api "http://$A/api/v2.0/replication/executions/$EXEC" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["status"], e["succeed"], "/", e["total"])')
log "replication A -> B: $t_rep s ($status)"

# ---- skopeo sync A -> C -------------------------------------------------------------------------
api -X POST "http://$C/api/v2.0/projects" --data '{"project_name":"sync"}' >/dev/null
t0=$(now)
for r in $(seq -f 'r%02g' 0 $((REPOS - 1))); do
    skopeo --insecure-policy sync --src docker --dest docker --src-tls-verify=false --dest-tls-verify=false \
        --src-creds "$ADMIN" --dest-creds "$ADMIN" "$A/bench/$r" "$C/sync" >>"$WORK/sync.log" 2>&1 || { tail "$WORK/sync.log" >&2; exit 1; }
done
t_sync=$(secs "$t0" "$(now)")
log "skopeo sync A -> C: $t_sync s"

# ---- proxy cache overhead -----------------------------------------------------------------------
UP=127.0.0.1:$(port)
printf 'version: 0.1\nstorage: { filesystem: { rootdirectory: %s } }\nhttp: { addr: %s }\n' "$WORK/dist" "$UP" >"$WORK/dist.yml"
docker-registry serve "$WORK/dist.yml" >"$WORK/dist.log" 2>&1 &
PIDS+=($!)
wait_up "http://$UP/v2/"
python3 "$ROOT/tests/e2e/make_layout.py" "$WORK/layout" --tag v1 --big-mib "$PROXY_MIB" >/dev/null
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$WORK/layout:v1" "docker://$UP/lib/big:v1"
api -X POST "http://$A/api/v2.0/registries" --data "{\"name\":\"dist\",\"url\":\"http://$UP\",\"type\":\"docker-registry\"}" >/dev/null
DIST=$(api "http://$A/api/v2.0/registries?q=name%3Ddist" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
api -X POST "http://$A/api/v2.0/projects" --data "{\"project_name\":\"hub\",\"registry_id\":$DIST}" >/dev/null
pull() { # pull SRC-REF DIR [creds]: seconds
    local t0
    t0=$(now)
    skopeo --insecure-policy copy --quiet --src-tls-verify=false ${3:+--src-creds "$3"} "docker://$1" "dir:$WORK/$2" >/dev/null
    secs "$t0" "$(now)"
}
t_direct=$(pull "$UP/lib/big:v1" direct)
t_first=$(pull "$A/hub/lib/big:v1" first "$ADMIN")
sleep 3 # the cache stores the manifest once its blobs are in
t_second=$(pull "$A/hub/lib/big:v1" second "$ADMIN")
log "proxy: direct $t_direct s, first through the proxy $t_first s, second $t_second s"

cat <<MD
| workload | time (s) | MB/s |
|---|---:|---:|
| replication policy, Berth A → Berth B ($IMAGES images, $BYTES MiB, $status) | $t_rep | $(python3 -c "print(round($BYTES * 1.048576 / $t_rep))") |
| \`skopeo sync\`, Berth A → Berth C (same repositories) | $t_sync | $(python3 -c "print(round($BYTES * 1.048576 / $t_sync))") |
| skopeo pull of a $PROXY_MIB MiB image from Distribution 2.8, direct | $t_direct | |
| the same through a Berth proxy-cache project, first pull (fetched upstream) | $t_first | |
| the same, second pull (from the cache) | $t_second | |
MD
