// Keras HDF5 reader: the benchmark files against a naive evaluation of their
// raw HDF5 contents, small files written here in both layouts with known
// weights, and bad input.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace qcert {
namespace {

// ---- writing HDF5 files with the raw C API ------------------------------------

// Creates a file and closes everything it opened, in reverse order.
class H5Writer {
public:
    explicit H5Writer(const std::string& path) {
        file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(file_, 0) << path;
    }
    ~H5Writer() {
        for (auto it = open_.rbegin(); it != open_.rend(); ++it) H5Gclose(*it);
        H5Fclose(file_);
    }
    hid_t root() const { return file_; }

    hid_t group(hid_t loc, const std::string& name) {
        hid_t g = H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(g, 0) << name;
        open_.push_back(g);
        return g;
    }

    // Fixed-length, NULLPAD strings as h5py writes numpy "S" arrays; the width
    // is the longest string, so that one fills its slot without a terminator.
    static void fixed_strings(hid_t obj, const char* name, const std::vector<std::string>& v) {
        size_t width = 1;
        for (const auto& s : v) width = std::max(width, s.size());
        std::vector<char> buf(width * v.size(), '\0');
        for (size_t i = 0; i < v.size(); ++i) std::copy(v[i].begin(), v[i].end(), buf.begin() + i * width);
        hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, width);
        H5Tset_strpad(type, H5T_STR_NULLPAD);
        hsize_t n = v.size();
        hid_t space = H5Screate_simple(1, &n, nullptr);
        hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(H5Awrite(a, type, buf.data()), 0);
        H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
    }

    // Variable-length strings (newer h5py); scalar for a single JSON document.
    static void vlen_strings(hid_t obj, const char* name, const std::vector<std::string>& v, bool scalar = false) {
        std::vector<const char*> ptrs;
        for (const auto& s : v) ptrs.push_back(s.c_str());
        hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        hsize_t n = v.size();
        hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
        hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(H5Awrite(a, type, ptrs.data()), 0);
        H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
    }

    // h5py writes "no weights" as an empty float64 array.
    static void empty_float_attr(hid_t obj, const char* name) {
        hsize_t n = 0;
        hid_t space = H5Screate_simple(1, &n, nullptr);
        hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Aclose(a);
        H5Sclose(space);
    }

