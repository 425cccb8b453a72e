// The SVG kit and the sweep report, including a load in headless chromium.
#include "qcert/sweep_report.hpp"
#include "report/svg_plot.hpp"
#include "test_util.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using qcert::test::TempDir;

namespace {

int count(const std::string& s, const std::string& what) {
    int n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

// A result as run_sweep would give it, small enough to check by hand: one family, bits
// 3..5, samples 0 and 1 of a 4x4 "image" data set, one eps; sample 1 robust at 3 bits
// but violated at 5.
qcert::SweepResult hand_made_result(qcert::Dataset& d) {
    d.source = "tiny.idx";
    d.sample_shape = {1, 4, 4};
    d.raw.assign(32, 0.0);
    for (int i = 0; i < 32; ++i) d.raw[i] = double((i * 37) % 256);
    d.labels = {3, 7};
    d.integral = true;
    qcert::SweepResult r;
    r.options.model = "tiny.onnx";
    r.options.families = {"aaai2021"};
    r.options.bits_lo = 3;
    r.options.bits_hi = 5;
    r.options.samples = {0, 1};
    r.options.eps = {2};
    r.data_source = d.source;
    r.parameters = 12;
    r.params_note = "not run: the network has 12 parameters, more than the limit of 0";
    r.float_accuracy.total = 2;
    r.float_accuracy.correct = 2;
    using qcert::Verdict;
    const Verdict v0[] = {Verdict::Violated, Verdict::Holds, Verdict::Holds};
    const Verdict v1[] = {Verdict::Holds, Verdict::Unknown, Verdict::Violated};
    for (int b = 3; b <= 5; ++b) {
        qcert::SweepPoint p;
        p.family = "aaai2021";
        p.bits = b;
        p.scheme = "aaai2021:" + std::to_string(b);
        p.integer = true;
        p.accuracy = qcert::Accuracy{2, b == 3 ? 1 : 2, {}};
        p.robustness[2].add(v0[b - 3]);
        p.robustness[2].add(v1[b - 3]);
        r.points.push_back(p);
        r.robust.push_back({"aaai2021", b, 0, 2, v0[b - 3]});
        r.robust.push_back({"aaai2021", b, 1, 2, v1[b - 3]});
    }
    r.non_monotone = qcert::find_non_monotone(r.robust);
    r.queries = 9;
    r.decided_now = 9;
    return r;
}

std::string find_chromium() {
    for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
        if (std::filesystem::exists(c)) return c;
    return "";
}

}  // namespace

TEST(SvgPlot, NiceTicksAndEscaping) {
    EXPECT_EQ(qcert::svg::nice_ticks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
    EXPECT_EQ(qcert::svg::nice_ticks(2, 16, 10), (std::vector<double>{2, 4, 6, 8, 10, 12, 14, 16}));
    EXPECT_EQ(qcert::svg::nice_ticks(0, 7, 5), (std::vector<double>{0, 2, 4, 6}));
    EXPECT_EQ(qcert::svg::escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
}

TEST(SvgPlot, LinePlotAndBarsDrawWhatTheyAreGiven) {
    qcert::svg::LinePlot p;
    p.title = "t<1>";
    p.series.push_back({"a", "#f00", {{1, 10}, {2, 20}, {3, 15}}});
    p.series.push_back({"b", "#00f", {{1, 5}, {3, 5}}});
    const std::string s = qcert::svg::line_plot(p);
    EXPECT_EQ(count(s, "<svg"), 1);
    EXPECT_EQ(count(s, "<polyline"), 2);
    EXPECT_EQ(count(s, "<circle"), 5);
    EXPECT_NE(s.find("t&lt;1&gt;"), std::string::npos);
    qcert::svg::StackedBars b;
    b.categories = {"2", "3"};
    b.layers = {{"x", "#0f0", {1, 0}}, {"y", "#f00", {2, 3}}};
    const std::string t = qcert::svg::stacked_bars(b);
    // three non-zero bar segments and two legend swatches
    EXPECT_EQ(count(t, "<rect"), 5);
}

TEST(SweepReport, MarkdownHasTheTables) {
    qcert::Dataset d;
    const qcert::SweepResult r = hand_made_result(d);
    const std::string md = qcert::sweep_report_markdown(r);
    EXPECT_NE(md.find("| aaai2021:3 | 50.00 % (1 / 2) | 1 / 1 / 0 / 0 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| aaai2021:4 | 100.00 % (2 / 2) | 1 / 0 / 1 / 0 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| aaai2021 | 1 | 2 | 3 | 5 | violated |"), std::string::npos) << md;
    EXPECT_EQ(md.find("params:"), std::string::npos);  // parameter robustness did not run: no column
}

TEST(SweepReport, HtmlHasEveryPlotAndTheImage) {
    qcert::Dataset d;
    const qcert::SweepResult r = hand_made_result(d);
    const std::string h = qcert::sweep_report_html(r, d);
    // accuracy, robustness bars, verdict grid, the one non-monotone sample's image
    EXPECT_EQ(count(h, "<svg"), 4);
    EXPECT_EQ(count(h, "<figure>"), 3);
    EXPECT_NE(h.find("sample 1 (label 7)"), std::string::npos);
    EXPECT_NE(h.find("<title>sample 1, 5 bits: violated</title>"), std::string::npos);
    EXPECT_EQ(h.find("<script"), std::string::npos);  // no scripts, nothing fetched
    EXPECT_EQ(h.find(" src="), std::string::npos);   // and nothing linked
    EXPECT_EQ(h.find(" href="), std::string::npos);
}

// The error bound per point and the synthesized strategy: a column, a row, a log-scale plot.
TEST(SweepReport, ErrorBoundAndSynthPoint) {
    qcert::Dataset d;
    qcert::SweepResult r = hand_made_result(d);
    r.bound_radius = 2;
    const double upper[] = {0.5, 0.05, 0.004}, lower[] = {0.25, 0.01, 0.0};
    for (int i = 0; i < 3; ++i) r.points[i].bound = qcert::BoundSummary{upper[i], lower[i], 1, 2, 40, 1, 3.0};
    r.options.synth = true;
    qcert::SweepPoint s;
    s.family = "synth";
    s.layer_bits = {5, 3};
    s.bits = 5;
    s.scheme = "quadapter:5,3";
    s.accuracy = qcert::Accuracy{2, 2, {}};
    s.robustness[2].add(qcert::Verdict::Holds);
    s.robustness[2].add(qcert::Verdict::Unknown);
    s.bound = qcert::BoundSummary{0.125, 0.0625, 0, 2, 12, 0, 1.0};
    s.synth_proved = 2;
    s.synth_kept = 2;
    s.synth_properties = 2;
    r.points.push_back(s);
    const std::string md = qcert::sweep_report_markdown(r);
    EXPECT_NE(md.find("error bound at radius 2: lower / upper of max \\|g - f\\|"), std::string::npos) << md;
    EXPECT_NE(md.find("| aaai2021:3 | 50.00 % (1 / 2) | 1 / 1 / 0 / 0 | 0.25 / 0.5 (2 balls, 1 at the split or time limit) |"),
              std::string::npos) << md;
    EXPECT_NE(md.find("| quadapter:5,3 (synth: per-layer bits, total 8) | 100.00 % (2 / 2) | 1 / 0 / 1 / 0 | 0.0625 / 0.125 (2 balls) |"),
              std::string::npos) << md;
    EXPECT_NE(md.find("quadapter:5,3: per-layer bits 5,3 (total 8)"), std::string::npos) << md;
    const std::string h = qcert::sweep_report_html(r, d);
    EXPECT_EQ(count(h, "<svg"), 5);  // the bound plot besides the four of the hand-made result
    const size_t at = h.find("<figure id=\"bound-plot\">");
    ASSERT_NE(at, std::string::npos);
    const std::string plot = h.substr(at, h.find("</figure>", at) - at);
    // Decades 0.001 .. 1 on the axis; upper solid, lower dashed; the zero lower bound left out.
    for (const char* tick : {">0.001<", ">0.01<", ">0.1<", ">1<"}) EXPECT_NE(plot.find(tick), std::string::npos) << tick;
    EXPECT_EQ(count(plot, "stroke-dasharray"), 2);  // aaai2021 lower, synth lower
    EXPECT_NE(plot.find("aaai2021 upper: 0.004 at 5"), std::string::npos);
    EXPECT_NE(plot.find("aaai2021 lower: 0.01 at 4"), std::string::npos);
    EXPECT_EQ(plot.find("aaai2021 lower: 0 at 5"), std::string::npos);
    EXPECT_NE(plot.find("synth upper: 0.125 at 4"), std::string::npos);
    EXPECT_NE(h.find("quadapter:5,3 (synth: per-layer bits, total 8)"), std::string::npos);
}

TEST(SweepReport, WrittenAtomicallyIntoTheDirectory) {
    TempDir t;
    qcert::Dataset d;
    const qcert::SweepResult r = hand_made_result(d);
    const std::string html = qcert::write_sweep_report(r, d, t.file("out/deeper"));
    EXPECT_EQ(html, t.file("out/deeper/report.html"));
    EXPECT_EQ(qcert::test::read_file(html), qcert::sweep_report_html(r, d));
    EXPECT_EQ(qcert::test::read_file(t.file("out/deeper/report.md")), qcert::sweep_report_markdown(r));
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(t.file("out/deeper"))) files += e.is_regular_file();
    EXPECT_EQ(files, 2);  // no temporary file left behind
}

// Loads `page` in Debian's headless chromium with a probe script added at its end:
// the title becomes "svgs N drawn M" (M: those laid out with a non-empty box). Returns
// the DOM chromium dumps; `log` gets its stderr.
std::string load_in_chromium(const std::string& chromium, const TempDir& t, std::string page, std::string& log) {
    const std::string probe =
        "<script>window.addEventListener('load',()=>{const s=[...document.querySelectorAll('svg')];"
        "const drawn=s.filter(e=>{const b=e.getBoundingClientRect();return b.width>0&&b.height>0;}).length;"
        "document.title='svgs '+s.length+' drawn '+drawn;});</script>";
    page.insert(page.rfind("</body>"), probe);
    std::ofstream(t.file("page.html")) << page;
    const std::string cmd = chromium +
                            " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                            "--disable-background-networking --disable-component-update --disable-sync "
                            "--user-data-dir=" + t.file("profile") + " --enable-logging=stderr --v=0 --virtual-time-budget=2000 "
                            "--dump-dom file://" + t.file("page.html") + " >" + t.file("dom") + " 2>" + t.file("log");
    const int rc = std::system(cmd.c_str());
    log = qcert::test::read_file(t.file("log"));
    EXPECT_EQ(rc, 0) << log;
    return qcert::test::read_file(t.file("dom"));
}

// The page loads with no console message at all (it has no script of its own and the
// probe logs nothing, so any message is an error, a failed load or a warning), and every
// SVG is laid out.
TEST(SweepReport, LoadsInHeadlessChromium) {
    const std::string chromium = find_chromium();
    if (chromium.empty()) GTEST_SKIP() << "skipped: chromium is not installed (apt-get install chromium)";
    TempDir t;
    qcert::Dataset d;
    const qcert::SweepResult r = hand_made_result(d);
    std::string log;
    const std::string dom = load_in_chromium(chromium, t, qcert::sweep_report_html(r, d), log);
    EXPECT_NE(dom.find("<title>svgs 4 drawn 4</title>"), std::string::npos) << dom.substr(0, 400);
    EXPECT_EQ(count(dom, "<svg"), 4);
    EXPECT_EQ(log.find(":CONSOLE"), std::string::npos) << log;
}

// The same for the report of a real sweep: the two-input network as 8-bit "pixels" under
// aaai2021 at 3..5 bits, robustness and parameter robustness.
TEST(SweepReport, RealSweepLoadsInHeadlessChromium) {
    const std::string chromium = find_chromium();
    if (chromium.empty()) GTEST_SKIP() << "skipped: chromium is not installed (apt-get install chromium)";
    TempDir t;
    const std::string ex = qcert::test::source_dir() + "/examples/";
    qcert::Dataset d = qcert::read_csv(ex + "two_input_data.csv");
    for (double& v : d.raw) v = std::round(v * 255.0);
    d.float_scale = 1.0 / 255.0;
    d.integral = true;
    for (double l : qcert::read_csv(ex + "two_input_labels.csv").raw) d.labels.push_back(int(l));
    qcert::SweepOptions o;
    o.model = ex + "two_input_relu.onnx";
    o.families = {"aaai2021", "fixed"};
    o.bits_lo = 3;
    o.bits_hi = 5;
    o.samples = {0, 1, 2, 3, 4, 5};
    o.eps = {3, 12};
    o.params_timeout_s = 5;
    o.synth = true;
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    const std::string html = qcert::sweep_report_html(r, d);
    // accuracy; error bound; bars and grid for aaai2021 at two eps; parameter plots for both
    // families (non-monotone two-input samples would be shown as numbers, not images)
    const int svgs = count(html, "<svg");
    EXPECT_EQ(svgs, 1 + 1 + 2 + 2 + 2);
    EXPECT_NE(html.find("<figure id=\"bound-plot\">"), std::string::npos);
    EXPECT_NE(html.find("(synth: per-layer bits, total "), std::string::npos);
    std::string log;
    const std::string dom = load_in_chromium(chromium, t, html, log);
    EXPECT_NE(dom.find("<title>svgs " + std::to_string(svgs) + " drawn " + std::to_string(svgs) + "</title>"), std::string::npos)
        << dom.substr(0, 400);
    EXPECT_EQ(log.find(":CONSOLE"), std::string::npos) << log;
}
