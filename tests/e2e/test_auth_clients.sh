#!/usr/bin/env bash
# Real clients with credentials through Berth's token flow (Bearer challenge -> /service/token
# with Basic credentials -> Bearer token on /v2), in a private project with a developer and a
# guest:
#   - skopeo: the developer pushes (--dest-creds) and pulls; the guest can pull but its push is
#     refused; anonymous pulls of the private project and a developer's delete are refused.
#   - podman (when installed; it runs as root here, no daemon, its own storage under the temp
#     root): login, push, pull back by digest as the developer; a wrong password fails login;
#     the guest's push is refused.
# Prints "auth-clients: N passed, M failed[, K skipped]".
# Usage: tests/e2e/test_auth_clients.sh   (env: BERTH_BIN, BERTH_METADATA, BERTH_STORAGE, E2E_KEEP_TMP)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v skopeo >/dev/null || die "skopeo is not installed (Debian: apt-get install skopeo)"
command -v jq >/dev/null || die "jq is not installed"

e2e_init
berth_start
SKIPPED=0
skip() {
    SKIPPED=$((SKIPPED + 1))
    printf 'skip %s\n' "$1"
}

PROJECT=clients
PW=Clients-Pass-1
berth_project "$PROJECT" || die "could not create project $PROJECT"
for pair in dev:2 guest:3; do
    user=${pair%%:*}
    role=${pair#*:}
    berth_api POST /users "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"realname\":\"$user\",\"password\":\"$PW\"}" >/dev/null ||
        die "could not create user $user"
    berth_api POST "/projects/$PROJECT/members" "{\"role_id\":$role,\"member_user\":{\"username\":\"$user\"}}" >/dev/null ||
        die "could not add $user to $PROJECT"
done
DEV="dev:$PW"
GUEST="guest:$PW"

LAYOUT="$E2E_TMP/layout"
python3 "$E2E_DIR/make_layout.py" "$LAYOUT" --tag v1 --big-mib 1 >"$E2E_TMP/layout.json"
SRC_MANIFEST=$(jq -r .manifest "$E2E_TMP/layout.json")

digest_as() { # digest_as CREDS REF: the digest skopeo inspect reports, as that user
    sk inspect --tls-verify=false --creds "$1" "docker://$2" 2>/dev/null | jq -r .Digest 2>/dev/null || true
}

# ---- skopeo -----------------------------------------------------------------------------------
REF="$BERTH_HOST/$PROJECT/app"
check "skopeo: the developer pushes with --dest-creds" \
    ok_cmd sk copy --dest-tls-verify=false --dest-creds "$DEV" "oci:$LAYOUT:v1" "docker://$REF:v1"
check "skopeo: the developer's push holds the source digest" assert_eq "$SRC_MANIFEST" "$(digest_as "$DEV" "$REF:v1")" "digest"
check "skopeo: the guest pulls with --src-creds" \
    ok_cmd sk copy --src-tls-verify=false --src-creds "$GUEST" "docker://$REF:v1" "oci:$E2E_TMP/guest-pull:v1"
check "skopeo: the guest's push is refused" \
    fails_cmd sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$GUEST" "oci:$LAYOUT:v1" "docker://$BERTH_HOST/$PROJECT/guest:v1"
check "skopeo: nothing was stored by the guest's push" \
    assert_eq 404 "$(http_code "$BERTH_URL/v2/$PROJECT/guest/manifests/v1")" "status"
check "skopeo: the guest cannot overwrite the developer's tag" \
    fails_cmd sk copy --retry-times 0 --dest-tls-verify=false --dest-creds "$GUEST" "oci:$LAYOUT:v1" "docker://$REF:v2"
check "skopeo: an anonymous pull from the private project is refused" \
    fails_cmd sk copy --retry-times 0 --src-tls-verify=false "docker://$REF:v1" "oci:$E2E_TMP/anon-pull:v1"
check "skopeo: the developer cannot delete (developers have no delete)" \
    fails_cmd sk delete --retry-times 0 --tls-verify=false --creds "$DEV" "docker://$REF:v1"
check "skopeo: the image is still there after the refused delete" assert_eq "$SRC_MANIFEST" "$(digest_as "$BERTH_ADMIN_USER:$BERTH_ADMIN_PASSWORD" "$REF:v1")" "digest"
check "skopeo: list-tags as the guest shows v1" \
    assert_eq '["v1"]' "$(sk list-tags --tls-verify=false --creds "$GUEST" "docker://$REF" 2>/dev/null | jq -c .Tags)" "tags"

# ---- podman -----------------------------------------------------------------------------------
podman_ready() { # podman present and able to use a private storage root
    command -v podman >/dev/null || return 1
    pm info >/dev/null 2>&1
}
PM="$E2E_TMP/podman"
mkdir -p "$PM"
export REGISTRY_AUTH_FILE="$PM/auth.json" # logins stay in the temp root
pm() {
    timeout --kill-after=10 300 podman --root "$PM/root" --runroot "$PM/run" --storage-driver vfs "$@"
}
if podman_ready; then
    PREF="$BERTH_HOST/$PROJECT/podman"
    check "podman: login with a wrong password fails" \
        fails_cmd pm login --tls-verify=false -u dev -p Wrong-Pass-9 "$BERTH_HOST"
    check "podman: the developer logs in (token flow)" \
        ok_cmd pm login --tls-verify=false -u dev -p "$PW" "$BERTH_HOST"
    # skopeo writes the layout straight into podman's store (podman would name an oci: pull
    # after its path, which has upper-case letters here).
    check "podman: the image goes into podman's store" \
        ok_cmd sk copy "oci:$LAYOUT:v1" "containers-storage:[vfs@$PM/root+$PM/run]localhost/e2e/app:v1"
    check "podman: tag for the registry" ok_cmd pm tag localhost/e2e/app:v1 "$PREF:v1"
    check "podman: the developer pushes" \
        ok_cmd pm push --tls-verify=false --digestfile "$PM/digest" "$PREF:v1"
    pushed=$(cat "$PM/digest" 2>/dev/null || true)
    check "podman: the registry serves the digest podman pushed" \
        assert_eq "$pushed" "$(digest_as "$DEV" "$PREF:v1")" "digest"
    check "podman: remove the local image" ok_cmd pm rmi -f "$PREF:v1" localhost/e2e/app:v1
    check "podman: the developer pulls it back" ok_cmd pm pull --tls-verify=false "$PREF:v1"
    check "podman: the pulled image has the pushed digest" \
        assert_eq "$pushed" "$(pm image inspect --format '{{.Digest}}' "$PREF:v1" 2>/dev/null)" "digest"
    check "podman: logout" ok_cmd pm logout "$BERTH_HOST"
    check "podman: the guest logs in" ok_cmd pm login --tls-verify=false -u guest -p "$PW" "$BERTH_HOST"
    check "podman: the guest's push is refused" \
        fails_cmd pm push --tls-verify=false "$PREF:v1" "docker://$BERTH_HOST/$PROJECT/podman-guest:v1"
    check "podman: nothing was stored by the guest's push" \
        assert_eq 404 "$(http_code "$BERTH_URL/v2/$PROJECT/podman-guest/manifests/v1")" "status"
    pm logout --all >/dev/null 2>&1 || true
    pm rmi -af >/dev/null 2>&1 || true
else
    skip "podman: not installed or cannot run here (apt-get install podman; runs as root with its own storage)"
fi

e2e_summary auth-clients "$SKIPPED"
