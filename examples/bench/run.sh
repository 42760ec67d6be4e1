#!/usr/bin/env bash
# Berth vs Distribution (docker-registry) HTTP benchmark, both servers in one run.
#
#   cargo build --release -p registry-http -p berth-examples
#   bash examples/bench/run.sh
#
# Each server is started fresh with its data on /dev/shm, measured, stopped and wiped, then the
# next one. Loopback only; every step is bounded (wrk -d10s, curl --max-time, timeout).
# Prints progress on stderr and a markdown table on stdout. MB = 10^6 bytes, MiB = 2^20 bytes.
#
# Environment: BERTH, BENCH, DISTRIBUTION (binaries), BERTH_PORT, DIST_PORT, SHM (default
# /dev/shm), SERVERS (default "berth distribution"), RESULTS_OUT (keep raw results there).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
BENCH=${BENCH:-$ROOT/target/release/berth-bench}
DISTRIBUTION=${DISTRIBUTION:-/usr/bin/docker-registry}
BERTH_PORT=${BERTH_PORT:-15080}
DIST_PORT=${DIST_PORT:-15081}
SHM=${SHM:-/dev/shm}
SERVERS=${SERVERS:-berth distribution}
RESULTS_OUT=${RESULTS_OUT:-}

for tool in curl wrk python3 sha256sum timeout; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
for bin in "$BERTH" "$BENCH" "$DISTRIBUTION"; do
  [[ -x $bin ]] || { echo "run.sh: $bin missing (cargo build --release -p registry-http -p berth-examples)" >&2; exit 1; }
done

WORK=$(mktemp -d "$SHM/berth-bench.XXXXXX")
RAW=$WORK/raw.log
SERVER_PID=""
SAMPLER_PID=""
CLK_TCK=$(getconf CLK_TCK)
declare -A R   # results: R[<server>.<metric>]

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

stop_server() {
  if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; fi
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  if [[ -n $RESULTS_OUT && -f $RAW ]]; then cp "$RAW" "$RESULTS_OUT"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Berth requires credentials: every client of this script sends the admin's (curl through a
# curlrc, wrk and berth-bench through a header). Distribution ignores them.
BENCH_PASS=Bench-Pass-1
AUTH_HDR="Authorization: Basic $(printf 'admin:%s' "$BENCH_PASS" | base64)"
printf 'user = "admin:%s"\n' "$BENCH_PASS" >"$WORK/.curlrc"
export CURL_HOME=$WORK BERTH_BENCH_BASIC="admin:$BENCH_PASS"

# Pin the binaries: a rebuild during the run must not change what is measured.
BERTH_BUILT=$(date -u -r "$BERTH" +%FT%TZ)
cp "$BERTH" "$WORK/berth"; cp "$BENCH" "$WORK/berth-bench"
BERTH=$WORK/berth; BENCH=$WORK/berth-bench
BERTH_SHA=$(sha256sum "$BERTH" | cut -c1-16)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- registry-core registry-http 2>/dev/null | awk '{print $2}' | paste -sd, -)

# ---- helpers --------------------------------------------------------------------------------

