// ONNX reader: walks the graph as a chain from its single input to its single
// output. Nodes whose inputs are all constant are evaluated (onnx_fold); every
// other node must consume the current activation (plus constants) and becomes
// zero or one layer. Quantization nodes also feed the integer path (onnx_qdq).
//
// Shapes: the reader tracks the full ONNX shape of the activation. A leading
// dimension that is symbolic or 1 on the input is the batch dimension: it is
// fixed to 1 and left out of the layers' shapes. A fixed leading dimension > 1
// is not a batch: the whole tensor is then one sample (so the node tests of
// ONNX run unchanged).
#include "io/onnx_reader.hpp"

#include "io/onnx_fold.hpp"
#include "io/onnx_linear.hpp"
#include "io/onnx_qdq.hpp"
#include "io/onnx_util.hpp"
#include "qcert/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace qcert {
namespace onnxio {
namespace {

using TP = onnx::TensorProto;

constexpr int kMinOpset = 7, kMaxOpset = 18;

class Walker {
public:
    explicit Walker(std::string file) : file_(std::move(file)), qdq_(file_) {}
    LoadedModel run(const onnx::ModelProto& m);

private:
    // ---- the walk
    void set_input(const onnx::ValueInfoProto& in);
    std::vector<int> node_order(const onnx::GraphProto& g, const std::string& output);
    void visit(const onnx::NodeProto& n, int index);
    void fold(const onnx::NodeProto& n, const std::string& w);

    // ---- helpers
    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw InputError(file_, where + ": " + what);
    }
    const Tensor* input_const(const onnx::NodeProto& n, int k) const;
    const Tensor& need_const(const onnx::NodeProto& n, int k, const std::string& w, const std::string& what) const;
    Shape sample(const Shape& full) const;
    void check_size(const Shape& s, const std::string& w) const;
    // The activation now is output 0 of `n`, with the given full shape.
    void advance(const onnx::NodeProto& n, const Shape& out_full);
    // Appends a layer from the current full shape to out_full, then advances.
    void emit(const onnx::NodeProto& n, Layer l, const Shape& out_full);
    void emit_reshape(const onnx::NodeProto& n, const Shape& out_full);
    std::string layer_name(const onnx::NodeProto& n) const;

    // ---- operators
    void op_gemm(const onnx::NodeProto& n, const std::string& w, int ap);
    void op_matmul(const onnx::NodeProto& n, const std::string& w, int ap);
    void op_conv(const onnx::NodeProto& n, const std::string& w);
    void op_binary(const onnx::NodeProto& n, const std::string& w, int ap);
    void op_batchnorm(const onnx::NodeProto& n, const std::string& w);
    void op_activation(const onnx::NodeProto& n, const std::string& w);
    void op_prelu(const onnx::NodeProto& n, const std::string& w);
    void op_softmax(const onnx::NodeProto& n, const std::string& w);
    void op_clip(const onnx::NodeProto& n, const std::string& w);
    void op_transpose(const onnx::NodeProto& n, const std::string& w);
    void op_quantize(const onnx::NodeProto& n, const std::string& w);
    void op_dequantize(const onnx::NodeProto& n, const std::string& w);
    void op_qlinear_matmul(const onnx::NodeProto& n, const std::string& w);
    void op_matmul_integer(const onnx::NodeProto& n, const std::string& w);

    // ---- the integer path of quantized models
    QParams qparams(const Tensor& scale, const Tensor* zero, const std::string& w) const;
    // A linear layer's integer weights: `build(coef)` places the constant's entries.
    template <class Build>
    void int_linear(const std::string& w, const Tensor& k, double alpha, Build build);
    // Adds factor * c (broadcast to the activation shape `out`) in the integer path.
    void int_add(const std::string& w, const Tensor& c, const Shape& out, int factor);

    std::string file_;
    int opset_ = 0;
    std::unordered_map<std::string, Tensor> consts_;
    std::set<std::string> past_;  // activations already consumed
    std::string cur_;
    Shape full_;
    bool batched_ = false;
    bool after_dense_ = false;    // the last layer is a Dense or Affine with nothing since: Add/Sub fold into it
    Network net_;
    QdqPath qdq_;
    // A QuantizeLinear on a float activation of a float model, waiting for its DequantizeLinear.
    std::optional<QParams> fake_quant_;
};

// ---- the walk ---------------------------------------------------------------------

LoadedModel Walker::run(const onnx::ModelProto& m) {
    bool declared = false;
    for (const auto& op : m.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") {
            opset_ = int(std::clamp<int64_t>(op.version(), 0, 1000));
            declared = true;
        }
    if (!declared)
        throw InputError(file_, "the model imports no opset of the default domain (not a complete ONNX model?)");
    if (opset_ < kMinOpset || opset_ > kMaxOpset)
        throw InputError(file_, fmt::format("opset {} is not supported (opsets {} to {} are)", opset_, kMinOpset,
                                            kMaxOpset));
    if (!m.has_graph()) throw InputError(file_, "the model has no graph");
    const onnx::GraphProto& g = m.graph();

    for (const auto& t : g.initializer()) {
        if (t.name().empty()) throw InputError(file_, "an initializer has no name");
        consts_[t.name()] = tensor_from_proto(t, file_);
    }
    for (const auto& t : g.sparse_initializer())
        throw InputError(file_, "sparse initializer '" + t.values().name() + "' is not supported");

    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& in : g.input())
        if (!consts_.count(in.name())) inputs.push_back(&in);
    if (inputs.size() != 1)
        throw InputError(file_, fmt::format("the graph has {} inputs besides its initializers; qcert reads models "
                                            "with exactly one", inputs.size()));
    if (g.output_size() != 1)
        throw InputError(file_, fmt::format("the graph has {} outputs; qcert reads models with exactly one",
                                            g.output_size()));
    set_input(*inputs[0]);
    const std::string output = g.output(0).name();

    for (int idx : node_order(g, output)) visit(g.node(idx), idx);

