#!/usr/bin/env bash
# coverage.sh - `./ftfuzz coverage [TARGET...] [--variant=V]`: source-based
# coverage of the corpus.
#
# Builds the fuzz targets with clang's source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping, no sanitizer) in
# build/coverage/, linked with the standalone replay driver (the same
# FTF_OSSFUZZ build mode oss-fuzz/build.sh uses, with an empty engine), runs
# each target over corpus/<target>/{seeds,regressions,merged} and
# work/fuzz/<target>/corpus (when present), merges the profiles with
# llvm-profdata and writes an llvm-cov HTML report to
# build/coverage/report/index.html. Prints a per-directory and per-file
# summary of the project's own sources (Abseil, system headers and tests are
# left out). Default targets: every target registered in fuzzers/CMakeLists.txt.
#
# Environment (set by ./ftfuzz): FTF_CLANGXX (default clang++-19), JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CLANGXX="${FTF_CLANGXX:-clang++-19}"
JOBS="${JOBS:-2}"
BUILD="build/coverage"
PROFILES="$BUILD/profiles"
REPORT="$BUILD/report"

say() { printf 'coverage: %s\n' "$*" >&2; }
die() { printf 'coverage: error: %s\n' "$*" >&2; exit 2; }

targets=() variant=""
for a in "$@"; do
  case "$a" in
    --variant=*) variant="${a#--variant=}" ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$a' (usage: ./ftfuzz coverage [TARGET...] [--variant=V])" ;;
    *) targets+=("$a") ;;
  esac
done

# Toolchain: llvm-profdata / llvm-cov of the same LLVM as the compiler (the
# profile format is versioned).
suffix=""
[[ "$CLANGXX" =~ -([0-9]+)$ ]] && suffix="-${BASH_REMATCH[1]}"
PROFDATA="llvm-profdata$suffix"
LLVMCOV="llvm-cov$suffix"
missing=()
for tool in "$CLANGXX" "$PROFDATA" "$LLVMCOV" cmake ninja; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing ${missing[*]}: coverage needs $CLANGXX with $PROFDATA and $LLVMCOV" \
      "(Debian: apt-get install clang${suffix} llvm${suffix} cmake ninja-build)"
fi
PY=python3
command -v "$PY" >/dev/null 2>&1 || die "python3 is needed for the per-directory summary"


