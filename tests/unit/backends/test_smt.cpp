// The SMT back ends (cvc5, Z3, Boolector) against brute-force enumeration of the
// whole input box, on small random quantized networks: fixed-point schemes with
// every rounding mode, the AAAI 2021 semantics, and hand-made layers with zero
// points, a non-power-of-two rescale and wrapping or saturating accumulators.
#include "backends/bv_encoding.hpp"
#include "backends/smt_boolector.hpp"
#include "backends/smt_cvc5.hpp"
#include "backends/smt_z3.hpp"
#include "qcert/bounds.hpp"
#include "qcert/method.hpp"
#include "qcert/model.hpp"
#include "test_util.hpp"
#include "unit/bounds/random_int_nets.hpp"

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <memory>
#include <random>
#include <thread>

using namespace qcert;

namespace {

const Rounding kModes[] = {Rounding::HalfUp, Rounding::HalfAway, Rounding::HalfEven, Rounding::HalfDown,
                           Rounding::Floor,  Rounding::Ceil,     Rounding::TowardZero};

std::string random_format(std::mt19937_64& rng, char sign) {
    const int bits = 3 + int(rng() % 6);
    return fmt::format("{}{}.{}", sign, bits, int(rng() % (bits + 1)) - 1);
}

// fixed:w=..,b=..,i=..,a=..[,o=..],round=..,pround=..
std::string random_fixed_scheme(std::mt19937_64& rng) {
    std::string s = "fixed:w=" + random_format(rng, 's') + ",b=" + random_format(rng, 's') + ",i=u4." +
                    std::to_string(rng() % 4);
    s += ",a=" + random_format(rng, rng() % 2 ? 'u' : 's');
    if (rng() % 2) s += ",o=" + random_format(rng, 's');
    s += std::string(",round=") + rounding_name(kModes[rng() % 7]) + ",pround=" + rounding_name(kModes[rng() % 7]);
    return s;
}

struct Case {
    std::string what;
    std::shared_ptr<IntNetwork> net;
    IntQuery query;
};

// Every point of the box, as an odometer.
bool brute_force_unsafe(const IntQuery& q) {
    std::vector<int64_t> x = q.lo;
    for (;;) {
        if (is_unsafe(q.unsafe, q.net->eval(x).out)) return true;
        size_t j = 0;
        while (j < x.size() && x[j] == q.hi[j]) x[j] = q.lo[j], ++j;
        if (j == x.size()) return false;
        ++x[j];
    }
}

std::vector<int64_t> random_point(std::mt19937_64& rng, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    std::vector<int64_t> x(lo.size());
    for (size_t j = 0; j < x.size(); ++j) x[j] = lo[j] + int64_t(rng() % uint64_t(hi[j] - lo[j] + 1));
    return x;
}

int64_t argmax(const std::vector<int64_t>& y) {
    int64_t best = 0;
    for (size_t i = 1; i < y.size(); ++i)
        if (y[i] > y[best]) best = int64_t(i);
    return best;
}

// Robustness of the centre's label, and a random OR of ANDs of linear
// constraints whose bounds sit near the outputs at a random point of the box.
std::vector<Case> queries_for(std::mt19937_64& rng, const std::string& what, std::shared_ptr<IntNetwork> net,
                              const std::vector<int64_t>& centre, int64_t eps) {
    std::vector<Case> cases;
    const IntNetwork& n = *net;
    const int64_t label = argmax(n.eval(centre).out);
    IntUnsafe robust = to_integer(OutputProperty::misclassified(n.output_size(), label), n);
    cases.push_back({what + " robustness", net, IntQuery::linf_ball(n, centre, eps, robust)});

    IntQuery lin = IntQuery::linf_ball(n, centre, eps, {});
    const std::vector<int64_t> y = n.eval(random_point(rng, lin.lo, lin.hi)).out;
    const int disjuncts = 1 + int(rng() % 3);
    for (int d = 0; d < disjuncts; ++d) {
        std::vector<IntConstraint> conj;
        const int count = 1 + int(rng() % 2);
        for (int c = 0; c < count; ++c) {
            IntConstraint k;
            __int128 at = 0;
            for (int t = 0; t < 2; ++t) {
                const int64_t i = int64_t(rng() % uint64_t(n.output_size())), a = int64_t(rng() % 7) - 3;
                k.terms.push_back({i, a});
                at += __int128(a) * y[i];
            }
            k.rhs = int64_t(at) + int64_t(rng() % 5) - 3;
            conj.push_back(k);
        }
        lin.unsafe.push_back(conj);
    }
    cases.push_back({what + " linear", net, lin});
    return cases;
}

std::vector<Case> fixed_point_cases(std::mt19937_64& rng, int count) {
    std::vector<Case> cases;
    for (int t = 0; t < count; ++t) {
        const BlockNet bn = test::random_block_net(rng, 2 + int(rng() % 3), {2 + int(rng() % 4), 2 + int(rng() % 3)});
        const std::string spec = random_fixed_scheme(rng);
        const QuantizedNet qn = quantize(bn, parse_scheme(spec, bn));
        if (!qn.integer) throw std::logic_error(spec + " has no integer path");
        auto net = std::make_shared<IntNetwork>(*qn.integer);
        std::vector<int64_t> centre(net->input_size());
        for (auto& v : centre) v = int64_t(rng() % 16);
        for (Case& c : queries_for(rng, spec, net, centre, 1 + int64_t(rng() % 4))) cases.push_back(c);
    }
    return cases;
}

std::vector<Case> aaai_cases(std::mt19937_64& rng, int count) {
    std::vector<Case> cases;
    for (int t = 0; t < count; ++t) {
        const BlockNet bn = test::random_block_net(rng, 2 + int(rng() % 2), {2 + int(rng() % 5), 3});
        const std::string spec = "aaai2021:" + std::to_string(3 + rng() % 6);
        const QuantizedNet qn = quantize(bn, parse_scheme(spec, bn));
        if (!qn.integer) throw std::logic_error(spec + " has no integer path");
        auto net = std::make_shared<IntNetwork>(*qn.integer);
        std::vector<int64_t> centre(net->input_size());
        for (auto& v : centre) v = int64_t(rng() % 256);  // the box is clipped to 0..255
        for (Case& c : queries_for(rng, spec, net, centre, 8 + int64_t(rng() % 16))) cases.push_back(c);
    }
    return cases;
}

// Layers as QDQ models and narrow accumulators make them: zero points, a rescale
// num/den with den not a power of two, Wrap and Saturate.
std::vector<Case> exotic_cases(std::mt19937_64& rng, int count) {
    std::vector<Case> cases;
    std::uniform_int_distribution<int64_t> W(-9, 9);
    for (int t = 0; t < count; ++t) {
        auto net = std::make_shared<IntNetwork>();
        net->source = "exotic";
        net->input.lo = -8;
        net->input.hi = 7;
        int64_t prev = 2 + int64_t(rng() % 3);
        for (int k = 0; k < 2; ++k) {
            IntLayer L;
            const int64_t m = 2 + int64_t(rng() % 3);
            L.W.resize(m, prev);
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < prev; ++j) L.W(i, j) = rng() % 4 == 0 ? 0 : W(rng);
            for (int64_t i = 0; i < m; ++i) L.b.push_back(W(rng) * 5);
            L.in_zero = int64_t(rng() % 5) - 2;
            const int64_t dens[] = {1, 3, 5, 6, 7, 12, 4, 16};
            L.den = dens[rng() % 8];
            L.num = 1 + int64_t(rng() % 3);
            L.rounding = kModes[rng() % 7];
            L.out_zero = int64_t(rng() % 7) - 3;
            L.lo = -10 + int64_t(rng() % 8);
            L.hi = L.lo + 4 + int64_t(rng() % 12);
            if (rng() % 2) {
                L.accumulator_bits = 6 + int(rng() % 4);
                L.overflow = rng() % 2 ? Overflow::Wrap : Overflow::Saturate;
            }
            net->layers.push_back(L);
            prev = m;
        }
        net->prepare();
        std::vector<int64_t> centre(net->input_size());
        for (auto& v : centre) v = int64_t(rng() % 16) - 8;
        for (Case& c : queries_for(rng, "exotic", net, centre, 2 + int64_t(rng() % 4))) cases.push_back(c);
    }
    return cases;
}

