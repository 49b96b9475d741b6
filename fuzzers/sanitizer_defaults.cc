// sanitizer_defaults.cc - sanitizer options the harness sets for itself, so
// users need no environment variables. Linked into every fuzz target and the
// ftf tool (an object in a static library would never be pulled in: the
// runtimes look these functions up weakly).
//
// - TSan: do not halt in the report (the hook records it and the harness
//   reports the finding after the run, then aborts, so libFuzzer saves the
//   input that raced; halting inside TSan's report could hang), and do not
//   report libFuzzer's malloc in its signal handler.
// - UBSan: halt and print a stack (the build also passes
//   -fno-sanitize-recover=undefined).
// - clang-14 only: the documented false-race workaround (README, presets).
// - Every runtime: external_symbolizer_path, the llvm-symbolizer of the
//   compiler's own LLVM (found by CMake, CMakeLists.txt). The one PATH finds
//   first may be an older LLVM's that cannot read this build's debug
//   information: the frames of a report then read `<null>`.
// Users can still override any of these through *SAN_OPTIONS.

#if defined(FTF_LLVM_SYMBOLIZER)
#define FTF_SYMBOLIZER_OPTION ":external_symbolizer_path=" FTF_LLVM_SYMBOLIZER
#else
#define FTF_SYMBOLIZER_OPTION ""
#endif

extern "C" {

#if defined(FTF_TSAN)
// halt_on_error=0: the report hook records a race and the run goes on; the
// harness reports it when the run ends (src/audit/sanitizer_report.h).
const char* __tsan_default_options() {
  return "halt_on_error=0:report_signal_unsafe=0:second_deadlock_stack=1" FTF_SYMBOLIZER_OPTION;
}
#if defined(FTF_CLANG14_TSAN_WORKAROUND)
const char* __tsan_default_suppressions() { return "race:__TMC_END__\n"; }
#endif
#endif

#if defined(FTF_ASAN)
const char* __asan_default_options() { return "abort_on_error=0:detect_stack_use_after_return=1" FTF_SYMBOLIZER_OPTION; }
const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1" FTF_SYMBOLIZER_OPTION; }
#endif

}  // extern "C"
