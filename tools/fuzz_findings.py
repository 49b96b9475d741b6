"""fuzz_findings.py - what `./ftfuzz fuzz` does with a finding.

A finding is read only through `ftf classify LOG` (kind, SUMMARY line,
root-cause signature, cause), deduplicated by its signature's hash across
targets, sanitizers and kinds (the hash is of the cause alone: one defect
seen as a DATA_RACE under TSan and as a USE_AFTER_FREE under ASan is one
finding, which lists both kinds), and checked against the known findings of
findings/known.json: a finding is known only if it matches an entry (a
signature or a SUMMARY line of it), was found on a variant the entry names
in `fixed_by`, and its crash input replays clean on the fixing variant.
Anything else is new; a new finding that matches an entry says so
("resembles ...").
"""

import json
import os
import re
import shutil
import subprocess


class ToolError(Exception):
    """A build or tool problem: the driver stops with exit status 2."""


def run_tool(args, timeout=120):
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %ds" % timeout
    except OSError as e:
        raise ToolError("cannot run %s: %s" % (args[0], e))
    return p.returncode, p.stdout, p.stderr


class Finding:
    def __init__(self, kind, summary, signature, cause):
        self.kind = kind
        self.summary = summary
        self.signature = signature  # "ftfuzz: KIND HEX cause..." or a stand-in
        self.cause = cause

    def key(self):
        """The directory name: KIND-<signature hash> (the kind it was first seen as)."""
        k = signature_key(self.kind, self.signature)
        return "%s-%s" % k if k else "%s-unclassified" % self.kind

    def dedup_id(self):
        """The dedup key: the signature hash alone (kind-independent)."""
        k = signature_key(self.kind, self.signature)
        return k[1] if k else "%s-unclassified" % self.kind


def classify(ftf, log_path, rc):
    """The finding in a libFuzzer log, as `ftf classify` reads it."""
    code, out, err = run_tool([ftf, "classify", log_path])
    if code == 0:
        try:
            j = json.loads(out)
            return Finding(j.get("kind", "UNKNOWN"), j.get("summary", ""), j.get("signature", ""),
                           j.get("cause", ""))
        except ValueError:
            raise ToolError("ftf classify %s printed no JSON object: %s" % (log_path, out.strip()[:200]))
    if code == 1:
        # No ftfuzz finding: libFuzzer stopped for its own reason (timeout,
        # out of memory, a crash outside the harness). Kept, never dropped.
        return Finding("UNKNOWN", "", "", "libFuzzer exit status %d, no ftfuzz report" % rc)
    raise ToolError("ftf classify failed (exit %d): %s" % (code, (err or out).strip()[:300]))


def signature_key(kind, sig):
    """(KIND, 16-hex hash) of a signature: `ftf classify` gives the bare hash,
    a report's SIGNATURE line and findings/known.json `KIND HASH ...`."""
    m = re.search(r"(?:([A-Z_]+) )?\b([0-9a-f]{16})\b", sig or "")
    if not m:
        return None
    return (m.group(1) or kind, m.group(2))


class KnownRegistry:
    def __init__(self, path):
        self.path = path
        try:
            with open(path) as f:
                self.entries = json.load(f)["known"]
        except (OSError, ValueError, KeyError) as e:
            raise ToolError("cannot read the known findings %s: %s" % (path, e))

    def matches(self, finding):
        """The entries the finding resembles: same signature or same SUMMARY."""
        out = []
        fkey = signature_key(finding.kind, finding.signature)
        for e in self.entries:
            sigs = {signature_key(None, s)[1] for s in e.get("signatures", []) if signature_key(None, s)}
            if (fkey and fkey[1] in sigs) or (finding.summary and finding.summary in e.get("summaries", [])):
                out.append(e)
        return out

    def check(self, finding, variant, replay_clean):
        """(entry, None) when known; (None, note) when new. replay_clean(fix)
        replays the finding's input on variant `fix` and says if it is clean."""
        notes = []
        for e in self.matches(finding):
            fix = e.get("fixed_by", {}).get(variant)
            if fix is None:
                notes.append("resembles %s (%s), but no fix of it is modelled for variant %s" %
                             (e["name"], e["writeup"], variant))
                continue
            if replay_clean(fix):
                return e, None
            notes.append("resembles %s (%s), but its input still fails on the fixing variant %s" %
                         (e["name"], e["writeup"], fix))
        return None, "; ".join(notes) or None


class FindingStore:
    """findings/<target>/<KIND>-<hash>/, one directory per signature."""

    def __init__(self, root, ftf_for, known, variant):
        self.root = root
        self.ftf_for = ftf_for  # sanitizer -> ftf binary of that preset
        self.known = known
        self.variant = variant
        # dedup id -> (status, where): recorded by an earlier run ("seen"),
        # or by this one ("new" / "known").
        self.seen = {}
        # dedup id -> the kinds it was seen as in this run
        self.kinds = {}
        for t in sorted(os.listdir(os.path.join(root, "findings"))):
            d = os.path.join(root, "findings", t)
            if os.path.isdir(d):
                for k in os.listdir(d):
                    # KIND-<hash>: the hash is the dedup id; KIND-unclassified stays whole.
                    h = k.rsplit("-", 1)[-1]
                    key = h if re.fullmatch(r"[0-9a-f]{16}", h) else k
                    self.seen.setdefault(key, ("seen", os.path.join("findings", t, k)))

    def replay_clean(self, san, target, inp, fix):
        code, out, err = run_tool([self.ftf_for(san), "repro", inp, "--variant=" + fix], timeout=300)
        return code == 0

    def record(self, target, san, log_path, crash, rc):
        """Returns (status, finding, where, note, first): status new, known
        or seen (recorded by an earlier run); first: not met before in this run."""
        f = classify(self.ftf_for(san), log_path, rc)
        key = f.dedup_id()
        self.kinds.setdefault(key, set()).add(f.kind)
        if key in self.seen:
            status, where = self.seen[key]
            return status, f, where, None, False
        entry, note = None, None
        if crash and os.path.isfile(crash):
            entry, note = self.known.check(f, self.variant,
                                           lambda fix: self.replay_clean(san, target, crash, fix))
        if entry is not None:
            self.seen[key] = ("known", entry["writeup"])
            return "known", f, entry["writeup"], None, True
        rel = os.path.join("findings", target, f.key())
        d = os.path.join(self.root, rel)
        os.makedirs(d, exist_ok=True)
        shutil.copy(log_path, os.path.join(d, "report.txt"))
        if crash and os.path.isfile(crash):
            shutil.copy(crash, os.path.join(d, "input"))
            code, out, _ = run_tool([self.ftf_for(san), "decode", crash])
            if code == 0:
                with open(os.path.join(d, "program.txt"), "w") as p:
                    p.write(out)
        with open(os.path.join(d, "finding.json"), "w") as p:
            json.dump({"kind": f.kind, "summary": f.summary, "signature": f.signature, "cause": f.cause,
                       "target": target, "sanitizer": san, "variant": self.variant,
                       "resembles": note or ""}, p, indent=2)
            p.write("\n")
        self.seen[key] = ("new", rel)
        return "new", f, rel, note, True