// presolve off: interval bounds only, so the solver sees the whole encoding.
std::vector<std::unique_ptr<Method>> back_ends(bool presolve) {
    const bv::SmtOptions o{presolve};
    std::vector<std::unique_ptr<Method>> m;
    m.push_back(make_cvc5_method(o));
    m.push_back(make_z3_method(o));
    m.push_back(make_boolector_method("boolector", o));
    return m;
}

// Each back end against enumeration, on the whole encoding; then one of them (in
// turn) with the symbolic presolve. A model that does not re-check is an encoding bug.
struct Tally {
    int violated = 0, holds = 0;
    int solver = 0;  // queries the interval bounds leave to the solver
};

Tally check_against_brute_force(const std::vector<Case>& cases) {
    Tally t;
    auto full = back_ends(false), presolved = back_ends(true);
    for (size_t n = 0; n < cases.size(); ++n) {
        const Case& c = cases[n];
        const bool unsafe = brute_force_unsafe(c.query);
        (unsafe ? t.violated : t.holds)++;
        t.solver += !bv::encode(c.query).decided.has_value();
        std::vector<Method*> methods;
        for (const auto& m : full) methods.push_back(m.get());
        methods.push_back(presolved[n % presolved.size()].get());
        for (Method* m : methods) {
            const Outcome o = m->run(c.query, Budget::seconds(20));
            if (o.reason == "model did not re-check") {
                ADD_FAILURE() << "ENCODING BUG: " << m->name() << " returned a model that the integer network rejects, on "
                              << c.what;
                continue;
            }
            if (m->name() == "boolector" && o.reason == "boolector not installed") continue;
            EXPECT_EQ(o.verdict, unsafe ? Verdict::Violated : Verdict::Holds)
                << m->name() << " on " << c.what << ": " << verdict_name(o.verdict) << " (" << o.reason << ")";
            EXPECT_EQ(o.method, m->name());
            if (unsafe) {
                EXPECT_TRUE(confirms(c.query, o.counterexample));
            }
        }
    }
    std::printf("%zu queries: %d violated, %d hold, %d left to the solver by the interval bounds\n", cases.size(), t.violated,
                t.holds, t.solver);
    return t;
}

}  // namespace

