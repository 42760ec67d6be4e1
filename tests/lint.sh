#!/usr/bin/env bash
# Layering rules of registry-core and the HTTP frontend, checked by grep (docs/architecture.md):
#   1. meta/ (the storage layer) never names the facade or a domain module;
#   2. error.rs and units.rs (the foundation) depend on nothing above them;
#   3. the /v2 handlers reach the data plane only through `Registry::v2(caller)`, which
#      authorizes every operation in core.
# Prints "lint: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
rule() { # rule DESCRIPTION OFFENDING-LINES
  if [[ -z "$2" ]]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1"
    printf '%s\n' "$2" | sed 's/^/     /'
  fi
}
domains='registry|distribution|identity|content|policy|ops|events|access|auth|user|robot|project|catalog|model|selector|immutable|retention|quota|gc|jobs|settings|audit|webhook|image'
rule "meta/ never names the facade or a domain (no crate::registry in meta/)" \
  "$(grep -rnE "(crate|\\\$crate)::($domains)\\b" registry-core/src/meta/ | grep -vE '^\S+:\s*//')"
rule "error.rs and units.rs depend on nothing above the foundation" \
  "$(grep -nE "crate::" registry-core/src/error.rs registry-core/src/units.rs | grep -vE "crate::(error|units)\\b")"
rule "/v2 handlers call the data plane only through registry.v2(caller)" \
  "$(grep -rnE "registry\\s*\\.\\s*(stat_blob|head_blob|get_blob|delete_blob|mount_blob|start_upload|upload_status|append_upload|finish_upload|push_blob|cancel_upload|put_manifest|get_manifest|delete_manifest|list_tags|catalog|referrers)\\(" registry-http/src/oci/)"
rule "every domain folder opens with its documentation page" \
  "$(for d in distribution identity content policy ops events registry; do head -1 "registry-core/src/$d/mod.rs" | grep -q '^//!' || echo "registry-core/src/$d/mod.rs"; done)"
echo "lint: $passed passed, $failed failed"
((failed == 0))
