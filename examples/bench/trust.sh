#!/usr/bin/env bash
# What content trust costs a pull: manifest GET req/s (wrk) of one image on `berth serve`
# (release, SQLite + filesystem on /dev/shm), as the admin with HTTP Basic, in three settings:
#   plain     no content trust policy;
#   exists    enable_content_trust_cosign: a cosign signature must exist;
#   verified  + content_trust_verify with the signer's key trusted: the signature must verify.
#   prevent_vul  content trust off; prevent_vul (severity low) on a scanned image without
#             findings: the image's scan report is consulted on every pull.
# The image is pushed with skopeo and signed with the real cosign CLI (tests/setup.sh installs
# both); the verdict is cached, so `verified` measures the lookup a hot pull pays.
#
#   cargo build --release -p registry-http && bash examples/bench/trust.sh
# Environment: WRK_SECS (10), PORT (15090), BERTH (target/release/berth), BERTH_TOOLS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
BERTH_TOOLS=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
COSIGN=${COSIGN:-$BERTH_TOOLS/bin/cosign}
PORT=${PORT:-15090}
WRK_SECS=${WRK_SECS:-10}
PW=Bench-Pass-1
for tool in wrk skopeo curl jq python3 "$COSIGN"; do
  command -v "$tool" >/dev/null || { echo "trust.sh: $tool is missing (tests/setup.sh installs it)" >&2; exit 1; }
done
WORK=$(mktemp -d /dev/shm/berth-trust.XXXXXX)
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
BERTH_ADMIN_PASSWORD=$PW "$BERTH" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/berth.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done
api() { curl -sf --max-time 30 -u "admin:$PW" -H 'Content-Type: application/json' -X "$1" "http://127.0.0.1:$PORT/api/v2.0$2" ${3:+--data-binary "$3"}; }
api POST /projects '{"project_name":"bench"}' >/dev/null
python3 "$ROOT/tests/e2e/make_layout.py" "$WORK/layout" --tag v1 >"$WORK/layout.json"
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "admin:$PW" \
  "oci:$WORK/layout:v1" "docker://127.0.0.1:$PORT/bench/app:v1"
(cd "$WORK" && COSIGN_PASSWORD= "$COSIGN" generate-key-pair >/dev/null 2>&1)
DOCKER_CONFIG=$WORK/docker "$COSIGN" login -u admin -p "$PW" "127.0.0.1:$PORT" >/dev/null 2>&1
(cd "$WORK" && DOCKER_CONFIG=$WORK/docker COSIGN_PASSWORD= "$COSIGN" sign --key cosign.key --tlog-upload=false \
  --allow-insecure-registry -y "127.0.0.1:$PORT/bench/app:v1" >/dev/null 2>&1)
AUTH="Authorization: Basic $(printf 'admin:%s' "$PW" | base64)"
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'
URL="http://127.0.0.1:$PORT/v2/bench/app/manifests/v1"
run() { # run NAME
  [[ $(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -H "$ACCEPT" "$URL") == 200 ]] || { echo "trust.sh: $1: the pull is refused" >&2; exit 1; }
  local rps
  rps=$(wrk -t2 -c16 -d"${WRK_SECS}s" -H "$AUTH" -H "$ACCEPT" "$URL" | tee "$WORK/wrk.$1" | awk '/Requests\/sec/{print $2}')
  grep -q 'Non-2xx' "$WORK/wrk.$1" && { echo "trust.sh: $1: non-2xx answers" >&2; exit 1; }
  printf '| %-9s | %10s |\n' "$1" "$rps"
}
echo "| setting   | req/s      |"
echo "|-----------|------------|"
run plain
api PUT /projects/bench '{"metadata":{"enable_content_trust_cosign":"true"}}'
run exists
api POST /projects/bench/trust-keys "$(jq -n --arg pem "$(cat "$WORK/cosign.pub")" '{name:"bench",pem:$pem}')" >/dev/null
api PUT /projects/bench '{"metadata":{"content_trust_verify":"true"}}'
run verified
api PUT /projects/bench '{"metadata":{"enable_content_trust_cosign":"false","content_trust_verify":"false","prevent_vul":"true","severity":"low"}}'
api POST /projects/bench/repositories/app/artifacts/v1/scan >/dev/null
# The scan is a job: wait for its report.
until api GET '/projects/bench/repositories/app/artifacts/v1?with_scan_overview=true' | jq -e '.scan_overview[]? | select(.scan_status == "Success")' >/dev/null; do
  sleep 0.1
done
run prevent_vul
