#!/usr/bin/env python3
"""The measurements of `./ftfuzz bench` (docs/bench.md). tools/bench.sh builds what
is needed and runs this; it prints the report, and writes it as JSON (and the
PNG chart through tools/bench_plot.py).

Sections (keys of the JSON document):
  throughput     libFuzzer's exec/s of each fuzz target under release, tsan and
                 asan (fixed seed corpus, -seed, -max_total_time), with the
                 program size of the corpus; the goal row (slots_fuzzer,
                 4 threads x 32 operations) with PASS/BELOW.
  time_to_find   per mutant, sanitizer and corpus (seeds / empty): wall time
                 until libFuzzer stops with the expected SUMMARY kind, over
                 several -seed values, capped.
  stress         the proposal's real-thread stress test on the core
                 (bench/core_stress.cc) for each mutant, for the fuzzer's
                 median time: rounds run, rounds that found something.
  ablation       time to find with interleaving coverage off and with PCT
                 schedules off (the real targets' FTF_INTERLEAVING_COVERAGE=0 and
                 FTF_SCHEDULE=direct), from the seeds minus those that find the mutant.
  core_vs_seeds  the seeds' tables on the core, scheduling hooks compiled out.
  hook_cost      the same microbenchmarks with the hooks compiled in (idle).
  contention     both proposals' contended paths at scale: real threads
                 oversubscribed, and the virtual-clock many-core simulator
                 (bench/bench_contention.py documents its keys).
  stable_ratios  the single-thread STORE_ATTR_SLOT ratios with many interleaved
                 repetitions and the ratio's spread (bench/bench_contention.py).
  search         time to find each mutant from an empty corpus and from the
                 seeds minus its detectors (5 seeds, 300 s cap, tsan and
                 asan), the stress test beside it, each search aid switched
                 off, and the search goals (bench/bench_search.py).

Every number is measured; nothing is carried over between runs. Times are
wall-clock on a shared machine: the report records the load average.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PRESETS = ["release", "tsan", "asan"]
GOAL = {"release": 40000, "tsan": 10000, "asan": 30000}

# The figures published with the two proposals (eendebakpt/cpython#62, gh-152075).
DOC_SLOTS = {
    "store_alone": {"locked": 15.40, "lockfree_slots": 9.30, "unit": "ns/op", "what": "STORE_ATTR_SLOT (alone)"},
    "attr_idiv": {"locked": 41.22, "lockfree_slots": 30.20, "unit": "ns/op", "what": "attr_idiv (LOAD + / + STORE)"},
    "point_normalize": {"locked": 417.4, "lockfree_slots": 398.0, "unit": "ns/Point", "what": "Point.normalize"},
}
DOC_GLOBALS = {  # seconds, 64 reader threads on 128 CPUs, 10M iterations
    ("locked", "no"): 2.1970, ("locked", "yes"): 23.2520,
    ("trybegin_globals", "no"): 1.9692, ("trybegin_globals", "yes"): 11.0028,
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Ctx:
    def __init__(self, args):
        self.root = os.path.abspath(args.root)
        self.quick = args.quick
        # Lean quick run (CI): no release tree; see tools/bench.sh.
        self.lean = args.quick and os.environ.get("FTF_BENCH_LEAN") == "1"
        self.jobs = max(1, int(os.environ.get("JOBS", "2")))
        self.tmp = tempfile.mkdtemp(prefix="ftf-bench-", dir=os.path.join(self.root, "build"))
        self.ftf = None
        for p in (("tsan", "asan", "gcc") if self.lean else ("release", "tsan", "asan", "gcc")):
            cand = os.path.join(self.root, "build", p, "tools", "ftf")
            if os.path.exists(cand):
                self.ftf = cand
                break

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def fuzzer(self, preset, target):
        if self.lean and preset == "release":
            return None
        p = self.path("build", preset, "fuzzers", target)
        return p if os.path.exists(p) else None

    def bench_bin(self, tree, name):
        if self.lean and tree == "release":
            return None
        p = self.path("build", tree, "bench", name)
        return p if os.path.exists(p) else None

    def workdir(self, name):
        d = tempfile.mkdtemp(prefix=name + "-", dir=self.tmp)
        return d


def run(cmd, timeout=None, env=None, cwd=None):
    """Runs cmd; returns (rc, combined output, seconds). rc None on timeout."""
    t0 = time.monotonic()
    e = dict(os.environ)
    if env:
        e.update(env)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=e, cwd=cwd)
        out = p.stdout.decode("utf-8", "replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as ex:
        out = (ex.stdout or b"").decode("utf-8", "replace")
        rc = None
    return rc, out, time.monotonic() - t0


def stat_of(out, name):
    vals = re.findall(r"stat::%s:\s+(\d+)" % name, out)
    return int(vals[-1]) if vals else None


def summary_kind(ctx, out):
    """The kind of the last finding in a fuzz target's output (`ftf classify`)."""
    if ctx.ftf is None:
        sys.exit("bench: the ftf tool is needed to read findings (build it: ./ftfuzz build)")
    p = subprocess.run([ctx.ftf, "classify", "-"], input=out.encode("utf-8", "replace"), capture_output=True)
    return json.loads(p.stdout)["kind"] if p.returncode == 0 else None


