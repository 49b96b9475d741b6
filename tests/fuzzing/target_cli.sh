#!/usr/bin/env bash
# target_cli.sh - what a fuzz target does with its flags and environment
# (src/runner/fuzz_entry.h), checked on the real binaries:
#   - an unknown --variant or FTF_VARIANT exits 2 and lists the variants;
#   - the ablation switches: a bad value exits 2; FTF_INTERLEAVING_COVERAGE=0
#     and FTF_SCHEDULE=direct each print their line and change what libFuzzer
#     sees on the seed corpus (fewer features without the interleaving
#     counters; other features when PCT seeds run as direct schedules), and
#     the defaults ("1", "input") are the same as unset;
#   - the structure-aware mutator is linked in (libFuzzer announces
#     LLVMFuzzerCustomMutator), FTF_CUSTOM_MUTATOR=0 prints its line and
#     still fuzzes (the byte mutator alone, with libFuzzer's -len_control
#     back), a bad value exits 2; given -dict=, it announces how many
#     operation records it draws new operations from.
#
#   target_cli.sh FUZZERS_DIR SOURCE_DIR
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 FUZZERS_DIR SOURCE_DIR" >&2; exit 1; }
bindir="$1" src="$2"
fuzzer="$bindir/slots_fuzzer"
corpus="$src/corpus/slots_fuzzer/seeds"
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

expect_usage_error() {  # description, needle, command...
  local what="$1" needle="$2"
  shift 2
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  [ "$rc" -eq 2 ] || fail "$what: exit $rc, expected 2"
  grep -qF -- "$needle" <<<"$out" || fail "$what: no '$needle' in: $(head -c 400 <<<"$out")"
}

expect_usage_error "--variant=no_such" "unknown variant 'no_such'" "$fuzzer" --variant=no_such -runs=0
expect_usage_error "FTF_VARIANT=no_such" "lockfree_slots_fixed" env FTF_VARIANT=no_such "$fuzzer" -runs=0
expect_usage_error "FTF_SCHEDULE=pct" "FTF_SCHEDULE must be" env FTF_SCHEDULE=pct "$fuzzer" -runs=0
expect_usage_error "FTF_INTERLEAVING_COVERAGE=off" "FTF_INTERLEAVING_COVERAGE must be" \
  env FTF_INTERLEAVING_COVERAGE=off "$fuzzer" -runs=0
expect_usage_error "FTF_CUSTOM_MUTATOR=yes" "FTF_CUSTOM_MUTATOR must be" env FTF_CUSTOM_MUTATOR=yes "$fuzzer" -runs=0

# libFuzzer's feature count after loading the seed corpus, with -seed fixed
# and address-space randomization off: a few edges of the harness's own
# hash tables (keyed by address) differ with the heap's layout, so two
# processes of the same binary can count a few more or fewer features
# (seen under ASan: 4243 and 4286 on the same corpus), while the model's
# traces do not depend on addresses.
features() {  # env assignments...
  local out
  out="$(env "$@" setarch "$(uname -m)" -R "$fuzzer" -seed=1 -runs=0 "$corpus" 2>&1)"
  grep -oE 'INITED cov: [0-9]+ ft: [0-9]+' <<<"$out" | awk '{print $5}'
}
banner() {  # env assignments...
  env "$@" "$fuzzer" -seed=1 -runs=0 "$corpus" 2>&1 | grep -E '^ftfuzz: FTF_' || true
}

base="$(features FTF_VARIANT=locked)"
[ -n "$base" ] || fail "no INITED line on the seed corpus"
defaults="$(features FTF_INTERLEAVING_COVERAGE=1 FTF_SCHEDULE=input)"
[ "$defaults" = "$base" ] || fail "the explicit defaults give $defaults features, unset gives $base"
[ -z "$(banner FTF_VARIANT=locked)" ] || fail "a banner line with no switch set"

no_cov="$(features FTF_INTERLEAVING_COVERAGE=0)"
grep -q "code coverage only" <<<"$(banner FTF_INTERLEAVING_COVERAGE=0)" || fail "no line for FTF_INTERLEAVING_COVERAGE=0"
[ -n "$no_cov" ] && [ "$no_cov" -lt "$base" ] ||
  fail "FTF_INTERLEAVING_COVERAGE=0: $no_cov features, expected fewer than $base"

grep -q "^schedule pct" "$src"/corpus/text/slots_fuzzer/seeds/*.txt ||
  fail "no PCT seed in corpus/text/slots_fuzzer/seeds: FTF_SCHEDULE=direct would change nothing"
direct="$(features FTF_SCHEDULE=direct)"
grep -q "no PCT" <<<"$(banner FTF_SCHEDULE=direct)" || fail "no line for FTF_SCHEDULE=direct"
[ -n "$direct" ] && [ "$direct" != "$base" ] ||
  fail "FTF_SCHEDULE=direct: $direct features, the same as with PCT ($base)"

out="$("$fuzzer" -seed=1 -runs=0 "$corpus" 2>&1)"
grep -q "found LLVMFuzzerCustomMutator" <<<"$out" || fail "the custom mutator is not linked into $fuzzer"
grep -q "byte mutator only" <<<"$(banner FTF_CUSTOM_MUTATOR=0)" || fail "no line for FTF_CUSTOM_MUTATOR=0"
[ -z "$(banner FTF_CUSTOM_MUTATOR=1)" ] || fail "a banner line with FTF_CUSTOM_MUTATOR=1 (the default)"
# Its vocabulary: the operation records of the -dict file, announced with
# their number; with the mutator off nothing reads them.
dict="$src/fuzzers/slots_fuzzer.dict"
voc="$("$fuzzer" -seed=1 -runs=0 -dict="$dict" "$corpus" 2>&1 | grep -oE 'from the [0-9]+ operation records' | grep -oE '[0-9]+')"
[ -n "$voc" ] && [ "$voc" -gt 0 ] || fail "-dict=$dict: no line naming the mutator's operation records"
[ -z "$(env FTF_CUSTOM_MUTATOR=0 "$fuzzer" -seed=1 -runs=0 -dict="$dict" "$corpus" 2>&1 | grep 'operation records')" ] ||
  fail "FTF_CUSTOM_MUTATOR=0 still reads the dictionary's operation records"
# A short run from an empty corpus mutates with each setting and stays clean.
empty="$(mktemp -d)"
for v in 1 0; do
  out="$(env FTF_CUSTOM_MUTATOR=$v "$fuzzer" -seed=1 -runs=300 -reload=0 "$empty" 2>&1)"
  rc=$?
  [ "$rc" -eq 0 ] || fail "FTF_CUSTOM_MUTATOR=$v: 300 runs from an empty corpus exit $rc: $(tail -c 400 <<<"$out")"
  # libFuzzer's -len_control: off with the mutator (inputs up to 4096 bytes
  # at once), back at its default without it (inputs grow from 4 bytes).
  lim="$(grep -oE 'lim: [0-9]+' <<<"$out" | head -1)"
  if [ "$v" = 1 ]; then want="lim: 4096"; else want="lim: 4"; fi
  [ "$lim" = "$want" ] || fail "FTF_CUSTOM_MUTATOR=$v: first length limit '$lim', expected '$want'"
  rm -rf "${empty:?}"/*
done
rm -rf "$empty"

echo "features on the seed corpus: default $base, no interleaving coverage ${no_cov:-?}, direct only ${direct:-?}"
[ "$failed" -eq 0 ] && echo "PASS" && exit 0
exit 1
