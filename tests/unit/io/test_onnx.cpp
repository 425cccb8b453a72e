// ONNX reader and writer.
//
//  1. The node tests of Debian's libonnx-testdata (expected outputs computed by
//     ONNX's reference implementation) for the operators that fit one sample.
//  2. Round trips of random networks through write_onnx / read_onnx.
//  3. An ONNX interpreter written here, independently of src/nn and src/io, run on
//     the written files and on hand-built models with the awkward attributes.
//  4. Quantized models (QDQ, QLinearMatMul, MatMulInteger) built with the
//     protobuf API: the integer network against the ONNX formulas evaluated with
//     exact rationals here.
//  5. Bad input: every failure is a qcert::InputError naming the file.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace qcert {
namespace {

namespace fs = std::filesystem;
using TP = onnx::TensorProto;
using i128 = __int128;

const std::string kNodeData = "/usr/share/libonnx-testdata/data/node";

// ---- protobuf helpers, written independently of src/io -------------------------------

int64_t count_of(const std::vector<int64_t>& d) {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    return n;
}

template <class T>
void append_raw(const std::string& raw, std::vector<double>& v) {
    for (size_t k = 0; k + sizeof(T) <= raw.size(); k += sizeof(T)) {
        T x;
        std::memcpy(&x, raw.data() + k, sizeof(T));
        v.push_back(double(x));
    }
}

std::vector<double> values_of(const TP& t) {
    std::vector<double> v;
    const std::string& raw = t.raw_data();
    const bool r = t.has_raw_data();
    switch (t.data_type()) {
        case TP::FLOAT: if (r) append_raw<float>(raw, v); else v.assign(t.float_data().begin(), t.float_data().end()); break;
        case TP::DOUBLE: if (r) append_raw<double>(raw, v); else v.assign(t.double_data().begin(), t.double_data().end()); break;
        case TP::INT64: if (r) append_raw<int64_t>(raw, v); else v.assign(t.int64_data().begin(), t.int64_data().end()); break;
        case TP::INT32: if (r) append_raw<int32_t>(raw, v); else v.assign(t.int32_data().begin(), t.int32_data().end()); break;
        case TP::UINT8: if (r) append_raw<uint8_t>(raw, v); else v.assign(t.int32_data().begin(), t.int32_data().end()); break;
        case TP::INT8: if (r) append_raw<int8_t>(raw, v); else v.assign(t.int32_data().begin(), t.int32_data().end()); break;
        default: ADD_FAILURE() << "test helper: unexpected tensor type " << t.data_type();
    }
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    EXPECT_EQ(int64_t(v.size()), count_of(dims)) << "tensor " << t.name();
    return v;
}

TP read_tensor_file(const std::string& path) {
    TP t;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in && t.ParseFromIstream(&in)) << path;
    return t;
}

onnx::ModelProto read_model_file(const std::string& path) {
    onnx::ModelProto m;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in && m.ParseFromIstream(&in)) << path;
    return m;
}

std::string save(const onnx::ModelProto& m, const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    EXPECT_TRUE(m.SerializeToOstream(&out)) << path;
    return path;
}

std::vector<double> to_std(const Vec& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
Vec to_vec(const std::vector<double>& v) { return Eigen::Map<const Vec>(v.data(), Eigen::Index(v.size())); }

// Agreement relative to the largest expected magnitude (infinity norm).
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rel, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    double scale = 0;
    for (double w : want) scale = std::max(scale, std::fabs(w));
    scale = std::max(scale, 1e-300);
    int bad = 0;
    for (size_t i = 0; i < got.size(); ++i)
        if (!(std::fabs(got[i] - want[i]) <= rel * scale) && bad++ < 5)
            ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
}

// Builds small ONNX models in tests.
struct GraphBuilder {
    onnx::ModelProto m;
    onnx::GraphProto* g;

    explicit GraphBuilder(int opset = 13) {
        m.set_ir_version(opset >= 13 ? 7 : 6);
        m.set_producer_name("qcert-test");
        auto* op = m.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        g = m.mutable_graph();
        g->set_name("test");
    }
    void input(const std::string& name, const std::vector<int64_t>& dims, int type = TP::FLOAT, bool symbolic = false) {
        auto* v = g->add_input();
        v->set_name(name);
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(type);
        auto* s = tt->mutable_shape();
        for (size_t k = 0; k < dims.size(); ++k) {
            if (k == 0 && symbolic) s->add_dim()->set_dim_param("N");
            else s->add_dim()->set_dim_value(dims[k]);
        }
    }
    void output(const std::string& name) {
        auto* v = g->add_output();
        v->set_name(name);
        v->mutable_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
    }
    TP* tensor(const std::string& name, const std::vector<int64_t>& dims, int type) {
        TP* t = g->add_initializer();
        t->set_name(name);
        t->set_data_type(type);
        for (int64_t d : dims) t->add_dims(d);
        return t;
    }
    // float32 values, raw (or in float_data when typed).
    void init_f(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v, bool typed = false) {
        TP* t = tensor(name, dims, TP::FLOAT);
        if (typed) for (float x : v) t->add_float_data(x);
        else t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    }
    void init_d(const std::string& name, const std::vector<int64_t>& dims, const std::vector<double>& v) {
        TP* t = tensor(name, dims, TP::DOUBLE);
        t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
    }
    void init_i(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v, int type,
                bool typed = false) {
        TP* t = tensor(name, dims, type);
        std::string raw;
        for (int64_t x : v) {
            if (typed) {
                if (type == TP::INT64) t->add_int64_data(x);
                else t->add_int32_data(int32_t(x));
                continue;
            }
            if (type == TP::INT8) { int8_t b = int8_t(x); raw.append(reinterpret_cast<char*>(&b), 1); }
            else if (type == TP::UINT8) { uint8_t b = uint8_t(x); raw.append(reinterpret_cast<char*>(&b), 1); }
            else if (type == TP::INT32) { int32_t b = int32_t(x); raw.append(reinterpret_cast<char*>(&b), 4); }
            else { raw.append(reinterpret_cast<char*>(&x), 8); }
        }
        if (!typed) t->set_raw_data(raw);
    }
    onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in, const std::string& out,
                          const std::string& name = "") {
        auto* n = g->add_node();
        n->set_op_type(op);
        n->set_name(name.empty() ? out + "_node" : name);
        for (const auto& i : in) n->add_input(i);
        n->add_output(out);
        return n;
    }
    static void attr_i(onnx::NodeProto* n, const std::string& name, int64_t v) {
        auto* a = n->add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::INT); a->set_i(v);
    }
    static void attr_f(onnx::NodeProto* n, const std::string& name, float v) {
        auto* a = n->add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::FLOAT); a->set_f(v);
    }
    static void attr_s(onnx::NodeProto* n, const std::string& name, const std::string& v) {
        auto* a = n->add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::STRING); a->set_s(v);
    }
    static void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
        auto* a = n->add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : v) a->add_ints(x);
    }
    std::string save_to(const test::TempDir& d, const std::string& name) const { return save(m, d.file(name)); }
};

// =========================================================================================
// 1. libonnx-testdata node tests
// =========================================================================================

// "float": compare the float network; "int": compare the integer network exactly;
// anything else is why the test does not fit a one-sample chain (the reader must
// then refuse it with an InputError).
struct NodeCase {
    std::string name, mode;
};

std::vector<NodeCase> node_cases() {
    std::vector<NodeCase> c;
    auto add = [&](std::initializer_list<const char*> names, const char* mode) {
        for (const char* n : names) c.push_back({n, mode});
    };
    add({"test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
         "test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
         "test_gemm_default_vector_bias", "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB",
         "test_matmul_2d", "test_matmul_3d", "test_matmul_4d", "test_relu", "test_sigmoid", "test_sigmoid_example",
         "test_tanh", "test_tanh_example", "test_leakyrelu", "test_leakyrelu_default", "test_leakyrelu_example",
         "test_clip", "test_clip_default_inbounds", "test_clip_default_max", "test_clip_default_min", "test_clip_example",
         "test_clip_inbounds", "test_clip_outbounds", "test_clip_splitbounds", "test_softmax_example",
         "test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
         "test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding",
         "test_conv_with_autopad_same", "test_flatten_axis0", "test_flatten_axis1", "test_flatten_axis2",
         "test_flatten_axis3", "test_flatten_default_axis", "test_flatten_negative_axis1", "test_flatten_negative_axis2",
         "test_flatten_negative_axis3", "test_flatten_negative_axis4", "test_reshape_extended_dims",
         "test_reshape_negative_dim", "test_reshape_negative_extended_dims", "test_reshape_one_dim",
         "test_reshape_reduced_dims", "test_reshape_reordered_all_dims", "test_reshape_reordered_last_dims",
         "test_reshape_zero_and_negative_dim", "test_reshape_zero_dim", "test_identity", "test_dropout_default",
         "test_dropout_default_ratio", "test_dropout_default_old", "test_dropout_random_old", "test_batchnorm_example",
         "test_batchnorm_epsilon", "test_add", "test_add_bcast", "test_sub", "test_sub_bcast", "test_sub_example",
         "test_mul", "test_mul_bcast", "test_mul_example", "test_div", "test_div_bcast", "test_div_example",
         "test_squeeze", "test_squeeze_negative_axes", "test_unsqueeze_axis_0", "test_unsqueeze_axis_1",
         "test_unsqueeze_axis_2", "test_unsqueeze_axis_3", "test_unsqueeze_negative_axes", "test_unsqueeze_three_axes",
         "test_unsqueeze_two_axes", "test_unsqueeze_unsorted_axes"},
        "float");
    add({"test_qlinearmatmul_2D", "test_qlinearmatmul_3D", "test_matmulinteger", "test_quantizelinear",
         "test_dequantizelinear"},
        "int");
    add({"test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2", "test_softmax_default_axis",
         "test_softmax_negative_axis", "test_softmax_large_number"},
        "Softmax over one axis of a tensor with several rows: qcert's Softmax normalises the whole sample");
    add({"test_clip_default_int8_inbounds", "test_clip_default_int8_max", "test_clip_default_int8_min",
         "test_add_uint8", "test_sub_uint8", "test_mul_uint8", "test_div_uint8"},
        "arithmetic on an integer graph input (integers must be dequantized first)");
    add({"test_dropout_default_mask", "test_dropout_default_mask_ratio"}, "two graph outputs (the dropout mask)");
    add({"test_reshape_allowzero_reordered"}, "a zero-sized tensor");
    add({"test_quantizelinear_axis", "test_dequantizelinear_axis"}, "per-axis quantization of the activation");
    add({"test_prelu_example", "test_prelu_broadcast"}, "PRelu with a different slope per element");
    add({"test_qlinearconv", "test_basic_convinteger", "test_convinteger_with_padding",
         "test_convinteger_without_padding"},
        "QLinearConv / ConvInteger are not supported");
    return c;
}

