// QDQ ONNX writer: a network whose weights and biases are fixed point (a quadapter twin,
// or any scheme with per-layer fixed-point parameters and real activations) as an
// opset-13 model: each parameter tensor an integer initializer (int8 up to 8 bits, int16
// up to 16, else int32) followed by DequantizeLinear with scale 2^-frac and zero point 0,
// then Gemm, the activation and a Clip. A block with a quantized output (fixed-point
// activations, Block::out_step) is followed by a QuantizeLinear / DequantizeLinear pair with
// scale out_step and zero point 0 (uint8 / int8 when the range fits, else uint16 / int16),
// after a Clip to the format's range when that is narrower than the type's; other activations
// are float32.
#include "io/atomic_file.hpp"
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace qcert {
namespace {

using TP = onnx::TensorProto;

int int_type(int bits) { return bits <= 8 ? TP::INT8 : bits <= 16 ? TP::INT16 : TP::INT32; }

template <class T>
void append(std::string& raw, int64_t v) {
    const T x = T(v);
    raw.append(reinterpret_cast<const char*>(&x), sizeof(T));
}

class QdqWriter {
public:
    QdqWriter(onnx::GraphProto* g, const std::string& path) : g_(g), path_(path) {}

    void run(const BlockNet& net, const Scheme& s) {
        if (s.layers.size() != net.blocks.size())
            throw InputError(path_, fmt::format("the scheme has {} layers, the network {}", s.layers.size(), net.blocks.size()));
        g_->set_name("qcert_qdq");
        std::string cur = "input";
        value_info(g_->add_input(), cur, net.input_size());
        for (size_t k = 0; k < net.blocks.size(); ++k) cur = block(net.blocks[k], s.layers[k], k, cur, k + 1 == net.blocks.size());
        value_info(g_->add_output(), cur, net.output_size());
    }

private:
    // DequantizeLinear(int tensor, 2^-frac, 0) of `values`, which must lie on the format's grid.
    std::string dequantized(const std::string& name, const Shape& dims, const double* values, int64_t n,
                            const std::optional<FixedFormat>& f, const std::string& what) {
        if (!f) throw InputError(path_, fmt::format("{} is not fixed point: a QDQ model needs integer parameters", what));
        if (f->frac > 126 || f->frac < -126) throw InputError(path_, fmt::format("{}: scale 2^-{} is no float32", what, f->frac));
        const float scale = std::ldexp(1.0f, -f->frac);
        TP* q = g_->add_initializer();
        q->set_name(name + "_q");
        q->set_data_type(int_type(f->bits));
        for (int64_t d : dims) q->add_dims(d);
        std::string raw;
        for (int64_t i = 0; i < n; ++i) {
            const double v = std::ldexp(values[i], f->frac);
            if (v != std::nearbyint(v) || v < double(f->min_int()) || v > double(f->max_int()))
                throw InputError(path_, fmt::format("{}: value {} is not a {} number", what, values[i], f->str()));
            const int64_t iv = int64_t(v);
            if (f->bits <= 8) append<int8_t>(raw, iv);
            else if (f->bits <= 16) append<int16_t>(raw, iv);
            else append<int32_t>(raw, iv);
        }
        q->set_raw_data(raw);
        TP* sc = g_->add_initializer();
        sc->set_name(name + "_scale");
        sc->set_data_type(TP::FLOAT);
        sc->add_float_data(scale);
        TP* z = g_->add_initializer();
        z->set_name(name + "_zero");
        z->set_data_type(int_type(f->bits));
        z->add_int32_data(0);
        return node("DequantizeLinear", name + "_dq", {name + "_q", name + "_scale", name + "_zero"});
    }

    std::string float_scalar(const std::string& name, double v, const std::string& what) {
        if (double(float(v)) != v) throw InputError(path_, fmt::format("{} {} is no float32 number", what, v));
        TP* t = g_->add_initializer();
        t->set_name(name);
        t->set_data_type(TP::FLOAT);
        t->add_float_data(float(v));
        return name;
    }

    std::string node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs) {
        onnx::NodeProto* n = g_->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : inputs) n->add_input(i);
        n->add_output(name + "_out");
        last_ = n;
        return name + "_out";
    }

    void attr_int(const char* name, int64_t v) {
        auto* a = last_->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }

    std::string block(const Block& b, const LayerScheme& ls, size_t k, const std::string& in, bool last) {
        const std::string name = fmt::format("l{}", k);
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W = b.W;
        const std::string w = dequantized(name + "_W", {W.rows(), W.cols()}, W.data(), W.size(), ls.weight,
                                          fmt::format("layer {} weights", k));
        const std::string bias = dequantized(name + "_b", {b.b.size()}, b.b.data(), b.b.size(), ls.bias,
                                             fmt::format("layer {} biases", k));
        std::string cur = node("Gemm", name + "_gemm", {in, w, bias});
        attr_int("transB", 1);
        switch (b.act) {
            case Act::None: break;
            case Act::ReLU: cur = node("Relu", name + "_relu", {cur}); break;
            case Act::Sigmoid: cur = node("Sigmoid", name + "_sigmoid", {cur}); break;
            case Act::Tanh: cur = node("Tanh", name + "_tanh", {cur}); break;
            case Act::Softmax:
                if (!last) throw InputError(path_, fmt::format("layer {}: a softmax before the last layer", k));
                cur = node("Softmax", name + "_softmax", {cur});
                attr_int("axis", -1);
                break;
            default: throw InputError(path_, fmt::format("layer {}: activation {} is not written", k, act_name(b.act)));
        }
        if (std::isfinite(b.lo) || std::isfinite(b.hi)) {
            std::vector<std::string> ins{cur, std::isfinite(b.lo) ? float_scalar(name + "_min", b.lo, "clip bound") : "",
                                         std::isfinite(b.hi) ? float_scalar(name + "_max", b.hi, "clip bound") : ""};
            while (ins.back().empty()) ins.pop_back();
            cur = node("Clip", name + "_clip", ins);
        }
        if (b.quantized_output()) cur = fake_quantized(b, name, cur);
        return cur;
    }

    // QuantizeLinear then DequantizeLinear with scale out_step and zero point 0, saturating to
    // [out_min, out_max]: round(clamp(x)) = clamp(round(x)) since the bounds lie on the grid.
    std::string fake_quantized(const Block& b, const std::string& name, std::string cur) {
        const double qlo = b.out_min / b.out_step, qhi = b.out_max / b.out_step;  // exact: powers of two
        int type = 0;
        int64_t tlo = 0, thi = 0;
        if (qlo >= 0 && qhi <= 255) type = TP::UINT8, tlo = 0, thi = 255;
        else if (qlo >= -128 && qhi <= 127) type = TP::INT8, tlo = -128, thi = 127;
        else if (qlo >= 0 && qhi <= 65535) type = TP::UINT16, tlo = 0, thi = 65535;
        else if (qlo >= -32768 && qhi <= 32767) type = TP::INT16, tlo = -32768, thi = 32767;
        else throw InputError(path_, fmt::format("{}: activation range [{}, {}] needs more than 16 bits", name, b.out_min, b.out_max));
        if (qlo != std::nearbyint(qlo) || qhi != std::nearbyint(qhi))
            throw InputError(path_, fmt::format("{}: activation range [{}, {}] is not on the grid {}", name, b.out_min, b.out_max, b.out_step));
        if (qlo > double(tlo) || qhi < double(thi)) {
            std::vector<std::string> ins{cur, qlo > double(tlo) ? float_scalar(name + "_qmin", b.out_min, "activation bound") : "",
                                         qhi < double(thi) ? float_scalar(name + "_qmax", b.out_max, "activation bound") : ""};
            while (ins.back().empty()) ins.pop_back();
            if (ins[1].empty()) ins[1] = float_scalar(name + "_qmin", double(tlo) * b.out_step, "activation bound");
            cur = node("Clip", name + "_qclip", ins);
        }
        const std::string scale = float_scalar(name + "_act_scale", b.out_step, "activation scale");
        TP* z = g_->add_initializer();
        z->set_name(name + "_act_zero");
        z->set_data_type(type);
        z->add_int32_data(0);
        cur = node("QuantizeLinear", name + "_quant", {cur, scale, name + "_act_zero"});
        return node("DequantizeLinear", name + "_dequant", {cur, scale, name + "_act_zero"});
    }

    void value_info(onnx::ValueInfoProto* v, const std::string& name, int64_t n) {
        v->set_name(name);
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(TP::FLOAT);
        auto* shp = tt->mutable_shape();
        shp->add_dim()->set_dim_param("batch");
        shp->add_dim()->set_dim_value(n);
    }

    onnx::GraphProto* g_;
    const std::string& path_;
    onnx::NodeProto* last_ = nullptr;
};

}  // namespace

void write_onnx_qdq(const BlockNet& net, const Scheme& scheme, const std::string& path) {
    onnx::ModelProto m;
    m.set_ir_version(7);
    m.set_producer_name("qcert");
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    QdqWriter(m.mutable_graph(), path).run(net, scheme);
    std::string bytes;
    if (!m.SerializeToString(&bytes)) throw InputError(path, "the model is too large to serialize (protobuf limit 2 GB)");
    write_file_atomically(path, bytes);
}

}  // namespace qcert
