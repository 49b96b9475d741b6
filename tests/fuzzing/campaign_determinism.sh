#!/usr/bin/env bash
# campaign_determinism.sh - a libFuzzer campaign with a given -seed is the
# same in every process: the same inputs, the same coverage and features
# after each, the same corpus, the same finding.
#
# Each campaign (fuzz target, variant) runs from the target's seed corpus in
# three processes whose memory layouts differ: one with address randomisation
# switched off (setarch -R), two with the system's default. libFuzzer's
# status lines (execution count, event, cov, ft, corp, lim, input length and
# the mutations that made it) must match line for line. What breaks this is
# anything that lets an address, or an earlier input, into what libFuzzer
# sees: a hash of a pointer inside instrumented code, an ordering by address
# that changes which branch runs, interleaving coverage keyed on anything but
# the program. The sanitizers' heaps sit at fixed addresses, so the usual
# culprits are the executable's and the stacks' addresses. Two were found
# this way (CMakeLists.txt): libFuzzer's stack-depth feature, which on fiber
# stacks measures the distance between two mappings (every TSan campaign
# here differed between a fixed and a random layout), and UBSan's vptr
# check, which showed under ASan in the campaigns of
# mutant_dict_resize_tests_owner in about half the processes, hence that
# campaign besides `locked` on every target.
#
#   campaign_determinism.sh FUZZERS_DIR SOURCE_DIR [RUNS]
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 FUZZERS_DIR SOURCE_DIR [RUNS]" >&2; exit 1; }
bindir="$1" src="$2" runs="${3:-4000}"
failed=0

if ! setarch "$(uname -m)" -R true 2>/dev/null; then
  echo "SKIP: setarch -R does not work here, so the two processes could not be given different layouts"
  exit 125
fi
if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 0)" = 0 ]; then
  echo "SKIP: address randomisation is off on this machine, so both processes would have the same layout"
  exit 125
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

campaign() {  # target, variant, out, launcher...
  local target="$1" variant="$2" out="$3"
  shift 3
  rm -rf "$work/run" && mkdir -p "$work/run" && cp "$src/corpus/$target/seeds"/* "$work/run/"
  local dict=""
  [ -f "$src/fuzzers/$target.dict" ] && dict="-dict=$src/fuzzers/$target.dict"
  # FTF_KNOWN_FIXED: `locked` with the fixes of the known CPython findings, so
  # that its campaigns run their whole length rather than stop at one of them.
  "$@" env FTF_KNOWN_FIXED=1 "$bindir/$target" --variant="$variant" -seed=1 -reload=0 -runs="$runs" -timeout=25 \
    -artifact_prefix="$work/" $dict "$work/run" >"$work/log" 2>&1
  echo "exit $?" >"$out"
  # The status lines without what measures the machine: the exec/s and rss
  # figures, and the `pulse` lines (printed at powers of two once the process
  # has run for 2 s, so their presence depends on the machine's speed).
  grep -E '^#[0-9]+' "$work/log" | grep -v pulse | sed -E 's/ exec\/s: [0-9]+//; s/ rss: [0-9]+Mb//' >>"$out"
}

arch="$(uname -m)"
for pair in slots_fuzzer:locked globals_fuzzer:locked core_fuzzer:locked core_fuzzer:mutant_dict_resize_tests_owner; do
  target="${pair%%:*}" variant="${pair#*:}"
  [ -x "$bindir/$target" ] || { echo "FAIL: no $bindir/$target"; failed=$((failed + 1)); continue; }
  campaign "$target" "$variant" "$work/fixed" setarch "$arch" -R
  lines="$(($(wc -l <"$work/fixed") - 1))"
  if [ "$lines" -lt 2 ]; then
    echo "FAIL: $target --variant=$variant: the campaign printed no status line ($(head -n 1 "$work/fixed"))"
    failed=$((failed + 1))
    continue
  fi
  same=1
  for i in 1 2; do
    campaign "$target" "$variant" "$work/random"
    if ! cmp -s "$work/fixed" "$work/random"; then
      echo "FAIL: $target --variant=$variant -seed=1: the process with a random layout ($i) ran another campaign than the one with a fixed layout (first difference below)"
      diff "$work/fixed" "$work/random" | head -n 6
      failed=$((failed + 1))
      same=0
      break
    fi
  done
  [ "$same" -eq 1 ] &&
    echo "PASS: $target --variant=$variant: the same campaign in three processes ($lines status lines, $(tail -n 1 "$work/fixed" | cut -c1-60))"
done
[ "$failed" -eq 0 ] || exit 1
