// export_python_main.cc - the command line of an exported script: the
// serial check (--serial) and the threaded runs (see export_python.h and
// docs/export.md).

#include "tools/export_python.h"

namespace ftf::tools {

const char* PythonMain() {
  return R"PY(

def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description='ftfuzz export: run the program on this Python.')
    ap.add_argument('--serial', action='store_true',
                    help='run once, serially, and check every result against the model')
    ap.add_argument('--loops', type=int, default=LOOPS, help='threaded mode: repetitions')
    ap.add_argument('--overlap', action='store_true',
                    help='threaded mode: start an operation once the previous one started')
    args = ap.parse_args(argv)
    gil = getattr(sys, '_is_gil_enabled', lambda: True)()
    verdict, order, diff, tries = serial_check()
    how = 'the recorded order' if order is ORDER else 'an order found in %d tries' % tries
    if args.serial:
        deepest = 'deepest order tried: ' + ' '.join('t%d#%d%s' % (t, i, '.%d' % p if p else '')
                                                     for t, i, p in order)
        if verdict == 'undecided':
            print('serial: not decided within %d tries (%s): the recorded order does not reproduce the model, '
                  'and no other allowed order was found to, nor all of them ruled out' % (SEARCH_BUDGET, VARIANT))
            print(deepest)
            return 1
        for line in diff:
            print('DIFFERENCE ' + line)
        if verdict == 'differ':
            print('serial: %d difference(s) from the model (%s); no allowed order reproduces it (%d tries)'
                  % (len(diff), VARIANT, tries))
            print(deepest)
            return 1
        print('serial: %d operations agree with the model (%s), in %s' % (len(EXPECT), VARIANT, how))
        return 0
    if verdict != 'agree':
        print('warning: no serial order reproduces the model; running the recorded order')
        order = ORDER
    agreed, first = run_threaded(args.loops, args.overlap, order)
    print('threaded (%s, GIL %s): %d of %d loops agree with the model'
          % ('overlap' if args.overlap else 'ordered', 'on' if gil else 'off', agreed, args.loops))
    for line in first:
        print('DIFFERENCE ' + line)
    return 0 if (args.overlap or agreed == args.loops) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
)PY";
}

}  // namespace ftf::tools
