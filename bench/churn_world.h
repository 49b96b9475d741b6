// churn_world.h - the world of gh-152075's LOAD_GLOBAL churn benchmark, as
// the benchmarks build it on the model core: globals G1..G8 and builtins
// len, sum and abs, each bound to a value of its own, and the invalidator's
// `_temp_key` (globals[_temp_key] = v; del globals[_temp_key]).
//
// Built by one thread (`t0`, already started) before any other runs.

#ifndef FTF_BENCH_CHURN_WORLD_H_
#define FTF_BENCH_CHURN_WORLD_H_

#include <string>
#include <vector>

#include "core/dict.h"
#include "core/load_global.h"
#include "core/object.h"
#include "core/runtime.h"
#include "core/thread_state.h"
#include "core/variant.h"

namespace ftf::bench {

struct ChurnWorld {
  static constexpr size_t kGlobals = 8;  // names[0..7] are globals, the rest builtins
  std::vector<core::Object*> names;      // G1..G8, len, sum, abs
  // values[i] is bound to names[i]; `spare` more values follow, bound to
  // nothing (what the invalidator and other writers store).
  std::vector<core::Object*> values;
  core::Object* temp = nullptr;  // `_temp_key`
  core::GlobalsEnv env;
};

inline ChurnWorld BuildChurnWorld(core::Runtime& rt, core::DictState& state, core::ThreadState& t0,
                                  const core::Variant& variant, size_t spare) {
  ChurnWorld w;
  for (size_t i = 1; i <= ChurnWorld::kGlobals; ++i) w.names.push_back(state.Intern(rt, "G" + std::to_string(i)));
  for (const char* b : {"len", "sum", "abs"}) w.names.push_back(state.Intern(rt, b));
  w.temp = state.Intern(rt, "_temp_key");
  for (size_t i = 0; i < w.names.size() + spare; ++i) w.values.push_back(core::NewStaticObject(rt, 0));
  w.env.variant = &variant;
  w.env.globals = core::DictNew(t0, state);
  w.env.builtins = core::DictNew(t0, state);
  for (size_t i = 0; i < w.names.size(); ++i) {
    if (i < ChurnWorld::kGlobals) {
      core::StoreGlobal(t0, w.env, w.names[i], w.values[i]);
    } else {
      core::StoreBuiltin(t0, w.env, w.names[i], w.values[i]);
    }
  }
  return w;
}

}  // namespace ftf::bench

#endif  // FTF_BENCH_CHURN_WORLD_H_