    if (cur_ != output) {
        if (consts_.count(output)) throw InputError(file_, "the graph output '" + output + "' is a constant");
        throw InputError(file_, "the graph output '" + output + "' is not the end of the chain from the input");
    }
    net_.source = file_;
    net_.validate();
    LoadedModel r;
    if (fake_quant_) throw InputError(file_, "the graph ends on a QuantizeLinear of a float activation (integer output)");
    r.qdq = qdq_.finish();
    if (r.qdq && r.qdq->input_size() != net_.input_size())
        throw InputError(file_, fmt::format("the integer network takes {} inputs, the float network {}",
                                            r.qdq->input_size(), net_.input_size()));
    r.net = std::move(net_);
    return r;
}

void Walker::set_input(const onnx::ValueInfoProto& in) {
    const std::string w = "graph input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) fail(w, "is not a tensor");
    const auto& tt = in.type().tensor_type();
    if (!tt.has_shape()) fail(w, "has no shape");
    const auto& dims = tt.shape().dim();
    if (dims.empty()) fail(w, "is a scalar");
    full_.clear();
    for (int k = 0; k < dims.size(); ++k) {
        const auto& d = dims[k];
        const bool known = d.has_dim_value() && d.dim_value() > 0;
        if (k == 0 && dims.size() >= 2 && (!known || d.dim_value() == 1)) {
            batched_ = true;  // symbolic, unknown or 1: the batch dimension
            full_.push_back(1);
            continue;
        }
        if (!known) fail(w, fmt::format("dimension {} is symbolic or not positive; qcert needs a fixed shape", k));
        full_.push_back(d.dim_value());
    }
    check_size(full_, w);
    cur_ = in.name();
    net_.input_shape = sample(full_);
    const int32_t type = tt.elem_type();
    if (type == TP::UINT8 || type == TP::INT8 || type == TP::UINT16 || type == TP::INT16) {
        int64_t lo, hi;
        int_type_range(type, lo, hi);
        qdq_.integer_input(lo, hi, shape_size(net_.input_shape));
    } else if (!Tensor::is_float_type(type)) {
        fail(w, fmt::format("has element type {}; qcert reads float or 8/16-bit integer inputs", dtype_name(type)));
    }
}

// The nodes that the output depends on, in a topological order.
std::vector<int> Walker::node_order(const onnx::GraphProto& g, const std::string& output) {
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < g.node_size(); ++i)
        for (const auto& o : g.node(i).output()) {
            if (o.empty()) continue;
            if (producer.count(o) || consts_.count(o) || o == cur_)
                throw InputError(file_, fmt::format("{}: output '{}' is defined twice", node_label(g.node(i), i), o));
            producer[o] = i;
        }
    // Depth-first from the output: post-order is a topological order, and a node
    // met again while still open closes a cycle.
    std::vector<int> order, state(size_t(g.node_size()), 0);  // 0 new, 1 open, 2 done
    std::vector<std::pair<int, int>> stack;                    // node, next input to look at
    auto push = [&](const std::string& name, const std::string& user) {
        if (name.empty() || consts_.count(name) || name == cur_) return;
        auto it = producer.find(name);
        if (it == producer.end())
            throw InputError(file_, fmt::format("{} uses '{}', which no node, initializer or input defines", user, name));
        if (state[it->second] == 1) throw InputError(file_, "the graph has a cycle through '" + name + "'");
        if (state[it->second] == 0) {
            state[it->second] = 1;
            stack.push_back({it->second, 0});
        }
    };
    push(output, "the graph output");
    while (!stack.empty()) {
        auto& [i, k] = stack.back();
        const onnx::NodeProto& n = g.node(i);
        if (k < n.input_size()) {
            const std::string& name = n.input(k++);
            push(name, node_label(n, i));
            continue;
        }
        state[i] = 2;
        order.push_back(i);
        stack.pop_back();
    }
    return order;
}

