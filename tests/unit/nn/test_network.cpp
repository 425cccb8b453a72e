#include "qcert/blocks.hpp"
#include "qcert/error.hpp"
#include "qcert/network.hpp"

#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

Layer conv_layer(std::mt19937_64& rng, int64_t C, int64_t H, int64_t W, int64_t O, int k, int stride, int pad, int dil) {
    std::normal_distribution<double> N(0, 1);
    Layer l;
    l.op = Op::Conv2D;
    l.conv = ConvGeometry{C, O, k, k, stride, stride, dil, dil, pad, pad, pad, pad};
    const int64_t OH = (H + 2 * pad - dil * (k - 1) - 1) / stride + 1, OW = (W + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    l.in_shape = {C, H, W};
    l.out_shape = {O, OH, OW};
    l.weight = Mat::NullaryExpr(O, C * k * k, [&] { return N(rng); });
    l.bias = Vec::NullaryExpr(O, [&] { return N(rng); });
    return l;
}

// An independent convolution: gathers each output from a zero-padded copy of the input.
Vec naive_conv(const Layer& l, const Vec& x) {
    const auto& g = l.conv;
    const int64_t C = l.in_shape[0], H = l.in_shape[1], W = l.in_shape[2];
    const int64_t PH = H + g.pad_top + g.pad_bottom, PW = W + g.pad_left + g.pad_right;
    std::vector<double> padded(C * PH * PW, 0.0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) padded[(c * PH + h + g.pad_top) * PW + w + g.pad_left] = x[(c * H + h) * W + w];
    Vec y(shape_size(l.out_shape));
    int64_t idx = 0;
    for (int64_t o = 0; o < l.out_shape[0]; ++o)
        for (int64_t oh = 0; oh < l.out_shape[1]; ++oh)
            for (int64_t ow = 0; ow < l.out_shape[2]; ++ow) {
                double s = l.bias[o];
                int64_t widx = 0;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t kh = 0; kh < g.kernel_h; ++kh)
                        for (int64_t kw = 0; kw < g.kernel_w; ++kw)
                            s += l.weight(o, widx++) *
                                 padded[(c * PH + oh * g.stride_h + kh * g.dilation_h) * PW + ow * g.stride_w + kw * g.dilation_w];
                y[idx++] = s;
            }
    return y;
}

}  // namespace

TEST(Network, DenseReluForward) {
    Network n;
    n.input_shape = {2};
    Mat W(2, 2);
    W << 1, -1, 2, 0.5;
    n.layers.push_back(make_dense(W, Vec::Constant(2, 0.25)));
    n.layers.push_back(make_activation(Op::ReLU, 2));
    n.validate();
    Vec x(2);
    x << 1, 3;
    const Vec y = n.forward(x);
    EXPECT_DOUBLE_EQ(y[0], 0.0);
    EXPECT_DOUBLE_EQ(y[1], 3.75);
    EXPECT_EQ(n.parameter_count(), 6);
}

TEST(Network, WrongInputSizeIsInputError) {
    Network n;
    n.source = "net.onnx";
    n.input_shape = {3};
    n.layers.push_back(make_dense(Mat::Ones(1, 3), Vec::Zero(1)));
    try {
        n.forward(Vec::Zero(2));
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("net.onnx"), std::string::npos);
    }
}

TEST(Network, ValidateRejectsMismatchedDense) {
    Network n;
    n.source = "m.onnx";
    n.input_shape = {3};
    n.layers.push_back(make_dense(Mat::Ones(2, 4), Vec::Zero(2)));
    EXPECT_THROW(n.validate(), InputError);
}

TEST(Network, ConvMatchesNaiveConvolution) {
    std::mt19937_64 rng(7);
    for (auto [k, stride, pad, dil] : {std::tuple{3, 1, 1, 1}, {3, 2, 0, 1}, {2, 1, 2, 2}, {1, 1, 0, 1}}) {
        Layer l = conv_layer(rng, 2, 7, 6, 3, k, stride, pad, dil);
        std::normal_distribution<double> N(0, 1);
        const Vec x = Vec::NullaryExpr(2 * 7 * 6, [&] { return N(rng); });
        const Vec a = apply_layer(l, x), b = naive_conv(l, x);
        ASSERT_EQ(a.size(), b.size());
        EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-12);
    }
}

