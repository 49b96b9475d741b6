// trace_html_test.cc - `ftf trace --html`: the page's content, its escaping,
// and the page rendered by a real headless browser (Debian's chromium,
// installed by ./ftfuzz setup): a screenshot that is a real image, and the
// DOM after the page's script ran, with one lane per logical thread and the
// finding's step highlighted.

#include "tools/trace_html.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "tools_test_util.h"

namespace ftf::tools {
namespace {

using testing::CorpusPath;

constexpr char kChromium[] = "/usr/bin/chromium";

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

TEST(HtmlEscapeTest, EscapesEverySpecialCharacter) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(HtmlEscape("plain text 1.2"), "plain text 1.2");
}

TEST(TracePageTest, HostileTextIsEscapedEverywhere) {
  TracePage page;
  page.title = "<script>alert(1)</script>";
  page.variant = "v\"><img src=x>";
  page.program_text = "t0: </pre><script>bad()</script>";
  page.num_threads = 2;
  audit::Finding f;
  f.kind = audit::FindingKind::kUseAfterFree;
  f.message = "<b>not bold</b>";
  f.site = "core/x.cc:1";
  f.operation = "A&B";
  f.step = 2;
  f.thread = 1;
  page.finding = f;
  sched::TraceStep s1;
  s1.step = 1;
  s1.thread = 0;
  s1.file = "core/<odd>.cc";
  s1.line = 3;
  sched::TraceStep s2 = s1;
  s2.step = 2;
  s2.thread = 1;
  page.steps = {s1, s2};
  page.total_steps = 2;
  const std::string html = BuildTraceHtml(page);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<script>bad"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>not"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;not bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("A&amp;B"), std::string::npos);
  EXPECT_NE(html.find("&lt;odd&gt;.cc"), std::string::npos);
  EXPECT_EQ(Count(html, "<script>"), 1u);  // only the page's own
  EXPECT_EQ(Count(html, "<th class=\"lane lane-"), 2u);
  EXPECT_NE(html.find("id=\"finding-step\" data-step=\"2\""), std::string::npos);
  // Self-contained: nothing is fetched.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src=\""), std::string::npos);
}

TEST(TracePageTest, LongRunsKeepHeadAndTail) {
  TracePage page;
  page.num_threads = 1;
  page.head_rows = 10;
  page.tail_rows = 20;
  for (uint64_t i = 1; i <= 1000; ++i) {
    sched::TraceStep s;
    s.step = i;
    s.thread = 0;
    s.file = "core/a.cc";
    page.steps.push_back(s);
  }
  page.total_steps = 1000;
  const std::string html = BuildTraceHtml(page);
  EXPECT_EQ(Count(html, "<tr class=\"step"), 30u);
  EXPECT_NE(html.find("970 steps not shown"), std::string::npos);
  EXPECT_NE(html.find("data-step=\"1000\""), std::string::npos);
  EXPECT_NE(html.find("no finding"), std::string::npos);
}

// --- the command and a real browser -----------------------------------------

struct Rendered {
  std::string html;  // the file
  std::string dom;   // chromium --dump-dom, after the script ran
  std::string png;   // the screenshot's bytes
  std::string tool_output;
};

std::string ChromiumFlags(const std::filesystem::path& profile) {
  return std::string(kChromium) + " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage " +
         "--no-first-run --no-default-browser-check --disable-extensions --hide-scrollbars " +
         "--user-data-dir='" + profile.string() + "' --virtual-time-budget=3000 ";
}

// Writes the page for `input` with `ftf trace`, then loads it in chromium twice
// (screenshot, DOM dump), each under a timeout and with a fresh profile.
Rendered RenderWithChromium(const std::string& input, const std::string& variant) {
  Rendered r;
  const std::filesystem::path dir = testing::MakeTempDir("trace");
  const std::filesystem::path html = dir / "trace.html";
  testing::CommandResult made = testing::RunCommand(testing::ToolBinary() + " trace " + input + " --html " +
                                                    html.string() + " --variant=" + variant);
  r.tool_output = made.output;
  EXPECT_EQ(made.exit_code, 0) << made.output;
  r.html = testing::ReadAll(html);
  const std::filesystem::path png = dir / "shot.png";
  testing::CommandResult shot = testing::RunCommand(ChromiumFlags(dir / "profile1") + "--window-size=1280,900 --screenshot='" +
                                                        png.string() + "' 'file://" + html.string() + "'",
                                                    120);
  EXPECT_EQ(shot.exit_code, 0) << shot.output;
  r.png = testing::ReadAll(png);
  testing::CommandResult dom =
      testing::RunCommand(ChromiumFlags(dir / "profile2") + "--dump-dom 'file://" + html.string() + "'", 120);
  EXPECT_EQ(dom.exit_code, 0) << dom.output;
  r.dom = dom.output;
  std::filesystem::remove_all(dir);
  return r;
}

