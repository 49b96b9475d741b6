#!/usr/bin/env python3
"""fuzz_driver.py - `./ftfuzz fuzz`: time-boxed libFuzzer campaigns.

One job per target and sanitizer (by default a tsan and an asan job per
target, two at a time: both cores, both builds). A job runs libFuzzer in
work/fuzz/<target>/ (work/fuzz-empty/<target>/, emptied first, with
--no-seeds: no seeds either) until its time is up, restarting it after each finding;
the tsan and asan jobs of a target share that corpus directory, and
libFuzzer's -reload (on) lets each pick up what the other found. Findings
are merged and deduplicated by root-cause signature (fuzz_findings.py).
While it runs it prints a status line per running job every few seconds and
each finding the moment it is found; at the end, a table.

Exit status: 0 no new finding, 1 new findings, 2 usage or build error,
130 interrupted. FTF_FUZZ_NO_BUILD=1 skips the build step (tests);
FTF_FUZZ_BUILD_DIR names other build trees ("{san}" for the sanitizer).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_findings  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANITIZERS = {"tsan": ["tsan"], "asan": ["asan"], "both": ["tsan", "asan"]}
STAT_RE = re.compile(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+).*?exec/s: (\d+)")
EXECS_RE = re.compile(r"^stat::number_of_executed_units: (\d+)")
CRASH_RE = re.compile(r"Test unit written to (\S+)")


def say(msg):
    print("ftfuzz: " + msg, file=sys.stderr, flush=True)


def die(msg):
    say("error: " + msg)
    sys.exit(2)


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    p = Parser(prog="./ftfuzz fuzz", add_help=False)
    p.add_argument("targets", nargs="*")
    p.add_argument("--variant", default="locked")
    p.add_argument("--sanitizer", default="both", choices=sorted(SANITIZERS))
    p.add_argument("--time", type=int, default=60, help="seconds per target and sanitizer")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--merge", action="store_true")
    p.add_argument("--no-seeds", action="store_true",
                   help="start from an empty corpus (work/fuzz-empty/<target>/, emptied first): no seeds, no merged corpus")
    p.add_argument("--status-every", type=float, default=10.0)
    p.add_argument("--known", default=os.path.join(ROOT, "findings", "known.json"))
    p.add_argument("--triage", metavar="INPUT",
                   help="no fuzzing: replay INPUT on the one TARGET and say whether it is new or known")
    a = p.parse_args(argv)
    if a.triage and (len(a.targets) != 1 or a.sanitizer == "both"):
        raise UsageError("--triage=INPUT needs one TARGET and --sanitizer=tsan or asan")
    if a.time <= 0 or a.jobs <= 0 or a.status_every <= 0:
        raise UsageError("--time, --jobs and --status-every must be positive")
    return a


def build_dir(san):
    # FTF_FUZZ_BUILD_DIR: a build tree other than build/<san> (the tests'
    # own); "{san}" in it stands for the sanitizer.
    d = os.environ.get("FTF_FUZZ_BUILD_DIR")
    return d.replace("{san}", san) if d else os.path.join(ROOT, "build", san)


def ftf(san):
    return os.path.join(build_dir(san), "tools", "ftf")


def fuzzer(san, target):
    return os.path.join(build_dir(san), "fuzzers", target)


def build(presets):
    """`./ftfuzz build` of each preset (incremental); a failure is exit 2."""
    log = os.path.join(ROOT, "build", "fuzz-build.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    for preset in presets:
        with open(log, "w") as out:
            rc = subprocess.call([os.path.join(ROOT, "ftfuzz"), "build", preset], stdout=out, stderr=out)
        if rc != 0:
            with open(log) as f:
                sys.stderr.write("".join(f.readlines()[-30:]))
            die("build of preset %s failed (log %s)" % (preset, log))


def check_args(a, sans):
    """Targets, variant and corpora, from the registries the build wrote."""
    tool = ftf(sans[0])
    code, out, err = fuzz_findings.run_tool([tool, "targets"])
    if code != 0:
        die("`ftf targets` failed: %s" % (err.strip() or out.strip()))
    known_targets = out.split()
    code, out, err = fuzz_findings.run_tool([tool, "variants", "--json"])
    if code != 0:
        die("`ftf variants --json` failed: %s" % (err.strip() or out.strip()))
    variants = [v["name"] for v in json.loads(out)]
    targets = a.targets or known_targets
    for t in targets:
        if t not in known_targets:
            die("unknown target '%s' (targets: %s)" % (t, " ".join(known_targets)))
        seeds = os.path.join(ROOT, "corpus", t, "seeds")
        if not a.no_seeds and not os.path.isdir(seeds) or not os.listdir(seeds):
            die("target %s has no seed corpus: %s is missing or empty" % (t, os.path.relpath(seeds, ROOT)))
    if a.variant not in variants:
        die("unknown variant '%s' (./ftfuzz variants lists them)" % a.variant)
    return targets


class Job:
    """libFuzzer on one target under one sanitizer, restarted after each finding."""

    def __init__(self, target, san, secs, variant, store, report, no_seeds=False):
        self.target, self.san, self.secs, self.variant = target, san, secs, variant
        self.store, self.report = store, report
        self.name = "%s/%s" % (target, san)
        # --no-seeds: a work directory of its own, so that neither the seeds
        # nor what earlier campaigns found in work/fuzz/ help the search.
        self.no_seeds = no_seeds
        self.work = os.path.join(ROOT, "work", "fuzz-empty" if no_seeds else "fuzz", target)
        self.state = "waiting"
        self.execs_done = 0  # in finished libFuzzer runs
        self.execs = self.cov = self.ft = 0
        self.started = self.ended = None
        self.runs = 0
        self.counts = {"new": 0, "known": 0, "seen": 0}
        self.keys = set()
        self.proc = None
        self.error = None
        self.note = None  # why the job ended before its time, if it did

    def total_execs(self):
        return self.execs_done + self.execs

    def rate(self):
        """Executions per second over the job so far (restarts included)."""
        if self.started is None:
            return 0
        secs = (self.ended or time.time()) - self.started
        return int(self.total_execs() / secs) if secs > 0 else 0

    def run(self):
        self.state = "running"
        self.started = time.time()
        corpus = os.path.join(self.work, "corpus")
        crashes = os.path.join(self.work, "crashes-" + self.san)
        os.makedirs(corpus, exist_ok=True)
        os.makedirs(crashes, exist_ok=True)
        # Seeds (and a merged corpus), never regressions/: those reproduce
        # known findings on purpose. A copy per sanitizer, from which a seed
        # that produced a finding is dropped: libFuzzer stops at the first
        # crash, so it would stop every restart before fuzzing at all.
        seeds = os.path.join(self.work, "seeds-" + self.san)
        shutil.rmtree(seeds, ignore_errors=True)
        os.makedirs(seeds)
        for d in () if self.no_seeds else ("seeds", "merged"):
            src = os.path.join(ROOT, "corpus", self.target, d)
            if os.path.isdir(src):
                for name in sorted(os.listdir(src)):
                    if os.path.isfile(os.path.join(src, name)):
                        shutil.copy(os.path.join(src, name), os.path.join(seeds, d + "-" + name))
        dirs = [seeds]
        extra = []
        dict_path = os.path.join(ROOT, "fuzzers", self.target + ".dict")
        if os.path.isfile(dict_path):
            extra.append("-dict=" + dict_path)
        log = os.path.join(self.work, "last-%s.log" % self.san)
        end = time.time() + self.secs
        quick_failures = 0
        while not STOP.is_set():
            left = int(end - time.time())
            if left <= 0:
                break
            self.runs += 1
            self.execs = 0
            t0 = time.time()
            args = [fuzzer(self.san, self.target), "-max_total_time=%d" % left, "-print_final_stats=1",
                    "-artifact_prefix=" + crashes + "/", "-timeout=25"] + extra + \
                   ["--variant=" + self.variant, corpus] + dirs
            crash = None
            with open(log, "w") as out:
                self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             text=True, errors="replace", cwd=self.work)
                for line in self.proc.stdout:
                    out.write(line)
                    m = STAT_RE.match(line)
                    if m:
                        # cov and ft: the most any run of this job reached
                        # (a restart begins again from the corpus).
                        execs, cov, ft, _ = (int(g) for g in m.groups())
                        self.execs, self.cov, self.ft = execs, max(self.cov, cov), max(self.ft, ft)
                    m = CRASH_RE.search(line)
                    if m:
                        crash = m.group(1)
                    m = EXECS_RE.match(line)
                    if m:
                        self.execs = int(m.group(1))
                rc = self.proc.wait()
            self.execs_done += self.execs
            self.execs = 0
            with open(log) as src, open(os.path.join(self.work, "runs-%s.log" % self.san), "a") as dst:
                dst.write(src.read())
            # 72: libFuzzer's exit status when interrupted (Ctrl-C reaches
            # the whole process group), not a finding.
            if rc == 0 or STOP.is_set() or (rc == 72 and crash is None):
                if not STOP.is_set() and end - time.time() > 5:
                    self.note = "libFuzzer stopped %ds early (exit %d); log %s" % (
                        end - time.time(), rc, os.path.relpath(log, ROOT))
                break
            if crash is None and time.time() - t0 < 5:
                quick_failures += 1
                if quick_failures >= 3:
                    self.error = "libFuzzer exits at once (exit %d), log %s" % (rc, os.path.relpath(log, ROOT))
                    break
            try:
                self.report(self, self.store.record(self.target, self.san, log, crash, rc))
            except fuzz_findings.ToolError as e:
                self.error = str(e)
                break
            if crash and os.path.exists(crash):
                drop_input(crash, [seeds, corpus])
                os.remove(crash)
        self.ended = time.time()
        self.state = "done"


STOP = threading.Event()


def sha1_of(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def drop_input(crash, dirs):
    """Removes copies of the crash input from the corpus directories."""
    digest = sha1_of(crash)
    for d in dirs:
        for name in os.listdir(d):
            p = os.path.join(d, name)
            try:
                if os.path.isfile(p) and sha1_of(p) == digest:
                    os.remove(p)
            except OSError:
                pass  # the other sanitizer's job removed it first


def main(argv):
    try:
        a = parse_args(argv)
    except UsageError as e:
        say("error: fuzz: %s (see ./ftfuzz help)" % e)
        return 2
    sans = SANITIZERS[a.sanitizer]
    if not os.environ.get("FTF_FUZZ_NO_BUILD"):
        build(sans)
    targets = check_args(a, sans)
    if a.triage:
        return triage(a, targets[0], sans[0])
    try:
        store = fuzz_findings.FindingStore(ROOT, ftf, fuzz_findings.KnownRegistry(a.known), a.variant)
    except fuzz_findings.ToolError as e:
        die(str(e))
    lock = threading.Lock()
    t_start = time.time()

    def stamp():
        return "[%5ds]" % (time.time() - t_start)

    def report(job, result):
        status, f, where, note, first = result
        with lock:
            if f.dedup_id() not in job.keys:
                job.keys.add(f.dedup_id())
                job.counts[status] += 1
            if not first:
                return
            word = {"new": "NEW FINDING", "known": "known finding", "seen": "seen before"}[status]
            sig = f.signature or "(no signature)"
            print("%s %-22s %s: %s %s (%s) -> %s" % (stamp(), job.name, word, f.kind, sig, f.cause, where), flush=True)
            if note:
                print("%s %-22s     %s" % (stamp(), "", note), flush=True)

    if a.no_seeds:
        for t in targets:  # empty once, before both sanitizers' jobs share it
            shutil.rmtree(os.path.join(ROOT, "work", "fuzz-empty", t), ignore_errors=True)
    jobs = [Job(t, s, a.time, a.variant, store, report, a.no_seeds) for t in targets for s in sans]
    say("fuzzing %s with variant %s under %s, %ds per target and sanitizer, %d jobs at a time"
        % (" ".join(targets), a.variant, "+".join(sans), a.time, a.jobs))
    pending = list(jobs)
    running = []
    last_status = time.time()
    try:
        while pending or running:
            running = [j for j in running if j.state != "done"]
            while pending and len(running) < a.jobs:
                j = pending.pop(0)
                threading.Thread(target=j.run, daemon=True).start()
                say("start %s" % j.name)
                running.append(j)
            time.sleep(0.2)
            if time.time() - last_status >= a.status_every:
                last_status = time.time()
                with lock:
                    for j in running:
                        if j.state == "running":
                            print("%s %-22s execs %9d  exec/s %5d  cov %5d  ft %6d  findings %d new, %d known"
                                  % (stamp(), j.name, j.total_execs(), j.rate(), j.cov, j.ft,
                                     j.counts["new"], j.counts["known"] + j.counts["seen"]), flush=True)
    except KeyboardInterrupt:
        say("interrupted: stopping")
        STOP.set()
        for j in running:
            if j.proc and j.proc.poll() is None:
                j.proc.terminate()
        for j in running:
            while j.state == "running":
                time.sleep(0.1)
    if a.merge and not STOP.is_set():
        for t in targets:
            dst = os.path.join(ROOT, "corpus", t, "merged")
            os.makedirs(dst, exist_ok=True)
            work = "fuzz-empty" if a.no_seeds else "fuzz"
            say("merging work/%s/%s/corpus into corpus/%s/merged" % (work, t, t))
            subprocess.call([fuzzer(sans[0], t), "-merge=1", dst, os.path.join(ROOT, "work", work, t, "corpus")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc = summary(jobs, store)
    return 130 if STOP.is_set() else rc


def triage(a, target, san):
    """One input through the same classification as a fuzzing finding."""
    if not os.path.isfile(a.triage):
        die("no such input: %s" % a.triage)
    try:
        known = fuzz_findings.KnownRegistry(a.known)
        p = subprocess.run([fuzzer(san, target), "--variant=" + a.variant, a.triage], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace", timeout=600)
        log = os.path.join(ROOT, "work", "triage-%d.log" % os.getpid())
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write(p.stdout)
        if p.returncode == 0:
            print("clean: %s gives no finding on %s under %s" % (a.triage, a.variant, san))
            return 0
        f = fuzz_findings.classify(ftf(san), log, p.returncode)
        entry, note = known.check(f, a.variant, lambda fix: fuzz_findings.run_tool(
            [ftf(san), "repro", a.triage, "--variant=" + fix], timeout=300)[0] == 0)
    except fuzz_findings.ToolError as e:
        die(str(e))
    sig = f.signature or "(no signature)"
    if entry is not None:
        print("known: %s %s -> %s (clean on %s)" % (f.kind, sig, entry["writeup"], entry["fixed_by"][a.variant]))
        print("    " + f.summary)
        return 0
    print("new: %s %s" % (f.kind, sig))
    print("    " + f.summary)
    if note:
        print("    " + note)
    return 1


def summary(jobs, store):
    print("\n%-16s %-5s %12s %7s %7s %7s %5s %6s %5s" % ("TARGET", "SAN", "EXECS", "EXEC/S", "COV", "FT", "NEW",
                                                       "KNOWN", "SEEN"))
    for j in jobs:
        print("%-16s %-5s %12d %7d %7d %7d %5d %6d %5d" % (j.target, j.san, j.total_execs(), j.rate(), j.cov, j.ft,
                                                         j.counts["new"], j.counts["known"], j.counts["seen"]))
    new = sorted((where, key) for key, (status, where) in store.seen.items() if status == "new")
    kinds = {where: sorted(store.kinds.get(key, ())) for where, key in new}
    known = sorted({where for status, where in store.seen.values() if status == "known"})
    causes = []
    for where, _ in new:
        cause = ""
        try:
            with open(os.path.join(ROOT, where, "finding.json")) as f:
                cause = json.load(f).get("cause", "")
        except (OSError, ValueError):
            pass
        causes.append(cause)
        print("    new finding: %-52s %s (seen as %s)" % (where, cause, "+".join(kinds[where]) or "?"))
    # A hint, not a merge: one defect can give several signatures (a plain
    # store racing with each of its readers); the core sites most new
    # findings share point at it.
    shared = {}
    for cause in causes:
        for site in set(re.findall(r"\b\w+/\w+\.cc:\d+", cause)):
            shared[site] = shared.get(site, 0) + 1
    top = sorted(((n, site) for site, n in shared.items() if n >= 2), reverse=True)[:3]
    for n, site in top:
        print("    %d of the %d new findings involve %s" % (n, len(new), site))
    for where in known:
        print("    known finding: %s" % where)
    for j in jobs:
        if j.note:
            say("note: %s: %s" % (j.name, j.note))
    errors = [j for j in jobs if j.error]
    for j in errors:
        say("error: %s: %s" % (j.name, j.error))
    if errors:
        return 2
    print("%d new finding(s) (deduplicated by signature over every target and sanitizer)" % len(new))
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
