// The margin network of a robustness property (the classifier followed by the exact
// linear layer y_label - y_j, j != label), its point evaluation in outward-rounded
// interval arithmetic, and its gradient (for the counterexample search).
#include "analysis/synth_margin.hpp"

#include "qcert/error.hpp"
#include "qcert/interval.hpp"

#include <fmt/format.h>

namespace qcert::synth {

BlockNet margin_net(const BlockNet& net, int64_t label) {
    if (net.blocks.empty()) throw InputError(net.source, "the network has no layers");
    BlockNet m = net;
    Block& last = m.blocks.back();
    if (last.act == Act::Softmax) last.act = Act::None;  // argmax is unchanged
    const int64_t n = m.output_size();
    if (label < 0 || label >= n) throw InputError(net.source, fmt::format("label {} is not an output (0..{})", label, n - 1));
    Block c;
    c.name = "margin";
    c.W = Mat::Zero(n - 1, n);
    c.b = Vec::Zero(n - 1);
    for (int64_t j = 0, r = 0; j < n; ++j) {
        if (j == label) continue;
        c.W(r, label) = 1.0;  // exact coefficients: the layer adds no rounding of its own
        c.W(r, j) = -1.0;
        ++r;
    }
    m.blocks.push_back(std::move(c));
    return m;
}

int64_t margin_class(int64_t row, int64_t label) { return row < label ? row : row + 1; }

std::vector<Interval> margin_enclosure(const BlockNet& m, const std::vector<double>& u, double divisor) {
    std::vector<Interval> x(u.size());
    for (size_t j = 0; j < u.size(); ++j) x[j] = Interval::point(u[j]) / divisor;
    for (const Block& b : m.blocks) {
        if (b.act != Act::None && b.act != Act::ReLU) throw InputError(m.source, "synth needs linear or ReLU layers");
        std::vector<Interval> y(size_t(b.out_size()));
        for (int64_t i = 0; i < b.out_size(); ++i) {
            Interval s = Interval::point(b.b[i]);
            for (int64_t j = 0; j < b.in_size(); ++j)
                if (b.W(i, j) != 0) s += x[size_t(j)] * b.W(i, j);
            if (b.act == Act::ReLU) s = relu(s);
            y[size_t(i)] = clamp(s, b.lo, b.hi);
        }
        x = std::move(y);
    }
    return x;
}

Vec margins(const BlockNet& m, const std::vector<double>& u, double divisor) {
    Vec x(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) x[int64_t(j)] = u[j] / divisor;
    return m.forward(x);
}

Vec margin_gradient(const BlockNet& m, const std::vector<double>& u, double divisor, int64_t row) {
    Vec x(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) x[int64_t(j)] = u[j] / divisor;
    const std::vector<Vec> z = m.preactivations(x);
    Vec g = Vec::Zero(m.output_size());
    g[row] = 1.0;
    for (size_t k = m.blocks.size(); k-- > 0;) {
        const Block& b = m.blocks[k];
        for (int64_t i = 0; i < g.size(); ++i) {
            double v = z[k][i];
            bool pass = true;
            if (b.act == Act::ReLU) pass = v > 0, v = std::max(v, 0.0);
            pass = pass && v > b.lo && v < b.hi;
            if (!pass) g[i] = 0;
        }
        g = (b.W.transpose() * g).eval();
    }
    return g / divisor;
}

}  // namespace qcert::synth