py() { python3 -c "$@"; }
jget() { py 'import sys,json; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# best and median of the arguments, as "best median"
best_median() { py 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print(f"{max(v):.0f} {s.median(v):.0f}")' "$@"; }
mbps() { py 'import sys; print(f"{int(sys.argv[1])/float(sys.argv[2])/1e6:.1f}")' "$1" "$2"; }
status_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
server_ticks() { awk '{print $14+$15}' "/proc/$SERVER_PID/stat"; }

# Server CPU (user+sys) used by a step: step_begin; …; step_end NAME [BYTES_PUSHED]. Gives CPU
# seconds over the step's wall time (which includes untimed client-side data preparation) and,
# for uploads, server CPU seconds per GB pushed.
step_begin() { STEP_T0=$(date +%s.%N); STEP_C0=$(server_ticks); }
step_end() {
  local t1 c1
  t1=$(date +%s.%N); c1=$(server_ticks)
  R[$SERVER.cpu.$1]=$(py 'import sys
t0,t1,c0,c1,hz,b=map(float,sys.argv[1:]); cpu=(c1-c0)/hz
print(f"{cpu:.2f} s in {t1-t0:.1f} s" + (f" = {cpu/(b/1e9):.2f} s/GB" if b else ""))' \
    "$STEP_T0" "$t1" "$STEP_C0" "$c1" "$CLK_TCK" "${2:-0}")
}

start_server() {
  SERVER=$1
  local port
  case $SERVER in
    berth)
      port=$BERTH_PORT
      URL=http://127.0.0.1:$port
      curl -s -o /dev/null --max-time 2 "$URL/v2/" && die "port $port is already in use"
      mkdir -p "$WORK/berth-data"
      BERTH_ADMIN_PASSWORD=$BENCH_PASS "$BERTH" serve --listen "127.0.0.1:$port" --data-dir "$WORK/berth-data" 2>"$WORK/berth.log" &
      SERVER_PID=$!
      ;;
    distribution)
      port=$DIST_PORT
      URL=http://127.0.0.1:$port
      curl -s -o /dev/null --max-time 2 "$URL/v2/" && die "port $port is already in use"
      cat >"$WORK/distribution.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/distribution-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
      "$DISTRIBUTION" serve "$WORK/distribution.yml" >"$WORK/distribution.log" 2>&1 &
      SERVER_PID=$!
      ;;
  esac
  for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "$SERVER exited at start: $(tail -5 "$WORK/$SERVER.log")"
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/v2/") == 200 ]] && break
    sleep 0.2
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/v2/") == 200 ]] || die "$SERVER did not become ready"
  if [[ $SERVER == berth ]]; then
    curl -sf -o /dev/null -H 'content-type: application/json' -d '{"project_name":"bench"}' "$URL/api/v2.0/projects" ||
      die "creating project bench"
  fi
  log "$SERVER ready at $URL (pid $SERVER_PID)"
}

# Does POST ?digest= with a body store the blob (201), or only open a session (202)?
probe_mode() {
  head -c 4096 /dev/urandom >"$WORK/probe"
  local d code
  d=sha256:$(sha256sum "$WORK/probe" | cut -d' ' -f1)
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST --data-binary @"$WORK/probe" \
    -H 'Content-Type: application/octet-stream' "$URL/v2/bench/probe/blobs/uploads/?digest=$d")
  case $code in
    201) MODE=monolithic ;;
    202) MODE=post-put ;;
    *) die "probe POST ?digest= answered $code" ;;
  esac
  R[$SERVER.mode]=$MODE
  log "$SERVER: blob upload flow $MODE"
}

