#!/usr/bin/env bash
# replay_regressions.sh - every regression input, replayed by its real fuzz
# target as the first input of a fresh process, gives the outcome its text
# twin records (`# expect: VARIANT KIND`, `# expect-tsan: VARIANT KIND` under
# TSan; `ftf expect` reads them). This is how a user replays a crash file, so
# it is what must hold.
#
#   replay_regressions.sh FUZZERS_DIR SOURCE_DIR SANITIZER [FTF]
# FTF: the ftf tool, which reads the finding of a log (`ftf classify`);
# default FUZZERS_DIR/../tools/ftf.
set -uo pipefail
[ $# -eq 3 ] || [ $# -eq 4 ] || { echo "usage: $0 FUZZERS_DIR SOURCE_DIR tsan|asan [FTF]" >&2; exit 1; }
bindir="$1" src="$2" san="$3" ftf="${4:-$1/../tools/ftf}"
[ -x "$ftf" ] || { echo "FAIL: no ftf tool at $ftf" >&2; exit 1; }
checked=0 failed=0
for twin in "$src"/corpus/text/*/regressions/*.txt; do
  [ -e "$twin" ] || continue
  target="$(basename "$(dirname "$(dirname "$twin")")")"
  name="$(basename "$twin" .txt)"
  input="$src/corpus/$target/regressions/$name"
  fuzzer="$bindir/$target"
  [ -f "$input" ] || { echo "FAIL: $name: no binary input $input"; failed=$((failed + 1)); continue; }
  [ -x "$fuzzer" ] || { echo "FAIL: $name: no fuzz target $fuzzer"; failed=$((failed + 1)); continue; }
  # variant -> kind for this sanitizer
  declare -A want=()
  tsan_flag=""
  [ "$san" = tsan ] && tsan_flag=--tsan
  while read -r variant kind; do
    want[$variant]="$kind"
  done < <("$ftf" expect "$twin" $tsan_flag)
  if [ ${#want[@]} -eq 0 ]; then echo "FAIL: $name: no '# expect:' line"; failed=$((failed + 1)); continue; fi
  for variant in "${!want[@]}"; do
    expected="${want[$variant]}"
    out="$("$fuzzer" --variant="$variant" "$input" 2>&1)"
    rc=$?
    if [ $rc -eq 0 ]; then
      got=clean
    else
      got="$("$ftf" classify - <<<"$out" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["kind"])' 2>/dev/null)"
      got="${got:-exit$rc}"
    fi
    checked=$((checked + 1))
    if [ "$got" = "$expected" ]; then
      echo "ok   $target/$name on $variant: $got"
    else
      echo "FAIL $target/$name on $variant: expected $expected, got $got"
      tail -n 30 <<<"$out"
      failed=$((failed + 1))
    fi
  done
  unset want
done
echo "$checked checked, $failed failed"
[ "$checked" -gt 0 ] && [ "$failed" -eq 0 ]
