// fiber.cc - fcontext fibers with sanitizer annotations (see fiber.h).

#include "sched/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace ftf::sched {
namespace {

namespace bctx = boost::context::detail;

// Touched only by the OS thread that creates fibers (the scheduler), so an
// ordinary (instrumented) atomic is fine here.
std::atomic<uint64_t> g_fibers_created{0};

// The data word of the very first jump into a fiber.
struct StartArgs {
  Context* from;
  Fiber* self;
};

FTF_SCHED_INTERNAL void Trampoline(bctx::transfer_t t) {
  auto* args = static_cast<StartArgs*>(t.data);
  Fiber* self = args->self;
  Context* from = args->from;
  const void* bottom = nullptr;
  size_t size = 0;
#if FTF_SCHED_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &bottom, &size);
#endif
  NoteJumper(from, t.fctx, bottom, size);
  self->RunMain();
}

size_t PageSize() {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<size_t>(p) : 4096;
}

}  // namespace

FTF_SCHED_INTERNAL void SwitchContext(Context* from, Context* to, bool from_exits) {
  SwitchContextInline(from, to, from_exits);
}

void AdoptCurrentThread(Context* self) {
#if FTF_SCHED_TSAN
  self->tsan_fiber = __tsan_get_current_fiber();
#else
  (void)self;
#endif
}

Fiber::Fiber(size_t stack_size, int index, MainFn main, void* arg) : index_(index), main_(main), arg_(arg) {
  const size_t page = PageSize();
  stack_size = (stack_size + page - 1) / page * page;
  map_size_ = stack_size + page;  // one guard page below the stack
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map_ == MAP_FAILED) {
    std::perror("ftfuzz: mmap of a fiber stack");
    std::abort();
  }
  if (mprotect(map_, page, PROT_NONE) != 0) {
    std::perror("ftfuzz: mprotect of a fiber guard page");
    std::abort();
  }
  char* bottom = static_cast<char*>(map_) + page;
  ctx_.stack_bottom = bottom;
  ctx_.stack_size = stack_size;
  ctx_.fctx = bctx::make_fcontext(bottom + stack_size, stack_size, &Trampoline);
  std::snprintf(name_, sizeof(name_), "ftf-logical-thread-%d", index);
#if FTF_SCHED_TSAN
  ctx_.tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(ctx_.tsan_fiber, name_);
#endif
  g_fibers_created.fetch_add(1, std::memory_order_relaxed);
}

Fiber::~Fiber() {
#if FTF_SCHED_TSAN
  __tsan_destroy_fiber(ctx_.tsan_fiber);
#endif
  munmap(map_, map_size_);
}

FTF_SCHED_INTERNAL void Fiber::Start(Context* from) {
  started_ = true;
  StartArgs args{from, this};
  BeforeJump(from, &ctx_, /*from_exits=*/false);
  AfterResume(from, bctx::jump_fcontext(ctx_.fctx, &args));
}

FTF_SCHED_INTERNAL void Fiber::RunMain() {
  main_(this, arg_);
  std::fprintf(stderr, "ftfuzz: internal error: a fiber's main function returned\n");
  std::abort();
}

uint64_t Fiber::TotalCreated() { return g_fibers_created.load(std::memory_order_relaxed); }

}  // namespace ftf::sched
