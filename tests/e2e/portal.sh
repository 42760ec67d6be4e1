#!/usr/bin/env bash
# End-to-end: the web portal in headless Chromium (playwright-core driving Debian's chromium).
# Starts berth, pushes an image with skopeo and a Helm chart with helm, starts a scanner adapter
# (`berth scanner serve`), and runs tests/e2e/portal/portal.test.mjs: sign-in (cookie sessions are
# required: a server without them fails, nothing is skipped), projects, the pushed image, members
# (and the member's own session), robot secret shown once, GC dry and real runs, audit log,
# project policies (retention dry run and its result, retention schedule, immutable rule and
# webhook with their editing), the project's scanner and CVE allowlist, labels on an artifact,
# CVE allowlist, system robots, groups and a group member, the GC schedule, read-only mode from the
# configuration page, an index's children, the Helm chart's page (type, README, values,
# dependencies, the helm pull command, each against the API's additions); administration of
# scanners (the adapter registered, tested, edited, disabled, made default and deleted), scan all
# (now, progress, schedule), project quotas and global labels; registries and replication (an
# endpoint edited; a push rule with name and tag filters created, edited, replicated to Berth
# itself with its task log, and deleted; a run stopped); the configuration page as the server
# reports it (unreported settings absent, fixed ones disabled with the hint, no Save on the
# authentication form, the LDAP/OIDC notes), "Test LDAP server" against ldap://127.0.0.1:1 showing
# the {success:false} message, no LDAP import or directory search without LDAP; every page in
# Chinese without untranslated English, the CSRF refusal and the cookie's flags, sign-out.
# Then a second berth in oidc_auth mode against a real OIDC provider (oidc-provider-mock, from
# tests/lib/oidc.sh; BERTH_TEST_OIDC_URL when tests/run.sh started it, else started here) and
# tests/e2e/portal/oidc.test.mjs: the whole code flow in the browser (the "Sign in with OIDC"
# link, the provider's authorization form, back signed in with an HttpOnly sid cookie), the
# profile's CLI secret generated and used as the Basic password on /v2/, sign-out, and a local
# user's refused CLI secret shown on the page.
# Then a third berth in ldap_auth mode against a real OpenLDAP (slapd from tests/lib/ldap.sh;
# BERTH_TEST_LDAP_URL and its companions when tests/run.sh started it, else started here) and
# tests/e2e/portal/ldap.test.mjs: the LDAP settings shown read-only with the password as set, "Test
# LDAP server" with the prefilled settings (the configured password) and with a wrong one, dave
# imported from the Users page (source ldap) and the reason shown when imported again, the group devs
# found in the directory and created with its DN, a hand-typed unknown DN refused, bob imported when
# added as a member, the pages in Chinese, and alice signing in with her LDAP password; then that
# berth's log must hold neither password. Shared helpers: tests/e2e/portal/lib.mjs.
# The berth binary must embed the portal (cargo's build of registry-http runs npm; see build.rs).
# Usage: tests/e2e/portal.sh   (env: BERTH_BIN, PORTAL_SCREENSHOTS=DIR, CHROMIUM, PLAYWRIGHT_CORE,
#                               BERTH_TEST_OIDC_URL, BERTH_TEST_LDAP_URL (with _BASE_DN, _BIND_DN,
#                               _BIND_PASSWORD), PORTAL_DEV_SERVER=1, E2E_KEEP_TMP; helm and jq on PATH:
#                               tests/setup.sh installs them)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORTAL_DIR=$REPO_ROOT/registry-http/portal
[[ -f "$PORTAL_DIR/dist/index.html" && -f "$PORTAL_DIR/dist/app.js" ]] ||
    die "the portal is not built: $PORTAL_DIR/dist/index.html is missing (run: cd registry-http/portal && npm ci && npm run build, or tests/setup.sh)"
command -v node >/dev/null || die "node is not installed"
command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$CHROMIUM" ]] || die "chromium not found at $CHROMIUM (Debian: apt-get install chromium; tests/setup.sh does it)"
PLAYWRIGHT_CORE=${PLAYWRIGHT_CORE:-${BERTH_TOOLS:-$HOME/.cache/berth-tools}/portal-test/node_modules/playwright-core}
[[ -f "$PLAYWRIGHT_CORE/package.json" ]] || die "playwright-core not found at $PLAYWRIGHT_CORE (tests/setup.sh installs it)"
command -v helm >/dev/null || die "helm is not installed (tests/setup.sh installs it into \$BERTH_TOOLS/bin)"
command -v jq >/dev/null || die "jq is not installed (Debian: apt-get install jq)"