class OnnxNodeTest : public ::testing::TestWithParam<NodeCase> {};

// The node model with every graph input but the first turned into an initializer
// holding its test value.
std::string prepare_node_model(const std::string& name, const test::TempDir& dir) {
    const std::string base = kNodeData + "/" + name;
    onnx::ModelProto m = read_model_file(base + "/model.onnx");
    onnx::GraphProto* g = m.mutable_graph();
    for (int k = 1; k < g->input_size(); ++k) {
        TP t = read_tensor_file(base + "/test_data_set_0/input_" + std::to_string(k) + ".pb");
        t.set_name(g->input(k).name());
        *g->add_initializer() = t;
    }
    return save(m, dir.file(name + ".onnx"));
}

TEST_P(OnnxNodeTest, MatchesReferenceOutput) {
    const NodeCase& c = GetParam();
    const std::string base = kNodeData + "/" + c.name;
    if (!fs::exists(base + "/model.onnx")) GTEST_SKIP() << "skipped: " << base << " not present (libonnx-testdata)";
    test::TempDir dir;
    const std::string path = prepare_node_model(c.name, dir);
    if (c.mode != "float" && c.mode != "int") {
        EXPECT_THROW(read_onnx(path), InputError) << c.name;
        GTEST_SKIP() << "not a single-sample chain: " << c.mode;
    }
    const TP in = read_tensor_file(base + "/test_data_set_0/input_0.pb");
    const TP out = read_tensor_file(base + "/test_data_set_0/output_0.pb");
    const std::vector<double> x = values_of(in), want = values_of(out);
    LoadedModel lm = read_onnx(path);
    EXPECT_EQ(lm.net.source, path);
    if (c.mode == "float") {
        EXPECT_FALSE(lm.qdq.has_value());
        expect_close(to_std(lm.net.forward(to_vec(x))), want, 1e-6, c.name);
        return;
    }
    ASSERT_TRUE(lm.qdq.has_value()) << c.name;
    const IntNetwork& q = *lm.qdq;
    std::vector<int64_t> xi;
    if (in.data_type() == TP::FLOAT) {
        xi = q.input_from(to_vec(x), to_vec(x));  // QuantizeLinear of the float input
    } else {
        for (double v : x) xi.push_back(int64_t(v));
    }
    const IntEval ev = q.eval(xi);
    EXPECT_FALSE(ev.overflow);
    if (out.data_type() == TP::FLOAT) {
        // DequantizeLinear: the float network sees the real value of the integer input.
        std::vector<double> real;
        for (int64_t v : xi) real.push_back(double(v - q.input.zero) * q.input.scale);
        expect_close(to_std(lm.net.forward(to_vec(real))), want, 1e-6, c.name);
        expect_close(to_std(q.dequantize_output(ev.out)), want, 1e-6, c.name);
    } else {
        ASSERT_EQ(ev.out.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ev.out[i], int64_t(want[i])) << c.name << " element " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(LibOnnxTestdata, OnnxNodeTest, ::testing::ValuesIn(node_cases()),
                         [](const ::testing::TestParamInfo<NodeCase>& i) { return i.param.name; });


// =========================================================================================
// 2 and 3. Round trips, and an ONNX interpreter written independently of src/
// =========================================================================================

// A tensor of the interpreter: shape (batch included) and row-major values.
struct NT {
    std::vector<int64_t> d;
    std::vector<double> v;
};

std::vector<int64_t> strides(const std::vector<int64_t>& d) {
    std::vector<int64_t> s(d.size(), 1);
    for (int k = int(d.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * d[k + 1];
    return s;
}

// Numpy broadcasting of two tensors through f.
NT broadcast2(const NT& a, const NT& b, const std::function<double(double, double)>& f) {
    const size_t r = std::max(a.d.size(), b.d.size());
    std::vector<int64_t> da(r, 1), db(r, 1), out(r);
    std::copy(a.d.begin(), a.d.end(), da.begin() + (r - a.d.size()));
    std::copy(b.d.begin(), b.d.end(), db.begin() + (r - b.d.size()));
    for (size_t k = 0; k < r; ++k) {
        EXPECT_TRUE(da[k] == db[k] || da[k] == 1 || db[k] == 1) << "interpreter: shapes do not broadcast";
        out[k] = std::max(da[k], db[k]);
    }
    const auto so = strides(out), sa = strides(da), sb = strides(db);
    NT o{out, std::vector<double>(size_t(count_of(out)))};
    for (int64_t i = 0; i < int64_t(o.v.size()); ++i) {
        int64_t ia = 0, ib = 0;
        for (size_t k = 0; k < r; ++k) {
            const int64_t idx = (i / so[k]) % out[k];
            if (da[k] != 1) ia += idx * sa[k];
            if (db[k] != 1) ib += idx * sb[k];
        }
        o.v[size_t(i)] = f(a.v[size_t(ia)], b.v[size_t(ib)]);
    }
    return o;
}

// Runs a float ONNX model on one sample: Gemm, MatMul (2-D), Conv, Relu, LeakyRelu,
// PRelu (one slope), Sigmoid, Tanh, Softmax, Clip, Add/Sub/Mul/Div, BatchNormalization,
// Reshape, Flatten, Transpose, Identity.
class NaiveOnnx {
public:
    explicit NaiveOnnx(const onnx::ModelProto& m) : m_(m) {
        for (const auto& a : m.opset_import())
            if (a.domain().empty()) opset_ = int(a.version());
    }

    std::vector<double> run(const std::vector<double>& x) {
        std::map<std::string, NT> env;
        const auto& g = m_.graph();
        for (const auto& t : g.initializer())
            env[t.name()] = NT{std::vector<int64_t>(t.dims().begin(), t.dims().end()), values_of(t)};
        const auto& in = g.input(0);
        NT xin;
        for (const auto& d : in.type().tensor_type().shape().dim()) xin.d.push_back(d.has_dim_value() ? d.dim_value() : 1);
        xin.v = x;
        EXPECT_EQ(count_of(xin.d), int64_t(x.size()));
        env[in.name()] = xin;
        for (const auto& n : g.node()) env[n.output(0)] = eval(n, env);
        return env.at(g.output(0).name()).v;
    }

private:
    static int64_t ai(const onnx::NodeProto& n, const std::string& k, int64_t def) {
        for (const auto& a : n.attribute()) if (a.name() == k) return a.i();
        return def;
    }
    static double af(const onnx::NodeProto& n, const std::string& k, double def) {
        for (const auto& a : n.attribute()) if (a.name() == k) return a.f();
        return def;
    }
    static std::vector<int64_t> aints(const onnx::NodeProto& n, const std::string& k) {
        for (const auto& a : n.attribute()) if (a.name() == k) return {a.ints().begin(), a.ints().end()};
        return {};
    }
    static std::string as(const onnx::NodeProto& n, const std::string& k) {
        for (const auto& a : n.attribute()) if (a.name() == k) return a.s();
        return "NOTSET";
    }

    NT eval(const onnx::NodeProto& n, std::map<std::string, NT>& env) {
        const std::string& op = n.op_type();
        auto in = [&](int k) -> const NT& { return env.at(n.input(k)); };
        auto has = [&](int k) { return k < n.input_size() && !n.input(k).empty(); };
        if (op == "Identity" || op == "Dropout") return in(0);
        if (op == "Shape") {
            NT o{{int64_t(in(0).d.size())}, {}};
            for (int64_t d : in(0).d) o.v.push_back(double(d));
            return o;
        }
        if (op == "Gather") {  // 1-D data and indices
            NT o{in(1).d, {}};
            for (double i : in(1).v) o.v.push_back(in(0).v[size_t(i)]);
            return o;
        }
        if (op == "Concat") {  // 1-D
            NT o{{0}, {}};
            for (int k = 0; k < n.input_size(); ++k) o.v.insert(o.v.end(), in(k).v.begin(), in(k).v.end());
            o.d[0] = int64_t(o.v.size());
            return o;
        }
        if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu") {
            NT o = in(0);
            const double alpha = af(n, "alpha", 0.01);
            for (double& v : o.v) {
                if (op == "Relu") v = v > 0 ? v : 0;
                else if (op == "Sigmoid") v = 1 / (1 + std::exp(-v));
                else if (op == "Tanh") v = std::tanh(v);
                else v = v >= 0 ? v : alpha * v;
            }
            return o;
        }
        if (op == "PRelu") {
            NT o = in(0);
            EXPECT_EQ(in(1).v.size(), 1u);
            for (double& v : o.v) v = v >= 0 ? v : in(1).v[0] * v;
            return o;
        }
        if (op == "Add") return broadcast2(in(0), in(1), [](double a, double b) { return a + b; });
        if (op == "Sub") return broadcast2(in(0), in(1), [](double a, double b) { return a - b; });
        if (op == "Mul") return broadcast2(in(0), in(1), [](double a, double b) { return a * b; });
        if (op == "Div") return broadcast2(in(0), in(1), [](double a, double b) { return a / b; });
        if (op == "Clip") {
            NT o = in(0);
            const double lo = has(1) ? in(1).v[0] : -INFINITY, hi = has(2) ? in(2).v[0] : INFINITY;
            for (double& v : o.v) v = std::min(std::max(v, lo), hi);
            return o;
        }
        if (op == "Reshape") {
            NT o = in(0);
            o.d.clear();
            int64_t known = 1, infer = -1;
            const std::vector<double>& s = in(1).v;
            for (size_t k = 0; k < s.size(); ++k) {
                int64_t v = int64_t(s[k]);
                if (v == 0) v = in(0).d[k];
                if (v == -1) { infer = int64_t(k); o.d.push_back(1); continue; }
                known *= v;
                o.d.push_back(v);
            }
            if (infer >= 0) o.d[size_t(infer)] = int64_t(o.v.size()) / known;
            return o;
        }
        if (op == "Flatten") {
            NT o = in(0);
            int64_t axis = ai(n, "axis", 1), a = 1;
            if (axis < 0) axis += int64_t(o.d.size());
            for (int64_t k = 0; k < axis; ++k) a *= o.d[size_t(k)];
            o.d = {a, int64_t(o.v.size()) / a};
            return o;
        }
        if (op == "Transpose") {
            const NT& x = in(0);
            const std::vector<int64_t> perm = aints(n, "perm");
            NT o;
            for (int64_t p : perm) o.d.push_back(x.d[size_t(p)]);
            o.v.resize(x.v.size());
            const auto so = strides(o.d), sx = strides(x.d);
            for (int64_t i = 0; i < int64_t(o.v.size()); ++i) {
                int64_t src = 0;
                for (size_t k = 0; k < perm.size(); ++k) src += ((i / so[k]) % o.d[k]) * sx[size_t(perm[k])];
                o.v[size_t(i)] = x.v[size_t(src)];
            }
            return o;
        }
        if (op == "Softmax") {  // opset >= 13: along one axis
            NT o = in(0);
            int64_t axis = ai(n, "axis", -1);
            if (axis < 0) axis += int64_t(o.d.size());
            const auto st = strides(o.d);
            const int64_t len = o.d[size_t(axis)], step = st[size_t(axis)];
            for (int64_t i = 0; i < int64_t(o.v.size()); ++i) {
                if ((i / step) % len != 0) continue;  // i starts a run along the axis
                double mx = -INFINITY, sum = 0;
                for (int64_t k = 0; k < len; ++k) mx = std::max(mx, o.v[size_t(i + k * step)]);
                for (int64_t k = 0; k < len; ++k) sum += std::exp(o.v[size_t(i + k * step)] - mx);
                for (int64_t k = 0; k < len; ++k) o.v[size_t(i + k * step)] = std::exp(o.v[size_t(i + k * step)] - mx) / sum;
            }
            return o;
        }
        if (op == "Gemm" || op == "MatMul") {
            const NT& A = in(0);
            const NT& B = in(1);
            const bool ta = ai(n, "transA", 0), tb = ai(n, "transB", 0);
            const double alpha = op == "Gemm" ? af(n, "alpha", 1) : 1, beta = af(n, "beta", 1);
            const int64_t M = ta ? A.d[1] : A.d[0], K = ta ? A.d[0] : A.d[1], N = tb ? B.d[0] : B.d[1];
            NT o{{M, N}, std::vector<double>(size_t(M * N), 0.0)};
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    double s = 0;
                    for (int64_t k = 0; k < K; ++k)
                        s += A.v[size_t(ta ? k * A.d[1] + i : i * A.d[1] + k)] * B.v[size_t(tb ? j * B.d[1] + k : k * B.d[1] + j)];
                    o.v[size_t(i * N + j)] = alpha * s;
                }
            if (op == "Gemm" && has(2)) {
                NT c = in(2);
                for (double& v : c.v) v *= beta;
                o = broadcast2(o, c, [](double a, double b) { return a + b; });
            }
            return o;
        }
        if (op == "BatchNormalization") {
            NT o = in(0);
            const double eps = af(n, "epsilon", 1e-5);
            int64_t inner = 1;
            for (size_t k = 2; k < o.d.size(); ++k) inner *= o.d[k];
            for (int64_t i = 0; i < int64_t(o.v.size()); ++i) {
                const size_t c = size_t((i / inner) % o.d[1]);
                o.v[size_t(i)] = in(1).v[c] * (o.v[size_t(i)] - in(3).v[c]) / std::sqrt(in(4).v[c] + eps) + in(2).v[c];
            }
            return o;
        }
        if (op == "Conv") return conv(n, in(0), in(1), has(2) ? &in(2) : nullptr);
        ADD_FAILURE() << "interpreter: operator " << op << " not implemented";
        return {};
    }

    // Direct 2-D convolution of a [1, C, H, W] input.
    NT conv(const onnx::NodeProto& n, const NT& x, const NT& w, const NT* b) {
        const int64_t C = x.d[1], H = x.d[2], W = x.d[3], O = w.d[0], KH = w.d[2], KW = w.d[3];
        std::vector<int64_t> st = aints(n, "strides"), dl = aints(n, "dilations"), pads = aints(n, "pads");
        if (st.empty()) st = {1, 1};
        if (dl.empty()) dl = {1, 1};
        if (pads.empty()) pads = {0, 0, 0, 0};
        const std::string ap = as(n, "auto_pad");
        int64_t OH, OW;
        if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
            OH = (H + st[0] - 1) / st[0];
            OW = (W + st[1] - 1) / st[1];
            const int64_t ph = std::max<int64_t>(0, (OH - 1) * st[0] + (KH - 1) * dl[0] + 1 - H);
            const int64_t pw = std::max<int64_t>(0, (OW - 1) * st[1] + (KW - 1) * dl[1] + 1 - W);
            pads = ap == "SAME_UPPER" ? std::vector<int64_t>{ph / 2, pw / 2, ph - ph / 2, pw - pw / 2}
                                      : std::vector<int64_t>{ph - ph / 2, pw - pw / 2, ph / 2, pw / 2};
        } else {
            if (ap == "VALID") pads = {0, 0, 0, 0};
            OH = (H + pads[0] + pads[2] - (KH - 1) * dl[0] - 1) / st[0] + 1;
            OW = (W + pads[1] + pads[3] - (KW - 1) * dl[1] - 1) / st[1] + 1;
        }
        NT o{{1, O, OH, OW}, std::vector<double>(size_t(O * OH * OW), 0.0)};
        for (int64_t oc = 0; oc < O; ++oc)
            for (int64_t y = 0; y < OH; ++y)
                for (int64_t xo = 0; xo < OW; ++xo) {
                    double s = b ? b->v[size_t(oc)] : 0.0;
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t i = 0; i < KH; ++i)
                            for (int64_t j = 0; j < KW; ++j) {
                                const int64_t yy = y * st[0] + i * dl[0] - pads[0];
                                const int64_t xx = xo * st[1] + j * dl[1] - pads[1];
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
                                s += w.v[size_t(((oc * C + c) * KH + i) * KW + j)] * x.v[size_t((c * H + yy) * W + xx)];
                            }
                    o.v[size_t((oc * OH + y) * OW + xo)] = s;
                }
        return o;
    }

    const onnx::ModelProto& m_;
    int opset_ = 13;
};

