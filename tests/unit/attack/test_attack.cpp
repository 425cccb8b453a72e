// The attack method: its counterexamples re-check, it finds most counterexamples
// that brute-force enumeration proves to exist on small random integer networks,
// it never claims Holds; incremental evaluation equals IntNetwork::eval; and on
// the AAAI 2021 Fashion-MNIST network it finds the published non-robust queries.
#include "attack/attack.hpp"
#include "attack/incremental.hpp"
#include "attack/objective.hpp"
#include "qcert/io.hpp"
#include "qcert/model.hpp"
#include "test_util.hpp"
#include "unit/bounds/random_int_nets.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

using namespace qcert;

namespace {

int64_t argmax(const std::vector<int64_t>& y) {
    return int64_t(std::max_element(y.begin(), y.end()) - y.begin());  // first maximum: ties to the lowest index
}

// A small random property: the label loses (robustness), or a random OR of ANDs.
IntUnsafe random_unsafe(std::mt19937_64& rng, const IntNetwork& net, const std::vector<int64_t>& centre) {
    const int64_t m = net.output_size();
    if (rng() % 3 != 0) return to_integer(OutputProperty::misclassified(m, argmax(net.eval(centre).out)), net);
    IntUnsafe u;
    const std::vector<int64_t> y = net.eval(centre).out;
    for (int d = 0, nd = 1 + int(rng() % 3); d < nd; ++d) {
        std::vector<IntConstraint> conj;
        for (int k = 0, nk = 1 + int(rng() % 2); k < nk; ++k) {
            IntConstraint c;
            int64_t s = 0;
            for (int64_t i = 0; i < m; ++i)
                if (rng() % 2) {
                    const int64_t a = int64_t(rng() % 7) - 3;
                    c.terms.push_back({i, a});
                    s += a * y[i];
                }
            c.rhs = s - 1 - int64_t(rng() % 3);  // not met at the centre
            conj.push_back(c);
        }
        u.push_back(conj);
    }
    return u;
}

const char* kSchemes[] = {"aaai2021:4", "aaai2021:6", "aaai2021:8", "qebverif:6", "fixed:w=s4.3,b=s4.2,a=u4.2,o=s6.2,i=u4.0,raw",
                          "fixed:w=s6.4,b=s6.4,a=u6.3,i=u5.1,raw,round=floor", "fixed:w=s5.3,b=s8.4,a=s6.2,i=u4.0,raw,acc=12"};

}  // namespace

TEST(Attack, IncrementalEvaluationEqualsFullEvaluation) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 60; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3 + int(rng() % 6), {2 + int(rng() % 6), 2 + int(rng() % 5), 3}, 0.6);
        const QuantizedNet qn = quantize(net, parse_scheme(kSchemes[trial % std::size(kSchemes)], net));
        const IntNetwork& in = *qn.integer;
        std::vector<int64_t> x(static_cast<size_t>(in.input_size()));
        for (auto& v : x) v = in.input.lo + int64_t(rng() % uint64_t(in.input.hi - in.input.lo + 1));
        attack::IncrementalNet inc(in);
        inc.reset(x);
        ASSERT_EQ(inc.output(), in.eval(x).out);
        for (int move = 0; move < 200; ++move) {
            const int64_t j = int64_t(rng() % x.size());
            x[j] = in.input.lo + int64_t(rng() % uint64_t(in.input.hi - in.input.lo + 1));
            inc.set(j, x[j]);
            ASSERT_EQ(inc.output(), in.eval(x).out) << "trial " << trial << " move " << move;
        }
    }
}

TEST(Attack, ViolationMarginMatchesIsUnsafe) {
    const IntUnsafe u = {{{{{0, 1}, {1, -1}}, -1}}, {{{{2, 1}}, 5}, {{{0, -1}}, -3}}, {}};
    EXPECT_LE(attack::violation_margin(u, {0, 0, 0}), 0);  // the empty disjunct is always met
    const IntUnsafe v(u.begin(), u.begin() + 2);
    for (int64_t a = -4; a <= 4; ++a)
        for (int64_t b = -4; b <= 4; ++b)
            for (int64_t c = 3; c <= 7; ++c) {
                const std::vector<int64_t> q = {a, b, c};
                EXPECT_EQ(attack::violation_margin(v, q) <= 0, is_unsafe(v, q));
            }
    EXPECT_GT(attack::violation_margin({}, {1, 2, 3}), 0);  // nothing is unsafe
}

