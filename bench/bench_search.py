#!/usr/bin/env python3
"""The "search" section of `./ftfuzz bench`: how well the fuzzer finds bugs
nobody wrote a seed for (docs/bench.md, "Search").

bench_driver.py calls measure(ctx, vs, drv) with its context, the variant
registry and itself (for find_once, leaveout_corpus, summarize, stress_loop,
parallel, expected_for, target_of, log). Keys of the section:

  rows       per mutant, sanitizer (tsan, asan) and corpus: "empty" (no
             corpus at all) or "leaveout" (the seed corpus minus every seed
             that already finds the mutant by itself); the runs (-seed 1..5,
             capped) with seconds and executions to find, and the summary.
  stress     per mutant, the real-thread stress test (bench/core_stress.cc,
             TSan build) repeated for the fuzzer's median time from the empty
             corpus: rounds, rounds that found it.
  ablation   per mutant, from the empty corpus under TSan, each search aid
             switched off in turn through the fuzz targets' environment
             (src/runner/fuzz_entry.h): the structure-aware mutator
             (FTF_CUSTOM_MUTATOR=0), PCT's focus on conflicting operations
             (FTF_PCT_FOCUS=0), interleaving coverage (FTF_INTERLEAVING_COVERAGE=0).
  goals      the search goals checked on these rows: every mutant found from
             the empty corpus with a median <= 60 s and no run over 300 s;
             from the leave-out corpus a median <= 10 s; faster than the
             stress test wherever the stress test finds it.

Environment: FTF_BENCH_SEARCH_CAP (default 300 s per run),
FTF_BENCH_SEARCH_ABLATION_CAP (default 120 s), FTF_BENCH_SEARCH_MUTANTS (a
comma-separated subset). The full section runs 5 seeds x 2 corpora x 2
sanitizers per mutant plus the ablations: hours on a 2-CPU machine when
mutants are not found; --quick runs one mutant for a few seconds.
"""

import os
import statistics

GOAL_EMPTY_MEDIAN_S = 60
GOAL_EMPTY_MAX_S = 300
GOAL_LEAVEOUT_MEDIAN_S = 10

ABLATIONS = [
    ("baseline", {}),
    ("no_custom_mutator", {"FTF_CUSTOM_MUTATOR": "0"}),
    ("no_pct_focus", {"FTF_PCT_FOCUS": "0"}),
    ("no_interleaving_coverage", {"FTF_INTERLEAVING_COVERAGE": "0"}),
    ("no_reduction", {"FTF_REDUCTION": "0"}),
]


def _plan(ctx, vs):
    mutants = [v for v in vs if v["mutant"]]
    subset = set(os.environ.get("FTF_BENCH_SEARCH_MUTANTS", "").split(",")) - {""}
    if ctx.quick:
        subset = subset or {"mutant_class_swap_no_stw"}
        return ([v for v in mutants if v["name"] in subset] or mutants[:1]), [1], 4, ["tsan"], 3, [1]
    if subset:
        mutants = [v for v in mutants if v["name"] in subset]
    cap = int(os.environ.get("FTF_BENCH_SEARCH_CAP", "300"))
    ab_cap = int(os.environ.get("FTF_BENCH_SEARCH_ABLATION_CAP", "120"))
    return mutants, [1, 2, 3, 4, 5], cap, ["tsan", "asan"], ab_cap, [1, 2, 3]


def _execs_median(runs):
    e = [r["execs"] for r in runs if r["found"] and r.get("execs") is not None]
    return int(statistics.median(e)) if e else None


