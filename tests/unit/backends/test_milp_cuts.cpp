// The clamp cuts (milp_cuts) on one ReLU of an integer input box, y = max(0, h(x)), in its big-M
// form: every cut holds at every integer point of the box (they are valid), and the separated cuts
// take the LP maximum of y - c.x down to its maximum over the box (the cuts' ideal formulation:
// y - c.x is convex in x, so that maximum is at a corner of the box, enumerated here), where the
// big-M rows alone leave it above on most instances.
#include "backends/milp_cuts.hpp"
#include "backends/milp_lp_bounds.hpp"
#include "qcert/quant.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace qcert;
using namespace qcert::milp;

namespace {

struct Relu {
    Model m;
    NetworkEncoding::LowClamp clamp;
    std::vector<int> x;
    i128 hlo = 0, hhi = 0;
};

// y = max(0, h(x)) for h = sum_i w_i x_i + b over n integer inputs: y >= h, y <= h - hlo a, y <= hhi (1 - a).
Relu random_relu(std::mt19937_64& rng, int n) {
    std::uniform_int_distribution<int> w(-9, 9), lo(-3, 1), width(1, 4);
    Relu r;
    Affine h;
    for (int i = 0; i < n; ++i) {
        const int l = lo(rng);
        r.x.push_back(r.m.add_var(l, l + width(rng), true));
        h.terms.push_back({r.x.back(), w(rng)});
    }
    affine_range(r.m, h, r.hlo, r.hhi);
    h.constant = -(r.hlo + r.hhi) / 2;  // mostly across 0
    affine_range(r.m, h, r.hlo, r.hhi);
    const int y = r.m.add_var(0, int64_t(std::max<i128>(r.hhi, 0)), false);
    const int a = r.m.add_var(0, 1, true);
    Affine e = h;
    e.add_scaled(Affine{{{y, 1}}, 0}, -1);  // h - y <= 0
    r.m.add_row(e, std::nullopt, 0);
    e = h;
    e.add_scaled(Affine{{{y, 1}}, 0}, -1);
    e.add_scaled(Affine{{{a, 1}}, 0}, -r.hlo);  // h - y - hlo a >= 0
    r.m.add_row(e, 0, std::nullopt);
    r.m.add_row(Affine{{{y, 1}, {a, r.hhi > 0 ? int64_t(r.hhi) : 0}}, 0}, std::nullopt, std::max<i128>(r.hhi, 0));
    r.clamp = {y, a, 0, 1, h};
    return r;
}

// Every corner of the box, and with `all` every integer point: f(point).
template <class F>
void for_each_point(const Model& m, const std::vector<int>& x, bool all, F f) {
    std::vector<int64_t> v(x.size());
    for (size_t i = 0; i < x.size(); ++i) v[i] = m.vars[size_t(x[i])].lo;
    while (true) {
        f(v);
        size_t i = 0;
        for (; i < x.size(); ++i) {
            const Var& var = m.vars[size_t(x[i])];
            if (v[i] < var.hi) {
                v[i] = all ? v[i] + 1 : var.hi;
                break;
            }
            v[i] = var.lo;
        }
        if (i == x.size()) return;
    }
}

i128 value(const Affine& e, const std::vector<int64_t>& at) {
    i128 s = e.constant;
    for (const Term& t : e.terms) s += i128(t.coef) * at[size_t(t.var)];
    return s;
}

}  // namespace

