#!/usr/bin/env python3
"""Groups `perf script -F ip,sym,dso` samples by component.
self view: by the leaf symbol.  owner view: by the innermost ftf:: frame
(so sanitizer/coverage/malloc time is charged to the ftf component that
called it); samples with no ftf:: frame fall back to the leaf's group."""
import collections, re, sys

def group(sym, dso):
    s = sym
    if dso and '[kernel' in dso: return 'kernel'
    if s.startswith('__sanitizer_cov') or s.startswith('fuzzer::') or 'LLVMFuzzer' in s and 'TestOneInput' not in s:
        return 'libFuzzer (cov callbacks, engine)'
    if s.startswith(('__tsan', '__asan', '__ubsan', '__sanitizer', '__interception', '__interceptor',
                     '___interceptor', '__lsan', '__msan')) or re.match(r'^(___?)?(tsan|asan|ubsan)', s):
        if re.search(r'(malloc|free|[Aa]lloc|realloc|calloc|operator new|operator delete)', s) and 'stack_' not in s:
            return 'malloc/free'
        return 'sanitizer runtime'
    if s.startswith(('operator new', 'operator delete', 'malloc', 'free', 'cfree', '_int_malloc', '_int_free',
                     '__libc_malloc', '__libc_free', 'tcache', 'malloc_consolidate', '__GI___libc_free',
                     '__GI___libc_malloc', 'unlink_chunk', '_int_realloc', 'realloc', 'calloc', '__libc_calloc')):
        return 'malloc/free'
    if s.startswith('ftf::sched::') or 'fcontext' in s: return 'executor (ftf::sched, fibers)'
    if s.startswith('ftf::core::'): return 'core model (ftf::core)'
    if s.startswith('ftf::audit::'): return 'ledger/auditors (ftf::audit)'
    if s.startswith('ftf::runner::') or 'LLVMFuzzerTestOneInput' in s: return 'runner (ftf::runner)'
    if s.startswith('ftf::program::'): return 'decoder (ftf::program)'
    if s.startswith(('mem', '__mem', 'str', '__str')) or (dso and 'libc.so' in dso): return 'libc other (memcpy...)'
    return 'other (std::, absl, unknown)'

FTF = ('ftf::sched::', 'ftf::core::', 'ftf::audit::', 'ftf::runner::', 'ftf::program::')

def main():
    path = sys.argv[1]
    selfc = collections.Counter(); ownc = collections.Counter(); symc = collections.Counter()
    cross = collections.Counter(); symg = {}
    n = 0
    stack = []
    def flush():
        nonlocal n
        if not stack: return
        n += 1
        leaf_sym, leaf_dso = stack[0]
        g = group(leaf_sym, leaf_dso)
        selfc[g] += 1; symc[leaf_sym] += 1; symg[leaf_sym] = g
        own = g
        for sym, dso in stack:
            if sym.startswith(FTF) or 'LLVMFuzzerTestOneInput' in sym:
                own = group(sym, dso); break
        ownc[own] += 1
        cross[(g, own)] += 1
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        if not line.strip():
            flush(); stack = []; continue
        m = re.match(r'^\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$', line)
        if not m: continue
        sym = re.sub(r'\+0x[0-9a-f]+$', '', m.group(2))
        stack.append((sym, m.group(3)))
    flush()
    print('samples', n)
    print('\n| component | self % | owner % |\n|---|---:|---:|')
    for g in sorted(set(selfc) | set(ownc), key=lambda g: -selfc[g]):
        print('| %s | %.1f | %.1f |' % (g, 100.0 * selfc[g] / n, 100.0 * ownc[g] / n))
    print('\nTop self symbols:')
    for s, c in symc.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 15):
        print('| %.1f | `%s` | %s |' % (100.0 * c / n, s[:90], symg[s]))
    print('\nself group -> owner (>=1%):')
    for (g, o), c in cross.most_common():
        if c * 100 >= n: print('  %-40s -> %-40s %.1f' % (g, o, 100.0 * c / n))

main()
