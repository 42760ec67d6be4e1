#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (idempotent):
# Debian packages (PostgreSQL, skopeo, podman, OpenLDAP slapd + ldap-utils, Distribution 2.8 as a
# benchmark peer, curl, jq, wrk, nginx as the load balancer of the scale-out test, mmdebstrap
# for a real Debian root filesystem to build an SBOM of, rpm + rpmbuild for a real rpm database),
# the OCI conformance suite (Go), the cosign CLI (Go, for tests/e2e/signing.sh), the
# S3-compatible server s3s-fs (crates.io), Syft (Go, the SBOM tool Berth's SBOMs are compared
# with), helm (Go, for the Helm chart of tests/e2e/portal.sh), cargo-auditable (crates.io, to
# build a Rust binary with its dependency list), and a Python virtual environment with the oras
# SDK and pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
mkdir -p "$tools/bin"

# Pinned: the newest pseudo-version of the conformance module the Go proxy serves.
CONFORMANCE_VERSION=v0.0.0-20260831232431-97274622c111
S3S_FS_VERSION=0.14.1
# cosign, built from the Go module proxy into a directory named after its version.
COSIGN_VERSION=v2.6.5
# Distribution v3: a replication peer (tests/e2e/replication.sh) and a benchmark baseline.
DIST3_VERSION=v3.1.2
# crane: a second client for the proxy cache's offline pulls (tests/e2e/proxy.sh).
CRANE_VERSION=v0.22.1
# Syft: the reference SBOM tool of tests/e2e/sbom.sh and test_sbom_languages.py (built once per
# machine: about 7 minutes on 2 cores with empty Go caches, under 3 once the module cache holds
# what cosign and the other Go tools above brought).
SYFT_VERSION=v1.57.2
# helm: packages and pushes the Helm chart of the portal's browser test (tests/e2e/portal.sh).
HELM_VERSION=v4.3.2
# cargo-auditable: builds the Rust binary with a .dep-v0 section in test_sbom_languages.py.
CARGO_AUDITABLE_VERSION=0.7.7

need_apt=()
for pair in pg_ctlcluster:postgresql skopeo:skopeo docker-registry:docker-registry curl:curl jq:jq wrk:wrk podman:podman slapd:slapd ldapadd:ldap-utils strace:strace openssl:openssl nginx:nginx mmdebstrap:mmdebstrap rpmbuild:rpm; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

gobin=$(go env GOPATH)/bin
if ! go version -m "$gobin/conformance" 2>/dev/null | grep -q "$CONFORMANCE_VERSION"; then
  echo "setup: go install conformance@$CONFORMANCE_VERSION"
  go install "github.com/opencontainers/distribution-spec/conformance@$CONFORMANCE_VERSION"
fi
ln -sf "$gobin/conformance" "$tools/bin/conformance"

cosign_dir=$tools/go-cosign-$COSIGN_VERSION
if [ ! -x "$cosign_dir/cosign" ]; then
  echo "setup: go install cosign@$COSIGN_VERSION (several minutes, once)"
  GOBIN=$cosign_dir go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
fi
ln -sf "$cosign_dir/cosign" "$tools/bin/cosign"

dist3_dir=$tools/go-distribution-$DIST3_VERSION
if [ ! -x "$dist3_dir/registry" ]; then
  echo "setup: go install distribution/v3 registry@$DIST3_VERSION (a few minutes, once)"
  GOBIN=$dist3_dir go install "github.com/distribution/distribution/v3/cmd/registry@$DIST3_VERSION"
fi
ln -sf "$dist3_dir/registry" "$tools/bin/registry-v3"

crane_dir=$tools/go-crane-$CRANE_VERSION
if [ ! -x "$crane_dir/crane" ]; then
  echo "setup: go install crane@$CRANE_VERSION (a minute, once)"
  GOBIN=$crane_dir go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
fi
ln -sf "$crane_dir/crane" "$tools/bin/crane"

syft_dir=$tools/go-syft-$SYFT_VERSION
if [ ! -x "$syft_dir/syft" ]; then
  echo "setup: go install syft@$SYFT_VERSION (3 to 7 minutes, once)"
  GOBIN=$syft_dir go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION"
fi
ln -sf "$syft_dir/syft" "$tools/bin/syft"

helm_dir=$tools/go-helm-$HELM_VERSION
if [ ! -x "$helm_dir/helm" ]; then
  echo "setup: go install helm@$HELM_VERSION (a few minutes, once)"
  GOBIN=$helm_dir go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
fi
ln -sf "$helm_dir/helm" "$tools/bin/helm"

# (`cargo auditable --version` prints cargo's version: cargo install's own record says which.)
if ! grep -qs "^\"cargo-auditable $CARGO_AUDITABLE_VERSION " "$tools/.crates.toml"; then
  echo "setup: cargo install cargo-auditable $CARGO_AUDITABLE_VERSION (a minute, once)"
  cargo install cargo-auditable --version "$CARGO_AUDITABLE_VERSION" --locked --root "$tools" --quiet
fi

if ! "$tools/bin/s3s-fs" --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
  echo "setup: cargo install s3s-fs $S3S_FS_VERSION (a few minutes, once)"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --root "$tools" --quiet
fi

# ---- web portal (registry-http/portal) and its browser test ------------------------------------
# Debian's chromium (playwright-core never downloads a browser of its own), playwright-core in
# the tools cache for tests/e2e/portal.sh, and the portal's dist/ built when missing or older
# than its sources.
PLAYWRIGHT_CORE_VERSION=1.65.2
# (fonts-wqy-microhei: a small CJK font, so the Chinese screenshots are legible.)
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  echo "setup: apt-get install chromium fonts-wqy-microhei"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
fi
if ! grep -qs "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$tools/portal-test/node_modules/playwright-core/package.json"; then
  echo "setup: npm install playwright-core@$PLAYWRIGHT_CORE_VERSION"
  mkdir -p "$tools/portal-test"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$tools/portal-test" "playwright-core@$PLAYWRIGHT_CORE_VERSION"
fi
portal=$root/registry-http/portal
if [ ! -f "$portal/dist/app.js" ] || [ -n "$(find "$portal/src" "$portal/build.mjs" "$portal/package.json" "$portal/package-lock.json" "$portal/tsconfig.json" -newer "$portal/dist/app.js" -print -quit)" ]; then
  echo "setup: building the portal (npm ci && npm run build in registry-http/portal)"
  (cd "$portal" && npm ci --silent --no-audit --no-fund && npm run build)
fi

venv=$tools/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/requirements.txt"
echo "setup: done (tools in $tools)"