void Walker::visit(const onnx::NodeProto& n, int index) {
    const std::string w = node_label(n, index);
    const std::string& op = n.op_type();
    const bool std_domain = n.domain().empty() || n.domain() == "ai.onnx";
    const bool ms_qdq = n.domain() == "com.microsoft" && (op == "QuantizeLinear" || op == "DequantizeLinear");
    if (!std_domain && !ms_qdq)
        throw InputError(file_, fmt::format("unsupported operator '{}' of domain '{}' ({})", op, n.domain(), w));
    if (n.output_size() < 1 || n.output(0).empty()) fail(w, "has no output");

    int uses = 0, ap = -1;
    for (int k = 0; k < n.input_size(); ++k) {
        const std::string& in = n.input(k);
        if (in.empty() || consts_.count(in)) continue;
        if (in == cur_) { ++uses; ap = k; continue; }
        if (past_.count(in)) fail(w, fmt::format("uses '{}', an earlier activation: the graph is not a chain", in));
        fail(w, fmt::format("uses '{}', which is not defined before it", in));
    }
    if (uses == 0) return fold(n, w);
    if (uses > 1) fail(w, "uses the activation more than once: the graph is not a chain");

    if (op == "Shape") {  // a constant: the activation's shape, batch fixed to 1
        const int64_t rank = int64_t(full_.size());
        int64_t b = attr_int(n, "start", 0), e = attr_int(n, "end", rank);
        if (b < 0) b += rank;
        if (e < 0) e += rank;
        b = std::clamp<int64_t>(b, 0, rank);
        e = std::clamp<int64_t>(e, b, rank);
        Tensor t;
        t.dtype = TP::INT64;
        t.dims = {e - b};
        t.i.assign(full_.begin() + b, full_.begin() + e);
        t.f.assign(t.i.begin(), t.i.end());
        consts_[n.output(0)] = std::move(t);
        return;
    }

    static const std::set<std::string> kIntegerOps = {"DequantizeLinear", "QLinearMatMul", "MatMulInteger",
                                                      "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
                                                      "QuantizeLinear", "Cast"};
    if (qdq_.kind() == Kind::Quantized && !kIntegerOps.count(op))
        fail(w, op + " on a quantized integer tensor is not supported (DequantizeLinear expected first)");

    if (fake_quant_ && op != "DequantizeLinear")
        fail(w, op + " after a QuantizeLinear of a float activation (DequantizeLinear expected: fake quantization)");

    const Site site{file_, w};
    if (op == "Gemm") op_gemm(n, w, ap);
    else if (op == "MatMul") op_matmul(n, w, ap);
    else if (op == "Conv") op_conv(n, w);
    else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") op_binary(n, w, ap);
    else if (op == "BatchNormalization") op_batchnorm(n, w);
    else if (op == "Relu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh") op_activation(n, w);
    else if (op == "PRelu") op_prelu(n, w);
    else if (op == "Softmax") op_softmax(n, w);
    else if (op == "Clip") op_clip(n, w);
    else if (op == "Flatten") emit_reshape(n, flatten_shape(full_, attr_int(n, "axis", 1), site));
    else if (op == "Reshape") {
        if (ap != 0) fail(w, "Reshape's shape must be a constant");
        emit_reshape(n, reshape_shape(full_, need_const(n, 1, w, "Reshape's shape"), attr_int(n, "allowzero", 0) != 0,
                                      site));
    } else if (op == "Squeeze" || op == "Unsqueeze") {
        if (ap != 0) fail(w, op + "'s axes must be constant");
        std::vector<const Tensor*> in{nullptr, input_const(n, 1)};
        const std::vector<int64_t> axes = axes_operand(n, in, opset_, site);
        emit_reshape(n, op == "Squeeze" ? squeeze_shape(full_, axes, site) : unsqueeze_shape(full_, axes, site));
    } else if (op == "Identity") advance(n, full_);
    else if (op == "Dropout") {
        if (ap != 0) fail(w, "Dropout's ratio must be a constant");
        const Tensor* training = input_const(n, 2);
        if (attr_int(n, "is_test", 1) == 0 || (training && training->size() == 1 && training->f[0] != 0))
            fail(w, "Dropout in training mode is not supported");
        advance(n, full_);  // inference: the identity
    } else if (op == "Cast") {
        const int32_t to = int32_t(attr_int(n, "to", 0));
        if (!Tensor::is_float_type(to)) fail(w, fmt::format("Cast of the activation to {} is not supported", dtype_name(to)));
        qdq_.cast(w);
        advance(n, full_);
    } else if (op == "Transpose") op_transpose(n, w);
    else if (op == "QuantizeLinear") op_quantize(n, w);
    else if (op == "DequantizeLinear") op_dequantize(n, w);
    else if (op == "QLinearMatMul") op_qlinear_matmul(n, w);
    else if (op == "MatMulInteger") op_matmul_integer(n, w);
    else if (op == "DynamicQuantizeLinear")
        fail(w, "dynamic quantization (DynamicQuantizeLinear) has no fixed integer semantics; not supported");
    else throw InputError(file_, fmt::format("unsupported operator '{}' ({})", op, w));
}

// A node of constants only: evaluate it.
void Walker::fold(const onnx::NodeProto& n, const std::string& w) {
    std::vector<const Tensor*> in;
    for (int k = 0; k < n.input_size(); ++k) in.push_back(input_const(n, k));
    std::vector<Tensor> out;
    if (!fold_node(n, in, opset_, out, Site{file_, w}))
        throw InputError(file_, fmt::format("unsupported operator '{}' ({})", n.op_type(), w));
    for (size_t k = 0; k < out.size() && int(k) < n.output_size(); ++k)
        if (!n.output(int(k)).empty()) consts_[n.output(int(k))] = std::move(out[k]);
}

// ---- helpers ------------------------------------------------------------------------------

const Tensor* Walker::input_const(const onnx::NodeProto& n, int k) const {
    if (k >= n.input_size() || n.input(k).empty()) return nullptr;
    auto it = consts_.find(n.input(k));
    return it == consts_.end() ? nullptr : &it->second;
}

const Tensor& Walker::need_const(const onnx::NodeProto& n, int k, const std::string& w, const std::string& what) const {
    const Tensor* t = input_const(n, k);
    if (!t) fail(w, what + (k < n.input_size() && !n.input(k).empty() ? " must be a constant" : " is missing"));
    return *t;
}

Shape Walker::sample(const Shape& full) const {
    Shape s = batched_ && !full.empty() ? Shape(full.begin() + 1, full.end()) : full;
    if (s.empty()) s = {1};
    return s;
}

void Walker::check_size(const Shape& s, const std::string& w) const { checked_count(s, file_, w + ": tensor"); }

std::string Walker::layer_name(const onnx::NodeProto& n) const { return n.name().empty() ? n.output(0) : n.name(); }

void Walker::advance(const onnx::NodeProto& n, const Shape& out_full) {
    past_.insert(cur_);
    cur_ = n.output(0);
    full_ = out_full;
    // The batch dimension stays only while it leads the shape with size 1.
    if (batched_ && (full_.empty() || full_[0] != 1)) batched_ = false;
}

void Walker::emit(const onnx::NodeProto& n, Layer l, const Shape& out_full) {
    check_size(out_full, "node '" + layer_name(n) + "'");
    l.name = layer_name(n);
    l.in_shape = sample(full_);
    advance(n, out_full);
    l.out_shape = sample(full_);
    after_dense_ = l.op == Op::Dense || l.op == Op::Affine;
    net_.layers.push_back(std::move(l));
}

void Walker::emit_reshape(const onnx::NodeProto& n, const Shape& out_full) {
    const Shape before = sample(full_);
    check_size(out_full, "node '" + layer_name(n) + "'");
    advance(n, out_full);
    const Shape after = sample(full_);
    if (after == before) return;
    Layer l;
    l.op = Op::Reshape;
    l.name = layer_name(n);
    l.in_shape = before;
    l.out_shape = after;
    after_dense_ = false;
    net_.layers.push_back(std::move(l));
}