TEST(Attack, FindsMostCounterexamplesThatEnumerationFindsAndTheyConfirm) {
    std::mt19937_64 rng(2021);
    int violated = 0, found = 0, safe = 0;
    for (int trial = 0; trial < 400; ++trial) {
        // Most boxes are tiny; one query in four has 7 to 9 inputs (3^9 points at most).
        const bool wide = trial % 4 == 3;
        const int in = wide ? 7 + int(rng() % 3) : 2 + int(rng() % 4);
        const BlockNet net = test::random_block_net(rng, in, {3 + int(rng() % 6), 2 + int(rng() % 5), 2 + int(rng() % 3)}, 0.6);
        const QuantizedNet qn = quantize(net, parse_scheme(kSchemes[trial % std::size(kSchemes)], net));
        const IntNetwork& inet = *qn.integer;
        std::vector<int64_t> centre(static_cast<size_t>(in));
        for (auto& v : centre) v = inet.input.lo + int64_t(rng() % uint64_t(inet.input.hi - inet.input.lo + 1));
        const int64_t eps = wide ? 1 : 1 + int64_t(rng() % (in <= 3 ? 4 : 2));
        const IntQuery q = IntQuery::linf_ball(inet, centre, eps, random_unsafe(rng, inet, centre));
        const bool truth = test::for_each_point(q.lo, q.hi, [&](const std::vector<int64_t>& x) { return is_unsafe(q.unsafe, inet.eval(x).out); });
        AttackOptions opt;
        opt.max_evals = 500;
        opt.seed = uint64_t(trial);
        const Outcome o = make_attack_method(opt)->run(q, Budget::seconds(10));
        ASSERT_NE(o.verdict, Verdict::Holds);
        EXPECT_EQ(o.method, "attack");
        if (o.verdict == Verdict::Violated) {
            ASSERT_TRUE(truth) << "trial " << trial;
            ASSERT_TRUE(confirms(q, o.counterexample)) << "trial " << trial;
            ++found;
        } else {
            EXPECT_EQ(o.reason, "incomplete: no counterexample found");
        }
        truth ? ++violated : ++safe;
    }
    std::printf("attack on small random networks: %d of %d violated queries found (%d safe)\n", found, violated, safe);
    ASSERT_GE(violated, 50);
    ASSERT_GE(safe, 50);
    EXPECT_GE(found * 100, violated * 85);
}

TEST(Attack, DeterministicForASeed) {
    std::mt19937_64 rng(5);
    const BlockNet net = test::random_block_net(rng, 6, {8, 4}, 0.6);
    const QuantizedNet qn = quantize(net, parse_scheme("aaai2021:6", net));
    std::vector<int64_t> centre = {10, 200, 128, 40, 90, 250};
    const IntQuery q = IntQuery::linf_ball(*qn.integer, centre, 30,
                                           to_integer(OutputProperty::misclassified(4, argmax(qn.integer->eval(centre).out)), *qn.integer));
    AttackStats a, b;
    const Outcome oa = run_attack(q, Budget{}, AttackOptions{}, &a);
    const Outcome ob = run_attack(q, Budget{}, AttackOptions{}, &b);
    EXPECT_EQ(oa.verdict, ob.verdict);
    EXPECT_EQ(oa.counterexample, ob.counterexample);
    EXPECT_EQ(a.evals, b.evals);
}

TEST(Attack, GivesUpWithinItsEvaluationBudget) {
    std::mt19937_64 rng(3);
    const BlockNet net = test::random_block_net(rng, 4, {5, 3}, 0.6);
    const QuantizedNet qn = quantize(net, parse_scheme("aaai2021:6", net));
    const std::vector<int64_t> centre = {100, 100, 100, 100};
    IntQuery q = IntQuery::linf_ball(*qn.integer, centre, 2, {{{{{0, 0}}, -1}}});  // 0 * y <= -1: never met
    AttackOptions opt;
    opt.max_evals = 300;
    AttackStats st;
    const Outcome o = run_attack(q, Budget{}, opt, &st);
    EXPECT_EQ(o.verdict, Verdict::Unknown);
    EXPECT_LE(st.evals, 300);
    q.unsafe.clear();  // an empty unsafe set: nothing to find, answered at once
    EXPECT_EQ(run_attack(q, Budget{}, opt, &st).verdict, Verdict::Unknown);
    EXPECT_EQ(st.evals, 0);
}

