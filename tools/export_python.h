// export_python.h - `ftf export FILE --python -o OUT.py`: a program as a
// Python script (format: docs/export.md).
//
// Harness tooling, not a model of CPython. The script mirrors the program's
// world with real Python objects (classes with `__slots__` for T0..T3, the
// shared objects o0..o3, a globals dict and a builtins dict that real
// LOAD_GLOBAL instructions read, one Python function per instruction site so
// each site has its own inline cache) and runs the operations
//   - threaded (default): one Python thread per logical thread, handing a
//     turn from operation to operation in the model's order, repeated
//     --loops times, for a free-threaded CPython (python3.13t / 3.14t);
//   - serially (--serial): once, one by one in that order, asserting every
//     result the model computed (export_model.h: results, loaded objects by
//     identity, final slots and dicts).
// The serial mode is the differential check against CPython
// (tests/tools/export_differential_test.cc).
//
// Thread-safety: ExportPython runs the model (one ModelRunner, not shared).

#ifndef FTF_TOOLS_EXPORT_PYTHON_H_
#define FTF_TOOLS_EXPORT_PYTHON_H_

#include <string>

#include "core/variant.h"
#include "program/program.h"
#include "runner/runner.h"
#include "tools/export_model.h"

namespace ftf::tools {

struct ExportOptions {
  const core::Variant* variant = nullptr;  // nullptr: locked
  ExportOrder order = ExportOrder::kCommit;
  int loops = 1000;         // default --loops of the threaded mode
  std::string source;       // shown in the header (the input path)
};

// The script for `p` given the model's run of it.
std::string EmitPython(const program::Program& p, const ModelRun& run, const ExportOptions& options);

// Runs the model (with `runner`) and emits the script.
std::string ExportPython(const program::Program& p, const ExportOptions& options, ModelRunner& runner);

// The message CPython gives the error `result` of `op` (a Python regular
// expression; empty for kOk and kEmptyRegister), export_python_messages.cc.
std::string ExpectedErrorPattern(const program::Op& op, runner::Observation::Result result);

// The constant part of every script (classes and helpers), export_python_prelude.cc.
const char* PythonPrelude();
const char* PythonMain();

// `ftf export FILE --python -o OUT.py [--loops=N] [--variant=V] [--order=commit|completion]`.
// Exit status 0 written, 2 usage or input error.
int ExportCommand(int argc, char** argv);

}  // namespace ftf::tools

#endif  // FTF_TOOLS_EXPORT_PYTHON_H_