TEST(Smt, FixedPointSchemesAgreeWithBruteForce) {
    std::mt19937_64 rng(11);
    const Tally t = check_against_brute_force(fixed_point_cases(rng, 50));
    EXPECT_GT(t.violated, 15);
    EXPECT_GT(t.holds, 15);
    EXPECT_GT(t.solver, 40);  // not all decided by the bounds alone
}

TEST(Smt, AaaiSemanticsAgreesWithBruteForce) {
    std::mt19937_64 rng(12);
    const Tally t = check_against_brute_force(aaai_cases(rng, 40));
    EXPECT_GT(t.violated, 5);
    EXPECT_GT(t.holds, 5);
    EXPECT_GT(t.solver, 10);  // not all decided by the bounds alone
}

TEST(Smt, ZeroPointsGeneralRescaleAndOverflowAgreeWithBruteForce) {
    std::mt19937_64 rng(13);
    const Tally t = check_against_brute_force(exotic_cases(rng, 40));
    EXPECT_GT(t.violated, 10);
    EXPECT_GT(t.holds, 10);
    EXPECT_GT(t.solver, 30);  // not all decided by the bounds alone
}

namespace {

// One hidden layer with a neuron that ReLU always zeroes, one whose clamp never
// triggers, then the identity output.
IntNetwork dead_branch_net() {
    IntNetwork n;
    n.source = "hand";
    n.input.lo = 0;
    n.input.hi = 15;
    IntLayer h;
    h.W.resize(3, 2);
    h.W << 1, 1,   // free: sum in 0..30 (+ bias), clamped to [0, 20] on both sides
        1, 0,      // ReLU never clips, 63 never reached: both clamps dropped
        1, 1;      // always negative: stable at 0
    h.b = {-5, 0, -100};
    h.lo = 0;
    h.hi = 20;
    h.rounding = Rounding::Floor;
    IntLayer o;
    o.W.resize(2, 3);
    o.W << 1, 0, 7,
        0, 1, 0;
    o.b = {0, 0};
    n.layers = {h, o};
    n.prepare();
    return n;
}

}  // namespace

