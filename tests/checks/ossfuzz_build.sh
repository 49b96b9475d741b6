#!/usr/bin/env bash
# ossfuzz_build.sh - the OSS-Fuzz build, emulated without Docker, and its checks.
#
# Run by `./ftfuzz test` (exit 0 = pass). For SANITIZER=address and
# SANITIZER=undefined it sets the variables and flags OSS-Fuzz's base-builder
# sets (CC/CXX, CFLAGS/CXXFLAGS, LIB_FUZZING_ENGINE, SRC/WORK/OUT, ...), with
# Debian's clang-19 and libc++ standing in for OSS-Fuzz's pinned clang, takes
# Abseil's source from Debian (`apt-get source abseil`, cached under build/),
# runs oss-fuzz/build.sh exactly as `compile` does (`bash -eux $SRC/build.sh`
# from the checkout), and then checks what ended up in $OUT the way
# `helper.py check_build` (base-runner's test_all.py / bad_build_check) would:
#   - engine: an executable ELF x86-64 file holding LLVMFuzzerTestOneInput, a
#     libFuzzer binary (-help=1), instrumented ("Loaded N modules (M inline
#     8-bit counters)", and never "Is the code instrumented");
#   - mixed sanitizers: __asan/__ubsan/__msan call counts within the limits;
#   - startup: `-seed=1337 -runs=4` prints "Done 4 runs";
#   - seed corpus: the unzipped <target>_seed_corpus.zip replays clean with
#     -runs=0 (check_seed_corpus, commented out upstream, run here anyway);
#   - <target>.options parses as INI with a [libfuzzer] section of key = value,
#     <target>.dict parses as a libFuzzer dictionary (the binary loads it);
#   - a finding (globals_fuzzer, the popitem race on `locked`) with the
#     runner's handle_abort=1: one ftfuzz SUMMARY and the CHECK-style line
#     ClusterFuzz builds its crash state from;
# and finally that the ClusterFuzzLite files agree with oss-fuzz/.
# It refuses to pass vacuously: every target registered in
# fuzzers/CMakeLists.txt must be in $OUT, with a non-empty seed corpus.
#
# Environment: FTF_CLANGXX (default clang++-19), JOBS (default 2),
# FTF_OSSFUZZ_SANITIZERS (default "address undefined").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

CLANGXX="${FTF_CLANGXX:-clang++-19}"
CLANGCC="${CLANGXX/clang++/clang}"
JOBS="${JOBS:-2}"
SANITIZERS="${FTF_OSSFUZZ_SANITIZERS:-address undefined}"
CACHE="$ROOT/build/ossfuzz-cache"
START=$(date +%s)
FAILURES=0
CHECKS=0

say() { printf 'ossfuzz_build: %s\n' "$*"; }
fail() { printf 'ossfuzz_build: FAIL: %s\n' "$*" >&2; FAILURES=$((FAILURES + 1)); }
die() { printf 'ossfuzz_build: FATAL: %s\n' "$*" >&2; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); }

# ---------------------------------------------------------------------------
# Toolchain. OSS-Fuzz compiles C++ against libc++ (-stdlib=libc++).
need_pkgs=()
command -v "$CLANGXX" >/dev/null || die "$CLANGXX not found (./ftfuzz setup installs clang-19)"
command -v "$CLANGCC" >/dev/null || die "$CLANGCC not found"
for tool in cmake ninja zip unzip objdump file python3 dpkg-source; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: cmake ninja-build zip unzip binutils file python3 dpkg-dev)"
done
if ! echo 'int main(){}' | "$CLANGXX" -x c++ -stdlib=libc++ - -o /dev/null 2>/dev/null; then
  ver="$("$CLANGXX" --version | sed -nE 's/.*clang version ([0-9]+).*/\1/p' | head -n 1)"
  need_pkgs+=("libc++-$ver-dev" "libc++abi-$ver-dev")
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${need_pkgs[*]} (OSS-Fuzz builds C++ with -stdlib=libc++)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" \
      || die "could not install ${need_pkgs[*]}"
  else
    die "libc++ is missing: sudo apt-get install -y ${need_pkgs[*]}"
  fi
fi

# ---------------------------------------------------------------------------
# Abseil's source, from Debian (the Dockerfile clones a release instead).
ABSEIL_SRC="$CACHE/abseil-src"

