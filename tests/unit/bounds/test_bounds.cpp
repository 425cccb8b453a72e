// Interval and symbolic bounds against brute force: every input of small boxes of
// small random integer networks is run, and every bound must hold exactly.
#include "backends/bounds_method.hpp"
#include "unit/bounds/random_int_nets.hpp"
#include "qcert/bounds.hpp"
#include "qcert/model.hpp"
#include "test_util.hpp"

#include <chrono>
#include <cmath>
#include <gtest/gtest.h>

using namespace qcert;
using namespace qcert::test;

namespace {

using i128 = __int128;

std::string str(i128 v) {
    if (v == 0) return "0";
    std::string s;
    const bool neg = v < 0;
    while (v != 0) {
        const int d = int(v % 10);
        s.insert(s.begin(), char('0' + (d < 0 ? -d : d)));
        v /= 10;
    }
    return neg ? "-" + s : s;
}

// Sign of lam * a + mu - g, exactly (the doubles are dyadic rationals): -1, 0, 1.
// Returns 2 when the exponents are too far apart for i128 (counted by the callers).
int exact_sign(double lam, i128 a, double mu, i128 g) {
    auto split = [](double x, i128& m, int& e) {
        if (x == 0) { m = 0; e = 0; return; }
        int ex;
        const double f = std::frexp(x, &ex);
        m = i128(std::ldexp(f, 53));
        e = ex - 53;
    };
    i128 ml, mm;
    int el, em;
    split(lam, ml, el);
    split(mu, mm, em);
    const int E = std::min({el, em, 0});
    auto shifted = [&](i128 m, int s, i128& out) {
        int bits = 0;
        for (i128 v = m < 0 ? -m : m; v != 0; v >>= 1) ++bits;
        if (bits + s > 124) return false;
        out = m * (i128(1) << s);
        return true;
    };
    i128 t1, t2, t3;
    if (!shifted(ml * a, el - E, t1) || !shifted(mm, em - E, t2) || !shifted(g, -E, t3)) return 2;
    const i128 s = t1 + t2 - t3;
    return s < 0 ? -1 : s > 0 ? 1 : 0;
}

// Exact accumulators of every layer for one input.
std::vector<std::vector<i128>> accumulators(const IntNetwork& net, const std::vector<int64_t>& x) {
    const auto t = net.trace(x);
    std::vector<std::vector<i128>> acc;
    for (size_t k = 0; k < net.layers.size(); ++k) {
        const IntLayer& L = net.layers[k];
        std::vector<i128> a(L.out_size());
        for (int64_t i = 0; i < L.out_size(); ++i) {
            i128 s = L.b[i];
            for (int64_t j = 0; j < L.in_size(); ++j) s += i128(L.W(i, j)) * (i128(t[k][j]) - L.in_zero);
            a[i] = s;
        }
        acc.push_back(a);
    }
    return acc;
}

IntLayer random_layer(std::mt19937_64& rng) {
    IntLayer L;
    L.num = uniform(rng, 1, 6);
    L.den = rng() % 3 ? int64_t(1) << uniform(rng, 0, 6) : uniform(rng, 1, 50);
    L.rounding = kAllModes[rng() % 7];
    L.out_zero = uniform(rng, -5, 5);
    if (rng() % 4) {
        L.lo = uniform(rng, -40, 10);
        L.hi = L.lo + uniform(rng, 0, 60);
    } else if (rng() % 2) {
        L.lo = 0;  // ReLU only
    }
    if (rng() % 5 == 0) {
        L.accumulator_bits = int(uniform(rng, 5, 9));
        L.overflow = rng() % 2 ? Overflow::Wrap : Overflow::Saturate;
    }
    return L;
}

}  // namespace