# ---------------------------------------------------------------------------
# Program sizes (from `ftf decode`).
_size_cache = {}


def program_size(ctx, path):
    if path in _size_cache:
        return _size_cache[path]
    rc, out, _ = run([ctx.ftf, "decode", path], timeout=30)
    threads = 0
    ops = {}
    for line in out.splitlines():
        m = re.match(r"^threads (\d+)", line)
        if m:
            threads = int(m.group(1))
        m = re.match(r"^t(\d+)[ :]", line)
        if m:
            ops[int(m.group(1))] = ops.get(int(m.group(1)), 0) + 1
    res = (threads, (sum(ops.values()) / threads) if threads else 0.0)
    _size_cache[path] = res
    return res


def corpus_size(ctx, d):
    files = sorted(os.path.join(d, f) for f in os.listdir(d)) if os.path.isdir(d) else []
    sizes = [program_size(ctx, f) for f in files]
    if not sizes or ctx.ftf is None:
        return {"inputs": len(files), "threads_mean": 0, "ops_per_thread_mean": 0, "max": "-"}
    t = [s[0] for s in sizes]
    o = [s[1] for s in sizes]
    big = max(sizes, key=lambda s: s[0] * s[1])
    return {"inputs": len(files), "threads_mean": round(statistics.mean(t), 2),
            "ops_per_thread_mean": round(statistics.mean(o), 2), "max": "%dx%d" % (big[0], round(big[1]))}


# ---------------------------------------------------------------------------
# 1. Throughput.
def fuzz_rate(ctx, binary, target, seeds, seconds, extra=(), env=None):
    work = ctx.workdir("tp-" + target)
    cmd = [binary, "-seed=1", "-max_total_time=%d" % seconds, "-print_final_stats=1", "-timeout=25",
           "-artifact_prefix=%s/" % work, *extra, work, seeds]
    d = ctx.path("fuzzers", target + ".dict")
    if os.path.exists(d):
        cmd.insert(1, "-dict=" + d)
    rc, out, secs = run(cmd, timeout=seconds * 4 + 60, env=env)
    rate = stat_of(out, "average_exec_per_sec")
    execs = stat_of(out, "number_of_executed_units")
    shutil.rmtree(work, ignore_errors=True)
    return {"exec_per_sec": rate, "execs": execs, "seconds": round(secs, 2), "rc": rc,
            "finding": summary_kind(ctx, out) if rc not in (0, None) else None}


def make_goal_corpus(ctx):
    d = os.path.join(ctx.tmp, "goal")
    txt = os.path.join(ctx.tmp, "goal-text")
    subprocess.run([sys.executable, ctx.path("bench", "make_goal_corpus.py"), txt, "8"], check=True)
    os.makedirs(d, exist_ok=True)
    max_len = 0
    for f in sorted(os.listdir(txt)):
        out = os.path.join(d, f[:-4])
        run([ctx.ftf, "encode", os.path.join(txt, f), "-o", out], timeout=30)
        th, ops = program_size(ctx, out)
        if (th, round(ops)) != (4, 32):
            raise SystemExit("goal corpus: %s decodes as %dx%s, not 4x32" % (f, th, ops))
        max_len = max(max_len, os.path.getsize(out))
    return d, max_len


