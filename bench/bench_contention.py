#!/usr/bin/env python3
"""Contention at scale and stable single-thread ratios, for `./ftfuzz bench`.

Two sections of the bench document (bench_driver.py calls measure_*; the
report and the chart call bench_contention_report.py's report_* and plot_*):

  contention  both proposals' contended paths, measured two ways:
              real threads oversubscribed on this machine's CPUs
              (globals_contention_bench, slot_store_bench store_contended,
              build/bench), and a simulated many-core machine (contention_sim,
              the virtual-clock executor, build/bench-hooks) on 8, 32 and 128
              virtual CPUs, with the simulator checked against the real
              threads at this machine's CPU count and its sensitivity to the
              cost table. Keys: real.globals, real.store (one row per run),
              sim.churn, sim.store, sim.check, sim.sensitivity (one row per
              run), sim.hot (costliest cache-line transfer sites), summary
              (the ratios per method, program and count).
  stable      the single-thread ratios of the STORE_ATTR_SLOT microbenchmarks (slot_store_bench) with many
              repetitions, variants interleaved, and the ratio's spread over
              the repetitions (each repetition's lock-free time over the same
              repetition's locked time).

Standalone: bench_contention.py --root . --out x.json [--quick] runs both.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import statistics
import subprocess

DOC_RATIO = 0.473  # gh-152075: 11.0028 s / 23.2520 s, 64 readers, 128 CPUs, invalidation every 0.1 ms
GLOBALS_VARIANTS = ["locked", "trybegin_globals", "islocked_globals"]
STORE_VARIANTS = ["locked", "lockfree_slots", "lockfree_slots_fixed"]
SENSITIVITY_GROUPS = ["access", "atomic", "transfer", "syscall", "wake"]


def _run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "", "timeout"


def _json_lines(out):
    rows = []
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def _bin(root, tree, name):
    p = os.path.join(root, "build", tree, "bench", name)
    return p if os.path.exists(p) else None


def _spread(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return {"median": round(statistics.median(values), 4), "min": round(values[0], 4),
            "max": round(values[-1], 4), "n": len(values)}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# ---------------------------------------------------------------------------
# Real threads.
def _real_globals(root, quick, log):
    b = _bin(root, "bench", "globals_contention_bench")
    if b is None:
        return []
    total = 128000 if quick else 1280000  # reader iterations summed over readers: same work per row
    reps = "1" if quick else "5"
    rows = []
    for readers in (2, 16, 32, 64):
        log("bench:   real threads, LOAD_GLOBAL churn, %d readers" % readers)
        iters = str(max(1, total // readers))
        rc, out, err = _run([b, "--readers", str(readers), "--iters", iters, "--repeat", reps,
                             "--invalidation", "yes", "--json"], timeout=900)
        rows += _json_lines(out)
    return rows


def _real_store(root, quick, log):
    b = _bin(root, "bench", "slot_store_bench")
    if b is None:
        return []
    ops = "200000" if quick else "2000000"
    reps = "1" if quick else "7"
    rows = []
    for threads in (2, 16, 32, 64):
        log("bench:   real threads, store_contended, %d threads" % threads)
        rc, out, err = _run([b, "--json", "--cases", "store_contended", "--threads", str(threads), "--ops", ops,
                             "--repeat", reps, "--variants", ",".join(STORE_VARIANTS)], timeout=900)
        rows += _json_lines(out)
    return rows


# ---------------------------------------------------------------------------
# The simulated machine.
def _sim(b, program, cpus, threads, iters, extra=()):
    cmd = [b, "--program", program, "--cpus", str(cpus), "--threads", str(threads), "--iters", str(iters),
           "--json"] + list(extra)
    rc, out, err = _run(cmd, timeout=1800)
    rows = _json_lines(out)
    if rc != 0:
        return [{"bench": "sim_error", "cmd": " ".join(cmd[1:]), "error": (err.strip() or "rc=%d" % rc)[-300:]}]
    return rows


def _sim_jobs(root, quick):
    """(key, program, cpus, threads, iters, extra) for every simulator run."""
    jobs = []
    if quick:
        churn = [(8, 4, 1000), (32, 16, 300)]
        store = [(8, 4, 1000), (32, 16, 300)]
        phases = [0]
        check_churn = [(2, 500), (16, 100)]
        check_store = [(2, 1000), (16, 200)]
    else:
        churn = [(8, 4, 4000), (32, 16, 2000), (128, 64, 1000)]
        store = [(8, 4, 2000), (32, 16, 1000), (128, 64, 500)]
        phases = [0, 33, 67]
        check_churn = [(2, 4000), (16, 1000), (64, 250)]
        check_store = [(2, 2000), (16, 500), (64, 200)]
    for cpus, readers, iters in churn:
        for ph in phases:
            jobs.append(("churn", "churn", cpus, readers, iters, ["--phase_us", str(ph)]))
    for cpus, threads, iters in store:
        jobs.append(("store", "store", cpus, threads, iters, []))
    for readers, iters in check_churn:
        jobs.append(("check", "churn", 2, readers, iters, []))
    for threads, iters in check_store:
        jobs.append(("check", "store", 2, threads, iters, []))
    if not quick:
        for group in SENSITIVITY_GROUPS:
            for f in ("0.5", "2"):
                jobs.append(("sensitivity", "churn", 128, 64, 500, ["--scale", "%s=%s" % (group, f)]))
                jobs.append(("sensitivity", "store", 128, 64, 300, ["--scale", "%s=%s" % (group, f)]))
        jobs.append(("sensitivity", "churn", 128, 64, 500, []))
        jobs.append(("sensitivity", "store", 128, 64, 300, []))
    return jobs


def _run_sim(root, quick, jobs_n, log):
    b = _bin(root, "bench-hooks", "contention_sim")
    res = {"churn": [], "store": [], "check": [], "sensitivity": [], "hot": [], "errors": []}
    if b is None:
        res["errors"].append("build/bench-hooks/bench/contention_sim not built")
        return res
    jobs = _sim_jobs(root, quick)
    log("bench:   simulator: %d runs, %d at a time" % (len(jobs), jobs_n))

    def one(j):
        key, program, cpus, threads, iters, extra = j
        return j, _sim(b, program, cpus, threads, iters, extra)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs_n) as ex:
        for (key, program, cpus, threads, iters, extra), rows in ex.map(one, jobs):
            scale = extra[1] if extra and extra[0] == "--scale" else None
            for r in rows:
                if r.get("bench") == "sim_error":
                    res["errors"].append(r["cmd"] + ": " + r["error"])
                elif r.get("bench") == "sim_hot":
                    # One phase per churn configuration is enough.
                    if key == "store" or (key == "churn" and extra[1] == "0"):
                        res["hot"].append(r)
                else:
                    r["scale"] = scale
                    res[key].append(r)
    # Keep the hot sites of the largest machine only (per program and variant).
    big = {}
    for r in res["hot"]:
        k = (r["program"], r["variant"])
        big[k] = max(big.get(k, 0), r["cpus"])
    res["hot"] = [r for r in res["hot"] if r["cpus"] == big[(r["program"], r["variant"])]]
    return res


# ---------------------------------------------------------------------------
# The summary: ratios per method, program and count.
def _ratios_real(rows, time_key, base, others, count_key, blocked_key="blocked_s"):
    """rows of one program; returns one entry per count."""
    out = []
    counts = sorted({r[count_key] for r in rows})
    for n in counts:
        sub = [r for r in rows if r[count_key] == n]
        by_rep = {}
        for r in sub:
            by_rep.setdefault(r.get("rep", 0), {})[r["variant"]] = r
        e = {"n": n, "ratios": {}, "times": {}, "blocked_pct": {}, "contended": {}, "parks": {}}
        for v in [base] + others:
            t = [rep[v][time_key] for rep in by_rep.values() if v in rep]
            if t:
                e["times"][v] = round(statistics.median(t), 6)
                bl = [rep[v].get(blocked_key, 0) / (max(1e-12, rep[v][time_key]) * n) for rep in by_rep.values()
                      if v in rep]
                e["blocked_pct"][v] = round(100 * statistics.median(bl), 2)
                e["contended"][v] = int(statistics.median([rep[v].get("contended", 0) for rep in by_rep.values()
                                                           if v in rep]))
                e["parks"][v] = int(statistics.median([rep[v].get("parks", 0) for rep in by_rep.values() if v in rep]))
        for v in others:
            e["ratios"][v] = _spread([rep[v][time_key] / rep[base][time_key] for rep in by_rep.values()
                                      if v in rep and base in rep and rep[base][time_key] > 0])
        out.append(e)
    return out


def _appears(entries, base):
    """The first count at which the locked variant spends >= 1% of its threads' time blocked."""
    for e in entries:
        if e["blocked_pct"].get(base, 0) >= 1.0:
            return e["n"]
    return None