TEST(BoundsRelaxation, SoundForEveryAccumulatorOfRandomRanges) {
    std::mt19937_64 rng(11);
    int64_t checked = 0, unchecked = 0, tight_pairs = 0;
    for (int trial = 0; trial < 1500; ++trial) {
        const IntLayer L = random_layer(rng);
        // Narrow ranges (staircase listed step by step) and wide ones (regions).
        const i128 alo = uniform(rng, -3000, 3000);
        const i128 ahi = alo + (rng() % 3 ? uniform(rng, 0, 200) : uniform(rng, 0, 20000));
        const NeuronRelaxation r = relax_neuron(L, alo, ahi);
        ASSERT_GE(r.lam_lo, 0);
        ASSERT_GE(r.lam_hi, 0);
        for (i128 a = alo; a <= ahi; ++a) {
            const i128 g = neuron_output(L, a);
            const int below = exact_sign(r.lam_lo, a, r.mu_lo, g), above = exact_sign(r.lam_hi, a, r.mu_hi, g);
            if (below == 2 || above == 2) { ++unchecked; continue; }
            ASSERT_LE(below, 0) << "lower relaxation above the output at a=" << str(a) << " trial " << trial << " mode "
                                << rounding_name(L.rounding) << " num/den " << L.num << "/" << L.den;
            ASSERT_GE(above, 0) << "upper relaxation below the output at a=" << str(a) << " trial " << trial << " mode "
                                << rounding_name(L.rounding) << " num/den " << L.num << "/" << L.den;
            tight_pairs += below == 0 || above == 0;
            ++checked;
        }
    }
    EXPECT_EQ(unchecked, 0);
    EXPECT_GT(checked, 500000);
    EXPECT_GT(tight_pairs, 0);  // the relaxations touch the staircase
}

TEST(BoundsRelaxation, ExactWhereTheNeuronIsLinearOrStable) {
    IntLayer L;  // the exact accumulator plus a zero point: out = a + 3
    L.out_zero = 3;
    NeuronRelaxation r = relax_neuron(L, -100, 100);
    EXPECT_EQ(r.lam_lo, 1.0);
    EXPECT_EQ(r.lam_hi, 1.0);
    EXPECT_EQ(r.mu_lo, 3.0);
    EXPECT_EQ(r.mu_hi, 3.0);
    L.lo = 0;  // stable: the clamp holds the whole range
    L.hi = 5;
    r = relax_neuron(L, 10, 20);
    EXPECT_EQ(r.lam_lo, 0.0);
    EXPECT_EQ(r.lam_hi, 0.0);
    EXPECT_EQ(r.mu_lo, 5.0);
    EXPECT_EQ(r.mu_hi, 5.0);
}

TEST(BoundsRelaxation, HalfUpSandwichByHand) {
    // out = floor((a + 4) / 8) (half up, d = 8): round(a/8) - a/8 lies in [-3/8, 4/8].
    IntLayer L;
    L.den = 8;
    L.rounding = Rounding::HalfUp;
    const NeuronRelaxation r = relax_neuron(L, -1000, 1000);  // wide: region bounds, slope 1/8
    EXPECT_EQ(r.lam_lo, 0.125);
    EXPECT_EQ(r.lam_hi, 0.125);
    EXPECT_EQ(r.mu_lo, -0.375);
    EXPECT_EQ(r.mu_hi, 0.5);
}