have_deb_src() {  # grep -q exits 0 on a match even when some of the files are missing
  grep -Eqs '^(deb-src |Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources
}

add_deb_src() {
  # The machine's sources name only binary archives: add their source twins.
  local f=/etc/apt/sources.list.d/ftfuzz-deb-src.sources
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$f"
  elif [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | sed -E 's/^deb /deb-src /' >/etc/apt/sources.list.d/ftfuzz-deb-src.list
  else
    die "no apt sources to derive deb-src lines from"
  fi
  say "added deb-src sources; apt-get update"
  apt-get update -qq || die "apt-get update failed"
}

fetch_abseil() {
  if [ -f "$ABSEIL_SRC/CMakeLists.txt" ] && [ -f "$ABSEIL_SRC/.ftfuzz-debian-version" ]; then
    say "Abseil source: cached ($(cat "$ABSEIL_SRC/.ftfuzz-debian-version"))"
    return
  fi
  if ! have_deb_src; then
    [ "$(id -u)" = 0 ] || die "no deb-src lines in the apt sources; add them (as root) and run apt-get update"
    add_deb_src
  fi
  local dl="$CACHE/abseil-download"
  rm -rf "$dl"
  mkdir -p "$dl"
  say "apt-get source abseil"
  (cd "$dl" && apt-get source -qq abseil >apt-source.log 2>&1) || {
    cat "$dl/apt-source.log" >&2
    # A stale package list (the deb-src file is there, the index is not yet).
    [ "$(id -u)" = 0 ] && apt-get update -qq && (cd "$dl" && apt-get source -qq abseil >apt-source.log 2>&1) ||
      die "apt-get source abseil failed"
  }
  local dir
  dir="$(find "$dl" -mindepth 1 -maxdepth 1 -type d -name 'abseil-*' | head -n 1)"
  [ -n "$dir" ] && [ -f "$dir/CMakeLists.txt" ] || die "apt-get source abseil unpacked no source tree"
  basename "$(ls "$dl"/*.dsc)" .dsc >"$dir/.ftfuzz-debian-version"
  rm -rf "$ABSEIL_SRC"
  mv "$dir" "$ABSEIL_SRC"
  rm -rf "$dl"
  say "Abseil source: $(cat "$ABSEIL_SRC/.ftfuzz-debian-version")"
}

mkdir -p "$CACHE"
fetch_abseil

# ---------------------------------------------------------------------------
# OSS-Fuzz's flags (base-clang / base-builder / compile, x86_64, libFuzzer).
OSSFUZZ_BASE_CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only \
-Wno-error=incompatible-function-pointer-types -Wno-error=int-conversion \
-Wno-error=deprecated-declarations -Wno-error=implicit-function-declaration \
-Wno-error=implicit-int -Wno-error=unknown-warning-option -Wno-error=vla-cxx-extension \
-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
UBSAN_CHECKS="array-bounds,bool,builtin,enum,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr"
UBSAN_NO_RECOVER="array-bounds,bool,builtin,enum,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
declare -A SANITIZER_FLAGS=(
  [address]="-fsanitize=address -fsanitize-address-use-after-scope"
  [undefined]="-fsanitize=$UBSAN_CHECKS -fno-sanitize-recover=$UBSAN_NO_RECOVER"
)
COVERAGE_FLAGS="-fsanitize=fuzzer-no-link"
# The one departure from OSS-Fuzz: its clang's libFuzzer runtime carries a
# private libc++, Debian's (libclang-rt-19-dev) is built against libstdc++.
# Everything we compile uses libc++ as on OSS-Fuzz; libFuzzer's own C++ needs
# libstdc++ beside it (only C symbols cross between the two). CMake reads
# LDFLAGS at first configure; build.sh itself never sees the difference.
EMULATION_LDFLAGS="-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state"  # -Wl: the driver would turn a bare -lstdc++ into -lc++
# base-runner's environment for running targets.
RUN_ASAN_OPTIONS="alloc_dealloc_mismatch=0:allocator_may_return_null=1:allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:detect_container_overflow=1:detect_odr_violation=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:quarantine_size_mb=10:strict_memcmp=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3"
RUN_UBSAN_OPTIONS="print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:symbolize=1:dedup_token_length=3"
FUZZER_ARGS="-rss_limit_mb=2560 -timeout=25"  # base-runner default

# Targets the registry declares (what must be in $OUT): the list
# fuzzers/CMakeLists.txt writes into the build tree of the last build.
TARGETS_FILE=""
registered_targets() {
  [ -f "$TARGETS_FILE" ] || die "no fuzz_targets.txt in the OSS-Fuzz build tree"
  awk '{print $1}' "$TARGETS_FILE"
}

# ---------------------------------------------------------------------------
# check_build, per target.
check_options_file() {  # file: INI, [libfuzzer] section, key = value lines
  python3 - "$1" <<'PY'
import configparser, sys
p = configparser.ConfigParser()
try:
    p.read_file(open(sys.argv[1]))
except configparser.Error as e:
    sys.exit(f"{sys.argv[1]}: not INI: {e}")
if not p.has_section("libfuzzer"):
    sys.exit(f"{sys.argv[1]}: no [libfuzzer] section")
for sec in p.sections():
    if sec not in ("libfuzzer", "asan", "msan", "ubsan"):
        sys.exit(f"{sys.argv[1]}: unknown section [{sec}]")
    for k, v in p.items(sec):
        if not k or v is None or v == "":
            sys.exit(f"{sys.argv[1]}: [{sec}] {k}: empty value")
print(" ".join(f"-{k}={v}" for k, v in p.items("libfuzzer")))
PY
}

run_env() {  # the runner's sanitizer options
  ASAN_OPTIONS="$RUN_ASAN_OPTIONS" UBSAN_OPTIONS="$RUN_UBSAN_OPTIONS" "$@"
}

check_target() {  # san out target
  local san="$1" out="$2" t="$3" f="$2/$3" log="$WORK_DIR/check-$3" n
  # Engine: what test_all.py's find_fuzz_targets counts as a target.
  [ -x "$f" ] || { fail "$san/$t: not executable"; return; }
  file "$f" 2>/dev/null | grep -q 'ELF 64-bit.*x86-64' || { fail "$san/$t: not an x86-64 ELF ($(file -b "$f"))"; return; }
  grep -q LLVMFuzzerTestOneInput "$f" || { fail "$san/$t: no LLVMFuzzerTestOneInput"; return; }
  pass
  if ! run_env "$f" -help=1 >"$log.help" 2>&1 || ! grep -q 'Usage:' "$log.help"; then
    fail "$san/$t: -help=1 is not libFuzzer's usage (log $log.help)"; return
  fi
  pass
  # Mixed sanitizers (bad_build_check's limits for libFuzzer builds).
  local asan ubsan msan
  objdump -d --no-show-raw-insn "$f" >"$log.objdump"
  asan=$(grep -Ec 'call.*<__asan' "$log.objdump" || true)
  ubsan=$(grep -Ec 'call.*<__ubsan' "$log.objdump" || true)
  msan=$(grep -Ec 'call.*<__msan' "$log.objdump" || true)
  rm -f "$log.objdump"
  case "$san" in
    address) [ "$asan" -ge 1000 ] && [ "$msan" -le 3 ] && [ "$ubsan" -le 200 ] ||
               { fail "$san/$t: mixed sanitizers (asan $asan, ubsan $ubsan, msan $msan)"; return; } ;;
    undefined) [ "$ubsan" -ge 168 ] && [ "$asan" -eq 0 ] && [ "$msan" -le 3 ] ||
               { fail "$san/$t: mixed sanitizers (asan $asan, ubsan $ubsan, msan $msan)"; return; } ;;
  esac
  pass
  # Startup (check_engine + check_startup_crash: -seed=1337 -runs=4).
  if ! (cd /tmp && run_env "$f" -seed=1337 -runs=4 $FUZZER_ARGS -artifact_prefix="$WORK_DIR/") >"$log.startup" 2>&1; then
    fail "$san/$t: -runs=4 failed (log $log.startup)"; tail -n 20 "$log.startup" >&2; return
  fi
  grep -q 'Done 4 runs' "$log.startup" || { fail "$san/$t: no 'Done 4 runs' (log $log.startup)"; return; }
  grep -q 'Is the code instrumented' "$log.startup" && { fail "$san/$t: not instrumented (log $log.startup)"; return; }
  n=$(sed -nE 's/.*INFO: Loaded [0-9]+ modules +\(([0-9]+) inline 8-bit counters\).*/\1/p' "$log.startup" | head -n 1)
  [ -n "$n" ] && [ "$n" -ge 100 ] || { fail "$san/$t: partial instrumentation (${n:-no} inline counters)"; return; }
  local counters="$n"
  pass
  # .options / .dict: present when the source has one, parseable, and taken by the binary.
  local opt_flags="" dict_flag=""
  if [ -f "fuzzers/$t.options" ]; then
    [ -f "$out/$t.options" ] || { fail "$san/$t: fuzzers/$t.options not shipped"; return; }
    opt_flags="$(check_options_file "$out/$t.options")" || { fail "$san/$t: bad .options"; return; }
    pass
  fi
  if [ -f "fuzzers/$t.dict" ]; then
    [ -f "$out/$t.dict" ] || { fail "$san/$t: fuzzers/$t.dict not shipped"; return; }
    dict_flag="-dict=$out/$t.dict"
  fi
  # Seed corpus: flat zip, non-empty, replays clean with the runner's flags.
  local zipf="$out/${t}_seed_corpus.zip" corpus="$WORK_DIR/seed-$t"
  [ -f "$zipf" ] || { fail "$san/$t: no ${t}_seed_corpus.zip"; return; }
  rm -rf "$corpus"; mkdir -p "$corpus"
  unzip -q -o "$zipf" -d "$corpus" || { fail "$san/$t: seed corpus zip does not unzip"; return; }
  [ -z "$(find "$corpus" -mindepth 1 -type d)" ] || { fail "$san/$t: seed corpus zip is not flat"; return; }
  n=$(find "$corpus" -type f | wc -l)
  [ "$n" -gt 0 ] || { fail "$san/$t: empty seed corpus"; return; }
  # shellcheck disable=SC2086
  if ! (cd /tmp && run_env "$f" -runs=0 $FUZZER_ARGS -artifact_prefix="$WORK_DIR/" $opt_flags $dict_flag "$corpus") >"$log.seeds" 2>&1; then
    fail "$san/$t: seed corpus replay failed (log $log.seeds)"; tail -n 30 "$log.seeds" >&2; return
  fi
  if [ -n "$dict_flag" ]; then
    grep -qE 'Dictionary: [1-9][0-9]* entries' "$log.seeds" ||
      { fail "$san/$t: libFuzzer did not load $t.dict (log $log.seeds)"; return; }
  fi
  # libFuzzer must have read every file (and executed them: INITED).
  grep -qE "INFO: seed corpus: files: $n " "$log.seeds" && grep -q 'INITED' "$log.seeds" ||
    { fail "$san/$t: the replay did not run all $n seeds (log $log.seeds)"; return; }
  pass
  # A finding, as ClusterFuzz will see it: the CPython race that globals_fuzzer
  # finds on `locked`, replayed with the runner's options (handle_abort=1).
  # One ftfuzz SUMMARY, and the CHECK-style line ClusterFuzz takes its crash
  # state from (docs/ossfuzz.md: How a finding looks to ClusterFuzz).
  local found=""
  if [ "$t" = globals_fuzzer ]; then
    local input="corpus/globals_fuzzer/regressions/20261122_load_global_module_popitem_entry_reuse"
    (cd /tmp && run_env "$f" -artifact_prefix="$WORK_DIR/" "$ROOT/$input") >"$log.finding" 2>&1 &&
      { fail "$san/$t: $input ran clean (log $log.finding)"; return; }
    [ "$(grep -c '^SUMMARY: ftfuzz: ' "$log.finding")" -eq 1 ] && grep -q '^SUMMARY: ftfuzz: WRONG_VALUE ' "$log.finding" ||
      { fail "$san/$t: expected one 'SUMMARY: ftfuzz: WRONG_VALUE' (log $log.finding)"; return; }
    grep -qE '^\[ftfuzz:FATAL:[a-z_]+\.cc\([0-9]+\)\] Check failed: WRONG_VALUE ' "$log.finding" ||
      { fail "$san/$t: no ClusterFuzz crash-state line (log $log.finding)"; return; }
    found=", a finding reported once"
    pass
  fi
  say "  $t: ok (engine, sanitizers asan=$asan ubsan=$ubsan, $counters inline counters, $n seeds clean${dict_flag:+, dict}$found)"
}