e2e_init
berth_start
berth_project e2e || die "could not create project e2e"
CREDS="$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD"
SHOTS=${PORTAL_SCREENSHOTS:-$E2E_TMP/screenshots}
mkdir -p "$SHOTS"
SHOTS=$(cd "$SHOTS" && pwd)

# ---- an image to find in the portal ------------------------------------------------------------
python3 "$E2E_DIR/make_layout.py" "$E2E_TMP/layout" --tag v1 --big-mib 1 >/dev/null
for tag in v1 latest; do
    check "skopeo pushes e2e/app:$tag" \
        ok_cmd sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$E2E_TMP/layout:v1" "docker://$BERTH_HOST/e2e/app:$tag"
done

# ---- a scanner adapter to register in the portal ------------------------------------------------
# `berth scanner serve` (Harbor's Scanner Adapter API) with its own data dir and an API key: the
# browser registers it on the scanners page.
SCANNER_PORT=$(e2e_free_port)
SCANNER_KEY="portal-scan-$RANDOM$RANDOM"
"$BERTH_BIN" scanner serve --listen "127.0.0.1:$SCANNER_PORT" --data-dir "$(e2e_mktemp scanner-data)" \
    --api-key "$SCANNER_KEY" >"$E2E_TMP/scanner.log" 2>&1 &
wait_http "http://127.0.0.1:$SCANNER_PORT/api/v1/metadata" 30 ||
    die "berth scanner serve did not start (log: $E2E_TMP/scanner.log)"
SCANNER_URL="http://127.0.0.1:$SCANNER_PORT"
log "scanner adapter at $SCANNER_URL"

# ---- a Helm chart, packaged and pushed with helm ------------------------------------------------
# README with a heading, values with a few keys, one dependency (vendored under charts/, as
# `helm package` wants it). helm's config, cache and registry login stay in the temp root.
export HELM_CONFIG_HOME=$E2E_TMP/helm/config HELM_CACHE_HOME=$E2E_TMP/helm/cache HELM_DATA_HOME=$E2E_TMP/helm/data
CHART_DIR=$E2E_TMP/chart/berth-demo
mkdir -p "$CHART_DIR/charts/redis"
printf '%s\n' 'apiVersion: v2' 'name: berth-demo' "description: The chart of the portal's browser test" 'version: 0.1.0' \
    'appVersion: "1.0"' 'dependencies:' '  - name: redis' '    version: 1.2.3' '    repository: https://charts.example.com/stable' \
    >"$CHART_DIR/Chart.yaml"
printf '%s\n' 'apiVersion: v2' 'name: redis' 'version: 1.2.3' >"$CHART_DIR/charts/redis/Chart.yaml"
printf '%s\n' 'replicaCount: 2' 'image:' '  repository: nginx' '  tag: stable' 'service:' '  port: 8080' >"$CHART_DIR/values.yaml"
printf '%s\n' '# Berth demo chart' '' 'A chart pushed by the portal test.' >"$CHART_DIR/README.md"
check "helm packages the chart berth-demo 0.1.0" ok_cmd helm package "$CHART_DIR" --destination "$E2E_TMP/chart"
check "helm registry login to berth" ok_cmd helm registry login "$BERTH_HOST" --plain-http \
    --username "$BERTH_ADMIN_USER" --password-stdin <<<"$BERTH_ADMIN_PASSWORD"
check "helm pushes the chart to oci://$BERTH_HOST/e2e" \
    ok_cmd helm push "$E2E_TMP/chart/berth-demo-0.1.0.tgz" "oci://$BERTH_HOST/e2e" --plain-http
check "helm pulls it back (the portal's pull command, over plain HTTP)" \
    ok_cmd helm pull "oci://$BERTH_HOST/e2e/berth-demo" --version 0.1.0 --plain-http --destination "$(e2e_mktemp pulled)"

