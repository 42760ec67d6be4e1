#!/usr/bin/env bash
# The `berth serve` contract that other tools rely on: options from a TOML config file with
# BERTH_* environment variables taking precedence, JSON logs, /health, /metrics, and a graceful
# exit 0 on SIGTERM. Prints "serve: N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
e2e_init

dir=$(e2e_mktemp serve)
port=$(e2e_free_port)
# The file asks for one data dir and text logs; the environment overrides both.
cat >"$dir/berth.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/from-file"
log_format = "text"
TOML
log_file=$dir/berth.log
BERTH_DATA_DIR=$dir/from-env BERTH_LOG_FORMAT=json "$BERTH_BIN" serve --config "$dir/berth.toml" 2>"$log_file" &
pid=$!
url=http://127.0.0.1:$port
for _ in $(seq 150); do
  [[ $(http_code "$url/v2/") == 200 ]] && break
  sleep 0.2
done

check "listens on the address from the config file" assert_eq 200 "$(http_code "$url/v2/")"
check "/health reports healthy" assert_contains "$(curl -s --max-time 10 "$url/health")" '"healthy"'
metrics=$(curl -s --max-time 10 "$url/metrics")
check "/metrics is Prometheus text with request counters" assert_contains "$metrics" 'berth_http_requests_total{'
check "the environment's data dir wins over the file's" test -f "$dir/from-env/berth.db"
check "the file's data dir is unused" test ! -e "$dir/from-file"
first=$(head -n 1 "$log_file")
check "logs are JSON when BERTH_LOG_FORMAT=json" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$first"
check "the startup line names the address" assert_contains "$(cat "$log_file")" "127.0.0.1:$port"

kill -TERM "$pid"
rc=0
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; rc=137; fi
wait "$pid" 2>/dev/null || rc=$?
check "SIGTERM ends the server with exit 0" assert_eq 0 "$rc" "exit status"
check "shutdown is logged" assert_contains "$(cat "$log_file")" "shutting down"

# A bad config is refused with a clear message and a non-zero exit.
echo 'listen = 5' >"$dir/bad.toml"
out=$("$BERTH_BIN" serve --config "$dir/bad.toml" 2>&1) && bad_rc=0 || bad_rc=$?
check "a malformed config file is refused" assert_eq 1 "$bad_rc" "exit status"
check "the refusal names the file" assert_contains "$out" "bad.toml"
e2e_summary serve
