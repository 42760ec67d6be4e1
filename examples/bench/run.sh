#!/usr/bin/env bash
# Berth vs Distribution v3.1.2 vs Distribution 2.8.2 (docker-registry) HTTP benchmark, side by
# side in one run.
#
#   cargo build --release -p registry-http -p berth-examples
#   bash examples/bench/run.sh [SERVER…]        # default: berth dist3 dist2
#
# SERVER is `berth[=BIN]`, `dist3[=BIN]` or `dist2[=BIN]`:
#   berth  target/release/berth, started with authentication on (BERTH_ADMIN_PASSWORD); every
#          client authenticates as real ones do: GET /v2/ → 401 Bearer challenge → token from
#          /service/token (HTTP Basic, scope repository:<repo>:pull,push) → Authorization: Bearer.
#          berth-bench does it itself, curl and wrk send the header `berth-bench auth-header`
#          prints, skopeo gets --dest-creds and crane a `crane auth login` config.
#   dist3  Distribution v3.1.2, $BERTH_TOOLS/go-distribution-v3.1.2/registry; built with
#          `GOBIN=… go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2`
#          when missing. Run with OTEL_TRACES_EXPORTER=none: v3 traces every request and by
#          default exports the spans over OTLP to localhost:4318, failing and logging each time
#          (its own debug-log span exporter cannot be turned off).
#   dist2  Distribution 2.8.2, /usr/bin/docker-registry (Debian package docker-registry).
# Distribution runs without authentication (its clients find GET /v2/ answering 200).
# crane (go-containerregistry v0.22.1) is taken from $BERTH_TOOLS/go-crane-v0.22.1/crane and
# `go install`ed there when missing. The image skopeo copies (into bench/skopeo) and crane pushes
# (into bench2/crane, a second project on Berth, so that neither reuses the other's blobs) is an
# OCI layout of LAYERS gzip'd layers of random data, made once by make_big_layout.py.
#
# Each server is started fresh with its data on /dev/shm, measured, stopped and wiped, then the
# next one. Loopback only; every step is bounded (wrk -d, curl --max-time, timeout). Prints
# progress with timestamps on stderr and markdown tables on stdout: one column per server, and
# Berth / <server> ratio columns when Berth ran. MB = 10^6 bytes, MiB = 2^20 bytes.
#
# Environment:
#   BENCH_QUICK=1      small sizes for development runs (each can still be set on its own):
#                        BIG_MIB 1024 → 64       streamed upload watched for RSS
#                        LARGE_MIB 256 → 32      single-stream pushes (curl and berth-bench)
#                        LARGE8_MIB 64 → 8       per client of the 8-client push
#                        SMALL_IMAGES 1000 → 100 small-image pushes
#                        MANY_CLIENTS 500 → 50   concurrent uploads of MANY_MIB (2) MiB each
#                        LAYERS 10, LAYER_MIB 100 → 4   image for skopeo and crane
#                        WRK_SECS 10 → 3         wrk duration
#   BENCH              berth-bench binary (target/release/berth-bench)
#   BERTH_PORT, DIST3_PORT, DIST2_PORT   ports (15080, 15082, 15081)
#   BERTH_TOOLS        cache of Go tools ($HOME/.cache/berth-tools)
#   SHM                where inputs and server data live (/dev/shm)
#   RESULTS_OUT        keep the raw results (JSON lines, wrk output, details) in this file
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=${BENCH:-$ROOT/target/release/berth-bench}
BERTH_TOOLS=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
DIST3_VERSION=v3.1.2
CRANE_VERSION=v0.22.1
CRANE=$BERTH_TOOLS/go-crane-$CRANE_VERSION/crane
SHM=${SHM:-/dev/shm}
RESULTS_OUT=${RESULTS_OUT:-}

# Sizes: full run by default, BENCH_QUICK=1 shrinks them.
if [[ ${BENCH_QUICK:-0} == 1 ]]; then q=1; else q=0; fi
BIG_MIB=${BIG_MIB:-$((q ? 64 : 1024))}
LARGE_MIB=${LARGE_MIB:-$((q ? 32 : 256))}
LARGE8_MIB=${LARGE8_MIB:-$((q ? 8 : 64))}
SMALL_IMAGES=${SMALL_IMAGES:-$((q ? 100 : 1000))}
MANY_CLIENTS=${MANY_CLIENTS:-$((q ? 50 : 500))}
MANY_MIB=${MANY_MIB:-2}
LAYERS=${LAYERS:-10}
LAYER_MIB=${LAYER_MIB:-$((q ? 4 : 100))}
WRK_SECS=${WRK_SECS:-$((q ? 3 : 10))}

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---- servers from the arguments ---------------------------------------------------------------

