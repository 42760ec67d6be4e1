#!/usr/bin/env bash
# Where a server's memory goes across a run's workloads, and what it keeps once idle.
#   cargo build --release -p registry-http -p berth-examples
#   bash examples/bench/idle_memory.sh [BERTH_BIN]
# A fresh `berth serve` with its data on /dev/shm; then MANY (500) concurrent 2 MiB uploads,
# blob GETs (wrk -c4) and manifest GETs (wrk -c16) for WRK_SECS (5) each, 1,000 small images,
# and IDLE_SECS (8) of quiet. After each step: VmRSS, RssAnon (heap, stacks), RssFile and
# RssShmem (the binary's and libraries' pages; RssShmem when the binary itself is on tmpfs)
# and the thread count from /proc/PID/status, in KiB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/berth}
BENCH=${BENCH:-$ROOT/target/release/berth-bench}
PORT=${PORT:-15099} MANY=${MANY:-500} WRK_SECS=${WRK_SECS:-5} IDLE_SECS=${IDLE_SECS:-8}
PASS=Bench-Pass-1 U=http://127.0.0.1:$PORT
W=$(mktemp -d /dev/shm/berth-idle.XXXXXX)
BERTH_ADMIN_PASSWORD=$PASS "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$W/data" 2>"$W/log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$W"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "$U/health" && break; sleep 0.1; done
kill -0 $PID || { cat "$W/log"; exit 1; }
curl -sf -u "admin:$PASS" -o /dev/null -H 'content-type: application/json' -d '{"project_name":"bench"}' "$U/api/v2.0/projects"
st() { printf '%-28s' "$1"; awk '/^(VmRSS|RssAnon|RssFile|RssShmem|Threads):/ {printf " %s %s", $1, $2} END {print ""}' "/proc/$PID/status"; }
b() { timeout 600 "$BENCH" "$@" --url "$U" --basic "admin:$PASS" >/dev/null; }
field() { python3 -c 'import sys, json; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
st "started"
b push-large --repo bench/many --size-mib 2 --clients "$MANY" --repeat 1
st "$MANY uploads"
j=$(timeout 60 "$BENCH" prepare --url "$U" --basic "admin:$PASS" --repo bench/app)
AH="Authorization: Basic $(printf 'admin:%s' "$PASS" | base64)"
wrk -t2 -c4 -d"${WRK_SECS}s" -H "$AH" "$(field "$j" blob_url)" >/dev/null
st "blob GETs"
wrk -t2 -c16 -d"${WRK_SECS}s" -H "$AH" -H "Accept: $(field "$j" manifest_accept)" "$(field "$j" manifest_url)" >/dev/null
st "manifest GETs"
b push-small --repo bench/small --images 1000 --clients 8
st "1000 small images"
sleep "$IDLE_SECS"
st "idle ${IDLE_SECS} s"
