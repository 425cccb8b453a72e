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

namespace {

// The duality bound's pieces, all scaled by S = 2^k: sum_v min(d_v lo_v, d_v hi_v) + sum_r Y_r side_r
// (`total`) and the reduced costs d = S c - A^T Y. nullopt when the exact arithmetic would overflow.
struct ScaledDual {
    i128 S = 1, total = 0;
    std::vector<i128> d;
};

std::optional<ScaledDual> scaled_dual(const Model& m, const std::vector<Var>& vars, const Affine& objective,
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
    ScaledDual sd;
    sd.S = i128(1) << k;
    sd.d.assign(m.vars.size(), 0);
    Checked ck;
    for (const auto& [v, c] : merged(objective)) sd.d[v] = ck.mul(c, sd.S);
    for (size_t r = 0; r < m.rows.size(); ++r) {
        if (!usable(r)) continue;
        const i128 Y = std::llround(std::ldexp(y[r], k));
        if (Y == 0) continue;
        const Row& row = m.rows[r];
        sd.total = ck.add(sd.total, ck.mul(Y, Y > 0 ? row.lo : row.hi));
        for (const Term& t : row.terms) sd.d[t.var] = ck.add(sd.d[t.var], -ck.mul(Y, t.coef));
    }
    for (size_t v = 0; v < vars.size(); ++v)
        if (sd.d[v] != 0) sd.total = ck.add(sd.total, std::min(ck.mul(sd.d[v], vars[v].lo), ck.mul(sd.d[v], vars[v].hi)));
    if (ck.overflow) return std::nullopt;
    return sd;
}

// ceil(a / b) for b > 0.
i128 ceil_div(i128 a, i128 b) { return round_div(a, b, Rounding::Ceil); }

}  // namespace

std::optional<i128> dual_lower_bound(const Model& m, const std::vector<Var>& vars, const Affine& objective,
                                     const std::vector<double>& y) {
    const std::optional<ScaledDual> sd = scaled_dual(m, vars, objective, y);
    if (!sd) return std::nullopt;
    return ceil_div(sd->total, sd->S) + objective.constant;
}

std::optional<DualNarrowing> dual_narrowings(const Model& m, const std::vector<Var>& vars, const Affine& objective,
                                             const std::vector<double>& y, std::optional<i128> floor_at) {
    const std::optional<ScaledDual> sd = scaled_dual(m, vars, objective, y);
    if (!sd) return std::nullopt;
    DualNarrowing out;
    out.lower = ceil_div(sd->total, sd->S) + objective.constant;
    if (!floor_at || out.lower >= *floor_at) return out;  // nothing to narrow (the whole box reaches floor_at)
    // The bound with x_v moved k steps from the end that minimises d_v x_v is total + |d_v| k
    // (scaled); it reaches floor_at when that is at least `need`: ceil(t / S) + constant >= floor_at
    // exactly when t > S (floor_at - constant - 1).
    Checked ck;
    const i128 need = ck.add(ck.add(ck.mul(sd->S, ck.add(*floor_at, -objective.constant - 1)), 1), -sd->total);
    if (ck.overflow) return out;
    for (size_t v = 0; v < vars.size(); ++v) {
        const i128 dv = sd->d[v];
        if (dv == 0) continue;
        const i128 mag = dv > 0 ? dv : -dv;
        const i128 k = ceil_div(need, mag);  // steps from the minimising end at which the cut starts
        const Var& V = vars[v];
        // An integer variable keeps the k - 1 steps before the cut, a real one all values up to it.
        const i128 keep = V.integer ? k - 1 : k;
        if (keep >= i128(V.hi) - i128(V.lo)) continue;
        const i128 cut = ceil_div(ck.add(sd->total, ck.mul(mag, k)), sd->S) + objective.constant;
        if (ck.overflow) return out;
        out.cut_lower = out.cut_lower ? std::min(*out.cut_lower, cut) : cut;
        if (dv > 0) out.narrowed.push_back({int(v), V.lo, int64_t(i128(V.lo) + keep)});
        else out.narrowed.push_back({int(v), int64_t(i128(V.hi) - keep), V.hi});
    }
    return out;
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
