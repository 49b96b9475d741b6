#!/usr/bin/env python3
"""The PNG chart of one `./ftfuzz bench` result (bench/bench_driver.py's
JSON): four panels, one per section of the report.

  1. exec/s per fuzz target and preset (log scale), the 4x32 goal row with
     its goal as a marker;
  2. time to find each mutant: median with min..max whiskers, per
     sanitizer and corpus (log scale; a run that did not find is drawn at
     the cap, hatched);
  3. the core against the proposal's own figures: lockfree_slots / locked ratios,
     ours beside eendebakpt/cpython#62's;
  4. the scheduling hooks' cost: overhead in % of the compiled-out time;
  5, 6 (when the contention section ran): each proposal's time ratio
     against locked over the thread / virtual-CPU count, real threads and
     the simulator, with gh-152075's 0.47 (bench/bench_contention.py).

usage: bench_plot.py RESULT.json OUT.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def panel_throughput(ax, tp):
    labels, vals, colors = [], [], []
    palette = {"release": "#4c72b0", "tsan": "#dd8452", "asan": "#55a868"}
    for r in tp.get("rows", []):
        if r.get("exec_per_sec"):
            labels.append("%s\n%s" % (r["target"].replace("_fuzzer", ""), r["preset"]))
            vals.append(r["exec_per_sec"])
            colors.append(palette.get(r["preset"], "grey"))
    goals = []
    for r in tp.get("goal", []):
        if r.get("exec_per_sec"):
            labels.append("slots 4x32\n%s" % r["preset"])
            vals.append(r["exec_per_sec"])
            colors.append(palette.get(r["preset"], "grey"))
            goals.append((len(vals) - 1, r["goal"]))
    x = range(len(vals))
    ax.bar(x, vals, color=colors)
    for i, g in goals:
        ax.plot([i - 0.4, i + 0.4], [g, g], color="red", linewidth=2)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=6, rotation=90)
    ax.set_yscale("log")
    ax.set_ylabel("exec/s (libFuzzer)")
    ax.set_title("1. Throughput (red: goal)", fontsize=9)


def panel_ttf(ax, tf):
    rows = [r for r in tf.get("rows", []) if "median_s" in r]
    labels, med, lo, hi, cens = [], [], [], [], []
    for r in rows:
        labels.append("%s %s %s" % (r["mutant"].replace("mutant_", ""), r["sanitizer"], r["corpus"]))
        med.append(max(r["median_s"], 0.01))
        lo.append(max(r["min_s"], 0.01))
        hi.append(max(r["max_s"], 0.01))
        cens.append(r["median_s_censored"])
    y = range(len(rows))
    for i in y:
        ax.plot([lo[i], hi[i]], [i, i], color="black", linewidth=1)
        ax.barh(i, med[i], color="#c44e52" if cens[i] else "#8172b2", hatch="//" if cens[i] else None, alpha=0.8)
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=5)
    ax.set_xscale("log")
    ax.set_xlabel("seconds to the expected finding (median, min..max)")
    ax.set_title("2. Time to find (cap %s s, hatched: median not found)" % tf.get("cap_s"), fontsize=9)


def panel_core(ax, core):
    ratios = core.get("ratios", [])
    labels = [r["what"].replace("LOAD_GLOBAL ", "LG ").replace(", invalidation", " inv") for r in ratios]
    ours = [r["ours"] for r in ratios]
    doc = [r["doc"] if r["doc"] is not None else 0 for r in ratios]
    x = range(len(ratios))
    ax.bar([i - 0.2 for i in x], ours, width=0.4, label="ours (model core)", color="#4c72b0")
    ax.bar([i + 0.2 for i in x], doc, width=0.4, label="proposal", color="#937860")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=6, rotation=60, ha="right")
    ax.set_ylabel("time ratio variant / locked")
    ax.legend(fontsize=7)
    ax.set_title("3. Core vs the seeds' tables (hooks compiled out)", fontsize=9)


def panel_hooks(ax, hk):
    rows = hk.get("slot_store", []) + [
        {"case": "LG inv=" + r["invalidation"], "variant": r["variant"], "overhead_pct": r["overhead_pct"]}
        for r in hk.get("globals", [])]
    labels = ["%s\n%s" % (r["case"], r["variant"]) for r in rows]
    vals = [r["overhead_pct"] for r in rows]
    ax.bar(range(len(vals)), vals, color=["#55a868" if v <= 0 else "#dd8452" for v in vals])
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(list(range(len(vals))))
    ax.set_xticklabels(labels, fontsize=5, rotation=90)
    ax.set_ylabel("% over compiled out")
    ax.set_title("4. Scheduling hooks compiled in (idle)", fontsize=9)


def panels_contention(ax_churn, ax_store, contention):
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    import bench_contention_report
    bench_contention_report.plot_contention(ax_churn, ax_store, contention)


def main():
    doc = json.load(open(sys.argv[1]))
    contention = doc.get("contention")
    fig, axes = plt.subplots(3 if contention else 2, 2, figsize=(14, 15 if contention else 10))
    m = doc["meta"]
    fig.suptitle("ftfuzz bench (%s) %s git %s" % (m["mode"], m["timestamp"], m["git"]), fontsize=11)
    panel_throughput(axes[0][0], doc.get("throughput", {}))
    panel_ttf(axes[0][1], doc.get("time_to_find", {}))
    panel_core(axes[1][0], doc.get("core_vs_seeds", {}))
    panel_hooks(axes[1][1], doc.get("hook_cost", {}))
    if contention:
        panels_contention(axes[2][0], axes[2][1], contention)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
