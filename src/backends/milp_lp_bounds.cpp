// Rigorous LP ranges of affine expressions; see milp_lp_bounds.hpp.
#include "backends/milp_lp_bounds.hpp"

#include "backends/milp_cbc.hpp"
#include "qcert/quant.hpp"

#include <ClpSimplex.hpp>
#include <OsiClpSolverInterface.hpp>

#include <cmath>
#include <map>

namespace qcert::milp {

namespace {

// Exact i128 arithmetic that remembers an overflow instead of wrapping.
struct Checked {
    bool overflow = false;
    i128 mul(i128 a, i128 b) {
        i128 r;
        if (__builtin_mul_overflow(a, b, &r)) overflow = true;
        return r;
    }
    i128 add(i128 a, i128 b) {
        i128 r;
        if (__builtin_add_overflow(a, b, &r)) overflow = true;
        return r;
    }
};

// The objective's coefficients with duplicate variables merged.
std::map<int, i128> merged(const Affine& e) {
    std::map<int, i128> c;
    for (const Term& t : e.terms) c[t.var] += t.coef;
    return c;
}

}  // namespace

std::optional<i128> dual_lower_bound(const Model& m, const Affine& objective, const std::vector<double>& y) {
    return dual_lower_bound(m, m.vars, objective, y);
}

std::optional<i128> dual_lower_bound(const Model& m, const std::vector<Var>& vars, const Affine& objective,
                                     const std::vector<double>& y) {
    // Only multipliers whose side is finite count; the others are dropped (y_r = 0).
    auto usable = [&](size_t r) {
        return (y[r] > 0 && m.rows[r].lo != kNoLower) || (y[r] < 0 && m.rows[r].hi != kNoUpper);
    };
    double ymax = 0;
    for (size_t r = 0; r < m.rows.size(); ++r)
        if (std::isfinite(y[r]) && usable(r)) ymax = std::max(ymax, std::fabs(y[r]));
        else if (!std::isfinite(y[r])) return std::nullopt;
    if (ymax > 0x1p62) return std::nullopt;
    // y_r ~ Y_r / 2^k with about 40 significant bits for the largest multiplier.
    const int k = ymax > 0 ? std::clamp(40 - std::ilogb(ymax), 0, 60) : 0;
    const i128 S = i128(1) << k;

    Checked ck;
    std::vector<i128> d(m.vars.size(), 0);  // S * (c - A^T Y / S)
    for (const auto& [v, c] : merged(objective)) d[v] = ck.mul(c, S);
    i128 total = 0;
    for (size_t r = 0; r < m.rows.size(); ++r) {
        if (!usable(r)) continue;
        const i128 Y = std::llround(std::ldexp(y[r], k));
        if (Y == 0) continue;
        const Row& row = m.rows[r];
        total = ck.add(total, ck.mul(Y, Y > 0 ? row.lo : row.hi));
        for (const Term& t : row.terms) d[t.var] = ck.add(d[t.var], -ck.mul(Y, t.coef));
    }
    for (size_t v = 0; v < vars.size(); ++v)
        if (d[v] != 0) total = ck.add(total, std::min(ck.mul(d[v], vars[v].lo), ck.mul(d[v], vars[v].hi)));
    if (ck.overflow) return std::nullopt;
    return ck.add(round_div(total, S, Rounding::Ceil), objective.constant);
}

namespace {

// Clp on the LP relaxation of one model, warm-started from one objective to the next.
class LpSolver {
public:
    LpSolver(const Model& m, const Budget& budget) : m_(m), budget_(budget), obj_(m.vars.size()) {
        load_model(solver_, m);
        solver_.getModelPtr()->setLogLevel(0);
    }
    // A sound lower bound on sign * target over the LP relaxation, or nullopt (infeasible set when
    // Clp found the LP infeasible).
    std::optional<i128> lower(const Affine& target, int sign, bool& infeasible) {
        std::fill(obj_.begin(), obj_.end(), 0.0);
        Affine e;
        e.add_scaled(target, sign);
        for (const Term& t : e.terms) obj_[t.var] += double(t.coef);
        solver_.setObjective(obj_.data());
        solver_.getModelPtr()->setMaximumSeconds(std::max(budget_.seconds_left(), 0.01));
        if (started_) solver_.resolve();
        else solver_.initialSolve(), started_ = true;
        if (solver_.isProvenPrimalInfeasible()) {
            infeasible = true;
            return std::nullopt;
        }
        if (!solver_.isProvenOptimal()) return std::nullopt;
        const double* price = solver_.getRowPrice();
        return dual_lower_bound(m_, e, std::vector<double>(price, price + m_.rows.size()));
    }

private:
    const Model& m_;
    const Budget& budget_;
    OsiClpSolverInterface solver_;
    std::vector<double> obj_;
    bool started_ = false;
};

}  // namespace

std::vector<LpRange> lp_ranges(const Model& m, const std::vector<Affine>& targets, const Budget& budget) {
    std::vector<LpRange> out(targets.size());
    for (size_t t = 0; t < targets.size(); ++t) affine_range(m, targets[t], out[t].lo, out[t].hi);
    if (m.rows.empty() || targets.empty()) return out;
    LpSolver lp(m, budget);
    for (size_t t = 0; t < targets.size() && !budget.expired(); ++t) {
        LpRange& r = out[t];
        if (r.lo == r.hi) continue;
        if (auto lo = lp.lower(targets[t], 1, r.infeasible)) r.lo = std::max(r.lo, *lo);
        if (r.infeasible) return out;
        if (auto neg = lp.lower(targets[t], -1, r.infeasible)) r.hi = std::min(r.hi, -*neg);
        if (r.infeasible) return out;
    }
    return out;
}

LpRange lp_upper(const Model& m, const Affine& target, const Budget& budget) {
    LpRange r;
    affine_range(m, target, r.lo, r.hi);
    if (m.rows.empty() || r.lo == r.hi || budget.expired()) return r;
    LpSolver lp(m, budget);
    if (auto neg = lp.lower(target, -1, r.infeasible)) r.hi = std::min(r.hi, -*neg);
    return r;
}

}  // namespace qcert::milp
