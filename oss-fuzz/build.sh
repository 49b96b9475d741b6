#!/bin/bash -eu
# oss-fuzz/build.sh - builds ftfuzz's fuzz targets the OSS-Fuzz way.
#
# The same file is projects/ftfuzz/build.sh in google/oss-fuzz and (through
# .clusterfuzzlite/build.sh) ClusterFuzzLite's build script. OSS-Fuzz's
# `compile` runs it as `bash -eux $SRC/build.sh` from the checkout ($SRC/ftfuzz)
# with CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, SANITIZER, SRC, WORK and
# OUT set. Everything that ends up in a fuzz target is compiled here with those
# flags: the project, and Abseil from source (the bots have no system Abseil,
# and an uninstrumented one would hide bugs). The only prebuilt code linked is
# Boost.Context's fcontext, statically: three assembly functions
# (make/jump/ontop_fcontext) that no sanitizer instruments either way.
#
# Output in $OUT, for every target registered in fuzzers/CMakeLists.txt:
#   <target>                  the fuzz target (links $LIB_FUZZING_ENGINE)
#   <target>_seed_corpus.zip  corpus/<target>/{seeds,regressions,merged}, flat
#   <target>.dict, <target>.options   copied from fuzzers/ when present
#
# Knobs (defaults are OSS-Fuzz's layout): FTF_ABSEIL_SRC (Abseil's source tree,
# default $SRC/abseil-cpp), JOBS (parallel compile jobs, default nproc).

ABSEIL_SRC="${FTF_ABSEIL_SRC:-$SRC/abseil-cpp}"
BUILD_DIR="$WORK/ftfuzz-build"
JOBS="${JOBS:-$(nproc)}"

if [ ! -f "$ABSEIL_SRC/CMakeLists.txt" ]; then
  echo "build.sh: no Abseil source at $ABSEIL_SRC (the Dockerfile clones it there)" >&2
  exit 1
fi
if [ ! -f fuzzers/CMakeLists.txt ]; then
  echo "build.sh: run me from the ftfuzz checkout (cwd is $(pwd))" >&2
  exit 1
fi

GENERATOR="Unix Makefiles"
command -v ninja >/dev/null 2>&1 && GENERATOR=Ninja

# CMAKE_BUILD_TYPE is empty on purpose: -O1 and the debug-info level come from
# CFLAGS/CXXFLAGS only. NDEBUG stays undefined, so assertions are checked.
cmake -S . -B "$BUILD_DIR" -G "$GENERATOR" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DFTF_OSSFUZZ=ON \
  -DFTF_OSSFUZZ_SANITIZER="${SANITIZER:-none}" \
  -DFTF_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DFTF_ABSL_SOURCE_DIR="$ABSEIL_SRC" \
  -DFTF_BUILD_TESTS=OFF -DFTF_BUILD_BENCHMARKS=OFF \
  -DBoost_USE_STATIC_LIBS=ON
cmake --build "$BUILD_DIR" --target ftf_fuzzers -j "$JOBS"

# fuzz_targets.txt: `NAME KIND` per target, written by fuzzers/CMakeLists.txt.
TARGETS=$(awk '{print $1}' "$BUILD_DIR/fuzz_targets.txt")
if [ -z "$TARGETS" ]; then
  echo "build.sh: fuzzers/CMakeLists.txt registered no fuzz target" >&2
  exit 1
fi

for target in $TARGETS; do
  cp "$BUILD_DIR/fuzzers/$target" "$OUT/$target"

  # Seed corpus: seeds and merged, plus the regressions that are clean on
  # `locked` (the variant the targets run). A regression reproduces a finding,
  # often only on a mutant variant, but some are real findings on `locked`
  # itself, and one crashing seed stops libFuzzer before it fuzzes at all. So a
  # regression goes in only when its text twin says `# expect: locked clean`.
  # Files are prefixed with their directory so names cannot collide in the
  # flat zip.
  stage="$WORK/seeds/$target"
  rm -rf "$stage"
  mkdir -p "$stage"
  for dir in seeds regressions merged; do
    [ -d "corpus/$target/$dir" ] || continue
    find "corpus/$target/$dir" -maxdepth 1 -type f -print0 |
      while IFS= read -r -d '' f; do
        name="$(basename "$f")"
        if [ "$dir" = regressions ] &&
           ! grep -qE '^# expect: locked clean *$' "corpus/text/$target/regressions/$name.txt" 2>/dev/null; then
          echo "build.sh: $target: regression $name is not clean on locked: not a seed"
          continue
        fi
        cp "$f" "$stage/${dir}_$name"
      done
  done
  rm -f "$OUT/${target}_seed_corpus.zip"
  if [ -n "$(ls -A "$stage")" ]; then
    (cd "$stage" && zip -q -j "$OUT/${target}_seed_corpus.zip" ./*)
  fi

  if [ -f "fuzzers/$target.dict" ]; then cp "fuzzers/$target.dict" "$OUT/$target.dict"; fi
  if [ -f "fuzzers/$target.options" ]; then cp "fuzzers/$target.options" "$OUT/$target.options"; fi
done
