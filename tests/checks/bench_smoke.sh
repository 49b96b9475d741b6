#!/usr/bin/env bash
# bench_smoke.sh - `./ftfuzz bench --quick --json` runs and its result is
# well formed: every section of the report present, the measured numbers
# positive and finite, the PNG chart written. Run by `./ftfuzz test`
# (exit 0 = pass). It checks the tool, not the figures: no speed goal is
# asserted here (the goals are printed by the bench itself).
#
# Cost: by default the lean quick run (FTF_BENCH_LEAN=1): no release tree,
# so the release throughput rows and the ablations are reported as skipped;
# it builds only the two small -O2 core trees (build/bench, build/bench-hooks;
# the tsan/asan fuzz targets are already built by the unit-test presets),
# then runs for under a minute. FTF_BENCH_SMOKE_FULL=1 checks the complete
# quick run instead (adds the release tree's fuzz targets, ~5 min of build).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${FTF_BENCH_SMOKE_FULL:-0}" = 1 ]; then export FTF_BENCH_LEAN=0; else export FTF_BENCH_LEAN=1; fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
start=$(date +%s)
./ftfuzz bench --quick --json >"$out"
echo "bench_smoke: ./ftfuzz bench --quick --json took $(( $(date +%s) - start )) s (builds included)"

python3 - "$out" <<'PY'
import json, math, os, sys

doc = json.load(open(sys.argv[1]))
errors = []

def need(cond, what):
    if not cond:
        errors.append(what)

def positive(v, what):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
    need(ok, "%s: %r is not a positive finite number" % (what, v))

for key in ("meta", "throughput", "time_to_find", "stress", "ablation", "core_vs_seeds", "hook_cost", "search"):
    need(key in doc, "section %s missing" % key)
if errors:
    sys.exit("bench_smoke: " + "; ".join(errors))

positive(doc["meta"]["wall_s"], "meta.wall_s")
need(doc["meta"]["wall_s"] < 120, "quick run took %s s (limit 120)" % doc["meta"]["wall_s"])

lean = doc["meta"].get("lean", False)
need(lean == (os.environ.get("FTF_BENCH_LEAN") == "1"), "meta.lean disagrees with FTF_BENCH_LEAN")

def may_skip(r, preset):
    """Only the release tree may be missing, and only in a lean run."""
    if "skipped" in r:
        need(lean and preset == "release", "%s skipped: %s" % (preset, r["skipped"]))
        return True
    return False

tp = doc["throughput"]
need(len(tp["rows"]) == 9, "throughput: %d rows, want 3 targets x 3 presets" % len(tp["rows"]))
for r in tp["rows"]:
    if may_skip(r, r["preset"]):
        continue
    positive(r["exec_per_sec"], "throughput %s/%s exec/s" % (r["target"], r["preset"]))
    positive(r["threads_mean"], "throughput %s threads" % r["target"])
    positive(r["ops_per_thread_mean"], "throughput %s ops/thread" % r["target"])
need(len(tp["goal"]) == 3, "goal rows: %d, want 3" % len(tp["goal"]))
for r in tp["goal"]:
    if may_skip(r, r["preset"]):
        continue
    need(r.get("size") == "4x32", "goal row size %r" % r.get("size"))
    positive(r.get("exec_per_sec"), "goal %s exec/s" % r["preset"])
    positive(r.get("replay_exec_per_sec"), "goal %s replay exec/s" % r["preset"])
    need(r.get("status") in ("PASS", "BELOW"), "goal %s status %r" % (r["preset"], r.get("status")))

def timing_rows(rows, what):
    measured = [r for r in rows if "skipped" not in r]
    need(measured, "%s: no measured row" % what)
    for r in measured:
        need(r["n_runs"] >= 1 and 0 <= r["found"] <= r["n_runs"], "%s: bad run counts %r" % (what, r))
        for k in ("median_s", "min_s", "max_s", "q1_s", "q3_s"):
            positive(r[k], "%s %s %s" % (what, r["mutant"], k))
        need(r["min_s"] <= r["median_s"] <= r["max_s"], "%s %s: min <= median <= max" % (what, r["mutant"]))
        for run in r["runs"]:
            positive(run["seconds"], "%s run seconds" % what)
            need(run["found"] == (run["kind"] in r["expected"]), "%s: found flag disagrees with kind" % what)

timing_rows(doc["time_to_find"]["rows"], "time_to_find")
seeds_found = [r for r in doc["time_to_find"]["rows"] if r.get("corpus") == "seeds" and r.get("found")]
need(seeds_found, "time_to_find: no mutant found from its seed corpus (each one has a detecting seed)")
for r in doc["time_to_find"]["rows"]:
    if r["sanitizer"] == "asan" and "DATA_RACE" in r["expected"] and len(r["expected"]) == 1:
        need("skipped" in r, "DATA_RACE-only mutant measured under asan: %s" % r["mutant"])

st = [r for r in doc["stress"]["rows"] if "skipped" not in r]
need(st, "stress: no measured row")
for r in st:
    need(r["rounds"] >= 1, "stress %s: no round ran" % r["mutant"])
    positive(r["seconds"], "stress %s seconds" % r["mutant"])
    need(0 <= r["rounds_found"] <= r["rounds"], "stress %s: bad counts" % r["mutant"])

