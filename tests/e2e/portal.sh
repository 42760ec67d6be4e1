#!/usr/bin/env bash
# End-to-end: the web portal in headless Chromium (playwright-core driving Debian's chromium).
# Starts berth, pushes an image with skopeo, and runs tests/e2e/portal/portal.test.mjs: sign-in,
# projects, the pushed image, members (and the member's own session), robot secret shown once,
# GC dry and real runs, audit log, project policies (retention dry run and its result, retention
# schedule, immutable rule and webhook with their editing), the project's scanner and CVE
# allowlist, labels on an artifact, scanners, CVE allowlist, registries, replication, system robots,
# the OIDC sign-in link and CLI secret (with rewritten systeminfo and user answers), groups and a
# group member, the GC schedule, read-only mode from the configuration page, an index's
# children, editing a registry endpoint, a push replication rule (name and tag filters, a new
# project as destination) created, edited, replicated to Berth itself (the run succeeds, a task's
# log, the destination holds the selected tag only) and deleted, stopping a run (a rule limited in
# bandwidth), the configuration forms (robot lifetime, LDAP address and base DN: stored and
# restored, or the server's refusal shown), the LDAP test button against an unreachable server,
# an LDAP group by default under LDAP authentication; administration of scanners (an external
# one, a `berth scanner serve` started here, registered, tested, edited, disabled, made default
# and deleted), scan all (now, progress, schedule), project quotas and global labels; every page
# in Chinese without untranslated English, sign-out, and with cookie sessions the CSRF refusal and
# the cookie's flags.
# The berth binary must embed the portal (cargo's build of registry-http runs npm; see build.rs).
# Usage: tests/e2e/portal.sh   (env: BERTH_BIN, PORTAL_SCREENSHOTS=DIR, CHROMIUM, PLAYWRIGHT_CORE,
#                               E2E_KEEP_TMP)
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

# ---- the browser -------------------------------------------------------------------------------
browser_ok() {
    PORTAL_URL=$PORTAL_URL BERTH_URL=$BERTH_URL ADMIN_USER=$BERTH_ADMIN_USER ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD \
        PORTAL_PROJECT=e2e PORTAL_REPO=e2e/app PORTAL_TAGS=v1,latest PORTAL_SCREENSHOTS=$SHOTS \
        PORTAL_SCANNER_URL=$SCANNER_URL PORTAL_SCANNER_KEY=$SCANNER_KEY \
        PLAYWRIGHT_CORE=$PLAYWRIGHT_CORE CHROMIUM=$CHROMIUM \
        timeout --kill-after=10 600 node "$E2E_DIR/portal/portal.test.mjs" 2>&1 | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
check "the portal in headless Chromium: every browser check above passed" browser_ok
log "screenshots in $SHOTS"

e2e_summary portal