def goal_points(ctx, goal_dir):
    """Scheduling points (steps) per run of the goal corpus, from `ftf repro`'s
    last line, with the partial-order reduction on (the default) and off
    (FTF_REDUCTION=0, every access a point): mean over the inputs."""
    out = {}
    for key, env in (("points_per_run", None), ("points_per_run_no_reduction", {"FTF_REDUCTION": "0"})):
        steps = []
        for f in sorted(os.listdir(goal_dir)):
            _, text, _ = run([ctx.ftf, "repro", os.path.join(goal_dir, f)], timeout=60, env=env)
            m = re.search(r"(\d+) steps", text or "")
            if m:
                steps.append(int(m.group(1)))
        out[key] = round(statistics.mean(steps)) if steps else None
    return out


def section_throughput(ctx):
    secs = 1 if ctx.quick else 20
    rows = []
    for preset in PRESETS:
        for t in targets(ctx):
            b = ctx.fuzzer(preset, t)
            seeds = ctx.path("corpus", t, "seeds")
            if b is None:
                rows.append({"target": t, "preset": preset,
                             "skipped": "lean quick run (FTF_BENCH_LEAN=1)" if ctx.lean else "not built"})
                continue
            r = fuzz_rate(ctx, b, t, seeds, secs)
            r.update({"target": t, "preset": preset, "corpus": "corpus/%s/seeds" % t})
            r.update(corpus_size(ctx, seeds))
            rows.append(r)
            log("  throughput %-14s %-7s %s exec/s" % (t, preset, r["exec_per_sec"]))
    goal_dir, max_len = make_goal_corpus(ctx)
    points = goal_points(ctx, goal_dir)
    log("  goal 4x32 scheduling points per run: %s (reduction off: %s)" %
        (points["points_per_run"], points["points_per_run_no_reduction"]))
    goal_rows = []
    for preset in PRESETS:
        b = ctx.fuzzer(preset, "slots_fuzzer")
        if b is None:
            goal_rows.append({"preset": preset,
                              "skipped": "lean quick run (FTF_BENCH_LEAN=1)" if ctx.lean else "not built"})
            continue
        r = fuzz_rate(ctx, b, "slots_fuzzer", goal_dir, secs, extra=("-max_len=%d" % max_len,))
        # Replay: exactly the 4x32 inputs, each executed `runs` times.
        runs = 16 if ctx.quick else 300
        files = sorted(os.path.join(goal_dir, f) for f in os.listdir(goal_dir))
        rc, out, _ = run([b, "-runs=%d" % runs, *files], timeout=300)
        ms = sum(int(m) for m in re.findall(r"^Executed .* in (\d+) ms", out, re.M))
        replay = round(runs * len(files) / (ms / 1000.0)) if ms > 0 else None
        status = "BELOW"
        if r["exec_per_sec"] is not None and r["exec_per_sec"] >= GOAL[preset]:
            status = "PASS"
        goal_rows.append({"preset": preset, "size": "4x32", "exec_per_sec": r["exec_per_sec"], "execs": r["execs"],
                          "replay_exec_per_sec": replay, "goal": GOAL[preset], "status": status,
                          "seconds": r["seconds"], "max_len": max_len, **points})
        log("  goal 4x32 %-7s fuzz %s exec/s, replay %s exec/s (goal %d): %s" %
            (preset, r["exec_per_sec"], replay, GOAL[preset], status))
    return {"seconds_per_run": secs, "seed": 1, "variant": "locked", "rows": rows, "goal": goal_rows,
            "goal_corpus": "bench/make_goal_corpus.py (8 programs, 4 threads x 32 ops, -max_len=%d)" % max_len}


# ---------------------------------------------------------------------------
# Variants and their expected findings.
def targets(ctx):
    """The fuzz targets that take a variant (fuzzers/CMakeLists.txt, via ftf)."""
    rc, out, _ = run([ctx.ftf, "targets"], timeout=30)
    if rc != 0 or not out.split():
        raise SystemExit("bench: `ftf targets` failed: %s" % out.strip()[:200])
    return out.split()


