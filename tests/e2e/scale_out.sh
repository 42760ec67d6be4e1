#!/usr/bin/env bash
# The scale-out proof: three `berth serve` nodes on one PostgreSQL database and one S3 bucket,
# behind nginx (round-robin, streaming bodies both ways, a dead node skipped for idempotent
# requests), behave as one registry:
#
#   setup  the three nodes start at once on the empty database; nginx spreads requests over all
#          three; the token realm a client is sent to is nginx's address, and it works; a new
#          project is seen by every node within 3 s; nginx is a trusted proxy: the login
#          throttle (shared through the database) tells clients apart by X-Forwarded-For.
#   a.     an image pushed (skopeo) through node 1 is pulled (skopeo) through node 2: same
#          manifest digest, same bytes.
#   b.     one chunked upload crosses all nodes: POST on 1, PATCH on 2, PATCH on 3, PUT on 1;
#          the blob reads back identical through nginx.
#   c.     node 2 is killed with `kill -9` while 50 skopeo pushes run through nginx (each retries
#          a failed push up to 5 times, as real clients do): every push succeeds in the end,
#          every tag resolves, every blob a manifest references exists, sampled blobs hash to
#          their digests; node 2 restarts and serves again, and nginx sends it traffic again.
#   d.     a GC schedule firing every 3 s (dry run) on the three-node cluster: each firing makes
#          exactly one execution (no duplicate across nodes), each execution's task runs once
#          and succeeds.
#   e.     garbage collections run while skopeo pushes go through nginx, some of them re-pushing
#          content GC is collecting at that moment: every GC succeeds, every push succeeds (after
#          retries), every pushed manifest's blobs exist and hash right, the images of (c) are
#          untouched, and the garbage nothing re-pushed is gone. Also: blobs uploaded without a
#          manifest (a push that stopped), older than the grace period, that HEAD answers 200 for
#          just before a GC run, survive it, and the manifest pushed next is accepted (a HEAD
#          answered "exists" counts as a use of the link, ops/gc.rs).
#
# Needs BERTH_METADATA (postgres://…) and BERTH_STORAGE (s3://…), as tests/run.sh's with_pg_s3
# provides, nginx (Debian's), skopeo, curl, jq, python3. Prints "scale-out: N passed, M failed".
# Env: SCALE_PUSHES (50), SCALE_GRACE (GC grace of the nodes in s, 10), E2E_KEEP_TMP=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ ${BERTH_METADATA:-} == postgres* ]] || die "scale_out.sh needs BERTH_METADATA=postgres://…"
[[ -n ${BERTH_STORAGE:-} ]] || die "scale_out.sh needs a shared BERTH_STORAGE"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "nginx is not installed (Debian: apt-get install nginx)"
for tool in skopeo curl jq python3 openssl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

PUSHES=${SCALE_PUSHES:-50}
GRACE=${SCALE_GRACE:-10}
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"
T_START=$SECONDS
SKIPPED=0

e2e_init
# The nodes of one deployment share one secret key (tests/run.sh exports one).
BERTH_SECRET_KEY=${BERTH_SECRET_KEY:-$(openssl rand -hex 32)}
export BERTH_SECRET_KEY
mkdir -p "$E2E_TMP/sk" "$E2E_TMP/pushlogs" "$E2E_TMP/layouts"

NODE_PID=("" "" "" "")
NODE_PORT=("" "$(e2e_free_port)" "$(e2e_free_port)" "$(e2e_free_port)")
NODE_URL=("" "http://127.0.0.1:${NODE_PORT[1]}" "http://127.0.0.1:${NODE_PORT[2]}" "http://127.0.0.1:${NODE_PORT[3]}")
NGINX_PID=""
LB_PORT=$(e2e_free_port)
LB=127.0.0.1:$LB_PORT
LB_URL=http://$LB
NGX=$E2E_TMP/nginx

scale_cleanup() {
    local rc=$? i p
    set +e
    for i in 1 2 3; do
        p=${NODE_PID[i]}
        [[ -n $p ]] && kill -TERM "$p" 2>/dev/null
    done
    [[ -n $NGINX_PID ]] && kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 50); do
        p=""
        for i in 1 2 3; do [[ -n ${NODE_PID[i]} ]] && kill -0 "${NODE_PID[i]}" 2>/dev/null && p=1; done
        [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null && p=1
        [[ -z $p ]] && break
        sleep 0.2
    done
    for i in 1 2 3; do [[ -n ${NODE_PID[i]} ]] && kill -KILL "${NODE_PID[i]}" 2>/dev/null; done
    [[ -n $NGINX_PID ]] && kill -KILL "$NGINX_PID" 2>/dev/null
    if ((rc != 0 || E2E_FAILED > 0)); then
        for i in 1 2 3; do
            [[ -f $E2E_TMP/node$i.log ]] || continue
            echo "----- last 15 lines of node $i's log -----" >&2
            tail -n 15 "$E2E_TMP/node$i.log" >&2
        done
        [[ -f $NGX/error.log ]] && { echo "----- nginx error log (last 15) -----" >&2; tail -n 15 "$NGX/error.log" >&2; }
    fi
    (exit "$rc")
    e2e_cleanup
}
trap scale_cleanup EXIT