// ---- operators -----------------------------------------------------------------------------

void Walker::op_gemm(const onnx::NodeProto& n, const std::string& w, int ap) {
    if (ap > 1) fail(w, "Gemm's C operand must be a constant");
    const Tensor& k = need_const(n, 1 - ap, w, std::string("Gemm's ") + (ap == 0 ? "B" : "A") + " operand");
    const double alpha = attr_float(n, "alpha", 1.0), beta = attr_float(n, "beta", 1.0);
    const GemmShape g = gemm_shape(full_, k.dims, ap == 0, attr_int(n, "transA", 0) != 0,
                                   attr_int(n, "transB", 0) != 0, file_, w);
    const Shape out{g.M, g.N};
    const auto place = [&]<class T>(auto coef) { return gemm_matrix<T>(g, coef, file_, w); };
    Mat W = place.template operator()<double>([&](int64_t s) { return alpha * k.f[size_t(s)]; });
    Vec b = Vec::Zero(g.M * g.N);
    const Tensor* c = input_const(n, 2);
    if (n.input_size() > 2 && !n.input(2).empty() && !c) fail(w, "Gemm's C operand must be a constant");
    Shape bs;
    if (c && (!broadcast_shapes(c->dims, out, bs) || bs != out))
        fail(w, fmt::format("Gemm's C of shape {} does not broadcast to the output {}", shape_str(c->dims),
                            shape_str(out)));
    if (c) {
        const std::vector<double> cv = broadcast_values(*c, out);
        for (size_t i = 0; i < cv.size(); ++i) b[Eigen::Index(i)] = beta * cv[i];
    }
    if (qdq_.started()) {
        int_linear(w, k, alpha, place);
        if (c) {
            if (beta == 1.0) int_add(w, *c, out, 1);
            else if (beta != 0.0) qdq_.other(w, "Gemm with beta other than 0 or 1");
        }
    } else {
        qdq_.other(w, "Gemm");
    }
    emit(n, make_dense(std::move(W), std::move(b)), out);
}

void Walker::op_matmul(const onnx::NodeProto& n, const std::string& w, int ap) {
    const Tensor& k = need_const(n, 1 - ap, w, "MatMul's other operand");
    const MatMulShape s = matmul_shape(full_, k.dims, ap == 0, file_, w);
    const auto place = [&]<class T>(auto coef) { return matmul_matrix<T>(s, coef, file_, w); };
    Mat W = place.template operator()<double>([&](int64_t i) { return k.f[size_t(i)]; });
    const int64_t rows = W.rows();
    if (qdq_.started()) int_linear(w, k, 1.0, place);
    else qdq_.other(w, "MatMul");
    emit(n, make_dense(std::move(W), Vec::Zero(rows)), s.out);
}

