// Float inference and validation of the network IR.
#include "qcert/network.hpp"
#include "qcert/blocks.hpp"

#include "qcert/error.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

int64_t shape_size(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return s.empty() ? 0 : n;
}

std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
    return r + "]";
}

const char* op_name(Op op) {
    switch (op) {
        case Op::Dense: return "Dense";
        case Op::Conv2D: return "Conv2D";
        case Op::Affine: return "Affine";
        case Op::ReLU: return "ReLU";
        case Op::LeakyReLU: return "LeakyReLU";
        case Op::Sigmoid: return "Sigmoid";
        case Op::Tanh: return "Tanh";
        case Op::Softmax: return "Softmax";
        case Op::Clip: return "Clip";
        case Op::QuantDQ: return "QuantDQ";
        case Op::Reshape: return "Reshape";
    }
    return "?";
}

bool Layer::is_activation() const {
    return op == Op::ReLU || op == Op::LeakyReLU || op == Op::Sigmoid || op == Op::Tanh ||
           op == Op::Softmax || op == Op::Clip || op == Op::QuantDQ;
}

int64_t Layer::parameter_count() const {
    switch (op) {
        case Op::Dense:
        case Op::Conv2D: return weight.size() + bias.size();
        case Op::Affine: return scale.size() + shift.size();
        default: return 0;
    }
}

namespace {

Vec conv2d(const Layer& l, const Vec& x) {
    const ConvGeometry& g = l.conv;
    const int64_t H = l.in_shape[1], W = l.in_shape[2];
    const int64_t OH = l.out_shape[1], OW = l.out_shape[2];
    Vec y(g.out_channels * OH * OW);
    for (int64_t o = 0; o < g.out_channels; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                double acc = l.bias.size() ? l.bias[o] : 0.0;
                for (int64_t c = 0; c < g.in_channels; ++c)
                    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                            if (iw < 0 || iw >= W) continue;
                            acc += l.weight(o, (c * g.kernel_h + kh) * g.kernel_w + kw) *
                                   x[(c * H + ih) * W + iw];
                        }
                    }
                y[(o * OH + oh) * OW + ow] = acc;
            }
    return y;
}

Vec softmax(const Vec& z) {
    if (z.size() == 0) return z;
    const double m = z.maxCoeff();
    Vec e = (z.array() - m).exp();
    return e / e.sum();
}

}  // namespace

Vec apply_layer(const Layer& l, const Vec& x) {
    switch (l.op) {
        case Op::Dense: return l.weight * x + l.bias;
        case Op::Conv2D: return conv2d(l, x);
        case Op::Affine: return l.scale.cwiseProduct(x) + l.shift;
        case Op::ReLU: return x.cwiseMax(0.0);
        case Op::LeakyReLU: return x.unaryExpr([&](double v) { return v >= 0 ? v : l.alpha * v; });
        case Op::Sigmoid: return x.unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
        case Op::Tanh: return x.array().tanh().matrix();
        case Op::Softmax: return softmax(x);
        case Op::Clip: return x.cwiseMax(l.lo).cwiseMin(l.hi);
        case Op::QuantDQ:
            return x.unaryExpr([&](double v) { return std::min(std::max(round_half_even(v / l.step) * l.step, l.lo), l.hi); });
        case Op::Reshape: return x;
    }
    return x;
}

int64_t Network::output_size() const {
    return layers.empty() ? input_size() : shape_size(layers.back().out_shape);
}

int64_t Network::parameter_count() const {
    int64_t n = 0;
    for (const Layer& l : layers) n += l.parameter_count();
    return n;
}

Vec Network::forward(const Vec& x) const {
    if (x.size() != input_size())
        throw InputError(source, fmt::format("input has {} values, the network expects {}", x.size(), input_size()));
    Vec v = x;
    for (const Layer& l : layers) v = apply_layer(l, v);
    return v;
}

void Network::validate() const {
    auto fail = [&](size_t i, const std::string& what) {
        const Layer& l = layers[i];
        throw InputError(source, fmt::format("layer {} ({} '{}'): {}", i, op_name(l.op), l.name, what));
    };
    if (input_size() <= 0) throw InputError(source, "the network has no input shape");
    if (!input_lo.empty() && (int64_t(input_lo.size()) != input_size() || input_hi.size() != input_lo.size()))
        throw InputError(source, "input bounds do not match the input size");
    Shape cur = input_shape;
    for (size_t i = 0; i < layers.size(); ++i) {
        const Layer& l = layers[i];
        if (l.in_shape != cur && shape_size(l.in_shape) != shape_size(cur))
            fail(i, fmt::format("expects input {} but receives {}", shape_str(l.in_shape), shape_str(cur)));
        const int64_t n = shape_size(l.in_shape), m = shape_size(l.out_shape);
        switch (l.op) {
            case Op::Dense:
                if (l.weight.cols() != n || l.weight.rows() != m || l.bias.size() != m)
                    fail(i, fmt::format("weight {}x{} and bias {} do not fit {} -> {}", l.weight.rows(),
                                        l.weight.cols(), l.bias.size(), n, m));
                break;
            case Op::Conv2D: {
                const ConvGeometry& g = l.conv;
                if (l.in_shape.size() != 3 || l.out_shape.size() != 3 || l.in_shape[0] != g.in_channels ||
                    l.out_shape[0] != g.out_channels)
                    fail(i, "convolution shapes do not match its channels");
                if (g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1)
                    fail(i, "stride and dilation must be positive");
                const int64_t oh = (l.in_shape[1] + g.pad_top + g.pad_bottom - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
                const int64_t ow = (l.in_shape[2] + g.pad_left + g.pad_right - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
                if (oh != l.out_shape[1] || ow != l.out_shape[2]) fail(i, "convolution output shape is inconsistent");
                if (l.weight.rows() != g.out_channels || l.weight.cols() != g.in_channels * g.kernel_h * g.kernel_w ||
                    (l.bias.size() != 0 && l.bias.size() != g.out_channels))
                    fail(i, "convolution kernel or bias has the wrong size");
                break;
            }
            case Op::Affine:
                if (l.scale.size() != n || l.shift.size() != n || m != n) fail(i, "scale/shift size differs from the input");
                break;
            case Op::QuantDQ:
                if (!(l.step > 0) || !std::isfinite(l.step)) fail(i, "the quantization step must be positive");
                [[fallthrough]];
            case Op::Clip:
                if (!(l.lo <= l.hi)) fail(i, "clip bounds have lo > hi");
                [[fallthrough]];
            default:
                if (m != n) fail(i, "an elementwise layer must keep the size");
        }
        cur = l.out_shape;
    }
}

Layer make_dense(Mat weight, Vec bias, std::string name) {
    Layer l;
    l.op = Op::Dense;
    l.name = std::move(name);
    l.in_shape = {int64_t(weight.cols())};
    l.out_shape = {int64_t(weight.rows())};
    l.weight = std::move(weight);
    l.bias = std::move(bias);
    return l;
}

Layer make_activation(Op op, int64_t size, std::string name) {
    Layer l;
    l.op = op;
    l.name = std::move(name);
    l.in_shape = l.out_shape = {size};
    return l;
}

int64_t argmax(const Vec& y) {
    int64_t best = 0;
    for (int64_t i = 1; i < y.size(); ++i)
        if (y[i] > y[best]) best = i;
    return best;
}

}  // namespace qcert