def variants(ctx):
    """The variant registry (`ftf variants --json`): name, mutant, expected,
    expected_tsan (the kind under TSan), fuzz_targets, description."""
    rc, out, _ = run([ctx.ftf, "variants", "--json"], timeout=30)
    try:
        return json.loads(out) if rc == 0 else []
    except ValueError:
        raise SystemExit("bench: `ftf variants --json` printed no JSON: %s" % out.strip()[:200])


def target_of(v):
    """The fuzz target that must find mutant v (its first, in the registry)."""
    return v["fuzz_targets"][0]


def expected_for(v, preset):
    return {v["expected_tsan"] if preset == "tsan" else v["expected"]}


# ---------------------------------------------------------------------------
# 2. Time to find.
def find_once(ctx, binary, target, variant, seed, cap, corpus, expected, env=None):
    """corpus: "seeds", "empty", or a directory (a leave-out corpus)."""
    work = ctx.workdir("ttf")
    cmd = [binary, "--variant=" + variant, "-seed=%d" % seed, "-max_total_time=%d" % cap, "-print_final_stats=1",
           "-timeout=25", "-artifact_prefix=%s/" % work, work]
    d = ctx.path("fuzzers", target + ".dict")
    if os.path.exists(d):
        cmd.insert(1, "-dict=" + d)
    if corpus == "seeds":
        cmd.append(ctx.path("corpus", target, "seeds"))
    elif corpus != "empty":
        cmd.append(corpus)
    rc, out, secs = run(cmd, timeout=cap + 60, env=env)
    kind = summary_kind(ctx, out) if rc not in (0, None) else None
    execs = stat_of(out, "number_of_executed_units")
    if execs is None:
        st = re.findall(r"^#(\d+)\s", out, re.M)
        execs = int(st[-1]) if st else None
    shutil.rmtree(work, ignore_errors=True)
    found = kind in expected
    return {"seed": seed, "found": found, "seconds": round(secs, 3), "kind": kind, "execs": execs}


def leaveout_corpus(ctx, binary, target, variant, env=None):
    """The target's seed corpus without the seeds that already produce a
    finding on `variant` (each seed replayed once): the fuzzer then has to
    mutate its way to the bug. Returns (directory, names left out)."""
    src = ctx.path("corpus", target, "seeds")
    d = ctx.workdir("leaveout-" + variant)
    out_names = []
    for f in sorted(os.listdir(src)):
        rc, out, _ = run([binary, "--variant=" + variant, "-runs=1", os.path.join(src, f)], timeout=120, env=env)
        if rc == 0:
            shutil.copy(os.path.join(src, f), os.path.join(d, f))
        else:
            out_names.append(f)
    return d, out_names


def summarize(runs, cap):
    """Median and spread; a run that did not find counts as > cap."""
    vals = sorted(r["seconds"] if r["found"] else float("inf") for r in runs)
    n = len(vals)
    found = sum(1 for r in runs if r["found"])

    def q(p):
        v = vals[min(n - 1, int(p * (n - 1) + 0.5))]
        return v

    med = statistics.median(vals) if n else float("inf")
    res = {"found": found, "n_runs": n}
    for k, v in (("median_s", med), ("min_s", vals[0] if n else float("inf")), ("max_s", vals[-1] if n else float("inf")),
                 ("q1_s", q(0.25) if n else float("inf")), ("q3_s", q(0.75) if n else float("inf"))):
        res[k] = round(v, 3) if v != float("inf") else cap
        res[k + "_censored"] = v == float("inf")
    return res


def parallel(ctx, jobs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=ctx.jobs) as ex:
        return list(ex.map(lambda f: f(), jobs))