// ---- random networks -----------------------------------------------------------------

struct Rng {
    std::mt19937_64 gen;
    explicit Rng(uint64_t seed) : gen(seed) {}
    double uni(double lo = -1, double hi = 1) { return std::uniform_real_distribution<double>(lo, hi)(gen); }
    int64_t integer(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); }
    Mat mat(int64_t r, int64_t c) {
        Mat m(r, c);
        for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = uni();
        return m;
    }
    Vec vec(int64_t n, double lo = -1, double hi = 1) {
        Vec v(n);
        for (int64_t i = 0; i < n; ++i) v[i] = uni(lo, hi);
        return v;
    }
};

Layer shaped(Layer l, Shape in, Shape out) {
    l.in_shape = std::move(in);
    l.out_shape = std::move(out);
    return l;
}

Layer act(Op op, const Shape& s, double alpha = 0) {
    Layer l = make_activation(op, shape_size(s));
    l.alpha = alpha;
    return shaped(l, s, s);
}

Layer affine(const Shape& s, Rng& r) {
    Layer l;
    l.op = Op::Affine;
    l.scale = r.vec(shape_size(s), 0.5, 2.0);
    l.shift = r.vec(shape_size(s));
    return shaped(l, s, s);
}

Layer clip(const Shape& s, double lo, double hi) {
    Layer l = act(Op::Clip, s);
    l.lo = lo;
    l.hi = hi;
    return l;
}

