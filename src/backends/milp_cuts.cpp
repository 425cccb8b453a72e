// Staircase hulls and clamp cuts; see milp_cuts.hpp.
#include "backends/milp_cuts.hpp"

#include "backends/milp_cbc.hpp"
#include "backends/milp_lp_bounds.hpp"
#include "qcert/quant.hpp"

#include <CoinPackedVector.hpp>
#include <OsiClpSolverInterface.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>

namespace qcert::milp {

namespace {

// The most violated cut of clamp c at the LP point x, as the row `e <= side`; nullopt when the
// point meets every cut of c (within a thousandth of one step of y). Throws std::overflow_error
// when a coefficient leaves int64.
std::optional<std::pair<Affine, i128>> most_violated(const Model& m, const NetworkEncoding::LowClamp& c,
                                                     const double* x) {
    std::map<int, i128> C;
    for (const Term& t : c.h.terms) C[t.var] += t.coef;
    const double a = x[c.a];
    double rhs = double(c.h.constant) * (1 - a);
    Affine e;
    e.add_scaled(Affine{{{c.y, 1}}, 0}, c.d);
    i128 in_sum = 0, K = c.h.constant;  // sum_{i in I} C_i L_i and B + sum_{i not in I} C_i U_i
    for (const auto& [v, Ci] : C) {
        if (Ci == 0) continue;
        const Var& var = m.vars[size_t(v)];
        const int64_t L = Ci > 0 ? var.lo : var.hi, U = Ci > 0 ? var.hi : var.lo;
        const double in = double(Ci) * (x[v] - double(L) * a), out = double(Ci) * double(U) * (1 - a);
        if (in < out) {
            rhs += in;
            in_sum += Ci * L;
            e.add_scaled(Affine{{{v, 1}}, 0}, -Ci);
        } else {
            rhs += out;
            K += Ci * U;
        }
    }
    const double lhs = double(c.d) * (x[c.y] - double(c.lo));
    if (lhs - rhs <= 1e-3 * double(c.d)) return std::nullopt;
    e.add_scaled(Affine{{{c.a, 1}}, 0}, in_sum + K);
    return std::make_pair(std::move(e), K + c.d * c.lo);
}

struct Point {
    i128 N, y;
};

i128 cross(const Point& o, const Point& a, const Point& b) { return (a.N - o.N) * (b.y - o.y) - (a.y - o.y) * (b.N - o.N); }

// The upper (upper = true) or lower chain of the convex hull of points sorted by N (Andrew's
// monotone chain; collinear points dropped).
std::vector<Point> chain(const std::vector<Point>& pts, bool upper) {
    std::vector<Point> h;
    for (const Point& p : pts) {
        while (h.size() >= 2 && (upper ? cross(h[h.size() - 2], h.back(), p) >= 0 : cross(h[h.size() - 2], h.back(), p) <= 0))
            h.pop_back();
        h.push_back(p);
    }
    return h;
}

}  // namespace

int add_staircase_hulls(Model& m, const std::vector<NetworkEncoding::Staircase>& stairs, int max_levels) {
    int added = 0;
    for (const NetworkEncoding::Staircase& st : stairs) {
        auto y = [&](i128 N) { return std::clamp(round_div(N, st.d, st.rounding) + st.out_zero, st.lo, st.hi); };
        const i128 ylo = y(st.Nlo), yhi = y(st.Nhi);
        if (yhi <= ylo || yhi - ylo > max_levels) continue;
        // Every level's first and last N (out is nondecreasing in N and steps by at most 1).
        std::vector<Point> pts{{st.Nlo, ylo}};
        for (i128 k = ylo + 1; k <= yhi; ++k) {
            i128 a = st.Nlo, b = st.Nhi;  // the first N with out >= k lies in (a, b]
            while (b - a > 1) {
                const i128 mid = a + (b - a) / 2;
                (y(mid) >= k ? b : a) = mid;
            }
            pts.push_back({b - 1, y(b - 1)});
            pts.push_back({b, y(b)});
        }
        pts.push_back({st.Nhi, yhi});
        std::sort(pts.begin(), pts.end(), [](const Point& p, const Point& q) { return p.N < q.N || (p.N == q.N && p.y < q.y); });
        for (bool upper : {true, false}) {
            const std::vector<Point> h = chain(pts, upper);
            for (size_t i = 0; i + 1 < h.size(); ++i) {
                const Point &p = h[i], &q = h[i + 1];
                if (p.y == q.y || p.N == q.N) continue;  // out's own bounds, or a vertical step
                // (q.N - p.N) out - (q.y - p.y) N <= (or >=) p.y (q.N - p.N) - (q.y - p.y) p.N
                Affine e;
                try {
                    e.add_scaled(st.out, q.N - p.N);
                    e.add_scaled(st.N, -(q.y - p.y));
                    const i128 side = p.y * (q.N - p.N) - (q.y - p.y) * p.N;
                    if (upper ? m.add_row(e, std::nullopt, side) : m.add_row(e, side, std::nullopt)) ++added;
                } catch (const std::overflow_error&) {
                    continue;  // a coefficient beyond int64: this facet is left out
                }
            }
        }
    }
    return added;
}

CutRounds add_clamp_cuts(Model& m, const std::vector<NetworkEncoding::LowClamp>& clamps, const Affine& target,
                         const Budget& budget, int max_rounds, double min_gain) {
    CutRounds out;
    if (clamps.empty() || budget.expired()) return out;
    OsiClpSolverInterface s;
    load_model(s, m);
    s.getModelPtr()->setLogLevel(0);
    std::vector<double> obj(m.vars.size(), 0.0);
    for (const Term& t : target.terms) obj[size_t(t.var)] -= double(t.coef);
    s.setObjective(obj.data());
    s.getModelPtr()->setMaximumSeconds(std::max(budget.seconds_left(), 0.01));
    s.initialSolve();
    if (!s.isProvenOptimal()) return out;
    out.first = out.last = -s.getObjValue() + double(target.constant);
    Affine neg;
    neg.add_scaled(target, -1);
    auto rigorous = [&] {  // the bound from the LP just solved (its rows are m's rows)
        const double* price = s.getRowPrice();
        const std::optional<i128> lower = dual_lower_bound(m, neg, std::vector<double>(price, price + m.rows.size()));
        if (lower && -*lower < *out.upper) out.upper = -*lower;
    };
    i128 range_lo, range_hi;
    affine_range(m, target, range_lo, range_hi);
    out.upper = range_hi;
    rigorous();
    const double inf = s.getInfinity();
    while (out.rounds < max_rounds && !budget.expired()) {
        const double* x = s.getColSolution();
        int added = 0;
        for (const NetworkEncoding::LowClamp& c : clamps) {
            const size_t rows = m.rows.size();
            try {
                const auto cut = most_violated(m, c, x);
                if (!cut || !m.add_row(cut->first, std::nullopt, cut->second) || m.rows.size() == rows) continue;
            } catch (const std::overflow_error&) {
                continue;  // a coefficient beyond int64: this cut is left out
            }
            const Row& r = m.rows.back();
            CoinPackedVector row;
            for (const Term& t : r.terms) row.insert(t.var, double(t.coef));
            s.addRow(row, -inf, double(r.hi));
            ++added;
        }
        if (added == 0) break;
        out.added += added;
        ++out.rounds;
        s.getModelPtr()->setMaximumSeconds(std::max(budget.seconds_left(), 0.01));
        s.resolve();
        if (!s.isProvenOptimal()) break;
        rigorous();
        const double value = -s.getObjValue() + double(target.constant);
        const bool small = out.last - value < min_gain * std::fabs(out.last);
        out.last = value;
        if (small) break;
    }
    return out;
}

}  // namespace qcert::milp