TEST(Smt, DeadBranchesAndStableNeuronsBecomeConstants) {
    IntNetwork n = dead_branch_net();
    n.layers[0].hi = 63;  // neuron 1 (x0 in 0..15) never reaches it
    n.prepare();
    IntQuery q;
    q.net = &n;
    q.lo = {0, 0};
    q.hi = {15, 15};
    q.unsafe = {{IntConstraint{{{0, 1}, {1, -1}}, -3}}};  // y0 - y1 <= -3
    const bv::Encoding e = bv::encode(q);
    EXPECT_EQ(e.stable_neurons, 1);
    // Neuron 0: the low clamp can trigger, the high one (30 - 5 < 63) cannot; neuron 1:
    // neither; the output layer has no clamps (INT64 range) so it counts none.
    EXPECT_EQ(e.dropped_clamps, 3);
    const std::string smt = bv::to_smtlib2(e);
    EXPECT_EQ(smt.find("define-fun"), std::string::npos);
    EXPECT_EQ(smt.find("get-value"), std::string::npos);
    // Inputs 0..15 are 4-bit offsets; nothing in this network needs more than 8 bits.
    EXPECT_NE(smt.find("(declare-fun x0 () (_ BitVec 4))"), std::string::npos);
    EXPECT_LE(e.max_width, 8);
    for (auto& m : back_ends(false)) {
        const Outcome o = m->run(q, Budget::seconds(10));
        if (o.reason == "boolector not installed") continue;
        EXPECT_EQ(o.verdict, brute_force_unsafe(q) ? Verdict::Violated : Verdict::Holds) << m->name();
    }
}

TEST(Smt, RadiusOneBallUsesTwoBitInputs) {
    const IntNetwork n = dead_branch_net();
    const IntQuery q = IntQuery::linf_ball(n, {7, 8}, 1, {{IntConstraint{{{1, 1}}, 6}}});  // y1 <= 6
    const bv::Encoding e = bv::encode(q);
    ASSERT_FALSE(e.decided.has_value());
    const std::string smt = bv::to_smtlib2(e);
    EXPECT_NE(smt.find("(declare-fun x0 () (_ BitVec 2))"), std::string::npos) << smt;
    EXPECT_NE(smt.find("(bvule x0 (_ bv2 2))"), std::string::npos) << smt;  // the offset is 0..2, not 0..3
    EXPECT_EQ(smt.find("x1"), std::string::npos) << "y1 does not depend on x1";
}

TEST(Smt, BoundsDecideWithoutASolver) {
    const IntNetwork n = dead_branch_net();
    IntQuery q = IntQuery::linf_ball(n, {3, 3}, 2, {{IntConstraint{{{1, 1}}, -1}}});  // y1 <= -1: never
    // No solver is needed: even a missing Boolector proves it.
    const Outcome o = make_boolector_method("/nonexistent/boolector")->run(q, Budget::seconds(5));
    EXPECT_EQ(o.verdict, Verdict::Holds);
    q.unsafe = {{IntConstraint{{{1, 1}}, 100}}};  // y1 <= 100: always
    const Outcome v = make_boolector_method("/nonexistent/boolector")->run(q, Budget::seconds(5));
    EXPECT_EQ(v.verdict, Verdict::Violated);
    EXPECT_TRUE(confirms(q, v.counterexample));
}

