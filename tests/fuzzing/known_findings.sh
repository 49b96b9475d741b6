#!/usr/bin/env bash
# known_findings.sh - `./ftfuzz fuzz` counts a finding as known only when its
# crash input replays clean on the fixing variant findings/known.json names
# for the variant it was found on; any other finding at a known SUMMARY
# location is new, and says which known finding it resembles.
#
#   known_findings.sh BUILD_DIR SOURCE_DIR SANITIZER
# Uses the driver's --triage mode (the same classification as a finding of a
# campaign) on the build tree of this preset.
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR tsan|asan" >&2; exit 1; }
build="$1" src="$2" san="$3"
export FTF_FUZZ_BUILD_DIR="$build" FTF_FUZZ_NO_BUILD=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
triage() {  # variant input [known.json] -> output in $out, exit status in $rc
  local extra=()
  [ $# -ge 3 ] && extra=(--known="$3")
  out="$(python3 "$src/tools/fuzz_driver.py" globals_fuzzer --sanitizer="$san" --variant="$1" --triage="$2" \
         "${extra[@]}" 2>&1)"
  rc=$?
  echo "--- triage $1 $(basename "$2") ${3:+(registry $(basename "$3"))}: exit $rc"
  echo "$out"
}
popitem="$src/corpus/globals_fuzzer/regressions/20261122_load_global_module_popitem_entry_reuse"
known_summary="SUMMARY: ftfuzz: WRONG_VALUE core/refcount.cc:173 in LOAD_GLOBAL"
grep -qxF "  \"$known_summary\"," "$src/findings/known.json" || grep -qF "\"$known_summary\"" "$src/findings/known.json" ||
  fail "findings/known.json no longer lists $known_summary: update this test"

# 1. The popitem race on locked: known (clean on locked_popitem_fixed).
triage locked "$popitem"
[ "$rc" -eq 0 ] && grep -q '^known: ' <<<"$out" && grep -q 'load-global-module-popitem-entry-reuse.md' <<<"$out" ||
  fail "the popitem regression on locked is not reported as the known popitem finding"

# 2. The same finding, but the registry names a "fix" that does not fix it:
#    the match alone must not make it known.
sed 's/"locked": "locked_popitem_fixed"/"locked": "locked"/' "$src/findings/known.json" >"$work/known.json"
grep -q '"locked": "locked"' "$work/known.json" || fail "could not rewrite the fixing variant in the test registry"
triage locked "$popitem" "$work/known.json"
[ "$rc" -eq 1 ] && grep -q '^new: ' <<<"$out" && grep -q 'resembles .*still fails on the fixing variant locked' <<<"$out" ||
  fail "a finding whose input still fails on the fixing variant was not reported as new"

# 3. A second bug at the known SUMMARY location: the keys-version guard
#    mutant's wrong value ends at the same line as the popitem race, and is new.
second="$src/corpus/globals_fuzzer/seeds/specialized_load_after_entry_reuse"
triage mutant_no_keys_version_guard "$second"
grep -qF "$known_summary" <<<"$out" || fail "the second bug does not end at the known SUMMARY location (test premise)"
[ "$rc" -eq 1 ] && grep -q '^new: ' <<<"$out" && grep -q 'resembles' <<<"$out" ||
  fail "a second bug at the known SUMMARY location was not reported as new"

# 4. Every entry of findings/known.json is still true: each regression it
#    names is found as known on each variant of `fixed_by`, with a signature
#    the entry lists (signatures name source lines: an edit can move them).
while read -r target variant input; do
  out="$(python3 "$src/tools/fuzz_driver.py" "$target" --sanitizer="$san" --variant="$variant" --triage="$src/$input" 2>&1)"
  rc=$?
  echo "--- known.json: $input on $variant: exit $rc"
  echo "$out"
  hash="$(sed -nE '1s/^known: [A-Z_]+ ([0-9a-f]{16}) .*/\1/p' <<<"$out")"
  [ "$rc" -eq 0 ] && [ -n "$hash" ] && grep -q "\"[A-Z_]* $hash" "$src/findings/known.json" ||
    fail "$input on $variant is not the known finding with a signature findings/known.json lists"
done < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["known"]:
    if sys.argv[2] not in e.get("sanitizers", ["tsan", "asan"]):
        continue  # a race only TSan reports
    for inp in e["regressions"]:
        for variant in e["fixed_by"]:
            print(inp.split("/")[1], variant, inp)
' "$src/findings/known.json" "$san")

[ "$failed" -eq 0 ] && echo "PASS" || echo "$failed failed"
[ "$failed" -eq 0 ]