def summarize(doc):
    real = doc.get("real", {})
    sim = doc.get("sim", {})
    summary = []

    def add(method, program, entries, others):
        summary.append({"method": method, "program": program, "entries": entries,
                        "appears": _appears(entries, "locked"), "others": others})

    g = [r for r in real.get("globals", []) if r.get("invalidation") == "yes"]
    add("real threads, %d CPUs" % (os.cpu_count() or 0), "churn",
        _ratios_real(g, "seconds", "locked", GLOBALS_VARIANTS[1:], "readers"), GLOBALS_VARIANTS[1:])
    # slot_store_bench gives ns per store per thread (median over its repetitions) and per-repetition ratios.
    s_entries = []
    for n in sorted({r["threads"] for r in real.get("store", [])}):
        sub = {r["variant"]: r for r in real.get("store", []) if r["threads"] == n}
        if "locked" not in sub:
            continue
        e = {"n": n, "ratios": {}, "times": {}, "blocked_pct": {}, "contended": {}, "parks": {}}
        for v, r in sub.items():
            e["times"][v] = r["ns_median"]
            e["parks"][v] = int(r.get("parks_median", 0))
            # blocked wall time summed over threads / (threads x the run's wall time)
            wall = r["ns_median"] * 1e-9 * (r["ops"] / n)
            e["blocked_pct"][v] = round(100 * r.get("blocked_s_median", 0) / max(1e-12, wall * n), 2)
            if v != "locked":
                e["ratios"][v] = {"median": r["ratio_median"], "min": r["ratio_min"], "max": r["ratio_max"],
                                  "n": r["repeat"]}
        s_entries.append(e)
    add("real threads, %d CPUs" % (os.cpu_count() or 0), "store", s_entries, STORE_VARIANTS[1:])

    for program, others in (("churn", GLOBALS_VARIANTS[1:]), ("store", STORE_VARIANTS[1:])):
        rows = [r for r in sim.get(program, [])]
        for r in rows:
            r["rep"] = r.get("phase_us", 0)
            r["blocked_s_main"] = (r["blocked_s_globals"] + r["blocked_s_builtins"] if program == "churn"
                                   else r["blocked_s_object"])
        add("simulator, N virtual CPUs (threads = N/2)", program,
            _ratios_real(rows, "virtual_s", "locked", others, "cpus", "blocked_s_main"), others)
        chk = [dict(r, rep=0, blocked_s_main=r["blocked_s"]) for r in sim.get("check", []) if r["program"] == program]
        add("simulator, 2 virtual CPUs (check)", program,
            _ratios_real(chk, "virtual_s", "locked", others, "threads", "blocked_s_main"), others)
    # Note: _ratios_real's blocked% divides by (count x time); for the simulator
    # rows keyed by cpus the thread count is cpus/2, so the figure is halved;
    # fix it up here.
    for s in summary:
        if s["method"].startswith("simulator, N"):
            for e in s["entries"]:
                e["blocked_pct"] = {k: round(v * 2, 2) for k, v in e["blocked_pct"].items()}
            s["appears"] = _appears(s["entries"], "locked")

    sens = []
    for program, alt in (("churn", "trybegin_globals"), ("store", "lockfree_slots")):
        rows = [r for r in sim.get("sensitivity", []) if r["program"] == program]
        by = {}
        for r in rows:
            by.setdefault(r["scale"] or "none", {})[r["variant"]] = r["virtual_s"]
        for scale, v in sorted(by.items()):
            if "locked" in v and alt in v:
                e = {"program": program, "scale": scale, "ratio": round(v[alt] / v["locked"], 3)}
                if program == "churn" and "islocked_globals" in v:
                    e["islocked_ratio"] = round(v["islocked_globals"] / v["locked"], 3)
                if program == "store" and "lockfree_slots_fixed" in v:
                    e["fixed_ratio"] = round(v["lockfree_slots_fixed"] / v["locked"], 3)
                sens.append(e)
    return {"rows": summary, "sensitivity": sens, "doc_ratio": DOC_RATIO}