    // A dataset at a relative path, creating the groups on the way.
    static void dataset(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                        const std::vector<double>& data, bool f32) {
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
        hid_t d = H5Dcreate2(loc, path.c_str(), f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        EXPECT_GE(d, 0) << path;
        EXPECT_GE(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
        H5Dclose(d);
        H5Sclose(space);
        H5Pclose(lcpl);
    }

private:
    hid_t file_ = -1;
    std::vector<hid_t> open_;
};

struct W {
    std::vector<hsize_t> dims;
    std::vector<double> data;
};

// A Keras layer group: weight_names plus the datasets "<name>/<weight>:0".
void keras_layer(H5Writer& w, hid_t parent, const std::string& name, const std::vector<std::pair<std::string, W>>& weights,
                 bool vlen = true, bool f32 = false) {
    hid_t g = w.group(parent, name);
    if (weights.empty()) {
        H5Writer::empty_float_attr(g, "weight_names");
        return;
    }
    std::vector<std::string> names;
    for (const auto& [wn, data] : weights) {
        names.push_back(name + "/" + wn + ":0");
        H5Writer::dataset(g, names.back(), data.dims, data.data, f32);
    }
    if (vlen) H5Writer::vlen_strings(g, "weight_names", names);
    else H5Writer::fixed_strings(g, "weight_names", names);
}

// ---- reading benchmark files with the raw C API --------------------------------

// The dataset `leaf` of layer group g, at the places the benchmark files use:
// "g/g/leaf" or (one AAAI file) "g/quantized_model/g/leaf". Independent of the
// weight_names attribute that the reader follows.
std::vector<double> find_dataset(hid_t file, const std::string& g, const std::string& leaf, std::vector<hsize_t>& dims) {
    std::string path;
    for (const std::string& cand : {g + "/" + g + "/" + leaf, g + "/quantized_model/" + g + "/" + leaf}) {
        const std::string parent = cand.substr(0, cand.rfind('/'));
        htri_t ok = H5Lexists(file, g.c_str(), H5P_DEFAULT) > 0 && H5Lexists(file, parent.substr(0, parent.rfind('/')).c_str(), H5P_DEFAULT) > 0 &&
                    H5Lexists(file, parent.c_str(), H5P_DEFAULT) > 0 && H5Lexists(file, cand.c_str(), H5P_DEFAULT) > 0;
        if (ok > 0) path = cand;
    }
    EXPECT_FALSE(path.empty()) << g << " has no " << leaf;
    if (path.empty()) return {};
    hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    dims.assign(size_t(H5Sget_simple_extent_ndims(s)), 0);
    H5Sget_simple_extent_dims(s, dims.data(), nullptr);
    size_t n = 1;
    for (hsize_t x : dims) n *= x;
    std::vector<double> v(n);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

// The MLP of a benchmark file: layer groups named by convention, evaluated
// naively (ReLU on hidden layers, the last linear).
struct NaiveMlp {
    std::vector<std::vector<double>> kernels, biases;  // kernel in x out
    std::vector<size_t> widths;                        // input, then each layer's output

    NaiveMlp(const std::string& path, const std::vector<std::string>& groups) {
        hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        for (const auto& g : groups) {
            std::vector<hsize_t> kd, bd;
            kernels.push_back(find_dataset(f, g, "kernel:0", kd));
            biases.push_back(find_dataset(f, g, "bias:0", bd));
            if (widths.empty()) widths.push_back(kd[0]);
            EXPECT_EQ(kd[0], widths.back()) << g;
            widths.push_back(kd[1]);
        }
        H5Fclose(f);
    }

    std::vector<double> eval(std::vector<double> x) const {
        for (size_t k = 0; k < kernels.size(); ++k) {
            const size_t in = widths[k], out = widths[k + 1];
            std::vector<double> y(out);
            for (size_t o = 0; o < out; ++o) {
                double s = biases[k][o];
                for (size_t i = 0; i < in; ++i) s += x[i] * kernels[k][i * out + o];
                y[o] = k + 1 < kernels.size() ? std::max(0.0, s) : s;
            }
            x = y;
        }
        return x;
    }
};

// The hidden widths a benchmark file name carries: "..._2blk_64_32_..." -> {64, 32}.
std::vector<size_t> widths_from_name(const std::string& name) {
    std::smatch m;
    std::vector<size_t> w;
    if (!std::regex_search(name, m, std::regex("(\\d+)blk((?:_\\d+)+)"))) return w;
    std::string rest = m[2];
    std::regex num("\\d+");
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), num); it != std::sregex_iterator(); ++it)
        w.push_back(std::stoul(it->str()));
    EXPECT_EQ(w.size(), std::stoul(m[1])) << name;
    return w;
}

void check_benchmark(const std::string& path, const std::vector<std::string>& groups, const std::vector<size_t>& widths) {
    SCOPED_TRACE(path);
    Network net = read_keras_h5(path);
    NaiveMlp ref(path, groups);
    ASSERT_EQ(ref.widths, widths);
    EXPECT_EQ(net.source, path);
    EXPECT_EQ(net.input_shape, Shape{int64_t(widths[0])});
    ASSERT_EQ(net.layers.size(), 2 * groups.size() - 1);
    for (size_t k = 0; k < groups.size(); ++k) {
        const Layer& d = net.layers[2 * k];
        ASSERT_EQ(d.op, Op::Dense);
        EXPECT_EQ(d.name, groups[k]);
        EXPECT_EQ(d.weight.rows(), int64_t(widths[k + 1]));
        EXPECT_EQ(d.weight.cols(), int64_t(widths[k]));
        if (k + 1 < groups.size()) {
            EXPECT_EQ(net.layers[2 * k + 1].op, Op::ReLU);
        }
    }
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0, 1);
    for (int t = 0; t < 3; ++t) {
        std::vector<double> x(widths[0]);
        for (double& v : x) v = u(rng);
        const std::vector<double> want = ref.eval(x);
        const Vec got = net.forward(Eigen::Map<const Vec>(x.data(), Eigen::Index(x.size())));
        ASSERT_EQ(got.size(), Eigen::Index(want.size()));
        for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9 * (1 + std::abs(want[i])));
    }
}

