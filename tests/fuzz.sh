#!/usr/bin/env bash
# Coverage-guided fuzzing of Berth's parsers (fuzz/, cargo-fuzz + libFuzzer, stable Rust).
#
#   tests/fuzz.sh [SECONDS]     run every target for SECONDS (default 60), two at a time
#
# Installs cargo-fuzz (pinned, cached in $BERTH_TOOLS like tests/setup.sh does), builds all
# targets once, then runs each one on a scratch corpus (fuzz/work/corpus/<target>, seeded from the
# committed fuzz/corpus/<target>, which a run never writes to). A crash, a timeout, an
# out-of-memory or a build failure fails the target; crash inputs land in fuzz/artifacts/<target>/.
# Prints per target the executions, exec/s and the result, then "fuzz: N passed, M failed".
#
# Environment: FUZZ_TARGETS (space-separated subset), FUZZ_RUNS (stop each target after that many
# executions, e.g. 10000000), FUZZ_SANITIZER (none | address; default none), FUZZ_JOBS (default 2),
# FUZZ_PROFILE (release, the default, or dev: unoptimized, a quarter of the build time, for the
# CI smoke run), FUZZ_TARGET_DIR (cargo's target dir; default fuzz/target).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"

duration=${1:-60}
tools=${BERTH_TOOLS:-$HOME/.cache/berth-tools}
CARGO_FUZZ_VERSION=0.13.2
sanitizer=${FUZZ_SANITIZER:-none}
profile=${FUZZ_PROFILE:-release}
target_dir=${FUZZ_TARGET_DIR:-$root/fuzz/target}
build_args=(--sanitizer "$sanitizer" --target-dir "$target_dir")
case $profile in
  release) profile_dir=release ;;
  dev)
    profile_dir=debug
    build_args+=(--dev)
    ;;
  *)
    echo "fuzz: FUZZ_PROFILE is release or dev, not $profile"
    exit 2
    ;;
esac
jobs=${FUZZ_JOBS:-2}
all_targets="names manifest v2_path list_query auth_header token"
targets=${FUZZ_TARGETS:-$all_targets}
# The CI machines have no nightly toolchain: cargo-fuzz's unstable flags (-Zsanitizer,
# -Cpasses=sancov-module options) are accepted on stable through RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
cargo=(cargo)
if command -v rustup >/dev/null 2>&1; then
  cargo=(cargo +stable)
fi
export PATH="$tools/bin:$PATH"

t0=$(date +%s)
step() { # step START-EPOCH LABEL
  echo "fuzz: $2 ($(($(date +%s) - $1)) s)"
}

passed=0
failed=0
finish() {
  echo "fuzz: total $(($(date +%s) - t0)) s"
  echo "fuzz: $passed passed, $failed failed"
  ((failed == 0))
  exit
}

s=$(date +%s)
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "fuzz: cargo install cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
  mkdir -p "$tools"
  if ! "${cargo[@]}" install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$tools" --quiet; then
    echo "FAIL cargo-fuzz install"
    failed=$(wc -w <<<"$targets")
    finish
  fi
fi
step "$s" "cargo-fuzz $CARGO_FUZZ_VERSION ready"

s=$(date +%s)
echo "fuzz: building targets ($("${cargo[@]}" --version), sanitizer $sanitizer, $profile profile, into $target_dir)"
build_log=$root/fuzz/work/build.log
mkdir -p "$root/fuzz/work/logs"
# No incremental cache, and line tables only in the dev build: a crash still names file and line,
# and the cached target dir stays around 2 GB instead of growing by gigabytes per build.
if ! (cd fuzz && CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only \
  "${cargo[@]}" fuzz build "${build_args[@]}") >"$build_log" 2>&1; then
  tail -n 40 "$build_log"
  step "$s" "build FAILED"
  failed=$(wc -w <<<"$targets")
  finish
fi
step "$s" "build done"
# A clone at another path builds the workspace crates under new hashes; keep only the newest
# build of each, so the cached target dir does not grow with every checkout.
prune_stale() { # prune_stale DEPS-DIR NAME...: per NAME, delete NAME-<hash>* but the newest hash
  local deps=$1 name newest keep
  shift
  for name in "$@"; do
    newest=$(ls -t "$deps/$name"-* 2>/dev/null | head -n 1) || true
    [[ -n $newest ]] || continue
    keep=${newest#"$deps/$name"-}
    keep=${keep%%.*}
    find "$deps" -maxdepth 1 -name "$name-*" ! -name "$name-$keep*" -delete
  done
}
fuzz_deps=$target_dir/x86_64-unknown-linux-gnu/$profile_dir/deps
prune_stale "$fuzz_deps" libregistry_core registry_core libregistry_http registry_http $all_targets

bin_dir=$target_dir/x86_64-unknown-linux-gnu/$profile_dir
declare -A pid_target=() started=()
run_target() { # run_target TARGET: libFuzzer on a scratch corpus plus the committed seeds
  local t=$1
  local work=$root/fuzz/work/corpus/$t
  mkdir -p "$work" "$root/fuzz/artifacts/$t"
  local args=(
    "-max_total_time=$duration" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    "-artifact_prefix=$root/fuzz/artifacts/$t/"
  )
  [[ -n ${FUZZ_RUNS:-} ]] && args+=("-runs=$FUZZ_RUNS")
  exec "$bin_dir/$t" "${args[@]}" "$work" "$root/fuzz/corpus/$t" >"$root/fuzz/work/logs/$t.log" 2>&1
}

report() { # report TARGET EXIT-CODE
  local t=$1 rc=$2
  local log=$root/fuzz/work/logs/$t.log
  local runs speed elapsed corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  elapsed=$(($(date +%s) - ${started[$t]}))
  corpus=$(find "$root/fuzz/work/corpus/$t" -type f | wc -l)
  if ((rc == 0)); then
    passed=$((passed + 1))
    printf 'ok   %-12s %12s execs %9s exec/s %6s s  corpus %s\n' "$t" "${runs:-?}" "${speed:-?}" "$elapsed" "$corpus"
  else
    failed=$((failed + 1))
    printf 'FAIL %-12s %12s execs %9s exec/s %6s s  exit %s\n' "$t" "${runs:-?}" "${speed:-?}" "$elapsed" "$rc"
    grep -m 1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' -A 1 "$log" | sed 's/^/     /'
    grep -m 1 'Test unit written to' "$log" | sed 's/^/     /'
  fi
}

s=$(date +%s)
for t in $targets; do
  if [[ ! -x $bin_dir/$t ]]; then
    failed=$((failed + 1))
    echo "FAIL $t: no such target"
    continue
  fi
  while ((${#pid_target[@]} >= jobs)); do
    wait -n -p done_pid
    rc=$?
    report "${pid_target[$done_pid]}" "$rc"
    unset "pid_target[$done_pid]"
  done
  started[$t]=$(date +%s)
  run_target "$t" &
  pid_target[$!]=$t
done
while ((${#pid_target[@]} > 0)); do
  wait -n -p done_pid
  rc=$?
  report "${pid_target[$done_pid]}" "$rc"
  unset "pid_target[$done_pid]"
done
step "$s" "targets run"
finish