Layer conv(const Shape& in, int64_t O, int64_t kh, int64_t kw, std::vector<int64_t> stride, std::vector<int64_t> pad,
           std::vector<int64_t> dil, Rng& r) {
    Layer l;
    l.op = Op::Conv2D;
    ConvGeometry& g = l.conv;
    g.in_channels = in[0];
    g.out_channels = O;
    g.kernel_h = kh;
    g.kernel_w = kw;
    g.stride_h = stride[0]; g.stride_w = stride[1];
    g.pad_top = pad[0]; g.pad_left = pad[1]; g.pad_bottom = pad[2]; g.pad_right = pad[3];
    g.dilation_h = dil[0]; g.dilation_w = dil[1];
    const int64_t oh = (in[1] + pad[0] + pad[2] - dil[0] * (kh - 1) - 1) / stride[0] + 1;
    const int64_t ow = (in[2] + pad[1] + pad[3] - dil[1] * (kw - 1) - 1) / stride[1] + 1;
    l.weight = r.mat(O, in[0] * kh * kw);
    l.bias = r.vec(O);
    return shaped(l, in, {O, oh, ow});
}

Network random_mlp(uint64_t seed) {
    Rng r(seed);
    Network n;
    n.source = "random_mlp";
    n.input_shape = {7};
    auto dense = [&](int64_t in, int64_t out) { return make_dense(r.mat(out, in), r.vec(out)); };
    n.layers = {dense(7, 9), act(Op::ReLU, {9}), affine({9}, r), dense(9, 8), act(Op::Sigmoid, {8}), dense(8, 6),
                act(Op::Tanh, {6}), dense(6, 5), act(Op::LeakyReLU, {5}, 0.1), dense(5, 5),
                act(Op::LeakyReLU, {5}, 0.25), clip({5}, -0.5, 0.7), dense(5, 4), clip({4}, -INFINITY, 0.3),
                act(Op::Softmax, {4})};
    return n;
}

Network random_cnn(uint64_t seed) {
    Rng r(seed);
    Network n;
    n.source = "random_cnn";
    n.input_shape = {2, 9, 8};
    Layer c1 = conv({2, 9, 8}, 3, 3, 2, {2, 1}, {1, 0, 2, 1}, {1, 2}, r);
    const Shape s1 = c1.out_shape;
    Layer c2 = conv(s1, 2, 2, 2, {1, 1}, {0, 0, 0, 0}, {1, 1}, r);
    const Shape s2 = c2.out_shape;
    Layer c3 = conv(s2, 4, 3, 3, {1, 2}, {1, 1, 1, 1}, {2, 1}, r);
    const Shape s3 = c3.out_shape;
    const int64_t flat = shape_size(s3);
    Layer flatten;
    flatten.op = Op::Reshape;
    n.layers = {c1, act(Op::ReLU, s1), affine(s1, r), c2, act(Op::LeakyReLU, s2, 0.01), c3, act(Op::Tanh, s3),
                shaped(flatten, s3, {flat}), make_dense(r.mat(5, flat), r.vec(5)), clip({5}, 0.0, INFINITY),
                act(Op::Softmax, {5})};
    return n;
}

// A conv net whose Dense takes the conv output without a Reshape layer (the
// writer must insert one) and ends in a 2-D Softmax.
Network random_cnn_no_reshape(uint64_t seed) {
    Rng r(seed);
    Network n;
    n.source = "random_cnn2";
    n.input_shape = {1, 6, 6};
    Layer c1 = conv({1, 6, 6}, 2, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, r);
    Layer d = make_dense(r.mat(3, shape_size(c1.out_shape)), r.vec(3));
    d.in_shape = c1.out_shape;
    n.layers = {c1, act(Op::Sigmoid, c1.out_shape), d};
    return n;
}

std::vector<Network> random_networks() {
    std::vector<Network> v;
    for (uint64_t s = 1; s <= 3; ++s) {
        v.push_back(random_mlp(s));
        v.push_back(random_cnn(100 + s));
        v.push_back(random_cnn_no_reshape(200 + s));
    }
    Network id;
    id.source = "identity";
    id.input_shape = {3, 2};
    v.push_back(id);
    return v;
}

TEST(OnnxRoundTrip, RandomNetworksKeepTheirFunction) {
    test::TempDir dir;
    int k = 0;
    for (const Network& net : random_networks()) {
        ASSERT_NO_THROW(net.validate()) << net.source;
        const std::string path = dir.file("net" + std::to_string(k++) + ".onnx");
        write_onnx(net, path);
        const LoadedModel back = read_onnx(path);
        EXPECT_FALSE(back.qdq.has_value());
        EXPECT_EQ(back.net.input_shape, net.input_shape) << net.source;
        EXPECT_EQ(back.net.output_size(), net.output_size()) << net.source;
        EXPECT_EQ(back.net.parameter_count(), net.parameter_count()) << net.source;
        Rng r(7 + k);
        for (int t = 0; t < 20; ++t) {
            const Vec x = r.vec(net.input_size(), -2, 2);
            expect_close(to_std(back.net.forward(x)), to_std(net.forward(x)), 1e-12, net.source);
        }
    }
}

TEST(OnnxRoundTrip, LayerStructureSurvives) {
    test::TempDir dir;
    const Network net = random_cnn(5);
    write_onnx(net, dir.file("cnn.onnx"));
    const Network back = read_onnx(dir.file("cnn.onnx")).net;
    ASSERT_EQ(back.layers.size(), net.layers.size());
    for (size_t i = 0; i < net.layers.size(); ++i) {
        EXPECT_EQ(back.layers[i].op, net.layers[i].op) << "layer " << i;
        EXPECT_EQ(back.layers[i].out_shape, net.layers[i].out_shape) << "layer " << i;
    }
    EXPECT_EQ(back.layers[0].weight, net.layers[0].weight);
    EXPECT_EQ(back.layers[0].conv.pad_bottom, 2);
    EXPECT_EQ(back.layers[0].conv.dilation_w, 2);
}

TEST(OnnxIndependent, WrittenModelsAgreeWithInterpreter) {
    test::TempDir dir;
    int k = 0;
    for (const Network& net : random_networks()) {
        const std::string path = dir.file("n" + std::to_string(k++) + ".onnx");
        write_onnx(net, path);
        const onnx::ModelProto m = read_model_file(path);
        NaiveOnnx interp(m);
        const Network back = read_onnx(path).net;
        Rng r(11 + k);
        for (int t = 0; t < 10; ++t) {
            const Vec x = r.vec(net.input_size(), -2, 2);
            expect_close(to_std(back.forward(x)), interp.run(to_std(x)), 1e-9, net.source);
        }
    }
}

std::vector<double> random_doubles(Rng& r, int64_t n, double lo = -1, double hi = 1) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = r.uni(lo, hi);
    return v;
}

