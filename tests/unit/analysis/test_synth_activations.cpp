// Fixed-point hidden activations on real-valued networks (quadapter:B1,...,Bn,a=F1,...): the
// semantics, the sound checker against dense sampling of the exact network, the QDQ read-back.
#include "synth_test_data.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "qcert/synth.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;
using test::predicted;

TEST(ActQuant, RoundsToNearestTiesToEvenAndSaturates) {
    EXPECT_EQ(round_half_even(2.5), 2.0);
    EXPECT_EQ(round_half_even(3.5), 4.0);
    EXPECT_EQ(round_half_even(-2.5), -2.0);
    EXPECT_EQ(round_half_even(-0.5), 0.0);
    EXPECT_EQ(round_half_even(1.25), 1.0);
    std::mt19937_64 rng(1);
    const BlockNet net = test::random_block_net(rng, 3, {4, 2});
    const QuantizedNet q = quantize(net, parse_scheme("quadapter:8,8,a=u4.2", net));
    const Block& b = q.real.blocks[0];
    EXPECT_EQ(b.out_step, 0.25);
    EXPECT_EQ(b.out_min, 0.0);
    EXPECT_EQ(b.out_max, 3.75);
    EXPECT_FALSE(q.real.blocks[1].quantized_output());  // the output layer stays real
    EXPECT_EQ(b.quantize_output(0.125), 0.0);    // tie: to the even multiple 0
    EXPECT_EQ(b.quantize_output(0.375), 0.5);    // tie: to 2 * 0.25
    EXPECT_EQ(b.quantize_output(0.3), 0.25);
    EXPECT_EQ(b.quantize_output(100.0), 3.75);   // saturation
    EXPECT_EQ(b.quantize_output(-1.0), 0.0);
    // The layer's outputs: ReLU, then the rounding, exactly as Block::activate computes them.
    for (int t = 0; t < 20; ++t) {
        const Vec x = Vec::Random(3);
        const Vec z = b.W * x + b.b;
        const Vec h = b.activate(z);
        for (int64_t i = 0; i < z.size(); ++i)
            EXPECT_EQ(h[i], std::min(3.75, round_half_even(std::max(z[i], 0.0) * 4) / 4));
    }
}

TEST(ActQuant, SchemeErrors) {
    std::mt19937_64 rng(2);
    const BlockNet net = test::random_block_net(rng, 3, {4, 4, 2});
    EXPECT_THROW(parse_scheme("quadapter:8,8,8,a=u4.2,u4.2,u4.2", net), InputError);  // 3 formats, 2 hidden layers
    EXPECT_THROW(parse_scheme("quadapter:8,8,8,a=x4", net), InputError);
    EXPECT_THROW(parse_scheme("quadapter:a=u4.2", net), InputError);
    const Scheme s = parse_scheme("quadapter:8,a=u6.3", net);  // one width and one format for all
    ASSERT_EQ(s.layers.size(), 3u);
    EXPECT_EQ(s.layers[1].activation->str(), "u6.3");
    EXPECT_FALSE(s.layers[2].activation.has_value());
    // The scheme file says the same and is read back the same.
    test::TempDir dir;
    const std::string path = dir.file("s.json");
    {
        std::ofstream f(path);
        f << scheme_to_json(s);
    }
    const QuantizedNet a = quantize(net, s), b = quantize(net, read_scheme_json(path, net));
    for (int t = 0; t < 20; ++t) {
        const Vec x = Vec::Random(3);
        EXPECT_EQ(a.real.forward(x), b.real.forward(x));
    }
}

namespace {

// Dense sampling of the exact twin over the box: any input it misclassifies.
bool sampled_violation(std::mt19937_64& rng, const BlockNet& twin, const BoxProperty& p, int n) {
    for (int t = 0; t < n; ++t)
        if (predicted(twin, test::random_point(rng, p.lo, p.hi)) != p.label) return true;
    return false;
}

}  // namespace