std::vector<std::string> benchmark_files(const std::string& dir) {
    std::vector<std::string> v;
    const std::string base = test::shared_benchmarks();
    if (base.empty() || !std::filesystem::exists(base + "/" + dir)) return v;
    for (const auto& e : std::filesystem::directory_iterator(base + "/" + dir))
        if (e.path().extension() == ".h5") v.push_back(e.path().string());
    std::sort(v.begin(), v.end());
    return v;
}

TEST(KerasH5, Aaai2021Networks) {
    const std::string base = test::shared_benchmarks() + "/aaai2021/";
    for (const char* f : {"mnist_mlp.h5", "fashion-mnist_mlp.h5"}) {
        QCERT_REQUIRE_FILE(base + f);
        check_benchmark(base + f, {"quantized_dense", "quantized_dense_1"}, {784, 64, 32});
    }
}

TEST(KerasH5, QvipNetworks) {
    const auto files = benchmark_files("qvip");
    if (files.empty()) GTEST_SKIP() << "skipped: ../shared/benchmarks/qvip not present";
    for (const auto& p : files) {
        std::vector<size_t> widths = widths_from_name(p);
        std::vector<std::string> groups;
        for (size_t k = 0; k <= widths.size(); ++k) groups.push_back(k ? "quantized_dense_" + std::to_string(k) : "quantized_dense");
        widths.insert(widths.begin(), 784);
        widths.push_back(10);
        check_benchmark(p, groups, widths);
    }
}

// QEBVerif and Quadapter: Dense_0 .. Dense_{k-1}, then "dense" (output).
void check_dense_family(const std::string& dir) {
    const auto files = benchmark_files(dir);
    if (files.empty()) GTEST_SKIP() << "skipped: ../shared/benchmarks/" << dir << " not present";
    for (const auto& p : files) {
        std::vector<size_t> widths = widths_from_name(p);
        std::vector<std::string> groups;
        for (size_t k = 0; k < widths.size(); ++k) groups.push_back("Dense_" + std::to_string(k));
        groups.push_back("dense");
        widths.insert(widths.begin(), 784);
        widths.push_back(10);
        check_benchmark(p, groups, widths);
    }
}

TEST(KerasH5, QebverifNetworks) { check_dense_family("qebverif"); }
TEST(KerasH5, QuadapterNetworks) { check_dense_family("quadapter"); }

// ---- small files with known weights -------------------------------------------

// A weight-only file whose layer_names order is not alphabetical: "z_first"
// runs before "a_second". Fixed-length names, float32 and float64 datasets, an
// empty weight list (flatten) and a group that layer_names does not list.
std::string write_weight_only(const test::TempDir& t) {
    const std::string p = t.file("weights.h5");
    H5Writer w(p);
    H5Writer::fixed_strings(w.root(), "layer_names", {"flatten", "z_first", "a_second"});
    H5Writer::vlen_strings(w.root(), "keras_version", {"2.4.0"}, true);
    keras_layer(w, w.root(), "flatten", {});
    // kernel in x out = 2 x 3
    keras_layer(w, w.root(), "z_first", {{"kernel", {{2, 3}, {1, 0, -1, 0.5, 2, 0.25}}}, {"bias", {{3}, {0, -1, 0.5}}}}, false,
                true);
    keras_layer(w, w.root(), "a_second", {{"kernel", {{3, 2}, {1, -1, 2, 0, -0.5, 4}}}, {"bias", {{2}, {0.125, 0}}}});
    keras_layer(w, w.root(), "top_level_model_weights", {});
    return p;
}