# ---------------------------------------------------------------------------
# The emulated build, per sanitizer.
build_and_check() {
  local san="$1" base="$ROOT/build/ossfuzz-$san"
  export SRC="$base/src" WORK="$base/work" OUT="$base/out"
  WORK_DIR="$base/check"
  mkdir -p "$SRC" "$WORK" "$WORK_DIR"
  rm -rf "$OUT"; mkdir -p "$OUT"   # only what this build puts there may pass
  # The Dockerfile's layout: Abseil under $SRC and build.sh copied to $SRC; the
  # checkout is this tree itself (a symlink $SRC/ftfuzz would make CMake see
  # the build directory through two paths).
  ln -sfn "$ABSEIL_SRC" "$SRC/abseil-cpp"
  cp oss-fuzz/build.sh "$SRC/build.sh"
  local cflags="$OSSFUZZ_BASE_CFLAGS ${SANITIZER_FLAGS[$san]} $COVERAGE_FLAGS"
  local cxxflags="$cflags -stdlib=libc++"
  [ "$san" = undefined ] && cflags="$cflags -fno-sanitize=function"  # C only (oss-fuzz #11778)
  say "building SANITIZER=$san (log build/ossfuzz-$san/build.log)"
  local t0=$(date +%s)
  if ! (cd "$ROOT" &&
        env CC="$CLANGCC" CXX="$CLANGXX" CCC="$CLANGXX" CFLAGS="$cflags" CXXFLAGS="$cxxflags" \
            SANITIZER="$san" FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c++ \
            PROJECT_NAME=ftfuzz LIB_FUZZING_ENGINE=-fsanitize=fuzzer JOBS="$JOBS" \
            LDFLAGS="$EMULATION_LDFLAGS" ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=silence_unsigned_overflow=1 \
            bash -eux "$SRC/build.sh") >"$base/build.log" 2>&1; then
    tail -n 40 "$base/build.log" >&2
    die "SANITIZER=$san: build.sh failed (log build/ossfuzz-$san/build.log)"
  fi
  say "built SANITIZER=$san in $(( $(date +%s) - t0 ))s"
  TARGETS_FILE="$WORK/ftfuzz-build/fuzz_targets.txt"
  # Catch hard-coded paths the way test_all.py does: check a moved copy.
  local moved="$base/not-out"
  rm -rf "$moved"; cp -a "$OUT" "$moved"
  local t registered=0 found
  found="$(cd "$moved" && for x in *; do [ -f "$x" ] && [ -x "$x" ] && grep -q LLVMFuzzerTestOneInput "$x" && echo "$x"; done || true)"
  for t in $(registered_targets); do
    registered=$((registered + 1))
    grep -qx "$t" <<<"$found" || { fail "$san: registered target $t is not in \$OUT"; continue; }
    check_target "$san" "$moved" "$t"
  done
  [ "$registered" -gt 0 ] || die "no fuzz target registered in fuzzers/CMakeLists.txt"
  [ "$(grep -c . <<<"$found")" -eq "$registered" ] ||
    fail "$san: \$OUT has targets the registry does not list: $(tr '\n' ' ' <<<"$found")"
  rm -rf "$moved"
}