def section_time_to_find(ctx, vs):
    mutants = [v for v in vs if v["mutant"]]
    if ctx.quick:
        keep = {"mutant_cs_fallback_incref", "mutant_trybegin_keeps_first_lock"}
        mutants = [v for v in mutants if v["name"] in keep] or mutants[:2]
        seeds = [1, 2, 3]
        cap = 5
        corpora = ["seeds", "empty"]
    else:
        seeds = [1, 2, 3, 4, 5]
        cap = int(os.environ.get("FTF_BENCH_CAP", "15"))
        corpora = ["seeds", "empty"]
    rows = []
    jobs = []
    for v in mutants:
        t = target_of(v)
        for preset in ("tsan", "asan"):
            for corpus in corpora:
                row = {"mutant": v["name"], "target": t, "sanitizer": preset, "corpus": corpus,
                       "expected": sorted(expected_for(v, preset)), "cap_s": cap}
                rows.append(row)
                if preset == "asan" and v["expected"] == "DATA_RACE":
                    row["skipped"] = "needs TSan: its only finding is a DATA_RACE"
                    continue
                if ctx.quick and preset == "asan" and corpus == "empty":
                    row["skipped"] = "--quick"
                    continue
                b = ctx.fuzzer(preset, t)
                if b is None:
                    row["skipped"] = "build/%s not built" % preset
                    continue
                row["runs"] = []
                for s in (seeds[:1] if ctx.quick and corpus == "empty" else seeds):
                    jobs.append((row, lambda b=b, t=t, v=v, s=s, corpus=corpus, preset=preset:
                                 find_once(ctx, b, t, v["name"], s, cap, corpus, expected_for(v, preset))))
    results = parallel(ctx, [j[1] for j in jobs])
    for (row, _), r in zip(jobs, results):
        row["runs"].append(r)
    for row in rows:
        if "runs" in row:
            row.update(summarize(row["runs"], cap))
            log("  find %-34s %-5s %-6s %d/%d found, median %s%s s" % (
                row["mutant"], row["sanitizer"], row["corpus"], row["found"], row["n_runs"],
                ">" if row["median_s_censored"] else "", row["median_s"]))
    return {"cap_s": cap, "seeds": seeds, "parallel_jobs": ctx.jobs, "rows": rows}


# ---------------------------------------------------------------------------
# 2b. The stress test for the same wall time.
def stress_once(binary, variant, mode, seconds, writes, reads, timeout):
    cmd = [binary, "--variant", variant, "--mode", mode, "--seconds", "%.3f" % seconds, "--writes", str(writes),
           "--reads", str(reads)]
    rc, out, secs = run(cmd, timeout=timeout)
    rounds = [json.loads(line) for line in out.splitlines() if line.startswith("{\"round\"")]
    finding = None
    if rc is None:
        finding = "HANG"
    elif rc == 1 and rounds and rounds[-1]["finding"]:
        finding = rounds[-1]["finding"]
    elif rc != 0:
        if "ThreadSanitizer: data race" in out:
            finding = "DATA_RACE"
        elif "ThreadSanitizer" in out:
            finding = "TSAN"
        elif "AddressSanitizer" in out:
            m = re.search(r"AddressSanitizer: ([\w-]+)", out)
            finding = "ASAN:" + (m.group(1) if m else "?")
        else:
            finding = "CRASH(rc=%s)" % rc
    completed = len(rounds) - (1 if (rounds and rounds[-1]["finding"]) else 0)
    return {"rounds": len(rounds) + (1 if finding and not (rounds and rounds[-1]["finding"]) else 0),
            "completed_clean": completed, "finding": finding, "seconds": secs,
            "round_s": [r["seconds"] for r in rounds]}


def section_stress(ctx, vs, ttf):
    writes, reads = (20000, 10000) if ctx.quick else (200000, 100000)
    if ctx.quick:
        builds = [("release", "bench" if ctx.lean else "release")]
    else:
        builds = [("tsan", "bench-tsan"), ("asan", "bench-asan"), ("release", "release")]
    medians = {}
    for row in ttf["rows"]:
        if row.get("corpus") == "seeds" and "median_s" in row:
            medians[(row["mutant"], row["sanitizer"])] = row["median_s"]
    rows = []
    jobs = []
    for v in [v for v in vs if v["mutant"]]:
        mode = "globals" if target_of(v) == "globals_fuzzer" else "slots"
        for san, tree in builds:
            ref = san if san != "release" else "tsan"
            budget = medians.get((v["name"], ref)) or medians.get((v["name"], "tsan"))
            if budget is None:
                continue
            row = {"mutant": v["name"], "mode": mode, "build": tree, "compare_with": "%s fuzzer median" % ref,
                   "budget_s": budget, "writes": writes, "reads": reads, "expected": sorted(expected_for(v, san))}
            rows.append(row)
            b = ctx.bench_bin(tree, "core_stress")
            if b is None:
                row["skipped"] = "build/%s/bench/core_stress not built" % tree
                continue
            if mode == "slots" and "class_swap" in v["name"]:
                row["note"] = "the document's stress test has no class swaps: this mutant's path is not exercised"
            jobs.append((row, lambda b=b, v=v, mode=mode, budget=budget:
                         stress_loop(b, v["name"], mode, budget, writes, reads)))
    # Controls: CPython as it is, one round per mode and build: must be clean.
    for mode in ("slots", "globals"):
        for san, tree in builds:
            row = {"mutant": "locked", "control": True, "mode": mode, "build": tree, "compare_with": "-",
                   "budget_s": 0.0, "writes": writes, "reads": reads, "expected": ["clean"]}
            rows.append(row)
            b = ctx.bench_bin(tree, "core_stress")
            if b is None:
                row["skipped"] = "build/%s/bench/core_stress not built" % tree
                continue
            jobs.append((row, lambda b=b, mode=mode: stress_loop(b, "locked", mode, 0.0, writes, reads)))
    # Stress tests use real threads: one at a time.
    for row, f in jobs:
        row.update(f())
        log("  stress %-34s %-10s %d rounds in %.1f s, %d found (%s)" % (
            row["mutant"], row["build"], row["rounds"], row["seconds"], row["rounds_found"], row["kinds"] or "-"))
    return {"threads": "4 writers + 2 readers (slots); 4 readers + 1 churner (globals)", "rows": rows}


