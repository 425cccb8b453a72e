// qcert synth's property kinds (backdoor, VNN-LIB) against dense sampling, the memory
// cost, the QDQ ONNX output read back, and qcert verify's real checker.
#include "synth_test_data.hpp"
#include "qcert/error.hpp"
#include "qcert/real_verify.hpp"
#include "qcert/synth.hpp"
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;
using namespace qcert::test;

namespace {

std::vector<double> random_point(std::mt19937_64& rng, const BoxProperty& p) { return test::random_point(rng, p.lo, p.hi); }

// A box around a random point of [0, 1]^n with some inputs fixed (a trigger), target T.
BoxProperty random_backdoor(std::mt19937_64& rng, int64_t n, int64_t target, double r) {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    BoxProperty p;
    p.kind = PropertyKind::Backdoor;
    p.label = target, p.radius = r;
    for (int64_t j = 0; j < n; ++j) {
        const double c = U(rng);
        p.lo.push_back(std::max(0.0, c - r)), p.hi.push_back(std::min(1.0, c + r));
    }
    p.lo[0] = p.hi[0] = 1.0;  // the trigger
    return p;
}

}  // namespace

TEST(SynthBackdoor, ProvedBoxesNeverReachTheTargetAndCounterexamplesDo) {
    std::mt19937_64 rng(21);
    int proved = 0, refuted = 0;
    for (int trial = 0; trial < 60; ++trial) {
        const BlockNet net = test::random_block_net(rng, test::uniform(rng, 2, 5), {test::uniform(rng, 3, 8), 3});
        BoxProperty p = random_backdoor(rng, net.input_size(), test::uniform(rng, 0, 2), 0.03 * double(test::uniform(rng, 1, 8)));
        p.sample = trial;
        const PropertyCheck c = check_property(net, p, 5.0);
        if (c.verdict == CheckVerdict::Proved) {
            ++proved;
            for (int t = 0; t < 3000; ++t) ASSERT_NE(predicted(net, random_point(rng, p)), p.label) << "trial " << trial;
        } else if (c.verdict == CheckVerdict::Refuted) {
            ++refuted;
            ASSERT_TRUE(in_box(c.counterexample, p));
            EXPECT_EQ(predicted(net, c.counterexample), p.label) << "trial " << trial;
            EXPECT_TRUE(certainly_unsafe(net, p, c.counterexample));
        }
    }
    EXPECT_GT(proved, 5);
    EXPECT_GT(refuted, 5);
}

TEST(SynthBackdoor, PropertiesStampTheTriggerAndSkipTheTargetsSamples) {
    Dataset d;
    d.source = "toy";
    d.sample_shape = {1, 3, 4};
    d.integral = true;
    d.float_scale = 1.0 / 255;
    d.raw.assign(2 * 12, 100.0);
    d.labels = {0, 2};
    const auto props = backdoor_properties(d, {0, 1}, {3}, parse_trigger("2,3=255; 0,0=0"), 2, 3);
    ASSERT_EQ(props.size(), 1u);  // sample 1 has the target label
    const BoxProperty& p = props[0];
    EXPECT_EQ(p.key(), "bd_s0_r3");
    EXPECT_EQ(p.divisor, 255.0);
    EXPECT_EQ(p.lo[11], 255.0);
    EXPECT_EQ(p.hi[11], 255.0);
    EXPECT_EQ(p.lo[0], 0.0);
    EXPECT_EQ(p.hi[0], 0.0);
    EXPECT_EQ(p.lo[5], 97.0);
    EXPECT_EQ(p.hi[5], 103.0);
    EXPECT_THROW(backdoor_properties(d, {0}, {1}, parse_trigger("3,0=1"), 2, 3), InputError);   // row outside
    EXPECT_THROW(backdoor_properties(d, {0}, {1}, parse_trigger("0,4=1"), 2, 3), InputError);   // column outside
    EXPECT_THROW(backdoor_properties(d, {0}, {1}, parse_trigger("0,0=300"), 2, 3), InputError); // value outside
    EXPECT_THROW(backdoor_properties(d, {0}, {1}, parse_trigger("0,0=1"), 3, 3), InputError);   // no such class
    EXPECT_THROW(parse_trigger("1;2"), InputError);
    EXPECT_THROW(parse_trigger(""), InputError);
}

