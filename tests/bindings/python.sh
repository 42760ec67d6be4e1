#!/usr/bin/env bash
# Build and test the Python package from the repository as a user would:
#   a fresh venv, `pip install ./registry-py` (maturin via PEP 517, release build), then
#   pytest on registry-py/tests (engine, asyncio, serve, fork, the oras SDK through the
#   berth_registry fixture), mypy --strict over the package + stubs + examples/python,
#   mypy.stubtest of the stubs against the built module, and the Python examples.
# Exit status is non-zero on any failure. Run from anywhere; needs python3 (>= 3.10) and cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}   # reuse compiled dependencies
export CARGO_TERM_COLOR=never
venv=$(mktemp -d "${TMPDIR:-/tmp}/berth-py-venv.XXXXXX")
trap 'rm -rf "$venv"' EXIT

t0=$SECONDS
python3 -m venv "$venv"
pip=("$venv/bin/pip" install -q --disable-pip-version-check)
"${pip[@]}" "pytest>=8,<10" "mypy>=1.18" "oras==0.2.43" "requests>=2.31"
echo "python.sh: test tools installed ($((SECONDS - t0)) s)"

t1=$SECONDS
# BERTH_BINDINGS_PROFILE=dev (tests/run.sh) builds the wheel in the profile the rest of the test
# run compiled the tree in, instead of compiling it all again optimized.
if [[ ${BERTH_BINDINGS_PROFILE:-release} == dev ]]; then export MATURIN_PEP517_ARGS="--profile dev"; fi
"${pip[@]}" ./registry-py
echo "python.sh: pip install ./registry-py (${BERTH_BINDINGS_PROFILE:-release}) took $((SECONDS - t1)) s"

py=$venv/bin/python
cd "$root/registry-py"   # tests import the installed package, not the source tree
"$py" -m pytest -q -p no:cacheprovider tests
cd "$root"
(cd "$venv" && "$py" -m mypy --strict --no-incremental -p berth)   # the installed package, stubs included
"$py" -m mypy --strict --no-incremental examples/python
(cd "$venv" && "$py" -m mypy.stubtest --ignore-missing-stub berth._native)
"$py" examples/python/quickstart.py >/dev/null
"$py" examples/python/layout_mirror.py >/dev/null
echo "python.sh: ok ($((SECONDS - t0)) s)"