// A model with what exporters emit and the writer does not: SAME padding, a
// Transpose of NHWC input, BatchNormalization, Flatten, MatMul + Add, Sub with
// the constant first, Div, Gemm with transA on a constant A, a Shape -> Gather ->
// Concat -> Reshape flatten, Dropout and Identity.
onnx::ModelProto exporter_style_model(const std::string& auto_pad, uint64_t seed) {
    Rng r(seed);
    GraphBuilder b(13);
    b.input("x", {1, 7, 6, 2}, TP::DOUBLE, true);  // NHWC
    b.node("Transpose", {"x"}, "nchw")->mutable_attribute();
    GraphBuilder::attr_ints(b.g->mutable_node(0), "perm", {0, 3, 1, 2});
    b.init_d("w1", {3, 2, 3, 3}, random_doubles(r, 54));
    b.init_d("b1", {3}, random_doubles(r, 3));
    auto* c = b.node("Conv", {"nchw", "w1", "b1"}, "c1");
    GraphBuilder::attr_s(c, "auto_pad", auto_pad);
    GraphBuilder::attr_ints(c, "strides", {2, 2});
    GraphBuilder::attr_ints(c, "dilations", {1, 2});
    const int64_t oh = (7 + 1) / 2, ow = (6 + 1) / 2;
    b.init_d("gamma", {3}, random_doubles(r, 3, 0.5, 2));
    b.init_d("beta", {3}, random_doubles(r, 3));
    b.init_d("mean", {3}, random_doubles(r, 3));
    b.init_d("var", {3}, random_doubles(r, 3, 0.1, 2));
    GraphBuilder::attr_f(b.node("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, "bn"), "epsilon", 1e-3f);
    b.node("Relu", {"bn"}, "r1");
    b.node("Dropout", {"r1"}, "d1");
    b.node("Shape", {"d1"}, "shape");
    b.init_i("zero", {1}, {0}, TP::INT64);
    auto* gather = b.node("Gather", {"shape", "zero"}, "batch");
    GraphBuilder::attr_i(gather, "axis", 0);
    b.init_i("minus1", {1}, {-1}, TP::INT64, true);
    GraphBuilder::attr_i(b.node("Concat", {"batch", "minus1"}, "newshape"), "axis", 0);
    b.node("Reshape", {"d1", "newshape"}, "flat");
    const int64_t n1 = 3 * oh * ow;
    b.init_d("w2", {n1, 5}, random_doubles(r, n1 * 5));
    b.node("MatMul", {"flat", "w2"}, "mm");
    b.init_d("b2", {5}, random_doubles(r, 5));
    b.node("Add", {"mm", "b2"}, "fc");
    b.init_d("c", {1, 5}, random_doubles(r, 5));
    b.node("Sub", {"c", "fc"}, "neg");  // c - x
    b.init_d("dv", {5}, random_doubles(r, 5, 1, 3));
    b.node("Div", {"neg", "dv"}, "div");
    b.node("Tanh", {"div"}, "t");
    b.node("Identity", {"t"}, "t2");
    // Gemm with the activation as B: y = A' * x^T with transB, A a constant given transposed.
    b.init_d("A", {5, 4}, random_doubles(r, 20));
    auto* gm = b.node("Gemm", {"A", "t2"}, "g");
    GraphBuilder::attr_i(gm, "transA", 1);
    GraphBuilder::attr_i(gm, "transB", 1);
    GraphBuilder::attr_f(gm, "alpha", 0.5f);
    b.node("Flatten", {"g"}, "gf");
    auto* f = b.node("Flatten", {"gf"}, "gf2");
    GraphBuilder::attr_i(f, "axis", 0);
    b.output("gf2");
    return b.m;
}

TEST(OnnxIndependent, ExporterStyleModelsAgreeWithInterpreter) {
    test::TempDir dir;
    for (const char* pad : {"SAME_UPPER", "SAME_LOWER"}) {
        const onnx::ModelProto m = exporter_style_model(pad, 42);
        const std::string path = save(m, dir.file(std::string(pad) + ".onnx"));
        const Network net = read_onnx(path).net;
        EXPECT_EQ(net.input_shape, (Shape{7, 6, 2}));
        EXPECT_EQ(net.output_size(), 4);
        NaiveOnnx interp(m);
        Rng r(3);
        for (int t = 0; t < 10; ++t) {
            const std::vector<double> x = random_doubles(r, 7 * 6 * 2, -2, 2);
            expect_close(to_std(net.forward(to_vec(x))), interp.run(x), 1e-9, pad);
        }
        // The MatMul + Add pair is one Dense layer.
        int dense = 0;
        for (const Layer& l : net.layers) dense += l.op == Op::Dense;
        EXPECT_EQ(dense, 3) << "Transpose, MatMul+Add and Gemm";
    }
}

TEST(OnnxIndependent, OlderOpsetAttributes) {
    // Opset 9: Clip bounds and Softmax's coerced 2-D axis are attributes; a
    // Constant node gives the Reshape target; Unsqueeze/Squeeze axes attributes.
    Rng r(9);
    GraphBuilder b(9);
    b.input("x", {1, 6}, TP::FLOAT, true);
    b.init_f("w", {4, 6}, {0.5f, -1, 2, 0.25f, 1, -0.5f, 1, 1, -1, 0, 0.5f, 2, -2, 0.125f, 1, 1, 0, -1, 3, 1, 1, -1, 0.5f, 0.5f}, true);
    auto* g = b.node("Gemm", {"x", "w"}, "g");
    GraphBuilder::attr_i(g, "transB", 1);
    auto* cl = b.node("Clip", {"g"}, "cl");
    GraphBuilder::attr_f(cl, "min", -1.5f);
    GraphBuilder::attr_f(cl, "max", 2.0f);
    auto* un = b.node("Unsqueeze", {"cl"}, "un");
    GraphBuilder::attr_ints(un, "axes", {2});
    auto* sq = b.node("Squeeze", {"un"}, "sq");
    GraphBuilder::attr_ints(sq, "axes", {2});
    auto* k = b.node("Constant", {}, "shape");
    auto* a = k->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(TP::INT64);
    a->mutable_t()->add_dims(3);
    for (int64_t v : {1, 2, 2}) a->mutable_t()->add_int64_data(v);
    b.node("Reshape", {"sq", "shape"}, "rs");
    b.node("Softmax", {"rs"}, "sm");  // axis 1: over the 2x2 block, the whole sample
    b.output("sm");
    test::TempDir dir;
    const Network net = read_onnx(b.save_to(dir, "old.onnx")).net;
    const std::vector<double> x{0.3, -1.2, 0.7, 2.0, -0.1, 0.9};
    std::vector<double> z(4);
    const float* w = nullptr;
    (void)w;
    const std::vector<double> W{0.5, -1, 2, 0.25, 1, -0.5, 1, 1, -1, 0, 0.5, 2, -2, 0.125, 1, 1, 0, -1, 3, 1, 1, -1, 0.5, 0.5};
    double sum = 0;
    for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 6; ++j) z[size_t(i)] += W[size_t(i * 6 + j)] * x[size_t(j)];
        z[size_t(i)] = std::exp(std::min(std::max(z[size_t(i)], -1.5), 2.0));
        sum += z[size_t(i)];
    }
    for (double& v : z) v /= sum;
    expect_close(to_std(net.forward(to_vec(x))), z, 1e-9, "opset 9");
}

// =========================================================================================
// 4. Quantized models against the ONNX formulas with exact rationals
// =========================================================================================

// Exact rationals for the reference (independent of src/io/onnx_qdq).
struct Q {
    i128 n = 0, d = 1;
};
i128 gcd_(i128 a, i128 b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) { i128 t = a % b; a = b; b = t; }
    return a;
}
Q norm(Q q) {
    if (q.d < 0) { q.n = -q.n; q.d = -q.d; }
    const i128 g = gcd_(q.n, q.d);
    if (g > 1) { q.n /= g; q.d /= g; }
    return q;
}
Q of_float(float f) {  // f = m * 2^e exactly
    int e;
    const double fr = std::frexp(double(f), &e);
    i128 m = i128(std::ldexp(fr, 30));
    e -= 30;
    return e >= 0 ? norm({m << e, 1}) : norm({m, i128(1) << (-e)});
}
Q mul(Q a, Q b) { return norm({a.n * b.n, a.d * b.d}); }
Q add(Q a, Q b) { return norm({a.n * b.d + b.n * a.d, a.d * b.d}); }
Q div(Q a, Q b) { return norm({a.n * b.d, a.d * b.n}); }
// Round half to even, as QuantizeLinear does.
int64_t round_half_even(Q q) {
    i128 fl = q.n / q.d, rem = q.n % q.d;
    if (rem < 0) { fl -= 1; rem += q.d; }
    if (2 * rem > q.d || (2 * rem == q.d && (fl % 2 != 0))) fl += 1;
    return int64_t(fl);
}
int64_t sat(int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); }

// ORT-style static QDQ MLP: x -> Q -> DQ -> MatMul(DQ(W1 int8)) + DQ(b1 int32) -> Q -> DQ
// -> Relu -> Q -> DQ -> Gemm(DQ(W2 int8, per tensor or per channel), DQ(b2 int32)) -> Q -> DQ.
struct QdqMlp {
    int64_t n0 = 6, n1 = 5, n2 = 3;
    float s0, sw1, s1, s2;
    std::vector<float> sw2;  // one, or one per output
    int64_t z0, z1, z2;
    std::vector<int64_t> W1, b1, W2, b2;  // W1 [n0, n1] (MatMul), W2 [n2, n1] (Gemm transB)
    float sb1;
    std::vector<float> sb2;

    QdqMlp(uint64_t seed, bool per_channel, bool ties) {
        Rng r(seed);
        auto scale = [&](double lo, double hi) { return float(r.uni(lo, hi)); };
        if (ties) {  // powers of two: exact halves happen all the time
            s0 = 0.0625f; sw1 = 0.125f; s1 = 0.25f; s2 = 0.5f;
            sw2 = per_channel ? std::vector<float>{0.125f, 0.046875f, 0.25f} : std::vector<float>{0.0625f};
        } else {
            s0 = scale(0.003, 0.02); sw1 = scale(0.002, 0.02); s1 = scale(0.01, 0.1); s2 = scale(0.01, 0.1);
            sw2 = per_channel ? std::vector<float>{scale(0.002, 0.02), scale(0.002, 0.02), scale(0.002, 0.02)}
                              : std::vector<float>{scale(0.002, 0.02)};
        }
        z0 = r.integer(100, 150);
        z1 = r.integer(0, 40);
        z2 = r.integer(90, 160);
        for (int64_t k = 0; k < n0 * n1; ++k) W1.push_back(r.integer(-127, 127));
        for (int64_t k = 0; k < n1; ++k) b1.push_back(r.integer(-3000, 3000));
        for (int64_t k = 0; k < n2 * n1; ++k) W2.push_back(r.integer(-127, 127));
        for (int64_t k = 0; k < n2; ++k) b2.push_back(r.integer(-3000, 3000));
        sb1 = s0 * sw1;  // float32 product, as quantizers store it
        for (float s : sw2) sb2.push_back(s1 * s);
    }

    onnx::ModelProto model() const {
        GraphBuilder b(13);
        b.input("x", {1, n0}, TP::FLOAT, true);
        auto qdq = [&](const std::string& in, const std::string& out, const char* s, const char* z) {
            b.node("QuantizeLinear", {in, s, z}, out + "_q");
            b.node("DequantizeLinear", {out + "_q", s, z}, out);
        };
        b.init_f("s0", {}, {s0});
        b.init_i("z0", {}, {z0}, TP::UINT8);
        b.init_f("s1", {}, {s1});
        b.init_i("z1", {}, {z1}, TP::UINT8);
        b.init_f("s2", {}, {s2});
        b.init_i("z2", {}, {z2}, TP::UINT8, true);
        qdq("x", "xd", "s0", "z0");
        b.init_i("W1q", {n0, n1}, W1, TP::INT8);
        b.init_f("sw1", {}, {sw1});
        b.init_i("zw1", {}, {0}, TP::INT8);
        b.node("DequantizeLinear", {"W1q", "sw1", "zw1"}, "W1");
        b.node("MatMul", {"xd", "W1"}, "mm1");
        b.init_i("b1q", {n1}, b1, TP::INT32);
        b.init_f("sb1", {}, {sb1});
        b.node("DequantizeLinear", {"b1q", "sb1"}, "b1");
        b.node("Add", {"mm1", "b1"}, "a1");
        qdq("a1", "a1d", "s1", "z1");
        b.node("Relu", {"a1d"}, "h");
        qdq("h", "hd", "s1", "z1");
        b.init_i("W2q", {n2, n1}, W2, TP::INT8, true);
        b.init_f("sw2", sw2.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{n2}, sw2);
        b.init_i("zw2", sw2.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{n2},
                 std::vector<int64_t>(sw2.size(), 0), TP::INT8);
        auto* dq = b.node("DequantizeLinear", {"W2q", "sw2", "zw2"}, "W2");
        GraphBuilder::attr_i(dq, "axis", 0);
        b.init_i("b2q", {n2}, b2, TP::INT32);
        b.init_f("sb2", sb2.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{n2}, sb2);
        b.init_i("zb2", sb2.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{n2},
                 std::vector<int64_t>(sb2.size(), 0), TP::INT32);
        GraphBuilder::attr_i(b.node("DequantizeLinear", {"b2q", "sb2", "zb2"}, "b2"), "axis", 0);
        auto* gm = b.node("Gemm", {"hd", "W2", "b2"}, "g2");
        GraphBuilder::attr_i(gm, "transB", 1);
        qdq("g2", "y", "s2", "z2");
        b.output("y");
        return b.m;
    }

