#!/usr/bin/env bash
# Load: CLIENTS concurrent clients mixing pulls (manifest + layer, 80 %) and small-image pushes
# (20 %) for SECS seconds, first against one `berth serve` node, then against three behind nginx,
# all on one PostgreSQL database and one S3-compatible bucket (fresh ones for each run).
#
#   cargo build --release -p registry-http -p berth-examples
#   bash examples/bench/load.sh [CLIENTS [SECS]]      # default 500 clients, 60 s
#
# Needs what tests/setup.sh installs (PostgreSQL, s3s-fs, nginx). Clients authenticate with
# Bearer tokens from /service/token. Prints one JSON line per run (berth-bench load: operations,
# errors, p50/p99/max latency per kind) and a markdown table. Exits non-zero on any error.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLIENTS=${1:-500}
SECS=${2:-60}
BERTH=${BERTH:-$ROOT/target/release/berth}
BENCH=${BENCH:-$ROOT/target/release/berth-bench}
NGINX=${NGINX:-/usr/sbin/nginx}
PASS=Load-Pass-1
for bin in "$BERTH" "$BENCH" "$NGINX"; do
  [[ -x $bin ]] || { echo "load.sh: $bin missing (see the header)" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true
# shellcheck source=../../tests/lib/services.sh
source "$ROOT/tests/lib/services.sh"
WORK=$(mktemp -d /tmp/berth-load.XXXXXX)
PIDS=()
log() { echo "[$(date +%T)] $*" >&2; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_services 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "starting PostgreSQL and the S3 server"
start_postgres >/dev/null
start_s3 >/dev/null
BERTH_SECRET_KEY=$(openssl rand -hex 32)
export BERTH_SECRET_KEY

wait_http() { # URL SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# cluster NODES -> sets URL (the node, or nginx in front of NODES nodes)
cluster() {
  local n=$1 run=$WORK/run-$1 meta storage i port ports=()
  mkdir -p "$run"
  meta=$(new_pg_database)
  storage="${BERTH_TEST_S3_URL/berth\?/berth/load-$n-$RANDOM?}"
  local lb
  lb=$(free_port)
  for ((i = 1; i <= n; i++)); do ports+=("$(free_port)"); done
  # The URL clients use: the node itself, or nginx.
  if ((n == 1)); then URL=http://127.0.0.1:${ports[0]}; else URL=http://127.0.0.1:$lb; fi
  cat >"$run/berth.toml" <<EOF
trusted_proxies = ["127.0.0.1/32"]
external_url = "$URL"
EOF
  for ((i = 1; i <= n; i++)); do
    BERTH_ADMIN_PASSWORD=$PASS BERTH_METADATA=$meta BERTH_STORAGE=$storage \
      "$BERTH" serve --config "$run/berth.toml" --listen "127.0.0.1:${ports[i - 1]}" --data-dir "$run/data-$i" \
      2>"$run/node-$i.log" &
    PIDS+=($!)
  done
  for port in "${ports[@]}"; do
    wait_http "http://127.0.0.1:$port/health" 60 || { tail -5 "$run"/node-*.log >&2; exit 1; }
  done
  if ((n > 1)); then
    mkdir -p "$run/ngx/tmp"
    local user_line="" servers=""
    [[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
    for port in "${ports[@]}"; do servers+="server 127.0.0.1:$port max_fails=1 fail_timeout=2s; "; done
    cat >"$run/ngx/nginx.conf" <<EOF
$user_line
worker_processes 1;
worker_rlimit_nofile 65536;
pid $run/ngx/nginx.pid;
error_log $run/ngx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $run/ngx/tmp/body;
    proxy_temp_path $run/ngx/tmp/proxy;
    fastcgi_temp_path $run/ngx/tmp/fastcgi;
    uwsgi_temp_path $run/ngx/tmp/uwsgi;
    scgi_temp_path $run/ngx/tmp/scgi;
    upstream berth { $servers keepalive 256; }
    server {
        listen 127.0.0.1:$lb;
        client_max_body_size 0;
        location / {
            proxy_pass http://berth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_next_upstream error timeout;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }
    }
}
EOF
    "$NGINX" -p "$run/ngx" -c "$run/ngx/nginx.conf" -e "$run/ngx/error.log" -g 'daemon off;' >"$run/ngx/stdout.log" 2>&1 &
    PIDS+=($!)
    wait_http "$URL/health" 20 || { cat "$run/ngx/error.log" >&2; exit 1; }
  fi
  curl -sf -o /dev/null -u "admin:$PASS" -H 'content-type: application/json' \
    -d '{"project_name":"load"}' "$URL/api/v2.0/projects" || { echo "creating project load failed" >&2; exit 1; }
}

declare -A RESULT
for nodes in 1 3; do
  cluster "$nodes"
  log "$nodes node(s) at $URL: $CLIENTS clients for $SECS s"
  RESULT[$nodes]=$(BERTH_BENCH_BASIC=admin:$PASS timeout $((SECS + 300)) "$BENCH" load --url "$URL" --repo load/app \
    --clients "$CLIENTS" --duration-secs "$SECS")
  echo "$nodes nodes: ${RESULT[$nodes]}"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${PIDS[@]}" 2>/dev/null || true
  PIDS=()
done

python3 - "${RESULT[1]}" "${RESULT[3]}" "$CLIENTS" "$SECS" <<'PY'
import json, sys
one, three = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print()
print(f"## Load: {sys.argv[3]} clients, {sys.argv[4]} s, 80 % pulls / 20 % small-image pushes")
print()
print("| | 1 node | 3 nodes behind nginx |")
print("| --- | ---: | ---: |")
for kind in ("pull", "push"):
    for key, label in (("per_s", "per second"), ("latency_ms_p50", "p50 ms"), ("latency_ms_p99", "p99 ms"), ("latency_ms_max", "max ms")):
        print(f"| {kind} {label} | {one[kind][key]} | {three[kind][key]} |")
print(f"| errors | {one['errors']} | {three['errors']} |")
sys.exit(1 if one["errors"] or three["errors"] else 0)
PY