# ---- where the portal is served ----------------------------------------------------------------
serves_portal() { # serves_portal URL: index.html at / and /harbor/…, the bundle at /assets/app.js
    local url=$1
    e2e_curl -s --max-time 10 "$url/" | grep -q '/assets/app.js' &&
        e2e_curl -s --max-time 10 "$url/harbor/projects/1/repositories" | grep -q '/assets/app.js' &&
        [[ "$(e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/assets/app.js")" == 200 ]] &&
        [[ "$(e2e_curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/assets/app.css")" == 200 ]]
}
# The binary serves what it embedded (registry-http/src/portal.rs): the test runs against it, never
# a stand-in, so a binary built without its portal fails here.
serves_portal "$BERTH_URL" || die "$BERTH_BIN does not serve the portal (no /assets/app.js): was it built without npm, or with the portal feature off?"
PORTAL_URL=$BERTH_URL
check "berth serves index.html at / and under /harbor/, and the bundle under /assets/" serves_portal "$BERTH_URL"
# PORTAL_DEV_SERVER=1: the browser uses this tree's dist/ served by dev-server.mjs in front of each
# berth (portal changes tested without rebuilding the binary). CI leaves it unset.
portal_front() { # portal_front BERTH_URL: sets FRONT_URL, where the browser opens the portal
    FRONT_URL=$1
    [[ "${PORTAL_DEV_SERVER:-0}" == 1 ]] || return 0
    local dev_host
    dev_host=127.0.0.1:$(e2e_free_port)
    node "$PORTAL_DIR/dev-server.mjs" --backend "$1" --listen "$dev_host" >"$E2E_TMP/dev-server.$dev_host.log" 2>&1 &
    wait_http "http://$dev_host/" 30 || die "dev-server.mjs did not answer (log: $E2E_TMP/dev-server.$dev_host.log)"
    FRONT_URL=http://$dev_host
    log "the browser uses $PORTAL_DIR/dist through dev-server.mjs at $FRONT_URL (backend $1)"
}
portal_front "$BERTH_URL"
PORTAL_URL=$FRONT_URL

# ---- the browser -------------------------------------------------------------------------------
browser_ok() {
    PORTAL_URL=$PORTAL_URL BERTH_URL=$BERTH_URL ADMIN_USER=$BERTH_ADMIN_USER ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD \
        PORTAL_PROJECT=e2e PORTAL_REPO=e2e/app PORTAL_TAGS=v1,latest PORTAL_CHART=e2e/berth-demo:0.1.0 \
        PORTAL_SCANNER_URL=$SCANNER_URL PORTAL_SCANNER_KEY=$SCANNER_KEY PORTAL_SCREENSHOTS=$SHOTS \
        PLAYWRIGHT_CORE=$PLAYWRIGHT_CORE CHROMIUM=$CHROMIUM \
        timeout --kill-after=10 600 node "$E2E_DIR/portal/portal.test.mjs" 2>&1 | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
check "the portal in headless Chromium: every browser check above passed" browser_ok

# ---- berths of their own for OIDC and LDAP -------------------------------------------------------
# auth_mode and its section go in a configuration file: they cannot change at run time.
SIDE_PIDS=()
stop_sides() { # the side berths, and the services (provider, directory) this script started
    local pid
    for pid in "${SIDE_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SIDE_PIDS=()
    if declare -F stop_services >/dev/null; then stop_services; fi
}
trap 'stop_sides; e2e_cleanup' EXIT
side_address() { # a free address for the next side berth: sets SIDE_HOST, SIDE_URL and SIDE_PORTAL
    SIDE_HOST=127.0.0.1:$(e2e_free_port)
    SIDE_URL=http://$SIDE_HOST
    portal_front "$SIDE_URL"
    SIDE_PORTAL=$FRONT_URL
}
side_start() { # side_start NAME MODE TOML: berth serve on SIDE_HOST with TOML, until systeminfo says MODE
    local name=$1 mode=$2 toml=$3 data pid i
    data=$(e2e_mktemp "$name-berth")
    printf '%s\n' "$toml" >"$data/berth.toml"
    BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD "$BERTH_BIN" serve --config "$data/berth.toml" --listen "$SIDE_HOST" \
        --data-dir "$data/data" >"$E2E_TMP/berth-$name.log" 2>&1 &
    pid=$!
    SIDE_PIDS+=("$pid")
    for ((i = 0; i < 150; i++)); do
        [[ "$(e2e_curl -s --max-time 2 "$SIDE_URL/api/v2.0/systeminfo" | jq -r .auth_mode 2>/dev/null)" == "$mode" ]] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    cat "$E2E_TMP/berth-$name.log" >&2
    return 1
}
services_here() { # use the services of this script's own (when tests/run.sh did not start them)
    export BERTH_SERVICES_DIR=$E2E_TMP/services
    mkdir -p "$BERTH_SERVICES_DIR"
}

# ---- OIDC: a real provider and a second berth in oidc_auth mode ---------------------------------
if [[ -z "${BERTH_TEST_OIDC_URL:-}" ]]; then
    services_here
    # shellcheck source=../lib/oidc.sh
    source "$REPO_ROOT/tests/lib/oidc.sh"
    start_oidc || die "the OIDC provider did not start (tests/lib/oidc.sh)"
fi
side_address # Berth's OIDC callback is on the host the browser uses
OIDC_BERTH_URL=$SIDE_URL OIDC_PORTAL_URL=$SIDE_PORTAL
# Berth's client at the provider (its redirect URI is the callback on the portal's host).
client=$(e2e_curl -sf --max-time 10 -X POST "$BERTH_TEST_OIDC_URL/oauth2/clients" -H 'Content-Type: application/json' \
    -d "{\"redirect_uris\":[\"$OIDC_PORTAL_URL/c/oidc/callback\"]}") || die "the OIDC provider refused the client registration"
OIDC_TOML=$(printf '%s\n' 'auth_mode = "oidc_auth"' '[oidc]' "endpoint = \"$BERTH_TEST_OIDC_URL\"" \
    "client_id = \"$(jq -r .client_id <<<"$client")\"" "client_secret = \"$(jq -r .client_secret <<<"$client")\"" \
    'scope = "openid,profile,email"')
check "a second berth answers in oidc_auth mode against the provider at $BERTH_TEST_OIDC_URL" \
    side_start oidc oidc_auth "$OIDC_TOML"
oidc_browser_ok() {
    OIDC_PORTAL_URL=$OIDC_PORTAL_URL OIDC_BERTH_URL=$OIDC_BERTH_URL OIDC_ISSUER=$BERTH_TEST_OIDC_URL ADMIN_USER=$BERTH_ADMIN_USER \
        ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD PORTAL_SCREENSHOTS=$SHOTS PLAYWRIGHT_CORE=$PLAYWRIGHT_CORE CHROMIUM=$CHROMIUM \
        timeout --kill-after=10 300 node "$E2E_DIR/portal/oidc.test.mjs" 2>&1 | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
check "the OIDC code flow in headless Chromium: every browser check above passed" oidc_browser_ok

# ---- LDAP: a real directory and a third berth in ldap_auth mode ---------------------------------
if [[ -z "${BERTH_TEST_LDAP_URL:-}" ]]; then
    services_here
    # shellcheck source=../lib/ldap.sh
    source "$REPO_ROOT/tests/lib/ldap.sh"
    start_ldap || die "the LDAP server did not start (tests/lib/ldap.sh)"
fi
side_address
LDAP_BERTH_URL=$SIDE_URL LDAP_PORTAL_URL=$SIDE_PORTAL
# As in tests/e2e/test_ldap_login.py.
LDAP_TOML=$(printf '%s\n' 'auth_mode = "ldap_auth"' '[ldap]' "url = \"$BERTH_TEST_LDAP_URL\"" \
    "search_dn = \"$BERTH_TEST_LDAP_BIND_DN\"" "search_password = \"$BERTH_TEST_LDAP_BIND_PASSWORD\"" \
    "base_dn = \"ou=people,$BERTH_TEST_LDAP_BASE_DN\"" 'uid = "uid"' 'filter = "(objectClass=inetOrgPerson)"' \
    "group_base_dn = \"ou=groups,$BERTH_TEST_LDAP_BASE_DN\"" 'group_search_filter = "(objectClass=groupOfNames)"' \
    "group_admin_dn = \"cn=berth-admins,ou=groups,$BERTH_TEST_LDAP_BASE_DN\"")
check "a third berth answers in ldap_auth mode against the directory at $BERTH_TEST_LDAP_URL" \
    side_start ldap ldap_auth "$LDAP_TOML"
ldap_browser_ok() {
    LDAP_PORTAL_URL=$LDAP_PORTAL_URL LDAP_BERTH_URL=$LDAP_BERTH_URL LDAP_URL=$BERTH_TEST_LDAP_URL \
        LDAP_BASE_DN=$BERTH_TEST_LDAP_BASE_DN LDAP_BIND_DN=$BERTH_TEST_LDAP_BIND_DN ADMIN_USER=$BERTH_ADMIN_USER \
        ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD PORTAL_SCREENSHOTS=$SHOTS PLAYWRIGHT_CORE=$PLAYWRIGHT_CORE CHROMIUM=$CHROMIUM \
        timeout --kill-after=10 300 node "$E2E_DIR/portal/ldap.test.mjs" 2>&1 | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
check "the portal against a real LDAP directory in headless Chromium: every browser check above passed" ldap_browser_ok
ldap_log_clean() { # neither the search password nor alice's reached the log
    ! grep -qF -e "$BERTH_TEST_LDAP_BIND_PASSWORD" -e Alice-pw-1 "$E2E_TMP/berth-ldap.log"
}
check "the ldap_auth berth's log has neither the search password nor alice's" ldap_log_clean
log "screenshots in $SHOTS"

e2e_summary portal