TEST(KerasH5, WeightOnlyLayoutExact) {
    test::TempDir t;
    const std::string p = write_weight_only(t);
    Network net = read_keras_h5(p);
    EXPECT_EQ(net.input_shape, Shape{2});
    ASSERT_EQ(net.layers.size(), 3u);
    EXPECT_EQ(net.layers[0].name, "z_first");
    EXPECT_EQ(net.layers[0].weight, (Mat(3, 2) << 1, 0.5, 0, 2, -1, 0.25).finished());
    EXPECT_EQ(net.layers[0].bias, (Vec(3) << 0, -1, 0.5).finished());
    EXPECT_EQ(net.layers[1].op, Op::ReLU);
    EXPECT_NE(net.layers[1].name.find("inferred"), std::string::npos) << net.layers[1].name;
    EXPECT_EQ(net.layers[2].name, "a_second");
    EXPECT_EQ(net.layers[2].weight, (Mat(2, 3) << 1, 2, -0.5, -1, 0, 4).finished());
    // x = (2, 1): z = (2 + 0.5, 0 + 2 - 1, -2 + 0.25 + 0.5) = (2.5, 1, -1.25) -> relu (2.5, 1, 0)
    // y = (2.5 + 2 + 0.125, -2.5 + 0) = (4.625, -2.5)
    EXPECT_EQ(net.forward((Vec(2) << 2, 1).finished()), (Vec(2) << 4.625, -2.5).finished());
}

// A whole-model file: model_config (Sequential) + model_weights.
std::string write_whole_model(const test::TempDir& t, const std::string& name, const std::string& config,
                              const std::vector<std::pair<std::string, std::vector<std::pair<std::string, W>>>>& layers) {
    const std::string p = t.file(name);
    H5Writer w(p);
    H5Writer::vlen_strings(w.root(), "model_config", {config}, true);
    H5Writer::vlen_strings(w.root(), "keras_version", {"2.9.0"}, true);
    hid_t mw = w.group(w.root(), "model_weights");
    std::vector<std::string> names;
    for (const auto& [n, ws] : layers) {
        names.push_back(n);
        keras_layer(w, mw, n, ws);
    }
    H5Writer::vlen_strings(mw, "layer_names", names);
    return p;
}

const char* kSequential = R"({"class_name": "Sequential", "config": {"name": "seq", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 2, 2], "name": "in"}},
  {"class_name": "Flatten", "config": {"name": "flat", "data_format": "channels_last"}},
  {"class_name": "Dense", "config": {"name": "d1", "units": 3, "activation": "relu", "use_bias": true}},
  {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}},
  {"class_name": "Dense", "config": {"name": "d2", "units": 2, "activation": "linear", "use_bias": false}},
  {"class_name": "Activation", "config": {"name": "act", "activation": "tanh"}}]}})";

TEST(KerasH5, WholeModelSequential) {
    test::TempDir t;
    const std::string p = write_whole_model(
        t, "model.h5", kSequential,
        {{"in", {}}, {"flat", {}},
         {"d1", {{"kernel", {{4, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}}}, {"bias", {{3}, {0, 0, -10}}}}},
         {"drop", {}},
         {"d2", {{"kernel", {{3, 2}, {1, 0, 0, 1, 5, 5}}}}},
         {"act", {}}});
    Network net = read_keras_h5(p);
    EXPECT_EQ(net.input_shape, (Shape{2, 2}));
    std::vector<Op> ops;
    for (const Layer& l : net.layers) ops.push_back(l.op);
    EXPECT_EQ(ops, (std::vector<Op>{Op::Reshape, Op::Dense, Op::ReLU, Op::Dense, Op::Tanh}));
    // x = (1, 2, 3, 4): d1 = (1 + 4, 2 + 4, 3 + 4 - 10) = (5, 6, -3) -> (5, 6, 0); d2 = (5, 6).
    const Vec y = net.forward((Vec(4) << 1, 2, 3, 4).finished());
    EXPECT_EQ(y, (Vec(2) << std::tanh(5.0), std::tanh(6.0)).finished());
}

