#!/usr/bin/env bash
# find_mutant.sh - bounded libFuzzer campaigns of a real fuzz target, as a test.
#
#   find_mutant.sh FUZZER FTF SOURCE_DIR TARGET VARIANT SANITIZER MODE RUNS
#
# MODE seeds:   fuzz from corpus/TARGET/seeds as it is;
# MODE derived: fuzz from the seeds minus every seed that already produces a
#               finding on VARIANT, so the fuzzer itself has to build the
#               interleaving from programs that are clean;
# MODE clean:   a bounded campaign that must end with no finding (locked and
#               the fixed variants).
# For a mutant the run must stop with the kind `ftf variants` expects for this
# sanitizer (EXPECTS without TSan, UNDER TSAN with it), the crash file must
# exist, and replaying it must give the same SUMMARY line and signature
# (read with `ftf classify`).
# The run is the same every time: libFuzzer's -seed is fixed, schedules run on
# fibers, and -reload=0 turns off libFuzzer's once-a-second re-read of the
# corpus directory (it runs the seeds that did not enter the corpus again, at
# wall-clock times, which changed the search from one run to the next: the
# same test found a mutant after 18k executions once and not in 200k another).
# Exit 0 pass, 1 fail, 125 skipped (a TSan-only finding in a build without TSan).
set -uo pipefail

