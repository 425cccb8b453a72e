// SVG canvas, axes, line plots and stacked bars.
#include "report/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace qcert::svg {

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            default: o += c;
        }
    }
    return o;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
    if (!(hi > lo)) return {lo};
    const double raw = (hi - lo) / std::max(count, 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) { step = m * mag; break; }
    std::vector<double> t;
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    return t;
}

namespace {

std::string num(double v) { return fmt::format("{:.2f}", v); }
std::string tick_label(double v) { return fmt::format("{:g}", v); }

// The plot area inside a canvas, and the map from data to pixels.
struct Frame {
    double left = 56, right, top = 30, bottom;
    double x0, x1, y0, y1;
    double px(double x) const { return left + (x - x0) / (x1 - x0) * (right - left); }
    double py(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
};

// yticks in frame units; with log_y they are decades and labelled 10^t.
void draw_frame(Canvas& c, const Frame& f, double width, double height, const std::string& title, const std::string& xl,
                const std::string& yl, const std::vector<double>& yticks, bool log_y = false) {
    c.text(width / 2, 18, title, "middle", 13);
    for (double t : yticks) {
        c.line(f.left, f.py(t), f.right, f.py(t), "#e3e3e3");
        c.text(f.left - 6, f.py(t) + 4, log_y ? fmt::format("{:g}", std::pow(10.0, t)) : tick_label(t), "end");
    }
    c.line(f.left, f.bottom, f.right, f.bottom, "#333");
    c.line(f.left, f.top, f.left, f.bottom, "#333");
    c.text((f.left + f.right) / 2, height - 6, xl, "middle");
    c.text(14, (f.top + f.bottom) / 2, yl, "middle", 11, -90);
}

void draw_legend(Canvas& c, double x, double y, const std::vector<std::pair<std::string, std::string>>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
        c.rect(x, y + 16.0 * double(i) - 9, 10, 10, items[i].second);
        c.text(x + 14, y + 16.0 * double(i), items[i].first);
    }
}

}  // namespace

Canvas::Canvas(double width, double height, const std::string& label) : w_(width), h_(height), label_(label) {}

void Canvas::rect(double x, double y, double w, double h, const std::string& fill, const std::string& title) {
    body_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"", num(x), num(y), num(w), num(h), fill);
    body_ += title.empty() ? "/>" : fmt::format("><title>{}</title></rect>", escape(title));
}

void Canvas::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width, bool dashed) {
    body_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>", num(x1), num(y1),
                         num(x2), num(y2), stroke, width, dashed ? " stroke-dasharray=\"4 3\"" : "");
}

void Canvas::polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width, bool dashed) {
    std::string p;
    for (const auto& [x, y] : pts) p += (p.empty() ? "" : " ") + num(x) + "," + num(y);
    body_ += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>", p, stroke, width,
                         dashed ? " stroke-dasharray=\"5,3\"" : "");
}

void Canvas::circle(double x, double y, double r, const std::string& fill, const std::string& title) {
    body_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"", num(x), num(y), num(r), fill);
    body_ += title.empty() ? "/>" : fmt::format("><title>{}</title></circle>", escape(title));
}

void Canvas::text(double x, double y, const std::string& s, const std::string& anchor, double size, double rotate) {
    body_ += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\"", num(x), num(y), size, anchor);
    if (rotate != 0) body_ += fmt::format(" transform=\"rotate({} {} {})\"", rotate, num(x), num(y));
    body_ += ">" + escape(s) + "</text>";
}

std::string Canvas::str() const {
    return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
                       "aria-label=\"{2}\" font-family=\"sans-serif\">{3}</svg>",
                       num(w_), num(h_), escape(label_), body_);
}

