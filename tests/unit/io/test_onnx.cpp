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

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

}  // namespace
}  // namespace qcert
