#!/usr/bin/env bash
# End-to-end: replication policies between Berth and real peers, digests compared with skopeo.
#   peers: Distribution 2.8.2 (Debian docker-registry), Distribution v3.1.2 (tests/setup.sh),
#          and a second Berth with token auth, registered as a `harbor` endpoint;
#   - push-based to each peer, with name and tag filters and dest_namespace naming;
#   - pull-based from Distribution 2.8 and from the second Berth into new local projects;
#   - a second run copies no blob (the peer's access log shows no upload);
#   - a cosign signature follows its image;
#   - the least privileged callers cannot see or run policies.
# Usage: tests/e2e/replication.sh   (env: BERTH_BIN, E2E_KEEP_TMP)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOLS=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
DIST3=${DIST3:-$TOOLS/bin/registry-v3}
COSIGN=$(command -v cosign || echo "$TOOLS/bin/cosign")
for tool in skopeo jq docker-registry "$DIST3" "$COSIGN"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (tests/setup.sh installs it)"
done

e2e_init
ADMIN="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"

# ---- peers -------------------------------------------------------------------------------------
PEER_PIDS=()
start_distribution() { # start_distribution NAME BIN: sets <NAME>_HOST, logs to $E2E_TMP/NAME.log
    local name=$1 bin=$2 port
    port=$(e2e_free_port)
    cat >"$E2E_TMP/$name.yml" <<YML
version: 0.1
log: { level: info, accesslog: { disabled: false } }
storage: { filesystem: { rootdirectory: $E2E_TMP/$name-data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
YML
    OTEL_TRACES_EXPORTER=none "$bin" serve "$E2E_TMP/$name.yml" >"$E2E_TMP/$name.log" 2>&1 &
    PEER_PIDS+=($!)
    wait_http "http://127.0.0.1:$port/v2/" 30 || die "$name did not start (log: $E2E_TMP/$name.log)"
    printf -v "${name^^}_HOST" '%s' "127.0.0.1:$port"
}
stop_peers() {
    local p
    for p in "${PEER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PEER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_peers; e2e_cleanup' EXIT
start_distribution dist2 docker-registry
start_distribution dist3 "$DIST3"

# The second Berth (token auth, as any Berth): started first, then set aside.
berth_start
PEER_URL=$BERTH_URL PEER_HOST=$BERTH_HOST
PEER_PIDS+=("$BERTH_PID")
BERTH_PID=""
berth_start
berth_project src
berth_api POST /users '{"username":"dev","email":"dev@example.com","realname":"Dev","password":"Dev-Pass-123"}' >/dev/null

# ---- content: src/app:v1 v2, src/other:v1, src/deep/tool:v1 -----------------------------------
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/l1" --tag v1 --big-mib 2 >/dev/null
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/l2" --tag v1 --big-mib 2 --seed 7 >/dev/null
push() { sk copy --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$1:v1" "docker://$BERTH_HOST/$2"; }
check "the source images are pushed to Berth" ok_cmd bash -c "
    $(declare -f sk push); E2E_TMP=$E2E_TMP BERTH_HOST=$BERTH_HOST ADMIN=$ADMIN
    push $E2E_TMP/l1 src/app:v1 && push $E2E_TMP/l2 src/app:v2 &&
    push $E2E_TMP/l1 src/other:v1 && push $E2E_TMP/l2 src/deep/tool:v1"
digest() { # digest HOST/REPO:TAG [CREDS]
    sk inspect --tls-verify=false ${2:+--creds "$2"} "docker://$1" 2>/dev/null | jq -r .Digest 2>/dev/null || true
}
SRC_V1=$(digest "$BERTH_HOST/src/app:v1" "$ADMIN")
SRC_V2=$(digest "$BERTH_HOST/src/app:v2" "$ADMIN")
SRC_TOOL=$(digest "$BERTH_HOST/src/deep/tool:v1" "$ADMIN")

# A cosign signature of src/app:v1 (cosign's tag scheme), to follow the image.
mkdir -p "$E2E_TMP/keys"
export COSIGN_PASSWORD="" DOCKER_CONFIG=$E2E_TMP/docker
check "cosign signs src/app:v1" ok_cmd bash -c "cd $E2E_TMP/keys && $COSIGN generate-key-pair >/dev/null &&
    $COSIGN login $BERTH_HOST -u $BERTH_ADMIN_USER -p $BERTH_ADMIN_PASSWORD &&
    $COSIGN sign --key cosign.key --tlog-upload=false --allow-insecure-registry -y $BERTH_HOST/src/app@$SRC_V1"

# ---- endpoints ---------------------------------------------------------------------------------
endpoint() { # endpoint NAME URL TYPE [USER PASSWORD]: the new endpoint's id
    local cred=""
    [[ -n ${4:-} ]] && cred=",\"credential\":{\"type\":\"basic\",\"access_key\":\"$4\",\"access_secret\":\"$5\"}"
    berth_api POST /registries "{\"name\":\"$1\",\"url\":\"$2\",\"type\":\"$3\"$cred}" >/dev/null &&
        berth_api GET "/registries?q=name%3D$1" | jq -r '.[0].id'
}
D2=$(endpoint dist2 "http://$DIST2_HOST" docker-registry)
D3=$(endpoint dist3 "http://$DIST3_HOST" docker-registry)
PEER=$(endpoint peer "$PEER_URL" harbor "$BERTH_ADMIN_USER" "$BERTH_ADMIN_PASSWORD")
check "ping: the second Berth takes the credentials through its token service" \
    ok_cmd berth_api POST /registries/ping "{\"id\":$PEER}"
check "ping: a wrong password is refused" \
    assert_contains "$(BERTH_API_OK=400 berth_api POST /registries/ping "{\"id\":$PEER,\"access_key\":\"admin\",\"access_secret\":\"wrong\"}")" "refused"

policy() { # policy JSON: the new policy's id
    berth_api POST /replication/policies "$1" >/dev/null &&
        berth_api GET "/replication/policies?name=$(jq -r .name <<<"$1")" | jq -r '.[0].id'
}
# run POLICY: start an execution and wait for it to end; prints its final JSON.
run() {
    local id loc
    loc=$(acurl -s -D - -o /dev/null -H 'Content-Type: application/json' --data "{\"policy_id\":$1}" \
        "$BERTH_URL/api/v2.0/replication/executions" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    id=${loc##*/}
    [[ -n $id ]] || { echo "no execution started for policy $1" >&2; return 1; }
    local e
    for _ in $(seq 1 300); do
        e=$(berth_api GET "/replication/executions/$id")
        [[ $(jq -r .status <<<"$e") != InProgress ]] && { echo "$e"; return 0; }
        sleep 0.2
    done
    echo "$e"
}
succeeded() { # succeeded EXECUTION-JSON TOTAL
    assert_eq "Succeed $2 $2" "$(jq -r '"\(.status) \(.total) \(.succeed)"' <<<"$1")" "status total succeed"
}

# ---- push-based --------------------------------------------------------------------------------
P1=$(policy "{\"name\":\"to-dist2\",\"dest_registry\":{\"id\":$D2},\"dest_namespace\":\"mirror\",\"dest_namespace_replace_count\":1,
    \"filters\":[{\"type\":\"name\",\"value\":\"src/app\"},{\"type\":\"tag\",\"value\":\"v*\"}],\"trigger\":{\"type\":\"manual\"}}")
e=$(run "$P1")
check "push to Distribution 2.8: one task, succeeded" succeeded "$e" 1
check "... mirror/app:v1 has the source digest" assert_eq "$SRC_V1" "$(digest "$DIST2_HOST/mirror/app:v1")"
check "... mirror/app:v2 has the source digest" assert_eq "$SRC_V2" "$(digest "$DIST2_HOST/mirror/app:v2")"
check "... the name filter left src/other out" assert_eq "" "$(digest "$DIST2_HOST/mirror/other:v1")"
check "... the cosign signature followed its image" \
    assert_eq 200 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$DIST2_HOST/v2/mirror/app/manifests/${SRC_V1/:/-}.sig")"
uploads_before=$(grep -cE '"(POST|PUT|PATCH) /v2/mirror/app/blobs/uploads' "$E2E_TMP/dist2.log" || true)
e=$(run "$P1")
check "a second run succeeds" succeeded "$e" 1
check "... and uploads no blob (Distribution's access log)" \
    assert_eq "$uploads_before" "$(grep -cE '"(POST|PUT|PATCH) /v2/mirror/app/blobs/uploads' "$E2E_TMP/dist2.log" || true)"
task=$(berth_api GET "/replication/executions/$(jq -r .id <<<"$e")/tasks" | jq -r '.[0].id')
check "... its task log says the tags were already there" \
    assert_contains "$(acurl -s "$BERTH_URL/api/v2.0/replication/executions/$(jq -r .id <<<"$e")/tasks/$task/log")" "skipped"

P2=$(policy "{\"name\":\"to-dist3\",\"dest_registry\":{\"id\":$D3},\"filters\":[{\"type\":\"name\",\"value\":\"src/**\"},
    {\"type\":\"tag\",\"value\":\"v2\",\"decoration\":\"excludes\"}],\"copy_by_chunk\":true}")
e=$(run "$P2")
check "push to Distribution v3 (chunked): three repositories, succeeded" succeeded "$e" 3
check "... src/app:v1 keeps its path and digest (replace count -1, no namespace)" \
    assert_eq "$SRC_V1" "$(digest "$DIST3_HOST/src/app:v1")"
check "... src/deep/tool:v1 too" assert_eq "$SRC_TOOL" "$(digest "$DIST3_HOST/src/deep/tool:v1")"
check "... the excluded tag v2 stayed behind" assert_eq "" "$(digest "$DIST3_HOST/src/app:v2")"

P3=$(policy "{\"name\":\"to-peer\",\"dest_registry\":{\"id\":$PEER},\"dest_namespace\":\"copied\",\"dest_namespace_replace_count\":1,
    \"filters\":[{\"type\":\"name\",\"value\":\"src/app\"}]}")
e=$(run "$P3")
check "push to the second Berth (token auth): succeeded" succeeded "$e" 1
check "... copied/app:v1 has the source digest (project created there)" \
    assert_eq "$SRC_V1" "$(digest "$PEER_HOST/copied/app:v1" "$ADMIN")"
check "... copied/app:v2 too" assert_eq "$SRC_V2" "$(digest "$PEER_HOST/copied/app:v2" "$ADMIN")"

# ---- a multi-arch index is copied whole ----------------------------------------------------------
berth_project multi
python3 - "$BERTH_URL" "$ADMIN" >"$E2E_TMP/multi.txt" <<'PY'
import base64, hashlib, json, sys, urllib.request
url, creds = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(creds.encode()).decode()
def put(method, path, body, ctype="application/octet-stream"):
    r = urllib.request.Request(url + path, data=body, method=method, headers={"Authorization": auth, "Content-Type": ctype})
    urllib.request.urlopen(r, timeout=60).read()
def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()
children = []
for arch in ("amd64", "arm64"):
    config = json.dumps({"architecture": arch, "os": "linux"}).encode()
    layer = f"layer for {arch}".encode() * 1000
    for b in (config, layer):
        put("POST", f"/v2/multi/app/blobs/uploads/?digest={digest(b)}", b)
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}]}).encode()
    put("PUT", f"/v2/multi/app/manifests/{digest(m)}", m, "application/vnd.oci.image.manifest.v1+json")
    children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(m), "size": len(m),
                     "platform": {"architecture": arch, "os": "linux"}})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}).encode()
