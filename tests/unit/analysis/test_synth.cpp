// qcert synth: the robustness check against dense sampling, and the synthesized bits
// re-verified from scratch, sampled, and one bit lower per layer refuted or unproved.
#include "synth_test_data.hpp"
#include "analysis/synth_margin.hpp"
#include "qcert/error.hpp"
#include "qcert/synth.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <random>

using namespace qcert;
using namespace qcert::test;

namespace {

// Inputs of the box where the net's class differs from the label (corners, faces, inside).
int64_t sampled_violations(const BlockNet& net, const RobustProperty& p, std::mt19937_64& rng, int n) {
    int64_t bad = 0;
    std::vector<double> u(p.lo.size());
    for (int t = 0; t < n; ++t) {
        for (size_t j = 0; j < u.size(); ++j) {
            const uint64_t r = rng() % 4;
            u[j] = r == 0 ? p.lo[j] : r == 1 ? p.hi[j] : std::uniform_real_distribution<double>(p.lo[j], p.hi[j])(rng);
        }
        bad += predicted(net, u) != p.label;
    }
    return bad;
}

}  // namespace

TEST(SynthCheck, ProvedBoxesHaveNoSampledViolationAndCounterexamplesAreReal) {
    std::mt19937_64 rng(11);
    int proved = 0, refuted = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const BlockNet net = test::random_block_net(rng, test::uniform(rng, 2, 5), {test::uniform(rng, 3, 8), 3});
        const RobustProperty p = random_property(rng, net, 0.02 * double(test::uniform(rng, 1, 10)), trial);
        const PropertyCheck c = check_robust(net, p, 1.0, 5.0);
        if (c.verdict == CheckVerdict::Proved) {
            ++proved;
            EXPECT_EQ(sampled_violations(net, p, rng, 3000), 0) << "trial " << trial << " proved by " << c.method;
        } else if (c.verdict == CheckVerdict::Refuted) {
            ++refuted;
            ASSERT_TRUE(in_box(c.counterexample, p));
            EXPECT_NE(predicted(net, c.counterexample), p.label) << "trial " << trial;
        }
    }
    EXPECT_GT(proved, 10);
    EXPECT_GT(refuted, 3);
}

TEST(SynthCheck, MarginNetComputesLabelMinusOthers) {
    std::mt19937_64 rng(3);
    const BlockNet net = test::random_block_net(rng, 3, {5, 4});
    const BlockNet m = synth::margin_net(net, 2);
    const std::vector<double> u{0.1, 0.7, 0.3};
    Vec x(3);
    x << 0.1, 0.7, 0.3;
    const Vec y = net.forward(x), d = synth::margins(m, u, 1.0);
    ASSERT_EQ(d.size(), 3);
    for (int64_t r = 0; r < 3; ++r) EXPECT_NEAR(d[r], y[2] - y[synth::margin_class(r, 2)], 1e-12);
    const auto e = synth::margin_enclosure(m, u, 1.0);
    for (int64_t r = 0; r < 3; ++r) EXPECT_TRUE(e[size_t(r)].contains(d[r]));
    EXPECT_THROW(synth::margin_net(net, 4), InputError);
}

class SynthSearch : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937_64 rng(5);
        test::balanced_properties(rng, 0.05, net, props);
        o.min_bits = 2, o.max_bits = 10, o.timeout_s = 5, o.progress = false;
        o.method = "search";  // the preimage method has its own tests (test_synth_preimage.cpp)
    }
    BlockNet net;
    std::vector<RobustProperty> props;
    SynthOptions o;
};

TEST_F(SynthSearch, ResultIsReprovedFromScratchAndSampledClean) {
    const SynthResult r = synthesize(net, props, 1.0, o);
    ASSERT_EQ(r.bits.size(), 3u);
    ASSERT_GT(r.required, 0);
    EXPECT_EQ(r.proved, r.required);
    const BlockNet q = quadapter_twin(net, r.bits);
    std::mt19937_64 rng(9);
    for (size_t i = 0; i < r.kept.size(); ++i) {
        if (r.checks[i].verdict != CheckVerdict::Proved) continue;
        EXPECT_EQ(check_robust(q, r.kept[i], 1.0, 5.0).verdict, CheckVerdict::Proved) << r.kept[i].key();
        EXPECT_EQ(sampled_violations(q, r.kept[i], rng, 3000), 0) << r.kept[i].key() << " bits " << bits_str(r.bits);
    }
}

