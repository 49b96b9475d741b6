// fatal.h - states in which the modelled C code would crash.
//
// Some interleavings that a mutant variant reaches leave the model in a state
// where CPython itself would not raise an exception but crash (for example a
// NULL `me_key` under a live index, which unicode_get_hash dereferences).
// The core cannot continue either. It does not decide how that is reported:
// it describes the crash (where in the modelled code, and why) to the
// process-wide crash handler, which the harness installs (src/runner turns it
// into its report line), and then stops the process with its own fatal error.
//
// Thread-safety: the handler is installed before logical threads start and
// removed after they finish, as the scheduling hook is (sched_hook.h).

#ifndef FTF_CORE_FATAL_H_
#define FTF_CORE_FATAL_H_

namespace ftf::core {

// Where and why the modelled C code would crash.
struct ModelCrash {
  const char* file;      // the core file modelling the crashing code, e.g. "core/dict_keys.cc"
  const char* function;  // the core function, e.g. "KeysLookupLockHeld"
  const char* cause;     // what CPython would do, in one phrase
};

using ModelCrashHandler = void (*)(const ModelCrash&);

// Installs `h` (nullptr: none) and returns the previous handler.
ModelCrashHandler InstallModelCrashHandler(ModelCrashHandler h);

// Tells the installed handler, if any, about `crash`. The caller then stops
// the process (the core never continues past a modelled crash).
void NotifyModelCrash(const ModelCrash& crash);

}  // namespace ftf::core

#endif  // FTF_CORE_FATAL_H_