TEST(BoundsSymbolic, ContainEveryAccumulatorAndOutputOfRandomBoxes) {
    std::mt19937_64 rng(5);
    int64_t points = 0;
    double width_interval = 0, width_symbolic = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const RandomNet rn = random_int_net(rng);
        const IntNetwork& net = rn.net;
        std::vector<int64_t> lo, hi;
        random_box(rng, net, lo, hi);
        const IntBounds I = interval_bounds(net, lo, hi);
        const SymbolicBounds S = symbolic_bounds(net, lo, hi);
        ASSERT_TRUE(S.symbolic) << rn.what;
        const IntBounds& B = S.bounds;
        for (size_t k = 0; k < net.layers.size(); ++k)
            for (size_t i = 0; i < B.acc_lo[k].size(); ++i) {
                // Never looser than intervals.
                ASSERT_GE(B.acc_lo[k][i], I.acc_lo[k][i]) << rn.what;
                ASSERT_LE(B.acc_hi[k][i], I.acc_hi[k][i]) << rn.what;
                ASSERT_GE(B.out_lo[k][i], I.out_lo[k][i]) << rn.what;
                ASSERT_LE(B.out_hi[k][i], I.out_hi[k][i]) << rn.what;
                width_interval += double(I.out_hi[k][i] - I.out_lo[k][i]);
                width_symbolic += double(B.out_hi[k][i] - B.out_lo[k][i]);
            }
        for_each_point(lo, hi, [&](const std::vector<int64_t>& x) {
            const auto acc = accumulators(net, x);
            const auto t = net.trace(x);
            for (size_t k = 0; k < net.layers.size(); ++k)
                for (size_t i = 0; i < acc[k].size(); ++i) {
                    ASSERT_TRUE(I.acc_lo[k][i] <= acc[k][i] && acc[k][i] <= I.acc_hi[k][i]) << rn.what << " layer " << k;
                    ASSERT_TRUE(B.acc_lo[k][i] <= acc[k][i] && acc[k][i] <= B.acc_hi[k][i])
                        << rn.what << " layer " << k << " neuron " << i << ": " << str(acc[k][i]) << " not in ["
                        << str(B.acc_lo[k][i]) << ", " << str(B.acc_hi[k][i]) << "]";
                    ASSERT_TRUE(I.out_lo[k][i] <= t[k + 1][i] && t[k + 1][i] <= I.out_hi[k][i]) << rn.what;
                    ASSERT_TRUE(B.out_lo[k][i] <= t[k + 1][i] && t[k + 1][i] <= B.out_hi[k][i])
                        << rn.what << " layer " << k << " neuron " << i;
                }
            ++points;
        });
    }
    EXPECT_GT(points, 20000);
    EXPECT_LE(width_symbolic, width_interval);
    std::printf("[ info ] summed output widths: interval %.0f, symbolic %.0f over %lld points\n", width_interval,
                width_symbolic, (long long)points);
}

TEST(BoundsSymbolic, ObjectiveBoundIsSoundAndNeverBelowTheIntervalBound) {
    std::mt19937_64 rng(8);
    int strictly_tighter = 0, exact = 0, objectives = 0, tuned_tighter = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const RandomNet rn = random_int_net(rng);
        const IntNetwork& net = rn.net;
        std::vector<int64_t> lo, hi;
        random_box(rng, net, lo, hi);
        const SymbolicBounds S = symbolic_bounds(net, lo, hi);
        const IntBounds I = interval_bounds(net, lo, hi);
        std::vector<LinearObjective> objs;
        for (int o = 0; o < 4; ++o) {
            LinearObjective obj;
            for (int t = 0, n = int(uniform(rng, 1, 3)); t < n; ++t)
                obj.push_back({uniform(rng, 0, net.output_size() - 1), uniform(rng, -6, 6)});
            objs.push_back(obj);
        }
        const std::vector<ObjectiveBound> lb = objective_lower_bounds(S, objs);
        const std::vector<ObjectiveBound> tuned = objective_lower_bounds(S, objs, 30);  // slopes tuned per objective
        std::vector<i128> truth(objs.size(), std::numeric_limits<int64_t>::max());
        for_each_point(lo, hi, [&](const std::vector<int64_t>& x) {
            const auto q = net.eval(x).out;
            for (size_t o = 0; o < objs.size(); ++o) {
                i128 v = 0;
                for (const auto& [i, c] : objs[o]) v += i128(c) * q[i];
                truth[o] = std::min(truth[o], v);
            }
        });
        for (size_t o = 0; o < objs.size(); ++o) {
            i128 ilow = 0;
            for (const auto& [i, c] : objs[o])
                ilow += std::min(i128(c) * I.out_lo.back()[i], i128(c) * I.out_hi.back()[i]);
            ASSERT_LE(lb[o].lower, truth[o]) << rn.what << " objective " << o;
            ASSERT_LE(tuned[o].lower, truth[o]) << rn.what << " objective " << o << " (tuned slopes)";
            ASSERT_GE(tuned[o].lower, lb[o].lower) << rn.what;
            tuned_tighter += tuned[o].lower > lb[o].lower;
            ASSERT_GE(lb[o].lower, ilow) << rn.what;
            ASSERT_EQ(lb[o].argmin.size(), lo.size());
            strictly_tighter += lb[o].lower > ilow;
            exact += lb[o].lower == truth[o];
            ++objectives;
        }
    }
    std::printf("[ info ] %d objectives: %d strictly tighter than intervals, %d exact; tuned slopes tighter on %d\n",
                objectives, strictly_tighter, exact, tuned_tighter);
    EXPECT_GT(strictly_tighter, 0);
}