// Width and height from the PNG's IHDR chunk (0 if it is not a PNG).
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(png[at])} << 24) | (uint32_t{static_cast<uint8_t>(png[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(png[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(png[at + 3])};
  };
  return {be32(16), be32(20)};
}

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kChromium))
        << kChromium << " is missing: the trace page is checked in a real headless browser. Install it with "
        << "./ftfuzz setup (or: apt-get install chromium).";
  }
};

TEST_F(BrowserTest, FindingPageRendersLanesAndHighlightsTheStep) {
  if (testing::kUnderTsan) GTEST_SKIP() << "the mutant's race is reported by TSan first";
  Rendered r = RenderWithChromium(CorpusPath("text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt"),
                                  "mutant_half_migrated");
  EXPECT_NE(r.tool_output.find("USE_AFTER_FREE"), std::string::npos) << r.tool_output;
  // The file itself.
  EXPECT_NE(r.html.find("SUMMARY: ftfuzz: USE_AFTER_FREE"), std::string::npos);
  EXPECT_NE(r.html.find("member_set(o0, a, fresh)"), std::string::npos);
  EXPECT_NE(r.html.find("<svg"), std::string::npos);
  // The DOM after the script: two lanes, the highlighted row, the status line.
  EXPECT_NE(r.dom.find("data-rendered=\"1\""), std::string::npos) << r.dom.substr(0, 2000);
  EXPECT_NE(r.dom.find("data-lanes=\"2\""), std::string::npos);
  EXPECT_EQ(Count(r.dom, "<th class=\"lane lane-"), 2u);
  EXPECT_NE(r.dom.find("id=\"finding-step\""), std::string::npos);
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.dom, m, std::regex("<tr class=\"step( switch)? finding\" id=\"finding-step\"")));
  EXPECT_TRUE(std::regex_search(r.dom, m, std::regex("2 lanes, [0-9]+ steps rendered, finding at step [0-9]+")))
      << "the page's script did not run";
  EXPECT_GT(Count(r.dom, "<td class=\"cell lane-0\">"), 0u);
  EXPECT_GT(Count(r.dom, "<td class=\"cell lane-1\">"), 0u);
  // The screenshot is a real image of the window's size, not a blank file.
  auto [w, h] = PngSize(r.png);
  EXPECT_EQ(w, 1280u);
  EXPECT_EQ(h, 900u);
  EXPECT_GT(r.png.size(), 20'000u) << "a nearly empty screenshot";
}

TEST_F(BrowserTest, CleanRunSaysNoFinding) {
  Rendered r = RenderWithChromium(CorpusPath("text/slots_fuzzer/seeds/member_set_inside_exchange_window.txt"),
                                  "locked");
  EXPECT_NE(r.tool_output.find("no finding"), std::string::npos) << r.tool_output;
  EXPECT_NE(r.dom.find("data-rendered=\"1\""), std::string::npos) << r.dom.substr(0, 2000);
  EXPECT_NE(r.dom.find("id=\"no-finding\""), std::string::npos);
  EXPECT_EQ(r.dom.find("id=\"finding-step\""), std::string::npos);
  EXPECT_EQ(Count(r.dom, "<th class=\"lane lane-"), 2u);
  EXPECT_NE(r.dom.find("steps rendered, no finding"), std::string::npos);
  auto [w, h] = PngSize(r.png);
  EXPECT_EQ(w, 1280u);
  EXPECT_GT(r.png.size(), 20'000u);
}

TEST(TraceCommandLine, UsageAndInputErrorsExitTwo) {
  const std::string bin = testing::ToolBinary() + " trace ";
  EXPECT_EQ(testing::RunCommand(bin).exit_code, 2);
  EXPECT_EQ(testing::RunCommand(bin + CorpusPath("text/slots_fuzzer/seeds/publish_new_object.txt")).exit_code, 2);
  EXPECT_EQ(testing::RunCommand(bin + "/nonexistent/input --html /tmp/x.html").exit_code, 2);
  EXPECT_EQ(testing::RunCommand(bin + CorpusPath("text/slots_fuzzer/seeds/publish_new_object.txt") +
                                " --html /nonexistent-dir/x.html")
                .exit_code,
            2);
}

}  // namespace
}  // namespace ftf::tools
