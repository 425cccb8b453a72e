// The margin network of a robustness property (the classifier followed by the exact
// linear layer y_label - y_j, j != label), its point evaluation in outward-rounded
// interval arithmetic, and its gradient (for the counterexample search).
#include "analysis/synth_margin.hpp"

#include "qcert/error.hpp"
#include "qcert/interval.hpp"

#include <fmt/format.h>
#include <limits>

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

ConditionNet condition_net(const BlockNet& net, const BoxProperty& p) {
    if (net.blocks.empty()) throw InputError(net.source, "the network has no layers");
    ConditionNet c;
    c.net = net;
    Block& last = c.net.blocks.back();
    if (last.act == Act::Softmax) {
        if (!p.argmax_property())
            throw InputError(p.key(), "a VNN-LIB property over softmax outputs is not supported (argmax properties only)");
        last.act = Act::None;  // argmax is unchanged
    }
    const int64_t n = c.net.output_size();
    const OutputProperty u = p.unsafe_set(n);
    int64_t rows = 0;
    for (const auto& d : u.unsafe) rows += int64_t(d.size());
    if (u.unsafe.empty()) throw InputError(p.key(), "the unsafe set is empty");
    Block b;
    b.name = "conditions";
    b.W = Mat::Zero(rows, n);
    b.b = Vec::Zero(rows);
    int64_t r = 0;
    for (const auto& d : u.unsafe) {
        if (d.empty()) throw InputError(p.key(), "an unsafe disjunct without constraints (every output is unsafe)");
        c.disjuncts.emplace_back();
        for (const LinearConstraint& k : d) {
            for (const auto& [i, a] : k.terms) {
                if (i < 0 || i >= n) throw InputError(p.key(), fmt::format("output {} is not an output (0..{})", i, n - 1));
                b.W(r, i) += a;
            }
            b.b[r] = -k.rhs;
            c.strict.push_back(k.strict);
            c.disjuncts.back().push_back(r++);
        }
    }
    c.net.blocks.push_back(std::move(b));
    return c;
}

bool rows_prove(const ConditionNet& c, const std::vector<double>& lo) {
    for (const auto& d : c.disjuncts) {
        bool closed = false;
        for (int64_t r : d) closed = closed || lo[size_t(r)] > 0 || (c.strict[size_t(r)] && lo[size_t(r)] >= 0);
        if (!closed) return false;
    }
    return true;
}

double worst_disjunct(const ConditionNet& c, const std::vector<double>& lo, int64_t& row) {
    double worst = std::numeric_limits<double>::infinity();
    for (const auto& d : c.disjuncts) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_row = d.front();
        for (int64_t r : d)
            if (lo[size_t(r)] > best) best = lo[size_t(r)], best_row = r;
        if (best < worst) worst = best, row = best_row;
    }
    return worst;
}

bool rows_unsafe(const ConditionNet& c, const std::vector<Interval>& v) {
    for (const auto& d : c.disjuncts) {
        bool all = true;
        for (int64_t r : d) all = all && (c.strict[size_t(r)] ? v[size_t(r)].hi < 0 : v[size_t(r)].hi <= 0);
        if (all) return true;
    }
    return false;
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
            s = clamp(s, b.lo, b.hi);
            // Rounding is monotone: the rounded interval is [q(lo), q(hi)], exactly (a power-of-two step).
            if (b.quantized_output()) s = {b.quantize_output(s.lo), b.quantize_output(s.hi)};
            y[size_t(i)] = s;
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
            // The rounding of a quantized output passes the gradient (straight through) inside its range.
            if (b.quantized_output()) pass = pass && v > b.out_min && v < b.out_max;
            if (!pass) g[i] = 0;
        }
        g = (b.W.transpose() * g).eval();
    }
    return g / divisor;
}

}  // namespace qcert::synth
