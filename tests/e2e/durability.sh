#!/usr/bin/env bash
# Durability of the filesystem blob store, observed with strace on a real `berth serve`: a
# pushed blob is fsynced, renamed into blobs/<alg>/<xx>/<hex>, and then the directory holding
# the new name is fsynced too (without that, a power loss after the database linked the blob
# could lose its name). Prints "durability: N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || die "strace is not installed (Debian: apt-get install strace)"
e2e_init

data=$(e2e_mktemp data)
port=$(e2e_free_port)
trace=$E2E_TMP/strace.txt
BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD strace -f -qq -y -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$trace" \
  "$BERTH_BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" >"$E2E_TMP/berth.log" 2>&1 &
pid=$!
trap 'pkill -KILL -P $pid 2>/dev/null || true; kill $pid 2>/dev/null || true; e2e_cleanup' EXIT
BERTH_URL=http://127.0.0.1:$port
for _ in $(seq 300); do [[ $(http_code "$BERTH_URL/v2/") == 200 ]] && break; sleep 0.1; done
check "berth serve runs under strace" assert_eq 200 "$(http_code "$BERTH_URL/v2/")"
berth_api POST /projects '{"project_name":"dur","metadata":{"public":"false"}}' >/dev/null || die "could not create project dur"

python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(65536))' >"$E2E_TMP/blob"
digest=$(sha256_of "$E2E_TMP/blob")
hex=${digest#sha256:}
code=$(http_code -X POST --data-binary @"$E2E_TMP/blob" "$BERTH_URL/v2/dur/app/blobs/uploads/?digest=$digest")
check "the blob is pushed" assert_eq 201 "$code"
# Stop the server itself (strace's child); strace ends with it and flushes the trace.
pkill -TERM -P "$pid" || true
wait "$pid" 2>/dev/null || true

dir=blobs/sha256/${hex:0:2}
# The rename into place, then an fsync of the directory that holds it, in that order.
rename_line=$(grep -n "rename.*$dir/$hex" "$trace" | head -1 | cut -d: -f1 || true)
check "the staged file is renamed into $dir/$hex" test -n "$rename_line"
file_sync=$(grep -n "fsync(.*<[^>]*uploads/" "$trace" | head -1 | cut -d: -f1 || true)
check "the staged file was fsynced before the rename" test -n "$file_sync" -a "${file_sync:-0}" -lt "${rename_line:-0}"
dir_sync=$(awk -v after="${rename_line:-0}" -v d="$dir>" 'NR > after && /fsync\(/ && index($0, d) { print NR; exit }' "$trace")
check "the directory $dir is fsynced after the rename" test -n "$dir_sync"
new_dir_sync=$(grep -c "fsync(.*<[^>]*blobs/sha256>)" "$trace" || true)
check "the new directory $dir was made durable in its parent" test "${new_dir_sync:-0}" -ge 1
e2e_summary durability
