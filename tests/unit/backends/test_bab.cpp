// Branch and bound against brute force: on small random integer networks and
// boxes, its verdict must equal full enumeration, and every counterexample must
// re-check on the exact semantics.
#include "backends/bab.hpp"
#include "qcert/bounds.hpp"
#include "unit/bounds/random_int_nets.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace qcert;
using namespace qcert::test;

namespace {

bool brute_force_violated(const IntQuery& q) {
    bool violated = false;
    for_each_point(q.lo, q.hi, [&](const std::vector<int64_t>& x) { violated = violated || confirms(q, x); });
    return violated;
}

void expect_matches_brute_force(unsigned threads, uint64_t seed, int trials) {
    std::mt19937_64 rng(seed);
    auto bab = make_bab_method(BabOptions{threads, 0});
    EXPECT_TRUE(bab->complete());
    int violated = 0, holds = 0;
    for (int trial = 0; trial < trials; ++trial) {
        const RandomNet rn = random_int_net(rng);
        IntQuery q;
        q.net = &rn.net;
        random_box(rng, rn.net, q.lo, q.hi);
        q.unsafe = random_unsafe(rng, rn.net);
        const bool truth = brute_force_violated(q);
        const Outcome o = bab->run(q, Budget::seconds(60));
        EXPECT_EQ(o.method, "bab");
        ASSERT_EQ(o.verdict, truth ? Verdict::Violated : Verdict::Holds) << rn.what << " trial " << trial << " " << o.reason;
        if (truth) {
            ASSERT_TRUE(confirms(q, o.counterexample)) << rn.what;
            ++violated;
        } else {
            ++holds;
        }
    }
    EXPECT_GT(violated, trials / 10);
    EXPECT_GT(holds, trials / 10);
}

// A wider network and a big box: too many points to enumerate quickly.
IntNetwork wide_net(std::mt19937_64& rng) {
    const BlockNet bn = random_block_net(rng, 12, {24, 16, 4});
    return *quantize(bn, parse_scheme("aaai2021:6", bn)).integer;
}

}  // namespace

TEST(Bab, VerdictEqualsBruteForceOneThread) { expect_matches_brute_force(1, 101, 400); }

TEST(Bab, VerdictEqualsBruteForceTwoThreads) { expect_matches_brute_force(2, 202, 400); }

TEST(Bab, LargerBoxesAgreeWithBruteForce) {
    // Boxes of up to 20,000 points, where pruning and splitting have real work to do.
    std::mt19937_64 rng(303);
    auto bab = make_bab_method();
    for (int trial = 0; trial < 150; ++trial) {
        const RandomNet rn = random_int_net(rng);
        IntQuery q;
        q.net = &rn.net;
        random_box(rng, rn.net, q.lo, q.hi, 20000);
        q.unsafe = random_unsafe(rng, rn.net);
        const Outcome o = bab->run(q, Budget::seconds(60));
        ASSERT_EQ(o.verdict, brute_force_violated(q) ? Verdict::Violated : Verdict::Holds) << rn.what;
    }
}

TEST(Bab, AlwaysUnsafeAndEmptyBoxes) {
    std::mt19937_64 rng(7);
    const RandomNet rn = random_int_net(rng);
    IntQuery q;
    q.net = &rn.net;
    random_box(rng, rn.net, q.lo, q.hi);
    q.unsafe = {{}};  // an empty conjunction: every input is unsafe
    Outcome o = make_bab_method()->run(q, Budget{});
    ASSERT_EQ(o.verdict, Verdict::Violated);
    EXPECT_TRUE(confirms(q, o.counterexample));
    q.unsafe = {};  // nothing is unsafe
    EXPECT_EQ(make_bab_method()->run(q, Budget{}).verdict, Verdict::Holds);
    q.hi[0] = q.lo[0] - 1;  // no input at all
    q.unsafe = {{}};
    EXPECT_EQ(make_bab_method()->run(q, Budget{}).verdict, Verdict::Holds);
}

TEST(Bab, StopsOnTheBudgetAndTheNodeLimit) {
    std::mt19937_64 rng(9);
    const IntNetwork net = wide_net(rng);
    IntQuery q;
    q.net = &net;
    q.lo.assign(12, 0);
    q.hi.assign(12, 255);
    // Unsafe when q0 - q1 reaches its interval maximum: the intervals cannot refute it,
    // and the answer needs a search of a 256^12 box.
    const IntBounds B = interval_bounds(net, q.lo, q.hi);
    IntConstraint c;  // -q0 + q1 <= -(max q0 - min q1)
    c.terms = {{0, -1}, {1, 1}};
    c.rhs = -(B.out_hi[2][0] - B.out_lo[2][1]);
    q.unsafe = {{c}};
    Budget spent;
    spent.deadline = std::chrono::steady_clock::now();
    Outcome o = make_bab_method()->run(q, spent);
    EXPECT_EQ(o.verdict, Verdict::Unknown);
    EXPECT_EQ(o.reason, "timeout");
    const auto t0 = std::chrono::steady_clock::now();
    o = make_bab_method()->run(q, Budget::seconds(0.3));
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(took, 1.5);
    if (o.verdict == Verdict::Unknown) {
        EXPECT_EQ(o.reason, "timeout");
    }
    if (o.verdict == Verdict::Violated) {
        EXPECT_TRUE(confirms(q, o.counterexample));
    }
    auto limited = make_bab_method(BabOptions{1, 3});
    EXPECT_FALSE(limited->complete());
    o = limited->run(q, Budget{});
    if (o.verdict == Verdict::Unknown) {
        EXPECT_EQ(o.reason, "node limit");
    }
}

TEST(Bab, FindsACounterexampleInAWideBox) {
    // Misclassification somewhere in a large box of a 12-input network: the minimising
    // vertices of the bounds lead to it without enumerating.
    std::mt19937_64 rng(12);
    const IntNetwork net = wide_net(rng);
    IntQuery q;
    q.net = &net;
    q.lo.assign(12, 0);
    q.hi.assign(12, 255);
    const std::vector<int64_t> centre(12, 128);
    const int64_t label = [&] {
        const auto out = net.eval(centre).out;
        return int64_t(std::max_element(out.begin(), out.end()) - out.begin());
    }();
    q.unsafe = to_integer(OutputProperty::misclassified(net.output_size(), label), net);
    const Outcome o = make_bab_method()->run(q, Budget::seconds(30));
    if (o.verdict == Verdict::Violated) {
        EXPECT_TRUE(confirms(q, o.counterexample));
    } else {
        EXPECT_EQ(o.verdict, Verdict::Holds);  // possible for a constant network, never Unknown here
    }
}