def stress_loop(binary, variant, mode, budget, writes, reads):
    t0 = time.monotonic()
    rounds = found = 0
    kinds = []
    round_times = []
    while True:
        left = budget - (time.monotonic() - t0)
        est = max(round_times) if round_times else 5.0
        r = stress_once(binary, variant, mode, max(left, 0.0), writes, reads, timeout=max(left, 0) + 20 * est + 30)
        rounds += r["rounds"]
        round_times += r["round_s"]
        if r["finding"]:
            found += 1
            kinds.append(r["finding"])
        if time.monotonic() - t0 >= budget or (not r["finding"] and r["rounds"] == 0):
            break
    return {"rounds": rounds, "rounds_found": found, "found_rate": round(found / rounds, 3) if rounds else 0,
            # Not rounded: a clean control round can take a millisecond.
            "kinds": sorted(set(kinds)), "seconds": round(time.monotonic() - t0, 6),
            "round_s_median": round(statistics.median(round_times), 3) if round_times else None}


# ---------------------------------------------------------------------------
# 2c. Ablations: interleaving coverage off, PCT off.
SETTINGS = [("baseline", {}), ("no_coverage", {"FTF_INTERLEAVING_COVERAGE": "0"}),
            ("no_pct", {"FTF_SCHEDULE": "direct"})]


def section_ablation(ctx, vs):
    """The real fuzz targets with one search aid switched off through their
    environment switches (src/runner/fuzz_entry.h)."""
    if ctx.quick:
        tree, san = "release", "release"
        keep = {"mutant_cs_fallback_incref"}
        seeds, cap = [1], 3
    else:
        tree, san = "tsan", "tsan"
        keep = set(os.environ.get("FTF_BENCH_ABLATION", "").split(",")) - {""}
        seeds, cap = [1, 2, 3], int(os.environ.get("FTF_BENCH_ABLATION_CAP", "15"))
    muts = [v for v in vs if v["mutant"] and (not keep or v["name"] in keep)]
    if tree != "tsan":
        muts = [v for v in muts if v["expected"] != "DATA_RACE"]
    rows, jobs = [], []
    for v in muts:
        t = target_of(v)
        b = ctx.fuzzer(tree, t)
        corpus, left_out = ("empty", [])
        if b is not None:
            corpus, left_out = leaveout_corpus(ctx, b, t, v["name"])
        for name, env in SETTINGS:
            row = {"mutant": v["name"], "setting": name, "build": tree, "corpus": "seeds minus detectors",
                   "left_out": left_out, "cap_s": cap, "focus": t, "expected": sorted(expected_for(v, san)),
                   "env": env}
            rows.append(row)
            if b is None:
                row["skipped"] = ("lean quick run (FTF_BENCH_LEAN=1): no release tree"
                                  if ctx.lean else "build/%s/fuzzers/%s not built" % (tree, t))
                continue
            row["runs"] = []
            for s in seeds:
                jobs.append((row, lambda v=v, s=s, env=env, t=t, b=b, corpus=corpus:
                             find_once(ctx, b, t, v["name"], s, cap, corpus, expected_for(v, san), env=env)))
    for (row, _), r in zip(jobs, parallel(ctx, [j[1] for j in jobs])):
        row["runs"].append(r)
    for row in rows:
        if "runs" in row:
            row.update(summarize(row["runs"], cap))
            log("  ablation %-34s %-12s %d/%d found, median %s%s s" % (
                row["mutant"], row["setting"], row["found"], len(row["runs"]),
                ">" if row["median_s_censored"] else "", row["median_s"]))
    return {"build": tree, "seeds": seeds, "cap_s": cap, "rows": rows,
            "switches": "FTF_INTERLEAVING_COVERAGE=0 / FTF_SCHEDULE=direct on the real targets (src/runner/fuzz_entry.h)"}


