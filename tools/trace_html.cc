// trace_html.cc - building the trace page (see trace_html.h).
//
// The page is generated as one string: a <style> block, the header, the
// program, the swimlane table, the refcount charts (inline SVG) and a small
// script that scrolls the finding's row into view, lets the reader hide
// lanes, and marks the page as rendered (data-rendered on <body>, which the
// headless-browser test reads back from the DOM).

#include "tools/trace_html.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "audit/report.h"
#include "audit/step_note.h"

namespace ftf::tools {
namespace {

constexpr char kStyle[] = R"css(
body{font-family:system-ui,sans-serif;margin:0;padding:0 16px 32px;color:#1b1f23;background:#fafbfc}
h1{font-size:20px;margin:16px 0 4px} h2{font-size:16px;margin:20px 0 6px}
.finding-box{border-left:6px solid #d73a49;background:#ffeef0;padding:8px 12px;font-family:monospace;white-space:pre-wrap}
.clean-box{border-left:6px solid #28a745;background:#e6ffed;padding:8px 12px;font-family:monospace}
.meta{color:#586069;font-size:13px}
pre.program{background:#f6f8fa;border:1px solid #e1e4e8;padding:8px;max-height:320px;overflow:auto;font-size:12px}
.lanes-wrap{max-height:70vh;overflow:auto;border:1px solid #e1e4e8;background:#fff}
table.lanes{border-collapse:collapse;font-family:monospace;font-size:12px;width:100%}
table.lanes th{position:sticky;top:0;background:#24292e;color:#fff;padding:4px 6px;z-index:1}
table.lanes td{border-bottom:1px solid #eaecef;padding:2px 6px;vertical-align:top}
td.stepno{color:#6a737d;text-align:right;width:5em}
td.cell{white-space:nowrap}
td.cell .op{font-weight:bold} td.cell .site{color:#6a737d} td.cell .rc{color:#005cc5}
tr.switch td{border-top:2px solid #f9c513}
tr.finding td{background:#ffdce0 !important;font-weight:bold}
tr.gap td{text-align:center;color:#6a737d;background:#f6f8fa}
.lane-0{background:#f1f8ff}.lane-1{background:#fff5e6}.lane-2{background:#f0fff4}.lane-3{background:#f5f0ff}
.lane-4{background:#fffbdd}.lane-5{background:#ffeef0}.lane-6{background:#eefcff}.lane-7{background:#f6f8fa}
td.empty{background:transparent}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #e1e4e8;background:#fff;padding:4px}
.chart h3{font-size:12px;margin:2px 0;font-family:monospace}
.controls label{margin-right:10px;font-size:13px}
)css";

constexpr char kScript[] = R"js(
(function(){
  var body=document.body;
  var lanes=document.querySelectorAll('th.lane').length;
  var rows=document.querySelectorAll('tr.step').length;
  var boxes=document.querySelectorAll('input.lane-toggle');
  boxes.forEach(function(b){b.addEventListener('change',function(){
    var cls='td.lane-'+b.getAttribute('data-lane');
    document.querySelectorAll(cls+', th.lane-'+b.getAttribute('data-lane')).forEach(function(c){
      c.style.display=b.checked?'':'none';});});});
  var hit=document.getElementById('finding-step');
  // Scroll the lanes box (not the window: the finding's header stays in view).
  var wrap=document.querySelector('.lanes-wrap');
  if(hit&&wrap){
    var d=hit.getBoundingClientRect().top-wrap.getBoundingClientRect().top;
    wrap.scrollTop=Math.max(0,wrap.scrollTop+d-wrap.clientHeight/2);
  }
  var status=document.getElementById('js-status');
  if(status){status.textContent=lanes+' lanes, '+rows+' steps rendered'+(hit?', finding at step '+hit.getAttribute('data-step'):', no finding');}
  body.setAttribute('data-rendered','1');
  body.setAttribute('data-lanes',String(lanes));
})();
)js";

std::string RefText(const audit::LedgerEvent& e) {
  if (e.kind == audit::LedgerEventKind::kRef && e.total_before != audit::kUnknownCount &&
      e.total_after != audit::kUnknownCount) {
    return absl::StrFormat("obj#%d rc %d&rarr;%d", e.object, e.total_before, e.total_after);
  }
  return absl::StrFormat("obj#%d %s", e.object, HtmlEscape(audit::LedgerEventKindName(e.kind)));
}

void AppendHeader(std::string* out, const TracePage& page) {
  absl::StrAppend(out, "<h1>ftfuzz trace: ", HtmlEscape(page.title), "</h1>\n");
  absl::StrAppendFormat(out,
                        "<p class=\"meta\">variant <b>%s</b> &middot; %d thread%s &middot; %d steps &middot; %d "
                        "context switches &middot; <span id=\"js-status\">(script not run)</span></p>\n",
                        HtmlEscape(page.variant), page.num_threads, page.num_threads == 1 ? "" : "s",
                        page.total_steps, page.context_switches);
  if (page.finding) {
    const audit::Finding& f = *page.finding;
    std::string text = audit::HeaderLine(f) + "\n  " + f.message + "\n";
    if (f.thread >= 0) absl::StrAppendFormat(&text, "  on T%d at step %d\n", f.thread, f.step);
    if (!f.details.empty()) text += f.details;
    if (text.back() != '\n') text += "\n";
    text += audit::SummaryLine(f);
    absl::StrAppend(out, "<div class=\"finding-box\" id=\"finding\">", HtmlEscape(text), "</div>\n");
  } else {
    absl::StrAppend(out, "<div class=\"clean-box\" id=\"no-finding\">no finding: the run completed and every ",
                    "check passed (variant ", HtmlEscape(page.variant), ")</div>\n");
  }
}

void AppendLanes(std::string* out, const TracePage& page) {
  // The ledger's events at each step (the access just recorded at that step).
  std::map<uint64_t, std::vector<const audit::LedgerEvent*>> by_step;
  for (const audit::LedgerEvent& e : page.events) {
    if (e.step != 0) by_step[e.step].push_back(&e);
  }
  const uint64_t finding_step = page.finding ? page.finding->step : 0;
  const int n = std::max(page.num_threads, 1);
  absl::StrAppend(out, "<h2>Interleaving</h2>\n<div class=\"controls\">");
  for (int t = 0; t < n; ++t) {
    absl::StrAppendFormat(out, "<label><input type=\"checkbox\" class=\"lane-toggle\" data-lane=\"%d\" checked> T%d</label>",
                          t, t);
  }
  absl::StrAppend(out, "</div>\n<div class=\"lanes-wrap\"><table class=\"lanes\" data-threads=\"", n,
                  "\"><thead><tr><th>step</th>");
  for (int t = 0; t < n; ++t) absl::StrAppendFormat(out, "<th class=\"lane lane-%d\">T%d</th>", t, t);
  absl::StrAppend(out, "</tr></thead><tbody>\n");

  const size_t total = page.steps.size();
  const bool cut = total > page.head_rows + page.tail_rows;
  int prev_thread = -1;
  for (size_t i = 0; i < total; ++i) {
    if (cut && i == page.head_rows) {
      absl::StrAppendFormat(out, "<tr class=\"gap\"><td colspan=\"%d\">&hellip; %d steps not shown &hellip;</td></tr>\n",
                            n + 1, total - page.head_rows - page.tail_rows);
      i = total - page.tail_rows;
      prev_thread = -1;
    }
    const sched::TraceStep& s = page.steps[i];
    const bool is_finding = finding_step != 0 && s.step == finding_step;
    std::string cls = "step";
    if (prev_thread >= 0 && s.thread != prev_thread) cls += " switch";
    if (is_finding) cls += " finding";
    prev_thread = s.thread;
    absl::StrAppendFormat(out, "<tr class=\"%s\"%s data-step=\"%d\"><td class=\"stepno\">%d</td>", cls,
                          is_finding ? " id=\"finding-step\"" : "", s.step, s.step);
    const audit::StepNote note = audit::UnpackStepNote(s.note);
    for (int t = 0; t < n; ++t) {
      if (t != s.thread) {
        absl::StrAppendFormat(out, "<td class=\"empty lane-%d\"></td>", t);
        continue;
      }
      std::string cell = absl::StrFormat("<span class=\"op\">%s</span> %s %s <span class=\"site\">%s:%d</span>",
                                         HtmlEscape(audit::FormatStepNote(note)),
                                         HtmlEscape(sched::EventKindName(s.kind)), HtmlEscape(core::OrderName(s.order)),
                                         HtmlEscape(sched::ShortFile(s.file)), s.line);
      auto it = by_step.find(s.step);
      bool shown_ref = false;
      if (it != by_step.end()) {
        for (const audit::LedgerEvent* e : it->second) {
          if (e->thread != s.thread) continue;
          absl::StrAppend(&cell, " <span class=\"rc\">", RefText(*e), "</span>");
          shown_ref = true;
        }
      }
      if (!shown_ref && note.valid && note.object_id != 0) absl::StrAppendFormat(&cell, " obj#%d", note.object_id);
      absl::StrAppendFormat(out, "<td class=\"cell lane-%d\">%s</td>", t, cell);
    }
    absl::StrAppend(out, "</tr>\n");
  }
  if (total == 0) absl::StrAppendFormat(out, "<tr class=\"gap\"><td colspan=\"%d\">no steps</td></tr>\n", n + 1);
  if (page.finding && finding_step == 0) {
    // Found outside the run (tear-down's LEAK check): the row after the last step.
    absl::StrAppendFormat(out,
                          "<tr class=\"step finding\" id=\"finding-step\" data-step=\"end\"><td class=\"stepno\">end</td>"
                          "<td colspan=\"%d\">%s found at the end of the run (tear-down)</td></tr>\n",
                          n, HtmlEscape(audit::FindingKindName(page.finding->kind)));
  }
  absl::StrAppend(out, "</tbody></table></div>\n");
}

// One line chart per object: the true refcount after each event with a
// known count, over the step (set-up and tear-down events, step 0, are
// drawn at the left and right edges).
void AppendCharts(std::string* out, const TracePage& page) {
  std::map<uint64_t, std::vector<std::pair<double, int64_t>>> series;
  const double last = static_cast<double>(std::max<uint64_t>(page.total_steps, 1));
  bool run_started = false;
  for (const audit::LedgerEvent& e : page.events) {
    if (e.kind != audit::LedgerEventKind::kRef || e.total_after == audit::kUnknownCount) continue;
    if (e.step != 0) run_started = true;
    const double x = e.step != 0 ? static_cast<double>(e.step) : (run_started ? last + 1 : 0.0);
    series[e.object].push_back({x, e.total_after});
  }
  // The objects the finding names first, then the busiest ones (at most 16).
  std::vector<uint64_t> order;
  std::set<uint64_t> seen;
  if (page.finding) {
    for (uint64_t id : page.finding->objects) {
      if (series.count(id) && seen.insert(id).second) order.push_back(id);
    }
  }
  std::vector<std::pair<size_t, uint64_t>> busy;
  for (const auto& [id, pts] : series) busy.push_back({pts.size(), id});
  std::sort(busy.begin(), busy.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (const auto& [n, id] : busy) {
    if (order.size() >= 16) break;
    if (seen.insert(id).second) order.push_back(id);
  }
  absl::StrAppendFormat(out, "<h2>Refcounts over time</h2>\n<p class=\"meta\">%d object%s with refcount changes%s</p>\n",
                        series.size(), series.size() == 1 ? "" : "s",
                        series.size() > order.size() ? absl::StrFormat(" (%d shown)", order.size()) : "");
  absl::StrAppend(out, "<div class=\"charts\">\n");
  constexpr int kW = 260, kH = 90, kPad = 18;
  const double fx = page.finding ? static_cast<double>(page.finding->step) : -1;
  for (uint64_t id : order) {
    const auto& pts = series[id];
    int64_t hi = 1;
    for (const auto& p : pts) hi = std::max(hi, p.second);
    auto X = [&](double x) { return kPad + (kW - 2 * kPad) * (x / (last + 1)); };
    auto Y = [&](int64_t y) { return kH - kPad - (kH - 2 * kPad) * (static_cast<double>(std::max<int64_t>(y, 0)) / hi); };
    std::string poly;
    for (size_t i = 0; i < pts.size(); ++i) {
      // A step function: hold the previous value until the next event.
      if (i > 0) absl::StrAppendFormat(&poly, "%.1f,%.1f ", X(pts[i].first), Y(pts[i - 1].second));
      absl::StrAppendFormat(&poly, "%.1f,%.1f ", X(pts[i].first), Y(pts[i].second));
    }
    absl::StrAppendFormat(out, "<div class=\"chart\" data-object=\"%d\"><h3>obj#%d (max %d)</h3>", id, id, hi);
    absl::StrAppendFormat(out, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", kW, kH, kW, kH);
    absl::StrAppendFormat(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d1d5da\"/>", kPad, kH - kPad,
                          kW - kPad, kH - kPad);
    if (fx >= 0) {
      absl::StrAppendFormat(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d73a49\" stroke-dasharray=\"3,2\"/>",
                            X(fx), kPad / 2, X(fx), kH - kPad);
    }
    absl::StrAppendFormat(out, "<polyline fill=\"none\" stroke=\"#005cc5\" stroke-width=\"1.5\" points=\"%s\"/>", poly);
    absl::StrAppendFormat(out, "<text x=\"2\" y=\"%d\" font-size=\"9\">%d</text><text x=\"2\" y=\"%d\" font-size=\"9\">0</text>",
                          kPad, hi, kH - kPad);
    absl::StrAppendFormat(out, "<text x=\"%d\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">step %d</text>", kW - kPad,
                          kH - 4, page.total_steps);
    absl::StrAppend(out, "</svg></div>\n");
  }
  absl::StrAppend(out, "</div>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string BuildTraceHtml(const TracePage& page) {
  std::string out;
  out.reserve(4096 + page.steps.size() * 200);
  absl::StrAppend(&out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>ftfuzz trace: ",
                  HtmlEscape(page.title), "</title>\n<style>", kStyle, "</style></head>\n<body data-rendered=\"0\">\n");
  AppendHeader(&out, page);
  absl::StrAppend(&out, "<h2>Program</h2>\n<pre class=\"program\">", HtmlEscape(page.program_text), "</pre>\n");
  AppendLanes(&out, page);
  AppendCharts(&out, page);
  absl::StrAppend(&out, "<script>", kScript, "</script>\n</body></html>\n");
  return out;
}

}  // namespace ftf::tools