TEST(Blocks, LoweringPreservesTheFunction) {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> N(0, 1);
    Network n;
    n.input_shape = {2, 5, 5};
    Layer norm;
    norm.op = Op::Affine;
    norm.in_shape = norm.out_shape = {2, 5, 5};
    norm.scale = Vec::Constant(50, 1 / 0.3);
    norm.shift = Vec::Constant(50, -0.1 / 0.3);
    n.layers.push_back(norm);
    Layer c = conv_layer(rng, 2, 5, 5, 3, 3, 1, 1, 1);
    n.layers.push_back(c);
    Layer bn = norm;  // a BatchNorm after the conv
    bn.in_shape = bn.out_shape = c.out_shape;
    bn.scale = Vec::NullaryExpr(75, [&] { return N(rng); });
    bn.shift = Vec::NullaryExpr(75, [&] { return N(rng); });
    n.layers.push_back(bn);
    Layer r = make_activation(Op::ReLU, 75);
    r.in_shape = r.out_shape = c.out_shape;
    n.layers.push_back(r);
    Layer clip = r;
    clip.op = Op::Clip;
    clip.lo = 0.1;
    clip.hi = 1.5;
    n.layers.push_back(clip);
    Layer flat = make_activation(Op::Reshape, 75);
    flat.in_shape = c.out_shape;
    n.layers.push_back(flat);
    n.layers.push_back(make_dense(Mat::NullaryExpr(4, 75, [&] { return N(rng); }), Vec::NullaryExpr(4, [&] { return N(rng); })));
    n.layers.push_back(make_activation(Op::Sigmoid, 4));
    n.layers.push_back(make_activation(Op::Tanh, 4));
    n.validate();
    const BlockNet b = to_blocks(n);
    ASSERT_EQ(b.blocks.size(), 3u);  // conv+bn+relu+clip, dense+sigmoid, identity+tanh
    EXPECT_EQ(b.blocks[0].act, Act::ReLU);
    EXPECT_DOUBLE_EQ(b.blocks[0].lo, 0.1);
    EXPECT_DOUBLE_EQ(b.blocks[0].hi, 1.5);
    const Network back = to_network(b);
    back.validate();
    for (int t = 0; t < 20; ++t) {
        const Vec x = Vec::NullaryExpr(50, [&] { return N(rng); });
        const Vec y = n.forward(x);
        EXPECT_LT((b.forward(x) - y).cwiseAbs().maxCoeff(), 1e-12);
        EXPECT_LT((back.forward(x) - y).cwiseAbs().maxCoeff(), 1e-12);
    }
}

TEST(Blocks, LeadingNormalisationFoldsIntoFirstDense) {
    Network n;
    n.input_shape = {2};
    Layer norm;
    norm.op = Op::Affine;
    norm.in_shape = norm.out_shape = {2};
    norm.scale = Vec::Constant(2, 2.0);
    norm.shift = Vec::Constant(2, -1.0);
    n.layers.push_back(norm);
    Mat W(1, 2);
    W << 1, 3;
    n.layers.push_back(make_dense(W, Vec::Constant(1, 0.5)));
    const BlockNet b = to_blocks(n);
    ASSERT_EQ(b.blocks.size(), 1u);
    EXPECT_DOUBLE_EQ(b.blocks[0].W(0, 1), 6.0);
    EXPECT_DOUBLE_EQ(b.blocks[0].b[0], 0.5 - 4.0);
}

TEST(Network, ArgmaxTiesGoToLowestIndex) {
    Vec y(4);
    y << 1, 3, 3, 2;
    EXPECT_EQ(argmax(y), 1);
}
