// Integer inference against a brute-force reference written from the definition
// of fixed-point arithmetic, independently of src/quant: parameters rounded with
// floor + tie test in long double, accumulators as integers over a common power
// of two, rescaling with arithmetic shifts.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

using i128 = __int128;

const Rounding kModes[] = {Rounding::HalfUp, Rounding::HalfAway, Rounding::HalfEven, Rounding::HalfDown,
                           Rounding::Floor,  Rounding::Ceil,     Rounding::TowardZero};

// floor(v) and whether v sits exactly half-way, applied to a mode.
i128 apply_mode(i128 fl, bool exact, bool tie, bool above_half, bool negative_value, Rounding r) {
    if (exact) return fl;
    switch (r) {
        case Rounding::Floor: return fl;
        case Rounding::Ceil: return fl + 1;
        case Rounding::TowardZero: return negative_value ? fl + 1 : fl;
        default: break;
    }
    if (!tie) return above_half ? fl + 1 : fl;
    switch (r) {
        case Rounding::HalfUp: return fl + 1;
        case Rounding::HalfDown: return fl;
        case Rounding::HalfAway: return negative_value ? fl : fl + 1;
        case Rounding::HalfEven: return (fl & 1) ? fl + 1 : fl;
        default: return fl;
    }
}

int64_t ref_quantize(double x, const FixedFormat& f, Rounding r) {
    const long double v = std::ldexp((long double)x, f.frac);
    const long double fl = std::floor(v);
    const long double rest = v - fl;
    const i128 q = apply_mode(i128(fl), rest == 0, rest == 0.5L, rest > 0.5L, v < 0, r);
    return int64_t(std::max<i128>(f.min_int(), std::min<i128>(f.max_int(), q)));
}

// N / 2^s rounded, by shifts.
i128 ref_shift_round(i128 N, int s, Rounding r) {
    if (s <= 0) return N << (-s);
    const i128 fl = N >> s;  // arithmetic shift floors
    const i128 rem = N - (fl << s);
    const i128 half = i128(1) << (s - 1);
    return apply_mode(fl, rem == 0, rem == half, rem > half, N < 0, r);
}

struct RefResult {
    std::vector<int64_t> out;
    bool overflow = false;
};

RefResult reference(const BlockNet& net, const Scheme& s, std::vector<int64_t> x) {
    RefResult res;
    int fin = s.input->frac;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        const LayerScheme& l = s.layers[k];
        const int D = std::max(l.weight->frac + fin, l.bias->frac);
        const bool exact = !l.activation;
        std::vector<int64_t> y(b.out_size());
        for (int64_t i = 0; i < b.out_size(); ++i) {
            i128 N = i128(ref_quantize(b.b[i], *l.bias, l.param_rounding)) << (D - l.bias->frac);
            for (int64_t j = 0; j < b.in_size(); ++j)
                N += (i128(ref_quantize(b.W(i, j), *l.weight, l.param_rounding)) * x[j]) << (D - l.weight->frac - fin);
            const int acc_bits = l.accumulator_bits ? l.accumulator_bits : 64;
            if (N < -(i128(1) << (acc_bits - 1)) || N >= (i128(1) << (acc_bits - 1))) res.overflow = true;
            i128 q = exact ? N : ref_shift_round(N, D - l.activation->frac, l.act_rounding);
            if (b.act == Act::ReLU && q < 0) q = 0;
            if (!exact) q = std::max<i128>(l.activation->min_int(), std::min<i128>(l.activation->max_int(), q));
            y[i] = int64_t(q);
        }
        x = y;
        fin = exact ? D : l.activation->frac;
    }
    res.out = x;
    return res;
}

BlockNet random_net(std::mt19937_64& rng, int in, std::vector<int> widths, bool relu) {
    std::normal_distribution<double> N(0, 0.7);
    BlockNet n;
    n.input_shape = {in};
    int prev = in;
    for (size_t k = 0; k < widths.size(); ++k) {
        Block b;
        b.W = Mat::NullaryExpr(widths[k], prev, [&] { return N(rng); });
        b.b = Vec::NullaryExpr(widths[k], [&] { return N(rng); });
        // Exact ties are where rounding modes differ: put some parameters on half-steps.
        for (int t = 0; t < 3; ++t) b.W(rng() % widths[k], rng() % prev) = std::ldexp(double(int(rng() % 41) - 20) + 0.5, -5);
        b.act = (relu && k + 1 < widths.size()) ? Act::ReLU : Act::None;
        n.blocks.push_back(b);
        prev = widths[k];
    }
    return n;
}

FixedFormat random_format(std::mt19937_64& rng, bool is_signed) {
    const int bits = 3 + int(rng() % 7);
    return FixedFormat{is_signed, bits, int(rng() % (bits + 2)) - 1};
}

}  // namespace