put("PUT", "/v2/multi/app/manifests/all", index, "application/vnd.oci.image.index.v1+json")
print(digest(index))
for c in children:
    print(c["digest"])
PY
mapfile -t MULTI <"$E2E_TMP/multi.txt"
P9=$(policy "{\"name\":\"multi\",\"dest_registry\":{\"id\":$D2},\"filters\":[{\"type\":\"name\",\"value\":\"multi/**\"}]}")
e=$(run "$P9")
check "a multi-arch index goes to Distribution 2.8: succeeded" succeeded "$e" 1
head_digest() { # head_digest REPO REF: the Docker-Content-Digest Distribution 2.8 answers
    e2e_curl -s -I -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' \
        "http://$DIST2_HOST/v2/$1/manifests/$2" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}
check "... the index keeps its digest" assert_eq "${MULTI[0]}" "$(head_digest multi/app all)"
check "... with both platform manifests" \
    assert_eq "${MULTI[1]} ${MULTI[2]}" "$(head_digest multi/app "${MULTI[1]}") $(head_digest multi/app "${MULTI[2]}")"

# ---- pull-based --------------------------------------------------------------------------------
P4=$(policy "{\"name\":\"from-dist2\",\"src_registry\":{\"id\":$D2},\"dest_namespace\":\"pulled\",\"dest_namespace_replace_count\":1,
    \"filters\":[{\"type\":\"name\",\"value\":\"mirror/**\"},{\"type\":\"tag\",\"value\":\"v1\"}]}")
e=$(run "$P4")
check "pull from Distribution 2.8 into a new project: succeeded" succeeded "$e" 1
check "... pulled/app:v1 has the source digest" assert_eq "$SRC_V1" "$(digest "$BERTH_HOST/pulled/app:v1" "$ADMIN")"
P5=$(policy "{\"name\":\"from-peer\",\"src_registry\":{\"id\":$PEER},\"dest_namespace\":\"back\",\"dest_namespace_replace_count\":1,
    \"filters\":[{\"type\":\"name\",\"value\":\"copied/**\"}]}")
e=$(run "$P5")
check "pull from the second Berth (listed through its Harbor API): succeeded" succeeded "$e" 1
check "... back/app:v2 has the source digest" assert_eq "$SRC_V2" "$(digest "$BERTH_HOST/back/app:v2" "$ADMIN")"

# ---- event-based ---------------------------------------------------------------------------------
P6=$(policy "{\"name\":\"on-push\",\"dest_registry\":{\"id\":$D2},\"trigger\":{\"type\":\"event_based\"},
    \"filters\":[{\"type\":\"name\",\"value\":\"src/live\"}]}")
sk copy --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$E2E_TMP/l2:v1" "docker://$BERTH_HOST/src/live:v7" >/dev/null 2>&1
pushed_at=$SECONDS
seen=""
while ((SECONDS - pushed_at < 15)); do
    seen=$(digest "$DIST2_HOST/src/live:v7")
    [[ -n $seen ]] && break
    sleep 0.2
done
took=$((SECONDS - pushed_at))
log "event-based replication: src/live:v7 reached Distribution after ${took}s"
check "event-based: a skopeo push reaches Distribution within 5 s (took ${took}s)" \
    bash -c "[[ '$seen' == '$SRC_V2' && $took -le 5 ]]"

# ---- deletions follow (replicate_deletion) --------------------------------------------------------
P8=$(policy "{\"name\":\"deletions\",\"dest_registry\":{\"id\":$D2},\"trigger\":{\"type\":\"event_based\"},
    \"replicate_deletion\":true,\"filters\":[{\"type\":\"name\",\"value\":\"src/gone\"}]}")
sk copy --dest-tls-verify=false --dest-creds "$ADMIN" "oci:$E2E_TMP/l1:v1" "docker://$BERTH_HOST/src/gone:v1" >/dev/null 2>&1
wait_digest() { # wait_digest REF WANT SECONDS: until REF's digest is WANT ("" = gone)
    local end=$((SECONDS + $3))
    while ((SECONDS < end)); do
        [[ $(digest "$1") == "$2" ]] && return 0
        sleep 0.2
    done
    echo "     $1 is $(digest "$1"), not ${2:-gone}" >&2
    return 1
}
check "replicate_deletion: the pushed image reaches Distribution" wait_digest "$DIST2_HOST/src/gone:v1" "$SRC_V1" 10
deleted=$(acurl -s -o /dev/null -w '%{http_code}' -X DELETE "$BERTH_URL/v2/src/gone/manifests/$SRC_V1")
check "... it is deleted here (by digest, 202)" assert_eq 202 "$deleted"
check "... and within 5 s it is gone from Distribution" wait_digest "$DIST2_HOST/src/gone:v1" "" 5

# ---- resume after kill -9 ----------------------------------------------------------------------
# 200 images (20 repositories x 10 tags, every blob unique) go to Distribution v3; the source is
# killed with -9 a third of the way through, restarted, and the run completes without any blob
# uploaded twice (Distribution's access log).
berth_project bulk
python3 - "$BERTH_URL" "$ADMIN" >"$E2E_TMP/bulk.txt" <<'PY'
import base64, hashlib, json, os, sys, urllib.request
url, creds = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(creds.encode()).decode()
def req(method, path, body=b"", ctype="application/octet-stream"):
    r = urllib.request.Request(url + path, data=body, method=method,
                               headers={"Authorization": auth, "Content-Type": ctype})
    return urllib.request.urlopen(r, timeout=60)
for r in range(20):
    for t in range(10):
        repo = f"bulk/r{r:02d}"
        config = json.dumps({"architecture": "amd64", "os": "linux", "repo": repo, "tag": t}).encode()
        layer = os.urandom(20_000)
        descs = []
        for blob, mt in ((config, "application/vnd.oci.image.config.v1+json"),
                         (layer, "application/vnd.oci.image.layer.v1.tar")):
            d = "sha256:" + hashlib.sha256(blob).hexdigest()
            req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", blob)
            descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": descs[0], "layers": descs[1:]}).encode()
        req("PUT", f"/v2/{repo}/manifests/t{t}", m, "application/vnd.oci.image.manifest.v1+json")
        print(f"{repo} t{t} sha256:{hashlib.sha256(m).hexdigest()}")
PY
check "200 images are pushed for the resume test" assert_eq 200 "$(wc -l <"$E2E_TMP/bulk.txt")"
P7=$(policy "{\"name\":\"bulk\",\"dest_registry\":{\"id\":$D3},\"filters\":[{\"type\":\"name\",\"value\":\"bulk/**\"}]}")
acurl -s -o /dev/null -H 'Content-Type: application/json' --data "{\"policy_id\":$P7}" "$BERTH_URL/api/v2.0/replication/executions"
manifest_puts() { grep -cE '"PUT /v2/bulk/[^ ]*/manifests/[^ ]* HTTP/[0-9.]+" 201' "$E2E_TMP/dist3.log" || true; }
for _ in $(seq 1 600); do
    (($(manifest_puts) >= 60)) && break
    sleep 0.05
done
at_kill=$(manifest_puts)
berth_kill9
log "killed the source with -9 after $at_kill of 200 manifests"
check "the source was killed part-way (after $at_kill of 200)" bash -c "(( $at_kill > 0 && $at_kill < 200 ))"
berth_start "$BERTH_DATA"
BULK=$(berth_api GET "/replication/executions?policy_id=$P7" | jq -r '.[0].id')
for _ in $(seq 1 900); do
    [[ $(berth_api GET "/replication/executions/$BULK" | jq -r .status) != InProgress ]] && break
    sleep 0.2
done
e=$(berth_api GET "/replication/executions/$BULK")
check "after the restart the run completes (20 tasks)" succeeded "$e" 20
missing=0
while read -r repo tag want; do
    got=$(e2e_curl -s -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$DIST3_HOST/v2/$repo/manifests/$tag" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    [[ $got == "$want" ]] || missing=$((missing + 1))
done <"$E2E_TMP/bulk.txt"
check "all 200 images are at Distribution v3 with their digests" assert_eq 0 "$missing"
twice=$(grep -oE '"PUT /v2/bulk/[^ ]*/blobs/uploads/[^ ]*digest=sha256(:|%3A)[0-9a-f]{64}[^ ]* HTTP/[0-9.]+" 201' "$E2E_TMP/dist3.log" |
    grep -oE '[0-9a-f]{64}' | sort | uniq -d | wc -l)
check "no blob was uploaded twice" assert_eq 0 "$twice"
uploaded=$(grep -cE '"PUT /v2/bulk/[^ ]*/blobs/uploads/[^ ]* HTTP/[0-9.]+" 201' "$E2E_TMP/dist3.log" || true)
check "... and every one of the 400 blobs was uploaded once" assert_eq 400 "$uploaded"

# ---- who may --------------------------------------------------------------------------------------
check "anonymous callers cannot list policies (401)" \
    assert_eq 401 "$(http_code_anon "$BERTH_URL/api/v2.0/replication/policies")"
check "a plain user cannot list policies (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 "$BERTH_URL/api/v2.0/replication/policies")"
check "a plain user cannot start a run (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 -H 'Content-Type: application/json' \
        --data "{\"policy_id\":$P1}" "$BERTH_URL/api/v2.0/replication/executions")"
check "a plain user cannot read executions (403)" \
    assert_eq 403 "$(e2e_curl -s -o /dev/null -w '%{http_code}' -u dev:Dev-Pass-123 "$BERTH_URL/api/v2.0/replication/executions")"
check "a policy with both sides remote is a 400" \
    assert_eq 400 "$(http_code -H 'Content-Type: application/json' \
        --data "{\"name\":\"bad\",\"src_registry\":{\"id\":$D2},\"dest_registry\":{\"id\":$D3}}" "$BERTH_URL/api/v2.0/replication/policies")"
check "an endpoint a policy uses cannot be deleted (412)" \
    assert_eq 412 "$(http_code -X DELETE "$BERTH_URL/api/v2.0/registries/$D2")"

e2e_summary replication