# ---- helpers ------------------------------------------------------------------------------------
ok_cmd() { # run a command, show its output only when it fails
    local out
    if out=$("$@" 2>&1); then return 0; fi
    printf '     command failed: %s\n%s\n' "$*" "$out" | sed 's/^/     /' >&2
    return 1
}
# Bounded skopeo over plain HTTP, no retries of its own, no signature policy.
sk() { # sk SECONDS ARGS...
    local t=$1
    shift
    timeout --kill-after=5 "$t" skopeo --insecure-policy --tmpdir "$E2E_TMP/sk" --command-timeout "${t}s" "$@"
}
sk_push() { # sk_push LAYOUT DEST_HOST/REPO:TAG
    sk 60 copy --retry-times 0 --dest-tls-verify=false --dest-creds "$CREDS" "oci:$1:v1" "docker://$2"
}
# A client that retries a failed push up to 5 times, 1 s apart; appends "ID ok|failed ATTEMPTS"
# to RESULTS and keeps skopeo's output in pushlogs/ID.log.
push_retry() { # push_retry ID LAYOUT DEST RESULTS
    local id=$1 layout=$2 dest=$3 out=$4 attempt
    for attempt in 1 2 3 4 5; do
        echo "--- attempt $attempt $(date +%T.%N)" >>"$E2E_TMP/pushlogs/$id.log"
        if sk_push "$layout" "$dest" >>"$E2E_TMP/pushlogs/$id.log" 2>&1; then
            echo "$id ok $attempt" >>"$out"
            return 0
        fi
        sleep 1
    done
    echo "$id failed 5" >>"$out"
    return 1
}
# Why the retried pushes of RESULTS failed first: skopeo's error messages, counted.
retry_reasons() { # retry_reasons RESULTS
    local id
    awk '$3>1{print $1}' "$1" | while read -r id; do
        grep -h 'level=fatal' "$E2E_TMP/pushlogs/$id.log" | sed 's/.*msg="//; s/"$//; s/sha256:[0-9a-f]*/<digest>/g; s/[0-9a-f-]\{36\}/<id>/g; s/manifest [^ ]* to [^ ]*/manifest to <repo>/' | cut -c1-160 || true
    done | sort | uniq -c | sed 's/^ */       /' || true
}
layout() { # layout NAME SEED: a small deterministic 3-layer image; summary in NAME.json
    python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layouts/$1" --tag v1 --big-mib 0.25 --seed "$2" \
        >"$E2E_TMP/layouts/$1.json"
}
manifest_digest() { jq -r .manifest "$E2E_TMP/layouts/$1.json"; }

node_start() { # node_start I: start node I on its port (retrying if the port is briefly busy)
    local i=$1 attempt
    for attempt in 1 2 3 4 5; do
        BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD "$BERTH_BIN" serve --listen "127.0.0.1:${NODE_PORT[i]}" \
            --data-dir "$E2E_TMP/data$i" --config "$E2E_TMP/berth.toml" --gc-grace-secs "$GRACE" \
            >>"$E2E_TMP/node$i.log" 2>&1 &
        NODE_PID[i]=$!
        sleep 0.3
        if kill -0 "${NODE_PID[i]}" 2>/dev/null || ! tail -n 5 "$E2E_TMP/node$i.log" | grep -q binding; then
            return 0
        fi
        log "node $i: port ${NODE_PORT[i]} busy, retrying"
        sleep 1
    done
}
node_ready() { # node_ready I [SECONDS]: GET /v2/ on node I answers 200 to the admin
    local i=$1 deadline=$((SECONDS + ${2:-60}))
    while ((SECONDS < deadline)); do
        kill -0 "${NODE_PID[i]}" 2>/dev/null || { echo "     node $i exited" >&2; return 1; }
        [[ $(http_code --max-time 2 "${NODE_URL[i]}/v2/") == 200 ]] && return 0
        sleep 0.2
    done
    echo "     node $i did not answer within ${2:-60} s" >&2
    return 1
}
node_kill9() {
    local i=$1
    kill -KILL "${NODE_PID[i]}"
    wait "${NODE_PID[i]}" 2>/dev/null || true
    NODE_PID[i]=""
}
# API call through nginx (berth_api uses $BERTH_URL).
lb_api() { BERTH_URL=$LB_URL berth_api "$@"; }
# Which node served requests: the upstream ports nginx logged since line FROM of its access log.
upstreams_since() { tail -n "+$1" "$NGX/access.log" | cut -d'|' -f1 | tr ',' '\n' | sed 's/.*://' | grep -E '^[0-9]+$' | sort -un | xargs; }
access_lines() { wc -l <"$NGX/access.log"; }