    // The ONNX semantics with the integer kernels' reading of the bias: the int32
    // bias sits in the accumulator at scale s_in * s_w.
    std::vector<int64_t> reference(const std::vector<int64_t>& q0) const {
        std::vector<int64_t> h(static_cast<size_t>(n1)), y(static_cast<size_t>(n2));
        for (int64_t i = 0; i < n1; ++i) {
            i128 acc = b1[size_t(i)];
            for (int64_t j = 0; j < n0; ++j) acc += i128(W1[size_t(j * n1 + i)]) * (q0[size_t(j)] - z0);
            const Q real = mul(Q{acc, 1}, mul(of_float(s0), of_float(sw1)));
            const int64_t v = sat(round_half_even(div(real, of_float(s1))) + z1, 0, 255);
            h[size_t(i)] = std::max(v, z1);  // Relu between DQ and Q with the same parameters
        }
        for (int64_t o = 0; o < n2; ++o) {
            i128 acc = b2[size_t(o)];
            for (int64_t i = 0; i < n1; ++i) acc += i128(W2[size_t(o * n1 + i)]) * (h[size_t(i)] - z1);
            const float sw = sw2.size() == 1 ? sw2[0] : sw2[size_t(o)];
            const Q real = mul(Q{acc, 1}, mul(of_float(s1), of_float(sw)));
            y[size_t(o)] = sat(round_half_even(div(real, of_float(s2))) + z2, 0, 255);
        }
        return y;
    }

    // The dequantized float network, for the float side.
    std::vector<double> float_reference(const std::vector<double>& x) const {
        std::vector<double> h(static_cast<size_t>(n1)), y(static_cast<size_t>(n2));
        for (int64_t i = 0; i < n1; ++i) {
            double s = double(b1[size_t(i)]) * sb1;
            for (int64_t j = 0; j < n0; ++j) s += double(W1[size_t(j * n1 + i)]) * sw1 * x[size_t(j)];
            h[size_t(i)] = std::max(s, 0.0);
        }
        for (int64_t o = 0; o < n2; ++o) {
            const size_t c = sw2.size() == 1 ? 0 : size_t(o);
            double s = double(b2[size_t(o)]) * sb2[c];
            for (int64_t i = 0; i < n1; ++i) s += double(W2[size_t(o * n1 + i)]) * sw2[c] * h[size_t(i)];
            y[size_t(o)] = s;
        }
        return y;
    }
};

std::vector<std::vector<int64_t>> random_inputs(Rng& r, int64_t n, int64_t lo, int64_t hi, int count) {
    std::vector<std::vector<int64_t>> v{std::vector<int64_t>(size_t(n), lo), std::vector<int64_t>(size_t(n), hi)};
    for (int k = 0; k < count; ++k) {
        std::vector<int64_t> x(static_cast<size_t>(n));
        for (auto& e : x) e = r.integer(lo, hi);
        v.push_back(x);
    }
    return v;
}

TEST(OnnxQdq, StaticQdqMlpMatchesOnnxFormulas) {
    test::TempDir dir;
    int k = 0;
    for (bool per_channel : {false, true})
        for (bool ties : {false, true})
            for (uint64_t seed : {1u, 2u, 3u}) {
                const QdqMlp q(seed, per_channel, ties);
                const std::string path = save(q.model(), dir.file("qdq" + std::to_string(k++) + ".onnx"));
                const LoadedModel lm = read_onnx(path);
                ASSERT_TRUE(lm.qdq.has_value()) << path;
                const IntNetwork& in = *lm.qdq;
                EXPECT_EQ(in.input.scale, double(q.s0));
                EXPECT_EQ(in.input.zero, q.z0);
                EXPECT_EQ(in.input.lo, 0);
                EXPECT_EQ(in.input.hi, 255);
                ASSERT_EQ(in.layers.size(), 2u);
                EXPECT_EQ(in.layers[0].rounding, Rounding::HalfEven);
                EXPECT_EQ(in.layers[0].lo, q.z1) << "the Relu clamps at the zero point";
                if (!per_channel) {
                    // The plain form: W = w - zero, b = the int32 bias, num/den = s_in s_w / s_out.
                    const Q r = div(mul(of_float(q.s0), of_float(q.sw1)), of_float(q.s1));
                    EXPECT_EQ(i128(in.layers[0].num), r.n);
                    EXPECT_EQ(i128(in.layers[0].den), r.d);
                    EXPECT_EQ(in.layers[0].b[0], q.b1[0]);
                    EXPECT_EQ(in.layers[0].W(1, 2), q.W1[2 * size_t(q.n1) + 1]);
                }
                Rng r(seed * 31 + k);
                for (const auto& x : random_inputs(r, q.n0, 0, 255, 400)) {
                    const IntEval ev = in.eval(x);
                    EXPECT_FALSE(ev.overflow);
                    EXPECT_EQ(ev.out, q.reference(x)) << path;
                }
                // The float network is the dequantized one.
                for (int t = 0; t < 20; ++t) {
                    const std::vector<double> x = random_doubles(r, q.n0, -1, 1);
                    expect_close(to_std(lm.net.forward(to_vec(x))), q.float_reference(x), 1e-9, "dequantized");
                }
            }
}

// QLinearMatMul chain on an integer graph input: y = QLinearMatMul(QLinearMatMul(x)).
TEST(OnnxQdq, QLinearMatMulChainMatchesOnnxFormulas) {
    test::TempDir dir;
    for (uint64_t seed : {5u, 6u, 7u}) {
        Rng r(seed);
        const int64_t n0 = 7, n1 = 4, n2 = 3;
        const float sa = float(r.uni(0.005, 0.05)), sb1 = float(r.uni(0.002, 0.03)), sy1 = float(r.uni(0.02, 0.2));
        const float sb2 = float(r.uni(0.002, 0.03)), sy2 = float(r.uni(0.02, 0.2));
        const int64_t za = r.integer(0, 255), zb1 = r.integer(-20, 20), zy1 = r.integer(0, 255), zb2 = r.integer(100, 150),
                      zy2 = r.integer(-30, 30);
        std::vector<int64_t> B1, B2;
        for (int64_t k = 0; k < n0 * n1; ++k) B1.push_back(r.integer(-128, 127));
        for (int64_t k = 0; k < n1 * n2; ++k) B2.push_back(r.integer(0, 255));
        GraphBuilder b(10);
        b.input("x", {1, n0}, TP::UINT8);
        b.init_f("sa", {}, {sa});
        b.init_i("za", {}, {za}, TP::UINT8);
        b.init_i("B1", {n0, n1}, B1, TP::INT8);
        b.init_f("sb1", {}, {sb1});
        b.init_i("zb1", {}, {zb1}, TP::INT8);
        b.init_f("sy1", {}, {sy1});
        b.init_i("zy1", {}, {zy1}, TP::UINT8);
        b.node("QLinearMatMul", {"x", "sa", "za", "B1", "sb1", "zb1", "sy1", "zy1"}, "h");
        b.init_i("B2", {n1, n2}, B2, TP::UINT8);
        b.init_f("sb2", {}, {sb2});
        b.init_i("zb2", {}, {zb2}, TP::UINT8);
        b.init_f("sy2", {}, {sy2});
        b.init_i("zy2", {}, {zy2}, TP::INT8);
        b.node("QLinearMatMul", {"h", "sy1", "zy1", "B2", "sb2", "zb2", "sy2", "zy2"}, "y");
        b.output("y");
        const LoadedModel lm = read_onnx(b.save_to(dir, "ql" + std::to_string(seed) + ".onnx"));
        ASSERT_TRUE(lm.qdq.has_value());
        EXPECT_EQ(lm.qdq->input.zero, za);
        for (const auto& x : random_inputs(r, n0, 0, 255, 300)) {
            std::vector<int64_t> h(static_cast<size_t>(n1)), y(static_cast<size_t>(n2));
            for (int64_t i = 0; i < n1; ++i) {
                i128 acc = 0;
                for (int64_t j = 0; j < n0; ++j) acc += i128(x[size_t(j)] - za) * (B1[size_t(j * n1 + i)] - zb1);
                const Q v = div(mul(Q{acc, 1}, mul(of_float(sa), of_float(sb1))), of_float(sy1));
                h[size_t(i)] = sat(round_half_even(v) + zy1, 0, 255);
            }
            for (int64_t o = 0; o < n2; ++o) {
                i128 acc = 0;
                for (int64_t i = 0; i < n1; ++i) acc += i128(h[size_t(i)] - zy1) * (B2[size_t(i * n2 + o)] - zb2);
                const Q v = div(mul(Q{acc, 1}, mul(of_float(sy1), of_float(sb2))), of_float(sy2));
                y[size_t(o)] = sat(round_half_even(v) + zy2, -128, 127);
            }
            EXPECT_EQ(lm.qdq->eval(x).out, y);
        }
    }
}

