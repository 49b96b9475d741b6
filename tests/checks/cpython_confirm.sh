#!/usr/bin/env bash
# cpython_confirm.sh - the model's finding on `locked` is real on CPython:
# `./ftfuzz confirm` of the popitem entry-reuse regression (generic lookup)
# must say "confirmed: wrong value" on the real free-threaded CPython 3.13.5
# within 120 s, while the model stays clean on the fixed variant
# (locked_popitem_fixed) and the same amplified program finds nothing on the
# GIL build (python3), where the race cannot happen. Also: every CPython patch
# applies to the source, and bad input is an error (exit 2). Run by
# `./ftfuzz test` (exit 0 = pass).
#
# Cost: the non-TSan interpreter is built once per machine (cached in
# ~/.cache/ftfuzz/cpython/, about 10 min on 2 cores), reused after; the
# confirm run stops at its first observation (seconds when the race shows).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "cpython_confirm: FAIL: $*"; exit 1; }

REG=corpus/globals_fuzzer/regressions/20261122_load_global_generic_popitem_entry_reuse
start=$(date +%s)
bash tools/cpython/cpython.sh build >/dev/null
echo "cpython_confirm: interpreter ready after $(( $(date +%s) - start )) s"
bash tools/cpython/cpython.sh check-patches || fail "a patch does not apply"

# The model: the finding on locked, none on the fix.
# (repro exits 1 on a finding: keep its output, judge it by the text.)
model_locked="$(./ftfuzz repro "$REG" --sanitizer=gcc --variant=locked 2>&1 || true)"
model_fixed="$(./ftfuzz repro "$REG" --sanitizer=gcc --variant=locked_popitem_fixed 2>&1 || true)"
grep -q 'SUMMARY: ftfuzz: WRONG_VALUE' <<<"$model_locked" || fail "the model no longer finds the race on locked"
grep -q '^no finding' <<<"$model_fixed" || fail "locked_popitem_fixed is not clean in the model"

# The translation: every text program of the corpus becomes a Python program
# that compiles, and together they use every operation of the format.
python3 - <<'PY' || fail "the translation of the corpus programs"
import glob, sys
sys.path.insert(0, "tools/cpython")
import confirm_gen
runtime = open("tools/cpython/confirm_runtime.py").read()
kinds = set()
files = glob.glob("corpus/text/**/*.txt", recursive=True)
for f in files:
    text = open(f).read()
    for ops in confirm_gen.parse(text).threads.values():
        kinds.update(k for k, _, _ in ops)
    compile(confirm_gen.generate(text, runtime, 1, "/dev/null", 4, 2e-5), f, "exec")
missing = {k for k, _ in confirm_gen._OPS} - kinds
print("cpython_confirm: %d corpus programs translated; operations not in the corpus: %s"
      % (len(files), sorted(missing) or "none"))
PY

# Real CPython 3.13.5t: confirmed.
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
set +e
./ftfuzz confirm "$REG" --time=120 --stop-after=1 --keep="$out/ft" >"$out/ft.txt" 2>&1
rc=$?
set -e
cat "$out/ft.txt"
[ "$rc" = 1 ] || fail "confirm exited $rc (1 = confirmed)"
grep -q '^confirmed: wrong value: r0 = g7 returned the value written to globals\[b2\]' "$out/ft.txt" \
  || fail "no 'confirmed: wrong value' verdict"

# The control: the same program on the GIL build never sees the wrong value.
set +e
python3 tools/cpython/confirm.py "$REG" --python python3 --ftf build/gcc/tools/ftf --time=10 --keep="$out/gil" >"$out/gil.txt" 2>&1
rc=$?
set -e
cat "$out/gil.txt"
[ "$rc" = 0 ] && grep -q '^not confirmed' "$out/gil.txt" || fail "the GIL build confirmed it (exit $rc): a false report"

# Errors: exit 2 with one line.
set +e
./ftfuzz confirm "$out/does-not-exist" >/dev/null 2>&1; rc1=$?
./ftfuzz confirm "$REG" --variant=no_such_variant >/dev/null 2>&1; rc2=$?
./ftfuzz confirm "$REG" --variant=locked_popitem_fixed >/dev/null 2>&1; rc3=$?
printf 'not a program\n' >"$out/bad.txt"
./ftfuzz confirm "$out/bad.txt" >/dev/null 2>&1; rc4=$?
./ftfuzz cpython --variant=locked_popitem_fixed >/dev/null 2>&1; rc5=$?
set -e
[ "$rc1$rc2$rc3$rc4$rc5" = 22222 ] || fail "bad input must exit 2 (got $rc1 $rc2 $rc3 $rc4 $rc5)"
echo "cpython_confirm: passed in $(( $(date +%s) - start )) s"
