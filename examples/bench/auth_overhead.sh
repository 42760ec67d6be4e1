#!/usr/bin/env bash
# Cost of authentication on the hottest read: manifest GET with wrk, as an anonymous caller on a
# public project, with HTTP Basic (admin), and with a Bearer token from /service/token.
#   cargo build --release -p registry-http && bash examples/bench/auth_overhead.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
PORT=${PORT:-5077}
PASS=Bench-Pass-1
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d /dev/shm/berth-auth.XXXXXX)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
BERTH_ADMIN_PASSWORD=$PASS "$BERTH" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>"$WORK/log" &
PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$URL/health" && break; sleep 0.1; done
c() { curl -sf -u "admin:$PASS" "$@"; }
c -o /dev/null -H 'content-type: application/json' -d '{"project_name":"pub","metadata":{"public":"true"}}' "$URL/api/v2.0/projects"
cfg='{"architecture":"amd64","os":"linux"}'
layer=$(head -c 4096 /dev/urandom | tee "$WORK/layer" | sha256sum | cut -d' ' -f1)
cfgd=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
c -o /dev/null -X POST --data-binary @"$WORK/layer" "$URL/v2/pub/app/blobs/uploads/?digest=sha256:$layer"
printf '%s' "$cfg" | c -o /dev/null -X POST --data-binary @- "$URL/v2/pub/app/blobs/uploads/?digest=sha256:$cfgd"
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":4096}]}' "$cfgd" ${#cfg} "$layer")
printf '%s' "$manifest" | c -o /dev/null -X PUT -H 'content-type: application/vnd.oci.image.manifest.v1+json' --data-binary @- "$URL/v2/pub/app/manifests/v1"
token=$(c "$URL/service/token?service=harbor-registry&scope=repository:pub/app:pull" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
basic=$(printf 'admin:%s' "$PASS" | base64)
accept='Accept: application/vnd.oci.image.manifest.v1+json'
run() {
  local name=$1; shift
  local rps
  rps=$(wrk -t2 -c16 -d10s --timeout 10s -H "$accept" "$@" "$URL/v2/pub/app/manifests/v1" | awk '$1=="Requests/sec:" {printf "%.0f", $2}')
  printf '%-28s %8s req/s\n' "$name" "$rps"
}
echo "manifest GET, wrk -t2 -c16 -d10s, $(nproc) cores shared with wrk"
run "anonymous (public project)"
run "HTTP Basic (admin)" -H "Authorization: Basic $basic"
run "Bearer token" -H "Authorization: Bearer $token"
