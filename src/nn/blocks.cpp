// Lowering a Network to its affine-block form, and back.
#include "qcert/blocks.hpp"

#include "qcert/error.hpp"

#include <cmath>
#include <fmt/format.h>
#include <optional>

namespace qcert {

const char* act_name(Act a) {
    switch (a) {
        case Act::None: return "linear";
        case Act::ReLU: return "relu";
        case Act::LeakyReLU: return "leaky_relu";
        case Act::Sigmoid: return "sigmoid";
        case Act::Tanh: return "tanh";
        case Act::Softmax: return "softmax";
    }
    return "?";
}

Vec Block::activate(const Vec& z) const {
    Vec y;
    switch (act) {
        case Act::None: y = z; break;
        case Act::ReLU: y = z.cwiseMax(0.0); break;
        case Act::LeakyReLU: y = z.unaryExpr([&](double v) { return v >= 0 ? v : alpha * v; }); break;
        case Act::Sigmoid: y = z.unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); }); break;
        case Act::Tanh: y = z.array().tanh().matrix(); break;
        case Act::Softmax: {
            const double m = z.size() ? z.maxCoeff() : 0.0;
            Vec e = (z.array() - m).exp();
            y = e / e.sum();
            break;
        }
    }
    if (std::isfinite(lo) || std::isfinite(hi)) y = y.cwiseMax(lo).cwiseMin(hi);
    if (quantized_output()) y = y.unaryExpr([&](double v) { return quantize_output(v); });
    return y;
}

double round_half_even(double x) {
    const double r = std::round(x);  // ties away from zero
    if (std::fabs(r - x) == 0.5) return 2.0 * std::round(x / 2.0);  // a tie: the even neighbour
    return r;
}

double Block::quantize_output(double v) const {
    if (!quantized_output()) return v;
    // v / out_step and the product are exact: out_step is a power of two.
    return std::min(std::max(round_half_even(v / out_step) * out_step, out_min), out_max);
}

bool BlockNet::quantized_activations() const {
    for (const Block& b : blocks)
        if (b.quantized_output()) return true;
    return false;
}

int64_t BlockNet::parameter_count() const {
    int64_t n = 0;
    for (const Block& b : blocks) n += b.W.size() + b.b.size();
    return n;
}

bool BlockNet::piecewise_linear() const {
    for (const Block& b : blocks)
        if (!b.piecewise_linear()) return false;
    return true;
}

Vec BlockNet::forward(const Vec& x) const {
    if (x.size() != input_size())
        throw InputError(source, fmt::format("input has {} values, the network expects {}", x.size(), input_size()));
    Vec v = x;
    for (const Block& b : blocks) v = b.activate(b.W * v + b.b);
    return v;
}

std::vector<Vec> BlockNet::preactivations(const Vec& x) const {
    std::vector<Vec> zs;
    Vec v = x;
    for (const Block& b : blocks) {
        zs.push_back(b.W * v + b.b);
        v = b.activate(zs.back());
    }
    return zs;
}

namespace {

// The dense matrix of a convolution over the flat CHW input.
void lower_conv(const Layer& l, Mat& W, Vec& b) {
    const ConvGeometry& g = l.conv;
    const int64_t H = l.in_shape[1], Wd = l.in_shape[2], OH = l.out_shape[1], OW = l.out_shape[2];
    W = Mat::Zero(g.out_channels * OH * OW, g.in_channels * H * Wd);
    b = Vec::Zero(W.rows());
    for (int64_t o = 0; o < g.out_channels; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t row = (o * OH + oh) * OW + ow;
                if (l.bias.size()) b[row] = l.bias[o];
                for (int64_t c = 0; c < g.in_channels; ++c)
                    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                            if (iw < 0 || iw >= Wd) continue;
                            W(row, (c * H + ih) * Wd + iw) += l.weight(o, (c * g.kernel_h + kh) * g.kernel_w + kw);
                        }
                    }
            }
}

std::optional<Act> act_of(Op op) {
    switch (op) {
        case Op::ReLU: return Act::ReLU;
        case Op::LeakyReLU: return Act::LeakyReLU;
        case Op::Sigmoid: return Act::Sigmoid;
        case Op::Tanh: return Act::Tanh;
        case Op::Softmax: return Act::Softmax;
        default: return std::nullopt;
    }
}

struct Lowering {
    BlockNet out;
    int64_t size = 0;           // current flat size
    std::optional<Vec> ps, pc;  // pending elementwise affine x -> ps .* x + pc
    bool open = false;          // the last block has no activation and no clamp yet

    void push(Mat W, Vec b, const std::string& name) {
        if (ps) {  // fold the pending elementwise map into the columns
            b += W * *pc;
            W = W * ps->asDiagonal();
            ps.reset();
            pc.reset();
        }
        Block blk;
        blk.name = name;
        blk.W = std::move(W);
        blk.b = std::move(b);
        out.blocks.push_back(std::move(blk));
        size = out.blocks.back().out_size();
        open = true;
    }
    // Makes sure the last block can take an activation: an identity block when not.
    Block& activation_target(const std::string& name) {
        if (!open) push(Mat::Identity(size, size), Vec::Zero(size), name);
        return out.blocks.back();
    }
    void affine(const Vec& s, const Vec& t) {
        if (open && !ps) {  // after a dense layer with nothing else: fold into it (BatchNorm)
            Block& blk = out.blocks.back();
            blk.W = s.asDiagonal() * blk.W;
            blk.b = s.cwiseProduct(blk.b) + t;
            return;
        }
        if (!ps) { ps = Vec::Ones(size); pc = Vec::Zero(size); }
        *pc = s.cwiseProduct(*pc) + t;
        *ps = s.cwiseProduct(*ps);
    }
};

}  // namespace