ab = doc["ablation"]["rows"]
need({r["setting"] for r in ab} >= {"baseline", "no_coverage", "no_pct"}, "ablation: settings missing")
if lean:
    need(all("skipped" in r for r in ab), "ablation: lean run measured rows it cannot have built")
else:
    timing_rows(ab, "ablation")

se = doc["search"]
need({(r["corpus"], r["sanitizer"]) for r in se["rows"]} >= {("empty", "tsan"), ("leaveout", "tsan")},
     "search: the empty and leave-out rows under tsan are missing")
for r in se["rows"] + se["ablation"]:
    need("skipped" not in r, "search: %s skipped: %s" % (r["mutant"], r.get("skipped")))
    need(len(r.get("runs", [])) >= 1, "search %s: no run" % r["mutant"])
    for run in r.get("runs", []):
        positive(run["seconds"], "search %s seconds" % r["mutant"])
        need(run["seconds"] <= r["cap_s"] + 60, "search %s: a run over its cap" % r["mutant"])
need({r["setting"] for r in se["ablation"]} >= {"baseline", "no_custom_mutator", "no_pct_focus",
                                                "no_interleaving_coverage", "no_reduction"}, "search: ablation settings missing")
need(all("goal" in g and "met" in g for g in se["goals"]) and len(se["goals"]) >= 2, "search: goals missing")

core = doc["core_vs_seeds"]
cases = {(r["case"], r["variant"]) for r in core["slot_store"]}
for c in ("store_alone", "store_contended", "attr_idiv", "point_normalize"):
    for v in ("locked", "lockfree_slots"):
        need((c, v) in cases, "core: %s/%s missing" % (c, v))
for r in core["slot_store"]:
    positive(r["ns_per_op"], "core %s/%s ns/op" % (r["case"], r["variant"]))
    need(r["hooks"] == 0, "core numbers must come from the hooks-off build")
g = core["globals"]["rows"]
need({(r["variant"], r["invalidation"]) for r in g} >=
     {(v, i) for v in ("locked", "trybegin_globals", "islocked_globals") for i in ("no", "yes")},
     "core: LOAD_GLOBAL churn rows missing")
for r in g:
    positive(r["seconds"], "globals %s seconds" % r["variant"])
need(len(core["ratios"]) >= 8, "core: ratios missing")
for r in core["ratios"]:
    positive(r["ours"], "ratio %s" % r["what"])

hk = doc["hook_cost"]
need(len(hk["slot_store"]) == len(core["slot_store"]), "hook_cost: slot rows missing")
for r in hk["slot_store"]:
    positive(r["hooks_in_ns"], "hooks-in %s" % r["case"])
    positive(r["hooks_out_ns"], "hooks-out %s" % r["case"])
    need(math.isfinite(r["overhead_pct"]), "hook overhead not finite")
need(len(hk["globals"]) == 6, "hook_cost: LOAD_GLOBAL rows missing")

# 5 and 6: contention at scale (both methods, both programs) and the
# single-thread ratios with their spread.
need("contention" in doc and "stable_ratios" in doc, "sections contention/stable_ratios missing")
if "contention" in doc:
    ct = doc["contention"]
    need(not ct["sim"]["errors"], "contention: simulator errors %r" % ct["sim"]["errors"])
    methods = {(s["method"].split(",")[0], s["program"]) for s in ct["summary"]["rows"]}
    for m in ("real threads", "simulator"):
        for prog in ("churn", "store"):
            need((m, prog) in methods, "contention: %s/%s missing" % (m, prog))
    for s in ct["summary"]["rows"]:
        need(s["entries"], "contention: %s/%s has no entry" % (s["method"], s["program"]))
        for e in s["entries"]:
            for v, r in e["ratios"].items():
                need(r is not None, "contention: %s %s n=%s: no ratio for %s" % (s["method"], s["program"], e["n"], v))
                if r:
                    positive(r["median"], "contention ratio %s %s" % (s["program"], v))
                    need(r["min"] <= r["median"] <= r["max"], "contention: min <= median <= max")
    for r in ct["sim"]["churn"] + ct["sim"]["store"]:
        positive(r["virtual_s"], "simulated %s/%s virtual_s" % (r["program"], r["variant"]))
    for r in ct["real"]["globals"]:
        positive(r["seconds"], "real churn %s seconds" % r["variant"])
if "stable_ratios" in doc:
    sr = doc["stable_ratios"]["rows"]
    need({(r["case"], r["variant"]) for r in sr} >=
         {(c, v) for c in ("store_alone", "attr_idiv", "point_normalize") for v in ("locked", "lockfree_slots")},
         "stable_ratios: rows missing")
    for r in sr:
        positive(r["ratio_median"], "stable ratio %s" % r["case"])
        need(r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"], "stable ratio spread out of order")

for ext in ("json", "png", "txt"):
    p = "build/bench/results/latest." + ext
    need(os.path.exists(p) and os.path.getsize(p) > 0, "%s missing or empty" % p)
with open("build/bench/results/latest.png", "rb") as f:
    need(f.read(8) == b"\x89PNG\r\n\x1a\n", "latest.png is not a PNG")
with open("build/bench/results/latest.json") as f:
    need(json.load(f) == doc, "latest.json is not the document printed by --json")

if errors:
    print("bench_smoke: FAILED")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print("bench_smoke: ok (%d sections, quick run %.0f s)" % (len(doc) - 1, doc["meta"]["wall_s"]))
PY