# Check every image listed in FILE ("REPO:TAG LAYOUT" lines) through nginx: the tag resolves to
# the source manifest digest, every blob it references answers HEAD 200; every SAMPLE-th image
# is read back blob by blob and each blob hashes to its digest.
verify_images() { # verify_images LABEL FILE SAMPLE
    local label=$1 file=$2 sample=$3 ref lay repo tag body want got d n=0 bad_tag=() bad_blob=() bad_bytes=() sampled=0
    while read -r ref lay; do
        n=$((n + 1))
        repo=${ref%:*} tag=${ref##*:}
        want=$(manifest_digest "$lay")
        body=$(acurl -s --max-time 30 -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$LB_URL/v2/$repo/manifests/$tag" || true)
        got="sha256:$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)"
        if [[ $got != "$want" ]]; then
            bad_tag+=("$ref")
            continue
        fi
        for d in $(jq -r '.config.digest, .layers[].digest' <<<"$body"); do
            [[ $(http_code -I "$LB_URL/v2/$repo/blobs/$d") == 200 ]] || bad_blob+=("$ref@$d")
            if ((n % sample == 0)); then
                [[ "sha256:$(acurl -s --max-time 60 "$LB_URL/v2/$repo/blobs/$d" | sha256sum | cut -d' ' -f1)" == "$d" ]] || bad_bytes+=("$ref@$d")
            fi
        done
        ((n % sample == 0)) && sampled=$((sampled + 1))
    done <"$file"
    check "$label: all $n tags resolve through nginx to the pushed manifest" assert_eq "" "${bad_tag[*]}" "tags that do not"
    check "$label: every blob those manifests reference exists (HEAD 200 through nginx)" assert_eq "" "${bad_blob[*]}" "missing blobs"
    check "$label: the blobs of $sampled sampled images read back with their digests" assert_eq "" "${bad_bytes[*]}" "corrupt blobs"
}

# ---- the cluster --------------------------------------------------------------------------------
cat >"$E2E_TMP/berth.toml" <<EOF
# nginx on loopback is the load balancer: its X-Forwarded-For names the client.
trusted_proxies = ["127.0.0.1/32"]
external_url = "$LB_URL"
EOF
log "starting three nodes at once on ports ${NODE_PORT[*]:1} (one database, one bucket)"
for i in 1 2 3; do node_start "$i"; done
for i in 1 2 3; do check "node $i starts (all three at once on an empty database)" node_ready "$i" 90; done
for i in 1 2 3; do kill -0 "${NODE_PID[i]:-0}" 2>/dev/null || die "node $i is not running; cannot go on"; done

mkdir -p "$NGX/logs" "$NGX/tmp"
user_line=""
[[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 2048; }
http {
    log_format scale '\$upstream_addr|\$status|\$upstream_status|\$request_time|\$msec|\$request';
    access_log $NGX/access.log scale;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    upstream berth {
        server 127.0.0.1:${NODE_PORT[1]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${NODE_PORT[2]} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:${NODE_PORT[3]} max_fails=1 fail_timeout=2s;
        keepalive 32;
    }
    server {
        listen $LB;
        client_max_body_size 0;
        location / {
            proxy_pass http://berth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_send_timeout 120s;
            proxy_read_timeout 120s;
        }
    }
}
EOF
"$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;' >"$NGX/stdout.log" 2>&1 &
NGINX_PID=$!
wait_http "$LB_URL/v2/" 20 || { cat "$NGX/stdout.log" "$NGX/error.log" >&2 2>/dev/null; die "nginx did not come up on $LB"; }
log "nginx pid $NGINX_PID on $LB_URL"
BERTH_URL=$LB_URL # the lib.sh helpers (berth_project, berth_api) go through nginx
check "nginx answers GET /v2/ for the admin" assert_eq 200 "$(http_code "$LB_URL/v2/")"

from=$(($(access_lines) + 1))
for _ in $(seq 9); do http_code "$LB_URL/v2/" >/dev/null; done
check "nginx spreads requests over all three nodes (round-robin)" \
    assert_eq "$(printf '%s\n' "${NODE_PORT[@]:1}" | sort -n | xargs)" "$(upstreams_since "$from")" "upstream ports"

# The Bearer challenge names nginx's address, and the token from there works through nginx.
challenge=$(curl -s --max-time 10 -o /dev/null -D - "$LB_URL/v2/" | tr -d '\r' | awk 'tolower($1)=="www-authenticate:"{sub(/^[^:]*: /,""); print}')
realm=$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$challenge")
service=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$challenge")
check "the token realm seen through nginx is nginx's URL ($realm)" assert_eq "$LB_URL/service/token" "$realm" "realm"
token=$(acurl -s --max-time 30 "$realm?service=$service&scope=repository:scale/direct:pull" | jq -r '.token // .access_token // empty' 2>/dev/null || true)
check "the realm issues a token, which GET /v2/ through nginx accepts" \
    assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $token" "$LB_URL/v2/")"

berth_project scale || die "could not create project scale"
# A node that was asked about `scale` before it existed may answer from its permission cache
# for ACCESS_CACHE_TTL (2 s): every node must see the project within 3 s.
sees_project() { # sees_project I
    local deadline=$((SECONDS + 4)) t0 ms
    t0=$(date +%s%3N)
    while ((SECONDS < deadline)); do
        if [[ $(http_code "${NODE_URL[$1]}/api/v2.0/projects/scale") == 200 ]]; then
            ms=$(($(date +%s%3N) - t0))
            ((ms <= 3000)) && return 0
            echo "     node $1 saw the project only after $ms ms" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "     node $1 does not see the project" >&2
    return 1
}
for i in 1 2 3; do check "node $i sees project scale within 3 s" sees_project "$i"; done

# nginx is a trusted proxy: the login throttle, which the nodes share through the database, tells
# clients apart by the X-Forwarded-For nginx passes on (else all would be 127.0.0.1).
lb_api POST /users '{"username":"alice","email":"alice@example.com","realname":"alice","password":"Alice-Pass-1","comment":"scale-out"}' >/dev/null ||
    die "could not create user alice"
as_client() { # as_client ADDRESS USER:PASSWORD -> status of GET /api/v2.0/users/current through nginx
    curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "X-Forwarded-For: $1" -u "$2" "$LB_URL/api/v2.0/users/current"
}
codes=""
for k in 1 2 3 4 5; do codes+="$(as_client 198.51.100.7 "alice:Wrong-Pass-$k") "; done
code7=$(as_client 198.51.100.7 alice:Alice-Pass-1)
code8=$(as_client 198.51.100.8 alice:Alice-Pass-1)
check "five wrong passwords for alice from client 198.51.100.7, spread over the nodes, are refused" assert_eq "401 401 401 401 401 " "$codes"
check "then client 198.51.100.7 must wait even with the right password (429: the nodes share the count)" assert_eq 429 "$code7"
check "while client 198.51.100.8, named by nginx's X-Forwarded-For, signs in as alice (200)" assert_eq 200 "$code8"

# Garbage for (e), made now so it is older than the GC grace period by then: eight images, the
# tags of g1-g4 deleted (untagged manifests, which delete_untagged collects), g5-g8 deleted by
# digest. g1, g2, g5, g6 are pushed again while GC runs; g3, g4, g7, g8 must end up collected.
log "pushing the garbage for the GC test"
for g in 1 2 3 4 5 6 7 8; do layout "g$g" $((2000 + g)); done
for g in 1 2 3 4 5 6 7 8; do
    push_retry "g$g" "$E2E_TMP/layouts/g$g" "$LB/scale/garbage:g$g" "$E2E_TMP/garbage.results" || true
done
check "the 8 garbage images push through nginx" assert_eq 8 "$(grep -c ' ok ' "$E2E_TMP/garbage.results")"
for g in 1 2 3 4; do
    code=$(http_code -X DELETE "$LB_URL/v2/scale/garbage/manifests/g$g")
    [[ $code == 202 ]] || log "deleting tag g$g answered $code"
done
for g in 5 6 7 8; do
    code=$(http_code -X DELETE "$LB_URL/v2/scale/garbage/manifests/$(manifest_digest "g$g")")
    [[ $code == 202 ]] || log "deleting manifest g$g answered $code"
done
check "the garbage tags are gone" assert_eq '[]' "$(acurl -s --max-time 30 "$LB_URL/v2/scale/garbage/tags/list" | jq -c '.tags // []')"
T_GARBAGE=$SECONDS

# ---- a. push through node 1, pull through node 2 ------------------------------------------------
log "a. push through node 1, pull through node 2"
layout direct 101
check "a: skopeo pushes through node 1" ok_cmd sk_push "$E2E_TMP/layouts/direct" "127.0.0.1:${NODE_PORT[1]}/scale/direct:v1"
check "a: skopeo pulls through node 2" ok_cmd sk 60 copy --src-tls-verify=false --src-creds "$CREDS" \
    "docker://127.0.0.1:${NODE_PORT[2]}/scale/direct:v1" "oci:$E2E_TMP/pulled-direct:v1"
raw=$(sk 30 inspect --tls-verify=false --creds "$CREDS" --raw "docker://127.0.0.1:${NODE_PORT[2]}/scale/direct:v1" | sha256sum | cut -d' ' -f1 || true)
check "a: node 2 serves the manifest node 1 stored (same digest)" assert_eq "$(manifest_digest direct)" "sha256:$raw" "digest"
same_blobs() {
    local d rc=0
    for d in $(jq -r '.config, .layers[]' "$E2E_TMP/layouts/direct.json"); do
        assert_same_file "$E2E_TMP/layouts/direct/blobs/sha256/${d#sha256:}" "$E2E_TMP/pulled-direct/blobs/sha256/${d#sha256:}" || rc=1
    done
    return "$rc"
}
check "a: the pulled config and layers are byte-identical to the pushed ones" same_blobs

# ---- b. one chunked upload across the three nodes -----------------------------------------------
log "b. chunked upload: POST on 1, PATCH on 2, PATCH on 3, PUT on 1"
repo=scale/chunked
python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(3*1024*1024+17))' >"$E2E_TMP/blob"
digest=$(sha256_of "$E2E_TMP/blob")
head -c 2097152 "$E2E_TMP/blob" >"$E2E_TMP/part1"
tail -c +2097153 "$E2E_TMP/blob" >"$E2E_TMP/part2"
size1=$(stat -c %s "$E2E_TMP/part1")
size=$(stat -c %s "$E2E_TMP/blob")
loc=$(acurl -s --max-time 30 -D - -o /dev/null -X POST "${NODE_URL[1]}/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
check "b: node 1 opens the upload (Location $loc)" assert_contains "$loc" "/v2/$repo/blobs/uploads/"
[[ $loc == http* ]] && loc=/${loc#*://*/}
check "b: node 2 takes part 1" assert_eq 202 \
    "$(http_code -X PATCH -H 'Content-Type: application/octet-stream' -H "Content-Range: 0-$((size1 - 1))" --data-binary @"$E2E_TMP/part1" "${NODE_URL[2]}$loc")"
check "b: node 3 takes part 2" assert_eq 202 \
    "$(http_code -X PATCH -H 'Content-Type: application/octet-stream' -H "Content-Range: $size1-$((size - 1))" --data-binary @"$E2E_TMP/part2" "${NODE_URL[3]}$loc")"
check "b: node 1 finishes the upload (PUT ?digest=)" assert_eq 201 "$(http_code -X PUT "${NODE_URL[1]}$loc?digest=$digest")"
acurl -s --max-time 60 -o "$E2E_TMP/blob.back" "$LB_URL/v2/$repo/blobs/$digest" || true
check "b: the blob reads back byte for byte through nginx" assert_same_file "$E2E_TMP/blob" "$E2E_TMP/blob.back"
# And an upload driven through nginx itself, following the Location it is given.
loc=$(acurl -s --max-time 30 -D - -o /dev/null -X POST "$LB_URL/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
[[ $loc == http* ]] && loc_url=$loc || loc_url=$LB_URL$loc
check "b: an upload's Location through nginx points back at nginx ($loc)" assert_eq "$LB_URL/v2/$repo/blobs/uploads/" "${loc_url%/*}/"
printf 'through nginx %s' "$RANDOM$RANDOM" >"$E2E_TMP/small"
check "b: PATCH then PUT at that Location through nginx" assert_eq "202 201" \
    "$(http_code -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$E2E_TMP/small" "$loc_url") $(http_code -X PUT "$loc_url?digest=$(sha256_of "$E2E_TMP/small")")"

# ---- c. kill -9 of a node during 50 concurrent pushes through nginx -----------------------------
log "c. building $PUSHES small images"
seq 1 "$PUSHES" | xargs -P 2 -I{} bash -c 'python3 "$1" "$2/p$3" --tag v1 --big-mib 0.25 --seed $((1000 + $3)) >"$2/p$3.json"' _ \
    "$E2E_DIR/make_layout.py" "$E2E_TMP/layouts" {}
: >"$E2E_TMP/load.results"
: >"$E2E_TMP/load.images"
for i in $(seq 1 "$PUSHES"); do echo "scale/load-$((i % 5)):t$i p$i" >>"$E2E_TMP/load.images"; done
log "c. $PUSHES concurrent pushes through nginx; node 2 gets kill -9 while they run"
t0=$SECONDS
push_pids=()
while read -r ref lay; do
    push_retry "$lay" "$E2E_TMP/layouts/$lay" "$LB/$ref" "$E2E_TMP/load.results" &
    push_pids+=($!)
done <"$E2E_TMP/load.images"
# Kill once the first pushes have finished (the rest are in flight), at most 20 s in.
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)) && (($(wc -l <"$E2E_TMP/load.results") < 3)); do sleep 0.2; done
done_at_kill=$(wc -l <"$E2E_TMP/load.results")
node_kill9 2
log "killed node 2 with SIGKILL ($done_at_kill of $PUSHES pushes finished, $((SECONDS - t0)) s in)"
check "c: pushes were in flight when node 2 was killed ($done_at_kill of $PUSHES done)" test "$done_at_kill" -lt "$PUSHES"
deadline=$((SECONDS + 240))
for p in "${push_pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { log "push client $p still running at the deadline; stopping it"; kill "$p" 2>/dev/null; }
    wait "$p" 2>/dev/null || true
done
log "c. pushes done in $((SECONDS - t0)) s: attempts $(awk '$2=="ok"{print $3}' "$E2E_TMP/load.results" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
check "c: all $PUSHES pushes succeeded (with retries)" assert_eq "$PUSHES" "$(grep -c ' ok ' "$E2E_TMP/load.results" || true)" "successful pushes"
retried=$(awk '$2=="ok" && $3>1' "$E2E_TMP/load.results" | wc -l)
log "c. $retried pushes needed a retry"
((retried > 0)) && retry_reasons "$E2E_TMP/load.results" >&2
verify_images "c" "$E2E_TMP/load.images" 10
check "c: the catalog through nginx lists the five load repositories" assert_eq 5 \
    "$(acurl -s --max-time 30 "$LB_URL/v2/_catalog?n=1000" | jq '[.repositories[] | select(startswith("scale/load-"))] | length')"

log "c. restarting node 2"
node_start 2
check "c: node 2 restarts after kill -9" node_ready 2 60
some_ref=$(sed -n "$((PUSHES / 2))p" "$E2E_TMP/load.images" | cut -d' ' -f1)
check "c: the restarted node 2 serves a tag pushed while it was down" assert_eq 200 \
    "$(http_code -H 'Accept: application/vnd.oci.image.manifest.v1+json' "${NODE_URL[2]}/v2/${some_ref%:*}/manifests/${some_ref##*:}")"
printf 'after restart %s' "$RANDOM$RANDOM" >"$E2E_TMP/after"
check "c: the restarted node 2 takes a push" assert_eq 201 \
    "$(http_code -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$E2E_TMP/after" "${NODE_URL[2]}/v2/scale/restarted/blobs/uploads/?digest=$(sha256_of "$E2E_TMP/after")")"
back_in() {
    local deadline=$((SECONDS + 20)) from
    while ((SECONDS < deadline)); do
        from=$(($(access_lines) + 1))
        for _ in 1 2 3 4 5 6; do http_code "$LB_URL/v2/" >/dev/null; done
        [[ " $(upstreams_since "$from") " == *" ${NODE_PORT[2]} "* ]] && return 0
        sleep 1
    done
    echo "     nginx sent node 2 nothing for 20 s" >&2
    return 1
}
check "c: nginx sends requests to node 2 again" back_in

# For (e): the blobs of an image whose push stops before its manifest (as a client that fails
# and retries later): by (e) their links are older than the GC grace period (but younger than a
# minute); (e) asks HEAD about them just before GC runs, then pushes the manifest.
layout h1 4001
h1_codes=""
for d in $(jq -r '.config, .layers[]' "$E2E_TMP/layouts/h1.json"); do
    h1_codes+="$(http_code -X POST -H 'Content-Type: application/octet-stream' \
        --data-binary @"$E2E_TMP/layouts/h1/blobs/sha256/${d#sha256:}" "$LB_URL/v2/scale/headrace/blobs/uploads/?digest=$d") "
done
check "the blobs of h1 upload, without a manifest" assert_eq "201 201 201 201 " "$h1_codes"
T_H1=$SECONDS

# ---- d. a schedule fires once per occurrence across three nodes ---------------------------------
log "d. GC schedule every 3 s (dry run) on three nodes"
EVERY=3
t_set=$(date +%s%3N)
lb_api PUT /system/gc/schedule \
    "{\"schedule\":{\"type\":\"Custom\",\"cron\":\"*/$EVERY * * * * *\"},\"parameters\":{\"dry_run\":true,\"delete_untagged\":false}}" >/dev/null ||
    lb_api POST /system/gc/schedule \
        "{\"schedule\":{\"type\":\"Custom\",\"cron\":\"*/$EVERY * * * * *\"},\"parameters\":{\"dry_run\":true,\"delete_untagged\":false}}" >/dev/null || true
for i in 1 2 3; do
    check "d: node $i shows the schedule (Custom */$EVERY)" assert_eq "Custom */$EVERY * * * * *" \
        "$(acurl -s --max-time 10 "${NODE_URL[i]}/api/v2.0/system/gc/schedule" | jq -r '"\(.schedule.type) \(.schedule.cron)"')"
done
sleep $((4 * EVERY + 1))
lb_api PUT /system/gc/schedule '{"schedule":{"type":"None"}}' >/dev/null || true
t_unset=$(date +%s%3N)
check "d: the schedule is removed" assert_eq None "$(acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc/schedule" | jq -r .schedule.type)"
# Wait until every scheduled execution has finished.
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
    acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc?page_size=100" >"$E2E_TMP/gc-history.json" || true
    [[ $(jq '[.[] | select(.job_status == "Pending" or .job_status == "Running")] | length' "$E2E_TMP/gc-history.json" 2>/dev/null) == 0 ]] && break
    sleep 1
done
jq -c '[.[] | select(.job_kind == "SCHEDULE") | {id, job_status, creation_time}]' "$E2E_TMP/gc-history.json" >"$E2E_TMP/scheduled.json" || echo '[]' >"$E2E_TMP/scheduled.json"
# Each execution's start as ms since the epoch, and the cron slot it belongs to.
python3 - "$E2E_TMP/scheduled.json" "$EVERY" "$t_set" "$t_unset" >"$E2E_TMP/slots.txt" <<'EOF'
import datetime, json, sys
rows, every, t_set, t_unset = json.load(open(sys.argv[1])), int(sys.argv[2]) * 1000, int(sys.argv[3]), int(sys.argv[4])
starts = sorted(int(datetime.datetime.fromisoformat(r["creation_time"].replace("Z", "+00:00")).timestamp() * 1000) for r in rows)
slots = [s // every for s in starts]
occurrences = t_unset // every - t_set // every  # cron occurrences in (t_set, t_unset]
gaps = [b - a for a, b in zip(starts, starts[1:])]
print(len(starts), len(set(slots)), occurrences, min(gaps) if gaps else -1)
EOF
read -r n_exec n_slots n_occ min_gap <"$E2E_TMP/slots.txt" || true
log "d. $n_exec scheduled executions in $n_slots slots; $n_occ occurrences while scheduled; smallest gap ${min_gap} ms"
check "d: the schedule fired at least twice ($n_exec executions)" test "${n_exec:-0}" -ge 2
check "d: no occurrence made two executions ($n_exec executions, $n_slots distinct slots)" assert_eq "$n_exec" "$n_slots" "distinct slots"
check "d: no more executions than occurrences ($n_exec <= $n_occ)" test "${n_exec:-0}" -le "${n_occ:-0}"
check "d: every scheduled execution succeeded" assert_eq "" \
    "$(jq -r '.[] | select(.job_status != "Success") | "\(.id):\(.job_status)"' "$E2E_TMP/scheduled.json" | xargs)" "executions that did not"
runs_once() {
    local id bad=() nodes=() l
    for id in $(jq -r '.[].id' "$E2E_TMP/scheduled.json"); do
        l=$(acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc/$id/log" || true)
        [[ $(grep -c ' attempt [0-9]* of [0-9]* on ' <<<"$l") == 1 && $(grep -c 'garbage collection: dry_run=true' <<<"$l") == 1 ]] || bad+=("$id")
        nodes+=("$(sed -n 's/.* attempt [0-9]* of [0-9]* on //p' <<<"$l" | head -1)")
    done
    log "d. scheduled executions ran on: $(printf '%s\n' "${nodes[@]}" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
    assert_eq "" "${bad[*]}" "executions whose log shows other than one run"
}
check "d: each scheduled execution's job ran exactly once (one attempt in its log)" runs_once

# ---- e. garbage collection while pushes go through all nodes ------------------------------------
log "e. GC under load"
for f in $(seq 1 12); do layout "f$f" $((3000 + f)); done
: >"$E2E_TMP/gcload.images"
for g in 1 2 5 6; do
    echo "scale/garbage:r$g g$g" >>"$E2E_TMP/gcload.images"
    echo "scale/gcload:g$g g$g" >>"$E2E_TMP/gcload.images"
done
for f in $(seq 1 12); do echo "scale/gcload:f$f f$f" >>"$E2E_TMP/gcload.images"; done
# The garbage must be older than the grace period for GC to take it.
while ((SECONDS - T_GARBAGE <= GRACE + 1 || SECONDS - T_H1 <= GRACE + 1)); do sleep 1; done
# A client about to push h1 again asks whether its blobs exist: HEAD answers 200, which counts
# as a use of the link (ops/gc.rs), so a GC starting right after must leave the links for the
# grace period, and the manifest the client then pushes must be accepted.
h1_blobs=$(jq -r '.config, .layers[]' "$E2E_TMP/layouts/h1.json")
h1_heads=""
for d in $h1_blobs; do h1_heads+="$(http_code -I "$LB_URL/v2/scale/headrace/blobs/$d") "; done
check "e: before GC, HEAD of h1's blobs in scale/headrace answers 200" assert_eq "200 200 200 200 " "$h1_heads"
h1_age=$((SECONDS - T_H1))
t_head=$SECONDS
h1_after="not checked" h1_put="not checked"
h1_check() { # right after the first GC run, while the HEADs above are younger than the grace
    if ((SECONDS - t_head >= GRACE - 1)); then
        log "e. the first GC run ended $((SECONDS - t_head)) s after the HEADs (grace $GRACE s): too late to check h1"
        h1_after=skipped
        return 0
    fi
    h1_after=""
    for d in $h1_blobs; do h1_after+="$(http_code -I "$LB_URL/v2/scale/headrace/blobs/$d") "; done
    h1_put=$(http_code -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
        --data-binary @"$E2E_TMP/layouts/h1/blobs/sha256/$(manifest_digest h1 | cut -c8-)" "$LB_URL/v2/scale/headrace/manifests/h1")
}
: >"$E2E_TMP/gcload.results"
n_gcload=$(wc -l <"$E2E_TMP/gcload.images")
worker() { # worker W: push every 4th image of the list, one after another
    local w=$1 k=0 ref lay
    while read -r ref lay; do
        k=$((k + 1))
        ((k % 4 == w)) || continue
        push_retry "e-$lay-${ref//[:\/]/_}" "$E2E_TMP/layouts/$lay" "$LB/$ref" "$E2E_TMP/gcload.results" || true
    done <"$E2E_TMP/gcload.images"
}
# Re-pushes of collectable content first in each worker's queue, so they meet the first GC.
workers=()
for w in 0 1 2 3; do
    worker "$w" &
    workers+=($!)
done
alive() { local p; for p in "${workers[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
gc_ids=()
gc_refused=0
gc_run() { # start a manual GC through nginx and wait (at most 60 s) for it to end
    local loc id st gdl
    loc=$(acurl -s --max-time 30 -D - -o "$E2E_TMP/gc-start.json" -X POST -H 'Content-Type: application/json' \
        --data-binary '{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"dry_run":false,"workers":2}}' \
        "$LB_URL/api/v2.0/system/gc/schedule" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    if [[ -z $loc ]]; then
        gc_refused=$((gc_refused + 1))
        sleep 0.5
        return 0
    fi
    id=${loc##*/}
    gc_ids+=("$id")
    gdl=$((SECONDS + 60))
    while ((SECONDS < gdl)); do
        st=$(acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc/$id" | jq -r .job_status 2>/dev/null || true)
        [[ $st == Pending || $st == Running || -z $st ]] || break
        sleep 0.3
    done
}
deadline=$((SECONDS + 180))
while alive && ((SECONDS < deadline)) && ((${#gc_ids[@]} < 10)); do
    gc_run
    [[ $h1_after == "not checked" && ${#gc_ids[@]} -ge 1 ]] && h1_check
done
[[ $h1_after == "not checked" ]] && { gc_run; h1_check; }
log "e. ${#gc_ids[@]} GC runs (${gc_ids[*]}) while the pushes ran; $gc_refused starts refused (one running)"
deadline=$((SECONDS + 180))
for p in "${workers[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { log "push worker $p still running at the deadline; stopping it"; kill "$p" 2>/dev/null; }
    wait "$p" 2>/dev/null || true
done
check "e: GC ran while the pushes did (${#gc_ids[@]} runs)" test "${#gc_ids[@]}" -ge 1
# One more GC after the load, so garbage touched by a run that overlapped a re-push still goes.
gc_run
gc_ok() {
    local id st bad=()
    for id in "${gc_ids[@]}"; do
        st=$(acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc/$id" | jq -r .job_status 2>/dev/null || true)
        [[ $st == Success ]] || bad+=("$id:$st")
    done
    assert_eq "" "${bad[*]}" "GC runs that did not succeed"
}
check "e: every GC run finished with Success" gc_ok
purged=0
for id in "${gc_ids[@]}"; do
    n=$(acurl -s --max-time 10 "$LB_URL/api/v2.0/system/gc/$id" | jq -r '.job_parameters | fromjson | .purged_blobs // 0' 2>/dev/null || echo 0)
    purged=$((purged + ${n:-0}))
done
check "e: the GC runs deleted blobs ($purged)" test "$purged" -ge 1
log "e. pushes: attempts $(awk '$2=="ok"{print $3}' "$E2E_TMP/gcload.results" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
retry_reasons "$E2E_TMP/gcload.results" >&2
check "e: all $n_gcload pushes during GC succeeded (with retries)" assert_eq "$n_gcload" "$(grep -c ' ok ' "$E2E_TMP/gcload.results" || true)" "successful pushes"
verify_images "e" "$E2E_TMP/gcload.images" 2
verify_images "e: the images of (c) after GC" "$E2E_TMP/load.images" 25
gone() {
    local g d bad=()
    for g in 3 4 7 8; do
        for d in $(jq -r '.config, .layers[1]' "$E2E_TMP/layouts/g$g.json"); do
            [[ $(http_code -I "$LB_URL/v2/scale/garbage/blobs/$d") == 404 ]] || bad+=("g$g@$d")
        done
    done
    assert_eq "" "${bad[*]}" "garbage blobs still served"
}
check "e: the garbage nothing pushed again is gone (config and unique layer of g3, g4, g7, g8)" gone
if [[ $h1_after == skipped ]]; then
    SKIPPED=$((SKIPPED + 1))
    echo "skip e: HEAD before GC protects the links (the first GC run ended too late to tell)"
else
    check "e: after the first GC run, the blobs HEAD answered 200 for just before it (links ${h1_age} s old, grace ${GRACE} s) still exist" \
        assert_eq "200 200 200 200 " "$h1_after" "HEAD statuses of h1's config and layers"
    check "e: and the manifest the client then pushes is accepted (201)" assert_eq 201 "$h1_put"
fi
for i in 1 2 3; do
    check "e: node $i is still up" kill -0 "${NODE_PID[i]}"
done

log "scale-out took $((SECONDS - T_START)) s"
e2e_summary scale-out "$SKIPPED"
