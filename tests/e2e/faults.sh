#!/usr/bin/env bash
# Faults under a real `berth serve`:
#   full-disk   the data directory (SQLite + blob files) on a small tmpfs: pushes that do not fit
#               fail with a 5xx in the OCI envelope, nothing half-written is served, the server
#               stays up, and once there is room the same push succeeds with no manual step;
#   pg-restart  PostgreSQL restarted while a client pushes (needs BERTH_METADATA=postgres://… and
#               BERTH_PG_DATA, which tests/run.sh provides): requests during the restart fail with
#               a 5xx in the OCI envelope, every push that was answered 201 is served intact, and
#               pushes succeed again without restarting berth.
# Prints "faults-MODE: N passed, M failed". Usage: tests/e2e/faults.sh full-disk|pg-restart
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mode=${1:?usage: faults.sh full-disk|pg-restart}
e2e_init

blob() { # blob FILE MIB SEED
  python3 -c 'import hashlib,sys
n=int(sys.argv[2])<<20; seed=sys.argv[3].encode(); out=open(sys.argv[1],"wb"); i=0
while n>0:
    b=hashlib.sha256(seed+str(i).encode()).digest()*2048; out.write(b[:n]); n-=len(b[:n]); i+=1' "$1" "$2" "$3"
}
push() { # push REPO FILE -> prints the status; body in $E2E_TMP/last.json
  e2e_curl -s -o "$E2E_TMP/last.json" -w '%{http_code}' --max-time 60 -u "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD" \
    -X POST --data-binary @"$2" "$BERTH_URL/v2/$1/blobs/uploads/?digest=$(sha256_of "$2")" || echo 000
}
envelope_code() { jq -r '.errors[0].code // "none"' "$E2E_TMP/last.json" 2>/dev/null || echo none; }
# Note: the pusher loop below runs in a subshell; each push rewrites last.json before it is read.
served_intact() { # served_intact REPO FILE
  acurl -s --max-time 60 -o "$E2E_TMP/back" "$BERTH_URL/v2/$1/blobs/$(sha256_of "$2")" && cmp -s "$2" "$E2E_TMP/back"
}

case $mode in
full-disk)
  disk=$(e2e_mktemp disk)
  mount -t tmpfs -o size=24m tmpfs "$disk" || die "cannot mount a tmpfs (needs root)"
  trap 'berth_stop 2>/dev/null || true; umount -l "$disk" 2>/dev/null || true; e2e_cleanup' EXIT
  unset BERTH_METADATA BERTH_STORAGE
  berth_start "$disk/data"
  berth_project full >/dev/null || die "could not create project full"
  ok=()
  failed_file=""
  for i in $(seq 1 12); do
    f=$E2E_TMP/b$i
    blob "$f" 3 "full-$i"
    code=$(push full/app "$f")
    if [[ $code == 201 ]]; then
      ok+=("$f")
    else
      failed_file=$f
      break
    fi
  done
  check "some pushes fit before the disk is full (${#ok[@]})" test "${#ok[@]}" -ge 1
  check "the push that does not fit fails with a 5xx (got $code)" test -n "$failed_file" -a "${code:0:1}" == 5
  check "in the OCI envelope (code $(envelope_code))" assert_eq UNKNOWN "$(envelope_code)"
  check "without details of the disk" test "$(grep -c 'No space\|ENOSPC\|os error' "$E2E_TMP/last.json")" -eq 0
  check "the server stays up" assert_eq 200 "$(http_code "$BERTH_URL/v2/")"
  check "the blob that failed is not served" assert_eq 404 "$(http_code "$BERTH_URL/v2/full/app/blobs/$(sha256_of "$failed_file")")"
  check "no half-written file sits at its final path" test ! -e "$disk/data/blobs/sha256/$(sha256_of "$failed_file" | cut -c8-9)/$(sha256_of "$failed_file" | cut -c8-)"
  for f in "${ok[@]}"; do
    check "a blob pushed before the disk filled is intact ($(basename "$f"))" served_intact full/app "$f"
  done
  mount -o remount,size=256m "$disk"
  check "with room again, the same push succeeds (no manual step)" assert_eq 201 "$(push full/app "$failed_file")"
  check "and the blob is served intact" served_intact full/app "$failed_file"
  ;;
pg-restart)
  [[ ${BERTH_METADATA:-} == postgres* ]] || die "pg-restart needs BERTH_METADATA=postgres://…"
  [[ -n ${BERTH_PG_DATA:-} ]] || die "pg-restart needs BERTH_PG_DATA (tests/lib/services.sh)"
  berth_start
  berth_project pgr >/dev/null || die "could not create project pgr"
  blob "$E2E_TMP/warm" 1 warm
  check "a push before the restart works" assert_eq 201 "$(push pgr/app "$E2E_TMP/warm")"
  : >"$E2E_TMP/codes"
  (
    for i in $(seq 1 60); do
      f=$E2E_TMP/p$i
      blob "$f" 1 "pg-$i"
      code=$(push pgr/app "$f")
      printf '%s %s %s\n' "$i" "$code" "$(envelope_code)" >>"$E2E_TMP/codes"
      sleep 0.1
    done
  ) &
  pusher=$!
  sleep 1
  # Down for 25 seconds (longer than the write pool's 20 s wait; reads wait 8 s), then back with
  # its options.
  pg=/usr/lib/postgresql/15/bin
  opts=$(cut -d' ' -f2- "$BERTH_PG_DATA/postmaster.opts")
  runuser -u postgres -- "$pg/pg_ctl" -D "$BERTH_PG_DATA" -m fast -w stop >/dev/null
  sleep 25
  runuser -u postgres -- "$pg/pg_ctl" -D "$BERTH_PG_DATA" -l "$BERTH_PG_DATA/../log" -w start -o "$opts" >/dev/null
  log "PostgreSQL restarted after a 25 s outage"
  wait "$pusher"
  log "statuses: $(cut -d' ' -f2 "$E2E_TMP/codes" | sort | uniq -c | tr '\n' ' ')"
  bad=$(awk '$2 != 201 && !($2 ~ /^5/ && $3 == "UNKNOWN" || $2 ~ /^5/ && $3 == "UNAVAILABLE")' "$E2E_TMP/codes")
  check "every push answered 201, or a 5xx in the OCI envelope" assert_eq "" "$bad"
  check "the outage was seen by some pushes (a 5xx)" test "$(awk '$2 ~ /^5/' "$E2E_TMP/codes" | wc -l)" -ge 1
  all_ok=yes
  while read -r i code _; do
    [[ $code == 201 ]] || continue
    served_intact pgr/app "$E2E_TMP/p$i" || all_ok="no (p$i)"
  done <"$E2E_TMP/codes"
  check "every push answered 201 is served intact" assert_eq yes "$all_ok"
  check "the pushes after the restart succeed" test "$(tail -5 "$E2E_TMP/codes" | awk '$2 == 201' | wc -l)" -eq 5
  blob "$E2E_TMP/after" 1 after
  check "a new push works without restarting berth" assert_eq 201 "$(push pgr/app "$E2E_TMP/after")"
  check "berth is the same process" kill -0 "$BERTH_PID"
  ;;
*) die "unknown mode $mode" ;;
esac
e2e_summary "faults-$mode"
