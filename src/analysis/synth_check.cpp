// One robustness property of a real-valued network: proved by back-substituted linear
// bounds (the bound engine of qcert bound, outward-rounded) over the box or over the
// leaves of an input-splitting branch and bound; refuted by a counterexample search
// whose input is re-checked in outward-rounded interval arithmetic.
#include "analysis/synth_margin.hpp"
#include "qcert/errbound.hpp"
#include "qcert/synth.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <optional>
#include <random>

namespace qcert {

const char* check_verdict_name(CheckVerdict v) {
    switch (v) {
        case CheckVerdict::Proved: return "proved";
        case CheckVerdict::Refuted: return "refuted";
        default: return "unknown";
    }
}

bool certainly_misclassified(const BlockNet& net, const std::vector<double>& u, double divisor, int64_t label) {
    const BlockNet m = synth::margin_net(net, label);
    for (const Interval& v : synth::margin_enclosure(m, u, divisor))
        if (v.hi < 0) return true;
    return false;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Box {
    std::vector<double> lo, hi;
    double worst = 0;       // smallest lower bound of a margin over the box
    int64_t worst_row = 0;
};

// Sound lower bounds of every margin over the box (the margin network's own
// back-substituted bounds: f_lo of the pair (m, m)).
void bound_box(const ErrPair& pair, Box& b) {
    const DiffBound d = diff_bound(pair, b.lo, b.hi, DiffMode::Differential);
    b.worst = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < d.f_lo.size(); ++i)
        if (d.f_lo[i] < b.worst) b.worst = d.f_lo[i], b.worst_row = int64_t(i);
}

std::vector<double> centre(const Box& b) {
    std::vector<double> c(b.lo.size());
    for (size_t j = 0; j < c.size(); ++j) c[j] = b.lo[j] + 0.5 * (b.hi[j] - b.lo[j]);
    return c;
}

// Sign-gradient descent on the smallest margins from the centre, then random points.
// Returns an input whose misclassification the interval re-check confirms, or nothing.
std::optional<std::vector<double>> search_counterexample(const BlockNet& m, const Box& b, double divisor, int64_t label,
                                                         const BlockNet& net, Clock::time_point deadline, uint64_t seed) {
    auto confirmed = [&](const std::vector<double>& u) { return certainly_misclassified(net, u, divisor, label); };
    const std::vector<double> c = centre(b);
    Vec mc = synth::margins(m, c, divisor);
    if (mc.minCoeff() < 0 && confirmed(c)) return c;
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < mc.size(); ++i) rows.push_back(i);
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b2) { return mc[a] < mc[b2]; });
    if (rows.size() > 3) rows.erase(rows.begin() + 3, rows.end());
    for (int64_t row : rows) {
        std::vector<double> u = c;
        double frac = 0.5;
        for (int it = 0; it < 25 && Clock::now() < deadline; ++it, frac *= 0.85) {
            const Vec g = synth::margin_gradient(m, u, divisor, row);
            for (size_t j = 0; j < u.size(); ++j) {
                const double step = frac * (b.hi[j] - b.lo[j]);
                u[j] = std::clamp(u[j] - (g[int64_t(j)] > 0 ? step : g[int64_t(j)] < 0 ? -step : 0.0), b.lo[j], b.hi[j]);
            }
            if (synth::margins(m, u, divisor)[row] < 0 && confirmed(u)) return u;
        }
    }
    std::mt19937_64 rng(seed);
    for (int t = 0; t < 16 && Clock::now() < deadline; ++t) {
        std::vector<double> u(b.lo.size());
        for (size_t j = 0; j < u.size(); ++j) u[j] = rng() % 2 ? b.lo[j] : b.hi[j];
        if (synth::margins(m, u, divisor).minCoeff() < 0 && confirmed(u)) return u;
    }
    return std::nullopt;
}

// The input to split: largest |gradient of the worst margin at the centre| times width.
size_t split_dimension(const BlockNet& m, const Box& b, double divisor) {
    const Vec g = synth::margin_gradient(m, centre(b), divisor, b.worst_row);
    size_t best = 0;
    double best_score = -1, widest = -1;
    size_t widest_j = 0;
    for (size_t j = 0; j < b.lo.size(); ++j) {
        const double w = b.hi[j] - b.lo[j];
        if (w > widest) widest = w, widest_j = j;
        const double s = std::fabs(g[int64_t(j)]) * w;
        if (w > 0 && s > best_score) best_score = s, best = j;
    }
    return best_score > 0 ? best : widest_j;
}

}  // namespace

PropertyCheck check_robust(const BlockNet& net, const RobustProperty& p, double divisor, double timeout_s) {
    const auto t0 = Clock::now();
    const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    const BlockNet m = synth::margin_net(net, p.label);
    const ErrPair pair = make_err_pair(m, m, divisor);
    PropertyCheck r;
    auto done = [&](CheckVerdict v, std::string method) {
        r.verdict = v;
        r.method = std::move(method);
        r.time_s = std::chrono::duration<double>(Clock::now() - t0).count();
        return r;
    };
    Box root{p.lo, p.hi};
    bound_box(pair, root);
    r.boxes = 1;
    r.worst_margin = root.worst;
    if (root.worst > 0) return done(CheckVerdict::Proved, "linear");
    if (auto cex = search_counterexample(m, root, divisor, p.label, net, deadline, uint64_t(p.sample) * 7919 + 1)) {
        r.counterexample = *cex;
        return done(CheckVerdict::Refuted, "attack");
    }
    // Branch and bound: always split the open box with the smallest lower bound.
    auto worse = [](const Box& a, const Box& b) { return a.worst > b.worst; };  // min-heap on worst
    std::vector<Box> open{root};
    while (!open.empty()) {
        if (Clock::now() >= deadline) {
            r.reason = fmt::format("timeout after {} boxes, {} open", r.boxes, open.size());
            return done(CheckVerdict::Unknown, "");
        }
        std::pop_heap(open.begin(), open.end(), worse);
        Box b = std::move(open.back());
        open.pop_back();
        const size_t j = split_dimension(m, b, divisor);
        const double mid = b.lo[j] + 0.5 * (b.hi[j] - b.lo[j]);
        if (!(mid > b.lo[j] && mid < b.hi[j])) {
            r.reason = "a box cannot be split further";
            return done(CheckVerdict::Unknown, "");
        }
        for (int side = 0; side < 2; ++side) {
            Box c = b;
            (side == 0 ? c.hi[j] : c.lo[j]) = mid;
            bound_box(pair, c);
            ++r.boxes;
            if (c.worst > 0) continue;
            if (auto cex = search_counterexample(m, c, divisor, p.label, net, deadline, uint64_t(r.boxes))) {
                r.counterexample = *cex;
                return done(CheckVerdict::Refuted, "attack");
            }
            open.push_back(std::move(c));
            std::push_heap(open.begin(), open.end(), worse);
        }
    }
    return done(CheckVerdict::Proved, "split");
}

}  // namespace qcert
