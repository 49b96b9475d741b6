#!/usr/bin/env bash
# tools/bench.sh - `./ftfuzz bench [--quick] [--json] [--no-build] [--sections=a,b]`
#
# ftfuzz's benchmarks: fuzz-target throughput, time to find each mutant
# (against the proposal's stress test, and with interleaving coverage or
# PCT turned off), the core against the proposals' tables with the scheduling
# hooks compiled out, and the hooks' cost. Prints a readable report (with
# --json: the JSON document on stdout, the report on stderr) and saves
# build/bench/results/<UTC timestamp>.{json,png,txt} plus latest.{json,png,txt}.
# How to read it: docs/bench.md.
#
# Builds (incremental; only the targets the bench runs, never the unit tests):
#   build/release  the fuzz targets, ftf, bench/core_stress
#   build/tsan, build/asan   the fuzz targets (the trees `./ftfuzz test` builds)
#   build/bench        preset `bench`: -O2, scheduling hooks compiled OUT, no
#                      libFuzzer instrumentation: the core microbenchmarks
#   build/bench-hooks  preset `bench-hooks`: the same with the hooks compiled in
#   build/bench-tsan, build/bench-asan (full run only): the stress test under
#                      each sanitizer
# Environment: FTF_CLANGXX and JOBS (exported by ./ftfuzz); FTF_BENCH_LEAN=1
# (with --quick: skip the release tree, see below); full run only:
# FTF_BENCH_CAP (time-to-find cap, s; default 15), FTF_BENCH_ABLATION_CAP
# (default 15), FTF_BENCH_ABLATION (comma-separated mutants; default all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CXX="${FTF_CLANGXX:-clang++-19}"
JOBS="${JOBS:-2}"
export JOBS

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

quick=0 json=0 do_build=1 sections=""
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --json) json=1 ;;
    --no-build) do_build=0 ;;
    --sections=*) sections="${a#--sections=}" ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$a' (usage: ./ftfuzz bench [--quick] [--json] [--no-build] [--sections=a,b])" ;;
  esac
done

# Configure through ./ftfuzz (the one place presets are configured).
configure() {  # preset
  bash ./ftfuzz configure "$1" || die "configure of preset $1 failed"
}

variant_targets() {  # preset -> the fuzz targets that take a variant, as configure wrote them
  configure "$1"
  # Configure again if a CMakeLists.txt changed since (the list is written then).
  cmake --build "build/$1" --target build.ninja >/dev/null 2>&1 || die "re-configure of build/$1 failed"
  awk '$2 == "variant" {print $1}' "build/$1/fuzz_targets.txt"
}

build_targets() {  # preset target...
  local preset="$1"; shift
  configure "$preset"
  say "building $* in build/$preset"
  if ! cmake --build "build/$preset" -j "$JOBS" --target "$@" >"build/$preset.bench-build.log" 2>&1; then
    # src/ may be edited while the bench runs: a tree that fails to
    # build is measured with the binaries it has, and the report says so.
    grep -E 'error' "build/$preset.bench-build.log" | head -n 5 >&2 || true
    local t missing=0
    for t in "$@"; do
      [ -n "$(find "build/$preset" -name "$t" -type f -perm -u+x 2>/dev/null | head -n 1)" ] || missing=1
    done
    [ "$missing" -eq 0 ] || die "build of $preset ($*) failed (log: build/$preset.bench-build.log)"
    say "warning: build of $preset failed; measuring its existing (older) binaries"
    FTF_BENCH_STALE="${FTF_BENCH_STALE:+$FTF_BENCH_STALE,}$preset"
    export FTF_BENCH_STALE
  fi
}

# FTF_BENCH_LEAN=1 with --quick (what the CI smoke check uses): no release
# tree (the costliest build: the fuzz targets' libraries with libFuzzer
# instrumentation). Its rows and the ablations (which run the release fuzz
# targets in a quick run) are then reported as skipped, and the stress
# test runs from build/bench.
lean=0
[ "$quick" -eq 1 ] && [ "${FTF_BENCH_LEAN:-0}" = 1 ] && lean=1
export FTF_BENCH_LEAN="$lean"
if [ "$do_build" -eq 1 ]; then
  t0=$(date +%s)
  if [ "$lean" -eq 0 ]; then
    build_targets release $(variant_targets release) ftf core_stress
  fi
  build_targets tsan $(variant_targets tsan) ftf
  build_targets asan $(variant_targets asan)
  if [ "$lean" -eq 1 ]; then
    build_targets bench slot_store_bench globals_contention_bench core_stress
  else
    build_targets bench slot_store_bench globals_contention_bench
  fi
  build_targets bench-hooks slot_store_bench globals_contention_bench
  # Section 5's many-core simulator (needs the hooks compiled in).
  build_targets bench-hooks contention_sim
  if [ "$quick" -eq 0 ]; then
    build_targets bench-tsan core_stress
    build_targets bench-asan core_stress
  fi
  say "builds up to date ($(( $(date +%s) - t0 )) s)"
fi

out_dir="build/bench/results"
mkdir -p "$out_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[ "$quick" -eq 1 ] && stamp="$stamp-quick"
json_out="$out_dir/$stamp.json"
args=(--root "$ROOT" --out "$json_out")
[ "$quick" -eq 1 ] && args+=(--quick)
[ -n "$sections" ] && args+=(--sections "$sections")
python3 bench/bench_driver.py "${args[@]}" || die "the measurements failed"
python3 bench/bench_report.py "$json_out" >"$out_dir/$stamp.txt"
# The chart needs matplotlib (Debian's python3-matplotlib): the first python3
# on PATH may be another installation without it.
plot_py=""
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import matplotlib' 2>/dev/null; then plot_py="$py"; break; fi
done
[ -n "$plot_py" ] || die "no python3 with matplotlib (apt-get install python3-matplotlib)"
"$plot_py" tools/bench_plot.py "$json_out" "$out_dir/$stamp.png" || die "the chart failed"
for ext in json png txt; do cp "$out_dir/$stamp.$ext" "$out_dir/latest.$ext"; done
if [ "$json" -eq 1 ]; then
  cat "$out_dir/$stamp.txt" >&2
  cat "$json_out"
else
  cat "$out_dir/$stamp.txt"
fi
say "saved $out_dir/$stamp.{json,png,txt} (and latest.*)"