# Build. No sanitizer, no libFuzzer: the standalone driver replays inputs.
bash ./ftfuzz configure coverage || die "configure failed"
# The targets fuzzers/CMakeLists.txt registers, as configure writes them
# (`--target build.ninja` re-runs configure if a CMakeLists.txt changed).
cmake --build "$BUILD" --target build.ninja >>"$BUILD.configure.log" 2>&1 || die "re-configure of $BUILD failed"
registered=()
while read -r t _; do registered+=("$t"); done <"$BUILD/fuzz_targets.txt"
[ ${#registered[@]} -gt 0 ] || die "no fuzz target registered in fuzzers/CMakeLists.txt"
[ ${#targets[@]} -eq 0 ] && targets=("${registered[@]}")
for t in "${targets[@]}"; do
  printf '%s\n' "${registered[@]}" | grep -qx "$t" || die "unknown target '$t' (targets: ${registered[*]})"
done
say "building ${targets[*]}"
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" >"$BUILD.build.log" 2>&1 ||
  { tail -n 40 "$BUILD.build.log" >&2; die "build failed (log $BUILD.build.log)"; }

# Run. One process per corpus directory; if a run fails (a crashing input
# writes no profile), that directory is re-run one file per process so only
# the failing inputs are lost, and they are named.
rm -rf "$PROFILES" "$REPORT"
mkdir -p "$PROFILES"
variant_flag=()
[ -n "$variant" ] && variant_flag=(--variant="$variant")
objects=()
total_inputs=0
for t in "${targets[@]}"; do
  bin="$BUILD/fuzzers/$t"
  objects+=("$bin")
  n_t=0
  for dir in "corpus/$t/seeds" "corpus/$t/regressions" "corpus/$t/merged" "work/fuzz/$t/corpus"; do
    [ -d "$dir" ] || continue
    n=$(find "$dir" -type f | wc -l)
    [ "$n" -gt 0 ] || continue
    tag="$t-$(echo "$dir" | tr '/' '_')"
    if LLVM_PROFILE_FILE="$PROFILES/$tag-%p.profraw" "$bin" "${variant_flag[@]}" "$dir" \
         >"$PROFILES/$tag.log" 2>&1; then
      n_t=$((n_t + n))
    else
      say "warning: $t on $dir failed as a whole; replaying its $n inputs one by one"
      rm -f "$PROFILES/$tag"-*.profraw
      while IFS= read -r f; do
        if LLVM_PROFILE_FILE="$PROFILES/$tag-%p.profraw" "$bin" "${variant_flag[@]}" "$f" \
             >>"$PROFILES/$tag.log" 2>&1; then
          n_t=$((n_t + 1))
        else
          say "warning: $t: $f fails (no coverage from it; see $PROFILES/$tag.log)"
        fi
      done < <(find "$dir" -type f | sort)
    fi
  done
  say "$t: replayed $n_t inputs"
  total_inputs=$((total_inputs + n_t))
done
[ "$total_inputs" -gt 0 ] || die "no corpus input ran: nothing to report"
shopt -s nullglob
raws=("$PROFILES"/*.profraw)
[ ${#raws[@]} -gt 0 ] || die "the runs wrote no .profraw file"
"$PROFDATA" merge -sparse "${raws[@]}" -o "$BUILD/coverage.profdata"

# Report: the project's sources only. llvm-cov warns about "mismatched data"
# for LLVMFuzzerInitialize/LLVMFuzzerTestOneInput: same name, a different body
# in each target; its messages go to build/coverage/llvm-cov.log.
IGNORE='(^/usr/|/_abseil/|/build/|/tests/|standalone_main\.cc)'
cov_args=(-instr-profile="$BUILD/coverage.profdata" "${objects[0]}")
for o in "${objects[@]:1}"; do cov_args+=(-object="$o"); done
"$LLVMCOV" show "${cov_args[@]}" -format=html -output-dir="$REPORT" \
  -ignore-filename-regex="$IGNORE" -show-line-counts-or-regions -show-instantiations=false \
  -project-title="ftfuzz corpus coverage (${targets[*]})" >/dev/null 2>"$BUILD/llvm-cov.log" ||
  { cat "$BUILD/llvm-cov.log" >&2; die "llvm-cov show failed"; }
[ -f "$REPORT/index.html" ] || die "llvm-cov wrote no $REPORT/index.html"

"$LLVMCOV" export "${cov_args[@]}" -summary-only -ignore-filename-regex="$IGNORE" \
  >"$BUILD/summary.json" 2>>"$BUILD/llvm-cov.log" || { cat "$BUILD/llvm-cov.log" >&2; die "llvm-cov export failed"; }
"$PY" - "$BUILD/summary.json" "$ROOT" <<'PY'
import collections, json, os, sys
data = json.load(open(sys.argv[1]))["data"][0]
root = sys.argv[2].rstrip("/") + "/"
rows = collections.OrderedDict()
files = []
for f in data["files"]:
    name = f["filename"]
    rel = name[len(root):] if name.startswith(root) else name
    s = f["summary"]
    files.append((rel, s))
    d = os.path.dirname(rel)
    agg = rows.setdefault(d, {"lines": [0, 0], "functions": [0, 0], "regions": [0, 0], "branches": [0, 0]})
    for k in agg:
        agg[k][0] += s[k]["covered"]
        agg[k][1] += s[k]["count"]
def pct(c, n): return f"{100.0 * c / n:6.1f}%" if n else "     -"
print(f"{'DIRECTORY':<22} {'LINES':>17} {'FUNCTIONS':>17} {'REGIONS':>17} {'BRANCHES':>17}")
for d in sorted(rows):
    a = rows[d]
    print(f"{d:<22}" + "".join(f" {pct(*a[k])} {a[k][0]:>5}/{a[k][1]:<5}" for k in ("lines", "functions", "regions", "branches")))
t = data["totals"]
print(f"{'TOTAL':<22}" + "".join(f" {pct(t[k]['covered'], t[k]['count'])} {t[k]['covered']:>5}/{t[k]['count']:<5}"
                                 for k in ("lines", "functions", "regions", "branches")))
print()
print(f"{'FILE':<40} {'LINES':>8} {'FUNCS':>8} {'BRANCH':>8}")
for rel, s in sorted(files):
    print(f"{rel:<40} {pct(s['lines']['covered'], s['lines']['count']):>8} "
          f"{pct(s['functions']['covered'], s['functions']['count']):>8} "
          f"{pct(s['branches']['covered'], s['branches']['count']):>8}")
PY
echo
echo "coverage report: $ROOT/$REPORT/index.html"
