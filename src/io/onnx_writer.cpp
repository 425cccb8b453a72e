// ONNX writer: a float network as an opset-13 model in double precision (so that
// reading it back gives the same function to the last bit). The file appears
// atomically: it is written to a temporary file beside the target and renamed.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <onnx/onnx_pb.h>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace qcert {
namespace {

using TP = onnx::TensorProto;

class Writer {
public:
    explicit Writer(onnx::GraphProto* g) : g_(g) {}

    void run(const Network& net);

private:
    std::string fresh(const std::string& stem) { return fmt::format("{}_{}", stem, counter_++); }

    std::string constant(const std::string& stem, const Shape& dims, const double* v, int64_t n) {
        const std::string name = fresh(stem);
        TP* t = g_->add_initializer();
        t->set_name(name);
        t->set_data_type(TP::DOUBLE);
        for (int64_t d : dims) t->add_dims(d);
        t->set_raw_data(std::string(reinterpret_cast<const char*>(v), size_t(n) * sizeof(double)));
        return name;
    }
    std::string shape_constant(const Shape& dims) {
        const std::string name = fresh("shape");
        TP* t = g_->add_initializer();
        t->set_name(name);
        t->set_data_type(TP::INT64);
        t->add_dims(int64_t(dims.size()) + 1);
        t->add_int64_data(-1);  // the batch
        for (int64_t d : dims) t->add_int64_data(d);
        return name;
    }
    onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> inputs) {
        onnx::NodeProto* n = g_->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : inputs) n->add_input(i);
        cur_ = fresh(name.empty() ? op : name);
        n->add_output(cur_);
        return n;
    }
    static void attr_ints(onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : v) a->add_ints(x);
    }
    static void attr_int(onnx::NodeProto* n, const char* name, int64_t v) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    // Reshapes the activation to [batch] + s when it has another shape.
    void ensure_shape(const Shape& s, const std::string& name) {
        if (shape_ == s) return;
        node("Reshape", name + "_reshape", {cur_, shape_constant(s)});
        shape_ = s;
    }
    void value_info(onnx::ValueInfoProto* v, const std::string& name, const Shape& s) {
        v->set_name(name);
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(TP::DOUBLE);
        auto* shp = tt->mutable_shape();
        shp->add_dim()->set_dim_param("batch");
        for (int64_t d : s) shp->add_dim()->set_dim_value(d);
    }

    void layer(const Layer& l, const std::string& name);

    onnx::GraphProto* g_;
    std::string cur_;
    Shape shape_;  // the activation's shape without the batch
    int counter_ = 0;
};

