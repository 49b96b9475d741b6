#!/usr/bin/env python3
"""./ftfuzz confirm: does real CPython do what the model says?

Decodes FILE (crash file, corpus/regression input or text program) with
`ftf decode`, generates a race-amplified Python program (confirm_gen.py),
runs it on a real free-threaded interpreter until the time is up, and prints
one verdict line:

  confirmed: <what> (<count> in <secs> s, first after <t> s)
  not confirmed in <S> s

What counts: a read that returned the value written to another place (wrong
value), no round completed for --hang seconds (hang: the faulthandler
watchdog dumps every thread's stack and ends the process, which is then
started again), a ThreadSanitizer report (TSan build), or a crash (signal or
fatal error). Exit status: 1 confirmed, 0 not confirmed, 2 error.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import confirm_gen  # noqa: E402


def fail(msg):
    print("ftfuzz confirm: error: %s" % msg, file=sys.stderr)
    sys.exit(2)


class Observations:
    def __init__(self, t0):
        self.t0 = t0
        self.lock = threading.Lock()
        self.hits = []   # (seconds since start, kind, what)
        self.details = []

    def add(self, kind, what, detail=None):
        with self.lock:
            self.hits.append((time.monotonic() - self.t0, kind, what))
            if detail and len(self.details) < 6:
                self.details.append(detail)


def read_stdout(stream, obs, log):
    for line in stream:
        log.write(line)
        m = re.match(r"HIT [0-9.]+ (wrong value|unexpected exception): (.*)", line)
        if m:
            kind = "wrong value" if m.group(1) == "wrong value" else "unexpected exception"
            obs.add(kind, m.group(2).strip(), line.strip())


def read_stderr(stream, obs, log):
    report = None
    for line in stream:
        log.write(line)
        if "WARNING: ThreadSanitizer:" in line:
            report = [line]
            continue
        if report is not None:
            report.append(line)
            m = re.match(r"SUMMARY: ThreadSanitizer: (.*?) (\S+) in (\S+)", line)
            if m:
                where = "%s (%s)" % (m.group(3), os.path.basename(m.group(2)))
                obs.add("TSan report", "%s in %s" % (m.group(1), where), "".join(report[:40]))
                report = None


def run_once(args, program, report, seconds, obs, log):
    env = dict(os.environ)
    if args.tsan:
        supp = os.path.join(args.python_src, "Tools", "tsan", "suppressions_free_threading.txt")
        opts = ["halt_on_error=0", "second_deadlock_stack=1"]
        if os.path.exists(supp):
            opts.append("suppressions=" + supp)
        if os.path.exists("/usr/bin/llvm-symbolizer-19"):  # matches clang-19's runtime
            opts.append("external_symbolizer_path=/usr/bin/llvm-symbolizer-19")
        env["TSAN_OPTIONS"] = " ".join(opts + [env.get("TSAN_OPTIONS", "")]).strip()
    proc = subprocess.Popen([args.python, "-X", "faulthandler", program, "%.1f" % seconds],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    readers = [threading.Thread(target=read_stdout, args=(proc.stdout, obs, log)),
               threading.Thread(target=read_stderr, args=(proc.stderr, obs, log))]
    for r in readers:
        r.start()
    deadline = time.monotonic() + seconds + args.hang + 60
    killed = False
    while proc.poll() is None:
        enough = args.stop_after and len(obs.hits) >= args.stop_after
        if enough or time.monotonic() > deadline:
            killed = True  # our SIGKILL is not a crash
            proc.kill()
            proc.wait()
            break
        time.sleep(0.05)
    for r in readers:
        r.join()
    dump = open(report).read() if os.path.exists(report) else ""
    if "Timeout (" in dump:
        obs.add("hang", "no progress for %g s%s" % (args.hang, stuck_in(program, dump)), dump)
    elif (proc.returncode < 0 and not killed) or "Fatal Python error" in dump:
        obs.add("crash", "exit status %d" % proc.returncode, dump)
    return proc.returncode


def stuck_in(program, dump):
    """The operations the watchdog's dump shows threads in (the generated
    program has a `# <operation>` comment before each one)."""
    lines = open(program).read().splitlines()
    ops = {}
    for m in re.finditer(r'File "%s", line (\d+) in (op_t\d+)' % re.escape(program), dump):
        n = int(m.group(1)) - 1
        while n > 0 and not lines[n].startswith("    # "):
            n -= 1
        what = "%s: %s" % (m.group(2)[3:], lines[n][6:].strip())
        ops[what] = ops.get(what, 0) + 1
    if not ops:
        return ""
    return "; stuck in " + ", ".join("%s (%d thread%s)" % (w, c, "s" if c > 1 else "")
                                     for w, c in sorted(ops.items()))


def verdict(obs, seconds):
    if not obs.hits:
        return "not confirmed in %g s" % seconds, 0
    groups = {}
    for t, kind, what in obs.hits:
        key = (kind, what if kind != "wrong value" else re.sub(r"\S+#\d+", "", what))
        groups.setdefault(key, []).append(t)
    lines = []
    for (kind, what), times in sorted(groups.items(), key=lambda kv: kv[1][0]):
        lines.append("confirmed: %s: %s (%d in %.0f s, first after %.1f s)"
                     % (kind, what, len(times), seconds, min(times)))
    return "\n".join(lines), 1


def main():
    ap = argparse.ArgumentParser(prog="./ftfuzz confirm")
    ap.add_argument("file")
    ap.add_argument("--python", required=True, help="the interpreter to run")
    ap.add_argument("--python-src", default="", help="its source tree (TSan suppressions)")
    ap.add_argument("--ftf", required=True, help="the ftf tool (decode)")
    ap.add_argument("--variant", default="locked")
    ap.add_argument("--time", type=float, default=60)
    ap.add_argument("--tsan", action="store_true")
    ap.add_argument("--hang", type=float, default=10, help="seconds without progress that make a hang")
    ap.add_argument("--readers", type=int, default=max(4, min(16, 2 * (os.cpu_count() or 2))),
                    help="copies of each thread that only reads (default: 2 x cores, 4 to 16)")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N observations")
    ap.add_argument("--keep", default="", help="directory for the program, its output and dumps")
    args = ap.parse_args()
    if args.time <= 0 or args.hang <= 0:
        fail("--time and --hang must be positive")
    dec = subprocess.run([args.ftf, "decode", args.file], capture_output=True, text=True)
    if dec.returncode != 0:
        fail((dec.stderr.strip() or dec.stdout.strip() or "ftf decode failed").splitlines()[-1])
    work = args.keep or tempfile.mkdtemp(prefix="ftf-confirm-")
    os.makedirs(work, exist_ok=True)
    program = os.path.join(work, "confirm_program.py")
    report = os.path.join(work, "watchdog.txt")
    runtime = open(os.path.join(HERE, "confirm_runtime.py")).read()
    try:
        source = confirm_gen.generate(dec.stdout, runtime, args.hang, report, args.readers, 20e-6)
    except confirm_gen.ProgramError as e:
        fail(str(e))
    with open(program, "w") as f:
        f.write(source)
    print("ftfuzz confirm: %s, variant %s, on %s%s, up to %g s (program: %s)"
          % (args.file, args.variant, args.python, " (TSan)" if args.tsan else "", args.time, program))
    t0 = time.monotonic()
    obs = Observations(t0)
    runs = 0
    with open(os.path.join(work, "output.txt"), "w") as log:
        while True:
            left = args.time - (time.monotonic() - t0)
            if left < 1 or (args.stop_after and len(obs.hits) >= args.stop_after):
                break
            if os.path.exists(report):
                os.unlink(report)
            runs += 1
            rc = run_once(args, program, report, left, obs, log)
            if args.stop_after and len(obs.hits) >= args.stop_after:
                break
            if rc != 0 and not obs.hits:
                log.flush()
                tail = open(os.path.join(work, "output.txt")).read().splitlines()[-15:]
                fail("the program failed (exit %d): %s" % (rc, "\n".join(tail)))
    elapsed = time.monotonic() - t0
    text, status = verdict(obs, elapsed)
    print(text)
    for d in obs.details[:1]:
        print("---- first observation ----")
        print(d.rstrip()[:6000])
    print("ftfuzz confirm: %d run(s), %.0f s; output in %s" % (runs, elapsed, work))
    return status


if __name__ == "__main__":
    sys.exit(main())
