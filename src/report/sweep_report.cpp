// The sweep report in HTML (inline SVG) and Markdown.
#include "qcert/sweep_report.hpp"

#include "io/atomic_file.hpp"
#include "qcert/error.hpp"
#include "report/svg_plot.hpp"
#include "qcert/synth.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>

namespace qcert {

namespace {

using svg::escape;

const char* verdict_color(Verdict v) {
    switch (v) {
        case Verdict::Holds: return "#2e7d32";
        case Verdict::Violated: return "#c62828";
        case Verdict::Unknown: return "#f9a825";
        case Verdict::Misclassified: return "#6d4c41";
    }
    return "#999";
}
const char* kMissingColor = "#e0e0e0";
const char* kSynthColor = "#d81b60";

const std::vector<Verdict> kVerdicts = {Verdict::Holds, Verdict::Violated, Verdict::Unknown, Verdict::Misclassified};

int64_t count_of(const VerdictCounts& c, Verdict v) {
    switch (v) {
        case Verdict::Holds: return c.holds;
        case Verdict::Violated: return c.violated;
        case Verdict::Unknown: return c.unknown;
        case Verdict::Misclassified: return c.misclassified;
    }
    return 0;
}

std::string family_color(size_t i) {
    static const char* colors[] = {"#1565c0", "#ef6c00", "#6a1b9a", "#00838f"};
    return colors[i % 4];
}

std::vector<const SweepPoint*> points_of(const SweepResult& r, const std::string& family) {
    std::vector<const SweepPoint*> out;
    for (const SweepPoint& p : r.points)
        if (p.family == family) out.push_back(&p);
    return out;
}

std::string percent(const Accuracy& a) { return fmt::format("{:.2f} % ({} / {})", a.percent(), a.correct, a.total); }

std::string counts_cell(const VerdictCounts& c) {
    return fmt::format("{} / {} / {} / {}", c.holds, c.violated, c.unknown, c.misclassified);
}

std::string params_cell(const SweepPoint& p) {
    if (!p.params) return "";
    return fmt::format("{} / {} / {} (max conf. change <= {:.4g})", p.params->class_fixed, p.params->class_can_change,
                       p.params->undecided, p.params->max_confidence_change);
}

std::string point_note(const SweepPoint& p) {
    if (!p.unavailable.empty()) return "no scheme: " + p.unavailable;
    std::string n = p.robustness_note.empty() ? "" : "robustness not decided: " + p.robustness_note;
    if (!p.bound_note.empty()) n += (n.empty() ? "" : "; ") + std::string("no error bound: ") + p.bound_note;
    return n;
}

bool is_synth(const SweepPoint& p) { return !p.layer_bits.empty(); }

// "aaai2021:6", or "quadapter:6,3 (synth: per-layer bits, total 9)".
std::string scheme_cell(const SweepPoint& p) {
    if (!is_synth(p)) return p.scheme;
    return fmt::format("{} (synth: per-layer bits, total {})", p.scheme, p.total_bits());
}

// lower <= max |g - f| <= upper, with what it is over.
std::string bound_cell(const SweepPoint& p) {
    if (!p.bound) return "";
    std::string s = fmt::format("{:.4g} / {:.4g} ({} balls", p.bound->lower, p.bound->upper, p.bound->balls);
    if (p.bound->stopped) s += fmt::format(", {} at the split or time limit", p.bound->stopped);
    return s + ")";
}

const SweepPoint* synth_point(const SweepResult& r) {
    for (const SweepPoint& p : r.points)
        if (is_synth(p)) return &p;
    return nullptr;
}

// Where the synth point sits on a bits axis: its mean bits per layer.
double mean_bits(const SweepPoint& p) { return double(p.total_bits()) / double(p.layer_bits.size()); }

// ---- tables, shared by both formats -----------------------------------------

struct Table {
    std::vector<std::string> head;
    std::vector<std::vector<std::string>> rows;
};

Table points_table(const SweepResult& r) {
    Table t;
    t.head = {"scheme", "quantized accuracy"};
    for (int64_t e : r.options.eps) t.head.push_back(fmt::format("eps {}: holds / violated / unknown / misclassified", e));
    const bool bound = r.options.bound && !r.options.samples.empty();
    if (bound) t.head.push_back(fmt::format("error bound at radius {}: lower / upper of max |g - f|", r.bound_radius));
    const bool params = r.params_note.empty();
    if (params) t.head.push_back("params: class fixed / can change / undecided");
    t.head.push_back("note");
    for (const SweepPoint& p : r.points) {
        std::vector<std::string> row = {scheme_cell(p), p.accuracy ? percent(*p.accuracy) : ""};
        for (int64_t e : r.options.eps) {
            auto it = p.robustness.find(e);
            row.push_back(it == p.robustness.end() ? "" : counts_cell(it->second));
        }
        if (bound) row.push_back(bound_cell(p));
        if (params) row.push_back(is_synth(p) ? "not run (per-layer scheme)" : params_cell(p));
        row.push_back(point_note(p));
        t.rows.push_back(row);
    }
    return t;
}

Table non_monotone_table(const SweepResult& r) {
    Table t;
    t.head = {"family", "sample", "eps", "robust at bits", "not robust at bits", "verdict there"};
    for (const NonMonotone& n : r.non_monotone)
        t.rows.push_back({n.family, std::to_string(n.sample), std::to_string(n.eps), std::to_string(n.robust_bits),
                          std::to_string(n.failing_bits), verdict_name(n.failing_verdict)});
    return t;
}

std::string markdown_table(const Table& t) {
    auto esc = [](std::string s) {
        std::string o;
        for (char c : s) o += c == '|' ? std::string("\\|") : std::string(1, c);
        return o;
    };
    std::string s = "|";
    for (const std::string& h : t.head) s += " " + esc(h) + " |";
    s += "\n|";
    for (size_t i = 0; i < t.head.size(); ++i) s += "---|";
    s += "\n";
    for (const auto& row : t.rows) {
        s += "|";
        for (const std::string& c : row) s += " " + esc(c) + " |";
        s += "\n";
    }
    return s;
}

std::string html_table(const Table& t, const std::string& id) {
    std::string s = "<table id=\"" + id + "\"><thead><tr>";
    for (const std::string& h : t.head) s += "<th>" + escape(h) + "</th>";
    s += "</tr></thead><tbody>";
    for (const auto& row : t.rows) {
        s += "<tr>";
        for (const std::string& c : row) s += "<td>" + escape(c) + "</td>";
        s += "</tr>";
    }
    return s + "</tbody></table>";
}

std::string bound_summary(const SweepResult& r) {
    if (!r.options.bound) return "not computed (--no-bound)";
    if (r.options.samples.empty()) return "not computed: no samples chosen";
    const size_t n = r.options.bound_samples > 0 ? std::min(r.options.samples.size(), size_t(r.options.bound_samples))
                                                 : r.options.samples.size();
    return fmt::format("per point, the maximum over {} of the certified bound on |g(x)_k - f(x)_k| over the L-inf ball "
                       "of radius {} (input units, clipped to the data range) around the sample, all outputs k (f: the float "
                       "network, g: the quantized one; integer inputs for an integer scheme, real ones else); upper proved "
                       "(outward-rounded differential bounds with input splitting), lower |g - f| at a witness input, "
                       "re-evaluated (qcert bound, docs/BOUND.md); at most {} splits or {:g} s per ball",
                       n == r.options.samples.size() ? std::string("the samples") : fmt::format("the first {} samples", n),
                       r.bound_radius, r.options.bound_max_splits, r.options.bound_timeout_s);
}

std::string synth_summary(const SweepResult& r) {
    if (!r.options.synth) return "not asked (--synth)";
    const SweepPoint* p = synth_point(r);
    if (!p) return r.synth_note;
    return fmt::format("{}: per-layer bits {} (total {}), searched in {}..{} per layer (qcert synth, docs/SYNTH.md) so that "
                       "the samples' real L-inf balls at every eps that the float network is proved robust on stay proved: "
                       "{} of those {} proved (of {} properties), {:.1f} s; its robustness is decided on real-valued balls "
                       "by synth's sound check",
                       p->scheme, bits_str(p->layer_bits), p->total_bits(), r.options.bits_lo, r.options.bits_hi, p->synth_proved,
                       p->synth_kept, p->synth_properties, p->synth_time_s) +
           (p->synth_kept == 0 ? " (no property is proved on the float network, so none constrains the bits: they stay at the maximum)"
                               : "");
}

std::string summary_lines(const SweepResult& r) {
    std::string families;
    for (const std::string& f : r.options.families) families += (families.empty() ? "" : ", ") + f;
    std::string samples = r.options.samples.empty() ? "none" : fmt::format("{} ({}..{})", r.options.samples.size(),
                                                                            r.options.samples.front(), r.options.samples.back());
    std::string eps;
    for (int64_t e : r.options.eps) eps += (eps.empty() ? "" : ", ") + std::to_string(e);
    std::vector<std::pair<std::string, std::string>> kv = {
        {"model", fmt::format("{} ({} parameters{})", r.options.model, r.parameters,
                              r.options.prune != 0 ? fmt::format(", pruned {}", r.options.prune) : "")},
        {"data", r.data_source},
        {"float accuracy", percent(r.float_accuracy)},
        {"scheme families", families},
        {"bits", fmt::format("{} to {}", r.options.bits_lo, r.options.bits_hi)},
        {"samples (robustness, parameter robustness)", samples},
        {"eps (integer input units)", eps.empty() ? "none" : eps},
        {"timeout per query", fmt::format("{:g} s", r.options.verify.timeout_s)},
        {"parameter robustness", r.params_note.empty() ? fmt::format("at each sample, perturbation = every rounding of each weight and bias (timeout {:g} s)", r.options.params_timeout_s) : r.params_note},
        {"error bound", bound_summary(r)},
        {"synthesized per-layer strategy", synth_summary(r)},
        {"queries", fmt::format("{} ({} decided in this run, {} taken from the results file, {} missing)", r.queries,
                                r.decided_now, r.reused, r.missing)},
        {"run time", fmt::format("{:.1f} s", r.time_s)},
    };
    std::string s;
    for (const auto& [k, v] : kv) s += "- " + k + ": " + v + "\n";
    return s;
}

// ---- plots ------------------------------------------------------------------

std::string accuracy_plot(const SweepResult& r) {
    svg::LinePlot p;
    p.title = "Accuracy against bits";
    p.x_label = "bits";
    p.y_label = "accuracy (%)";
    p.y_min = 0;
    p.y_max = 100;
    svg::Series fl{"float", "#555", {}};
    for (size_t i = 0; i < r.options.families.size(); ++i) {
        svg::Series s{r.options.families[i], family_color(i), {}};
        for (const SweepPoint* pt : points_of(r, r.options.families[i]))
            if (pt->accuracy) s.points.push_back({double(pt->bits), pt->accuracy->percent()});
        if (!s.points.empty()) p.series.push_back(s);
    }
    if (const SweepPoint* sp = synth_point(r); sp && sp->accuracy)
        p.series.push_back({"synth " + bits_str(sp->layer_bits), kSynthColor, {{mean_bits(*sp), sp->accuracy->percent()}}});
    fl.points = {{double(r.options.bits_lo), r.float_accuracy.percent()}, {double(r.options.bits_hi), r.float_accuracy.percent()}};
    p.series.push_back(fl);
    return svg::line_plot(p);
}

// Upper (solid) and lower (dashed) error bound against bits, log scale.
std::string bound_plot(const SweepResult& r) {
    svg::LinePlot p;
    p.title = fmt::format("Error bound max |g - f| at radius {} against bits", r.bound_radius);
    p.x_label = "bits";
    p.y_label = "max |g - f| (log scale)";
    p.log_y = true;
    p.width = 620;
    for (size_t i = 0; i < r.options.families.size(); ++i) {
        svg::Series up{r.options.families[i] + " upper", family_color(i), {}}, lo{r.options.families[i] + " lower", family_color(i), {}, true};
        for (const SweepPoint* pt : points_of(r, r.options.families[i]))
            if (pt->bound) up.points.push_back({double(pt->bits), pt->bound->upper}), lo.points.push_back({double(pt->bits), pt->bound->lower});
        if (!up.points.empty()) p.series.push_back(up), p.series.push_back(lo);
    }
    if (const SweepPoint* sp = synth_point(r); sp && sp->bound) {
        p.series.push_back({"synth upper", kSynthColor, {{mean_bits(*sp), sp->bound->upper}}});
        p.series.push_back({"synth lower", kSynthColor, {{mean_bits(*sp), sp->bound->lower}}, true});
    }
    return svg::line_plot(p);
}

bool any_bound(const SweepResult& r) {
    return std::any_of(r.points.begin(), r.points.end(), [](const SweepPoint& p) { return p.bound.has_value(); });
}

std::string robustness_plot(const SweepResult& r, const std::string& family, int64_t eps) {
    svg::StackedBars b;
    b.title = fmt::format("{}: robustness at eps {} against bits", family, eps);
    b.x_label = "bits";
    b.y_label = "samples";
    for (Verdict v : kVerdicts) b.layers.push_back({verdict_name(v), verdict_color(v), {}});
    for (const SweepPoint* p : points_of(r, family)) {
        b.categories.push_back(std::to_string(p->bits));
        auto it = p->robustness.find(eps);
        for (size_t k = 0; k < kVerdicts.size(); ++k)
            b.layers[k].values.push_back(it == p->robustness.end() ? 0.0 : double(count_of(it->second, kVerdicts[k])));
    }
    return svg::stacked_bars(b);
}

std::string params_plot(const SweepResult& r, const std::string& family) {
    svg::StackedBars b;
    b.title = family + ": can a rounding of the parameters change the class?";
    b.x_label = "bits";
    b.y_label = "samples";
    b.layers = {{"class fixed", verdict_color(Verdict::Holds), {}},
                {"can change", verdict_color(Verdict::Violated), {}},
                {"undecided", verdict_color(Verdict::Unknown), {}}};
    for (const SweepPoint* p : points_of(r, family)) {
        b.categories.push_back(std::to_string(p->bits));
        b.layers[0].values.push_back(p->params ? double(p->params->class_fixed) : 0);
        b.layers[1].values.push_back(p->params ? double(p->params->class_can_change) : 0);
        b.layers[2].values.push_back(p->params ? double(p->params->undecided) : 0);
    }
    return svg::stacked_bars(b);
}

// Samples down, bits across, one coloured cell per verdict.
std::string verdict_grid(const SweepResult& r, const std::string& family, int64_t eps) {
    std::map<std::pair<int64_t, int>, Verdict> v;
    for (const RobustRecord& rr : r.robust)
        if (rr.family == family && rr.eps == eps) v[{rr.sample, rr.bits}] = rr.verdict;
    const std::vector<int64_t>& samples = r.options.samples;
    const double cell = 14, left = 70, top = 40;
    const int nbits = r.options.bits_hi - r.options.bits_lo + 1;
    const double width = left + cell * nbits + 150, height = top + cell * double(samples.size()) + 10;
    const std::string title = fmt::format("{}, eps {}: verdict per sample (rows) and bits (columns)", family, eps);
    svg::Canvas c(std::max(width, 8.0 + 6.5 * double(title.size())), height, title);
    c.text(8, 14, title, "start", 12);
    for (int b = 0; b < nbits; ++b) c.text(left + cell * (b + 0.5), top - 6, std::to_string(r.options.bits_lo + b), "middle", 9);
    for (size_t i = 0; i < samples.size(); ++i) {
        const double y = top + cell * double(i);
        c.text(left - 6, y + cell - 3, fmt::format("sample {}", samples[i]), "end", 9);
        for (int b = 0; b < nbits; ++b) {
            auto it = v.find({samples[i], r.options.bits_lo + b});
            const std::string title = fmt::format("sample {}, {} bits: {}", samples[i], r.options.bits_lo + b,
                                                  it == v.end() ? "not decided" : verdict_name(it->second));
            c.rect(left + cell * b + 0.5, y + 0.5, cell - 1, cell - 1, it == v.end() ? kMissingColor : verdict_color(it->second), title);
        }
    }
    double ly = top + 10;
    for (Verdict vd : kVerdicts) {
        c.rect(left + cell * nbits + 16, ly - 9, 10, 10, verdict_color(vd));
        c.text(left + cell * nbits + 30, ly, verdict_name(vd));
        ly += 16;
    }
    c.rect(left + cell * nbits + 16, ly - 9, 10, 10, kMissingColor);
    c.text(left + cell * nbits + 30, ly, "not decided");
    return c.str();
}

// A sample as a grey pixel grid when it is an image (H x W or 1 x H x W), else its values.
std::string sample_picture(const Dataset& d, int64_t sample) {
    const Shape& s = d.sample_shape;
    int64_t h = 0, w = 0;
    if (s.size() == 2) h = s[0], w = s[1];
    if (s.size() == 3 && s[0] == 1) h = s[1], w = s[2];
    const Vec x = d.raw_sample(sample);
    if (h < 4 || w < 4) {
        std::string t;
        for (int64_t i = 0; i < x.size(); ++i) t += fmt::format("{}{:g}", i ? ", " : "", x[i]);
        return "<code>(" + escape(t) + ")</code>";
    }
    double lo = x.minCoeff(), hi = x.maxCoeff();
    if (hi <= lo) hi = lo + 1;
    const double px = 3;
    svg::Canvas c(double(w) * px, double(h) * px, fmt::format("sample {}", sample));
    for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
            const int g = 255 - int(std::lround(255.0 * (x[i * w + j] - lo) / (hi - lo)));
            c.rect(double(j) * px, double(i) * px, px, px, fmt::format("#{0:02x}{0:02x}{0:02x}", g));
        }
    return c.str();
}

const char* kStyle =
    "body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}"
    "figure{display:inline-block;margin:0.5em 1em 0.5em 0;vertical-align:top}"
    ".nm{display:inline-block;margin:0.5em 1.5em 0.5em 0;text-align:center;font-size:13px}";

}  // namespace