TEST(KerasH5, WholeModelFunctionalWithBatchNormAndSoftmax) {
    const std::string cfg = R"({"class_name": "Functional", "config": {"name": "m", "layers": [
      {"name": "x", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 2], "name": "x"}, "inbound_nodes": []},
      {"name": "d", "class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "linear"},
       "inbound_nodes": [[["x", 0, 0, {}]]]},
      {"name": "bn", "class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1], "epsilon": 0.0,
       "center": true, "scale": true}, "inbound_nodes": [[["d", 0, 0, {}]]]},
      {"name": "lr", "class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.5}, "inbound_nodes": [[["bn", 0, 0, {}]]]},
      {"name": "sm", "class_name": "Softmax", "config": {"name": "sm"}, "inbound_nodes": [[["lr", 0, 0, {}]]]}],
      "input_layers": [["x", 0, 0]], "output_layers": [["sm", 0, 0]]}})";
    test::TempDir t;
    const std::string p = write_whole_model(
        t, "f.h5", cfg,
        {{"x", {}},
         {"d", {{"kernel", {{2, 2}, {1, 0, 0, 1}}}, {"bias", {{2}, {0, 0}}}}},
         {"bn", {{"gamma", {{2}, {2, 1}}}, {"beta", {{2}, {1, 0}}}, {"moving_mean", {{2}, {1, 3}}}, {"moving_variance", {{2}, {4, 1}}}}},
         {"lr", {}},
         {"sm", {}}});
    Network net = read_keras_h5(p);
    ASSERT_EQ(net.layers.size(), 4u);
    EXPECT_EQ(net.layers[1].op, Op::Affine);
    // bn: gamma / sqrt(var) = (1, 1); beta - mean * scale = (0, -3).
    EXPECT_EQ(net.layers[1].scale, (Vec(2) << 1, 1).finished());
    EXPECT_EQ(net.layers[1].shift, (Vec(2) << 0, -3).finished());
    EXPECT_EQ(net.layers[2].op, Op::LeakyReLU);
    EXPECT_EQ(net.layers[2].alpha, 0.5);
    EXPECT_EQ(net.layers[3].op, Op::Softmax);
    // x = (1, 1): bn (1, -2), leaky (1, -1), softmax.
    const Vec y = net.forward((Vec(2) << 1, 1).finished());
    const double e0 = std::exp(1.0), e1 = std::exp(-1.0);
    EXPECT_NEAR(y[0], e0 / (e0 + e1), 1e-15);
    EXPECT_NEAR(y[1], e1 / (e0 + e1), 1e-15);
}