def measure(ctx, vs, drv):
    mutants, seeds, cap, sanitizers, ab_cap, ab_seeds = _plan(ctx, vs)
    rows, jobs = [], []
    leaveouts = {}
    for v in mutants:
        t = drv.target_of(v)
        for san in sanitizers:
            b = ctx.fuzzer(san, t)
            for corpus in ("empty", "leaveout"):
                row = {"mutant": v["name"], "target": t, "sanitizer": san, "corpus": corpus, "cap_s": cap,
                       "expected": sorted(drv.expected_for(v, san))}
                rows.append(row)
                if san == "asan" and v["expected"] == "DATA_RACE":
                    row["skipped"] = "needs TSan: its only finding is a DATA_RACE"
                    continue
                if b is None:
                    row["skipped"] = "build/%s/fuzzers/%s not built" % (san, t)
                    continue
                where = "empty"
                if corpus == "leaveout":
                    key = (san, v["name"])
                    if key not in leaveouts:
                        leaveouts[key] = drv.leaveout_corpus(ctx, b, t, v["name"])
                    where, row["left_out"] = leaveouts[key]
                row["runs"] = []
                for s in seeds:
                    jobs.append((row, lambda b=b, t=t, v=v, s=s, where=where, san=san:
                                 drv.find_once(ctx, b, t, v["name"], s, cap, where, drv.expected_for(v, san))))
    for (row, _), r in zip(jobs, drv.parallel(ctx, [j[1] for j in jobs])):
        row["runs"].append(r)
    for row in rows:
        if "runs" in row:
            row.update(drv.summarize(row["runs"], cap))
            row["execs_median"] = _execs_median(row["runs"])
            drv.log("  search %-34s %-5s %-8s %d/%d found, median %s%s s, %s executions" % (
                row["mutant"], row["sanitizer"], row["corpus"], row["found"], row["n_runs"],
                ">" if row["median_s_censored"] else "", row["median_s"], row["execs_median"] or "-"))

    # The stress test beside it, for the fuzzer's median time from nothing.
    stress = []
    writes, reads = (20000, 10000) if ctx.quick else (200000, 100000)
    tree = "bench-tsan"
    for v in mutants:
        empty = next((r for r in rows if r["mutant"] == v["name"] and r["sanitizer"] == "tsan"
                      and r["corpus"] == "empty" and "median_s" in r), None)
        if empty is None:
            continue
        mode = "globals" if drv.target_of(v) == "globals_fuzzer" else "slots"
        row = {"mutant": v["name"], "mode": mode, "build": tree, "budget_s": empty["median_s"],
               "fuzzer_found": empty["found"], "writes": writes, "reads": reads}
        stress.append(row)
        b = ctx.bench_bin(tree, "core_stress")
        if b is None:
            row["skipped"] = "build/%s/bench/core_stress not built" % tree
            continue
        row.update(drv.stress_loop(b, v["name"], mode, empty["median_s"], writes, reads))
        drv.log("  search-stress %-34s %d rounds in %.1f s, %d found" % (
            row["mutant"], row["rounds"], row["seconds"], row["rounds_found"]))

    # Each search aid off in turn, from the empty corpus under TSan.
    ablation, ab_jobs = [], []
    for v in mutants:
        t = drv.target_of(v)
        b = ctx.fuzzer("tsan", t)
        for name, env in ABLATIONS:
            row = {"mutant": v["name"], "setting": name, "env": env, "corpus": "empty", "cap_s": ab_cap,
                   "expected": sorted(drv.expected_for(v, "tsan"))}
            ablation.append(row)
            if b is None:
                row["skipped"] = "build/tsan/fuzzers/%s not built" % t
                continue
            row["runs"] = []
            for s in ab_seeds:
                ab_jobs.append((row, lambda b=b, t=t, v=v, s=s, env=env:
                                drv.find_once(ctx, b, t, v["name"], s, ab_cap, "empty", drv.expected_for(v, "tsan"),
                                              env=env)))
    for (row, _), r in zip(ab_jobs, drv.parallel(ctx, [j[1] for j in ab_jobs])):
        row["runs"].append(r)
    for row in ablation:
        if "runs" in row:
            row.update(drv.summarize(row["runs"], ab_cap))
            row["execs_median"] = _execs_median(row["runs"])
            drv.log("  search-ablation %-34s %-24s %d/%d found, median %s%s s" % (
                row["mutant"], row["setting"], row["found"], row["n_runs"],
                ">" if row["median_s_censored"] else "", row["median_s"]))

    return {"seeds": seeds, "cap_s": cap, "sanitizers": sanitizers, "ablation_seeds": ab_seeds,
            "ablation_cap_s": ab_cap, "parallel_jobs": ctx.jobs, "rows": rows, "stress": stress,
            "ablation": ablation, "goals": goals(rows, stress)}


