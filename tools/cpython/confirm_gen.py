"""Translate an ftfuzz text program into a race-amplified Python program.

The text form is what `ftf decode` prints (docs/input-format.md). The
translation keeps every operation's CPython entry point (the same C function
runs on the real interpreter as in the model) and changes only what makes the
model's interleaving likely on real threads:

* dict keys are 2 MB strings, and reads look them up with a probe equal to,
  but not the same object as, the key: the lock-free lookup
  (_Py_dict_lookup_threadsafe) then compares by content, so the window
  between its key match and its value load lasts a memcmp of 2 MB;
* threads that only read are run as several copies (more readers than cores);
* a thread that writes starts its round after a random pause of up to 1.5
  windows, and pauses up to 1/8 window between its operations (a whole
  window at a `yield`), so its steps land inside the readers' operations;
* values carry the place they were written to (confirm_runtime.V), so a wrong
  value is seen by its provenance, whatever the schedule.

LOAD_GLOBAL g becomes `G[probe(g)]`, falling back to B and NameError, the
lookups unspecialized LOAD_GLOBAL makes in 3.13 (_PyDict_LoadGlobal calls
_Py_dict_lookup_threadsafe on globals, then builtins); 3.13's free-threaded
build specializes nothing, so every operation takes its generic path.
"""
import re

KEY_LEN = 2 * 1024 * 1024


class ProgramError(Exception):
    pass


READ_ONLY_KINDS = {"new", "new_dict", "load_attr", "member_get", "dict_load", "load_global", "drop", "nop", "yield",
                   "start"}

_OPS = [  # (kind, regex) in the order tried; the text patterns are unambiguous
    ("new", r"r(\d+) = (T\d)\(\)"),
    ("set_class", r"([or]\d+)\.__class__ = (T\d)"),
    ("move", r"([or]\d+)\.([a-d]) = move r(\d+)"),
    ("store_attr", r"([or]\d+)\.([a-d]) = (\w+)"),
    ("load_attr", r"r(\d+) = ([or]\d+)\.([a-d])"),
    ("member_get", r"r(\d+) = member_get\(([or]\d+), ([a-d])\)"),
    ("member_set", r"member_set\(([or]\d+), ([a-d]), (\w+)\)"),
    ("member_del", r"member_del\(([or]\d+), ([a-d])\)"),
    ("modify_type", r"type_modified\((T\d)\)"),
    ("drop", r"del r(\d+)"),
    ("temp", r"globals\[_temp\] = 1; del globals\[_temp\]"),
    ("popitem", r"r(\d+) = globals\.popitem\(\)"),
    ("global_store", r"globals\[([gb]\d+)\] = (\w+)"),
    ("global_insert", r"globals\.setdefault\(([gb]\d+), (\w+)\)"),
    ("global_delete", r"del globals\[([gb]\d+)\]"),
    ("builtin_store", r"builtins\[([gb]\d+)\] = (\w+)"),
    ("builtin_delete", r"del builtins\[([gb]\d+)\]"),
    ("new_dict", r"r(\d+) = dict\(\)"),
    ("dict_load", r"r(\d+) = ([or]\d+)\[([gb]\d+)\]"),
    ("dict_store", r"([or]\d+)\[([gb]\d+)\] = (\w+)"),
    ("dict_delete", r"del ([or]\d+)\[([gb]\d+)\]"),
    ("load_global", r"r(\d+) = ([gb]\d+)"),
    ("gc_collect", r"gc_collect"),
    ("type_set_flags", r"type_set_flags\((T\d)\)"),
    ("type_set_abstract", r"type_set_abstract\((T\d)\)"),
    # `start tK`: every thread of a round is started together, so a thread
    # the model creates later is already running (docs/export.md): a no-op.
    ("start", r"start t(\d+)"),
    ("nop", r"quiescent"),
    ("yield", r"yield"),
]


class Program:
    def __init__(self):
        self.types = {}      # "T0" -> (base "T1" or None, [names it adds], has own __del__)
        self.objects = {}    # "o0" -> (type, {slot: "fresh"|"None"})
        self.globals = []    # names in insertion order
        self.builtins = []
        self.threads = {}    # thread index -> [(kind, groups, text)]
        self.deferred = []   # globals whose initial value is a function