TEST(Smt, MissingBoolectorIsUnknown) {
    const IntNetwork n = dead_branch_net();
    const IntQuery q = IntQuery::linf_ball(n, {7, 8}, 1, {{IntConstraint{{{1, 1}}, 6}}});
    const Outcome o = make_boolector_method("/nonexistent/boolector")->run(q, Budget::seconds(5));
    EXPECT_EQ(o.verdict, Verdict::Unknown);
    EXPECT_EQ(o.reason, "boolector not installed");
}

TEST(Smt, ExpiredBudgetIsUnknown) {
    const IntNetwork n = dead_branch_net();
    const IntQuery q = IntQuery::linf_ball(n, {7, 8}, 1, {{IntConstraint{{{1, 1}}, 6}}});
    std::atomic<bool> cancel{true};
    for (auto& m : back_ends(true)) {
        const Outcome o = m->run(q, Budget::seconds(10, &cancel));
        EXPECT_EQ(o.verdict, Verdict::Unknown) << m->name();
        EXPECT_EQ(o.reason, "timeout") << m->name();
    }
}

TEST(Smt, CancelStopsEveryBackEndPromptly) {
    // A wider network and box: not instant for the solvers, though it may be decided.
    std::mt19937_64 rng(5);
    const BlockNet bn = test::random_block_net(rng, 24, {40, 40, 10});
    const QuantizedNet qn = quantize(bn, parse_scheme("aaai2021:8", bn));
    const IntNetwork& n = *qn.integer;
    std::vector<int64_t> centre(24);
    for (auto& v : centre) v = 128;
    const IntQuery q = IntQuery::linf_ball(n, centre, 60, to_integer(OutputProperty::misclassified(10, 0), n));
    for (auto& m : back_ends(false)) {
        std::atomic<bool> cancel{false};
        std::thread raiser([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            cancel = true;
        });
        const auto t0 = std::chrono::steady_clock::now();
        const Outcome o = m->run(q, Budget::seconds(60, &cancel));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        raiser.join();
        EXPECT_LT(s, 3.0) << m->name();
        EXPECT_NE(o.reason, "model did not re-check") << m->name();
        if (o.verdict == Verdict::Unknown && o.reason != "boolector not installed") {
            EXPECT_EQ(o.reason, "timeout") << m->name();
        }
    }
}

// The timings quoted in the back ends' report: one robust and one non-robust query
// of the AAAI Fashion benchmark, 60 s each. Slow, so disabled; run with
//   unit_tests --gtest_filter='*FashionAaaiQueryTimings*' --gtest_also_run_disabled_tests
TEST(Smt, DISABLED_FashionAaaiQueryTimings) {
    const std::string model = test::shared_benchmarks() + "/aaai2021/fashion-mnist_mlp.h5";
    const std::string images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(images);
    const Subject s = load_subject(model, "aaai2021:6");
    const Dataset d = read_idx(images, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    const IntNetwork& n = *s.quant->integer;
    for (const auto& [sample, expected] : {std::pair{0, Verdict::Holds}, std::pair{4, Verdict::Violated}}) {
        const std::vector<int64_t> x = n.input_from(d.raw_sample(sample), d.float_sample(sample));
        const IntQuery q = IntQuery::linf_ball(n, x, 1, to_integer(OutputProperty::misclassified(n.output_size(), d.labels[sample]), n));
        const bv::Encoding e = bv::encode(q);
        std::printf("sample %d: %zu nodes, %d stable neurons, %d dropped clamps, widest %d bits\n", sample, e.nodes.size(),
                    e.stable_neurons, e.dropped_clamps, e.max_width);
        for (bool presolve : {false, true}) {
            for (const auto& m : back_ends(presolve)) {
                const Outcome o = m->run(q, Budget::seconds(60));
                std::printf("  %-9s %-9s %-8s %7.2f s %s\n", m->name().c_str(), presolve ? "symbolic" : "intervals",
                            verdict_name(o.verdict), o.time_s, o.reason.c_str());
                std::fflush(stdout);
                EXPECT_NE(o.reason, "model did not re-check");
                if (o.verdict != Verdict::Unknown) {
                    EXPECT_EQ(o.verdict, expected) << m->name();
                }
            }
        }
    }
}
