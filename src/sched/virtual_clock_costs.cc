// virtual_clock_costs.cc - the VirtualClockExecutor's cost table: scaling
// classes and groups for the sensitivity runs, and its printed form (see
// virtual_clock.h; the defaults are justified in docs/bench.md).

#include <string>

#include "absl/strings/str_format.h"
#include "sched/virtual_clock.h"

namespace ftf::sched {

bool CostTable::Scale(const std::string& which, double f) {
  const bool all = which == "all";
  bool known = all;
  // Groups: "access" (load, store), "atomic" (rmw, fence), "syscall"
  // (park, unpark).
  auto one = [&](const char* name, double* v) {
    const std::string n = name;
    const bool in_group = (which == "access" && (n == "load" || n == "store")) ||
                          (which == "atomic" && (n == "rmw" || n == "fence")) ||
                          (which == "syscall" && (n == "park" || n == "unpark"));
    if (all || which == n || in_group) {
      *v *= f;
      known = true;
    }
  };
  one("load", &load_ns);
  one("store", &store_ns);
  one("rmw", &rmw_ns);
  one("fence", &fence_ns);
  one("transfer", &transfer_ns);
  one("park", &park_ns);
  one("unpark", &unpark_ns);
  one("wake", &wake_ns);
  return known;
}

std::string CostTable::ToString() const {
  return absl::StrFormat("load %g, store %g, rmw %g, fence %g, transfer %g, park %g, unpark %g, wake %g ns", load_ns,
                         store_ns, rmw_ns, fence_ns, transfer_ns, park_ns, unpark_ns, wake_ns);
}

}  // namespace ftf::sched