void Walker::op_conv(const onnx::NodeProto& n, const std::string& w) {
    if (n.input_size() < 2 || n.input(0) != cur_) fail(w, "Conv's weights must be constant");
    if (full_.size() != 4) fail(w, fmt::format("only 2-D convolutions of [N,C,H,W] tensors are supported, got {}",
                                               shape_str(full_)));
    if (full_[0] != 1) fail(w, fmt::format("Conv on a batch of {}: qcert needs one sample", full_[0]));
    const Tensor& k = need_const(n, 1, w, "Conv's weight");
    if (k.dims.size() != 4) fail(w, "Conv weight must be 4-D (OIHW)");
    const int64_t group = attr_int(n, "group", 1);
    if (group != 1) fail(w, fmt::format("grouped convolution (group={}) is not supported", group));
    ConvGeometry g;
    g.in_channels = full_[1];
    const int64_t H = full_[2], Wd = full_[3];
    g.out_channels = k.dims[0];
    if (k.dims[1] != g.in_channels)
        fail(w, fmt::format("Conv weight {} does not fit {} input channels", shape_str(k.dims), g.in_channels));
    g.kernel_h = k.dims[2];
    g.kernel_w = k.dims[3];
    const std::vector<int64_t> ks = attr_ints(n, "kernel_shape");
    if (!ks.empty() && (ks.size() != 2 || ks[0] != g.kernel_h || ks[1] != g.kernel_w))
        fail(w, "Conv kernel_shape differs from its weight");
    auto pair = [&](const char* name, int64_t def, int64_t lo) {
        std::vector<int64_t> v = attr_ints(n, name);
        if (v.empty()) v = {def, def};
        if (v.size() != 2) fail(w, fmt::format("Conv {} must have two entries", name));
        for (int64_t x : v)
            if (x < lo || x > (1 << 20)) fail(w, fmt::format("Conv {} value {} is out of range", name, x));
        return v;
    };
    const std::vector<int64_t> st = pair("strides", 1, 1), dl = pair("dilations", 1, 1);
    g.stride_h = st[0]; g.stride_w = st[1];
    g.dilation_h = dl[0]; g.dilation_w = dl[1];
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    int64_t OH, OW;
    if (auto_pad == "NOTSET" || auto_pad.empty() || auto_pad == "VALID") {
        std::vector<int64_t> p = attr_ints(n, "pads");
        if (p.empty() || auto_pad == "VALID") p = {0, 0, 0, 0};
        if (p.size() != 4) fail(w, "Conv pads must have four entries");
        for (int64_t x : p)
            if (x < 0 || x > (1 << 20)) fail(w, fmt::format("Conv pad {} is out of range", x));
        g.pad_top = p[0]; g.pad_left = p[1]; g.pad_bottom = p[2]; g.pad_right = p[3];
        const int64_t eh = H + g.pad_top + g.pad_bottom - g.dilation_h * (g.kernel_h - 1) - 1;
        const int64_t ew = Wd + g.pad_left + g.pad_right - g.dilation_w * (g.kernel_w - 1) - 1;
        if (eh < 0 || ew < 0) fail(w, "Conv kernel is larger than its padded input");
        OH = eh / g.stride_h + 1;
        OW = ew / g.stride_w + 1;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        OH = (H + g.stride_h - 1) / g.stride_h;
        OW = (Wd + g.stride_w - 1) / g.stride_w;
        const int64_t th = std::max<int64_t>(0, (OH - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - H);
        const int64_t tw = std::max<int64_t>(0, (OW - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - Wd);
        const bool upper = auto_pad == "SAME_UPPER";  // the odd pixel goes at the end
        g.pad_top = upper ? th / 2 : th - th / 2;
        g.pad_bottom = th - g.pad_top;
        g.pad_left = upper ? tw / 2 : tw - tw / 2;
        g.pad_right = tw - g.pad_left;
    } else {
        fail(w, "Conv auto_pad '" + auto_pad + "' is not supported");
    }
    Layer l;
    l.op = Op::Conv2D;
    l.conv = g;
    const int64_t cols = g.in_channels * g.kernel_h * g.kernel_w;
    l.weight = Eigen::Map<const RowMat<double>>(k.f.data(), g.out_channels, cols);
    l.bias = Vec::Zero(g.out_channels);
    const Tensor* bias = input_const(n, 2);
    if (n.input_size() > 2 && !n.input(2).empty() && !bias) fail(w, "Conv's bias must be a constant");
    if (bias) {
        if (bias->size() != g.out_channels) fail(w, "Conv bias does not have one entry per output channel");
        for (int64_t o = 0; o < g.out_channels; ++o) l.bias[o] = bias->f[size_t(o)];
    }
    const Shape out{1, g.out_channels, OH, OW};
    check_size(out, w);
    if (qdq_.started()) {
        const int64_t kk = g.kernel_h * g.kernel_w;
        const auto place = [&]<class T>(auto coef) {
            return conv_matrix<T>(g, H, Wd, OH, OW,
                                  [&](int64_t o, int64_t c, int64_t i, int64_t j) { return coef((o * g.in_channels + c) * kk + i * g.kernel_w + j); },
                                  file_, w);
        };
        int_linear(w, k, 1.0, place);
        if (bias) {
            // The bias repeats over each output channel's pixels.
            Tensor b3 = reshaped(*bias, {g.out_channels, 1, 1});
            int_add(w, b3, {g.out_channels, OH, OW}, 1);
        }
    } else {
        qdq_.other(w, "Conv");
    }
    l.in_shape = {g.in_channels, H, Wd};
    l.name = layer_name(n);
    batched_ = true;  // [1, C, H, W]: the leading 1 is the batch from here on
    advance(n, out);
    l.out_shape = {g.out_channels, OH, OW};
    after_dense_ = false;
    net_.layers.push_back(std::move(l));
}

void Walker::op_binary(const onnx::NodeProto& n, const std::string& w, int ap) {
    const std::string& op = n.op_type();
    if (ap > 1) fail(w, op + " must have two inputs");
    const Tensor& c = need_const(n, 1 - ap, w, op + "'s other operand");
    Shape out;
    if (!broadcast_shapes(full_, c.dims, out))
        fail(w, fmt::format("{} of shapes {} and {} does not broadcast", op, shape_str(full_), shape_str(c.dims)));
    if (checked_count(out, file_, w) != checked_count(full_, file_, w))
        fail(w, fmt::format("the constant {} would broadcast the activation {} to {}", shape_str(c.dims),
                            shape_str(full_), shape_str(out)));
    const std::vector<double> cv = broadcast_values(c, out);
    const int64_t m = int64_t(cv.size());
    Vec scale = Vec::Ones(m), shift = Vec::Zero(m);
    std::vector<Rat> factor;
    const bool first = ap == 0;  // x op c, else c op x
    if (op == "Add") {
        for (int64_t i = 0; i < m; ++i) shift[i] = cv[size_t(i)];
    } else if (op == "Sub") {
        for (int64_t i = 0; i < m; ++i) shift[i] = first ? -cv[size_t(i)] : cv[size_t(i)];
        if (!first) scale.setConstant(-1.0);
    } else if (op == "Mul") {
        for (int64_t i = 0; i < m; ++i) scale[i] = cv[size_t(i)];
    } else {  // Div
        if (!first) fail(w, "Div of a constant by the activation is not supported");
        for (int64_t i = 0; i < m; ++i) {
            if (cv[size_t(i)] == 0) fail(w, "division by zero");
            scale[i] = 1.0 / cv[size_t(i)];
        }
    }
    // The integer path, with exact constants.
    if (!qdq_.started()) {
        qdq_.other(w, op);
    } else if (op == "Add" || op == "Sub") {
        if (op == "Sub" && !first) qdq_.scale_rows(w, std::vector<Rat>(size_t(m), Rat{-1, 1}));
        int_add(w, c, out, op == "Sub" && first ? -1 : 1);
    } else {
        std::vector<Rat> r(static_cast<size_t>(m));
        for (int64_t i = 0; i < m; ++i) {
            const Rat v = Rat::of_double(cv[size_t(i)], file_);
            r[size_t(i)] = op == "Mul" ? v : rat_div(Rat{1, 1}, v, file_);
        }
        qdq_.scale_rows(w, r);
    }
    // A constant added to a Dense layer's output joins its bias (MatMul + Add), and
    // one added to an Affine layer's output joins its shift (Mul + Add).
    const bool additive = op == "Add" || (op == "Sub" && first);
    if (additive && after_dense_ && !net_.layers.empty()) {
        Layer& last = net_.layers.back();
        Vec& target = last.op == Op::Dense ? last.bias : last.shift;
        if (target.size() == m) {
            target += shift;
            emit_reshape(n, out);
            return;
        }
    }
    Layer l;
    l.op = Op::Affine;
    l.scale = std::move(scale);
    l.shift = std::move(shift);
    emit(n, std::move(l), out);
}

void Walker::op_batchnorm(const onnx::NodeProto& n, const std::string& w) {
    if (n.input(0) != cur_) fail(w, "BatchNormalization's parameters must be constants");
    if (attr_int(n, "training_mode", 0) != 0) fail(w, "BatchNormalization in training mode is not supported");
    if (opset_ < 9 && attr_int(n, "spatial", 1) != 1) fail(w, "non-spatial BatchNormalization is not supported");
    for (int k = 1; k < n.output_size(); ++k)
        if (!n.output(k).empty()) fail(w, "BatchNormalization's training outputs are not supported");
    if (full_.size() < 2) fail(w, "BatchNormalization needs a channel dimension");
    const int64_t C = full_[1];
    const Tensor& s = need_const(n, 1, w, "scale");
    const Tensor& b = need_const(n, 2, w, "bias");
    const Tensor& mean = need_const(n, 3, w, "mean");
    const Tensor& var = need_const(n, 4, w, "variance");
    for (const Tensor* t : {&s, &b, &mean, &var})
        if (t->size() != C) fail(w, fmt::format("BatchNormalization parameters must have {} entries", C));
    const double eps = attr_float(n, "epsilon", 1e-5);
    int64_t inner = 1;
    for (size_t d = 2; d < full_.size(); ++d) inner *= full_[d];
    const int64_t total = checked_count(full_, file_, w);
    Layer l;
    l.op = Op::Affine;
    l.scale.resize(total);
    l.shift.resize(total);
    for (int64_t i = 0; i < total; ++i) {
        const size_t ch = size_t((i / inner) % C);
        const double a = s.f[ch] / std::sqrt(var.f[ch] + eps);
        l.scale[i] = a;
        l.shift[i] = b.f[ch] - mean.f[ch] * a;
    }
    qdq_.other(w, "BatchNormalization");
    emit(n, std::move(l), full_);
}

void Walker::op_activation(const onnx::NodeProto& n, const std::string& w) {
    const std::string& op = n.op_type();
    Layer l;
    if (op == "Relu") {
        l.op = Op::ReLU;
        qdq_.relu(w);
    } else {
        qdq_.other(w, op);
        l.op = op == "LeakyRelu" ? Op::LeakyReLU : op == "Sigmoid" ? Op::Sigmoid : Op::Tanh;
        if (op == "LeakyRelu") l.alpha = attr_float(n, "alpha", 0.01);
    }
    emit(n, std::move(l), full_);
}

// PRelu with one slope everywhere is a LeakyReLU (the writer uses it to keep a
// double-precision slope, which LeakyRelu's float attribute cannot hold).
void Walker::op_prelu(const onnx::NodeProto& n, const std::string& w) {
    if (n.input_size() < 2 || n.input(0) != cur_) fail(w, "PRelu's slope must be a constant");
    const Tensor& slope = need_const(n, 1, w, "PRelu's slope");
    Shape out;
    if (!broadcast_shapes(full_, slope.dims, out) || out != full_) fail(w, "PRelu's slope does not broadcast");
    if (slope.size() == 0) fail(w, "PRelu's slope is empty");
    for (double v : slope.f)
        if (v != slope.f[0]) fail(w, "PRelu with different slopes per element is not supported");
    qdq_.other(w, "PRelu");
    Layer l;
    l.op = Op::LeakyReLU;
    l.alpha = slope.f[0];
    emit(n, std::move(l), full_);
}

void Walker::op_softmax(const onnx::NodeProto& n, const std::string& w) {
    // Our Softmax normalises the whole sample: every dimension outside the
    // normalised axes must be 1.
    const int64_t rank = int64_t(full_.size());
    int64_t axis = attr_int(n, "axis", opset_ < 13 ? 1 : -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= std::max<int64_t>(rank, 1)) fail(w, "Softmax axis out of range");
    for (int64_t d = 0; d < rank; ++d) {
        const bool normalised = opset_ < 13 ? d >= axis : d == axis;
        if (!normalised && full_[d] != 1)
            fail(w, fmt::format("Softmax over axis {} of {} is not over the whole sample; not supported", axis,
                                shape_str(full_)));
    }
    qdq_.final_softmax(w);
    Layer l;
    l.op = Op::Softmax;
    emit(n, std::move(l), full_);
}

void Walker::op_clip(const onnx::NodeProto& n, const std::string& w) {
    double lo = -INFINITY, hi = INFINITY;
    if (opset_ < 11) {
        lo = attr_float(n, "min", -INFINITY);
        hi = attr_float(n, "max", INFINITY);
    } else {
        auto bound = [&](int k, double& v) {
            if (k >= n.input_size() || n.input(k).empty()) return;
            const Tensor& t = need_const(n, k, w, k == 1 ? "Clip's min" : "Clip's max");
            if (t.size() != 1) fail(w, "Clip bounds must be scalars");
            v = t.f[0];
        };
        bound(1, lo);
        bound(2, hi);
    }
    if (std::isnan(lo) || std::isnan(hi)) fail(w, "Clip bound is NaN");
    if (lo > hi) fail(w, "Clip has min > max");
    std::optional<Rat> rlo, rhi;
    if (std::isfinite(lo)) rlo = Rat::of_double(lo, file_);
    if (std::isfinite(hi)) rhi = Rat::of_double(hi, file_);
    qdq_.clip(w, rlo, rhi);
    Layer l;
    l.op = Op::Clip;
    l.lo = lo;
    l.hi = hi;
    emit(n, std::move(l), full_);
}

void Walker::op_transpose(const onnx::NodeProto& n, const std::string& w) {
    const int64_t rank = int64_t(full_.size());
    std::vector<int64_t> perm = attr_ints(n, "perm");
    if (perm.empty())
        for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    if (int64_t(perm.size()) != rank) fail(w, "Transpose perm has the wrong length");
    std::vector<bool> seen(size_t(rank), false);
    for (int64_t& p : perm) {
        if (!normalize_axis(p, rank) || seen[size_t(p)]) fail(w, "Transpose perm is not a permutation");
        seen[size_t(p)] = true;
    }
    Shape out(static_cast<size_t>(rank));
    for (int64_t d = 0; d < rank; ++d) out[size_t(d)] = full_[size_t(perm[size_t(d)])];
    // Moving only 1-sized dimensions keeps the data order: a reshape.
    std::vector<int64_t> moved;
    for (int64_t p : perm)
        if (full_[size_t(p)] != 1) moved.push_back(p);
    if (std::is_sorted(moved.begin(), moved.end())) return emit_reshape(n, out);
    // Otherwise a permutation matrix.
    qdq_.other(w, "Transpose");
    const int64_t total = checked_count(full_, file_, w);
    check_matrix_size(total, total, 0, file_, w);
    const std::vector<int64_t> ist = strides_of(full_), ost = strides_of(out);
    Mat P = Mat::Zero(total, total);
    for (int64_t k = 0; k < total; ++k) {
        int64_t src = 0;
        for (int64_t d = 0; d < rank; ++d) src += ((k / ost[size_t(d)]) % out[size_t(d)]) * ist[size_t(perm[size_t(d)])];
        P(k, src) = 1.0;
    }
    emit(n, make_dense(std::move(P), Vec::Zero(total)), out);
}

// ---- quantization -------------------------------------------------------------------------

QParams Walker::qparams(const Tensor& scale, const Tensor* zero, const std::string& w) const {
    if (scale.size() != 1 || (zero && zero->size() != 1))
        fail(w, "per-channel quantization of an activation is not supported");
    const double s = scale.f[0];
    if (!(s > 0) || !std::isfinite(s)) fail(w, fmt::format("quantization scale {} is not positive and finite", s));
    QParams p;
    p.scale = s;
    p.scale_r = Rat::of_double(s, file_);
    const int32_t type = zero ? zero->dtype : int32_t(TP::UINT8);
    if (zero && zero->i.empty()) fail(w, "the zero point must be an integer");
    p.zero = zero ? zero->i[0] : 0;
    int_type_range(type, p.lo, p.hi);
    if (!(type == TP::UINT8 || type == TP::INT8 || type == TP::UINT16 || type == TP::INT16 || type == TP::INT32))
        fail(w, fmt::format("quantization to {} is not supported", dtype_name(type)));
    return p;
}

void Walker::op_quantize(const onnx::NodeProto& n, const std::string& w) {
    if (n.input(0) != cur_) fail(w, "QuantizeLinear's scale and zero point must be constants");
    const QParams p = qparams(need_const(n, 1, w, "QuantizeLinear's scale"), input_const(n, 2), w);
    if (qdq_.float_model()) {  // fake quantization of a float activation: DequantizeLinear must follow
        const Tensor& s = need_const(n, 1, w, "QuantizeLinear's scale");
        const Tensor* z = input_const(n, 2);
        if (s.size() != 1 || (z && z->size() != 1)) fail(w, "per-channel quantization of an activation is not supported");
        fake_quant_ = p;
        advance(n, full_);
        return;
    }
    qdq_.quantize(w, p, checked_count(full_, file_, w));
    advance(n, full_);  // the float network holds the dequantized value: nothing to compute
}

void Walker::op_dequantize(const onnx::NodeProto& n, const std::string& w) {
    if (n.input(0) != cur_) fail(w, "DequantizeLinear's scale and zero point must be constants");
    const Tensor& s = need_const(n, 1, w, "DequantizeLinear's scale");
    const Tensor* z = input_const(n, 2);
    if (s.size() != 1 || (z && z->size() != 1))
        fail(w, "per-channel quantization of an activation is not supported");
    QParams p = qparams(s, z, w);
    if (fake_quant_) {
        // round(x / s) + z saturated to the type, then (q - z) s: x rounded to a multiple of s
        // (ties to even) and saturated to [(lo - z) s, (hi - z) s].
        const QParams q = *fake_quant_;
        fake_quant_.reset();
        if (!(p.scale_r == q.scale_r) || p.zero != q.zero || p.lo != q.lo || p.hi != q.hi)
            fail(w, "DequantizeLinear after a QuantizeLinear of a float activation must use the same scale, zero point and type");
        Layer l;
        l.op = Op::QuantDQ;
        l.step = q.scale;
        l.lo = double(q.lo - q.zero) * q.scale;
        l.hi = double(q.hi - q.zero) * q.scale;
        emit(n, std::move(l), full_);
        return;
    }
    qdq_.dequantize(w, p);
    advance(n, full_);
}

void Walker::op_qlinear_matmul(const onnx::NodeProto& n, const std::string& w) {
    if (n.input_size() < 8 || n.input(0) != cur_) fail(w, "QLinearMatMul's second operand must be a constant");
    const QParams a = qparams(need_const(n, 1, w, "a_scale"), &need_const(n, 2, w, "a_zero_point"), w);
    const Tensor& b = need_const(n, 3, w, "QLinearMatMul's b");
    const Tensor& bs = need_const(n, 4, w, "b_scale");
    const Tensor& bz = need_const(n, 5, w, "b_zero_point");
    const QParams y = qparams(need_const(n, 6, w, "y_scale"), &need_const(n, 7, w, "y_zero_point"), w);
    if (!is_small_int(b.dtype) || !is_small_int(bz.dtype)) fail(w, "QLinearMatMul's b must be an 8-bit integer tensor");
    // b's scale and zero point: one, or one per output column (the last axis).
    if (bs.size() != bz.size() || (bs.size() != 1 && (b.dims.size() != 2 || bs.size() != b.dims[1])))
        fail(w, "QLinearMatMul's b_scale / b_zero_point must be scalars or one per column");
    const int64_t ncol = b.dims.empty() ? 1 : b.dims.back();
    auto col = [&](int64_t s) { return bs.size() == 1 ? 0 : s % ncol; };
    for (double v : bs.f)
        if (!(v > 0) || !std::isfinite(v)) fail(w, "b_scale must be positive and finite");
    const MatMulShape ms = matmul_shape(full_, b.dims, true, file_, w);
    const auto place = [&]<class T>(auto coef) { return matmul_matrix<T>(ms, coef, file_, w); };
    Mat W = place.template operator()<double>(
        [&](int64_t s) { return double(b.i[size_t(s)] - bz.i[size_t(col(s))]) * bs.f[size_t(col(s))]; });
    IntMat Wi = place.template operator()<int64_t>([&](int64_t s) { return b.i[size_t(s)] - bz.i[size_t(col(s))]; });
    const RowMat<double> S = place.template operator()<double>([&](int64_t s) { return bs.f[size_t(col(s))]; });
    std::vector<Rat> ws(size_t(S.rows()), Rat{1, 1});
    for (int64_t i = 0; i < S.rows(); ++i)
        for (int64_t j = 0; j < S.cols(); ++j)
            if (S(i, j) != 0) { ws[size_t(i)] = Rat::of_double(S(i, j), file_); break; }
    qdq_.qlinear_matmul(w, std::move(Wi), ws, a, y);
    const int64_t rows = W.rows();
    emit(n, make_dense(std::move(W), Vec::Zero(rows)), ms.out);
}

void Walker::op_matmul_integer(const onnx::NodeProto& n, const std::string& w) {
    if (n.input(0) != cur_) fail(w, "MatMulInteger's second operand must be a constant");
    if (qdq_.kind() != Kind::Quantized) fail(w, "MatMulInteger needs a quantized integer input");
    const Tensor& b = need_const(n, 1, w, "MatMulInteger's B");
    if (!is_small_int(b.dtype)) fail(w, "MatMulInteger's B must be an 8-bit integer tensor");
    const Tensor* az = input_const(n, 2);
    const Tensor* bz = input_const(n, 3);
    if ((az && az->size() != 1) || (bz && bz->size() != 1))
        fail(w, "per-channel zero points of MatMulInteger are not supported");
    if ((az && !is_small_int(az->dtype)) || (bz && !is_small_int(bz->dtype)))
        fail(w, "MatMulInteger zero points must be 8-bit integers");
    const int64_t a0 = az ? az->i[0] : 0, b0 = bz ? bz->i[0] : 0;
    const MatMulShape ms = matmul_shape(full_, b.dims, true, file_, w);
    const auto place = [&]<class T>(auto coef) { return matmul_matrix<T>(ms, coef, file_, w); };
    IntMat Wi = place.template operator()<int64_t>([&](int64_t s) { return b.i[size_t(s)] - b0; });
    qdq_.matmul_integer(w, Wi, a0);
    // The float network holds the input's real value (q - zero) * scale; the
    // output is the integer accumulator sum (B - b0)(q - a0).
    const double s = qdq_.current().scale;
    Mat W = Wi.cast<double>() / s;
    const int64_t rows = W.rows();
    emit(n, make_dense(std::move(W), Vec::Zero(rows)), ms.out);
}

template <class Build>
void Walker::int_linear(const std::string& w, const Tensor& k, double alpha, Build build) {
    if (!k.q) return qdq_.other(w, "a layer with float (not quantized) weights");
    const QuantOrigin& q = *k.q;
    IntMat Wi = build.template operator()<int64_t>([&](int64_t s) { return q.q[size_t(s)] - q.zero_at(s); });
    const RowMat<double> S = build.template operator()<double>([&](int64_t s) { return q.scale_at(s); });
    // Each output row must have one weight scale (per-tensor, or per output channel).
    const Rat ra = Rat::of_double(alpha, file_);
    std::vector<Rat> ws(size_t(S.rows()), ra);
    for (int64_t i = 0; i < S.rows(); ++i) {
        double first = 0;
        for (int64_t j = 0; j < S.cols(); ++j) {
            const double v = S(i, j);
            if (v == 0) continue;
            if (first == 0) first = v;
            else if (v != first) fail(w, "per-channel quantization not supported along this axis");
        }
        if (first != 0) ws[size_t(i)] = rat_mul(Rat::of_double(first, file_), ra, file_);
    }
    qdq_.linear(w, std::move(Wi), ws);
}

void Walker::int_add(const std::string& w, const Tensor& c, const Shape& out, int factor) {
    const std::vector<int64_t> idx = broadcast_index(c.dims, out);
    if (c.q && factor == 1) {
        std::vector<int64_t> b(idx.size());
        std::vector<Rat> bs(idx.size());
        for (size_t i = 0; i < idx.size(); ++i) {
            b[i] = c.q->q[size_t(idx[i])] - c.q->zero_at(idx[i]);
            bs[i] = Rat::of_double(c.q->scale_at(idx[i]), file_);
        }
        return qdq_.add_int_bias(w, b, bs);
    }
    std::vector<Rat> r(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
        r[i] = Rat::of_double(c.f[size_t(idx[i])], file_);
        if (factor < 0) r[i].n = -r[i].n;
    }
    qdq_.add_rows(w, r);
}

}  // namespace

LoadedModel read_model(const onnx::ModelProto& model, const std::string& name) {
    try {
        return Walker(name).run(model);
    } catch (const std::bad_alloc&) {
        throw InputError(name, "out of memory while reading the model");
    }
}

LoadedModel read_model_bytes(const std::string& bytes, const std::string& name) {
    onnx::ModelProto m;
    if (bytes.size() > size_t(INT32_MAX) || !m.ParseFromString(bytes))
        throw InputError(name, "not a valid ONNX model (protobuf parse failed)");
    return read_model(m, name);
}

}  // namespace onnxio

LoadedModel read_onnx(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw InputError(path, "no such file");
    if (std::filesystem::is_directory(path, ec)) throw InputError(path, "is a directory, not an ONNX model");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open the file for reading");
    onnx::ModelProto m;
    if (!m.ParseFromIstream(&in)) throw InputError(path, "not a valid ONNX model (protobuf parse failed)");
    return onnxio::read_model(m, path);
}

}  // namespace qcert