TEST(SynthVnnlib, PropertiesFromAFileAreCheckedSoundly) {
    // y0 - y1 >= 2 over the box is the unsafe set; checked on random nets against sampling.
    std::mt19937_64 rng(4);
    test::TempDir dir;
    int proved = 0, refuted = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const BlockNet net = test::random_block_net(rng, 2, {test::uniform(rng, 3, 6), 2});
        const double t = 0.25 * double(test::uniform(rng, 0, 8));
        const std::string path = dir.file("p" + std::to_string(trial) + ".vnnlib");
        std::ofstream(path) << "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
                               "(declare-const Y_1 Real)\n(assert (>= X_0 0.1))\n(assert (<= X_0 0.6))\n"
                               "(assert (>= X_1 -0.2))\n(assert (<= X_1 0.3))\n"
                            << "(assert (>= (- Y_0 Y_1) " << t << "))\n";
        const auto props = vnnlib_properties(path, read_vnnlib(path));
        ASSERT_EQ(props.size(), 1u);
        EXPECT_EQ(props[0].key(), "p" + std::to_string(trial));
        const PropertyCheck c = check_property(net, props[0], 5.0);
        auto gap = [&](const std::vector<double>& u) {
            Vec x(2);
            x << u[0], u[1];
            const Vec y = net.forward(x);
            return y[0] - y[1];
        };
        if (c.verdict == CheckVerdict::Proved) {
            ++proved;
            for (int k = 0; k < 2000; ++k) ASSERT_LT(gap(random_point(rng, props[0])), t) << trial;
        } else if (c.verdict == CheckVerdict::Refuted) {
            ++refuted;
            ASSERT_TRUE(in_box(c.counterexample, props[0]));
            EXPECT_GE(gap(c.counterexample), t) << trial;
        }
    }
    EXPECT_GT(proved, 3);
    EXPECT_GT(refuted, 3);
}

TEST(SynthCost, MemoryWeighsBitsByParameters) {
    std::mt19937_64 rng(2);
    const BlockNet net = test::random_block_net(rng, 4, {8, 3});  // 40 and 27 parameters
    EXPECT_EQ(synth_cost(net, {6, 3}, SynthCost::Bits), 9);
    EXPECT_EQ(synth_cost(net, {6, 3}, SynthCost::Memory), 6 * 40 + 3 * 27);
}

TEST(SynthQdq, WrittenModelReadsBackAsTheTwinExactly) {
    std::mt19937_64 rng(8);
    test::TempDir dir;
    for (int trial = 0; trial < 6; ++trial) {
        const BlockNet net = test::random_block_net(rng, 5, {7, 6, 3});
        const std::vector<int> bits{2 + int(rng() % 7), 4 + int(rng() % 13), 9 + int(rng() % 20)};
        const BlockNet twin = quadapter_twin(net, bits);
        const std::string path = dir.file("q" + std::to_string(trial) + ".onnx");
        write_onnx_qdq(twin, parse_scheme("quadapter:" + bits_str(bits), net), path);
        const LoadedModel back = read_onnx(path);
        EXPECT_FALSE(back.qdq.has_value());  // weights only: no integer path
        const BlockNet b = to_blocks(back.net);
        ASSERT_EQ(b.blocks.size(), 3u);
        for (size_t k = 0; k < 3; ++k) {
            EXPECT_EQ(b.blocks[k].W, twin.blocks[k].W) << bits_str(bits) << " layer " << k;
            EXPECT_EQ(b.blocks[k].b, twin.blocks[k].b) << bits_str(bits) << " layer " << k;
        }
        for (int t = 0; t < 50; ++t) {
            const Vec x = Vec::Random(5);
            const Vec y1 = back.net.forward(x), y2 = twin.forward(x);
            for (int64_t i = 0; i < y1.size(); ++i) EXPECT_EQ(y1[i], y2[i]);
        }
    }
    // Parameters off the format's grid are refused.
    const BlockNet net = test::random_block_net(rng, 3, {2});
    EXPECT_THROW(write_onnx_qdq(net, parse_scheme("quadapter:4", net), dir.file("bad.onnx")), InputError);
}

TEST(RealVerify, AgreesWithTheSynthCheckAndSkipsMisclassifiedSamples) {
    std::mt19937_64 rng(6);
    const BlockNet net = test::random_block_net(rng, 4, {6, 3});
    Dataset d;
    d.source = "toy";
    d.sample_shape = {4};
    d.integral = true;
    d.float_scale = 1.0 / 255;
    for (int i = 0; i < 8 * 4; ++i) d.raw.push_back(double(rng() % 256));
    for (int i = 0; i < 8; ++i) {
        Vec x(4);
        for (int j = 0; j < 4; ++j) x[j] = d.raw[size_t(i * 4 + j)] / 255.0;
        d.labels.push_back(int(argmax(net.forward(x))));
    }
    d.labels[7] = (d.labels[7] + 1) % 3;  // misclassified
    int holds = 0;
    for (int64_t i = 0; i < 8; ++i) {
        const RealRobustness r = verify_robustness_real(net, d, i, 6, 5.0);
        if (i == 7) {
            EXPECT_EQ(r.result.outcome.verdict, Verdict::Misclassified);
            continue;
        }
        const PropertyCheck c = check_property(net, robust_properties(d, {i}, {6}).front(), 5.0);
        const Verdict want = c.verdict == CheckVerdict::Proved ? Verdict::Holds
                             : c.verdict == CheckVerdict::Refuted ? Verdict::Violated
                                                                  : Verdict::Unknown;
        EXPECT_EQ(r.result.outcome.verdict, want) << i;
        holds += want == Verdict::Holds;
        if (want == Verdict::Violated) {
            EXPECT_NE(predicted(net, r.counterexample, 255.0), d.labels[size_t(i)]);
        }
    }
    EXPECT_GT(holds, 0);
}