TEST(Attack, StopsWhenCancelledAndIsNamedIncomplete) {
    std::mt19937_64 rng(11);
    const BlockNet net = test::random_block_net(rng, 8, {6, 3}, 0.6);
    const QuantizedNet qn = quantize(net, parse_scheme("aaai2021:6", net));
    const std::vector<int64_t> centre(8, 100);
    const IntQuery q = IntQuery::linf_ball(*qn.integer, centre, 3, {{{{{0, 0}}, -1}}});  // never met
    std::atomic<bool> cancel{true};
    AttackStats st;
    EXPECT_EQ(run_attack(q, Budget::seconds(100, &cancel), AttackOptions{}, &st).verdict, Verdict::Unknown);
    EXPECT_LE(st.evals, 16);  // the clock and the flag are read every 16 evaluations
    const auto m = make_attack_method();
    EXPECT_EQ(m->name(), "attack");
    EXPECT_FALSE(m->complete());
    // A disjunct without constraints is always met: the first point is a counterexample.
    IntQuery always = q;
    always.unsafe.push_back({});
    const Outcome o = m->run(always, Budget::seconds(10));
    EXPECT_EQ(o.verdict, Verdict::Violated);
    EXPECT_TRUE(confirms(always, o.counterexample));
}

// The published non-robust queries of the AAAI 2021 Fashion benchmark
// (../shared/benchmarks/README.md): the attack should find them, fast.
TEST(Attack, FindsKnownNonRobustFashionQueries) {
    const std::string model = test::shared_benchmarks() + "/aaai2021/fashion-mnist_mlp.h5";
    const std::string images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const std::string labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(images);
    QCERT_REQUIRE_FILE(labels);
    const Subject s = load_subject(model, "aaai2021:6");
    const Dataset d = read_idx(images, labels);
    const IntNetwork& net = *s.quant->integer;
    const std::vector<std::pair<int, int>> known = {
        {4, 1},   {28, 1},  {42, 1},  {73, 1},  {117, 2}, {135, 2}, {136, 2}, {151, 2}, {166, 2}, {219, 3}, {227, 3},
        {248, 3}, {311, 4}, {312, 4}, {313, 4}, {315, 4}, {320, 4}, {337, 4}};
    int found = 0;
    double total = 0, worst = 0;
    for (const auto& [i, eps] : known) {
        const std::vector<int64_t> x = net.input_from(d.raw_sample(i), d.float_sample(i));
        ASSERT_EQ(argmax(net.eval(x).out), d.labels[i]) << "sample " << i << " should be classified correctly";
        const IntQuery q = IntQuery::linf_ball(net, x, eps, to_integer(OutputProperty::misclassified(net.output_size(), d.labels[i]), net));
        AttackStats st;
        const Outcome o = run_attack(q, Budget::seconds(30), AttackOptions{}, &st);
        ASSERT_NE(o.verdict, Verdict::Holds);
        if (o.verdict == Verdict::Violated) {
            ASSERT_TRUE(confirms(q, o.counterexample));
            ++found;
        }
        total += o.time_s;
        worst = std::max(worst, o.time_s);
        std::printf("  sample %3d eps %d: %-8s %7.1f ms  %6lld evals  phase %-5s  margin %g\n", i, eps, verdict_name(o.verdict),
                    o.time_s * 1e3, (long long)st.evals, st.phase.c_str(), st.best_margin);
    }
    std::printf("attack on the known non-robust Fashion queries: %d of %zu found, mean %.1f ms, max %.1f ms\n", found,
                known.size(), total / double(known.size()) * 1e3, worst * 1e3);
    EXPECT_EQ(found, int(known.size()));

    // Robust queries (every correctly classified sample not listed above): the
    // attack must give up within its evaluation budget, and quickly.
    const std::vector<std::pair<int, int>> robust = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {5, 1}, {300, 4}, {301, 4}, {302, 4}, {303, 4}, {304, 4}};
    total = 0;
    worst = 0;
    for (const auto& [i, eps] : robust) {
        const std::vector<int64_t> x = net.input_from(d.raw_sample(i), d.float_sample(i));
        const IntQuery q = IntQuery::linf_ball(net, x, eps, to_integer(OutputProperty::misclassified(net.output_size(), d.labels[i]), net));
        AttackStats st;
        const Outcome o = run_attack(q, Budget::seconds(30), AttackOptions{}, &st);
        EXPECT_EQ(o.verdict, Verdict::Unknown) << "sample " << i;
        EXPECT_LE(st.evals, AttackOptions{}.max_evals);
        total += o.time_s;
        worst = std::max(worst, o.time_s);
    }
    std::printf("attack on %zu robust Fashion queries: gives up after mean %.1f ms, max %.1f ms\n", robust.size(),
                total / double(robust.size()) * 1e3, worst * 1e3);
}
