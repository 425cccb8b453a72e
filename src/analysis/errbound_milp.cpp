// The maximum of s * (g - f)_k over a box as a MILP solved by CBC: both networks with
// big-M encodings of their clamps (bounds from interval arithmetic) and an integer per rounded
// activation (a real twin whose hidden outputs are fixed-point, quadapter:...,a=...). For small real-valued
// networks. CBC works in floating point with tolerances, so its optimum is an estimate
// (for the tightness tables), never a proof: the solution point is re-evaluated by the
// caller and only that counts as a lower bound.
#include "analysis/errbound_milp.hpp"
#include "qcert/error.hpp"

#include <CbcModel.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

#include <cmath>
#include <fmt/format.h>

namespace qcert::errbound {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Lp {
    std::vector<double> col_lo, col_hi, obj;
    std::vector<bool> integer;
    std::vector<int> ri, ci;
    std::vector<double> el, row_lo, row_hi;

    int var(double lo, double hi, bool is_int = false) {
        col_lo.push_back(lo);
        col_hi.push_back(hi);
        obj.push_back(0);
        integer.push_back(is_int);
        return int(col_lo.size()) - 1;
    }
    void row(const std::vector<std::pair<int, double>>& terms, double lo, double hi) {
        const int r = int(row_lo.size());
        for (const auto& [c, v] : terms) {
            if (v == 0) continue;
            ri.push_back(r), ci.push_back(c), el.push_back(v);
        }
        row_lo.push_back(lo);
        row_hi.push_back(hi);
    }
};

// y = max(x, c) for x in [l, u].
int max_with(Lp& lp, int x, double l, double u, double c) {
    if (l >= c) return x;
    if (u <= c) return lp.var(c, c);
    const int y = lp.var(c, u), d = lp.var(0, 1, true);
    lp.row({{y, 1}, {x, -1}}, 0, kInf);                  // y >= x
    lp.row({{y, 1}, {x, -1}, {d, c - l}}, -kInf, c - l);  // y <= x + (c - l)(1 - d); d = 1: y = x
    lp.row({{y, 1}, {d, -(u - c)}}, -kInf, c);           // y <= c + (u - c) d
    return y;
}

// y = min(x, c) for x in [l, u]: -max(-x, -c).
int min_with(Lp& lp, int x, double l, double u, double c) {
    if (u <= c) return x;
    if (l >= c) return lp.var(c, c);
    const int y = lp.var(l, c), d = lp.var(0, 1, true);
    lp.row({{y, 1}, {x, -1}}, -kInf, 0);                 // y <= x
    lp.row({{y, 1}, {x, -1}, {d, -(u - c)}}, -(u - c), kInf);  // y >= x - (u - c)(1 - d); d = 1: y = x
    lp.row({{y, 1}, {d, (c - l)}}, c, kInf);             // y >= c - (c - l) d
    return y;
}

// Encodes one network whose first layer sees u * scale; returns its output variables.
std::vector<int> encode(Lp& lp, const std::vector<PairLayer>& layers, const std::vector<int>& u, const std::vector<double>& lo,
                        const std::vector<double>& hi, double scale) {
    std::vector<int> x = u;
    std::vector<Interval> box;
    for (size_t j = 0; j < lo.size(); ++j) box.push_back(Interval{lo[j], hi[j]} * scale);
    for (size_t k = 0; k < layers.size(); ++k) {
        const PairLayer& L = layers[k];
        std::vector<int> next;
        std::vector<Interval> nbox;
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            Interval zi = Interval::point(L.b[i]);  // box holds the first layer's inputs already scaled
            for (int64_t j = 0; j < L.W.cols(); ++j) zi += L.W(i, j) * box[size_t(j)];
            const double slack = 1e-9 * (1 + std::max(std::fabs(zi.lo), std::fabs(zi.hi)));  // the sums' rounding
            zi = {zi.lo - slack, zi.hi + slack};
            const int z = lp.var(zi.lo, zi.hi);
            std::vector<std::pair<int, double>> t{{z, -1}};
            for (int64_t j = 0; j < L.W.cols(); ++j) t.push_back({x[size_t(j)], k == 0 ? L.W(i, j) * scale : L.W(i, j)});
            lp.row(t, -L.b[i], -L.b[i]);
            int y = z;
            Interval yi = zi;
            if (L.step != 0) {
                // A rounded layer (activations at a fixed-point step): y = step q, q an integer with
                // z + e = step q, e in [noise_lo, noise_hi] (half a step; real inputs meet a tie with
                // probability 0).
                const double qlo = std::ceil((zi.lo + L.noise_lo) / L.step);
                const double qhi = std::max(qlo, std::floor((zi.hi + L.noise_hi) / L.step));
                const int q = lp.var(qlo, qhi, true);
                lp.row({{q, L.step}, {z, -1}}, L.noise_lo, L.noise_hi);
                yi = {qlo * L.step, qhi * L.step};
                y = lp.var(yi.lo, yi.hi);
                lp.row({{y, 1}, {q, -L.step}}, 0, 0);
            }
            if (std::isfinite(L.lo)) {
                y = max_with(lp, y, yi.lo, yi.hi, L.lo);
                yi = {std::max(yi.lo, L.lo), std::max(yi.hi, L.lo)};
            }
            if (std::isfinite(L.hi)) {
                y = min_with(lp, y, yi.lo, yi.hi, L.hi);
                yi = {std::min(yi.lo, L.hi), std::min(yi.hi, L.hi)};
            }
            next.push_back(y);
            nbox.push_back(yi);
        }
        x = std::move(next);
        box = std::move(nbox);
    }
    return x;
}

}  // namespace