# curl_push FILE DIGEST REPO data|stream -> prints seconds (curl time_total; POST+PUT summed).
# data: --data-binary @FILE (curl reads the file into memory before the transfer, untimed).
# stream: curl streams FILE from stdin with its Content-Length (--data-binary caps at 1 GiB, and
# -T FILE would append the file name to a URL ending in "/").
curl_push() {
  local file=$1 digest=$2 repo=$3 how=$4 out t1 loc sep
  local body=(--data-binary "@$file")
  [[ $how == stream ]] && body=(-T - -H 'Transfer-Encoding:' -H "Content-Length: $(stat -c %s "$file")")
  if [[ $MODE == monolithic ]]; then
    out=$(curl -s -o "$WORK/curl.body" -w '%{http_code} %{time_total}' --max-time 120 -X POST "${body[@]}" \
      -H 'Content-Type: application/octet-stream' "$URL/v2/$repo/blobs/uploads/?digest=$digest" <"$file") || true
    [[ ${out% *} == 201 ]] || die "POST ?digest= answered ${out% *}: $(head -c 300 "$WORK/curl.body")"
    echo "${out#* }"
  else
    out=$(curl -s -D "$WORK/curl.hdr" -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 -X POST \
      "$URL/v2/$repo/blobs/uploads/") || true
    [[ ${out% *} == 202 ]] || die "POST uploads/ answered ${out% *}"
    t1=${out#* }
    loc=$(awk 'tolower($1)=="location:" {print $2}' "$WORK/curl.hdr" | tr -d '\r')
    [[ $loc == http* ]] || loc=$URL$loc
    sep='?'; [[ $loc == *\?* ]] && sep='&'
    out=$(curl -s -o "$WORK/curl.body" -w '%{http_code} %{time_total}' --max-time 120 -X PUT "${body[@]}" \
      -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$digest" <"$file") || true
    [[ ${out% *} == 201 ]] || die "PUT ?digest= answered ${out% *}: $(head -c 300 "$WORK/curl.body")"
    py 'import sys; print(float(sys.argv[1])+float(sys.argv[2]))' "$t1" "${out#* }"
  fi
}

bench() { # berth-bench args… -> JSON line (also kept in the raw log)
  local line
  line=$(timeout 600 "$BENCH" "$@") || die "berth-bench $*"
  echo "$SERVER $line" >>"$RAW"
  log "$SERVER: $line"
  echo "$line"
}

# wrk_run NAME URL CONNECTIONS [header] -> sets WRK_RPS, WRK_MBPS (Transfer/sec in 10^6 bytes)
wrk_run() {
  local name=$1 url=$2 conns=$3 hdr=${4:-}
  local args=(-t2 -c"$conns" -d10s --timeout 10s)
  [[ -n $hdr ]] && args+=(-H "$hdr")
  args+=(-H "$AUTH_HDR")
  timeout 60 wrk "${args[@]}" "$url" >"$WORK/wrk.out" || die "wrk $name"
  { echo "$SERVER wrk $name:"; cat "$WORK/wrk.out"; } >>"$RAW"
  if grep -q 'Non-2xx' "$WORK/wrk.out"; then die "wrk $name: $(grep 'Non-2xx' "$WORK/wrk.out")"; fi
  WRK_RPS=$(awk '$1=="Requests/sec:" {printf "%.0f", $2}' "$WORK/wrk.out")
  # wrk prints Transfer/sec with binary units (KB = 1024 B, MB = 2^20 B, GB = 2^30 B).
  WRK_MBPS=$(awk '$1=="Transfer/sec:" {print $2}' "$WORK/wrk.out" | py '
import re,sys
v=sys.stdin.read().strip(); m=re.fullmatch(r"([0-9.]+)([KMGT]?B)",v)
mult={"B":1,"KB":2**10,"MB":2**20,"GB":2**30,"TB":2**40}[m.group(2)]
print(f"{float(m.group(1))*mult/1e6:.0f}")')
  log "$SERVER: wrk $name: $WRK_RPS req/s, $WRK_MBPS MB/s"
}

# ---- inputs (shared by both servers) ----------------------------------------------------------

log "generating inputs in $WORK"
head -c 1G /dev/urandom >"$WORK/big-1g"
BIG_DIGEST=sha256:$(sha256sum "$WORK/big-1g" | cut -d' ' -f1)
for i in 1 2 3; do
  head -c 256M /dev/urandom >"$WORK/large-$i"
  LARGE_DIGEST[i]=sha256:$(sha256sum "$WORK/large-$i" | cut -d' ' -f1)
done
LARGE_BYTES=$((256 << 20))

# ---- the run ----------------------------------------------------------------------------------

for server in $SERVERS; do
  start_server "$server"
  probe_mode

  # RSS growth during one streamed 1 GiB upload, on the fresh server.
  rss0=$(status_kb "$SERVER_PID" VmRSS); hwm0=$(status_kb "$SERVER_PID" VmHWM)
  rm -f "$WORK/sampler.stop"
  py '
import os,sys,time
pid,stop,out=sys.argv[1:]
def rss():
    try:
        for l in open(f"/proc/{pid}/status"):
            if l.startswith("VmRSS:"): return int(l.split()[1])
    except OSError:
        sys.exit(0)
mx=rss(); n=1
while not os.path.exists(stop):
    time.sleep(0.05); mx=max(mx,rss()); n+=1
mx=max(mx,rss())
open(out,"w").write(f"{mx} {n}\n")' "$SERVER_PID" "$WORK/sampler.stop" "$WORK/sampler.out" &
  SAMPLER_PID=$!
  step_begin
  t=$(curl_push "$WORK/big-1g" "$BIG_DIGEST" bench/rss stream)
  step_end rss $((1 << 30))
  touch "$WORK/sampler.stop"; wait "$SAMPLER_PID"; SAMPLER_PID=""
  rss1=$(status_kb "$SERVER_PID" VmRSS); hwm1=$(status_kb "$SERVER_PID" VmHWM)
  read -r rssmax samples <"$WORK/sampler.out"
  R[$SERVER.rss_growth]=$(py 'import sys; a,b=map(int,sys.argv[1:]); print(f"{(b-a)/1024:.1f}")' "$rss0" "$rssmax")
  R[$SERVER.hwm_growth]=$(py 'import sys; a,b=map(int,sys.argv[1:]); print(f"{(b-a)/1024:.1f}")' "$hwm0" "$hwm1")
  R[$SERVER.rss_detail]="VmRSS ${rss0}→${rss1} kB, VmHWM ${hwm0}→${hwm1} kB, max sampled ${rssmax} kB (${samples} samples), upload $(mbps $((1 << 30)) "$t") MB/s"
  echo "$SERVER rss: ${R[$SERVER.rss_detail]}" >>"$RAW"
  log "$SERVER: 1 GiB upload: ${R[$SERVER.rss_detail]}"

  # Single-stream 256 MiB push with curl, 3 distinct files.
  rates=()
  step_begin
  for i in 1 2 3; do
    t=$(curl_push "$WORK/large-$i" "${LARGE_DIGEST[i]}" bench/curl data)
    rates+=("$(mbps "$LARGE_BYTES" "$t")")
  done
  step_end curl $((3 * LARGE_BYTES))
  read -r best med < <(best_median "${rates[@]}")
  R[$SERVER.curl]="$best / $med"
  echo "$SERVER curl 256MiB MB/s: ${rates[*]}" >>"$RAW"
  log "$SERVER: curl 256 MiB push MB/s: ${rates[*]}"

  # Single-stream 256 MiB push with berth-bench, 3 rounds.
  step_begin
  j=$(bench push-large --url "$URL" --repo bench/large1 --size-mib 256 --clients 1 --repeat 3)
  step_end large1 $((3 * LARGE_BYTES))
  R[$SERVER.large1]="$(printf '%.0f' "$(jget "$j" mb_per_s_best)") / $(printf '%.0f' "$(jget "$j" mb_per_s_median)")"

  # 8 clients x 64 MiB, 3 rounds.
  step_begin
  j=$(bench push-large --url "$URL" --repo bench/large8 --size-mib 64 --clients 8 --repeat 3)
  step_end large8 $((3 * 8 * (64 << 20)))
  R[$SERVER.large8]="$(printf '%.0f' "$(jget "$j" mb_per_s_best)") / $(printf '%.0f' "$(jget "$j" mb_per_s_median)")"

  # Reads with wrk.
  j=$(bench prepare --url "$URL" --repo bench/app)
  step_begin
  wrk_run blob "$(jget "$j" blob_url)" 4
  step_end blob
  R[$SERVER.blob]=$WRK_MBPS
  step_begin
  wrk_run manifest "$(jget "$j" manifest_url)" 16 "Accept: $(jget "$j" manifest_accept)"
  step_end manifest
  R[$SERVER.manifest]=$WRK_RPS

  # Small images.
  step_begin
  j=$(bench push-small --url "$URL" --repo bench/small --images 1000 --clients 8)
  step_end small
  R[$SERVER.small]=$(printf '%.0f' "$(jget "$j" images_per_s)")
  if [[ $MODE == monolithic ]]; then
    # The same with the two-request flow Distribution needs, for a like-for-like protocol.
    j=$(bench push-small --url "$URL" --repo bench/small-pp --images 1000 --clients 8 --upload post-put)
    R[$SERVER.small_pp]=$(printf '%.0f' "$(jget "$j" images_per_s)")
  fi

  R[$SERVER.log]="$(grep -ciE 'warn|error|panic' "$WORK/$SERVER.log" || true) warn/error lines"
  { echo "$SERVER log tail:"; tail -5 "$WORK/$SERVER.log"; } >>"$RAW"
  stop_server
  rm -rf "$WORK/$SERVER-data"
done

# ---- report -----------------------------------------------------------------------------------

v() { echo "${R[$1]:-n/a}"; }
ratio() { # ratio of the first numbers of two cells
  py 'import sys
def f(s):
    try: return float(s.split()[0])
    except Exception: return None
a,b=f(sys.argv[1]),f(sys.argv[2])
print(f"{a/b:.2f}x" if a and b else "")' "$(v "berth.$1")" "$(v "distribution.$1")"
}
row() { echo "| $1 | $(v "berth.$2") | $(v "distribution.$2") | ${3-$(ratio "$2")} |"; }

echo
echo "## Berth vs Distribution 2.8.2 ($(date -u +%F), $(nproc) cores, data on $SHM)"
echo
echo "| Benchmark | Berth | Distribution 2.8.2 | Berth / Distribution |"
echo "| --- | ---: | ---: | ---: |"
row "Blob upload flow used" mode ""
row "Single-stream 256 MiB push, curl, MB/s (best / median of 3)" curl
row "Single-stream 256 MiB push, berth-bench, MB/s (best / median of 3)" large1
row "8-client push 8 × 64 MiB, aggregate MB/s (best / median of 3)" large8
row "Blob GET 16 MiB, wrk -t2 -c4 -d10s, MB/s" blob
row "Manifest GET, wrk -t2 -c16 -d10s, req/s" manifest
row "Small-image push, 1000 images, 8 clients, images/s" small
row "Small-image push as POST+PUT per blob (like-for-like), images/s" small_pp ""
row "RSS growth during 1 GiB streamed upload, max MiB (VmRSS sampled every 50 ms)" rss_growth ""
row "VmHWM growth during the same upload, MiB" hwm_growth ""
echo
echo "Berth binary: built $BERTH_BUILT, sha256 $BERTH_SHA…; tree at $GIT_REV${GIT_DIRTY:+ with uncommitted changes in $GIT_DIRTY}."
echo "Distribution: $("$DISTRIBUTION" --version 2>/dev/null | head -1)."
echo
echo "MB = 10^6 bytes. The load generators (curl, wrk, berth-bench) share the $(nproc) cores with the server."
echo
echo "Server CPU per step (user+sys from /proc/PID/stat; step wall includes untimed data preparation):"
echo
echo "| Step | Berth | Distribution 2.8.2 |"
echo "| --- | ---: | ---: |"
for s in rss:"1 GiB upload" curl:"curl 3 × 256 MiB" large1:"berth-bench 3 × 256 MiB" large8:"berth-bench 3 × 8 × 64 MiB" \
  blob:"blob GET (wrk)" manifest:"manifest GET (wrk)" small:"1000 small images"; do
  echo "| ${s#*:} | $(v "berth.cpu.${s%%:*}") | $(v "distribution.cpu.${s%%:*}") |"
done
echo
echo "RSS detail: Berth: $(v berth.rss_detail); Distribution: $(v distribution.rss_detail)"
echo "Server logs: Berth: $(v berth.log); Distribution: $(v distribution.log)"
