// schedule_spec.h - the schedule part of a decoded program.
//
// The decoder (program/) splits every input into operations and schedule
// bytes; the executor (sched/) turns the schedule bytes into decisions. This
// header is the contract between them, so program/ does not depend on sched/.

#ifndef FTF_PROGRAM_SCHEDULE_SPEC_H_
#define FTF_PROGRAM_SCHEDULE_SPEC_H_

#include <cstdint>
#include <vector>

namespace ftf::program {

enum class ScheduleKind : uint8_t {
  // Each schedule byte picks the next thread among the runnable ones and how
  // many scheduling points it runs before the next decision (the exact
  // meaning is documented in sched/schedule_decoder.h).
  kDirect = 0,
  // PCT (Burckhardt et al., ASPLOS 2010): bytes give each thread an initial
  // priority and `depth - 1` priority change points (step numbers); the
  // highest-priority runnable thread always runs.
  kPct = 1,
};

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kDirect;
  uint8_t pct_depth = 3;          // d of PCT (1..8); ignored for kDirect
  std::vector<uint8_t> bytes;     // the raw schedule bytes

  bool operator==(const ScheduleSpec&) const = default;
};

}  // namespace ftf::program

#endif  // FTF_PROGRAM_SCHEDULE_SPEC_H_
