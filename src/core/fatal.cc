// fatal.cc - the process-wide handler for modelled crashes (see fatal.h).

#include "core/fatal.h"

namespace ftf::core {
namespace {

ModelCrashHandler g_model_crash_handler = nullptr;

}  // namespace

ModelCrashHandler InstallModelCrashHandler(ModelCrashHandler h) {
  ModelCrashHandler old = g_model_crash_handler;
  g_model_crash_handler = h;
  return old;
}

void NotifyModelCrash(const ModelCrash& crash) {
  if (g_model_crash_handler != nullptr) g_model_crash_handler(crash);
}

}  // namespace ftf::core
