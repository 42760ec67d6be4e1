# Throw-away PostgreSQL cluster and S3-compatible server on loopback, for the test suite.
# Source this file, then call start_postgres / start_s3; stop_services runs on exit.
# Exports BERTH_TEST_PG_URL (an admin URL; tests create their own databases) and
# BERTH_TEST_S3_URL (s3://bucket?endpoint=…&credentials…).

BERTH_SERVICES_DIR=${BERTH_SERVICES_DIR:-$(mktemp -d /tmp/berth-services.XXXXXX)}
chmod 755 "$BERTH_SERVICES_DIR"
_pids=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "service on $1:$2 did not come up in $3 s" >&2
  return 1
}

start_postgres() {
  local pgbin=/usr/lib/postgresql/15/bin d=$BERTH_SERVICES_DIR/pg port
  port=$(free_port)
  mkdir -p "$d"
  chown postgres "$d" 2>/dev/null || true
  runuser -u postgres -- "$pgbin/initdb" -D "$d/data" -A trust -U postgres --no-sync >"$d/initdb.log" 2>&1
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$d/data" -l "$d/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
  export BERTH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export BERTH_PG_DATA=$d/data
  echo "services: PostgreSQL on 127.0.0.1:$port"
}

start_s3() {
  local tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools} d=$BERTH_SERVICES_DIR/s3 port
  port=$(free_port)
  mkdir -p "$d/berth"
  "$tools/bin/s3s-fs" --host 127.0.0.1 --port "$port" --access-key berthtest --secret-key berthtestsecret "$d" >"$BERTH_SERVICES_DIR/s3.log" 2>&1 &
  _pids+=($!)
  wait_port 127.0.0.1 "$port" 30
  export BERTH_TEST_S3_URL="s3://berth?endpoint=http://127.0.0.1:$port&region=us-east-1&access_key_id=berthtest&secret_access_key=berthtestsecret"
  echo "services: s3s-fs on 127.0.0.1:$port"
}

# A fresh PostgreSQL database on the test cluster; prints its URL.
new_pg_database() {
  local name="berth_$(date +%s%N)_$RANDOM"
  psql -q "$BERTH_TEST_PG_URL" -c "CREATE DATABASE $name" >/dev/null
  echo "${BERTH_TEST_PG_URL%/*}/$name"
}

stop_services() {
  local p
  for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${BERTH_PG_DATA:-}" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$BERTH_PG_DATA" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$BERTH_SERVICES_DIR"
}