# ---------------------------------------------------------------------------
# 3 and 4. The core against the seeds' tables; hook cost.
def slot_bench(ctx, tree):
    b = ctx.bench_bin(tree, "slot_store_bench")
    if b is None:
        return None
    ops, rep = ("300000", "3") if ctx.quick else ("3000000", "15")
    rc, out, _ = run([b, "--json", "--ops", ops, "--repeat", rep, "--threads", "2"], timeout=600)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def globals_bench(ctx, tree):
    b = ctx.bench_bin(tree, "globals_contention_bench")
    if b is None:
        return None
    iters = "100000" if ctx.quick else "1000000"
    rc, out, _ = run([b, "--readers", "2", "--iters", iters, "--repeat", "1" if ctx.quick else "3", "--json"],
                     timeout=900)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    # Best of the repetitions per (variant, invalidation).
    best = {}
    for r in rows:
        k = (r["variant"], r["invalidation"])
        if k not in best or r["seconds"] < best[k]["seconds"]:
            best[k] = r
    return {"readers": 2, "iters": int(iters), "rows": list(best.values())}


def section_core(ctx):
    off = slot_bench(ctx, "bench")
    glob = globals_bench(ctx, "bench")
    res = {"build": "build/bench (FTF_SCHED_HOOKS=OFF, -O2, no libFuzzer instrumentation)",
           "slot_store": off or [], "globals": glob or {}, "doc_slots": DOC_SLOTS,
           "doc_globals": [{"variant": k[0], "invalidation": k[1], "seconds": v} for k, v in DOC_GLOBALS.items()],
           "ratios": []}
    by = {(r["case"], r["variant"]): r for r in (off or [])}
    for case in ("store_alone", "store_contended", "attr_idiv", "point_normalize"):
        a, b = by.get((case, "locked")), by.get((case, "lockfree_slots"))
        if a and b:
            doc = DOC_SLOTS.get(case)
            res["ratios"].append({"what": case, "ours": round(b["ns_per_op"] / a["ns_per_op"], 3),
                                  "doc": round(doc["lockfree_slots"] / doc["locked"], 3) if doc else None,
                                  # the same ratio repetition by repetition: median, min, max
                                  "paired": [b.get("ratio_median"), b.get("ratio_min"), b.get("ratio_max")]})
    if glob:
        g = {(r["variant"], r["invalidation"]): r["seconds"] for r in glob["rows"]}
        for v in ("trybegin_globals", "islocked_globals"):
            for inv in ("no", "yes"):
                if (v, inv) in g and ("locked", inv) in g:
                    d = DOC_GLOBALS.get((v, inv))
                    res["ratios"].append({"what": "LOAD_GLOBAL %s/locked, invalidation %s" % (v, inv),
                                          "ours": round(g[(v, inv)] / g[("locked", inv)], 3),
                                          "doc": round(d / DOC_GLOBALS[("locked", inv)], 3) if d else None})
    return res