void Writer::layer(const Layer& l, const std::string& name) {
    const int64_t n = shape_size(l.in_shape);
    switch (l.op) {
        case Op::Dense: {
            ensure_shape({n}, name);
            // Gemm with transB = 1 takes W as stored: out x in.
            Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W = l.weight;
            const std::string w = constant(name + "_W", {W.rows(), W.cols()}, W.data(), W.size());
            const std::string b = constant(name + "_b", {l.bias.size()}, l.bias.data(), l.bias.size());
            attr_int(node("Gemm", name, {cur_, w, b}), "transB", 1);
            shape_ = {int64_t(W.rows())};
            break;
        }
        case Op::Conv2D: {
            ensure_shape(l.in_shape, name);
            const ConvGeometry& g = l.conv;
            Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W = l.weight;
            const std::string w =
                constant(name + "_W", {g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, W.data(), W.size());
            Vec bias = l.bias.size() ? l.bias : Vec::Zero(g.out_channels);
            const std::string b = constant(name + "_b", {bias.size()}, bias.data(), bias.size());
            onnx::NodeProto* c = node("Conv", name, {cur_, w, b});
            attr_ints(c, "kernel_shape", {g.kernel_h, g.kernel_w});
            attr_ints(c, "strides", {g.stride_h, g.stride_w});
            attr_ints(c, "dilations", {g.dilation_h, g.dilation_w});
            attr_ints(c, "pads", {g.pad_top, g.pad_left, g.pad_bottom, g.pad_right});
            shape_ = l.out_shape;
            break;
        }
        case Op::Affine: {
            ensure_shape(l.in_shape, name);
            if (!l.scale.isOnes()) node("Mul", name + "_scale", {cur_, constant(name + "_s", l.in_shape, l.scale.data(), n)});
            if (!l.shift.isZero()) node("Add", name + "_shift", {cur_, constant(name + "_t", l.in_shape, l.shift.data(), n)});
            break;
        }
        case Op::ReLU: node("Relu", name, {cur_}); break;
        case Op::Sigmoid: node("Sigmoid", name, {cur_}); break;
        case Op::Tanh: node("Tanh", name, {cur_}); break;
        case Op::LeakyReLU: {
            // LeakyRelu's alpha is a float attribute; a slope that float cannot hold
            // goes into PRelu's double tensor instead.
            if (double(float(l.alpha)) == l.alpha) {
                auto* a = node("LeakyRelu", name, {cur_})->add_attribute();
                a->set_name("alpha");
                a->set_type(onnx::AttributeProto::FLOAT);
                a->set_f(float(l.alpha));
            } else {
                node("PRelu", name, {cur_, constant(name + "_slope", {1}, &l.alpha, 1)});
            }
            break;
        }
        case Op::Softmax: {
            ensure_shape({n}, name);  // opset 13 normalises one axis: the whole sample
            attr_int(node("Softmax", name, {cur_}), "axis", -1);
            break;
        }
        case Op::Clip: {
            const std::string lo = std::isinf(l.lo) ? "" : constant(name + "_min", {}, &l.lo, 1);
            const std::string hi = std::isinf(l.hi) ? "" : constant(name + "_max", {}, &l.hi, 1);
            std::vector<std::string> in{cur_, lo, hi};
            while (in.back().empty()) in.pop_back();  // absent trailing inputs are left out
            node("Clip", name, in);
            break;
        }
        case Op::Reshape: ensure_shape(l.out_shape, name); break;
        case Op::QuantDQ:
            // QuantizeLinear takes float32, not the double tensors of this writer.
            throw InputError(name, "quantized activations cannot be written as a double-precision ONNX model "
                                   "(write the QDQ model, write_onnx_qdq)");
    }
}

void Writer::run(const Network& net) {
    g_->set_name("qcert");
    cur_ = "input";
    shape_ = net.input_shape;
    value_info(g_->add_input(), "input", shape_);
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        std::string name = fmt::format("l{}_{}", i, op_name(l.op));
        layer(l, name);
    }
    const Shape out = net.layers.empty() ? net.input_shape : net.layers.back().out_shape;
    ensure_shape(out, "output");
    if (cur_ == "input") node("Identity", "output", {cur_});
    value_info(g_->add_output(), cur_, shape_);
}

// Writes all of `bytes` to a temporary file beside `path`, then renames it.
void write_atomically(const std::string& path, const std::string& bytes) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) throw InputError(path, std::string("cannot create a file in its directory: ") + std::strerror(errno));
    auto fail = [&](const char* what) {
        const int err = errno;
        ::close(fd);
        std::remove(tmpl.c_str());
        throw InputError(path, std::string(what) + ": " + std::strerror(err));
    };
    for (size_t done = 0; done < bytes.size();) {
        const ssize_t k = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) fail("cannot write");
        done += size_t(k);
    }
    if (::fsync(fd) != 0) fail("cannot flush");
    if (::close(fd) != 0) {
        const int err = errno;
        std::remove(tmpl.c_str());
        throw InputError(path, std::string("cannot write: ") + std::strerror(err));
    }
    // mkstemp makes the file private; give it the usual permissions.
    ::chmod(tmpl.c_str(), 0644);
    if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmpl.c_str());
        throw InputError(path, std::string("cannot rename the temporary file into place: ") + std::strerror(err));
    }
}

}  // namespace

void write_onnx(const Network& net, const std::string& path) {
    try {
        net.validate();
    } catch (const InputError& e) {
        throw InputError(path, std::string("cannot write an invalid network: ") + e.what());
    }
    onnx::ModelProto m;
    m.set_ir_version(7);  // the IR version of opset 13
    m.set_producer_name("qcert");
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    Writer(m.mutable_graph()).run(net);
    std::string bytes;
    if (!m.SerializeToString(&bytes)) throw InputError(path, "the model is too large to serialize (protobuf limit 2 GB)");
    write_atomically(path, bytes);
}

}  // namespace qcert