TEST(IntNetwork, MatchesBruteForceReferenceOnRandomNetworksAndAllModes) {
    std::mt19937_64 rng(2024);
    int checked = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const BlockNet net = random_net(rng, 2 + int(rng() % 4), {2 + int(rng() % 5), 2 + int(rng() % 4), 2}, rng() % 4 != 0);
        Scheme s;
        s.name = "random";
        s.input = FixedFormat{false, 4 + int(rng() % 5), int(rng() % 6)};
        for (size_t k = 0; k < net.blocks.size(); ++k) {
            LayerScheme l;
            l.weight = random_format(rng, true);
            l.bias = random_format(rng, true);
            const bool last = k + 1 == net.blocks.size();
            if (!(last && rng() % 3 == 0)) l.activation = random_format(rng, last || rng() % 2);
            l.param_rounding = kModes[rng() % 7];
            l.act_rounding = kModes[rng() % 7];
            if (rng() % 4 == 0) l.accumulator_bits = 8 + int(rng() % 10);
            s.layers.push_back(l);
        }
        const QuantizedNet q = quantize(net, s);
        ASSERT_TRUE(q.integer.has_value());
        std::uniform_int_distribution<int64_t> U(s.input->min_int(), s.input->max_int());
        for (int t = 0; t < 30; ++t) {
            std::vector<int64_t> x(net.input_size());
            for (auto& v : x) v = U(rng);
            const IntEval ev = q.integer->eval(x);
            const RefResult ref = reference(net, s, x);
            ASSERT_EQ(ev.out, ref.out) << "trial " << trial;
            ASSERT_EQ(ev.overflow, ref.overflow) << "trial " << trial;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 9000);
}

TEST(IntNetwork, AaaiSemanticsByHand) {
    // One hidden neuron, one output, Q = 4: weights s4.3, biases s4.2, input u8.8,
    // hidden u4.2 (clamp [0, 15]), output s4.2 (clamp [-8, 7]).
    BlockNet net;
    net.input_shape = {2};
    Block h;
    h.W = Mat(1, 2);
    h.W << 0.5, -0.25;
    h.b = Vec::Constant(1, 0.75);
    h.act = Act::ReLU;
    Block o;
    o.W = Mat::Constant(1, 1, 0.625);
    o.b = Vec::Constant(1, -0.25);
    net.blocks = {h, o};
    const Scheme s = parse_scheme("aaai2021:4", net);
    const QuantizedNet q = quantize(net, s);
    ASSERT_TRUE(q.integer);
    // Input (200, 40): acc = 4*200 - 2*40 + 3*2^9 = 2256; out = floor((2256 + 256)/512) = 4 (real 1.0).
    const auto t = q.integer->trace({200, 40});
    EXPECT_EQ(t[1][0], 4);
    // Output: w = 0.625*8 = 5, b = -1 (s4.2); acc = 5*4 + (-1)*2^(2+1) = 12; out = floor((12+4)/8) = 2.
    EXPECT_EQ(t[2][0], 2);
    // Saturation of the hidden layer: 4 inputs, w = 7/8, b = 7/4:
    // acc = 7*255*4 + 7*2^9 = 10724, floor((10724 + 256) / 512) = 21, clamped to 15.
    BlockNet big;
    big.input_shape = {4};
    Block hb = h;
    hb.W = Mat::Constant(1, 4, 0.875);
    hb.b = Vec::Constant(1, 1.75);
    big.blocks = {hb, o};
    EXPECT_EQ(quantize(big, parse_scheme("aaai2021:4", big)).integer->trace({255, 255, 255, 255})[1][0], 15);
}

TEST(IntNetwork, OverflowPolicies) {
    BlockNet net;
    net.input_shape = {3};
    Block b;
    b.W = Mat::Constant(1, 3, 0.875);
    b.b = Vec::Zero(1);
    net.blocks = {b};
    Scheme s = parse_scheme("fixed:w=s4.3,b=s4.3,a=s16.3,i=u8.0,acc=10", net);
    QuantizedNet q = quantize(net, s);
    // 7 * 100 * 3 = 2100 >= 2^9: overflows a 10-bit accumulator.
    IntEval ev = q.integer->eval({100, 100, 100});
    EXPECT_TRUE(ev.overflow);
    EXPECT_EQ(ev.overflow_layer, 0);
    EXPECT_FALSE(q.integer->eval({10, 10, 10}).overflow);
    q.integer->layers[0].overflow = Overflow::Wrap;
    EXPECT_EQ(q.integer->eval({100, 100, 100}).out[0], 2100 - 2048);
    q.integer->layers[0].overflow = Overflow::Saturate;
    EXPECT_EQ(q.integer->eval({100, 100, 100}).out[0], 511);
}

TEST(IntNetwork, SlowAndFastPathsAgree) {
    std::mt19937_64 rng(9);
    const BlockNet net = random_net(rng, 6, {5, 3}, true);
    const QuantizedNet q = quantize(net, parse_scheme("aaai2021:8", net));
    IntNetwork slow = *q.integer;
    for (auto& L : slow.layers) {
        ASSERT_TRUE(L.fast64);
        L.fast64 = false;
    }
    for (int t = 0; t < 200; ++t) {
        std::vector<int64_t> x(6);
        for (auto& v : x) v = int64_t(rng() % 256);
        EXPECT_EQ(q.integer->eval(x).out, slow.eval(x).out);
    }
}

TEST(IntNetwork, WrongInputSize) {
    std::mt19937_64 rng(1);
    const BlockNet net = random_net(rng, 4, {2}, false);
    const QuantizedNet q = quantize(net, parse_scheme("aaai2021:6", net));
    EXPECT_THROW(q.integer->eval({1, 2, 3}), InputError);
}