TEST_F(SynthSearch, OneBitFewerInAnyLayerLeavesARequiredPropertyUnproved) {
    const SynthResult r = synthesize(net, props, 1.0, o);
    // The required set: the kept properties proved at max bits.
    const BlockNet qmax = quadapter_twin(net, std::vector<int>(3, o.max_bits));
    std::vector<RobustProperty> required;
    for (const RobustProperty& p : r.kept)
        if (check_robust(qmax, p, 1.0, 5.0).verdict == CheckVerdict::Proved) required.push_back(p);
    ASSERT_EQ(int64_t(required.size()), r.required);
    bool some_layer_lowered = false, some_layer_above_min = false;
    for (size_t k = 0; k < 3; ++k) {
        EXPECT_LE(r.bits[k], o.max_bits);
        some_layer_lowered = some_layer_lowered || r.bits[k] < o.max_bits;
        if (r.bits[k] == o.min_bits) continue;
        some_layer_above_min = true;
        std::vector<int> fewer = r.bits;
        --fewer[k];
        const BlockNet q = quadapter_twin(net, fewer);
        bool all = true;
        for (const RobustProperty& p : required) all = all && check_robust(q, p, 1.0, 5.0).verdict == CheckVerdict::Proved;
        EXPECT_FALSE(all) << "layer " << k << " at " << bits_str(fewer) << " still proves every required property";
    }
    EXPECT_TRUE(some_layer_lowered) << bits_str(r.bits);
    EXPECT_TRUE(some_layer_above_min) << bits_str(r.bits) << ": the case is too easy to test the search";
}

TEST_F(SynthSearch, PropertyTheFloatNetViolatesIsLeftOut) {
    RobustProperty wrong = props[0];
    wrong.sample = 99;
    wrong.label = (wrong.label + 1) % 3;  // the centre goes to another class
    std::vector<RobustProperty> ps{props[1], wrong};
    const SynthResult r = synthesize(net, ps, 1.0, o);
    ASSERT_EQ(r.left_out.size(), 1u);
    EXPECT_EQ(r.left_out[0].property.sample, 99);
    EXPECT_NE(r.left_out[0].reason.find("counterexample"), std::string::npos) << r.left_out[0].reason;
    for (const RobustProperty& p : r.kept) EXPECT_NE(p.sample, 99);
}

TEST_F(SynthSearch, ResumesFromItsLog) {
    test::TempDir d;
    o.log_path = d.file("log.jsonl");
    o.threads = 1;  // which checks an early failure skips is then the same in both runs
    auto lines = [&] {
        std::ifstream f(o.log_path);
        return std::count(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>(), '\n');
    };
    const SynthResult a = synthesize(net, props, 1.0, o);
    const auto after_first = lines();
    EXPECT_GT(after_first, 8);
    const SynthResult b = synthesize(net, props, 1.0, o);
    EXPECT_EQ(a.bits, b.bits);
    EXPECT_EQ(a.proved, b.proved);
    EXPECT_EQ(lines(), after_first) << "the second run re-checked what the log already had";
}

TEST_F(SynthSearch, FixedBitsCheckAGivenStrategy) {
    const SynthResult r = synthesize(net, props, 1.0, o);
    SynthOptions fixed = o;
    fixed.fixed_bits = r.bits;
    const SynthResult same = synthesize(net, props, 1.0, fixed);
    EXPECT_EQ(same.bits, r.bits);
    EXPECT_EQ(same.candidates, 2);  // the float network and the given bits
    EXPECT_EQ(same.proved, r.proved);
    fixed.fixed_bits = std::vector<int>(3, 2);
    const SynthResult low = synthesize(net, props, 1.0, fixed);
    const BlockNet q = quadapter_twin(net, {2, 2, 2});
    for (size_t i = 0; i < low.kept.size(); ++i)
        EXPECT_EQ(low.checks[i].verdict, check_robust(q, low.kept[i], 1.0, 5.0).verdict) << low.kept[i].key();
    fixed.fixed_bits = {4, 4};
    EXPECT_THROW(synthesize(net, props, 1.0, fixed), InputError);
}

TEST_F(SynthSearch, BadInputIsAnInputError) {
    EXPECT_THROW(synthesize(net, {}, 1.0, o), InputError);
    EXPECT_THROW(synthesize(net, {props[0], props[0]}, 1.0, o), InputError);  // one key twice
    SynthOptions bad = o;
    bad.min_bits = 8, bad.max_bits = 4;
    EXPECT_THROW(synthesize(net, props, 1.0, bad), InputError);
    bad = o;
    bad.min_bits = 1;
    EXPECT_THROW(synthesize(net, props, 1.0, bad), InputError);
}
