// qcert synth --method preimage: the polytope preimages (synth_polytope.hpp) against the float
// layers above evaluated at sampled points, the exact polytope of the last hidden layer
// against the safe set point by point, and the forward check against sampled quantized prefixes.
#include "synth_test_data.hpp"
#include "analysis/synth_margin.hpp"
#include "analysis/synth_polytope.hpp"
#include "analysis/synth_preimage.hpp"
#include "qcert/synth.hpp"

#include <gtest/gtest.h>
#include <random>

using namespace qcert;
using namespace qcert::synth;
using namespace qcert::test;

namespace {

// The condition rows s = c.y - rhs of the float layers above hidden layer k, from its output h.
Vec rows_from(const ConditionNet& cn, size_t k, Vec h) {
    for (size_t l = k + 1; l < cn.net.blocks.size(); ++l)
        h = cn.net.blocks[l].activate(cn.net.blocks[l].W * h + cn.net.blocks[l].b);
    return h;
}

// The rows at h, enclosed in outward-rounded interval arithmetic, close every disjunct.
bool certainly_safe_from(const ConditionNet& cn, size_t k, const Vec& h) {
    BlockNet above;
    above.input_shape = {h.size()};
    above.blocks.assign(cn.net.blocks.begin() + int64_t(k) + 1, cn.net.blocks.end());
    std::vector<double> u(h.data(), h.data() + h.size()), lo;
    for (const Interval& v : margin_enclosure(above, u, 1.0)) lo.push_back(v.lo);
    return rows_prove(cn, lo);
}

Vec prefix_from(const BlockNet& net, size_t k, const std::vector<double>& u, double divisor) {
    Vec h = to_vec(u) / divisor;
    for (size_t l = 0; l <= k; ++l) h = net.blocks[l].activate(net.blocks[l].W * h + net.blocks[l].b);
    return h;
}

BoxProperty property_of_kind(std::mt19937_64& rng, const BlockNet& net, int trial) {
    BoxProperty p = random_property(rng, net, 0.01 * double(test::uniform(rng, 1, 5)), trial);
    if (trial % 3 == 1) {  // backdoor: one disjunct of several rows
        p.kind = PropertyKind::Backdoor;
        p.label = (p.label + 1) % net.output_size();
    } else if (trial % 3 == 2) {  // VNN-LIB: two disjuncts, "y_0 >= y_1 + 0.1" and "y_2 > y_1"
        p.kind = PropertyKind::Vnnlib;
        p.name = "v" + std::to_string(trial);
        LinearConstraint a, b;
        a.terms = {{1, 1.0}, {0, -1.0}}, a.rhs = -0.1;
        b.terms = {{1, 1.0}, {2, -1.0}}, b.rhs = 0, b.strict = true;
        p.unsafe.unsafe = {{a}, {b}};
    }
    return p;
}

}  // namespace

TEST(SynthPolytope, RowsAreLowerBoundsOfTheFloatLayersAboveOnTheDomain) {
    std::mt19937_64 rng(71);
    int relaxed = 0, exact = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const BoxProperty p = property_of_kind(rng, net, trial);
        const ConditionNet cn = condition_net(net, p);
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        ASSERT_EQ(pre.polytopes.size(), 2u);
        EXPECT_EQ(pre.polytopes[0].size(), 3u);  // a ReLU layer above: one per relaxation
        ASSERT_EQ(pre.polytopes[1].size(), 1u);  // the affine output layer above: exact
        EXPECT_TRUE(pre.polytopes[1][0].exact);
        for (const PreimagePolytope& P : pre.polytopes[0]) {
            ASSERT_FALSE(P.exact);
            ++relaxed;
            for (int t = 0; t < 500; ++t) {
                const Vec h = to_vec(random_point(rng, P.domain.lo, P.domain.hi));
                const Vec s = rows_from(cn, 0, h);
                for (int64_t r = 0; r < s.size(); ++r) {
                    if (std::isfinite(P.c[r])) {
                        EXPECT_LE(P.a.row(r).dot(h) + P.c[r], s[r] + 1e-9) << "trial " << trial;
                    }
                }
            }
        }
        ++exact;
    }
    EXPECT_EQ(relaxed, 120);
    EXPECT_EQ(exact, 40);
}