[ $# -eq 8 ] || { echo "usage: $0 FUZZER FTF SOURCE_DIR TARGET VARIANT SANITIZER MODE RUNS" >&2; exit 1; }
fuzzer="$1" ftf="$2" src="$3" target="$4" variant="$5" san="$6" mode="$7" runs="$8"

fail() { echo "FAIL: $*"; exit 1; }
# One field of the last finding in a log (`ftf classify`: kind, summary,
# signature, cause); empty when the log has none.
finding() { "$ftf" classify "$1" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2>/dev/null; }

expected=clean
if [ "$mode" != clean ]; then
  row="$("$ftf" variants | awk -v v="$variant" '$1 == v')"
  [ -n "$row" ] || fail "ftf variants does not list '$variant'"
  if [ "$san" = tsan ]; then expected="$(awk '{print $3}' <<<"$row")"; else expected="$(awk '{print $2}' <<<"$row")"; fi
  if [ "$san" != tsan ] && [ "$expected" = DATA_RACE ]; then
    echo "SKIP: $variant is found only by ThreadSanitizer (DATA_RACE); nothing else can see it under $san"
    exit 125
  fi
fi

work="$(mktemp -d)"
[ -n "${FTF_KEEP_WORK:-}" ] && echo "work: $work" || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/crash"
removed=0
for f in "$src/corpus/$target/seeds"/*; do
  if [ "$mode" = derived ] && ! "$fuzzer" --variant="$variant" "$f" >/dev/null 2>&1; then
    removed=$((removed + 1))
    continue
  fi
  cp "$f" "$work/corpus/"
done
kept="$(ls "$work/corpus" | wc -l)"
[ "$kept" -gt 0 ] || fail "no seed left in corpus/$target/seeds for mode $mode"
echo "corpus: $kept seeds ($removed removed: they find $variant directly)"

dict=""
[ -f "$src/fuzzers/$target.dict" ] && dict="-dict=$src/fuzzers/$target.dict"
# One campaign: libFuzzer from a fresh copy of the kept seeds, -seed=$1.
# -max_total_time is only a guard against a hung machine (ctest's timeout is
# 600 s); RUNS is the budget that decides the outcome.
campaign() {
  rm -rf "$work/run" "$work/crash" && mkdir -p "$work/run" "$work/crash" && cp "$work/corpus"/* "$work/run/"
  "$fuzzer" --variant="$variant" -seed="$1" -reload=0 -runs="$runs" -max_total_time=500 -timeout=25 \
    -artifact_prefix="$work/crash/" -print_final_stats=1 $dict "$work/run" >"$work/log" 2>&1
}
# A mutant gets up to five campaigns (-seed 1 to 5), stopping at the first
# that ends with a finding of the expected kind whose crash file reproduces
# it in a fresh process: each campaign is deterministic, but any change to
# the code moves libFuzzer's search, and the time to find has a long tail
# (./ftfuzz bench measures its median and spread over seeds); a campaign
# with a given binary and -seed is the same in every process
# (fuzzing.campaign_determinism). A finding of the wrong kind fails at once.
# Every finding must reproduce from its crash file as the first input of a
# fresh process, DATA_RACE included: the executor runs every input from the
# same sanitizer state, the first run of a process too (FirstRun test).
# A clean campaign must run its budget with no finding, on the variant with
# the fixes of the bugs CPython has as it is (findings/known.json) applied:
# it checks the variant's own code, and a known CPython bug (found within
# seconds on any variant built on `locked`) would stop it before that.
seeds="1 2 3 4 5"
if [ "$mode" = clean ]; then
  export FTF_KNOWN_FIXED=1
  campaign 1
  rc=$?
  summary="$(finding "$work/log" summary)"
  if [ "$rc" -ne 0 ]; then
    tail -n 80 "$work/log"
    fail "$variant under $san: expected a clean run of $runs executions, got exit $rc: ${summary:-no ftfuzz SUMMARY}"
  fi
  grep -q 'FTF_KNOWN_FIXED=1' "$work/log" || fail "the fuzz target did not announce FTF_KNOWN_FIXED=1"
  echo "PASS: $variant (with the known CPython fixes) clean under $san for $(grep -E 'stat::number_of_executed_units' "$work/log" | awk '{print $2}') executions"
  exit 0
fi

baseline=""
for seed in $seeds; do
  campaign "$seed"
  if [ $? -eq 0 ]; then
    echo "no finding with -seed=$seed in $runs executions"
    continue
  fi
  summary="$(finding "$work/log" summary)"
  signature="$(finding "$work/log" signature)"
  kind="$(finding "$work/log" kind)"
  execs="$(grep -oE '^#[0-9]+' "$work/log" | tail -n 1)"
  crash="$(ls "$work/crash"/* 2>/dev/null | head -n 1)"
  [ -n "$crash" ] || fail "libFuzzer wrote no crash file"
  # Every mutant changes CPython as it is (`locked`), which has a bug of its
  # own (the popitem entry reuse, findings/). A finding that replays on
  # `locked` too is that bug, not the mutant's: it does not count, whatever
  # its kind, and the next campaign runs.
  "$fuzzer" --variant=locked "$crash" >"$work/on_locked" 2>&1
  if [ $? -ne 0 ]; then
    echo "NOTE: -seed=$seed: '$summary' (signature ${signature:-none}) replays on locked as" \
         "'$(finding "$work/on_locked" summary)': a bug CPython already has, not $variant's"
    baseline="$baseline $seed"
    continue
  fi
  # EXPECTS may list the other kinds one bug shows as: KIND|KIND2|...
  if ! tr '|' '\n' <<<"$expected" | grep -qxF "${kind:-none}"; then
    tail -n 80 "$work/log"
    fail "$variant under $san: found '${kind:-nothing}' (${summary:-no ftfuzz SUMMARY}), expected $expected"
  fi
  "$fuzzer" --variant="$variant" "$crash" >"$work/replay" 2>&1
  again="$(finding "$work/replay" summary)"
  again_signature="$(finding "$work/replay" signature)"
  # TSan names a race by the access that noticed it, which can depend on
  # what the fuzzing process ran before (README, Known gaps): a replay that
  # reports the same root cause (signature) elsewhere is the same race.
  if [ "$kind" = DATA_RACE ] && [ -n "$signature" ] && [ "$again_signature" = "$signature" ]; then
    again="$summary"
  fi
  if [ "$again" != "$summary" ]; then
    tail -n 80 "$work/replay"
    echo "input (base64): $(base64 -w0 "$crash")"
    fail "the crash file does not reproduce: first '$summary' after ${execs:-#?} executions with -seed=$seed, replay '${again:-no finding}'"
  fi
  [ "$again_signature" = "$signature" ] ||
    fail "the crash file reproduces another root cause: first signature '$signature', replay '${again_signature:-none}'"
  echo "PASS: $variant under $san ($mode): $summary (signature $signature) after ${execs:-#?} executions with -seed=$seed; the crash file reproduces it"
  exit 0
done
if [ -n "$baseline" ]; then
  fail "$variant under $san: the campaigns with -seed$baseline found only bugs that locked has too, and no other campaign found $variant's"
fi
tail -n 20 "$work/log"
fail "$variant under $san: no finding in $runs executions with any of -seed $seeds (expected $expected)"