MilpResult milp_max_difference(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                               double sign, double seconds) {
    if (p.integer_region()) throw InputError("--method milp", "the MILP back end handles real-valued twins only");
    Lp lp;
    std::vector<int> u;
    for (size_t j = 0; j < lo.size(); ++j) u.push_back(lp.var(lo[j], hi[j]));
    const double scale = 1.0 / p.f_input_divisor;
    const std::vector<int> yf = encode(lp, p.f_layers, u, lo, hi, scale);
    const std::vector<int> yg = encode(lp, p.g_layers, u, lo, hi, scale);
    // CBC minimises: -s (g_k - f_k).
    lp.obj[size_t(yg[size_t(output)])] += -sign;
    lp.obj[size_t(yf[size_t(output)])] += sign;

    OsiClpSolverInterface solver;
    CoinPackedMatrix A(true, lp.ri.data(), lp.ci.data(), lp.el.data(), CoinBigIndex(lp.el.size()));
    A.setDimensions(int(lp.row_lo.size()), int(lp.col_lo.size()));
    std::vector<double> rlo = lp.row_lo, rhi = lp.row_hi;
    for (double& v : rlo) if (v == -kInf) v = -solver.getInfinity();
    for (double& v : rhi) if (v == kInf) v = solver.getInfinity();
    solver.loadProblem(A, lp.col_lo.data(), lp.col_hi.data(), lp.obj.data(), rlo.data(), rhi.data());
    for (size_t j = 0; j < lp.integer.size(); ++j)
        if (lp.integer[j]) solver.setInteger(int(j));
    solver.messageHandler()->setLogLevel(0);
    CbcModel model(solver);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    model.setMaximumSeconds(std::max(seconds, 0.01));
    model.setUseElapsedTime(true);
    model.initialSolve();
    model.branchAndBound();
    MilpResult r;
    const double* best = model.bestSolution();
    if (!best) return r;
    r.found = true;
    r.optimal = model.isProvenOptimal();
    r.value = -model.getObjValue();
    for (size_t j = 0; j < lo.size(); ++j) r.input.push_back(std::clamp(best[u[j]], lo[j], hi[j]));
    return r;
}

}  // namespace qcert::errbound