TEST(BoundsSymbolic, ExactOnLinearNetworksWhereIntervalsAreNot) {
    // Two exact linear layers (no rescale, no clamp): back-substitution composes them
    // exactly, so the bounds equal the true extremes, integers reached exactly; the
    // floating-point error terms must not cost the last unit.
    IntNetwork net;
    net.source = "linear";
    net.input.lo = -50;
    net.input.hi = 50;
    IntLayer a, b;
    a.W.resize(2, 2);
    a.W << 3, -2, 1, 1;
    a.b = {5, -7};
    b.W.resize(1, 2);
    b.W << 1, 2;  // = 5 x0 + 0 x1 - 9: x1 cancels
    b.b = {0};
    net.layers = {a, b};
    net.prepare();
    const std::vector<int64_t> lo = {-3, -40}, hi = {4, 45};
    const SymbolicBounds S = symbolic_bounds(net, lo, hi);
    EXPECT_EQ(S.bounds.out_lo[1][0], 5 * -3 - 9);
    EXPECT_EQ(S.bounds.out_hi[1][0], 5 * 4 - 9);
    const IntBounds I = interval_bounds(net, lo, hi);
    EXPECT_LT(I.out_lo[1][0], S.bounds.out_lo[1][0]);
    EXPECT_EQ(objective_lower_bound(S, {{0, -1}}).lower, -(5 * 4 - 9));
}

TEST(BoundsMethods, NeverProveAViolatedQuery) {
    std::mt19937_64 rng(21);
    auto interval = make_interval_method();
    auto symbolic = make_symbolic_method();
    int holds_true = 0, proved_interval = 0, proved_symbolic = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const RandomNet rn = random_int_net(rng);
        IntQuery q;
        q.net = &rn.net;
        random_box(rng, rn.net, q.lo, q.hi);
        q.unsafe = random_unsafe(rng, rn.net);
        bool violated = false;
        for_each_point(q.lo, q.hi, [&](const std::vector<int64_t>& x) { violated = violated || confirms(q, x); });
        const Outcome oi = interval->run(q, Budget{}), os = symbolic->run(q, Budget{});
        EXPECT_NE(oi.verdict, Verdict::Violated);
        EXPECT_NE(os.verdict, Verdict::Violated);
        if (violated) {
            ASSERT_NE(oi.verdict, Verdict::Holds) << rn.what;
            ASSERT_NE(os.verdict, Verdict::Holds) << rn.what;
            EXPECT_EQ(os.reason, "incomplete: bounds inconclusive");
        } else {
            ++holds_true;
        }
        // Symbolic proves everything intervals prove.
        if (oi.verdict == Verdict::Holds) {
            EXPECT_EQ(os.verdict, Verdict::Holds) << rn.what;
        }
        proved_interval += oi.verdict == Verdict::Holds;
        proved_symbolic += os.verdict == Verdict::Holds;
        EXPECT_EQ(os.method, "symbolic");
    }
    std::printf("[ info ] %d safe queries: interval proves %d, symbolic %d\n", holds_true, proved_interval, proved_symbolic);
    EXPECT_GT(proved_symbolic, proved_interval);
}

