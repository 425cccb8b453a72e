// Bound tightening for a disjunct (milp_tighten) and the rigorous LP ranges it is
// built on (milp_lp_bounds), against brute-force enumeration of small input boxes.
#include "backends/milp_encoding.hpp"
#include "backends/milp_lp_bounds.hpp"
#include "backends/milp_tighten.hpp"

#include "unit/bounds/random_int_nets.hpp"

#include <gtest/gtest.h>

using namespace qcert;
using namespace qcert::milp;
using namespace qcert::test;

namespace {

// min 2x + y + 1 over integers x, y in [0, 10] with x + y >= 3 and x - y <= 4.
Model small_model(Affine& objective) {
    Model m;
    const int x = m.add_var(0, 10, true), y = m.add_var(0, 10, true);
    m.add_row(Affine{{{x, 1}, {y, 1}}, 0}, 3, std::nullopt);
    m.add_row(Affine{{{x, 1}, {y, -1}}, 0}, std::nullopt, 4);
    objective = Affine{{{x, 2}, {y, 1}}, 1};
    return m;
}

// The objective's minimum over small_model's feasible points, by enumeration.
int64_t brute_min(const Affine& objective) {
    int64_t best = INT64_MAX;
    for (int64_t x = 0; x <= 10; ++x)
        for (int64_t y = 0; y <= 10; ++y) {
            if (x + y < 3 || x - y > 4) continue;
            i128 v = objective.constant;
            for (const Term& t : objective.terms) v += i128(t.coef) * (t.var == 0 ? x : y);
            best = std::min(best, int64_t(v));
        }
    return best;
}

// The accumulators of every layer at input x.
std::vector<std::vector<__int128>> accumulators(const IntNetwork& net, const std::vector<int64_t>& x) {
    const auto trace = net.trace(x);
    std::vector<std::vector<__int128>> acc(net.layers.size());
    for (size_t k = 0; k < net.layers.size(); ++k) {
        const IntLayer& L = net.layers[k];
        for (int64_t i = 0; i < L.out_size(); ++i) {
            __int128 a = L.b[i];
            for (int64_t j = 0; j < L.in_size(); ++j) a += __int128(L.W(i, j)) * (trace[k][j] - L.in_zero);
            acc[k].push_back(a);
        }
    }
    return acc;
}

}  // namespace

TEST(MilpLpBounds, DualBoundIsExactAtTheOptimalMultipliersAndSoundForAnyOthers) {
    Affine obj;
    const Model m = small_model(obj);
    const int64_t best = brute_min(obj);  // x = 0, y = 3: 4
    ASSERT_EQ(best, 4);
    // The LP optimum is also 4 (y = 1 on the first row): the bound is exact.
    auto b = dual_lower_bound(m, obj, {1.0, 0.0});
    ASSERT_TRUE(b);
    EXPECT_EQ(int64_t(*b), 4);
    // Any multipliers give a valid (maybe weaker) bound, including nonsense ones.
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> U(-5, 5);
    for (int t = 0; t < 500; ++t) {
        auto lb = dual_lower_bound(m, obj, {U(rng), U(rng)});
        ASSERT_TRUE(lb);
        EXPECT_LE(int64_t(*lb), best);
    }
    EXPECT_FALSE(dual_lower_bound(m, obj, {std::nan(""), 0.0}));
}