declare -A BIN PORT NAME
BIN[berth]=$ROOT/target/release/berth
BIN[dist3]=$BERTH_TOOLS/go-distribution-$DIST3_VERSION/registry
BIN[dist2]=/usr/bin/docker-registry
PORT[berth]=${BERTH_PORT:-15080}
PORT[dist3]=${DIST3_PORT:-15082}
PORT[dist2]=${DIST2_PORT:-15081}
SERVERS=()
(($# > 0)) || set -- berth dist3 dist2
for arg in "$@"; do
  s=${arg%%=*}
  case $s in berth | dist3 | dist2) ;; *) die "unknown server '$arg' (berth[=BIN], dist3[=BIN], dist2[=BIN])" ;; esac
  for seen in "${SERVERS[@]}"; do [[ $seen != "$s" ]] || die "$s given twice"; done
  [[ $arg == *=* ]] && BIN[$s]=${arg#*=}
  SERVERS+=("$s")
done
has() { local x; for x in "${SERVERS[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }

for tool in curl wrk python3 sha256sum timeout skopeo; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[[ -x $BENCH ]] || die "$BENCH missing (cargo build --release -p registry-http -p berth-examples)"
if has dist3 && [[ ! -x ${BIN[dist3]} && ${BIN[dist3]} == "$BERTH_TOOLS/go-distribution-$DIST3_VERSION/registry" ]]; then
  command -v go >/dev/null || die "go is required to build Distribution $DIST3_VERSION"
  log "building Distribution $DIST3_VERSION into $(dirname "${BIN[dist3]}")"
  mkdir -p "$(dirname "${BIN[dist3]}")"
  GOBIN=$(dirname "${BIN[dist3]}") timeout 1200 go install "github.com/distribution/distribution/v3/cmd/registry@$DIST3_VERSION" ||
    die "go install distribution $DIST3_VERSION"
fi
if [[ ! -x $CRANE ]]; then
  command -v go >/dev/null || die "go is required to build crane $CRANE_VERSION"
  log "building crane $CRANE_VERSION into $(dirname "$CRANE")"
  mkdir -p "$(dirname "$CRANE")"
  GOBIN=$(dirname "$CRANE") timeout 1200 go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" ||
    die "go install crane $CRANE_VERSION"
fi
for s in "${SERVERS[@]}"; do
  [[ -x ${BIN[$s]} ]] || die "$s: ${BIN[$s]} missing$([[ $s != berth ]] || echo ' (cargo build --release -p registry-http)')"
done

# Column titles, with the versions the binaries report.
version_of() { "$1" --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true; }
NAME[berth]=Berth
has dist3 && NAME[dist3]="Distribution $(version_of "${BIN[dist3]}")"
has dist2 && NAME[dist2]="Distribution $(version_of "${BIN[dist2]}")"

WORK=$(mktemp -d "$SHM/berth-bench.XXXXXX")
RAW=$WORK/raw.log
SERVER_PID=""
SAMPLER_PID=""
CLK_TCK=$(getconf CLK_TCK)
declare -A R   # results: R[<server>.<metric>]

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

# Berth runs with authentication on; its admin's credentials go to berth-bench (which fetches
# tokens with them), skopeo and crane. Distribution runs without; the clients find that out.
BENCH_PASS=Bench-Pass-1
export BERTH_BENCH_BASIC="admin:$BENCH_PASS"

# Pin the binaries: a rebuild during the run must not change what is measured.
if has berth; then
  BERTH_BUILT=$(date -u -r "${BIN[berth]}" +%FT%TZ)
  cp "${BIN[berth]}" "$WORK/berth"; BIN[berth]=$WORK/berth
  BERTH_SHA=$(sha256sum "${BIN[berth]}" | cut -c1-16)
fi
cp "$BENCH" "$WORK/berth-bench"; BENCH=$WORK/berth-bench
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- registry-core registry-http 2>/dev/null | awk '{print $2}' | paste -sd, -)

# ---- helpers --------------------------------------------------------------------------------

py() { python3 -c "$@"; }
jget() { py 'import sys,json; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# best and median of the arguments, as "best median"
best_median() { py 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print(f"{max(v):.0f} {s.median(v):.0f}")' "$@"; }
mbps() { py 'import sys; print(f"{int(sys.argv[1])/float(sys.argv[2])/1e6:.1f}")' "$1" "$2"; }
# growth from $1 to $2 kB, in MiB (a tiny negative figure is counter noise: shown as 0.0)
mib_growth() { py 'import sys; a,b=map(int,sys.argv[1:]); print(f"{max(b-a,0)/1024:.1f}")' "$1" "$2"; }
status_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
server_ticks() { awk '{print $14+$15}' "/proc/$SERVER_PID/stat"; }
now() { date +%s.%N; }
elapsed() { py 'import sys; print(f"{float(sys.argv[2])-float(sys.argv[1]):.2f}")' "$1" "$2"; }

# Server CPU (user+sys) used by a step: step_begin; …; step_end NAME [BYTES_PUSHED]. Gives CPU
# seconds over the step's wall time (which includes untimed client-side data preparation) and,
# for uploads, server CPU seconds per GB pushed.
step_begin() { STEP_T0=$(now); STEP_C0=$(server_ticks); }
step_end() {
  local t1 c1
  t1=$(now); c1=$(server_ticks)
  R[$SERVER.cpu.$1]=$(py 'import sys
t0,t1,c0,c1,hz,b=map(float,sys.argv[1:]); cpu=(c1-c0)/hz
print(f"{cpu:.2f} s in {t1-t0:.1f} s" + (f" = {cpu/(b/1e9):.2f} s/GB" if b else ""))' \
    "$STEP_T0" "$t1" "$STEP_C0" "$c1" "$CLK_TCK" "${2:-0}")
}

# The server's VmRSS sampled every 50 ms between sampler_start and sampler_stop, which sets
# SAMPLED_MAX (kB) and SAMPLES.
sampler_start() {
  rm -f "$WORK/sampler.stop" "$WORK/sampler.out"
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
}
sampler_stop() {
  touch "$WORK/sampler.stop"; wait "$SAMPLER_PID"; SAMPLER_PID=""
  [[ -s $WORK/sampler.out ]] || die "RSS sampler: $SERVER exited?"
  read -r SAMPLED_MAX SAMPLES <"$WORK/sampler.out"
}

v2_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/v2/" || true; }

start_server() {
  SERVER=$1
  local port=${PORT[$1]} bin=${BIN[$1]} code
  URL=http://127.0.0.1:$port
  [[ $(v2_status) == 000 ]] || die "port $port is already in use"
  case $SERVER in
    berth)
      mkdir -p "$WORK/berth-data"
      BERTH_ADMIN_PASSWORD=$BENCH_PASS "$bin" serve --listen "127.0.0.1:$port" --data-dir "$WORK/berth-data" 2>"$WORK/berth.log" &
      SERVER_PID=$!
      ;;
    dist3 | dist2)
      # The same configuration for both: v3 reads 2.x's shape (version 0.1), log.accesslog too.
      cat >"$WORK/$SERVER.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/$SERVER-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
      OTEL_TRACES_EXPORTER=none "$bin" serve "$WORK/$SERVER.yml" >"$WORK/$SERVER.log" 2>&1 &
      SERVER_PID=$!
      ;;
  esac
  for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "$SERVER exited at start: $(tail -5 "$WORK/$SERVER.log")"
    code=$(v2_status)
    [[ $code == 200 || $code == 401 ]] && break
    sleep 0.2
  done
  code=$(v2_status)
  case $SERVER:$code in
    berth:401 | dist3:200 | dist2:200) ;;
    *) die "$SERVER: GET /v2/ without credentials answered $code (berth: 401, Distribution: 200)" ;;
  esac
  if [[ $SERVER == berth ]]; then
    for p in bench bench2; do
      curl -sf -o /dev/null --max-time 10 -u "$BERTH_BENCH_BASIC" -H 'content-type: application/json' \
        -d "{\"project_name\":\"$p\"}" "$URL/api/v2.0/projects" || die "creating project $p"
    done
  fi
  log "$SERVER ready at $URL (pid $SERVER_PID, GET /v2/ without credentials: $code)"
}

