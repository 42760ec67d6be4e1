# Throw-away OpenID Connect provider (PyPI oidc-provider-mock, a real OIDC server process) on
# loopback for the external-identity tests. It needs Python >= 3.12; its virtual environment
# lives in ${BERTH_TOOLS:-$HOME/.cache/berth-tools}/venv-oidc and is made on first use.
#
# Source this file (after services.sh, whose free_port/wait_port/_pids/stop_services it uses;
# it sources services.sh itself when that was not done), then call start_oidc. Exports:
#   BERTH_TEST_OIDC_URL   http://127.0.0.1:<port> (the issuer)
# The provider requires client registration (POST /oauth2/clients) and a nonce; users and their
# claims are set with PUT /users/<sub>. Tests do both themselves.

declare -F free_port >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

OIDC_PROVIDER_MOCK_VERSION=0.4.8

# A Python interpreter of version 3.12 or newer: on PATH, or one of pyenv's.
_oidc_python() {
  local c
  for c in python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"
      return 0
    fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    if [ -x "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

_oidc_install() {
  local venv=$1 py
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('oidc-provider-mock') != '$OIDC_PROVIDER_MOCK_VERSION')" 2>/dev/null; then
    py=$(_oidc_python) || { echo "services: oidc-provider-mock needs Python >= 3.12 and none was found" >&2; return 1; }
    echo "services: pip install oidc-provider-mock==$OIDC_PROVIDER_MOCK_VERSION (with $py)"
    rm -rf "$venv"
    "$py" -m venv "$venv" &&
      "$venv/bin/pip" install -q --disable-pip-version-check "oidc-provider-mock==$OIDC_PROVIDER_MOCK_VERSION"
  fi
}

start_oidc() {
  local tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools} port i
  local venv=$tools/venv-oidc
  _oidc_install "$venv" || return 1
  port=$(free_port)
  "$venv/bin/oidc-provider-mock" --host 127.0.0.1 --port "$port" --require-registration true --require-nonce true \
    >"$BERTH_SERVICES_DIR/oidc.log" 2>&1 &
  _pids+=($!)
  wait_port 127.0.0.1 "$port" 60 || { cat "$BERTH_SERVICES_DIR/oidc.log" >&2; return 1; }
  for ((i = 0; i < 100; i++)); do
    if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/.well-known/openid-configuration', timeout=2)" 2>/dev/null; then
      export BERTH_TEST_OIDC_URL="http://127.0.0.1:$port"
      echo "services: oidc-provider-mock on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  echo "services: oidc-provider-mock did not answer discovery" >&2
  cat "$BERTH_SERVICES_DIR/oidc.log" >&2
  return 1
}