for san in $SANITIZERS; do
  [ -n "${SANITIZER_FLAGS[$san]:-}" ] || die "unknown sanitizer '$san'"
  build_and_check "$san"
done

# ---------------------------------------------------------------------------
# ClusterFuzzLite files agree with the OSS-Fuzz ones.
say "checking .clusterfuzzlite/ and .github/workflows/ against oss-fuzz/"
YAML_PY=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import yaml' 2>/dev/null; then YAML_PY="$py"; break; fi
done
[ -n "$YAML_PY" ] || die "no python3 with PyYAML (Debian: python3-yaml)"
if "$YAML_PY" - "$ROOT" $(registered_targets) <<'PY'; then pass; else fail "ClusterFuzzLite consistency"; fi
import glob, os, re, sys
import yaml

root, targets = sys.argv[1], sys.argv[2:]
errors = []
def err(msg): errors.append(msg)
def read(rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()

oss = yaml.safe_load(read("oss-fuzz/project.yaml"))
cfl = yaml.safe_load(read(".clusterfuzzlite/project.yaml"))
oss_sans = [s if isinstance(s, str) else next(iter(s)) for s in oss.get("sanitizers", [])]
if oss.get("language") != "c++": err("oss-fuzz/project.yaml: language must be c++")
if cfl.get("language") != oss.get("language"): err(".clusterfuzzlite/project.yaml: language differs from oss-fuzz/")
if sorted(oss_sans) != ["address", "undefined"]: err(f"oss-fuzz/project.yaml: sanitizers {oss_sans}, want address+undefined")
if oss.get("fuzzing_engines") != ["libfuzzer"]: err("oss-fuzz/project.yaml: fuzzing_engines must be [libfuzzer]")
for key in ("homepage", "main_repo", "primary_contact"):
    if not oss.get(key): err(f"oss-fuzz/project.yaml: no {key}")

def dockerfile(rel):
    text = re.sub(r"\\\n", " ", read(rel))
    return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
def absl_clone(lines, rel):
    m = [re.search(r"--branch (\S+) https://github.com/abseil/abseil-cpp(?:\.git)? (\S+)", l) for l in lines]
    m = [x for x in m if x]
    if len(m) != 1: err(f"{rel}: must clone abseil-cpp at a fixed --branch exactly once"); return None
    return m[0].group(1), m[0].group(2)
def apt_pkgs(lines):
    pk = set()
    for l in lines:
        for part in l.split("&&"):
            if "apt-get install" in part:
                pk |= {w for w in part.split("apt-get install", 1)[1].split() if not w.startswith("-")}
    return pk

od, cd = dockerfile("oss-fuzz/Dockerfile"), dockerfile(".clusterfuzzlite/Dockerfile")
if not od[0].startswith("FROM gcr.io/oss-fuzz-base/base-builder"): err("oss-fuzz/Dockerfile: not FROM base-builder")
if not cd[0].startswith("FROM gcr.io/oss-fuzz-base/base-builder"): err(".clusterfuzzlite/Dockerfile: not FROM base-builder")
if oss.get("base_os_version") == "ubuntu-24-04" and not od[0].endswith(":ubuntu-24-04"):
    err("oss-fuzz/Dockerfile: base_os_version ubuntu-24-04 needs base-builder:ubuntu-24-04")
oa, ca = absl_clone(od, "oss-fuzz/Dockerfile"), absl_clone(cd, ".clusterfuzzlite/Dockerfile")
if oa and ca:
    if oa[0] != ca[0]: err(f"Abseil release differs: oss-fuzz {oa[0]}, clusterfuzzlite {ca[0]}")
    if oa[1] not in ("abseil-cpp", "$SRC/abseil-cpp"): err("oss-fuzz/Dockerfile: Abseil must land in $SRC/abseil-cpp (build.sh's default)")
    if ca[1] != "$SRC/abseil-cpp": err(".clusterfuzzlite/Dockerfile: Abseil must land in $SRC/abseil-cpp")
for pkg in ("libboost-context-dev", "zip"):
    if pkg not in apt_pkgs(od): err(f"oss-fuzz/Dockerfile: does not install {pkg}")
    if pkg not in apt_pkgs(cd): err(f".clusterfuzzlite/Dockerfile: does not install {pkg}")
repo = oss.get("main_repo", "").rstrip("/")
if not any(l.startswith("RUN git clone") and re.search(re.escape(repo) + r"(\.git)? ftfuzz$", l) for l in od):
    err("oss-fuzz/Dockerfile: does not clone main_repo into ftfuzz")
if "WORKDIR ftfuzz" not in od and "WORKDIR $SRC/ftfuzz" not in od: err("oss-fuzz/Dockerfile: WORKDIR is not the checkout")
if "COPY build.sh $SRC/" not in od: err("oss-fuzz/Dockerfile: does not COPY build.sh $SRC/")
for want in ("COPY . $SRC/ftfuzz", "WORKDIR $SRC/ftfuzz", "COPY .clusterfuzzlite/build.sh $SRC/"):
    if want not in cd: err(f".clusterfuzzlite/Dockerfile: missing '{want}'")
cb = [l for l in read(".clusterfuzzlite/build.sh").splitlines() if l.strip() and not l.startswith("#")]
if cb != ["exec bash -eux oss-fuzz/build.sh"] and read(".clusterfuzzlite/build.sh") != read("oss-fuzz/build.sh"):
    err(".clusterfuzzlite/build.sh must run oss-fuzz/build.sh (the same build)")

# Workflows.
modes = {}
storage = set()
allowed = set(oss_sans) | {"coverage"}
for wf in sorted(glob.glob(os.path.join(root, ".github/workflows/*.yml"))):
    name = os.path.relpath(wf, root)
    doc = yaml.safe_load(open(wf))
    triggers = doc.get(True, doc.get("on")) or {}
    if isinstance(triggers, str): triggers = {triggers: None}
    for jname, job in (doc.get("jobs") or {}).items():
        matrix = ((job.get("strategy") or {}).get("matrix") or {}).get("sanitizer")
        steps = job.get("steps") or []
        build = [s for s in steps if "clusterfuzzlite/actions/build_fuzzers" in str(s.get("uses", ""))]
        run = [s for s in steps if "clusterfuzzlite/actions/run_fuzzers" in str(s.get("uses", ""))]
        if not build: continue
        where = f"{name}:{jname}"
        for s in build + run:
            if not str(s["uses"]).endswith("@v1"): err(f"{where}: {s['uses']} is not pinned to @v1")
        def sans(step):
            v = str((step.get("with") or {}).get("sanitizer", "address"))
            if "matrix.sanitizer" in v:
                if not matrix: err(f"{where}: uses matrix.sanitizer without a matrix"); return []
                return list(matrix)
            return [v]
        bw = build[0].get("with") or {}
        if bw.get("language") != "c++": err(f"{where}: build_fuzzers language is not c++")
        bs = sans(build[0])
        for sn in bs:
            if sn not in allowed: err(f"{where}: sanitizer {sn} is not in oss-fuzz/project.yaml ({sorted(allowed)})")
        if not run: continue
        rw = run[0].get("with") or {}
        rs = sans(run[0])
        if rs != bs: err(f"{where}: run sanitizer {rs} differs from build sanitizer {bs}")
        mode = rw.get("mode", "code-change")
        modes.setdefault(mode, []).append((name, set(triggers), bs))
        if mode == "coverage" and bs != ["coverage"]: err(f"{where}: coverage mode needs sanitizer coverage")
        if mode != "coverage" and "coverage" in bs: err(f"{where}: sanitizer coverage outside coverage mode")
        if "fuzz-seconds" not in rw: err(f"{where}: no fuzz-seconds")
        # One filestore for all: every step has the same storage-repo (or none:
        # GitHub Actions artifacts).
        storage.add(str(bw.get("storage-repo", "")))
        storage.add(str(rw.get("storage-repo", "")))
def need(mode, trigger, sans=None):
    got = modes.get(mode, [])
    if not any(trigger in t for _, t, _ in got): err(f"no '{mode}' workflow triggered by {trigger}"); return
    if sans is not None:
        have = set().union(*[set(s) for _, t, s in got if trigger in t])
        if have != set(sans): err(f"'{mode}' workflows fuzz with {sorted(have)}, project.yaml lists {sorted(sans)}")
need("code-change", "pull_request", oss_sans)
need("batch", "schedule", oss_sans)
need("prune", "schedule")
need("coverage", "schedule")
if len(storage) > 1: err(f"workflows disagree on storage-repo: {sorted(storage)}")

# Docs name every target OSS-Fuzz gets.
doc = read("docs/ossfuzz.md") if os.path.exists(os.path.join(root, "docs/ossfuzz.md")) else ""
for t in targets:
    if t not in doc: err(f"docs/ossfuzz.md does not mention {t}")
if not targets: err("no registered fuzz target")

for e in errors: print("  cflite: " + e)
print(f"  cflite: {len(modes)} modes ({', '.join(sorted(modes))}), {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
PY

elapsed=$(( $(date +%s) - START ))
[ "$CHECKS" -gt 0 ] || die "no check ran"
if [ "$FAILURES" -gt 0 ]; then
  say "$FAILURES failure(s), $CHECKS checks passed, ${elapsed}s"
  exit 1
fi
say "all $CHECKS checks passed for sanitizers: $SANITIZERS (${elapsed}s)"