// Reduced-cost tightening: every feasible integer point that a narrowing cuts off has objective
// at least the cut bound, which is at least floor_at; at the optimal multipliers it narrows.
TEST(MilpLpBounds, DualNarrowingsCutOnlyPointsAtOrAboveTheFloor) {
    Affine obj;
    const Model m = small_model(obj);
    // y = (1, 0): reduced costs (1, 0), bound 4; x >= 2 puts the bound at 6.
    const auto exact = dual_narrowings(m, m.vars, obj, {1.0, 0.0}, 6);
    ASSERT_TRUE(exact);
    EXPECT_EQ(int64_t(exact->lower), 4);
    ASSERT_EQ(exact->narrowed.size(), 1u);
    EXPECT_EQ(exact->narrowed[0].var, 0);
    EXPECT_EQ(exact->narrowed[0].lo, 0);
    EXPECT_EQ(exact->narrowed[0].hi, 1);
    ASSERT_TRUE(exact->cut_lower);
    EXPECT_EQ(int64_t(*exact->cut_lower), 6);
    EXPECT_TRUE(dual_narrowings(m, m.vars, obj, {1.0, 0.0}, 4)->narrowed.empty());  // the bound reaches the floor
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> U(-3, 3);
    int cut_points = 0;
    for (int t = 0; t < 500; ++t) {
        const int64_t floor_at = 4 + int64_t(rng() % 20);
        const auto dn = dual_narrowings(m, m.vars, obj, {U(rng), U(rng)}, floor_at);
        ASSERT_TRUE(dn);
        for (int64_t x = 0; x <= 10; ++x)
            for (int64_t y = 0; y <= 10; ++y) {
                if (x + y < 3 || x - y > 4) continue;
                bool cut = false;
                for (const Narrowing& n : dn->narrowed) {
                    const int64_t v = n.var == 0 ? x : y;
                    ASSERT_GE(n.lo, 0);
                    ASSERT_LE(n.hi, 10);
                    cut = cut || v < n.lo || v > n.hi;
                }
                if (!cut) continue;
                ++cut_points;
                ASSERT_TRUE(dn->cut_lower);
                ASSERT_GE(*dn->cut_lower, floor_at);
                EXPECT_GE(2 * x + y + 1, int64_t(*dn->cut_lower)) << "x " << x << " y " << y;
            }
    }
    EXPECT_GT(cut_points, 100);
}

TEST(MilpLpBounds, RangesFromClpContainTheIntegerRange) {
    Affine obj;
    const Model m = small_model(obj);
    Affine neg;
    neg.add_scaled(obj, -1);
    const auto r = lp_ranges(m, {obj, neg}, Budget::seconds(10));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(int64_t(r[0].lo), 4);   // tight: the LP optimum is integral here
    EXPECT_EQ(int64_t(r[0].hi), 31);  // x = y = 10
    EXPECT_EQ(int64_t(r[1].lo), -31);
    EXPECT_FALSE(r[0].infeasible);
}

// The tightened bounds hold for every point of the box that meets the disjunct;
// "empty" only when no point does. Also counts that tightening does something.
TEST(MilpTighten, BoundsContainEveryPointThatMeetsTheDisjunct) {
    std::mt19937_64 rng(17);
    int narrowed = 0, empty = 0, checked = 0;
    for (int trial = 0; trial < 150; ++trial) {
        const RandomNet rn = random_int_net(rng);
        IntQuery q;
        q.net = &rn.net;
        random_box(rng, rn.net, q.lo, q.hi, 400);
        const IntUnsafe unsafe = random_unsafe(rng, rn.net);
        const IntBounds B0 = interval_bounds(rn.net, q.lo, q.hi);
        for (const auto& conj : unsafe) {
            IntQuery one = q;
            one.unsafe = {conj};
            IntBounds B = B0;
            const Tightening t = tighten_for_disjunct(one, B, conj, outputs_read({conj}, rn.net.output_size()),
                                                      Budget::seconds(20), 3);
            narrowed += t.narrowed;
            bool met = false;
            for_each_point(q.lo, q.hi, [&](const std::vector<int64_t>& x) {
                if (!confirms(one, x)) return;
                met = true;
                if (t.empty || t.lp_infeasible) return;  // reported below
                const auto acc = accumulators(rn.net, x);
                const auto trace = rn.net.trace(x);
                for (size_t k = 0; k < acc.size(); ++k)
                    for (size_t i = 0; i < acc[k].size(); ++i) {
                        ++checked;
                        // Only the neurons the disjunct's outputs depend on are tightened;
                        // every neuron must still be inside its (possibly untouched) bounds.
                        EXPECT_GE(acc[k][i], B.acc_lo[k][i]) << rn.what << " layer " << k << " neuron " << i;
                        EXPECT_LE(acc[k][i], B.acc_hi[k][i]) << rn.what << " layer " << k << " neuron " << i;
                        EXPECT_GE(trace[k + 1][i], B.out_lo[k][i]) << rn.what;
                        EXPECT_LE(trace[k + 1][i], B.out_hi[k][i]) << rn.what;
                    }
            });
            EXPECT_FALSE(met && t.empty) << rn.what << ": a point meets a disjunct proved empty";
            EXPECT_FALSE(met && t.lp_infeasible) << rn.what << ": a point meets a disjunct whose LP is infeasible";
            empty += t.empty;
        }
    }
    EXPECT_GT(checked, 1000);
    EXPECT_GT(narrowed, 50);
    EXPECT_GT(empty, 5);
}
