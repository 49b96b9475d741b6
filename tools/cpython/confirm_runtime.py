# The fixed part of a program `./ftfuzz confirm` runs on a real interpreter.
# confirm_gen.py appends the program-specific part: the types, build_world(),
# one function per logical thread (op_tN) and the CONFIG dict, then calls
# main(). Written for CPython 3.13 free-threaded builds; runs on any 3.x.
#
# The program runs rounds. At the start of a round every worker thread waits
# at a barrier whose action builds a fresh world (the model's initial state);
# then each runs its operations once, with random pauses where a race wants
# the other thread's steps to land inside an operation (amplification). Every
# read checks the provenance of what it got: values are tagged with the place
# they were written to, so a read of `g7` that returns the value written to
# `b2` is a wrong value, whatever the schedule. A hang is left to the
# faulthandler watchdog, re-armed while rounds progress: if none completes for
# HANG seconds it dumps every thread's Python stack and exits the process.
import collections.abc
import faulthandler
import gc
import os
import sys
import threading
import time
import types
import weakref


class V:
    """A value written by the program; `where` names the place it was written to."""
    __slots__ = ("where", "__weakref__")

    def __init__(self, where):
        self.where = where


def tagged_shared(where):
    # The model's None: an object every thread can take a reference to at
    # once (None is immortal). A weak reference sets the object's
    # maybe-weakref flag, so _Py_TryIncRefShared never refuses it; a plain
    # new object owned by the writer (shared count 0) would send a lock-free
    # reader to its locked fallback and hide the race being looked for.
    # The flag stays when the weak reference dies.
    v = V(where)
    weakref.ref(v)
    return v


def tagged_fresh(where):
    # The model's `fresh`: a new object owned by the thread that makes it.
    return V(where)


def tagged_fn(where):
    # The model's `fresh_fn` and a `deferred` global: a new function object
    # (CPython gives functions deferred reference counting). Its provenance
    # is an attribute: functions have a __dict__.
    def fn():
        pass
    fn.ftf_where = where
    return fn


def where_of(value):
    # The place a tagged value was written to, or None for any other object.
    if isinstance(value, V):
        return value.where
    if isinstance(value, types.FunctionType):
        return getattr(value, "ftf_where", None)
    return None


# gc_collect: the model's finalizers run only inside a collection it asks
# for (its `__del__` types store themselves into g7 there), so automatic
# collection is off in programs that use it and `__del__` checks this flag.
GC_EXPLICIT = [False]


def gc_collect():
    GC_EXPLICIT[0] = True
    try:
        gc.collect()
    finally:
        GC_EXPLICIT[0] = False


def pause(seconds):
    # A busy wait: sleep() has a granularity far above a memcmp's duration.
    if seconds <= 0:
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def measure_window(keys, probes):
    """How long a lookup's key compare lasts: the median of a few 2 MB compares."""
    times = []
    for n in keys:
        for _ in range(5):
            start = time.perf_counter()
            keys[n] == probes[n]
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


class Rng:
    """xorshift64: the program needs no extension module (random needs math),
    so it runs on an interpreter built without them (the TSan build)."""

    def __init__(self, seed):
        self.x = (seed * 0x9E3779B97F4A7C15 + 1) & 0xFFFFFFFFFFFFFFFF

    def random(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        self.x = x
        return (x >> 11) / float(1 << 53)


class Hits:
    def __init__(self, t0):
        self.t0 = t0
        self.lock = threading.Lock()
        self.count = 0

    def wrong(self, what):
        self._hit("wrong value: %s" % what)

    def _hit(self, text):
        # Under the lock: print() writes the text and the newline separately,
        # and another thread's line could come in between.
        with self.lock:
            self.count += 1
            sys.stdout.write("HIT %.3f %s\n" % (time.monotonic() - self.t0, text))
            sys.stdout.flush()

    def unexpected(self, what, exc):
        self._hit("unexpected exception: %s: %r" % (what, exc))


def check(hits, what, value, allowed):
    """A read of a place got `value`; `allowed` is the set of tags it may carry (None: a
    place a register's value may be written to, not checked)."""
    if allowed is None:
        return
    where = where_of(value)
    if where is None:
        # Only tagged values are ever written to a checked place.
        hits.wrong("%s returned a %s object, never written there" % (what, type(value).__name__))
    elif where not in allowed:
        hits.wrong("%s returned the value written to %s" % (what, where))


LEGAL = (AttributeError, TypeError, NameError, KeyError)


def main(config, build_world, workers):
    duration = config["duration"]
    hang = config["hang"]
    report = open(config["report"], "w")
    faulthandler.enable(file=report, all_threads=True)
    sys.setswitchinterval(1e-6)
    t0 = time.monotonic()
    hits = Hits(t0)
    world = [build_world()]
    rounds = [0]
    stop = threading.Event()

    def new_round():
        rounds[0] += 1
        if time.monotonic() - t0 >= duration:
            stop.set()
        world[0] = build_world()

    barrier = threading.Barrier(len(workers), action=new_round)

    def run(fn, copy):
        rng = Rng(copy + 1)
        try:
            while True:
                barrier.wait()
                if stop.is_set():
                    break
                fn(world[0], {}, rng, hits)
        except threading.BrokenBarrierError:
            pass

    threads = [threading.Thread(target=run, args=(fn, i), daemon=True, name=name)
               for i, (name, fn) in enumerate(workers)]
    print("START %d threads, window %.1f us" % (len(threads), config["window"] * 1e6), flush=True)
    for t in threads:
        t.start()
    seen = -1
    while any(t.is_alive() for t in threads):
        if rounds[0] != seen:
            seen = rounds[0]
            faulthandler.dump_traceback_later(hang, exit=True, file=report)
        time.sleep(0.05)
    faulthandler.cancel_dump_traceback_later()
    print("DONE rounds=%d hits=%d secs=%.1f" % (rounds[0], hits.count, time.monotonic() - t0),
          flush=True)
