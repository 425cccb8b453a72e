// One property of a real-valued network (a box of inputs, an unsafe set of outputs): proved by back-substituted linear
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

bool certainly_unsafe(const BlockNet& net, const BoxProperty& p, const std::vector<double>& u) {
    const synth::ConditionNet c = synth::condition_net(net, p);
    return synth::rows_unsafe(c, synth::margin_enclosure(c.net, u, p.divisor));
}

bool certainly_misclassified(const BlockNet& net, const std::vector<double>& u, double divisor, int64_t label) {
    BoxProperty p;
    p.label = label, p.divisor = divisor;
    return certainly_unsafe(net, p, u);
}

namespace {

using Clock = std::chrono::steady_clock;

struct Box {
    std::vector<double> lo, hi;
    double worst = 0;       // smallest over the disjuncts of the best row lower bound
    int64_t worst_row = 0;  // the row that gives it
    bool proved = false;
};

// Sound lower bounds of every row over the box: the condition network's back-substituted
// bounds, taken on the twin's side of the pair (m without its activation rounding, m) so that
// quantized activations enter as bounded noise (|e| <= half a step, errbound.hpp). The last
// layer is linear, so its pre-activation bounds zg are the rows' bounds.
void bound_box(const ErrPair& pair, const synth::ConditionNet& c, Box& b) {
    const DiffBound d = diff_bound(pair, b.lo, b.hi, DiffMode::Differential);
    const std::vector<double> rows(d.zg_lo.back().data(), d.zg_lo.back().data() + d.zg_lo.back().size());
    b.proved = synth::rows_prove(c, rows);
    b.worst = synth::worst_disjunct(c, rows, b.worst_row);
}

// `net` with every output quantization removed (the reference side of the bound pair).
BlockNet real_activations(BlockNet net) {
    for (Block& b : net.blocks) b.out_step = 0, b.out_min = -INFINITY, b.out_max = INFINITY;
    return net;
}

std::vector<double> centre(const Box& b) {
    std::vector<double> c(b.lo.size());
    for (size_t j = 0; j < c.size(); ++j) c[j] = b.lo[j] + 0.5 * (b.hi[j] - b.lo[j]);
    return c;
}

// The largest row of disjunct d at the values v (all rows <= 0 puts u in the unsafe set).
int64_t largest_row(const std::vector<int64_t>& d, const Vec& v) {
    int64_t best = d.front();
    for (int64_t r : d)
        if (v[r] > v[best]) best = r;
    return best;
}

// Sign-gradient descent, for the three disjuncts closest to being met at the centre, on
// their largest row, then random corners. Returns an input that the interval re-check
// puts in the unsafe set, or nothing.
std::optional<std::vector<double>> search_counterexample(const synth::ConditionNet& cn, const Box& b, double divisor,
                                                         Clock::time_point deadline, uint64_t seed) {
    const BlockNet& m = cn.net;
    auto confirmed = [&](const std::vector<double>& u) {
        return synth::rows_unsafe(cn, synth::margin_enclosure(m, u, divisor));
    };
    auto met = [&](const Vec& v) {  // in double precision: a guide, the interval re-check decides
        for (const auto& d : cn.disjuncts)
            if (v[largest_row(d, v)] <= 0) return true;
        return false;
    };
    const std::vector<double> c = centre(b);
    const Vec mc = synth::margins(m, c, divisor);
    if (met(mc) && confirmed(c)) return c;
    std::vector<size_t> ds(cn.disjuncts.size());
    for (size_t i = 0; i < ds.size(); ++i) ds[i] = i;
    auto gap = [&](size_t i) { return mc[largest_row(cn.disjuncts[i], mc)]; };
    std::sort(ds.begin(), ds.end(), [&](size_t x, size_t y) { return gap(x) < gap(y); });
    if (ds.size() > 3) ds.erase(ds.begin() + 3, ds.end());
    for (size_t di : ds) {
        const std::vector<int64_t>& d = cn.disjuncts[di];
        std::vector<double> u = c;
        Vec v = mc;
        double frac = 0.5;
        for (int it = 0; it < 25 && Clock::now() < deadline; ++it, frac *= 0.85) {
            const Vec g = synth::margin_gradient(m, u, divisor, largest_row(d, v));
            for (size_t j = 0; j < u.size(); ++j) {
                const double step = frac * (b.hi[j] - b.lo[j]);
                u[j] = std::clamp(u[j] - (g[int64_t(j)] > 0 ? step : g[int64_t(j)] < 0 ? -step : 0.0), b.lo[j], b.hi[j]);
            }
            v = synth::margins(m, u, divisor);
            if (v[largest_row(d, v)] <= 0 && confirmed(u)) return u;
        }
    }
    std::mt19937_64 rng(seed);
    for (int t = 0; t < 16 && Clock::now() < deadline; ++t) {
        std::vector<double> u(b.lo.size());
        for (size_t j = 0; j < u.size(); ++j) u[j] = rng() % 2 ? b.lo[j] : b.hi[j];
        if (met(synth::margins(m, u, divisor)) && confirmed(u)) return u;
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

PropertyCheck check_robust(const BlockNet& net, const BoxProperty& p, double divisor, double timeout_s) {
    BoxProperty q = p;
    q.divisor = divisor;
    return check_property(net, q, timeout_s);
}

PropertyCheck check_property(const BlockNet& net, const BoxProperty& p, double timeout_s) {
    const auto t0 = Clock::now();
    const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    const double divisor = p.divisor;
    const synth::ConditionNet cn = synth::condition_net(net, p);
    const BlockNet& m = cn.net;
    const ErrPair pair = make_err_pair(real_activations(m), m, divisor);
    PropertyCheck r;
    auto done = [&](CheckVerdict v, std::string method) {
        r.verdict = v;
        r.method = std::move(method);
        r.time_s = std::chrono::duration<double>(Clock::now() - t0).count();
        return r;
    };
    Box root{p.lo, p.hi};
    bound_box(pair, cn, root);
    r.boxes = 1;
    r.worst_margin = root.worst;
    if (root.proved) return done(CheckVerdict::Proved, "linear");
    if (auto cex = search_counterexample(cn, root, divisor, deadline, uint64_t(p.sample) * 7919 + 1)) {
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
            bound_box(pair, cn, c);
            ++r.boxes;
            if (c.proved) continue;
            if (auto cex = search_counterexample(cn, c, divisor, deadline, uint64_t(r.boxes))) {
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