// Conv2D on a channels-last input against a naive HWC convolution, with the
// Flatten -> Dense column permutation. The qcert input is CHW.
void check_conv(const std::string& padding, int stride, int H, int Wd, int C, int F, int K) {
    SCOPED_TRACE(padding + " stride " + std::to_string(stride));
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> kernel(static_cast<size_t>(K * K * C * F));
    std::vector<double> bias(static_cast<size_t>(F));
    for (double& v : kernel) v = u(rng);
    for (double& v : bias) v = u(rng);
    int OH, OW, pt = 0, pl = 0;
    if (padding == "valid") {
        OH = (H - K) / stride + 1;
        OW = (Wd - K) / stride + 1;
    } else {
        OH = (H + stride - 1) / stride;
        OW = (Wd + stride - 1) / stride;
        pt = std::max((OH - 1) * stride + K - H, 0) / 2;
        pl = std::max((OW - 1) * stride + K - Wd, 0) / 2;
    }
    const int n = OH * OW * F;
    std::vector<double> dk(size_t(n * 2)), db{0.5, -0.25};
    for (double& v : dk) v = u(rng);
    const std::string cfg = fmt::format(R"({{"class_name": "Sequential", "config": {{"layers": [
      {{"class_name": "InputLayer", "config": {{"batch_input_shape": [null, {}, {}, {}], "name": "in"}}}},
      {{"class_name": "Conv2D", "config": {{"name": "conv", "filters": {}, "kernel_size": [{}, {}], "strides": [{}, {}],
        "padding": "{}", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu", "use_bias": true}}}},
      {{"class_name": "Flatten", "config": {{"name": "flat"}}}},
      {{"class_name": "Dense", "config": {{"name": "out", "units": 2, "activation": "linear"}}}}]}}}})",
                                        H, Wd, C, F, K, K, stride, stride, padding);
    test::TempDir t;
    const std::string p = write_whole_model(
        t, "conv.h5", cfg,
        {{"in", {}},
         {"conv", {{"kernel", {{hsize_t(K), hsize_t(K), hsize_t(C), hsize_t(F)}, kernel}}, {"bias", {{hsize_t(F)}, bias}}}},
         {"flat", {}},
         {"out", {{"kernel", {{hsize_t(n), 2}, dk}}, {"bias", {{2}, db}}}}});
    Network net = read_keras_h5(p);
    EXPECT_EQ(net.input_shape, (Shape{C, H, Wd}));
    for (int trial = 0; trial < 3; ++trial) {
        std::vector<double> x(static_cast<size_t>(H * Wd * C));  // HWC
        for (double& v : x) v = u(rng);
        std::vector<double> conv(static_cast<size_t>(n));  // HWC
        for (int oh = 0; oh < OH; ++oh)
            for (int ow = 0; ow < OW; ++ow)
                for (int f = 0; f < F; ++f) {
                    double s = bias[f];
                    for (int ky = 0; ky < K; ++ky)
                        for (int kx = 0; kx < K; ++kx)
                            for (int c = 0; c < C; ++c) {
                                const int ih = oh * stride - pt + ky, iw = ow * stride - pl + kx;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                s += x[size_t((ih * Wd + iw) * C + c)] * kernel[size_t(((ky * K + kx) * C + c) * F + f)];
                            }
                    conv[size_t((oh * OW + ow) * F + f)] = std::max(0.0, s);
                }
        std::vector<double> want(db);
        for (int i = 0; i < n; ++i)
            for (int o = 0; o < 2; ++o) want[o] += conv[i] * dk[size_t(i * 2 + o)];
        Vec chw(H * Wd * C);
        for (int h = 0; h < H; ++h)
            for (int w = 0; w < Wd; ++w)
                for (int c = 0; c < C; ++c) chw[(c * H + h) * Wd + w] = x[size_t((h * Wd + w) * C + c)];
        const Vec y = net.forward(chw);
        EXPECT_NEAR(y[0], want[0], 1e-12);
        EXPECT_NEAR(y[1], want[1], 1e-12);
    }
}

TEST(KerasH5, Conv2DChannelsLast) {
    check_conv("valid", 1, 4, 3, 2, 3, 2);
    check_conv("same", 2, 5, 5, 2, 2, 3);
    check_conv("same", 1, 4, 4, 3, 2, 2);  // even kernel: padding only after
}

// ---- bad input ----------------------------------------------------------------