def section_hooks(ctx, core):
    on = slot_bench(ctx, "bench-hooks")
    rows = []
    off = {(r["case"], r["variant"]): r for r in core.get("slot_store", [])}
    for r in on or []:
        o = off.get((r["case"], r["variant"]))
        if o:
            rows.append({"case": r["case"], "variant": r["variant"], "hooks_in_ns": r["ns_per_op"],
                         "hooks_out_ns": o["ns_per_op"], "unit": r["unit"],
                         "overhead_pct": round(100.0 * (r["ns_per_op"] / o["ns_per_op"] - 1.0), 1)})
    glob_on = globals_bench(ctx, "bench-hooks")
    grows = []
    goff = {(r["variant"], r["invalidation"]): r for r in core.get("globals", {}).get("rows", [])}
    for r in (glob_on or {}).get("rows", []):
        o = goff.get((r["variant"], r["invalidation"]))
        if o:
            grows.append({"variant": r["variant"], "invalidation": r["invalidation"], "hooks_in_s": r["seconds"],
                          "hooks_out_s": o["seconds"],
                          "overhead_pct": round(100.0 * (r["seconds"] / o["seconds"] - 1.0), 1)})
    return {"builds": "build/bench-hooks (hooks compiled in, none installed) vs build/bench (compiled out)",
            "slot_store": rows, "globals": grows}


# ---------------------------------------------------------------------------
# 5 and 6. Contention at scale, stable single-thread ratios (bench_contention.py).
def section_contention_and_stable(ctx, want, timed):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_contention
    if "contention" in want:
        log("bench: 5. contention at scale (real threads oversubscribed; the virtual-clock simulator)")
        timed("contention", bench_contention.measure_contention, ctx.root, ctx.quick, ctx.jobs, log)
    if "stable" in want:
        log("bench: 6. single-thread ratios with their spread")
        timed("stable_ratios", bench_contention.measure_stable, ctx.root, ctx.quick, log)


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--root", default=".")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--sections",
                    default="throughput,time_to_find,stress,ablation,core,hooks,contention,stable,search")
    args = ap.parse_args()
    ctx = Ctx(args)
    if ctx.ftf is None:
        raise SystemExit("bench: no ftf tool built (build/<preset>/tools/ftf)")
    want = set(args.sections.split(","))
    t0 = time.monotonic()
    doc = {"meta": {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": ("quick-lean" if ctx.lean else "quick") if ctx.quick else "full", "cpus": os.cpu_count(),
        "jobs": ctx.jobs, "lean": ctx.lean,
        "loadavg_start": list(os.getloadavg()),
        "stale_builds": [x for x in os.environ.get("FTF_BENCH_STALE", "").split(",") if x],
        "git": subprocess.run(["git", "-C", ctx.root, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().strip(),
        "dirty": bool(subprocess.run(["git", "-C", ctx.root, "status", "--porcelain", "--", "src", "fuzzers"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip())}}
    timings = doc["meta"]["section_s"] = {}

    def timed(name, f, *a):
        t = time.monotonic()
        doc[name] = f(*a)
        timings[name] = round(time.monotonic() - t, 1)

    try:
        vs = variants(ctx)
        if "throughput" in want:
            log("bench: 1. throughput")
            timed("throughput", section_throughput, ctx)
        if "time_to_find" in want:
            log("bench: 2. time to find each mutant")
            timed("time_to_find", section_time_to_find, ctx, vs)
        if "stress" in want and "time_to_find" in doc:
            log("bench: 2b. the stress test for the fuzzer's median time")
            timed("stress", section_stress, ctx, vs, doc["time_to_find"])
        if "ablation" in want:
            log("bench: 2c. ablations (coverage off, PCT off)")
            timed("ablation", section_ablation, ctx, vs)
        if "core" in want:
            log("bench: 3. the core against the seeds' tables (hooks compiled out)")
            timed("core_vs_seeds", section_core, ctx)
        if "hooks" in want and "core_vs_seeds" in doc:
            log("bench: 4. cost of the scheduling hooks")
            timed("hook_cost", section_hooks, ctx, doc["core_vs_seeds"])
        section_contention_and_stable(ctx, want, timed)
        if "search" in want:
            log("bench: 7. search from nothing: empty corpus, seeds minus detectors, stress test, ablations")
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import bench_search
            timed("search", bench_search.measure, ctx, vs, sys.modules[__name__])
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    doc["meta"]["loadavg_end"] = list(os.getloadavg())
    doc["meta"]["wall_s"] = round(time.monotonic() - t0, 1)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    log("bench: wrote %s (%.0f s)" % (args.out, doc["meta"]["wall_s"]))


if __name__ == "__main__":
    main()