# auth_header REPO [ACTIONS]: sets AUTH_HDR, the Authorization header a client of REPO sends (""
# when none), and AUTH_KIND (none/basic/bearer), from `berth-bench auth-header` (token flow for
# Berth). Every authentication kind a client used is noted in $WORK/auth-<server>.
auth_header() {
  local j
  j=$(timeout 30 "$BENCH" auth-header --url "$URL" --repo "$1" --scope-actions "${2:-pull,push}") ||
    die "berth-bench auth-header --repo $1"
  AUTH_HDR=$(jget "$j" header); AUTH_KIND=$(jget "$j" auth)
  echo "$AUTH_KIND" >>"$WORK/auth-$SERVER"
}
# curl_auth REPO: sets CURL_AUTH, the curl arguments carrying REPO's Authorization header.
curl_auth() {
  auth_header "$1"
  CURL_AUTH=()
  [[ -z $AUTH_HDR ]] || CURL_AUTH=(-H "$AUTH_HDR")
}

# Does POST ?digest= with a body store the blob (201), or only open a session (202)?
probe_mode() {
  head -c 4096 /dev/urandom >"$WORK/probe"
  local d code
  d=sha256:$(sha256sum "$WORK/probe" | cut -d' ' -f1)
  curl_auth bench/probe
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST --data-binary @"$WORK/probe" "${CURL_AUTH[@]}" \
    -H 'Content-Type: application/octet-stream' "$URL/v2/bench/probe/blobs/uploads/?digest=$d") || true
  case $code in
    201) MODE=monolithic ;;
    202) MODE=post-put ;;
    *) die "probe POST ?digest= answered $code" ;;
  esac
  R[$SERVER.mode]=$MODE
  log "$SERVER: blob upload flow $MODE, client authentication $AUTH_KIND"
}

