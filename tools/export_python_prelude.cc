// export_python_prelude.cc - the fixed Python parts of an exported script
// (see export_python.h and docs/export.md). Kept as Python text so the
// script reads top to bottom: prelude, generated world and operations, main.

#include "tools/export_python.h"

namespace ftf::tools {

const char* PythonPrelude() {
  return R"PY(
import collections.abc
import gc
import re
import sys
import threading
import types as _types


class _Empty:
    """What an empty slot or register holds (NULL in the model)."""
    __slots__ = ()

    def __repr__(self):
        return '<empty>'


EMPTY = _Empty()
_NOLOAD = _Empty()   # an operation that loads nothing


class _EmptyRegister(Exception):
    """The operation names a register that holds nothing: the model skips it."""


class _ObjMember:
    """A _Py_T_OBJECT member (Python's __slots__ only make Py_T_OBJECT_EX):
    the real member descriptor of the slot, except that an empty slot reads
    as None and deleting an empty slot is not an error (PyMember_GetOne /
    PyMember_SetOne, Python/structmember.c). Replacing the descriptor in the
    class dict keeps the layout, so __class__ assignment is unaffected."""
    __slots__ = ('raw',)

    def __init__(self, raw):
        self.raw = raw

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        try:
            return self.raw.__get__(obj, cls)
        except AttributeError:
            return None

    def __set__(self, obj, value):
        self.raw.__set__(obj, value)

    def __delete__(self, obj):
        try:
            self.raw.__delete__(obj)
        except AttributeError:
            pass


class _NoAttr:
    """A name a..d that a type with __dict__ has no slot for: the model keeps
    no instance dict contents, so it stays an AttributeError. A data
    descriptor in the class dict, so the layout (and __class__ assignment)
    is unaffected and a subtype's own slot of that name shadows it."""
    __slots__ = ('name',)

    def __init__(self, name):
        self.name = name

    def _fail(self, obj):
        raise AttributeError("'%s' object has no attribute '%s'" % (type(obj).__name__, self.name))

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        self._fail(obj)

    def __set__(self, obj, value):
        self._fail(obj)

    def __delete__(self, obj):
        self._fail(obj)


def _all_slots(cls):
    """The slot names of cls's layout, its bases' first."""
    names = []
    for k in reversed(cls.__mro__):
        names.extend(n for n in k.__dict__.get('__slots__', ()) if n not in ('__dict__', '__weakref__'))
    return names


def _load_site(name):
    """A LOAD_ATTR instruction of its own (its own code object, so its own
    inline cache): the model's site."""
    ns = {}
    exec('def site(x):\n    return x.%s\n' % name, ns)
    return ns['site']


def _store_site(name):
    """A STORE_ATTR instruction of its own."""
    ns = {}
    exec('def site(x, v):\n    x.%s = v\n' % name, ns)
    return ns['site']


def _global_site(name):
    """A LOAD_GLOBAL instruction of its own, whose globals are G and whose
    builtins are B (captured when the function is made; '__builtins__' is
    then removed from G so G holds only the program's names)."""
    ns = {}
    exec('def site():\n    return %s\n' % name, ns)
    G['__builtins__'] = B
    try:
        return _types.FunctionType(ns['site'].__code__, G, 'load_' + name)
    finally:
        del G['__builtins__']


OPTIONS = {'lenient_temp': False}
G = {}   # the program's module globals
B = {}   # the program's builtins

# The model collects cycles only at gc_collect, and a type's __del__ acts only
# when that collection calls it (the model has no finalizer on the dealloc
# path): automatic collection is off, and __del__ checks the flag.
gc.disable()
_GC_EXPLICIT = [False]


def _reachable(W):
    """The T0..T3 instances the roots reach (registers, shared objects,
    globals, builtins), through their slots: id -> object."""
    seen = {}
    stack = [v for v in list(W.O) + [v for row in W.R for v in row] + list(G.values()) + list(B.values())
             if isinstance(v, TYPES)]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen[id(x)] = x
        stack.extend(v for v in (_peek(x, n) for n in _all_slots(type(x))) if isinstance(v, TYPES))
    return seen


def _gc_collect(W):
    """gc.collect() as the model's gc_collect. W.OBJ (kept for identity
    checks) must not keep alive what no root reaches: those entries are
    dropped first, and the ones a finalizer resurrected are put back."""
    live = _reachable(W)
    dropped = {id(x): oid for oid, x in list(W.OBJ.items()) if isinstance(x, TYPES) and id(x) not in live}
    for oid in dropped.values():
        del W.OBJ[oid]
    live = None
    _GC_EXPLICIT[0] = True
    try:
        gc.collect()
    finally:
        _GC_EXPLICIT[0] = False
    for i, x in _reachable(W).items():
        if i in dropped:
            W.OBJ[dropped[i]] = x


def _finalizer(self):
    """__del__ of a type marked __del__: global g7; g7 = self (resurrection)."""
    if _GC_EXPLICIT[0]:
        G['g7'] = self


class World:
    """One run's state: shared objects O, registers R[t][r], and OBJ, the
    Python object of every model object id (for identity checks)."""
    __slots__ = ('O', 'R', 'OBJ')


def _call(W, f):
    """(result, loaded object) of an operation; for an error, (its class, its
    message): the serial check compares both with the model's (MSG)."""
    try:
        return ('ok', f(W))
    except _EmptyRegister:
        return ('empty-register', _NOLOAD)
    except (AttributeError, TypeError, NameError, KeyError) as e:
        return (type(e).__name__, str(e))


def _run_entry(W, entry, results):
    """Runs one ORDER entry (t, i, part): part 0 is a whole operation, parts
    1 and 2 the two halves of a two-step one. Records (result, loaded) per
    operation: the first error of its parts, the load of its last part.
    After a thread's last operation its registers die with it, as in the
    model (its locals are released when the thread ends)."""
    t, i, part = entry
    f = OPS[t][i]
    if part:
        f = f[part - 1]
    res, got = _call(W, f)
    if part != 2 or results[(t, i)][0] == 'ok':
        results[(t, i)] = (res, got)   # else the first half's error is the operation's
    if i == len(OPS[t]) - 1 and part != 1:
        W.R[t] = [EMPTY] * len(W.R[t])


def _obj(W, oid):
    if oid == 0:
        return None
    if oid < 0:
        return EMPTY
    return W.OBJ.get(oid, ('missing', oid))


def _describe(W, value):
    if value is None:
        return 'None'
    if value is EMPTY:
        return 'empty'
    for oid, o in W.OBJ.items():
        if o is value:
            return NAMES.get(oid, '#%d' % oid)
    return '%s object at 0x%x (not a model object)' % (type(value).__name__, id(value))


def _peek(x, name):
    """The raw content of slot `name` of x (EMPTY when NULL); the slot may
    be inherited."""
    d = next((k.__dict__[name] for k in type(x).__mro__ if name in k.__dict__), None)
    if isinstance(d, _NoAttr):
        d = None
    if isinstance(d, _ObjMember):
        d = d.raw
    if d is None:
        return ('no slot', name)
    try:
        return d.__get__(x, type(x))
    except AttributeError:
        return EMPTY


def _where(t, i):
    return 't%d op %d (%s)' % (t, i, TEXT[t][i])


def _check_op(W, t, i, results):
    """The difference between operation (t, i)'s result and the model's, or None."""
    exp_res, exp_id = EXPECT[(t, i)]
    res, got = results.get((t, i), ('not run', _NOLOAD))
    if res != exp_res:
        return '%s: model %s, python %s' % (_where(t, i), exp_res, res)
    pattern = MSG.get((t, i))
    if pattern is not None and not re.fullmatch(pattern, got):
        return '%s: model %s matching %r, python %s(%r)' % (_where(t, i), exp_res, pattern, res, got)
    if exp_id >= 0 and got is not _obj(W, exp_id):
        return '%s: model loaded %s, python loaded %s' % (
            _where(t, i), NAMES.get(exp_id, '#%d' % exp_id), _describe(W, got))
    return None


def _final_diff(W):
    """The differences between the final state and the model's."""
    out = []
    if FINAL_OBJECTS is None:
        return out
    for n, (k, slots) in enumerate(FINAL_OBJECTS):
        x = W.O[n]
        if type(x) is not TYPES[k]:
            out.append('final: o%d is a %s in python, a T%d in the model' % (n, type(x).__name__, k))
            continue
        for name, oid in slots:
            got = _peek(x, name)
            if got is not _obj(W, oid):
                out.append('final: o%d.%s is %s in the model, %s in python'
                           % (n, name, NAMES.get(oid, 'empty' if oid < 0 else '#%d' % oid),
                              _describe(W, got)))
    for label, d, exp in (('globals', G, FINAL_GLOBALS), ('builtins', B, FINAL_BUILTINS)):
        got = [(k, v) for k, v in d.items()]
        want = [(k, _obj(W, oid)) for k, oid in exp]
        if len(got) != len(want) or any(gk != wk or gv is not wv
                                         for (gk, gv), (wk, wv) in zip(got, want)):
            out.append('final: %s are [%s] in the model, [%s] in python' % (
                label,
                ', '.join('%s=%s' % (k, NAMES.get(oid, '#%d' % oid)) for k, oid in exp),
                ', '.join('%s=%s' % (k, _describe(W, v)) for k, v in got)))
    return out


def _compare(W, results, order):
    out = []
    for (t, i, part) in order:
        if part != 1:
            d = _check_op(W, t, i, results)
            if d:
                out.append(d)
    return out + _final_diff(W)


def _replay(prefix, counter=None):
    W = build()
    results = {}
    for e in prefix:
        _run_entry(W, e, results)
    if counter is not None:
        counter[0] += len(prefix)
    return W, results


class _Budget(Exception):
    pass


def linearize(budget=None):
    """Looks for a serial order of the operations under which this Python
    reproduces every result of the model's run: each thread's operations in
    program order, and an operation that ended (in the model's run) before
    another started stays before it; operations that overlapped may be
    ordered either way, ORDER's way first.

    Many orders lead to the same state (two threads' `globals[_temp] = 1;
    del globals[_temp]` commute): a state (each thread's next operation and
    everything the remaining operations can observe, _state_key) from which
    no order succeeded is remembered and not searched again, so the search
    is complete for far larger programs. It stops after `budget` operations
    run. Returns (order, [], tries, True) on success, (the deepest order
    tried, its differences, tries, True) when no allowed order reproduces
    the model, and (..., tries, False) when the budget ran out first."""
    budget = SEARCH_BUDGET if budget is None else budget
    threads = sorted(set(t for (t, _, _) in ORDER))
    queues = {t: [e for e in ORDER if e[0] == t] for t in threads}
    rank = {e: k for k, e in enumerate(ORDER)}
    tries = [0]
    best = [[], ['no order tried']]
    failed = set()
    keepalive = []

    def note(prefix, diff):
        if len(prefix) > len(best[0]) or (len(prefix) == len(best[0]) and len(diff) < len(best[1])):
            best[0], best[1] = list(prefix), diff

    def rec(W, results, prefix, heads):
        key = _state_key(W, results, heads, queues, keepalive)
        if key in failed:
            return False
        if len(prefix) == len(ORDER):
            diff = _final_diff(W)
            if not diff:
                return True
            note(prefix, diff)
            return False
        live = [(t, queues[t][heads[t]]) for t in threads if heads[t] < len(queues[t])]
        cands = []
        for t, e in live:
            start = SPAN[(e[0], e[1])][0]
            if all(SPAN[(f[0], f[1])][1] >= start for u, f in live if u != t):
                cands.append(e)
        cands.sort(key=rank.__getitem__)
        fresh = True
        for e in cands:
            if not fresh:
                W, results = _replay(prefix, tries)
            fresh = False
            tries[0] += 1
            if tries[0] > budget:
                raise _Budget()
            _run_entry(W, e, results)
            prefix.append(e)
            d = _check_op(W, e[0], e[1], results) if e[2] != 1 else None
            if d:
                note(prefix, [d])
            else:
                heads[e[0]] += 1
                if rec(W, results, prefix, heads):
                    return True
                heads[e[0]] -= 1
            prefix.pop()
        failed.add(key)
        return False

    W, results = _replay([])
    prefix = []
    try:
        if rec(W, results, prefix, {t: 0 for t in threads}):
            return list(prefix), [], tries[0], True
    except _Budget:
        return best[0], best[1], tries[0], False
    return best[0], best[1], tries[0], True


def _state_key(W, results, heads, queues, keepalive):
    """What the rest of a search can depend on: each thread's position, the
    contents of every model object, register and dict (objects named by
    their model id; any other object by its identity, so two states holding
    different such objects never look alike: `keepalive` holds them so no
    id is reused during the search), and the first half's result
    of a two-step operation under way."""
    ids = {id(x): oid for oid, x in W.OBJ.items()}

    def name(v):
        if v is None or v is EMPTY:
            return repr(v)
        if id(v) in ids:
            return ids[id(v)]
        keepalive.append(v)   # its id stays its own for the whole search
        return ('other', id(v))

    objs = tuple((oid, type(x).__name__, tuple(name(_peek(x, n)) for n in _all_slots(type(x))))
                 for oid, x in sorted(W.OBJ.items()))
    regs = tuple(tuple(name(v) for v in row) for row in W.R)
    dicts = tuple(tuple((k, name(v)) for k, v in d.items()) for d in (G, B))
    pending = []
    for t in sorted(heads):
        if heads[t] < len(queues[t]):
            e = queues[t][heads[t]]
            if e[2] == 2:
                pending.append((t, results.get((e[0], e[1]))))
    return (tuple(sorted(heads.items())), objs, regs, dicts, tuple(pending))


def serial_check(lenient_temp=False, budget=None):
    """Runs the operations once, one by one, in ORDER, or if that does not
    reproduce the model's results, searches the other orders the model's run
    allows (linearize). Returns (verdict, order, differences, tries):
    'agree', 'differ' (no allowed order reproduces the model) or 'undecided'
    (the search budget ran out before either was shown)."""
    OPTIONS['lenient_temp'] = lenient_temp
    W, results = _replay(ORDER)
    if not _compare(W, results, ORDER):
        return 'agree', ORDER, [], 0
    order, diff, tries, decided = linearize(budget)
    if not decided:
        return 'undecided', order, diff, tries
    return ('differ' if diff else 'agree'), order, diff, tries


def run_threaded(loops, overlap=False, order=None):
    """One Python thread per logical thread; an operation starts when the
    previous one in ORDER has finished (or, with overlap, started). Returns
    (loops that agreed with the model, first differences seen)."""
    order = ORDER if order is None else order
    per_thread = [[] for _ in range(NTHREADS)]
    for pos, e in enumerate(order):
        per_thread[e[0]].append((pos, e))
    agreed = 0
    first = []
    for _ in range(loops):
        W = build()
        cond = threading.Condition()
        state = [0, 0]   # operations started, finished
        results = {}

        def body(t, W=W, cond=cond, state=state, results=results):
            for pos, e in per_thread[t]:
                with cond:
                    while (state[0] if overlap else state[1]) != pos:
                        cond.wait()
                    state[0] += 1
                    cond.notify_all()
                _run_entry(W, e, results)
                with cond:
                    state[1] += 1
                    cond.notify_all()

        threads = [threading.Thread(target=body, args=(t,)) for t in range(NTHREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        diff = _compare(W, results, order)
        if diff:
            first = first or diff
        else:
            agreed += 1
    return agreed, first
)PY";
}

}  // namespace ftf::tools
