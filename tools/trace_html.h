// trace_html.h - the `trace` subcommand of the ftf tool (see trace_html.cc).
#ifndef FTF_TOOLS_TRACE_HTML_H_
#define FTF_TOOLS_TRACE_HTML_H_
namespace ftf::tools {
int TraceCommand(int argc, char** argv);
}  // namespace ftf::tools
#endif  // FTF_TOOLS_TRACE_HTML_H_