# curl_push FILE DIGEST REPO data|stream -> prints seconds (curl time_total; POST+PUT summed).
# Sends CURL_AUTH (set it with curl_auth REPO first).
# data: --data-binary @FILE (curl reads the file into memory before the transfer, untimed).
# stream: curl streams FILE from stdin with its Content-Length (--data-binary caps at 1 GiB, and
# -T FILE would append the file name to a URL ending in "/").
curl_push() {
  local file=$1 digest=$2 repo=$3 how=$4 out t1 loc sep
  local body=(--data-binary "@$file")
  [[ $how == stream ]] && body=(-T - -H 'Transfer-Encoding:' -H "Content-Length: $(stat -c %s "$file")")
  if [[ $MODE == monolithic ]]; then
    out=$(curl -s -o "$WORK/curl.body" -w '%{http_code} %{time_total}' --max-time 300 -X POST "${body[@]}" "${CURL_AUTH[@]}" \
      -H 'Content-Type: application/octet-stream' "$URL/v2/$repo/blobs/uploads/?digest=$digest" <"$file") || true
    [[ ${out% *} == 201 ]] || die "POST ?digest= answered ${out% *}: $(head -c 300 "$WORK/curl.body")"
    echo "${out#* }"
  else
    out=$(curl -s -D "$WORK/curl.hdr" -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 -X POST "${CURL_AUTH[@]}" \
      "$URL/v2/$repo/blobs/uploads/") || true
    [[ ${out% *} == 202 ]] || die "POST uploads/ answered ${out% *}"
    t1=${out#* }
    loc=$(awk 'tolower($1)=="location:" {print $2}' "$WORK/curl.hdr" | tr -d '\r')
    [[ $loc == http* ]] || loc=$URL$loc
    sep='?'; [[ $loc == *\?* ]] && sep='&'
    out=$(curl -s -o "$WORK/curl.body" -w '%{http_code} %{time_total}' --max-time 300 -X PUT "${body[@]}" "${CURL_AUTH[@]}" \
      -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$digest" <"$file") || true
    [[ ${out% *} == 201 ]] || die "PUT ?digest= answered ${out% *}: $(head -c 300 "$WORK/curl.body")"
    py 'import sys; print(float(sys.argv[1])+float(sys.argv[2]))' "$t1" "${out#* }"
  fi
}

bench() { # berth-bench args… -> JSON line (also kept in the raw log)
  local line
  line=$(timeout 600 "$BENCH" "$@") || die "berth-bench $*"
  echo "$SERVER $line" >>"$RAW"
  log "$SERVER: $(cut -c1-400 <<<"$line")"
  jget "$line" auth >>"$WORK/auth-$SERVER"
  echo "$line"
}

# wrk_run NAME URL CONNECTIONS [header…] -> sets WRK_RPS, WRK_MBPS (Transfer/sec in 10^6 bytes)
wrk_run() {
  local name=$1 url=$2 conns=$3 h
  shift 3
  local args=(-t2 -c"$conns" -d"${WRK_SECS}s" --timeout 10s)
  for h in "$@"; do [[ -z $h ]] || args+=(-H "$h"); done
  timeout $((WRK_SECS + 50)) wrk "${args[@]}" "$url" >"$WORK/wrk.out" || die "wrk $name"
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

# skopeo copy of the shared layout into REPO:1 -> sets R[<server>.skopeo] ("s = MB/s").
skopeo_push() {
  local repo=$1 creds=() t0 t1 skipped
  [[ $SERVER == berth ]] && creds=(--dest-creds "$BERTH_BENCH_BASIC")
  mkdir -p "$WORK/skopeo-tmp"
  t0=$(now)
  timeout --kill-after=10 900 skopeo --insecure-policy --tmpdir "$WORK/skopeo-tmp" --command-timeout 900s \
    copy --dest-tls-verify=false "${creds[@]}" "oci:$LAYOUT:latest" "docker://127.0.0.1:${PORT[$SERVER]}/$repo:1" \
    >"$WORK/skopeo.out" 2>&1 || die "skopeo copy: $(tail -5 "$WORK/skopeo.out")"
  t1=$(now)
  { echo "$SERVER skopeo copy:"; cat "$WORK/skopeo.out"; } >>"$RAW"
  skipped=$(grep -c 'skipped' "$WORK/skopeo.out" || true)
  [[ $skipped == 0 ]] || log "$SERVER: WARNING: skopeo skipped $skipped blobs"
  local s; s=$(elapsed "$t0" "$t1")
  R[$SERVER.skopeo]="$s s = $(mbps "$LAYOUT_BYTES" "$s") MB/s"
  log "$SERVER: skopeo copy: ${R[$SERVER.skopeo]}"
}

# crane push of the shared layout into REPO:1 -> sets R[<server>.crane] ("s = MB/s"). crane reads
# credentials from DOCKER_CONFIG (a `crane auth login` for Berth, empty for Distribution).
crane_push() {
  local repo=$1 t0 t1 pushed existing cfg=$WORK/docker-config-$SERVER
  mkdir -p "$cfg"
  if [[ $SERVER == berth ]]; then
    DOCKER_CONFIG=$cfg timeout 30 "$CRANE" auth login "127.0.0.1:${PORT[$SERVER]}" -u admin -p "$BENCH_PASS" \
      >"$WORK/crane.out" 2>&1 || die "crane auth login: $(tail -3 "$WORK/crane.out")"
  fi
  t0=$(now)
  DOCKER_CONFIG=$cfg timeout --kill-after=10 900 "$CRANE" push --insecure "$LAYOUT" "127.0.0.1:${PORT[$SERVER]}/$repo:1" \
    >"$WORK/crane.out" 2>&1 || die "crane push: $(tail -5 "$WORK/crane.out")"
  t1=$(now)
  { echo "$SERVER crane push:"; cat "$WORK/crane.out"; } >>"$RAW"
  pushed=$(grep -c 'pushed blob' "$WORK/crane.out" || true)
  existing=$(grep -c 'existing blob' "$WORK/crane.out" || true)
  [[ $existing == 0 ]] || log "$SERVER: WARNING: crane found $existing blobs already there"
  local s; s=$(elapsed "$t0" "$t1")
  R[$SERVER.crane]="$s s = $(mbps "$LAYOUT_BYTES" "$s") MB/s"
  log "$SERVER: crane push: ${R[$SERVER.crane]} ($pushed blobs pushed, $existing existing)"
}

# ---- inputs (shared by all servers) ----------------------------------------------------------

log "generating inputs in $WORK (BIG_MIB=$BIG_MIB LARGE_MIB=$LARGE_MIB LARGE8_MIB=$LARGE8_MIB SMALL_IMAGES=$SMALL_IMAGES MANY_CLIENTS=$MANY_CLIENTS MANY_MIB=$MANY_MIB LAYERS=$LAYERS LAYER_MIB=$LAYER_MIB WRK_SECS=$WRK_SECS)"
head -c "${BIG_MIB}M" /dev/urandom >"$WORK/big"
BIG_DIGEST=sha256:$(sha256sum "$WORK/big" | cut -d' ' -f1)
BIG_BYTES=$((BIG_MIB << 20))
for i in 1 2 3; do
  head -c "${LARGE_MIB}M" /dev/urandom >"$WORK/large-$i"
  LARGE_DIGEST[i]=sha256:$(sha256sum "$WORK/large-$i" | cut -d' ' -f1)
done
LARGE_BYTES=$((LARGE_MIB << 20))
LAYOUT=$WORK/layout
log "building the OCI layout for skopeo and crane: $LAYERS layers × $LAYER_MIB MiB"
j=$(timeout 900 python3 "$ROOT/examples/bench/make_big_layout.py" "$LAYOUT" --layers "$LAYERS" --layer-mib "$LAYER_MIB") ||
  die "make_big_layout.py"
LAYOUT_BYTES=$(jget "$j" push_bytes)
LAYOUT_MIB=$((LAYOUT_BYTES >> 20))
log "layout: $LAYOUT_BYTES bytes"

# ---- the run ----------------------------------------------------------------------------------

for server in "${SERVERS[@]}"; do
  start_server "$server"
  probe_mode

  # RSS growth during one streamed BIG_MIB upload, on the fresh server.
  rss0=$(status_kb "$SERVER_PID" VmRSS); hwm0=$(status_kb "$SERVER_PID" VmHWM)
  curl_auth bench/rss
  sampler_start
  step_begin
  t=$(curl_push "$WORK/big" "$BIG_DIGEST" bench/rss stream)
  step_end rss "$BIG_BYTES"
  sampler_stop
  rss1=$(status_kb "$SERVER_PID" VmRSS); hwm1=$(status_kb "$SERVER_PID" VmHWM)
  R[$SERVER.rss_growth]=$(mib_growth "$rss0" "$SAMPLED_MAX")
  R[$SERVER.hwm_growth]=$(mib_growth "$hwm0" "$hwm1")
  R[$SERVER.rss_detail]="VmRSS ${rss0}→${rss1} kB, VmHWM ${hwm0}→${hwm1} kB, max sampled ${SAMPLED_MAX} kB (${SAMPLES} samples), upload $(mbps "$BIG_BYTES" "$t") MB/s"
  echo "$SERVER rss: ${R[$SERVER.rss_detail]}" >>"$RAW"
  log "$SERVER: $BIG_MIB MiB upload: ${R[$SERVER.rss_detail]}"

  # Single-stream LARGE_MIB push with curl, 3 distinct files.
  rates=()
  curl_auth bench/curl
  step_begin
  for i in 1 2 3; do
    t=$(curl_push "$WORK/large-$i" "${LARGE_DIGEST[i]}" bench/curl data)
    rates+=("$(mbps "$LARGE_BYTES" "$t")")
  done
  step_end curl $((3 * LARGE_BYTES))
  read -r best med < <(best_median "${rates[@]}")
  R[$SERVER.curl]="$best / $med"
  echo "$SERVER curl $LARGE_MIB MiB MB/s: ${rates[*]}" >>"$RAW"
  log "$SERVER: curl $LARGE_MIB MiB push MB/s: ${rates[*]}"

  # Single-stream LARGE_MIB push with berth-bench, 3 rounds.
  step_begin
  j=$(bench push-large --url "$URL" --repo bench/large1 --size-mib "$LARGE_MIB" --clients 1 --repeat 3)
  step_end large1 $((3 * LARGE_BYTES))
  R[$SERVER.large1]="$(printf '%.0f' "$(jget "$j" mb_per_s_best)") / $(printf '%.0f' "$(jget "$j" mb_per_s_median)")"

  # 8 clients x LARGE8_MIB, 3 rounds.
  step_begin
  j=$(bench push-large --url "$URL" --repo bench/large8 --size-mib "$LARGE8_MIB" --clients 8 --repeat 3)
  step_end large8 $((3 * 8 * (LARGE8_MIB << 20)))
  R[$SERVER.large8]="$(printf '%.0f' "$(jget "$j" mb_per_s_best)") / $(printf '%.0f' "$(jget "$j" mb_per_s_median)")"

  # MANY_CLIENTS clients at once, each pushing its own MANY_MIB blob over its own connection;
  # the server's RSS sampled throughout (berth-bench makes the data first, untimed).
  rss0=$(status_kb "$SERVER_PID" VmRSS)
  sampler_start
  step_begin
  j=$(bench push-large --url "$URL" --repo bench/many --size-mib "$MANY_MIB" --clients "$MANY_CLIENTS" --repeat 1)
  step_end many $((MANY_CLIENTS * (MANY_MIB << 20)))
  sampler_stop
  R[$SERVER.many_rss]=$(mib_growth "$rss0" "$SAMPLED_MAX")
  R[$SERVER.many_mbps]=$(printf '%.0f' "$(jget "$j" mb_per_s_best)")
  R[$SERVER.many_detail]="VmRSS before ${rss0} kB, max sampled ${SAMPLED_MAX} kB (${SAMPLES} samples), upload latency p50 $(jget "$j" upload_latency_ms_p50) ms, p99 $(jget "$j" upload_latency_ms_p99) ms"
  echo "$SERVER many: ${R[$SERVER.many_detail]}" >>"$RAW"
  log "$SERVER: $MANY_CLIENTS concurrent uploads: RSS growth ${R[$SERVER.many_rss]} MiB, ${R[$SERVER.many_mbps]} MB/s"

  # Reads with wrk, with the header a pulling client sends (Bearer for Berth).
  j=$(bench prepare --url "$URL" --repo bench/app)
  auth_header bench/app pull
  step_begin
  wrk_run blob "$(jget "$j" blob_url)" 4 "$AUTH_HDR"
  step_end blob
  R[$SERVER.blob]=$WRK_MBPS
  step_begin
  wrk_run manifest "$(jget "$j" manifest_url)" 16 "Accept: $(jget "$j" manifest_accept)" "$AUTH_HDR"
  step_end manifest
  R[$SERVER.manifest]=$WRK_RPS

  # Small images.
  step_begin
  j=$(bench push-small --url "$URL" --repo bench/small --images "$SMALL_IMAGES" --clients 8)
  step_end small
  R[$SERVER.small]=$(printf '%.0f' "$(jget "$j" images_per_s)")
  if [[ $MODE == monolithic ]]; then
    # The same with the two-request flow Distribution 2.8 needs, for a like-for-like protocol.
    step_begin
    j=$(bench push-small --url "$URL" --repo bench/small-pp --images "$SMALL_IMAGES" --clients 8 --upload post-put)
    step_end small_pp
    R[$SERVER.small_pp]=$(printf '%.0f' "$(jget "$j" images_per_s)")
  fi

  # Real clients pushing a LAYERS-layer image: skopeo into bench/skopeo, crane into another
  # project (bench2/crane) so that neither finds the other's blobs.
  step_begin
  skopeo_push bench/skopeo
  step_end skopeo "$LAYOUT_BYTES"
  step_begin
  crane_push bench2/crane
  step_end crane "$LAYOUT_BYTES"

  # Idle RSS after all the workloads.
  sleep 5
  R[$SERVER.idle_rss]=$(py 'import sys; print(f"{int(sys.argv[1])/1024:.1f}")' "$(status_kb "$SERVER_PID" VmRSS)")
  log "$SERVER: idle RSS after the workloads: ${R[$SERVER.idle_rss]} MiB"
  # Where it is: heap and stacks (anonymous) against the binary's and libraries' pages (file).
  R[$SERVER.idle_detail]="RssAnon $(status_kb "$SERVER_PID" RssAnon) kB, RssFile $(status_kb "$SERVER_PID" RssFile) kB, $(status_kb "$SERVER_PID" Threads) threads"
  echo "$SERVER idle: ${R[$SERVER.idle_detail]}" >>"$RAW"

  R[$SERVER.auth]=$(sort -u "$WORK/auth-$SERVER" | paste -sd/ -)
  # Distribution logs each 404 (a client's HEAD for a blob it is about to push) as an error.
  R[$SERVER.log]="$(grep -iE 'warn|error|panic' "$WORK/$SERVER.log" | grep -cvE 'err.code="(blob|manifest) unknown"' || true) warn/error lines (404s not counted)"
  { echo "$SERVER log tail:"; tail -5 "$WORK/$SERVER.log"
    echo "$SERVER log warn/error lines (first 20, 404s not shown):"
    grep -iE 'warn|error|panic' "$WORK/$SERVER.log" | grep -vE 'err.code="(blob|manifest) unknown"' | head -20 || true; } >>"$RAW"
  stop_server
  rm -rf "${WORK:?}/$SERVER-data"
done

# ---- report -----------------------------------------------------------------------------------

v() { echo "${R[$1]:-n/a}"; }
OTHERS=()   # servers Berth is compared with
if has berth; then for s in "${SERVERS[@]}"; do [[ $s == berth ]] || OTHERS+=("$s"); done; fi
# ratio METRIC SERVER [FIELD]: Berth's number over SERVER's; FIELD picks which number of the
# cell (0 = the first; -2 = the "MB/s" of "s = MB/s" cells), so a ratio above 1 is Berth faster.
ratio() {
  py 'import sys
def f(s, i):
    try: return float(s.split()[i])
    except Exception: return None
i=int(sys.argv[3]); a,b=f(sys.argv[1],i),f(sys.argv[2],i)
print(f"{a/b:.2f}x" if a and b else "")' "$(v "berth.$1")" "$(v "$2.$1")" "${3:-0}"
}
# row TITLE METRIC [ratio field | "" for none]
row() {
  local line="| $1 |" s
  for s in "${SERVERS[@]}"; do line+=" $(v "$s.$2") |"; done
  for s in "${OTHERS[@]}"; do
    if [[ $# -ge 3 && -z $3 ]]; then line+=" |"; else line+=" $(ratio "$2" "$s" "${3:-0}") |"; fi
  done
  echo "$line"
}
header() {
  local line="| $1 |" sep="| --- |" s
  for s in "${SERVERS[@]}"; do line+=" ${NAME[$s]} |"; sep+=" ---: |"; done
  if [[ ${2:-} == ratios ]]; then
    for s in "${OTHERS[@]}"; do line+=" Berth / ${NAME[$s]} |"; sep+=" ---: |"; done
  fi
  echo "$line"; echo "$sep"
}
names() { local s out=(); for s in "${SERVERS[@]}"; do out+=("${NAME[$s]}"); done; local IFS=,; echo "${out[*]}" | sed 's/,/ vs /g'; }

echo
echo "## $(names) ($(date -u +%F), $(nproc) cores, data on $SHM${BENCH_QUICK:+, BENCH_QUICK=$BENCH_QUICK})"
echo
header Benchmark ratios
row "Client authentication (Berth: token from /service/token)" auth ""
row "Blob upload flow used" mode ""
row "Single-stream $LARGE_MIB MiB push, curl, MB/s (best / median of 3)" curl
row "Single-stream $LARGE_MIB MiB push, berth-bench, MB/s (best / median of 3)" large1
row "8-client push 8 × $LARGE8_MIB MiB, aggregate MB/s (best / median of 3)" large8
row "$MANY_CLIENTS concurrent uploads × $MANY_MIB MiB, aggregate MB/s" many_mbps
row "Blob GET 16 MiB, wrk -t2 -c4 -d${WRK_SECS}s, MB/s" blob
row "Manifest GET, wrk -t2 -c16 -d${WRK_SECS}s, req/s" manifest
row "Small-image push, $SMALL_IMAGES images, 8 clients, images/s" small
row "Small-image push as POST+PUT per blob (like-for-like), images/s" small_pp ""
row "skopeo copy of a $LAYOUT_MIB MiB, $LAYERS-layer image, s = MB/s" skopeo -2
row "crane push of the same image, s = MB/s" crane -2
row "RSS growth during $BIG_MIB MiB streamed upload, max MiB (VmRSS sampled every 50 ms)" rss_growth ""
row "VmHWM growth during the same upload, MiB" hwm_growth ""
row "$MANY_CLIENTS concurrent uploads: RSS growth, max MiB (sampled every 50 ms)" many_rss ""
row "Idle RSS after the workloads (5 s idle), MiB" idle_rss ""
echo
if has berth; then
  echo "Berth binary: built $BERTH_BUILT, sha256 $BERTH_SHA…; tree at $GIT_REV${GIT_DIRTY:+ with uncommitted changes in $GIT_DIRTY}."
fi
for s in dist3 dist2; do
  has $s && echo "${NAME[$s]}: $("${BIN[$s]}" --version 2>/dev/null | head -1)."
done
echo "Clients: berth-bench, curl $(curl --version | head -1 | cut -d' ' -f2), wrk, $(skopeo --version), crane $("$CRANE" version 2>/dev/null)."
echo
echo "MB = 10^6 bytes. Ratios are Berth's figure over the other server's (for skopeo and crane, of MB/s), so above 1 means Berth is faster; memory rows have none. The load generators share the $(nproc) cores with the server."
echo
echo "Server CPU per step (user+sys from /proc/PID/stat; step wall includes untimed data preparation):"
echo
header Step
for s in rss:"$BIG_MIB MiB upload" curl:"curl 3 × $LARGE_MIB MiB" large1:"berth-bench 3 × $LARGE_MIB MiB" \
  large8:"berth-bench 3 × 8 × $LARGE8_MIB MiB" many:"$MANY_CLIENTS concurrent × $MANY_MIB MiB" \
  blob:"blob GET (wrk)" manifest:"manifest GET (wrk)" small:"$SMALL_IMAGES small images" \
  small_pp:"$SMALL_IMAGES small images, POST+PUT" skopeo:"skopeo copy" crane:"crane push"; do
  line="| ${s#*:} |"
  for srv in "${SERVERS[@]}"; do line+=" $(v "$srv.cpu.${s%%:*}") |"; done
  echo "$line"
done
echo
for s in "${SERVERS[@]}"; do
  echo "${NAME[$s]}: RSS detail: $(v "$s.rss_detail"); $MANY_CLIENTS concurrent uploads: $(v "$s.many_detail"); idle: $(v "$s.idle_detail"); server log: $(v "$s.log")."
done