TEST(ClampCuts, ValidAtEveryPointAndTheLpReachesTheBoxMaximum) {
    std::mt19937_64 rng(17);
    std::uniform_int_distribution<int> c(-5, 5);
    int cases = 0, tightened = 0, rows = 0;
    for (int t = 0; t < 60; ++t) {
        Relu r = random_relu(rng, 2 + t % 4);
        if (!(r.hlo < 0 && r.hhi > 0)) continue;
        ++cases;
        Affine target{{{r.clamp.y, 1}}, 0};
        for (int v : r.x) target.terms.push_back({v, c(rng)});
        const size_t before = r.m.rows.size();
        const CutRounds cr = add_clamp_cuts(r.m, {r.clamp}, target, Budget::seconds(10), 100, 0.0);
        rows += int(r.m.rows.size() - before);
        // Valid: at every integer point, with y and a at their values, every row holds.
        double best = -1e300;
        for_each_point(r.m, r.x, true, [&](const std::vector<int64_t>& xs) {
            std::vector<int64_t> at(r.m.vars.size(), 0);
            for (size_t i = 0; i < r.x.size(); ++i) at[size_t(r.x[i])] = xs[i];
            const i128 h = value(r.clamp.h, at);
            at[size_t(r.clamp.y)] = int64_t(std::max<i128>(h, 0));
            at[size_t(r.clamp.a)] = h > 0 ? 0 : 1;
            for (const Row& row : r.m.rows) {
                i128 s = 0;
                for (const Term& term : row.terms) s += i128(term.coef) * at[size_t(term.var)];
                ASSERT_TRUE((row.lo == kNoLower || s >= row.lo) && (row.hi == kNoUpper || s <= row.hi)) << "case " << t;
            }
        });
        // The box maximum of y - c.x at its corners.
        for_each_point(r.m, r.x, false, [&](const std::vector<int64_t>& xs) {
            std::vector<int64_t> at(r.m.vars.size(), 0);
            for (size_t i = 0; i < r.x.size(); ++i) at[size_t(r.x[i])] = xs[i];
            at[size_t(r.clamp.y)] = int64_t(std::max<i128>(value(r.clamp.h, at), 0));
            best = std::max(best, double(value(target, at)));
        });
        EXPECT_GE(cr.first, best - 1e-6) << "case " << t;
        ASSERT_TRUE(cr.upper.has_value()) << "case " << t;
        EXPECT_GE(double(*cr.upper), best) << "case " << t;  // sound
        EXPECT_LE(double(*cr.upper), std::ceil(cr.last + 1e-6)) << "case " << t;
        EXPECT_NEAR(cr.last, best, 0.01 * (r.x.size() + 1)) << "case " << t << ": LP " << cr.first << " -> " << cr.last;
        if (cr.first > best + 0.05) ++tightened;
    }
    EXPECT_GT(cases, 30);
    EXPECT_GT(tightened, cases / 4) << "the big-M rows alone were already tight";
    EXPECT_GT(rows, 0);
}

// The staircase hulls: out = clamp(round(N / d) + zero, lo, hi) over a random range of N, every
// rounding mode. The rows hold at every integer N (valid) and, with nothing else, make the LP the
// hull itself: the rigorous LP maximum of out - t N (lp_ranges) is the integer maximum, for slopes
// t around 1 / d where the box of N and out alone is far above it.
TEST(StaircaseHulls, ValidAtEveryPointAndExactOverTheLp) {
    std::mt19937_64 rng(23);
    const Rounding modes[] = {Rounding::Floor, Rounding::Ceil, Rounding::HalfUp, Rounding::HalfDown,
                              Rounding::HalfEven, Rounding::HalfAway, Rounding::TowardZero};
    std::uniform_int_distribution<int> dd(1, 9), start(-40, 30), width(1, 60), zero(-2, 2);
    int cases = 0, tight = 0;
    for (int t = 0; t < 200; ++t) {
        NetworkEncoding::Staircase st;
        st.d = dd(rng);
        st.Nlo = start(rng), st.Nhi = st.Nlo + width(rng);
        st.out_zero = zero(rng);
        st.rounding = modes[t % 7];
        st.lo = t % 3 == 0 ? -100 : -1, st.hi = t % 4 == 0 ? 100 : 3;
        auto y = [&](i128 N) { return std::clamp(round_div(N, st.d, st.rounding) + st.out_zero, st.lo, st.hi); };
        Model m;
        const int n = m.add_var(int64_t(st.Nlo), int64_t(st.Nhi), true);
        const int out = m.add_var(int64_t(y(st.Nlo)), int64_t(y(st.Nhi)), false);
        st.N = Affine{{{n, 1}}, 0}, st.out = Affine{{{out, 1}}, 0};
        const int rows = add_staircase_hulls(m, {st});
        if (y(st.Nlo) == y(st.Nhi)) continue;
        ++cases;
        for (i128 N = st.Nlo; N <= st.Nhi; ++N)
            for (const Row& r : m.rows) {
                i128 s = 0;
                for (const Term& term : r.terms) s += i128(term.coef) * (term.var == n ? N : y(N));
                ASSERT_TRUE((r.lo == kNoLower || s >= r.lo) && (r.hi == kNoUpper || s <= r.hi)) << "case " << t << " N " << int64_t(N);
            }
        for (int64_t k : {st.d - 1, st.d, st.d + 1, 2 * st.d})
            for (int64_t sign : {1, -1}) {
                const Affine target{{{out, sign * k}, {n, -sign}}, 0};  // sign (k out - N)
                i128 best = std::numeric_limits<int64_t>::min();
                for (i128 N = st.Nlo; N <= st.Nhi; ++N) best = std::max(best, sign * (k * y(N) - N));
                const std::vector<LpRange> r = lp_ranges(m, {target}, Budget::seconds(10));
                EXPECT_EQ(int64_t(r[0].hi), int64_t(best)) << "case " << t << " rows " << rows << " k " << k << " sign " << sign;
                i128 box_lo, box_hi;
                affine_range(m, target, box_lo, box_hi);
                if (box_hi > best) ++tight;
            }
    }
    EXPECT_GT(cases, 120);
    EXPECT_GT(tight, cases);
}