TEST(BoundsMethods, EmptyBoxHoldsAndExpiredBudgetIsATimeout) {
    std::mt19937_64 rng(3);
    const RandomNet rn = random_int_net(rng);
    IntQuery q;
    q.net = &rn.net;
    q.lo.assign(rn.net.input_size(), rn.net.input.lo);
    q.hi = q.lo;
    q.unsafe = {{}};  // always unsafe
    Budget spent;
    spent.deadline = std::chrono::steady_clock::now();
    EXPECT_EQ(make_symbolic_method()->run(q, spent).reason, "timeout");
    q.hi[0] = q.lo[0] - 1;
    EXPECT_EQ(make_symbolic_method()->run(q, Budget{}).verdict, Verdict::Holds);
}

TEST(BoundsSymbolic, AaaiMnistBallSoundOnSamplesAndFast) {
    // The AAAI 2021 MNIST network (784-64-32, Q = 6) on an eps = 2 ball around test
    // image 0: far too many inputs to enumerate, so the bounds are checked on random
    // inputs of the ball, its corners and its centre.
    const std::string dir = shared_benchmarks();
    if (dir.empty()) GTEST_SKIP() << "skipped: ../shared/benchmarks not present";
    QCERT_REQUIRE_FILE(dir + "/aaai2021/mnist_mlp.h5");
    const Subject s = load_subject(dir + "/aaai2021/mnist_mlp.h5", "aaai2021:6");
    const Dataset d = read_idx(dir + "/mnist/t10k-images-idx3-ubyte.gz", dir + "/mnist/t10k-labels-idx1-ubyte.gz");
    const IntNetwork& net = *s.quant->integer;
    const std::vector<int64_t> x = net.input_from(d.raw_sample(0), d.float_sample(0));
    const int64_t label = d.labels[0];
    IntQuery q = IntQuery::linf_ball(net, x, 2, to_integer(OutputProperty::misclassified(net.output_size(), label), net));
    const auto t0 = std::chrono::steady_clock::now();
    const SymbolicBounds S = symbolic_bounds(net, q.lo, q.hi);
    const double t_bounds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const IntBounds I = interval_bounds(net, q.lo, q.hi);
    double wi = 0, ws = 0;
    for (size_t k = 0; k < net.layers.size(); ++k)
        for (size_t i = 0; i < I.out_lo[k].size(); ++i) {
            ASSERT_GE(S.bounds.out_lo[k][i], I.out_lo[k][i]);
            ASSERT_LE(S.bounds.out_hi[k][i], I.out_hi[k][i]);
            wi += double(I.out_hi[k][i] - I.out_lo[k][i]);
            ws += double(S.bounds.out_hi[k][i] - S.bounds.out_lo[k][i]);
        }
    std::mt19937_64 rng(1);
    for (int t = 0; t < 300; ++t) {
        std::vector<int64_t> p(q.lo.size());
        for (size_t j = 0; j < p.size(); ++j)
            p[j] = t == 0 ? x[j] : t < 3 ? (t == 1 ? q.lo[j] : q.hi[j]) : uniform(rng, q.lo[j], q.hi[j]);
        const auto acc = accumulators(net, p);
        const auto tr = net.trace(p);
        for (size_t k = 0; k < net.layers.size(); ++k)
            for (size_t i = 0; i < acc[k].size(); ++i) {
                ASSERT_TRUE(S.bounds.acc_lo[k][i] <= acc[k][i] && acc[k][i] <= S.bounds.acc_hi[k][i]);
                ASSERT_TRUE(S.bounds.out_lo[k][i] <= tr[k + 1][i] && tr[k + 1][i] <= S.bounds.out_hi[k][i]);
            }
    }
    const auto t1 = std::chrono::steady_clock::now();
    const Outcome o = make_symbolic_method()->run(q, Budget{});
    const double t_method = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("[ info ] AAAI MNIST eps=2 sample 0: symbolic bounds %.2f ms (method %.2f ms, %s), summed output widths "
                "interval %.0f, symbolic %.0f\n",
                1e3 * t_bounds, 1e3 * t_method, verdict_name(o.verdict), wi, ws);
    EXPECT_LT(t_bounds, 1.0);
}
