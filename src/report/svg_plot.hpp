// A tiny SVG plotting kit for reports: an XML-escaped text helper, an SVG canvas
// with rectangles, lines and text, axes with "nice" ticks, line plots and stacked
// bar charts with a legend. Everything returns SVG markup as a string to inline in HTML.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace qcert::svg {

std::string escape(const std::string& s);  // &, <, >, " as entities

// Up to about `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

// An SVG element being drawn; str() closes it.
class Canvas {
public:
    Canvas(double width, double height, const std::string& label);
    void rect(double x, double y, double w, double h, const std::string& fill, const std::string& title = "");
    void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1, bool dashed = false);
    void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke, double width = 2,
                  bool dashed = false);
    void circle(double x, double y, double r, const std::string& fill, const std::string& title = "");
    // anchor: start, middle or end
    void text(double x, double y, const std::string& s, const std::string& anchor = "start", double size = 11, double rotate = 0);
    std::string str() const;

private:
    double w_, h_;
    std::string label_, body_;
};

struct Series {
    std::string name, color;
    std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
    bool dashed = false;
};

struct LinePlot {
    std::string title, x_label, y_label;
    std::vector<Series> series;
    double y_min = 0, y_max = 0;  // equal: from the data
    bool log_y = false;           // log-scale y axis (decades); points with y <= 0 are left out
    double width = 520, height = 300;
};
std::string line_plot(const LinePlot& p);

struct BarLayer {
    std::string name, color;
    std::vector<double> values;  // one per category
};

struct StackedBars {
    std::string title, x_label, y_label;
    std::vector<std::string> categories;  // along x
    std::vector<BarLayer> layers;         // bottom to top
    double width = 520, height = 300;
};
std::string stacked_bars(const StackedBars& p);

}  // namespace qcert::svg