def parse(text):
    p = Program()
    seen_version = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not seen_version:
            if not line.startswith("ftfuzz program"):
                raise ProgramError("line %d: not an ftfuzz text program" % n)
            seen_version = True
            continue
        m = re.fullmatch(r"type (T\d) (?:\((T\d)\) )?\((.*)\)( __del__)?", line)
        if m:
            names = [s.split(":")[0].strip() for s in m.group(3).split(",") if s.strip()]
            p.types[m.group(1)] = (m.group(2), names, bool(m.group(4)))
            continue
        m = re.fullmatch(r"deferred (.*)", line)
        if m:
            p.deferred = [] if m.group(1).strip() == "-" else m.group(1).split()
            continue
        # Which thread owns (made) the globals / builtins dict: the confirm
        # program builds its world in one thread, so ownership is not kept.
        if re.fullmatch(r"owner (globals|builtins) (t\d+|main)", line):
            continue
        m = re.fullmatch(r"object (o\d) = (T\d)\((.*)\)", line)
        if m:
            inits = {}
            for item in filter(None, (s.strip() for s in m.group(3).split(","))):
                slot, val = item.split("=")
                inits[slot.strip()] = val.strip()
            p.objects[m.group(1)] = (m.group(2), inits)
            continue
        m = re.fullmatch(r"(globals|builtins) (.*)", line)
        if m:
            names = [] if m.group(2).strip() == "-" else m.group(2).split()
            setattr(p, m.group(1), names)
            continue
        if re.fullmatch(r"(threads|schedule|bytes)\b.*", line):
            continue
        m = re.fullmatch(r"t(\d+)(?:\s+s\d+)?:\s*(.*)", line)
        if not m:
            raise ProgramError("line %d: unknown line %r" % (n, line))
        body = re.sub(r"\s+", " ", m.group(2).strip())
        for kind, rx in _OPS:
            om = re.fullmatch(rx, body)
            if om:
                p.threads.setdefault(int(m.group(1)), []).append((kind, om.groups(), body))
                break
        else:
            raise ProgramError("line %d: unknown operation %r" % (n, body))
    if not seen_version:
        raise ProgramError("no 'ftfuzz program' line: not a text program")
    if not p.threads:
        raise ProgramError("the program has no operations")
    return p


def _places_written_from_registers(p):
    """Places a register's value may be written to: their reads are not checked."""
    unchecked = set()
    for ops in p.threads.values():
        for kind, g, _ in ops:
            if kind == "move" or (kind in ("store_attr", "member_set") and not _is_literal(g[2])):
                unchecked.add("%s.%s" % (g[0], g[1]) if g[0].startswith("o") else "*")
            if kind in ("global_store", "global_insert", "builtin_store") and not _is_literal(g[1]):
                unchecked.add("name:" + g[0])
    if any(own_del for _, _, own_del in p.types.values()):
        unchecked.add("name:g7")  # a finalizer stores its object there
    return unchecked


def _is_literal(v):
    return v in ("fresh", "fresh_fn", "None")