void expect_error(const std::string& path, const std::string& part) {
    testing::internal::CaptureStderr();
    try {
        read_keras_h5(path);
        ADD_FAILURE() << "no InputError for " << path << " (expected '" << part << "')";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    // HDF5 itself must print nothing: the user sees one line.
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(KerasH5, MissingAndNonHdf5Files) {
    test::TempDir t;
    expect_error(t.file("absent.h5"), "does not exist");
    const std::string txt = t.file("text.h5");
    std::ofstream(txt) << "this is not HDF5\n";
    expect_error(txt, "not an HDF5 file");
    expect_error(t.path.string(), "directory");
}

TEST(KerasH5, TruncatedBenchmarkFile) {
    const std::string src = test::shared_benchmarks() + "/qvip/qu_mnist_1blk_64_in_8_qu_4.h5";
    QCERT_REQUIRE_FILE(src);
    test::TempDir t;
    std::ifstream in(src, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    for (size_t cut : {size_t(100), bytes.size() / 2, bytes.size() - 100}) {
        const std::string p = t.file("cut" + std::to_string(cut) + ".h5");
        std::ofstream(p, std::ios::binary) << bytes.substr(0, cut);
        expect_error(p, "");
    }
}

TEST(KerasH5, Hdf5WithoutLayers) {
    test::TempDir t;
    const std::string p = t.file("empty.h5");
    {
        H5Writer w(p);
        w.group(w.root(), "something");
    }
    expect_error(p, "no layer_names attribute");
    const std::string q = t.file("nolayers.h5");
    {
        H5Writer w(q);
        H5Writer::vlen_strings(w.root(), "layer_names", {"flatten"});
        keras_layer(w, w.root(), "flatten", {});
    }
    expect_error(q, "no layer in layer_names has weights");
}

TEST(KerasH5, BrokenWeightOnlyFiles) {
    test::TempDir t;
    {
        H5Writer w(t.file("nokernel.h5"));
        H5Writer::vlen_strings(w.root(), "layer_names", {"d"});
        hid_t g = w.group(w.root(), "d");
        H5Writer::vlen_strings(g, "weight_names", {"d/kernel:0", "d/bias:0"});
        H5Writer::dataset(g, "d/bias:0", {2}, {1, 2}, false);
    }
    expect_error(t.file("nokernel.h5"), "layer 'd': weight 'd/kernel:0' is missing");
    {
        H5Writer w(t.file("chain.h5"));
        H5Writer::vlen_strings(w.root(), "layer_names", {"a", "b"});
        keras_layer(w, w.root(), "a", {{"kernel", {{2, 3}, {1, 2, 3, 4, 5, 6}}}});
        keras_layer(w, w.root(), "b", {{"kernel", {{4, 1}, {1, 2, 3, 4}}}});
    }
    expect_error(t.file("chain.h5"), "layer 'b' expects 4 inputs but the layer before gives 3");
    {
        H5Writer w(t.file("nogroup.h5"));
        H5Writer::vlen_strings(w.root(), "layer_names", {"ghost"});
    }
    expect_error(t.file("nogroup.h5"), "layer 'ghost' is listed in layer_names but has no group");
    {
        H5Writer w(t.file("conv.h5"));
        H5Writer::vlen_strings(w.root(), "layer_names", {"c"});
        keras_layer(w, w.root(), "c", {{"kernel", {{1, 1, 1, 1}, {1}}}});
    }
    expect_error(t.file("conv.h5"), "not a Dense kernel and bias");
}

TEST(KerasH5, BrokenWholeModelFiles) {
    test::TempDir t;
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, W>>>> one_dense = {
        {"d", {{"kernel", {{2, 2}, {1, 0, 0, 1}}}, {"bias", {{2}, {0, 0}}}}}};
    expect_error(write_whole_model(t, "json.h5", "{not json", one_dense), "not valid JSON");
    const std::string pool = R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 2]}},
      {"class_name": "MaxPooling2D", "config": {"name": "p"}}]}})";
    expect_error(write_whole_model(t, "pool.h5", pool, one_dense), "Keras layer class 'MaxPooling2D' is not supported");
    const std::string act = R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "gelu"}}]}})";
    expect_error(write_whole_model(t, "gelu.h5", act, one_dense), "activation 'gelu' is not supported");
    const std::string branch = R"({"class_name": "Functional", "config": {"layers": [
      {"name": "x", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 2], "name": "x"}, "inbound_nodes": []},
      {"name": "e", "class_name": "Dropout", "config": {"name": "e"}, "inbound_nodes": [[["x", 0, 0, {}]]]},
      {"name": "d", "class_name": "Dense", "config": {"name": "d", "units": 2}, "inbound_nodes": [[["x", 0, 0, {}]]]}]}})";
    expect_error(write_whole_model(t, "branch.h5", branch, one_dense), "branching models are not supported");
    const std::string missing = R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Dense", "config": {"name": "other", "units": 2}}]}})";
    expect_error(write_whole_model(t, "missing.h5", missing, one_dense), "layer 'other': expected 2 weights (kernel, bias), found 0");
    const std::string units = R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}})";
    expect_error(write_whole_model(t, "units.h5", units, one_dense), "does not have 3 units");
}

}  // namespace
}  // namespace qcert