std::string sweep_report_markdown(const SweepResult& r) {
    std::string s = "# qcert sweep: how many bits does it take?\n\n" + summary_lines(r) + "\n## Per bit-width\n\n";
    s += markdown_table(points_table(r));
    s += "\nRobustness: the L-inf ball of radius eps (integer input units) around each chosen sample, decided on the exact "
         "integer semantics by the verification portfolio; misclassified samples are not verified. The synthesized "
         "strategy (quadapter, real activations) is decided on the real-valued ball by synth's sound check.\n";
    s += "\n## Samples whose robustness is not monotone in the bits\n\n";
    s += r.non_monotone.empty() ? "None among the decided queries.\n" : markdown_table(non_monotone_table(r));
    return s;
}

std::string sweep_report_html(const SweepResult& r, const Dataset& data) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>qcert sweep: " +
                    escape(r.options.model) + "</title><style>" + kStyle + "</style></head><body>\n";
    h += "<h1>qcert sweep: how many bits does it take?</h1>\n<ul>";
    std::string lines = summary_lines(r);
    for (size_t pos = 0, nl; (nl = lines.find('\n', pos)) != std::string::npos; pos = nl + 1)
        h += "<li>" + escape(lines.substr(pos + 2, nl - pos - 2)) + "</li>";
    h += "</ul>\n<h2>Accuracy</h2>\n";
    if (synth_point(r)) h += "<p>The synthesized strategy (per-layer bits) sits at its mean bits per layer.</p>\n";
    h += "<figure>" + accuracy_plot(r) + "</figure>\n";
    if (any_bound(r))
        h += "<h2>Error bound</h2>\n<p>Solid: the proved upper bound; dashed: the lower bound (|g - f| re-evaluated at a "
             "witness); a lower bound of 0 has no place on the log scale. The synthesized strategy sits at its mean bits "
             "per layer.</p>\n<figure id=\"bound-plot\">" + bound_plot(r) + "</figure>\n";
    // Families with robustness verdicts (fixed:B has none: no integer semantics).
    std::vector<std::string> verified;
    for (const std::string& f : r.options.families)
        if (std::any_of(r.robust.begin(), r.robust.end(), [&](const RobustRecord& x) { return x.family == f; }))
            verified.push_back(f);
    if (!verified.empty()) {
        h += "<h2>Robustness counts</h2>\n";
        for (const std::string& f : verified)
            for (int64_t e : r.options.eps) h += "<figure>" + robustness_plot(r, f, e) + "</figure>\n";
        h += "<h2>Verdict per sample</h2>\n";
        for (const std::string& f : verified)
            for (int64_t e : r.options.eps) h += "<figure>" + verdict_grid(r, f, e) + "</figure>\n";
    }
    if (r.params_note.empty()) {
        h += "<h2>Parameter robustness</h2>\n<p>At each sample: can some value of every weight and bias within its "
             "rounding set (every value the scheme may round it to) change the predicted class? <em>class fixed</em>: "
             "proved not; <em>can change</em>: a witness parameter set changes it; <em>undecided</em>: the time ran out "
             "(qcert params, docs/PARAMS.md).</p>\n";
        for (const std::string& f : r.options.families) h += "<figure>" + params_plot(r, f) + "</figure>\n";
    }
    h += "<h2>Per bit-width</h2>\n" + html_table(points_table(r), "points");
    h += "\n<h2>Samples whose robustness is not monotone in the bits</h2>\n";
    if (r.non_monotone.empty()) h += "<p>None among the decided queries.</p>\n";
    else {
        h += html_table(non_monotone_table(r), "non-monotone");
        std::set<int64_t> shown;
        for (const NonMonotone& n : r.non_monotone) {
            if (!shown.insert(n.sample).second) continue;
            h += fmt::format("<div class=\"nm\">{}<br>sample {} (label {})</div>", sample_picture(data, n.sample), n.sample,
                             data.labels.empty() ? -1 : data.labels[n.sample]);
        }
    }
    h += "\n</body></html>\n";
    return h;
}

std::string write_sweep_report(const SweepResult& r, const Dataset& data, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir, "cannot create the report directory: " + ec.message());
    const std::string html = (std::filesystem::path(dir) / "report.html").string();
    write_file_atomically((std::filesystem::path(dir) / "report.md").string(), sweep_report_markdown(r));
    write_file_atomically(html, sweep_report_html(r, data));
    return html;
}

}  // namespace qcert