std::string line_plot(const LinePlot& p) {
    Canvas c(p.width, p.height, p.title);
    Frame f;
    f.right = p.width - 130;
    f.bottom = p.height - 40;
    // The points in frame units (log10 y on a log scale, where y <= 0 has no place).
    std::vector<std::vector<std::pair<double, double>>> shown(p.series.size());
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < p.series.size(); ++k)
        for (const auto& [x, y] : p.series[k].points) {
            if (p.log_y && !(y > 0)) continue;
            const double fy = p.log_y ? std::log10(y) : y;
            shown[k].push_back({x, fy});
            xmin = std::min(xmin, x), xmax = std::max(xmax, x);
            ymin = std::min(ymin, fy), ymax = std::max(ymax, fy);
        }
    if (p.y_max > p.y_min) ymin = p.log_y ? std::log10(p.y_min) : p.y_min, ymax = p.log_y ? std::log10(p.y_max) : p.y_max;
    if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax == xmin) xmin -= 1, xmax += 1;
    std::vector<double> yticks;
    if (p.log_y) {  // whole decades, at most about 8 labelled
        ymin = std::floor(ymin), ymax = std::ceil(ymax);
        if (ymax == ymin) ymax += 1;
        const double step = std::ceil((ymax - ymin) / 8);
        for (double t = ymin; t <= ymax; t += step) yticks.push_back(t);
    } else {
        if (ymax == ymin) ymin -= 1, ymax += 1;
        yticks = nice_ticks(ymin, ymax);
    }
    f.x0 = xmin, f.x1 = xmax, f.y0 = ymin, f.y1 = ymax;
    draw_frame(c, f, p.width, p.height, p.title, p.x_label, p.y_label, yticks, p.log_y);
    for (double t : nice_ticks(xmin, xmax, 10)) {
        c.line(f.px(t), f.bottom, f.px(t), f.bottom + 4, "#333");
        c.text(f.px(t), f.bottom + 16, tick_label(t), "middle");
    }
    std::vector<std::pair<std::string, std::string>> legend;
    for (size_t k = 0; k < p.series.size(); ++k) {
        const Series& s = p.series[k];
        std::vector<std::pair<double, double>> px;
        for (const auto& [x, y] : shown[k]) px.push_back({f.px(x), f.py(y)});
        c.polyline(px, s.color, 2, s.dashed);
        for (size_t i = 0; i < px.size(); ++i)
            c.circle(px[i].first, px[i].second, 3, s.color,
                     fmt::format("{}: {:g} at {:g}", s.name, p.log_y ? std::pow(10.0, shown[k][i].second) : shown[k][i].second,
                                 shown[k][i].first));
        legend.push_back({s.name, s.color});
    }
    draw_legend(c, f.right + 14, f.top + 10, legend);
    return c.str();
}

std::string stacked_bars(const StackedBars& p) {
    Canvas c(p.width, p.height, p.title);
    Frame f;
    f.right = p.width - 130;
    f.bottom = p.height - 40;
    double top = 0;
    for (size_t k = 0; k < p.categories.size(); ++k) {
        double sum = 0;
        for (const BarLayer& l : p.layers) sum += k < l.values.size() ? l.values[k] : 0;
        top = std::max(top, sum);
    }
    f.x0 = 0, f.x1 = double(std::max<size_t>(p.categories.size(), 1));
    f.y0 = 0, f.y1 = top > 0 ? top : 1;
    draw_frame(c, f, p.width, p.height, p.title, p.x_label, p.y_label, nice_ticks(0, f.y1));
    const double slot = (f.right - f.left) / f.x1;
    std::vector<std::pair<std::string, std::string>> legend;
    for (const BarLayer& l : p.layers) legend.push_back({l.name, l.color});
    for (size_t k = 0; k < p.categories.size(); ++k) {
        double base = 0;
        const double x = f.left + slot * double(k) + slot * 0.15;
        for (const BarLayer& l : p.layers) {
            const double v = k < l.values.size() ? l.values[k] : 0;
            if (v > 0) c.rect(x, f.py(base + v), slot * 0.7, f.py(base) - f.py(base + v), l.color, fmt::format("{} {}: {:g}", p.categories[k], l.name, v));
            base += v;
        }
        c.text(x + slot * 0.35, f.bottom + 16, p.categories[k], "middle");
    }
    draw_legend(c, f.right + 14, f.top + 10, legend);
    return c.str();
}

}  // namespace qcert::svg
