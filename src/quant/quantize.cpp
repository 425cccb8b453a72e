// Applying a scheme: quantized parameters, and the integer network when the
// whole path is fixed point.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

namespace {

// Real values of the quantized parameters.
Mat quantize_matrix(const Mat& M, const LayerScheme& l, const std::optional<FixedFormat>& f, bool fp16) {
    if (fp16) return M.unaryExpr([](double v) { return to_fp16(v); });
    if (!f) return M;
    return M.unaryExpr([&](double v) { return double(quantize_fixed(v, *f, l.param_rounding)) * f->step(); });
}

int64_t pow2(int e) {
    if (e < 0 || e > 62) throw InputError("", fmt::format("scale 2^{} does not fit the integer path", e));
    return int64_t(1) << e;
}

IntNetwork build_integer(const BlockNet& net, const Scheme& s) {
    IntNetwork in;
    in.source = net.source;
    in.input.lo = s.input->min_int();
    in.input.hi = s.input->max_int();
    in.input.scale = s.input->step();
    in.input.raw = s.input_raw;
    FixedFormat prev = *s.input;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        const LayerScheme& l = s.layers[k];
        const bool last = k + 1 == net.blocks.size();
        const std::string where = fmt::format("{}: layer {} ('{}')", net.source, k, b.name);
        if (!(b.act == Act::None || b.act == Act::ReLU || (last && b.act == Act::Softmax)))
            throw InputError(where, fmt::format("the integer semantics of scheme '{}' needs linear or ReLU activations, not {}",
                                                s.name, act_name(b.act)));
        const FixedFormat fw = *l.weight, fb = *l.bias;
        // Accumulator scale 2^-A with A = max(Fw + Fin, Fb): products and bias aligned exactly.
        const int prod = fw.frac + prev.frac;
        const int A = std::max(prod, fb.frac);
        // Without an output format the last layer outputs its exact accumulator.
        const bool exact = !l.activation;
        const FixedFormat fo = exact ? FixedFormat{true, 64, A} : *l.activation;
        IntLayer L;
        L.name = b.name;
        try {
            const int64_t wmul = pow2(A - prod), bmul = pow2(A - fb.frac);
            L.W.resize(b.W.rows(), b.W.cols());
            for (int64_t i = 0; i < b.W.rows(); ++i)
                for (int64_t j = 0; j < b.W.cols(); ++j) L.W(i, j) = quantize_fixed(b.W(i, j), fw, l.param_rounding) * wmul;
            L.b.resize(b.b.size());
            for (int64_t i = 0; i < b.b.size(); ++i) L.b[i] = quantize_fixed(b.b[i], fb, l.param_rounding) * bmul;
            if (A >= fo.frac) L.den = pow2(A - fo.frac);
            else L.num = pow2(fo.frac - A);
        } catch (const InputError& e) {
            throw InputError(where, e.what());
        }
        L.rounding = l.act_rounding;
        L.lo = exact ? INT64_MIN : fo.min_int();
        L.hi = exact ? INT64_MAX : fo.max_int();
        if (b.act == Act::ReLU) L.lo = std::max<int64_t>(L.lo, 0);
        if (std::isfinite(b.lo)) L.lo = std::max<int64_t>(L.lo, int64_t(std::ceil(std::ldexp(b.lo, fo.frac))));
        if (std::isfinite(b.hi)) L.hi = std::min<int64_t>(L.hi, int64_t(std::floor(std::ldexp(b.hi, fo.frac))));
        if (L.lo > L.hi) throw InputError(where, "the block's clamp is empty in the activation format " + fo.str());
        L.accumulator_bits = l.accumulator_bits;
        L.out_scale = fo.step();
        in.layers.push_back(std::move(L));
        prev = fo;
    }
    in.prepare();
    return in;
}

}  // namespace

QuantizedNet quantize(const BlockNet& net, const Scheme& s) {
    if (s.layers.size() != net.blocks.size())
        throw InputError("--scheme " + s.name,
                         fmt::format("the scheme has {} layers, the network has {}", s.layers.size(), net.blocks.size()));
    bool any_act = false;
    for (const LayerScheme& l : s.layers) {
        if (l.weight) l.weight->check("--scheme " + s.name);
        if (l.bias) l.bias->check("--scheme " + s.name);
        if (l.activation) { l.activation->check("--scheme " + s.name); any_act = true; }
        if (l.accumulator_bits < 0 || l.accumulator_bits > 64)
            throw InputError("--scheme " + s.name, "accumulator bits must be 0..64");
    }
    if (s.input) s.input->check("--scheme " + s.name);
    // Fixed-point activations without an integer path: a real input (no input format); the
    // blocks round their outputs (Block::out_step), ties to even.
    const bool real_input_acts = any_act && !s.integer_path();
    if (real_input_acts && s.input)
        throw InputError("--scheme " + s.name,
                         "quantized activations with a fixed-point input need fixed-point weights, biases and activations "
                         "in every layer");
    if (real_input_acts)
        for (const LayerScheme& l : s.layers)
            if (l.activation && l.act_rounding != Rounding::HalfEven)
                throw InputError("--scheme " + s.name, "activations of a real-input network round half to even "
                                                       "(act_rounding half_even)");
    QuantizedNet q;
    q.scheme = s;
    q.real = net;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const LayerScheme& l = s.layers[k];
        Block& b = q.real.blocks[k];
        b.W = quantize_matrix(b.W, l, l.weight, l.weight_fp16);
        b.b = quantize_matrix(b.b, l, l.bias, l.bias_fp16);
        if (real_input_acts && l.activation) {
            b.out_step = l.activation->step();
            b.out_min = l.activation->min_value();
            b.out_max = l.activation->max_value();
        }
    }
    if (s.integer_path()) {
        if (s.input_raw && s.input->frac != 0 && net.input_size() == 0) throw InputError(net.source, "empty input");
        q.integer = build_integer(net, s);
    }
    return q;
}

QuantizedNet from_qdq(const BlockNet& dequantized, const IntNetwork& qdq) {
    QuantizedNet q;
    q.scheme.name = "qdq";
    q.real = dequantized;
    q.integer = qdq;
    q.integer->prepare();
    return q;
}

Vec QuantizedNet::forward(const Vec& raw, const Vec& real_input) const {
    if (integer) return integer->dequantize_output(integer->eval(integer->input_from(raw, real_input)).out);
    return real.forward(real_input);
}

}  // namespace qcert
