#!/usr/bin/env bash
# The `berth serve` contract that other tools rely on: options from a TOML config file with
# BERTH_* environment variables taking precedence, JSON logs, /health, /metrics, a graceful
# exit 0 on SIGTERM, and the first-start admin account: a password generated and printed once
# when BERTH_ADMIN_PASSWORD is unset (never again on later starts), BERTH_ADMIN_PASSWORD used
# when set, a weak one refused, and no password, secret or token in the JSON log lines.
# Prints "serve: N passed, M failed".
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
url=http://127.0.0.1:$port
pid="" # the running server (e2e_cleanup stops it, as a background job, on exit)

# start_serve N [ENV=VALUE...]: start on the config file with BERTH_ADMIN_PASSWORD unset (unless
# given) and JSON logs; stdout to $dir/out.N, stderr to $dir/log.N.
start_serve() {
  local n=$1
  shift
  env -u BERTH_ADMIN_PASSWORD BERTH_DATA_DIR="$dir/from-env" BERTH_LOG_FORMAT=json "$@" \
    "$BERTH_BIN" serve --config "$dir/berth.toml" >"$dir/out.$n" 2>"$dir/log.$n" &
  pid=$!
  wait_http "$url/v2/" 30 || log "server $n did not answer within 30 s"
}
stop_rc=""
stop_serve() { # SIGTERM, wait up to 10 s; sets stop_rc to the exit status
  stop_rc=0
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; stop_rc=137; fi
  wait "$pid" 2>/dev/null || stop_rc=$?
  pid=""
}
# Words that could be a generated password (letters and digits, 12+ long, all three kinds) on
# output lines that mention a password.
pw_candidates() {
  grep -i 'password' <<<"$1" | grep -oE '[A-Za-z0-9]{12,128}' | grep -E '[A-Z]' | grep -E '[a-z]' |
    grep -E '[0-9]' | sort -u || true
}
as() { # as USER:PW CURL-ARGS...: HTTP status of a request with those credentials
  local auth=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 -u "$auth" "$@"
}

# ---- first start: config + environment, generated admin password ----------------------------
start_serve 1
out1=$(cat "$dir/out.1" "$dir/log.1")
check "listens on the address from the config file (GET /v2/ answers)" \
  test "$(http_code_anon "$url/v2/")" != 000
check "anonymous GET /v2/ is challenged (401)" assert_eq 401 "$(http_code_anon "$url/v2/")"
check "/health reports healthy" assert_contains "$(curl -s --max-time 10 "$url/health")" '"healthy"'
metrics=$(curl -s --max-time 10 "$url/metrics")
check "/metrics is Prometheus text with request counters" assert_contains "$metrics" 'berth_http_requests_total{'
check "the environment's data dir wins over the file's" test -f "$dir/from-env/berth.db"
check "the file's data dir is unused" test ! -e "$dir/from-file"
first=$(head -n 1 "$dir/log.1")
check "logs are JSON when BERTH_LOG_FORMAT=json" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$first"
check "the startup line names the address" assert_contains "$(cat "$dir/log.1")" "127.0.0.1:$port"

# The generated password: random_secret(20) (letters and digits) on an output line that
# mentions the password. Try each candidate (few: every wrong one counts as a failed login).
generated=""
mapfile -t candidates < <(pw_candidates "$out1" | head -n 5)
for c in "${candidates[@]}"; do
  if [[ "$(as "admin:$c" "$url/api/v2.0/users/current")" == 200 ]]; then generated=$c; break; fi
done
check "first start without BERTH_ADMIN_PASSWORD prints a generated admin password that logs in" \
  test -n "$generated"
if [[ -n "$generated" ]]; then
  check "the generated password is printed exactly once" \
    assert_eq 1 "$(grep -o -- "$generated" <<<"$out1" | wc -l)" "occurrences"
fi
ADMIN="admin:${generated:-none}"

# Credentials that must never reach the log: a user's password, a robot's secret, a wrong
# password, a registry token.
user_pw=Serve-User-Pass1
wrong_pw=Serve-Wrong-Pass9
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -u "$ADMIN" -H 'Content-Type: application/json' \
  --data-binary "{\"username\":\"serveuser\",\"email\":\"serveuser@example.com\",\"realname\":\"Serve User\",\"password\":\"$user_pw\"}" \
  "$url/api/v2.0/users")
