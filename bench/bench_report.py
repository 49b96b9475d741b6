#!/usr/bin/env python3
"""Prints the readable report of one `./ftfuzz bench` JSON document
(bench/bench_driver.py writes it). usage: bench_report.py RESULT.json"""

import json
import sys


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def table(title, header, rows):
    print()
    print(title)
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(str(c)))
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, header))
    print("  " + line)
    print("  " + "-" * len(line))
    for r in rows:
        print("  " + "  ".join("%-*s" % (w, str(c)) for w, c in zip(widths, r)))


def timing(row):
    if "skipped" in row:
        return ["skipped: " + row["skipped"], "", ""]
    gt = lambda k: (">" if row.get(k + "_censored") else "") + fmt(row[k], 2)
    return ["%d/%d" % (row["found"], row["n_runs"]), gt("median_s"),
            "%s .. %s (IQR %s .. %s)" % (gt("min_s"), gt("max_s"), gt("q1_s"), gt("q3_s"))]


def main():
    doc = json.load(open(sys.argv[1]))
    m = doc["meta"]
    print("ftfuzz bench (%s run) %s, git %s%s, %s CPUs, %s parallel jobs, load %.1f -> %.1f, %.0f s" % (
        m["mode"], m["timestamp"], m["git"], " (src/fuzzers modified)" if m.get("dirty") else "", m["cpus"],
        m["jobs"], m["loadavg_start"][0], m.get("loadavg_end", [0])[0], m.get("wall_s", 0)))
    if m.get("stale_builds"):
        print("WARNING: these trees failed to build and were measured with older binaries: " +
              ", ".join(m["stale_builds"]))

    tp = doc.get("throughput")
    if tp:
        rows = []
        for r in tp["rows"]:
            if "skipped" in r:
                rows.append([r["target"], r["preset"], "skipped: " + r["skipped"], "", "", ""])
                continue
            rows.append([r["target"], r["preset"], fmt(r["exec_per_sec"]), fmt(r["execs"]),
                         "%sx%s (max %s, %d inputs)" % (r["threads_mean"], r["ops_per_thread_mean"], r["max"],
                                                        r["inputs"]), r.get("finding") or ""])
        table("1. Throughput: libFuzzer exec/s, seed corpus, -seed=%d, %d s per run, variant %s" % (
            tp["seed"], tp["seconds_per_run"], tp["variant"]),
              ["target", "preset", "exec/s", "execs", "program size (threads x ops/thread, mean)", "finding"], rows)
        rows = [[("slots_fuzzer 4x32", r["preset"], fmt(r.get("exec_per_sec")), fmt(r.get("replay_exec_per_sec")),
                  fmt(r.get("points_per_run")), fmt(r.get("points_per_run_no_reduction")),
                  fmt(r.get("goal")), r.get("status", r.get("skipped")))][0] for r in tp["goal"]]
        table("   Goal row (%s)" % tp["goal_corpus"],
              ["program", "preset", "fuzz exec/s", "replay exec/s", "points/run", "points/run (FTF_REDUCTION=0)",
               "goal", "status"], rows)

    tf = doc.get("time_to_find")
    if tf:
        rows = []
        for r in tf["rows"]:
            rows.append([r["mutant"], r["sanitizer"], r["corpus"], "/".join(r["expected"])] + timing(r))
        table("2. Time to find (s, wall, %d parallel jobs; -seed %s; cap %d s, not found counts as > cap)" % (
            tf["parallel_jobs"], ",".join(map(str, tf["seeds"])), tf["cap_s"]),
              ["mutant", "san", "corpus", "expected", "found", "median", "spread"], rows)
    st = doc.get("stress")
    if st:
        rows = []
        for r in st["rows"]:
            if "skipped" in r:
                rows.append([r["mutant"], r["build"], fmt(r["budget_s"], 2), "skipped: " + r["skipped"], "", "", ""])
                continue
            name = r["mutant"] + (" (control, %s)" % r["mode"] if r.get("control") else "")
            rows.append([name, r["build"], fmt(r["budget_s"], 2), "%d" % r["rounds"], "%d" % r["rounds_found"],
                         ",".join(r["kinds"]) or "-", r.get("note", "")])
        table("   Stress test (%s; %s writes / %s reads per thread), repeated for the fuzzer's median time (seed corpus)"
              % (st["threads"], st["rows"][0]["writes"] if st["rows"] else "-",
                 st["rows"][0]["reads"] if st["rows"] else "-"),
              ["mutant", "build", "budget s", "rounds", "found", "kinds", "note"], rows)
    ab = doc.get("ablation")
    if ab:
        rows = [[r["mutant"], r["setting"], "/".join(r["expected"])] + timing(r) for r in ab["rows"]]
        table("   Ablations (%s, the seed corpus minus the seeds that already find the mutant, cap %d s): "
              "interleaving coverage off, PCT off" % (ab["build"], ab["cap_s"]),
              ["mutant", "setting", "expected", "found", "median", "spread"], rows)
        left = sorted({"%s: %s" % (r["mutant"], ",".join(r.get("left_out", [])) or "-") for r in ab["rows"]})
        print("   left out: " + "; ".join(left))
        print("   switches: " + ab.get("switches", "-"))

    core = doc.get("core_vs_seeds")
    if core:
        rows = []
        by = {(r["case"], r["variant"]): r for r in core["slot_store"]}
        for case in ("store_alone", "store_contended", "attr_idiv", "point_normalize"):
            for v in ("locked", "lockfree_slots"):
                r = by.get((case, v))
                if not r:
                    continue
                d = core["doc_slots"].get(case, {}).get(v)
                rows.append([case, v, r["threads"], fmt(r["ns_per_op"], 2), fmt(r["ns_median"], 2), r["unit"],
                             fmt(d, 2)])
        table("3. The core against the seeds' tables (%s)" % core["build"],
              ["case", "variant", "threads", "best", "median", "unit", "document"], rows)
        g = core.get("globals") or {}
        if g:
            doc_g = {(d["variant"], d["invalidation"]): d["seconds"] for d in core["doc_globals"]}
            rows = [[r["variant"], r["invalidation"], fmt(r["seconds"], 3), fmt(r["hit_pct"], 2), r["deopts"],
                     r["contended"], r["invalidations"], fmt(doc_g.get((r["variant"], r["invalidation"])), 2)]
                    for r in g["rows"]]
            table("   LOAD_GLOBAL churn (globals_contention_bench: %d readers + 1 invalidator on 2 CPUs, %d iters x 11 "
                  "loads; document: 64 readers on 128 CPUs, 10M iters)" % (g["readers"], g["iters"]),
                  ["variant", "invalidation", "seconds", "hit%", "deopts", "contended", "invals", "doc s"], rows)
        def paired(r):
            p = r.get("paired") or [None]
            return "%.3f (%.3f..%.3f)" % tuple(p) if p[0] is not None else "-"
        rows = [[r["what"], fmt(r["ours"], 3), paired(r), fmt(r["doc"], 3)] for r in core["ratios"]]
        table("   Ratios measured side by side in one run (variant / locked; best/best, and repetition by "
              "repetition: median (min..max))", ["what", "ours", "paired", "document"], rows)
    hk = doc.get("hook_cost")
    if hk:
        rows = [[r["case"], r["variant"], fmt(r["hooks_out_ns"], 2), fmt(r["hooks_in_ns"], 2), r["unit"],
                 "%+.1f%%" % r["overhead_pct"]] for r in hk["slot_store"]]
        rows += [["LOAD_GLOBAL inval=" + r["invalidation"], r["variant"], fmt(r["hooks_out_s"], 3),
                  fmt(r["hooks_in_s"], 3), "s", "%+.1f%%" % r["overhead_pct"]] for r in hk["globals"]]
        table("4. Cost of the scheduling hooks (%s)" % hk["builds"],
              ["case", "variant", "compiled out", "compiled in (idle)", "unit", "overhead"], rows)
    report_contention_and_stable(doc)


def report_contention_and_stable(doc):
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_contention_report
    if doc.get("contention"):
        bench_contention_report.report_contention(doc["contention"], print)
    if doc.get("stable_ratios"):
        bench_contention_report.report_stable(doc["stable_ratios"], print)
    if doc.get("search"):
        import bench_search
        bench_search.report(doc, table, timing, fmt)


if __name__ == "__main__":
    main()
