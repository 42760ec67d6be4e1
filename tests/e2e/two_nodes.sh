#!/usr/bin/env bash
# Two `berth serve` processes sharing one metadata database and one blob store behave as one
# registry: a chunked upload started on one node continues and finishes on the other, content
# pushed through either is served by both, and a tag deleted on one node disappears from the
# other within the manifest cache's time-to-live (2 s).
# Every request is made as the admin; the project `two` is created through node A.
# Both nodes share one secret key (secrets at rest); a third node with another key refuses to
# start and names both key ids.
# Needs BERTH_METADATA (postgres://…) and BERTH_STORAGE (s3://…): tests/run.sh provides them.
# Prints "two-nodes: N passed, M failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ ${BERTH_METADATA:-} == postgres* ]] || die "two_nodes.sh needs BERTH_METADATA=postgres://…"
[[ -n ${BERTH_STORAGE:-} ]] || die "two_nodes.sh needs a shared BERTH_STORAGE"
e2e_init
BERTH_SECRET_KEY=$(openssl rand -hex 32)
export BERTH_SECRET_KEY

# Node B: started by hand on the same backends.
port_b=$(e2e_free_port)
B=http://127.0.0.1:$port_b
BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD "$BERTH_BIN" serve --listen "127.0.0.1:$port_b" --data-dir "$(e2e_mktemp data-b)" 2>"$E2E_TMP/node-b.log" &
pid_b=$!
trap 'kill $pid_b 2>/dev/null || true; e2e_cleanup' EXIT
berth_start # node A
A=$BERTH_URL
for _ in $(seq 150); do [[ $(http_code "$B/v2/") == 200 ]] && break; sleep 0.2; done
check "node B is up" assert_eq 200 "$(http_code "$B/v2/")"
# Repositories live in projects: create `two` through A; B must see it (same database).
berth_project two || die "could not create project two"
check "node B sees the project created through A" assert_eq 200 "$(http_code "$B/api/v2.0/projects/two")"

repo=two/nodes
python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(3*1024*1024+17))' >"$E2E_TMP/blob"
digest=$(sha256_of "$E2E_TMP/blob")
head -c 2097152 "$E2E_TMP/blob" >"$E2E_TMP/part1"
tail -c +2097153 "$E2E_TMP/blob" >"$E2E_TMP/part2"
size1=$(stat -c %s "$E2E_TMP/part1")
size2=$(stat -c %s "$E2E_TMP/part2")

# Start on A, first chunk on A, second chunk on B, finish on A.
loc=$(acurl -s --max-time 30 -D - -o /dev/null -X POST "$A/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
check "A opens an upload session" assert_contains "$loc" "/v2/$repo/blobs/uploads/"
code=$(http_code -X PATCH -H "Content-Range: 0-$((size1 - 1))" --data-binary @"$E2E_TMP/part1" "$A$loc")
check "A takes the first chunk" assert_eq 202 "$code"
status_b=$(acurl -s --max-time 30 -D - -o /dev/null "$B$loc" | tr -d '\r' | awk 'tolower($1)=="range:"{print $2}')
check "B reports the progress made on A" assert_eq "0-$((size1 - 1))" "$status_b"
code=$(http_code -X PATCH -H "Content-Range: $size1-$((size1 + size2 - 1))" --data-binary @"$E2E_TMP/part2" "$B$loc")
check "B takes the second chunk" assert_eq 202 "$code"
code=$(http_code -X PUT "$A$loc?digest=$digest")
check "A finishes the upload B continued" assert_eq 201 "$code"
acurl -s --max-time 60 -o "$E2E_TMP/back" "$B/v2/$repo/blobs/$digest"
check "B serves the blob byte for byte" assert_same_file "$E2E_TMP/blob" "$E2E_TMP/back"

# A manifest pushed through B is pulled through A.
printf '{}' >"$E2E_TMP/cfg"
cfg=$(sha256_of "$E2E_TMP/cfg")
http_code -X POST --data-binary @"$E2E_TMP/cfg" "$B/v2/$repo/blobs/uploads/?digest=$cfg" >/dev/null
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' "$cfg" "$digest" $((size1 + size2)))
code=$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$manifest" "$B/v2/$repo/manifests/v1")
check "B stores the manifest" assert_eq 201 "$code"
check "A serves the tag pushed through B" assert_eq "$manifest" "$(acurl -s --max-time 30 "$A/v2/$repo/manifests/v1")"

# A tag deleted through B disappears from A within the cache time-to-live.
code=$(http_code -X DELETE "$B/v2/$repo/manifests/v1")
check "B deletes the tag" assert_eq 202 "$code"
gone_after=""
for i in $(seq 40); do
  if [[ $(http_code "$A/v2/$repo/manifests/v1") == 404 ]]; then gone_after=$((i * 100)); break; fi
  sleep 0.1
done
check "A stops serving the deleted tag within 3 s (took ${gone_after:-more than 4000} ms)" test -n "$gone_after" -a "${gone_after:-9999}" -le 3000
# A node with a key of its own would fail to open the shared secrets: it refuses to start.
other_log=$E2E_TMP/node-c.log
BERTH_SECRET_KEY=$(openssl rand -hex 32) BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD timeout 60 \
  "$BERTH_BIN" serve --listen "127.0.0.1:$(e2e_free_port)" --data-dir "$(e2e_mktemp data-c)" >"$other_log" 2>&1 && rc=0 || rc=$?
check "a node with another secret key refuses to start" test "$rc" -ne 0 -a "$rc" -ne 124
check "and says which key the database needs" grep -q "secret key" "$other_log"
e2e_summary two-nodes