// MatMulInteger with the float rescale around it: x -> Q -> MatMulInteger -> Cast
// -> Mul(scale) -> Add(float bias) -> Q -> DQ.
TEST(OnnxQdq, MatMulIntegerWithFloatRescaleMatchesOnnxFormulas) {
    test::TempDir dir;
    for (uint64_t seed : {8u, 9u}) {
        Rng r(seed);
        const int64_t n0 = 5, n1 = 4;
        const float s0 = float(r.uni(0.005, 0.05)), sw = float(r.uni(0.002, 0.03)), s1 = float(r.uni(0.02, 0.2));
        const float c = s0 * sw;
        const int64_t z0 = r.integer(0, 255), z1 = r.integer(0, 255), zw = r.integer(-5, 5);
        std::vector<int64_t> W;
        std::vector<float> bias;
        for (int64_t k = 0; k < n0 * n1; ++k) W.push_back(r.integer(-128, 127));
        for (int64_t k = 0; k < n1; ++k) bias.push_back(float(r.uni(-0.5, 0.5)));
        GraphBuilder b(13);
        b.input("x", {1, n0}, TP::FLOAT, true);
        b.init_f("s0", {}, {s0});
        b.init_i("z0", {}, {z0}, TP::UINT8);
        b.node("QuantizeLinear", {"x", "s0", "z0"}, "xq");
        b.init_i("W", {n0, n1}, W, TP::INT8);
        b.init_i("zw", {}, {zw}, TP::INT8);
        b.node("MatMulInteger", {"xq", "W", "z0", "zw"}, "acc");
        GraphBuilder::attr_i(b.node("Cast", {"acc"}, "accf"), "to", TP::FLOAT);
        b.init_f("c", {}, {c});
        b.node("Mul", {"accf", "c"}, "m");
        b.init_f("bias", {n1}, bias);
        b.node("Add", {"m", "bias"}, "a");
        b.init_f("s1", {}, {s1});
        b.init_i("z1", {}, {z1}, TP::UINT8);
        b.node("QuantizeLinear", {"a", "s1", "z1"}, "yq");
        b.node("DequantizeLinear", {"yq", "s1", "z1"}, "y");
        b.output("y");
        const LoadedModel lm = read_onnx(b.save_to(dir, "mmi" + std::to_string(seed) + ".onnx"));
        ASSERT_TRUE(lm.qdq.has_value());
        for (const auto& x : random_inputs(r, n0, 0, 255, 300)) {
            std::vector<int64_t> y(static_cast<size_t>(n1));
            for (int64_t i = 0; i < n1; ++i) {
                i128 acc = 0;
                for (int64_t j = 0; j < n0; ++j) acc += i128(x[size_t(j)] - z0) * (W[size_t(j * n1 + i)] - zw);
                const Q real = add(mul(Q{acc, 1}, of_float(c)), of_float(bias[size_t(i)]));
                y[size_t(i)] = sat(round_half_even(div(real, of_float(s1))) + z1, 0, 255);
            }
            const IntEval ev = lm.qdq->eval(x);
            EXPECT_FALSE(ev.overflow);
            EXPECT_EQ(ev.out, y);
        }
    }
}

// QDQ convolution (per-channel weights) -> Relu -> Flatten -> Gemm, and the ORT
// form of a quantized Add: both operands dequantized, the constant from uint8.
TEST(OnnxQdq, ConvAndQuantizedAddMatchOnnxFormulas) {
    test::TempDir dir;
    for (uint64_t seed : {21u, 22u, 23u}) {
        Rng r(seed);
        const int64_t C = 2, H = 5, W = 4, O = 3, K = 3, OH = 3, OW = 2;  // pads 1, strides (2, 2)
        const int64_t n2 = 2;
        const float s0 = float(r.uni(0.005, 0.05)), s1 = float(r.uni(0.02, 0.2)), s2 = float(r.uni(0.02, 0.2));
        const float s3 = float(r.uni(0.02, 0.2)), sc = float(r.uni(0.002, 0.05)), sw2 = float(r.uni(0.002, 0.02));
        std::vector<float> sw(static_cast<size_t>(O)), sb(static_cast<size_t>(O));
        for (int64_t o = 0; o < O; ++o) {
            sw[size_t(o)] = float(r.uni(0.002, 0.02));
            sb[size_t(o)] = s0 * sw[size_t(o)];
        }
        const int64_t z0 = r.integer(0, 255), z1 = r.integer(0, 50), z2 = r.integer(0, 255), z3 = r.integer(0, 255),
                      zc = r.integer(0, 255);
        std::vector<int64_t> Wq, bq, W2, cq;
        for (int64_t k = 0; k < O * C * K * K; ++k) Wq.push_back(r.integer(-127, 127));
        for (int64_t k = 0; k < O; ++k) bq.push_back(r.integer(-2000, 2000));
        for (int64_t k = 0; k < n2 * O * OH * OW; ++k) W2.push_back(r.integer(-127, 127));
        for (int64_t k = 0; k < n2; ++k) cq.push_back(r.integer(0, 255));
        GraphBuilder b(13);
        b.input("x", {1, C, H, W}, TP::FLOAT, true);
        auto qdq = [&](const std::string& in, const std::string& out, const char* s, const char* z) {
            b.node("QuantizeLinear", {in, s, z}, out + "_q");
            b.node("DequantizeLinear", {out + "_q", s, z}, out);
        };
        for (auto [sn, sv, zn, zv] : {std::tuple{"s0", s0, "z0", z0}, std::tuple{"s1", s1, "z1", z1},
                                      std::tuple{"s2", s2, "z2", z2}, std::tuple{"s3", s3, "z3", z3}}) {
            b.init_f(sn, {}, {sv});
            b.init_i(zn, {}, {zv}, TP::UINT8);
        }
        qdq("x", "xd", "s0", "z0");
        b.init_i("Wq", {O, C, K, K}, Wq, TP::INT8);
        b.init_f("sw", {O}, sw);
        b.init_i("zw", {O}, std::vector<int64_t>(static_cast<size_t>(O), 0), TP::INT8);
        GraphBuilder::attr_i(b.node("DequantizeLinear", {"Wq", "sw", "zw"}, "Wd"), "axis", 0);  // per output channel
        b.init_i("bq", {O}, bq, TP::INT32);
        b.init_f("sb", {O}, sb);
        b.init_i("zb", {O}, std::vector<int64_t>(static_cast<size_t>(O), 0), TP::INT32);
        GraphBuilder::attr_i(b.node("DequantizeLinear", {"bq", "sb", "zb"}, "bd"), "axis", 0);
        auto* cv = b.node("Conv", {"xd", "Wd", "bd"}, "c");
        GraphBuilder::attr_ints(cv, "pads", {1, 1, 1, 1});
        GraphBuilder::attr_ints(cv, "strides", {2, 2});
        qdq("c", "cd", "s1", "z1");
        b.node("Relu", {"cd"}, "rl");
        qdq("rl", "rd", "s1", "z1");
        b.node("Flatten", {"rd"}, "fl");
        b.init_i("W2", {O * OH * OW, n2}, W2, TP::INT8);
        b.init_f("sw2", {}, {sw2});
        b.node("DequantizeLinear", {"W2", "sw2"}, "W2d");
        b.node("MatMul", {"fl", "W2d"}, "mm");
        qdq("mm", "mmd", "s2", "z2");
        b.init_i("cq", {n2}, cq, TP::UINT8);
        b.init_f("sc", {}, {sc});
        b.init_i("zc", {}, {zc}, TP::UINT8);
        b.node("DequantizeLinear", {"cq", "sc", "zc"}, "cd2");
        b.node("Add", {"mmd", "cd2"}, "sum");
        qdq("sum", "y", "s3", "z3");
        b.output("y");
        const LoadedModel lm = read_onnx(b.save_to(dir, "qconv" + std::to_string(seed) + ".onnx"));
        ASSERT_TRUE(lm.qdq.has_value());
        for (const auto& x : random_inputs(r, C * H * W, 0, 255, 200)) {
            std::vector<int64_t> h;  // conv output, CHW
            for (int64_t o = 0; o < O; ++o)
                for (int64_t i = 0; i < OH; ++i)
                    for (int64_t j = 0; j < OW; ++j) {
                        i128 acc = bq[size_t(o)];
                        for (int64_t c = 0; c < C; ++c)
                            for (int64_t ki = 0; ki < K; ++ki)
                                for (int64_t kj = 0; kj < K; ++kj) {
                                    const int64_t y = i * 2 - 1 + ki, xx = j * 2 - 1 + kj;
                                    if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                                    acc += i128(Wq[size_t(((o * C + c) * K + ki) * K + kj)]) *
                                           (x[size_t((c * H + y) * W + xx)] - z0);
                                }
                        const Q v = div(mul(Q{acc, 1}, mul(of_float(s0), of_float(sw[size_t(o)]))), of_float(s1));
                        h.push_back(std::max(sat(round_half_even(v) + z1, 0, 255), z1));
                    }
            std::vector<int64_t> out;
            for (int64_t k = 0; k < n2; ++k) {
                i128 acc = 0;
                for (size_t i = 0; i < h.size(); ++i) acc += i128(W2[i * size_t(n2) + size_t(k)]) * (h[i] - z1);
                const Q v = div(mul(Q{acc, 1}, mul(of_float(s1), of_float(sw2))), of_float(s2));
                const int64_t m = sat(round_half_even(v) + z2, 0, 255);
                // Add: dequantize both, add exactly, quantize.
                const Q real = add(mul(Q{m - z2, 1}, of_float(s2)), mul(Q{cq[size_t(k)] - zc, 1}, of_float(sc)));
                out.push_back(sat(round_half_even(div(real, of_float(s3))) + z3, 0, 255));
            }
            const IntEval ev = lm.qdq->eval(x);
            EXPECT_FALSE(ev.overflow);
            EXPECT_EQ(ev.out, out);
        }
    }
}