def goals(rows, stress):
    """The search goals (module docstring), checked on the rows."""
    out = []
    measured = [r for r in rows if "median_s" in r and r["sanitizer"] == "tsan"]
    empty = [r for r in measured if r["corpus"] == "empty"]
    leave = [r for r in measured if r["corpus"] == "leaveout"]
    if empty:
        bad = [r["mutant"] for r in empty if r["median_s_censored"] or r["median_s"] > GOAL_EMPTY_MEDIAN_S]
        out.append({"goal": "empty corpus, tsan: median <= %d s for every mutant" % GOAL_EMPTY_MEDIAN_S,
                    "met": not bad, "missed_by": bad})
        bad = [r["mutant"] for r in empty if r["max_s_censored"] or r["max_s"] > GOAL_EMPTY_MAX_S]
        out.append({"goal": "empty corpus, tsan: every run finds it within %d s" % GOAL_EMPTY_MAX_S,
                    "met": not bad, "missed_by": bad})
    if leave:
        bad = [r["mutant"] for r in leave if r["median_s_censored"] or r["median_s"] > GOAL_LEAVEOUT_MEDIAN_S]
        out.append({"goal": "seeds minus direct detectors, tsan: median <= %d s" % GOAL_LEAVEOUT_MEDIAN_S,
                    "met": not bad, "missed_by": bad})
    # The stress test ran for the fuzzer's median time: if it found the bug
    # in that time it was at least as fast.
    ran = [s for s in stress if "rounds" in s]
    if ran:
        bad = [s["mutant"] for s in ran if s["rounds_found"] > 0]
        out.append({"goal": "the fuzzer from nothing is faster than the stress test wherever the stress test finds it",
                    "met": not bad, "missed_by": bad})
    return out


def report(doc, table, timing, fmt):
    s = doc.get("search")
    if not s:
        return
    rows = []
    for r in s["rows"]:
        rows.append([r["mutant"], r["sanitizer"], r["corpus"], "/".join(r["expected"])] + timing(r) +
                    [fmt(r.get("execs_median"))])
    table("7. Search: time to find from nothing (s, wall, %d parallel jobs; -seed %s; cap %d s)" % (
        s["parallel_jobs"], ",".join(map(str, s["seeds"])), s["cap_s"]),
          ["mutant", "san", "corpus", "expected", "found", "median", "spread", "execs (median)"], rows)
    rows = []
    for r in s["stress"]:
        if "skipped" in r:
            rows.append([r["mutant"], fmt(r["budget_s"], 2), "skipped: " + r["skipped"], "", ""])
        else:
            rows.append([r["mutant"], fmt(r["budget_s"], 2), "%d" % r["rounds"], "%d" % r["rounds_found"],
                         ",".join(r["kinds"]) or "-"])
    table("   Stress test (TSan build) for the fuzzer's median time from the empty corpus",
          ["mutant", "budget s", "rounds", "found", "kinds"], rows)
    rows = [[r["mutant"], r["setting"]] + timing(r) + [fmt(r.get("execs_median"))] for r in s["ablation"]]
    table("   Each search aid off (tsan, empty corpus, cap %d s)" % s["ablation_cap_s"],
          ["mutant", "setting", "found", "median", "spread", "execs (median)"], rows)
    for g in s["goals"]:
        print("   goal: %s: %s%s" % (g["goal"], "MET" if g["met"] else "NOT MET",
                                    "" if g["met"] else " (" + ", ".join(g["missed_by"]) + ")"))