BlockNet to_blocks(const Network& net) {
    Lowering L;
    L.out.source = net.source;
    L.out.input_shape = net.input_shape;
    L.out.input_lo = net.input_lo;
    L.out.input_hi = net.input_hi;
    L.size = net.input_size();
    for (const Layer& l : net.layers) {
        switch (l.op) {
            case Op::Reshape: break;
            case Op::Dense: L.push(l.weight, l.bias, l.name); break;
            case Op::Conv2D: {
                Mat W; Vec b;
                lower_conv(l, W, b);
                L.push(std::move(W), std::move(b), l.name);
                break;
            }
            case Op::Affine: L.affine(l.scale, l.shift); break;
            case Op::Clip: {
                // A clamp tightens the clamp of the block before it (relu then clip = clip); after a
                // quantized output it is a block of its own (the clamp comes after the rounding).
                if (L.ps || L.out.blocks.empty() || L.out.blocks.back().quantized_output())
                    L.push(Mat::Identity(L.size, L.size), Vec::Zero(L.size), l.name);
                Block& blk = L.out.blocks.back();
                blk.lo = std::max(blk.lo, l.lo);
                blk.hi = std::min(blk.hi, l.hi);
                if (blk.lo > blk.hi) blk.lo = blk.hi;  // empty intersection: constant output
                L.open = false;
                break;
            }
            case Op::QuantDQ: {
                // The output quantization of the block before it (after its activation and clamp).
                int e = 0;
                if (!(std::frexp(l.step, &e) == 0.5))
                    throw InputError(net.source, fmt::format("layer '{}': fake quantization with step {} (only powers of two "
                                                             "are supported on real-valued networks)", l.name, l.step));
                if (L.ps || L.out.blocks.empty() || L.out.blocks.back().quantized_output())
                    L.push(Mat::Identity(L.size, L.size), Vec::Zero(L.size), l.name);
                Block& blk = L.out.blocks.back();
                blk.out_step = l.step;
                blk.out_min = l.lo;
                blk.out_max = l.hi;
                L.open = false;
                break;
            }
            default: {
                const Act a = *act_of(l.op);
                if (L.ps) L.push(Mat::Identity(L.size, L.size), Vec::Zero(L.size), l.name);
                Block* blk = L.open ? &L.out.blocks.back() : nullptr;
                if (!blk) {
                    // relu after a bare clamp [lo, hi] is the clamp [max(lo,0), max(hi,0)]
                    if (a == Act::ReLU && !L.out.blocks.empty() && L.out.blocks.back().act == Act::None &&
                        !L.out.blocks.back().quantized_output()) {
                        Block& last = L.out.blocks.back();
                        last.lo = std::max(last.lo, 0.0);
                        last.hi = std::max(last.hi, 0.0);
                        last.act = Act::ReLU;
                        break;
                    }
                    blk = &L.activation_target(l.name);
                }
                blk->act = a;
                blk->alpha = l.alpha;
                L.open = false;
            }
        }
    }
    if (L.ps || L.out.blocks.empty()) L.push(Mat::Identity(L.size, L.size), Vec::Zero(L.size), "identity");
    return L.out;
}

Network to_network(const BlockNet& bn) {
    Network net;
    net.source = bn.source;
    net.input_shape = bn.input_shape;
    net.input_lo = bn.input_lo;
    net.input_hi = bn.input_hi;
    if (net.input_shape.size() > 1 && !bn.blocks.empty()) {
        Layer r = make_activation(Op::Reshape, bn.input_size(), "flatten");
        r.op = Op::Reshape;
        r.in_shape = net.input_shape;
        net.layers.push_back(r);
    }
    for (const Block& b : bn.blocks) {
        net.layers.push_back(make_dense(b.W, b.b, b.name));
        const int64_t n = b.out_size();
        switch (b.act) {
            case Act::None: break;
            case Act::ReLU: net.layers.push_back(make_activation(Op::ReLU, n)); break;
            case Act::LeakyReLU: {
                Layer l = make_activation(Op::LeakyReLU, n);
                l.alpha = b.alpha;
                net.layers.push_back(l);
                break;
            }
            case Act::Sigmoid: net.layers.push_back(make_activation(Op::Sigmoid, n)); break;
            case Act::Tanh: net.layers.push_back(make_activation(Op::Tanh, n)); break;
            case Act::Softmax: net.layers.push_back(make_activation(Op::Softmax, n)); break;
        }
        if (std::isfinite(b.lo) || std::isfinite(b.hi)) {
            Layer c = make_activation(Op::Clip, n);
            c.lo = b.lo;
            c.hi = b.hi;
            net.layers.push_back(c);
        }
        if (b.quantized_output()) {
            Layer q = make_activation(Op::QuantDQ, n);
            q.step = b.out_step;
            q.lo = b.out_min;
            q.hi = b.out_max;
            net.layers.push_back(q);
        }
    }
    return net;
}

}  // namespace qcert