def measure_contention(root, quick, jobs_n, log):
    doc = {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "real": {}, "sim": {}}
    doc["real"]["globals"] = _real_globals(root, quick, log)
    doc["real"]["store"] = _real_store(root, quick, log)
    doc["sim"] = _run_sim(root, quick, jobs_n, log)
    doc["summary"] = summarize(doc)
    return doc


# ---------------------------------------------------------------------------
# Stable single-thread ratios.
def measure_stable(root, quick, log):
    b = _bin(root, "bench", "slot_store_bench")
    if b is None:
        return {}
    ops, reps = ("300000", "5") if quick else ("3000000", "21")
    log("bench:   slot_store_bench one-thread cases, %s ops, %s interleaved repetitions" % (ops, reps))
    rc, out, err = _run([b, "--json", "--ops", ops, "--repeat", reps, "--cases",
                         "store_alone,attr_idiv,point_normalize", "--variants", "locked,lockfree_slots"], timeout=1800)
    rows = _json_lines(out)
    return {"cpu_model": cpu_model(), "ops": int(ops), "repeat": int(reps), "rows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sections", default="contention,stable")
    a = ap.parse_args()
    log = lambda m: print(m, flush=True)
    doc = {}
    want = set(a.sections.split(","))
    if "contention" in want:
        doc["contention"] = measure_contention(os.path.abspath(a.root), a.quick, 2, log)
    if "stable" in want:
        doc["stable_ratios"] = measure_stable(os.path.abspath(a.root), a.quick, log)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    import bench_contention_report as report
    lines = []
    if "contention" in doc:
        report.report_contention(doc["contention"], lines.append)
    if "stable_ratios" in doc:
        report.report_stable(doc["stable_ratios"], lines.append)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