// The last layer without QuantizeLinear (float logits, then Softmax): the integer
// network ends with the exact accumulator, whose real value is acc * s_in * s_w.
TEST(OnnxQdq, UnquantizedLastLayerGivesTheExactAccumulator) {
    Rng r(31);
    const int64_t n0 = 4, n1 = 3;
    const float s0 = 0.02f, sw = 0.005f;
    const int64_t z0 = 7;
    std::vector<int64_t> W, bq;
    for (int64_t k = 0; k < n0 * n1; ++k) W.push_back(r.integer(-127, 127));
    for (int64_t k = 0; k < n1; ++k) bq.push_back(r.integer(-500, 500));
    GraphBuilder b(13);
    b.input("x", {1, n0}, TP::FLOAT, true);
    b.init_f("s0", {}, {s0});
    b.init_i("z0", {}, {z0}, TP::UINT8);
    b.node("QuantizeLinear", {"x", "s0", "z0"}, "xq");
    b.node("DequantizeLinear", {"xq", "s0", "z0"}, "xd");
    b.init_i("W", {n0, n1}, W, TP::INT8);
    b.init_f("sw", {}, {sw});
    b.node("DequantizeLinear", {"W", "sw"}, "Wd");
    b.node("MatMul", {"xd", "Wd"}, "mm");
    b.init_i("bq", {n1}, bq, TP::INT32);
    b.init_f("sb", {}, {s0 * sw});
    b.node("DequantizeLinear", {"bq", "sb"}, "bd");
    b.node("Add", {"mm", "bd"}, "logits");
    b.node("Softmax", {"logits"}, "y");
    b.output("y");
    test::TempDir dir;
    const LoadedModel lm = read_onnx(b.save_to(dir, "acc.onnx"));
    ASSERT_TRUE(lm.qdq.has_value());
    ASSERT_EQ(lm.qdq->layers.size(), 1u);
    EXPECT_EQ(lm.qdq->layers[0].out_scale, double(s0) * double(sw));
    for (const auto& x : random_inputs(r, n0, 0, 255, 100)) {
        std::vector<int64_t> acc(static_cast<size_t>(n1));
        for (int64_t i = 0; i < n1; ++i) {
            acc[size_t(i)] = bq[size_t(i)];
            for (int64_t j = 0; j < n0; ++j) acc[size_t(i)] += W[size_t(j * n1 + i)] * (x[size_t(j)] - z0);
        }
        EXPECT_EQ(lm.qdq->eval(x).out, acc);
    }
}

// =========================================================================================
// 5. Bad input
// =========================================================================================

void expect_input_error(const std::string& path, const std::string& needle = "") {
    try {
        read_onnx(path);
        ADD_FAILURE() << path << ": no error";
    } catch (const InputError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(path), std::string::npos) << what;
        if (!needle.empty()) {
            EXPECT_NE(what.find(needle), std::string::npos) << what;
        }
    }
}

TEST(OnnxBadInput, MissingFile) { expect_input_error("/nonexistent/qcert/model.onnx", "no such file"); }

TEST(OnnxBadInput, TruncatedAndGarbledFiles) {
    test::TempDir dir;
    const std::string good = dir.file("good.onnx");
    write_onnx(random_cnn(1), good);
    const std::string bytes = test::read_file(good);
    for (size_t cut : {size_t(1), size_t(10), bytes.size() / 3, bytes.size() / 2, bytes.size() - 5, bytes.size() - 1}) {
        const std::string p = dir.file("cut" + std::to_string(cut) + ".onnx");
        std::ofstream(p, std::ios::binary) << bytes.substr(0, cut);
        expect_input_error(p);
    }
    Rng r(1);
    for (int t = 0; t < 20; ++t) {
        std::string junk(size_t(r.integer(1, 4000)), '\0');
        for (char& ch : junk) ch = char(r.integer(0, 255));
        const std::string p = dir.file("junk" + std::to_string(t) + ".onnx");
        std::ofstream(p, std::ios::binary) << junk;
        expect_input_error(p);
    }
    // Bytes flipped inside a valid model: an error or a model, never a crash.
    for (int t = 0; t < 50; ++t) {
        std::string b = bytes;
        for (int k = 0; k < 3; ++k) b[size_t(r.integer(0, int64_t(b.size()) - 1))] = char(r.integer(0, 255));
        const std::string p = dir.file("flip.onnx");
        std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
        try {
            read_onnx(p);
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
        }
    }
    expect_input_error(dir.path.string(), "directory");
}

TEST(OnnxBadInput, UnsupportedOperatorIsNamed) {
    GraphBuilder b(13);
    b.input("x", {1, 4}, TP::FLOAT, true);
    b.node("Relu", {"x"}, "r");
    b.node("LSTM", {"r"}, "y", "lstm_1");
    b.output("y");
    test::TempDir dir;
    const std::string p = b.save_to(dir, "lstm.onnx");
    expect_input_error(p, "unsupported operator 'LSTM' (node 'lstm_1')");
}

TEST(OnnxBadInput, GemmShapesThatDoNotChain) {
    GraphBuilder b(13);
    b.input("x", {1, 4}, TP::FLOAT, true);
    b.init_f("w1", {4, 5}, std::vector<float>(20, 0.5f));
    b.init_f("w2", {4, 3}, std::vector<float>(12, 0.5f));
    b.node("Gemm", {"x", "w1"}, "h");
    b.node("Gemm", {"h", "w2"}, "y", "gemm_2");
    b.output("y");
    test::TempDir dir;
    expect_input_error(b.save_to(dir, "gemm.onnx"), "gemm_2");
}

TEST(OnnxBadInput, StructuralProblems) {
    test::TempDir dir;
    {  // a branch: x feeds two nodes
        GraphBuilder b;
        b.input("x", {1, 4}, TP::FLOAT, true);
        b.node("Relu", {"x"}, "a");
        b.node("Sigmoid", {"x"}, "c");
        b.node("Add", {"a", "c"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "branch.onnx"), "not a chain");
    }
    {  // two real inputs
        GraphBuilder b;
        b.input("x", {1, 4}, TP::FLOAT, true);
        b.input("z", {1, 4}, TP::FLOAT, true);
        b.node("Add", {"x", "z"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "two.onnx"), "2 inputs");
    }
    {  // external data
        GraphBuilder b;
        b.input("x", {1, 2}, TP::FLOAT, true);
        TP* t = b.tensor("w", {2, 2}, TP::FLOAT);
        t->set_data_location(TP::EXTERNAL);
        auto* e = t->add_external_data();
        e->set_key("location");
        e->set_value("weights.bin");
        b.node("MatMul", {"x", "w"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "ext.onnx"), "external");
    }
    {  // per-channel quantization of an activation
        GraphBuilder b;
        b.input("x", {1, 2}, TP::FLOAT, true);
        b.init_f("s", {2}, {0.1f, 0.2f});
        b.init_i("z", {2}, {0, 0}, TP::UINT8);
        b.node("QuantizeLinear", {"x", "s", "z"}, "q");
        b.node("DequantizeLinear", {"q", "s", "z"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "perchan.onnx"), "per-channel");
    }
    {  // the weight's data does not match its shape
        GraphBuilder b;
        b.input("x", {1, 2}, TP::FLOAT, true);
        b.init_f("w", {2, 3}, {1, 2, 3, 4, 5});
        b.node("MatMul", {"x", "w"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "short.onnx"), "'w'");
    }
    {  // a cycle
        GraphBuilder b;
        b.input("x", {1, 2}, TP::FLOAT, true);
        b.node("Add", {"x", "b"}, "a");
        b.node("Relu", {"a"}, "b");
        b.output("b");
        expect_input_error(b.save_to(dir, "cycle.onnx"));
    }
    {  // an opset outside the supported range
        GraphBuilder b(3);
        b.input("x", {1, 2}, TP::FLOAT, true);
        b.node("Relu", {"x"}, "y");
        b.output("y");
        expect_input_error(b.save_to(dir, "opset.onnx"), "opset 3");
    }
}

TEST(OnnxWriter, LeavesNoFileOnError) {
    test::TempDir dir;
    // An unwritable place.
    const std::string missing = dir.file("no/such/dir/m.onnx");
    try {
        write_onnx(random_mlp(1), missing);
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
    // An invalid network: nothing is created, not even a temporary file.
    Network bad = random_mlp(1);
    bad.layers[0].bias.resize(3);
    const std::string p = dir.file("bad.onnx");
    try {
        write_onnx(bad, p);
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_empty(dir.path));
    // Overwriting keeps the file whole.
    write_onnx(random_mlp(1), p);
    write_onnx(random_mlp(2), p);
    EXPECT_EQ(read_onnx(p).net.output_size(), 4);
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
    EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace qcert