// The checker treats the rounding as bounded noise (linear bounds) and re-checks its
// counterexamples in interval arithmetic that brackets the rounding: "proved" is never
// contradicted by the exact network, and a refutation is an input the exact network misclassifies.
TEST(ActQuant, CheckerIsSoundAgainstDenseSampling) {
    std::mt19937_64 rng(3);
    int proved = 0, refuted = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const BlockNet net = test::random_block_net(rng, 3, {6, 5, 3});
        const int A = 2 + int(rng() % 5), F = int(rng() % 4);
        const std::string spec = fmt::format("quadapter:{},{},{},a=u{}.{}", 4 + rng() % 6, 4 + rng() % 6, 4 + rng() % 6, A, F);
        const BlockNet twin = quantize(net, parse_scheme(spec, net)).real;
        ASSERT_TRUE(twin.quantized_activations());
        for (int k = 0; k < 3; ++k) {
            const RobustProperty p = test::random_property(rng, net, 0.02 + 0.1 * double(rng() % 3), k);
            const PropertyCheck c = check_property(twin, p, 2.0);
            if (c.verdict == CheckVerdict::Proved) {
                ++proved;
                EXPECT_FALSE(sampled_violation(rng, twin, p, 3000)) << spec << " property " << k;
            } else if (c.verdict == CheckVerdict::Refuted) {
                ++refuted;
                ASSERT_TRUE(test::in_box(c.counterexample, p));
                EXPECT_NE(predicted(twin, c.counterexample), p.label) << spec;
                EXPECT_TRUE(certainly_unsafe(twin, p, c.counterexample));
            }
        }
    }
    EXPECT_GT(proved, 10);
    EXPECT_GT(refuted, 3);
}

// The differential bounds of a twin with quantized activations enclose its exact outputs.
TEST(ActQuant, BoundsEncloseTheExactTwin) {
    std::mt19937_64 rng(4);
    for (int trial = 0; trial < 20; ++trial) {
        const BlockNet net = test::random_block_net(rng, 4, {7, 5, 3});
        const BlockNet twin = quantize(net, parse_scheme(fmt::format("quadapter:6,a=u{}.{}", 3 + rng() % 4, rng() % 4), net)).real;
        const ErrPair pair = make_err_pair(net, twin);
        std::vector<double> lo(4), hi(4);
        for (int j = 0; j < 4; ++j) lo[size_t(j)] = -0.5 + 0.1 * double(rng() % 5), hi[size_t(j)] = lo[size_t(j)] + 0.3;
        const DiffBound d = diff_bound(pair, lo, hi);
        for (int t = 0; t < 500; ++t) {
            const std::vector<double> u = test::random_point(rng, lo, hi);
            const Vec diff = twin.forward(test::to_vec(u)) - net.forward(test::to_vec(u));
            const Vec g = twin.forward(test::to_vec(u));
            for (int64_t i = 0; i < 3; ++i) {
                EXPECT_LE(d.lo[size_t(i)], diff[i]);
                EXPECT_GE(d.hi[size_t(i)], diff[i]);
                EXPECT_LE(d.zg_lo.back()[i], g[i]);
                EXPECT_GE(d.zg_hi.back()[i], g[i]);
            }
        }
    }
    // The reference side takes no rounding noise: a twin with quantized activations is refused there.
    const BlockNet net = test::random_block_net(rng, 2, {3, 2});
    const BlockNet twin = quantize(net, parse_scheme("quadapter:6,a=u4.2", net)).real;
    EXPECT_THROW(make_err_pair(twin, net), InputError);
}

// The QDQ model of a twin with quantized activations reads back as the same function, bit for bit.
TEST(ActQuant, QdqModelReadsBackBitExact) {
    std::mt19937_64 rng(5);
    test::TempDir dir;
    for (int trial = 0; trial < 6; ++trial) {
        const BlockNet net = test::random_block_net(rng, 5, {7, 6, 3});
        const std::vector<int> bits{2 + int(rng() % 7), 4 + int(rng() % 13), 9 + int(rng() % 20)};
        const std::vector<FixedFormat> acts{{false, 2 + int(rng() % 14), int(rng() % 6)}, {false, 2 + int(rng() % 6), 2}};
        const Scheme s = parse_scheme(quadapter_spec(bits, acts), net);
        const BlockNet twin = quantize(net, s).real;
        const std::string path = dir.file("a" + std::to_string(trial) + ".onnx");
        write_onnx_qdq(twin, s, path);
        const LoadedModel back = read_onnx(path);
        EXPECT_FALSE(back.qdq.has_value());  // a float model with fake-quantized activations
        const BlockNet b = to_blocks(back.net);
        ASSERT_EQ(b.blocks.size(), 3u);
        for (size_t k = 0; k < 3; ++k) {
            EXPECT_EQ(b.blocks[k].W, twin.blocks[k].W);
            EXPECT_EQ(b.blocks[k].b, twin.blocks[k].b);
            EXPECT_EQ(b.blocks[k].out_step, twin.blocks[k].out_step) << k;
        }
        for (int t = 0; t < 200; ++t) {
            const Vec x = Vec::Random(5) * 3;
            const Vec y1 = b.forward(x), y2 = twin.forward(x), y3 = back.net.forward(x);
            for (int64_t i = 0; i < y1.size(); ++i) {
                EXPECT_EQ(y1[i], y2[i]);
                EXPECT_EQ(y3[i], y2[i]);
            }
        }
    }
    // A plain double-precision ONNX model cannot hold them.
    const BlockNet net = test::random_block_net(rng, 3, {3, 2});
    EXPECT_THROW(write_onnx(to_network(quantize(net, parse_scheme("quadapter:8,a=u4.2", net)).real), dir.file("p.onnx")),
                 InputError);
}