check "the admin creates a user (201)" assert_eq 201 "$code"
check "the user logs in with Basic auth" assert_eq 200 "$(as "serveuser:$user_pw" "$url/api/v2.0/users/current")"
check "a wrong password is refused (401)" assert_eq 401 "$(as "serveuser:$wrong_pw" "$url/api/v2.0/users/current")"
robot=$(curl -s --max-time 30 -u "$ADMIN" -H 'Content-Type: application/json' \
  --data-binary '{"name":"serve","level":"system","duration":-1,"permissions":[{"kind":"project","namespace":"*","access":[{"resource":"repository","action":"pull"}]}]}' \
  "$url/api/v2.0/robots")
robot_name=$(jq -r '.name // empty' <<<"$robot" 2>/dev/null || true)
robot_secret=$(jq -r '.secret // empty' <<<"$robot" 2>/dev/null || true)
check "the admin creates a system robot with a secret" test -n "$robot_secret"
token=$(curl -s --max-time 30 -u "$robot_name:$robot_secret" \
  "$url/service/token?service=harbor-registry&scope=repository:library/x:pull" | jq -r '.token // empty' 2>/dev/null || true)
check "the robot gets a registry token" test -n "$token"
check "the token is accepted on /v2" \
  test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $token" "$url/v2/library/x/tags/list")" != 401
secrets_absent() { # no JSON log line holds any of the arguments
  local s rc=0
  for s in "$@"; do
    [[ -n "$s" ]] || continue
    if grep '^{' "$dir/log.1" "$dir/out.1" | grep -qF -- "$s"; then
      printf '     a JSON log line contains %q\n' "$s" >&2
      rc=1
    fi
  done
  return "$rc"
}
check "no JSON log line holds the user's password, the wrong password, the robot secret or the token" \
  secrets_absent "$user_pw" "$wrong_pw" "$robot_secret" "$token"
if [[ -n "$generated" ]]; then
  check "no JSON log line holds the generated password, except the one line that announces it" \
    test "$(grep -h '^{' "$dir/log.1" "$dir/out.1" | grep -cF -- "$generated" || true)" -le 1
fi

stop_serve
check "SIGTERM ends the server with exit 0" assert_eq 0 "$stop_rc" "exit status"
check "shutdown is logged" assert_contains "$(cat "$dir/log.1")" "shutting down"

# ---- second start on the same data dir: nothing printed, the password is kept ------------------
start_serve 2
out2=$(cat "$dir/out.2" "$dir/log.2")
if [[ -n "$generated" ]]; then
  check "the second start does not print the admin password again" assert_not_contains "$out2" "$generated"
  check "the generated password still logs in after a restart" assert_eq 200 "$(as "$ADMIN" "$url/api/v2.0/users/current")"
fi
check "the second start prints no new admin password" assert_eq "" "$(pw_candidates "$out2")" "candidates"
check "the user created before the restart still logs in" \
  assert_eq 200 "$(as "serveuser:$user_pw" "$url/api/v2.0/users/current")"
stop_serve
check "SIGTERM ends the second server with exit 0" assert_eq 0 "$stop_rc" "exit status"

# ---- BERTH_ADMIN_PASSWORD on a fresh data dir: used, never printed -----------------------------
rm -rf "$dir/from-env"
chosen=Serve-Admin-Pass7
start_serve 3 BERTH_ADMIN_PASSWORD=$chosen
check "BERTH_ADMIN_PASSWORD becomes the admin password on first start" \
  assert_eq 200 "$(as "admin:$chosen" "$url/api/v2.0/users/current")"
check "BERTH_ADMIN_PASSWORD is not printed" assert_not_contains "$(cat "$dir/out.3" "$dir/log.3")" "$chosen"
stop_serve
check "SIGTERM ends the third server with exit 0" assert_eq 0 "$stop_rc" "exit status"

# A weak BERTH_ADMIN_PASSWORD on a fresh data dir is refused.
weak_dir=$(e2e_mktemp weak)
out=$(BERTH_ADMIN_PASSWORD=weak timeout 30 "$BERTH_BIN" serve --listen "127.0.0.1:$(e2e_free_port)" \
  --data-dir "$weak_dir" 2>&1) && weak_rc=0 || weak_rc=$?
check "a weak BERTH_ADMIN_PASSWORD is refused at start (non-zero exit, not a timeout)" \
  test "$weak_rc" -ne 0 -a "$weak_rc" -ne 124
check "the refusal talks about the password" assert_contains "$(tr '[:upper:]' '[:lower:]' <<<"$out")" "password"

# A bad config is refused with a clear message and a non-zero exit.
echo 'listen = 5' >"$dir/bad.toml"
out=$("$BERTH_BIN" serve --config "$dir/bad.toml" 2>&1) && bad_rc=0 || bad_rc=$?
check "a malformed config file is refused" assert_eq 1 "$bad_rc" "exit status"
check "the refusal names the file" assert_contains "$out" "bad.toml"
e2e_summary serve