TEST(SynthPolytope, EveryPointOfThePolytopeIsCertainlySafeAndTheExactOneIsTheSafeSet) {
    std::mt19937_64 rng(72);
    int inside[2] = {0, 0}, outside_exact = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const BoxProperty p = property_of_kind(rng, net, trial);
        const ConditionNet cn = condition_net(net, p);
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        for (size_t k = 0; k < 2; ++k)
            for (const PreimagePolytope& P : pre.polytopes[k]) {
                for (int t = 0; t < 400; ++t) {
                    // Float values of the layer (mostly inside) and points around the reachable box.
                    Vec h = prefix_from(net, k, random_point(rng, p.lo, p.hi), 1.0);
                    if (t % 2) {
                        LayerBox wide = pre.reach[k];
                        for (size_t i = 0; i < wide.lo.size(); ++i) {
                            const double w = wide.hi[i] - wide.lo[i] + 0.1;
                            wide.lo[i] = std::max(0.0, wide.lo[i] - w), wide.hi[i] += w;
                        }
                        h = to_vec(random_point(rng, wide.lo, wide.hi));
                    }
                    const std::vector<double> hv(h.data(), h.data() + h.size());
                    const bool in = polytope_contains(P, hv);
                    if (in) {
                        ++inside[k];
                        EXPECT_TRUE(certainly_safe_from(cn, k, h)) << "trial " << trial << " layer " << k;
                    }
                    if (P.exact && !in) {
                        // Exact: outside means some disjunct has no row above 0 (within rounding).
                        ++outside_exact;
                        const Vec s = rows_from(cn, k, h);
                        bool some_disjunct_open = false;
                        for (const auto& d : cn.disjuncts) {
                            bool closed = false;
                            for (int64_t r : d) closed = closed || s[r] > 1e-9;
                            some_disjunct_open = some_disjunct_open || !closed;
                        }
                        EXPECT_TRUE(some_disjunct_open) << "trial " << trial;
                    }
                }
            }
    }
    EXPECT_GT(inside[0], 2000);
    EXPECT_GT(inside[1], 2000);
    EXPECT_GT(outside_exact, 200);
}

TEST(SynthPolytope, ForwardCheckIsSoundAgainstSampledQuantizedPrefixes) {
    std::mt19937_64 rng(73);
    int linear_yes = 0, split_only = 0, no = 0;
    for (int trial = 0; trial < 30; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const BoxProperty p = property_of_kind(rng, net, trial);
        const ConditionNet cn = condition_net(net, p);
        const PropertyPreimage pre = compute_preimage(net, p, 1.0);
        const std::vector<int> bits{int(test::uniform(rng, 3, 8)), int(test::uniform(rng, 3, 8)), int(test::uniform(rng, 3, 8))};
        const BlockNet twin = quadapter_twin(net, bits);
        for (size_t k = 0; k < 2; ++k)
            for (const PreimagePolytope& P : pre.polytopes[k]) {
                const bool linear = prefix_inside_polytope(twin, k, p, P);
                const bool split = linear || prefix_inside_polytope(twin, k, p, P, 0.3);
                if (!split) {
                    ++no;
                    continue;
                }
                linear ? ++linear_yes : ++split_only;
                // Every sampled output of the quantized prefix lies in the polytope, and the float
                // layers above take it to a safe output.
                for (int t = 0; t < 300; ++t) {
                    const Vec h = prefix_from(twin, k, random_point(rng, p.lo, p.hi), p.divisor);
                    const std::vector<double> hv(h.data(), h.data() + h.size());
                    EXPECT_TRUE(polytope_contains(P, hv)) << "trial " << trial << " layer " << k << " linear " << linear;
                    EXPECT_TRUE(certainly_safe_from(cn, k, h)) << "trial " << trial << " layer " << k;
                }
            }
    }
    EXPECT_GT(linear_yes, 20);
    EXPECT_GT(no, 5);
    std::cout << "forward check: " << linear_yes << " by linear bounds, " << split_only << " by splitting only, " << no
              << " not shown\n";
}