// synthesize with --activations: the answer's twin rounds its hidden outputs, every required
// property is proved on it, and dense sampling of the exact twin agrees.
TEST(ActQuant, SynthesisWithActivationsIsCertified) {
    std::mt19937_64 rng(6);
    BlockNet net;
    std::vector<RobustProperty> props;
    test::balanced_properties(rng, 0.03, net, props);
    SynthOptions o;
    o.min_bits = 2, o.max_bits = 10, o.timeout_s = 2, o.progress = false, o.activations = true;
    const SynthResult r = synthesize(net, props, o);
    ASSERT_EQ(r.act_bits.size(), 2u);
    ASSERT_EQ(r.act_formats.size(), 2u);
    EXPECT_EQ(r.method, "search");
    EXPECT_TRUE(r.quantized.quantized_activations());
    EXPECT_EQ(r.proved, r.required);
    for (size_t i = 0; i < r.kept.size(); ++i) {
        const PropertyCheck again = check_property(r.quantized, r.kept[i], 5.0);  // from scratch
        if (r.checks[i].verdict != CheckVerdict::Proved) continue;
        EXPECT_EQ(again.verdict, CheckVerdict::Proved);
        EXPECT_FALSE(sampled_violation(rng, r.quantized, r.kept[i], 2000));
    }
    // Given widths are kept as given.
    o.activations = false, o.act_bits = {5};
    const SynthResult g = synthesize(net, props, o);
    EXPECT_EQ(g.act_bits, (std::vector<int>{5, 5}));
    // Bad options.
    o.method = "preimage";
    EXPECT_THROW(synthesize(net, props, o), InputError);
    o.method = "best", o.act_bits = {5, 5, 5};
    EXPECT_THROW(synthesize(net, props, o), InputError);
    o.act_bits = {}, o.activations = true, o.fixed_bits = {6, 6, 6};
    EXPECT_THROW(synthesize(net, props, o), InputError);  // --bits needs --act-bits
}

// The log refuses another network, and a property of the same key with another box.
TEST(SynthLog, RefusesAnotherModelOrProperty) {
    std::mt19937_64 rng(7);
    test::TempDir dir;
    BlockNet net;
    std::vector<RobustProperty> props;
    test::balanced_properties(rng, 0.03, net, props);
    SynthOptions o;
    o.min_bits = 4, o.max_bits = 8, o.timeout_s = 1, o.progress = false, o.method = "search";
    o.log_path = dir.file("results.jsonl");
    const SynthResult r = synthesize(net, props, o);
    EXPECT_EQ(synthesize(net, props, o).bits, r.bits);  // resumed from the log
    BlockNet other = net;
    other.blocks[0].b[0] += 0.5;
    EXPECT_THROW(synthesize(other, props, o), InputError);
    std::vector<RobustProperty> moved = props;
    for (double& v : moved[0].lo) v += 0.001;
    EXPECT_THROW(synthesize(net, moved, o), InputError);
}

// The preimage method's choice is logged and taken from the log on a re-run (not chosen again).
TEST(SynthLog, PreimageChoiceIsResumed) {
    std::mt19937_64 rng(8);
    test::TempDir dir;
    BlockNet net;
    std::vector<RobustProperty> props;
    test::balanced_properties(rng, 0.03, net, props);
    SynthOptions o;
    o.min_bits = 3, o.max_bits = 10, o.timeout_s = 1, o.progress = false, o.method = "preimage";
    o.log_path = dir.file("results.jsonl");
    const SynthResult a = synthesize(net, props, o);
    const SynthResult b = synthesize(net, props, o);
    ASSERT_EQ(a.answers.size(), 1u);
    ASSERT_EQ(b.answers.size(), 1u);
    EXPECT_EQ(a.answers[0].bits, b.answers[0].bits);
    EXPECT_EQ(a.answers[0].note, b.answers[0].note);
    EXPECT_EQ(a.answers[0].time_s, b.answers[0].time_s);  // the logged choice, not a new one
    EXPECT_NE(test::read_file(o.log_path).find("\"key\":\"preimage|"), std::string::npos);
}
