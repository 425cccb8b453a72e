#include "qcert/error.hpp"
#include "qcert/quant.hpp"
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>

using namespace qcert;

namespace {

BlockNet two_layer() {
    BlockNet n;
    n.input_shape = {3};
    Block a;
    a.W = Mat::Constant(4, 3, 0.3);
    a.W(0, 0) = -2.6;  // rounds to -3: Quadapter's m = 3 -> I = 3
    a.b = Vec::Constant(4, 0.1);
    a.act = Act::ReLU;
    Block b;
    b.W = Mat::Constant(2, 4, 0.2);
    b.b = Vec::Constant(2, 0.4);
    n.blocks = {a, b};
    return n;
}

}  // namespace

TEST(Scheme, Aaai2021Preset) {
    const Scheme s = parse_scheme("aaai2021:6", two_layer());
    ASSERT_TRUE(s.integer_path());
    EXPECT_TRUE(s.input_raw);
    EXPECT_EQ(s.input->str(), "u8.8");
    EXPECT_EQ(s.layers[0].weight->str(), "s6.5");
    EXPECT_EQ(s.layers[0].bias->str(), "s6.4");
    EXPECT_EQ(s.layers[0].activation->str(), "u6.4");
    EXPECT_EQ(s.layers[1].activation->str(), "s6.4");
    EXPECT_EQ(s.layers[0].param_rounding, Rounding::HalfAway);
    EXPECT_EQ(s.layers[0].act_rounding, Rounding::HalfUp);
}

TEST(Scheme, QebverifOutputIsExact) {
    const BlockNet n = two_layer();
    const Scheme s = parse_scheme("qebverif:8", n);
    ASSERT_TRUE(s.integer_path());
    EXPECT_EQ(s.layers[0].activation->str(), "u8.6");
    EXPECT_FALSE(s.layers[1].activation.has_value());
    const QuantizedNet q = quantize(n, s);
    // Output accumulator frac = Fw + Fin = 7 + 6: no rescale, no clamp.
    EXPECT_EQ(q.integer->layers[1].den, 1);
    EXPECT_DOUBLE_EQ(q.integer->layers[1].out_scale, std::ldexp(1.0, -13));
}

TEST(Scheme, QuadapterIntegerBitsFromTheLayerRange) {
    const Scheme s = parse_scheme("quadapter:6,3", two_layer());
    EXPECT_FALSE(s.integer_path());
    EXPECT_EQ(s.layers[0].weight->str(), "s6.3");  // m = 3: I = 3
    EXPECT_EQ(s.layers[1].weight->str(), "s3.2");  // m = 0: I = 1
    const QuantizedNet q = quantize(two_layer(), s);
    EXPECT_DOUBLE_EQ(q.real.blocks[0].W(0, 0), -2.625);
    EXPECT_DOUBLE_EQ(q.real.blocks[1].W(0, 0), 0.25);  // 0.2 * 4 = 0.8 -> 1
    EXPECT_DOUBLE_EQ(q.real.blocks[1].b[0], 0.5);      // 1.6 -> 2
}

TEST(Scheme, Fp16CastsParameters) {
    const QuantizedNet q = quantize(two_layer(), parse_scheme("fp16", two_layer()));
    EXPECT_DOUBLE_EQ(q.real.blocks[0].W(1, 1), to_fp16(0.3));
    EXPECT_FALSE(q.integer.has_value());
}

TEST(Scheme, FixedSyntax) {
    const Scheme s = parse_scheme("fixed:w=s8.7,b=s8.6,a=u8.4,i=u8.8,raw,round=half_up,acc=24", two_layer());
    ASSERT_TRUE(s.integer_path());
    EXPECT_EQ(s.layers[1].activation->str(), "s8.4");
    EXPECT_EQ(s.layers[0].accumulator_bits, 24);
    EXPECT_EQ(s.layers[0].act_rounding, Rounding::HalfUp);
    EXPECT_THROW(parse_scheme("fixed:w=s8.7,zz=1", two_layer()), InputError);
    EXPECT_THROW(parse_scheme("fixed:a=u8.4", two_layer()), InputError);
}

TEST(Scheme, BadSpecsAreInputErrors) {
    const BlockNet n = two_layer();
    EXPECT_THROW(parse_scheme("aaai2021", n), InputError);
    EXPECT_THROW(parse_scheme("aaai2021:x", n), InputError);
    EXPECT_THROW(parse_scheme("aaai2021:1", n), InputError);
    EXPECT_THROW(parse_scheme("aaai2021:40", n), InputError);
    EXPECT_THROW(parse_scheme("quadapter:6,3,2", n), InputError);
    EXPECT_THROW(parse_scheme("nonsense", n), InputError);
    EXPECT_THROW(parse_scheme("missing.json", n), InputError);
}

TEST(Scheme, IntegerPathNeedsPiecewiseLinearActivations) {
    BlockNet n = two_layer();
    n.blocks[0].act = Act::Sigmoid;
    EXPECT_THROW(quantize(n, parse_scheme("aaai2021:6", n)), InputError);
}

TEST(Scheme, JsonRoundTrip) {
    const BlockNet n = two_layer();
    const Scheme s = parse_scheme("aaai2021:5", n);
    test::TempDir d;
    const std::string path = d.file("scheme.json");
    std::ofstream(path) << scheme_to_json(s);
    const Scheme r = read_scheme_json(path, n);
    ASSERT_EQ(r.layers.size(), 2u);
    EXPECT_EQ(r.layers[0].weight->str(), "s5.4");
    EXPECT_EQ(r.layers[1].activation->str(), "s5.3");
    EXPECT_EQ(r.layers[0].param_rounding, Rounding::HalfAway);
    EXPECT_TRUE(r.input_raw);
    std::vector<int64_t> x = {10, 20, 30};
    EXPECT_EQ(quantize(n, s).integer->eval(x).out, quantize(n, r).integer->eval(x).out);
    std::ofstream(d.file("bad.json")) << "{ not json";
    EXPECT_THROW(read_scheme_json(d.file("bad.json"), n), InputError);
}

TEST(Prune, MagnitudeRemovesTheSmallest) {
    BlockNet n = two_layer();
    n.blocks[0].W << 1, -2, 3, 4, 5, -6, 7, 8, 9, 10, 11, 12;
    const BlockNet p = prune_magnitude(n, 0.25);
    EXPECT_EQ(p.blocks[0].W(0, 0), 0.0);
    EXPECT_EQ(p.blocks[0].W(0, 1), 0.0);
    EXPECT_EQ(p.blocks[0].W(0, 2), 0.0);
    EXPECT_EQ(p.blocks[0].W(1, 0), 4.0);
    EXPECT_EQ((p.blocks[0].W.array() == 0).count(), 3);
    EXPECT_THROW(prune_magnitude(n, 1.5), InputError);
    EXPECT_THROW(prune_magnitude(n, -0.1), InputError);
}