class _Emitter:
    def __init__(self, p):
        self.p = p
        self.unchecked = _places_written_from_registers(p)
        self.lines = []

    def target(self, t):
        return "W.o[%r]" % t if t.startswith("o") else "R.get(%r, EMPTY)" % t

    def value(self, v, where):
        if v == "fresh":
            return "tagged_fresh(%r)" % where
        if v == "fresh_fn":
            return "tagged_fn(%r)" % where
        if v == "None":
            return "tagged_shared(%r)" % where
        if v.startswith("o"):
            return "W.o[%r]" % v
        return "R.get(%r, EMPTY)" % v

    def slot_allowed(self, t, s):
        place = "%s.%s" % (t, s)
        if not t.startswith("o") or place in self.unchecked or "*" in self.unchecked:
            return "None"
        return repr({place})

    def name_allowed(self, g):
        if "name:" + g in self.unchecked:
            return "None"
        return repr({"globals[%s]" % g, "builtins[%s]" % g})

    def op(self, kind, g, text, writer, first):
        e = []  # statements of the try block
        if writer and kind not in ("nop", "yield"):
            # A random start inside the readers' window, then the writer's
            # steps nearly back to back: the model's finding needs them all
            # inside one operation of the other thread.
            e.append("pause(rng.random() * PAUSE%s)" % ("" if first else " / 8"))
        if kind == "new":
            e.append("R[%r] = %s()" % ("r" + g[0], g[1]))
        elif kind == "set_class":
            e.append("%s.__class__ = %s" % (self.target(g[0]), g[1]))
        elif kind == "move":
            e.append("v = R.pop(%r, EMPTY)" % ("r" + g[2]))
            e.append("if v is not EMPTY: %s.%s = v" % (self.target(g[0]), g[1]))
        elif kind in ("store_attr", "member_set"):
            val = self.value(g[2], "%s.%s" % (g[0], g[1]))
            e.append("v = %s" % val)
            fmt = "%s.%s = v" if kind == "store_attr" else "setattr(%s, %r, v)"
            e.append("if v is not EMPTY: " + (fmt % (self.target(g[0]), g[1])))
        elif kind in ("load_attr", "member_get"):
            get = ("%s.%s" if kind == "load_attr" else "getattr(%s, %r)") % (self.target(g[1]), g[2])
            e.append("v = R[%r] = %s" % ("r" + g[0], get))
            e.append("check(hits, %r, v, %s)" % (text, self.slot_allowed(g[1], g[2])))
        elif kind == "member_del":
            e.append("delattr(%s, %r)" % (self.target(g[0]), g[1]))
        elif kind == "modify_type":
            e.append("%s._ftf_modified = None" % g[0])
        elif kind == "drop":
            e.append("R.pop(%r, None)" % ("r" + g[0]))
        elif kind == "temp":
            e.append("W.G[TEMP_KEY] = 1")
            e.append("pause(rng.random() * PAUSE)")
            e.append("del W.G[TEMP_KEY]")
        elif kind == "popitem":
            e.append("R[%r] = W.G.popitem()[1]" % ("r" + g[0]))
        elif kind in ("global_store", "builtin_store"):
            d = "W.G" if kind == "global_store" else "W.B"
            where = "%s[%s]" % ("globals" if d == "W.G" else "builtins", g[0])
            e.append("v = %s" % self.value(g[1], where))
            e.append("if v is not EMPTY: %s[KEY[%r]] = v" % (d, g[0]))
        elif kind == "global_insert":
            e.append("v = %s" % self.value(g[1], "globals[%s]" % g[0]))
            e.append("if v is not EMPTY: W.G.setdefault(KEY[%r], v)" % g[0])
        elif kind in ("global_delete", "builtin_delete"):
            e.append("del %s[KEY[%r]]" % ("W.G" if kind == "global_delete" else "W.B", g[0]))
        elif kind == "new_dict":
            e.append("R[%r] = {}" % ("r" + g[0]))
        elif kind == "dict_load":
            # A dict made in the run holds what its threads stored: no
            # wrong-value check of its own (the slot and global checks stay).
            e.append("R[%r] = %s[KEY[%r]]" % ("r" + g[0], self.target(g[1]), g[2]))
        elif kind == "dict_store":
            e.append("v = %s" % self.value(g[2], "%s[%s]" % (g[0], g[1])))
            e.append("if v is not EMPTY: %s[KEY[%r]] = v" % (self.target(g[0]), g[1]))
        elif kind == "dict_delete":
            e.append("del %s[KEY[%r]]" % (self.target(g[0]), g[1]))
        elif kind == "load_global":
            e.append("v = R[%r] = load_global(W, %r)" % ("r" + g[0], g[1]))
            e.append("check(hits, %r, v, %s)" % (text, self.name_allowed(g[1])))
        elif kind == "gc_collect":
            e.append("gc_collect()")
        elif kind == "type_set_flags":
            e.append("collections.abc.Sequence.register(%s)" % g[0])
        elif kind == "type_set_abstract":
            e.append("%s.__abstractmethods__ = frozenset()" % g[0])
        elif kind == "yield":
            e.append("pause(rng.random() * PAUSE)")
        else:
            e.append("pass")
        out = ["    # " + text, "    try:"]
        out += ["        " + s for s in e]
        out += ["    except LEGAL:", "        pass",
                "    except Exception as exc:", "        hits.unexpected(%r, exc)" % text]
        return out

    def emit(self, readers, window):
        p = self.p
        L = self.lines
        L.append("")
        L.append("# ---- generated by ./ftfuzz confirm from the program below ----")
        finalizers = any(own_del for _, _, own_del in p.types.values())
        if finalizers or any(k == "gc_collect" for ops in p.threads.values() for k, _, _ in ops):
            L.append("gc.disable()")
        if finalizers:
            # The model's __del__: `global g7; g7 = self`, only inside gc_collect.
            L.append("CURRENT = [None]")
            # (At interpreter exit the module's names are already None: nothing to do then.)
            L.append("def _ftf_del(self):\n    if GC_EXPLICIT and GC_EXPLICIT[0] and CURRENT and CURRENT[0] is not None:\n"
                     "        CURRENT[0].G[KEY['g7']] = self")
        for t, (base, names, own_del) in sorted(p.types.items()):
            L.append("class %s%s:\n    __slots__ = %r" % (t, "(%s)" % base if base else "", tuple(names)))
            if own_del:
                L.append("    __del__ = _ftf_del")
        L.append("EMPTY = object()")
        L.append("KEY_LEN = %d" % (KEY_LEN if self.uses_dict_reads() else 0))
        names = sorted(set(p.globals) | set(p.builtins) | self.dict_names() | {"_temp"}
                       | ({"g7"} if finalizers else set()))
        L.append("KEY = {n: ''.join([n, ':', 'k' * KEY_LEN]) for n in %r}" % names)
        L.append("PROBE = {n: ''.join([n, ':', 'k' * KEY_LEN]) for n in %r}" % names)
        L.append("TEMP_KEY = KEY['_temp']")
        L.append("WINDOW = measure_window(KEY, PROBE) if KEY_LEN else %r" % window)
        L.append("PAUSE = 1.5 * WINDOW")
        L.append("class World:\n    pass")
        L.append("def build_world():")
        L.append("    W = World()")
        L.append("    W.o = {}")
        for o, (t, inits) in sorted(p.objects.items()):
            L.append("    x = W.o[%r] = %s()" % (o, t))
            for s, v in inits.items():
                if v in ("fresh", "None"):
                    L.append("    x.%s = %s" % (s, self.value(v, "%s.%s" % (o, s))))
        L.append("    W.G = {KEY[n]: (tagged_fn if n in %r else tagged_fresh)('globals[%%s]' %% n) for n in %r}"
                 % (p.deferred, p.globals))
        L.append("    W.B = {KEY[n]: tagged_fresh('builtins[%%s]' %% n) for n in %r}" % p.builtins)
        if finalizers:
            L.append("    CURRENT[0] = W")
        L.append("    return W")
        L.append("def load_global(W, n):")
        L.append("    try:\n        return W.G[PROBE[n]]\n    except KeyError:\n        pass")
        L.append("    try:\n        return W.B[PROBE[n]]\n    except KeyError:\n        raise NameError(n)")
        workers = []
        for t, ops in sorted(p.threads.items()):
            writer = any(k not in READ_ONLY_KINDS for k, _, _ in ops)
            L.append("def op_t%d(W, R, rng, hits):" % t)
            if not writer:
                L.append("    pause(rng.random() * PAUSE / 6)")
            for i, (kind, g, text) in enumerate(ops):
                L.extend(self.op(kind, g, text, writer, i == 0))
            copies = 1 if writer else readers
            workers += ["('t%d#%d', op_t%d)" % (t, c, t) for c in range(copies)]
        L.append("WORKERS = [%s]" % ", ".join(workers))
        return "\n".join(L) + "\n"

    def uses_dict_reads(self):
        return any(k == "load_global" for ops in self.p.threads.values() for k, _, _ in ops)

    def dict_names(self):
        names = set()
        for ops in self.p.threads.values():
            for kind, g, _ in ops:
                if kind.startswith(("global_", "builtin_")):
                    names.add(g[0])
                if kind == "load_global":
                    names.add(g[1])
        return names


def generate(text, runtime_source, hang, report, readers, window):
    """The whole program: runtime, generated part, and the call of main()."""
    p = parse(text)
    body = _Emitter(p).emit(readers, window)
    header = "# ftfuzz confirm: the program this was generated from\n" + "".join(
        "#   " + line + "\n" for line in text.splitlines() if line.strip() and not line.startswith("#"))
    # Runnable by itself: `python3.13t confirm_program.py [SECONDS]`.
    tail = ("DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0\n"
            "CONFIG = dict(duration=DURATION, hang=%r, report=%r, window=WINDOW)\n"
            "if __name__ == '__main__':\n"
            "    main(CONFIG, build_world, WORKERS)\n" % (hang, report))
    return header + runtime_source + body + tail
