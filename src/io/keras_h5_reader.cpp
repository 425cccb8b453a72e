// Keras HDF5 reader: whole-model files and weight-only files.
//
// Two layouts exist (the benchmark files are all of the second kind):
// - whole model (model.save("m.h5")): a root attribute `model_config` holding
//   the architecture as JSON, and a group `model_weights` whose attribute
//   `layer_names` lists the layer groups;
// - weight only (model.save_weights("w.h5")): `layer_names` on the root.
// Either way each layer group has an attribute `weight_names` whose entries are
// dataset paths relative to the group (e.g. "dense/kernel:0"), in the order
// Keras assigns them: Dense [kernel, bias], Conv2D [kernel, bias],
// BatchNormalization [gamma, beta, moving_mean, moving_variance].
//
// With a model_config the layers, their order, activations and input shape come
// from it (Sequential, or a Functional model that is a chain). Without one the
// architecture has to be guessed: we take the layers that carry weights, in the
// order of the file's own layer_names, require each to be a Dense layer (a 2-D
// kernel, in x out, and an optional bias), put a ReLU after every one but the
// last, and leave the last one linear. The ReLU layers are named
// "<layer>_relu(inferred)" so that `qcert inspect` shows the guess. This is the
// architecture of every weight-only benchmark file: the AAAI 2021 and QVIP
// networks are QuantizedDense stacks with ReLU hidden layers and a linear
// output, QEBVerif's file names say "relu", Quadapter's are ReLU MLPs. Layers
// without weights (Flatten, Dropout) are skipped: on a flat vector they are the
// identity, and their place in layer_names is not their place in the model
// (the AAAI/QVIP subclassed models list them after the Dense layers).
//
// Layout: Keras tensors are channels-last (H, W, C); our IR is (C, H, W). An
// image input is given to qcert as (C, H, W); Conv2D kernels are permuted to
// OIHW, and the Dense layer after a Flatten of a multi-channel tensor gets its
// columns permuted, so the network computes Keras's function on CHW data.
#include "io/hdf5_file.hpp"
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qcert {
namespace {

using h5::Array;
using h5::File;
using h5::H5Id;
using nlohmann::json;

// One entry of layer_names with its weights, in weight_names order.
struct WeightGroup {
    std::string name;
    std::vector<Array> weights;
};

struct KerasFile {
    std::vector<WeightGroup> groups;  // in layer_names order
    std::optional<std::string> config;  // model_config (whole-model files)
};

KerasFile read_layout(const File& f) {
    KerasFile k;
    if (auto cfg = f.string_attr(f.root(), "model_config")) {
        if (cfg->size() != 1) f.fail("the model_config attribute is not a single string");
        k.config = (*cfg)[0];
    }
    H5Id mw = f.open_group(f.root(), "model_weights");
    const hid_t wroot = mw.valid() ? mw.get() : f.root();
    auto names = f.string_attr(wroot, "layer_names");
    if (!names)
        f.fail(mw.valid() ? "model_weights has no layer_names attribute"
                          : "no layer_names attribute: not a Keras model or weights file");
    if (names->empty()) f.fail("the file lists no layers (empty layer_names)");
    for (const std::string& name : *names) {
        H5Id g = f.open_group(wroot, name);
        if (!g.valid()) f.fail(fmt::format("layer '{}' is listed in layer_names but has no group", name));
        auto wnames = f.string_attr(g.get(), "weight_names");
        if (!wnames) f.fail(fmt::format("layer '{}' has no weight_names attribute", name));
        WeightGroup wg{name, {}};
        for (const std::string& w : *wnames) {
            auto a = f.dataset(g.get(), w);
            if (!a) f.fail(fmt::format("layer '{}': weight '{}' is missing", name, w));
            wg.weights.push_back(std::move(*a));
        }
        k.groups.push_back(std::move(wg));
    }
    return k;
}

std::string dims_str(const Array& a) {
    return fmt::format("({})", fmt::join(a.dims, ", "));
}

Layer make_affine(Vec scale, Vec shift, std::string name) {
    Layer l;
    l.op = Op::Affine;
    l.name = std::move(name);
    l.in_shape = l.out_shape = {int64_t(scale.size())};
    l.scale = std::move(scale);
    l.shift = std::move(shift);
    return l;
}

// Builds the Network layer by layer while tracking the current tensor in
// Keras's layout, and how our flat (C, H, W) order maps onto Keras's.
class Builder {
public:
    Builder(std::string path, bool inferred) : path_(std::move(path)), inferred_(inferred) { net_.source = path_; }

    [[noreturn]] void fail(const std::string& what) const {
        throw InputError(path_, inferred_ ? what + " (weight-only file: no model_config, so every layer with weights "
                                                  "is read as Dense, ReLU on all but the last)"
                                          : what);
    }

    bool have_shape() const { return have_shape_; }
    int64_t size() const { return shape_size(kshape_); }

    void set_input(const Shape& keras_shape, const std::string& where) {
        for (int64_t d : keras_shape)
            if (d <= 0) fail(fmt::format("{}: the input shape has an unknown or empty dimension", where));
        if (keras_shape.empty()) fail(fmt::format("{}: the input shape is empty", where));
        if (keras_shape.size() > 3) fail(fmt::format("{}: inputs of rank {} are not supported", where, keras_shape.size()));
        kshape_ = keras_shape;
        have_shape_ = true;
        net_.input_shape = ir_shape();
    }

    // Dense: kernel in x out (Keras), stored out x in.
    void dense(const std::string& name, const Array& kernel, const Array* bias, const std::string& activation) {
        if (kernel.rank() != 2) fail(fmt::format("layer '{}': the kernel has shape {}, expected 2-D", name, dims_str(kernel)));
        const int64_t in = kernel.dims[0], out = kernel.dims[1];
        if (!have_shape_) set_input({in}, name);
        if (kshape_.size() != 1)
            fail(fmt::format("layer '{}': Dense on a {}-D tensor (without Flatten) is not supported", name, kshape_.size()));
        if (in != size()) fail(fmt::format("layer '{}' expects {} inputs but the layer before gives {}", name, in, size()));
        if (bias && (bias->rank() != 1 || bias->dims[0] != out))
            fail(fmt::format("layer '{}': the bias has shape {}, expected ({})", name, dims_str(*bias), out));
        Mat W(out, in);
        for (int64_t i = 0; i < in; ++i)
            for (int64_t o = 0; o < out; ++o) W(o, ir_index(i)) = kernel.data[size_t(i * out + o)];
        Vec b = Vec::Zero(out);
        if (bias) b = Eigen::Map<const Vec>(bias->data.data(), out);
        net_.layers.push_back(make_dense(std::move(W), std::move(b), name));
        perm_.clear();
        kshape_ = {out};
        ++weighted_;
        this->activation(name, activation);
    }

    // Conv2D, channels last: kernel (kh, kw, in, out) becomes OIHW rows.
    void conv2d(const std::string& name, const json& c, const Array& kernel, const Array* bias) {
        if (c.value("data_format", std::string("channels_last")) != "channels_last")
            fail(fmt::format("layer '{}': Conv2D with data_format channels_first is not supported", name));
        if (c.value("groups", 1) != 1) fail(fmt::format("layer '{}': grouped Conv2D is not supported", name));
        if (!have_shape_) fail(fmt::format("layer '{}': the model_config gives no input shape", name));
        if (kshape_.size() != 3) fail(fmt::format("layer '{}': Conv2D needs a 3-D (H, W, C) input, got {}-D", name, kshape_.size()));
        if (kernel.rank() != 4 || kernel.dims[2] != kshape_[2])
            fail(fmt::format("layer '{}': the kernel has shape {}, expected (kh, kw, {}, filters)", name, dims_str(kernel), kshape_[2]));
        const int64_t kh = kernel.dims[0], kw = kernel.dims[1], cin = kernel.dims[2], F = kernel.dims[3];
        if (bias && (bias->rank() != 1 || bias->dims[0] != F))
            fail(fmt::format("layer '{}': the bias has shape {}, expected ({})", name, dims_str(*bias), F));
        const auto [sh, sw] = pair_of(c, "strides", name);
        const auto [dh, dw] = pair_of(c, "dilation_rate", name);
        const std::string padding = c.value("padding", std::string("valid"));
        const int64_t H = kshape_[0], Wd = kshape_[1];
        ConvGeometry g;
        g.in_channels = cin;
        g.out_channels = F;
        g.kernel_h = kh;
        g.kernel_w = kw;
        g.stride_h = sh;
        g.stride_w = sw;
        g.dilation_h = dh;
        g.dilation_w = dw;
        int64_t oh, ow;
        if (padding == "valid") {
            oh = (H - dh * (kh - 1) - 1) / sh + 1;
            ow = (Wd - dw * (kw - 1) - 1) / sw + 1;
        } else if (padding == "same") {
            // TensorFlow's rule: out = ceil(in / stride), the smaller half of
            // the padding before.
            oh = (H + sh - 1) / sh;
            ow = (Wd + sw - 1) / sw;
            const int64_t ph = std::max<int64_t>((oh - 1) * sh + dh * (kh - 1) + 1 - H, 0);
            const int64_t pw = std::max<int64_t>((ow - 1) * sw + dw * (kw - 1) + 1 - Wd, 0);
            g.pad_top = ph / 2;
            g.pad_bottom = ph - ph / 2;
            g.pad_left = pw / 2;
            g.pad_right = pw - pw / 2;
        } else {
            fail(fmt::format("layer '{}': Conv2D padding '{}' is not supported", name, padding));
        }
        if (oh < 1 || ow < 1 || H + g.pad_top + g.pad_bottom < dh * (kh - 1) + 1 ||
            Wd + g.pad_left + g.pad_right < dw * (kw - 1) + 1)
            fail(fmt::format("layer '{}': the kernel is larger than its input", name));
        Layer l;
        l.op = Op::Conv2D;
        l.name = name;
        l.in_shape = ir_shape();
        l.out_shape = {F, oh, ow};
        l.conv = g;
        l.weight.resize(F, cin * kh * kw);
        for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x)
                for (int64_t ci = 0; ci < cin; ++ci)
                    for (int64_t o = 0; o < F; ++o)
                        l.weight(o, (ci * kh + y) * kw + x) = kernel.data[size_t(((y * kw + x) * cin + ci) * F + o)];
        l.bias = Vec::Zero(F);
        if (bias) l.bias = Eigen::Map<const Vec>(bias->data.data(), F);
        net_.layers.push_back(std::move(l));
        kshape_ = {oh, ow, F};
        ++weighted_;
        activation(name, c.value("activation", std::string("linear")));
    }

    // BatchNormalization over the last (channel) axis, as an Affine layer.
    void batch_norm(const std::string& name, const json& c, const std::vector<Array>& w) {
        if (!have_shape_) fail(fmt::format("layer '{}': the model_config gives no input shape", name));
        const json axis = c.value("axis", json(-1));
        const int64_t a = axis.is_array() && axis.size() == 1 ? axis[0].get<int64_t>() : axis.is_number_integer() ? axis.get<int64_t>() : 0;
        if (a != -1 && a != int64_t(kshape_.size()))
            fail(fmt::format("layer '{}': BatchNormalization over axis {} is not supported (only the last)", name, axis.dump()));
        const bool scale = c.value("scale", true), center = c.value("center", true);
        const double eps = c.value("epsilon", 1e-3);
        const size_t want = 2 + size_t(scale) + size_t(center);
        const int64_t C = kshape_.back();
        if (w.size() != want) fail(fmt::format("layer '{}': BatchNormalization has {} weights, expected {}", name, w.size(), want));
        for (const Array& x : w)
            if (x.rank() != 1 || x.dims[0] != C)
                fail(fmt::format("layer '{}': weight '{}' has shape {}, expected ({})", name, x.name, dims_str(x), C));
        size_t k = 0;
        const Array* gamma = scale ? &w[k++] : nullptr;
        const Array* beta = center ? &w[k++] : nullptr;
        const Array& mean = w[k++];
        const Array& var = w[k++];
        Vec s(size()), t(size());
        for (int64_t i = 0; i < size(); ++i) {
            const size_t ch = size_t(i % C);
            if (!(var.data[ch] + eps > 0)) fail(fmt::format("layer '{}': moving variance + epsilon is not positive", name));
            const double si = (gamma ? gamma->data[ch] : 1.0) / std::sqrt(var.data[ch] + eps);
            s[ir_index(i)] = si;
            t[ir_index(i)] = (beta ? beta->data[ch] : 0.0) - mean.data[ch] * si;
        }
        net_.layers.push_back(make_affine(std::move(s), std::move(t), name));
        net_.layers.back().in_shape = net_.layers.back().out_shape = ir_shape();
    }

    void flatten(const std::string& name) {
        if (!have_shape_ || kshape_.size() == 1) return;  // already flat
        const Shape from = ir_shape();
        if (layouts_differ()) {
            // Keras flattens (h, w, c) to (h * W + w) * C + c; our vector is
            // (c * H + h) * W + w. The next Dense takes its columns from there.
            const int64_t H = kshape_[0], Wd = kshape_[1], C = kshape_[2];
            perm_.assign(size_t(H * Wd * C), 0);
            for (int64_t h = 0; h < H; ++h)
                for (int64_t w = 0; w < Wd; ++w)
                    for (int64_t c = 0; c < C; ++c) perm_[size_t((h * Wd + w) * C + c)] = (c * H + h) * Wd + w;
        }
        kshape_ = {size()};
        reshape_layer(name, from);
    }

    void reshape(const std::string& name, const Shape& target) {
        if (!have_shape_) fail(fmt::format("layer '{}': the model_config gives no input shape", name));
        if (shape_size(target) != size())
            fail(fmt::format("layer '{}': Reshape to {} does not keep the {} values", name, shape_str(target), size()));
        const Shape from = ir_shape();
        const bool was_different = layouts_differ() || !perm_.empty();
        kshape_ = target;
        if (was_different || layouts_differ() || target.size() > 3)
            fail(fmt::format("layer '{}': Reshape across a channels-last layout is not supported", name));
        reshape_layer(name, from);
    }

    // An activation by its Keras name, applied to the current tensor. `alpha`
    // is the LeakyReLU slope (0.2 is the default of Keras's "leaky_relu").
    void activation(const std::string& layer, const std::string& act, double alpha = 0.2) {
        if (act == "linear" || act.empty()) return;
        if (!have_shape_) fail(fmt::format("layer '{}': the model_config gives no input shape", layer));
        const int64_t n = size();
        auto add = [&](Op op, const std::string& suffix) {
            Layer l = make_activation(op, n, layer + suffix);
            l.in_shape = l.out_shape = ir_shape();
            net_.layers.push_back(std::move(l));
            return &net_.layers.back();
        };
        if (act == "relu") {
            add(Op::ReLU, inferred_ ? "_relu(inferred)" : "_relu");
        } else if (act == "relu6") {
            add(Op::ReLU, "_relu6");
            Layer* c = add(Op::Clip, "_relu6_clip");
            c->lo = 0;
            c->hi = 6;
        } else if (act == "leaky_relu") {
            add(Op::LeakyReLU, "_leaky_relu")->alpha = alpha;
        } else if (act == "sigmoid") {
            add(Op::Sigmoid, "_sigmoid");
        } else if (act == "tanh") {
            add(Op::Tanh, "_tanh");
        } else if (act == "softmax") {
            if (kshape_.size() != 1)
                fail(fmt::format("layer '{}': softmax over the last axis of a {}-D tensor is not supported", layer, kshape_.size()));
            add(Op::Softmax, "_softmax");
        } else {
            fail(fmt::format("layer '{}': activation '{}' is not supported", layer, act));
        }
    }

    // Keras's ReLU layer: max(x, 0) with an optional slope below 0 and cap.
    void relu_layer(const std::string& name, const json& c) {
        if (c.value("threshold", 0.0) != 0.0) fail(fmt::format("layer '{}': ReLU with a threshold is not supported", name));
        const double slope = c.value("negative_slope", 0.0);
        if (slope != 0.0) activation(name, "leaky_relu", slope);
        else activation(name, "relu");
        if (c.contains("max_value") && c["max_value"].is_number()) {
            Layer l = make_activation(Op::Clip, size(), name + "_max");
            l.in_shape = l.out_shape = ir_shape();
            l.lo = slope == 0.0 ? 0.0 : -std::numeric_limits<double>::infinity();
            l.hi = c["max_value"].get<double>();
            net_.layers.push_back(std::move(l));
        }
    }

    Network finish() {
        if (weighted_ == 0) fail("the model has no layer with weights");
        if (!perm_.empty())
            fail("the model ends with a flattened multi-channel tensor; its channels-last output order is not supported");
        net_.validate();
        return std::move(net_);
    }

private:
    // Our layout of the current tensor: (H, W, C) becomes (C, H, W).
    Shape ir_shape() const {
        if (kshape_.size() == 3) return {kshape_[2], kshape_[0], kshape_[1]};
        return kshape_;
    }

    // True when the flat orders of Keras and of our IR differ.
    bool layouts_differ() const { return kshape_.size() == 3 && kshape_[2] > 1 && kshape_[0] * kshape_[1] > 1; }

    // Where Keras's flat element i lives in our flat vector.
    int64_t ir_index(int64_t i) const {
        if (!perm_.empty()) return perm_[size_t(i)];
        if (kshape_.size() == 3) {
            const int64_t H = kshape_[0], Wd = kshape_[1], C = kshape_[2];
            const int64_t c = i % C, w = (i / C) % Wd, h = i / (C * Wd);
            return (c * H + h) * Wd + w;
        }
        return i;
    }

    std::pair<int64_t, int64_t> pair_of(const json& c, const char* key, const std::string& name) const {
        const json v = c.value(key, json(1));
        int64_t a, b;
        if (v.is_number_integer()) a = b = v.get<int64_t>();
        else if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
            a = v[0].get<int64_t>();
            b = v[1].get<int64_t>();
        }
        else fail(fmt::format("layer '{}': bad {} {}", name, key, v.dump()));
        if (a < 1 || b < 1) fail(fmt::format("layer '{}': {} must be positive", name, key));
        return {a, b};
    }

    void reshape_layer(const std::string& name, const Shape& from) {
        Layer l;
        l.op = Op::Reshape;
        l.name = name;
        l.in_shape = from;
        l.out_shape = ir_shape();
        net_.layers.push_back(std::move(l));
    }

    std::string path_;
    bool inferred_;
    Network net_;
    Shape kshape_;  // the current tensor as Keras sees it, without the batch
    bool have_shape_ = false;
    std::vector<int64_t> perm_;  // after a channels-last Flatten: Keras index -> ours
    int weighted_ = 0;
};

// ---- weight-only files -------------------------------------------------------

Network from_weights(const std::string& path, const KerasFile& k) {
    Builder b(path, true);
    std::vector<const WeightGroup*> dense;
    for (const WeightGroup& g : k.groups)
        if (!g.weights.empty()) dense.push_back(&g);
    if (dense.empty()) b.fail("no layer in layer_names has weights");
    for (size_t i = 0; i < dense.size(); ++i) {
        const WeightGroup& g = *dense[i];
        const bool ok = (g.weights.size() == 1 || g.weights.size() == 2) && g.weights[0].rank() == 2 &&
                        (g.weights.size() == 1 || g.weights[1].rank() == 1);
        if (!ok) {
            std::vector<std::string> shapes;
            for (const Array& a : g.weights) shapes.push_back(dims_str(a));
            b.fail(fmt::format("layer '{}' has weights of shapes {}, which are not a Dense kernel and bias", g.name,
                               fmt::join(shapes, " ")));
        }
        b.dense(g.name, g.weights[0], g.weights.size() == 2 ? &g.weights[1] : nullptr,
                i + 1 < dense.size() ? "relu" : "linear");
    }
    return b.finish();
}

// ---- whole-model files (model_config) -----------------------------------------

// The batch-less input shape a layer config declares, if any.
std::optional<Shape> declared_shape(const json& c) {
    for (const char* key : {"batch_input_shape", "batch_shape"}) {
        if (!c.contains(key) || !c[key].is_array() || c[key].empty()) continue;
        Shape s;
        for (size_t i = 1; i < c[key].size(); ++i) s.push_back(c[key][i].is_number_integer() ? c[key][i].get<int64_t>() : -1);
        return s;
    }
    return std::nullopt;
}

std::string activation_name(const json& a) {
    if (a.is_null()) return "linear";
    if (a.is_string()) return a.get<std::string>();
    // Keras 3 may serialise a built-in activation as an object.
    if (a.is_object() && a.contains("config") && a["config"].is_string()) return a["config"].get<std::string>();
    if (a.is_object() && a.contains("class_name") && a["class_name"].is_string()) return a["class_name"].get<std::string>();
    return a.dump();
}

// The name of the single layer feeding a Functional layer, or "" when there
// is not exactly one. Knows Keras 2's nested lists and Keras 3's objects.
std::string inbound_layer(const json& layer) {
    const json nodes = layer.value("inbound_nodes", json::array());
    if (!nodes.is_array() || nodes.size() != 1) return "";
    const json& node = nodes[0];
    if (node.is_array() && node.size() == 1 && node[0].is_array() && !node[0].empty() && node[0][0].is_string())
        return node[0][0].get<std::string>();
    if (node.is_object() && node.contains("args") && node["args"].is_array() && node["args"].size() == 1) {
        const json& t = node["args"][0];
        if (t.is_object() && t.contains("config") && t["config"].contains("keras_history") &&
            t["config"]["keras_history"].is_array() && !t["config"]["keras_history"].empty())
            return t["config"]["keras_history"][0].get<std::string>();
    }
    return "";
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Network from_config(const std::string& path, const KerasFile& k) {
    Builder b(path, false);
    json cfg;
    try {
        cfg = json::parse(*k.config);
    } catch (const json::exception& e) {
        b.fail(fmt::format("the model_config is not valid JSON ({})", e.what()));
    }
    try {
        const std::string model_class = cfg.value("class_name", std::string());
        const json& mc = cfg.contains("config") ? cfg["config"] : json();
        const bool functional = model_class == "Functional" || model_class == "Model";
        if (model_class != "Sequential" && !functional)
            b.fail(fmt::format("model class '{}' is not supported (only Sequential and chain-shaped Functional models)", model_class));
        const json layers = mc.is_array() ? mc : mc.value("layers", json::array());
        if (!layers.is_array() || layers.empty()) b.fail("the model_config lists no layers");

        std::map<std::string, const WeightGroup*> groups;
        for (const WeightGroup& g : k.groups) groups[g.name] = &g;
        std::set<std::string> used;
        static const std::vector<Array> none;

        // Keras 3's Sequential may give its input shape only here.
        if (mc.is_object() && mc.contains("build_input_shape"))
            if (auto s = declared_shape(json{{"batch_input_shape", mc["build_input_shape"]}})) b.set_input(*s, "build_input_shape");

        std::string previous;
        for (size_t i = 0; i < layers.size(); ++i) {
            const json& L = layers[i];
            const std::string cls = L.value("class_name", std::string());
            const json c = L.value("config", json::object());
            const std::string name = c.value("name", L.value("name", fmt::format("layer_{}", i)));
            if (functional && cls != "InputLayer" && inbound_layer(L) != previous)
                b.fail(fmt::format("layer '{}' does not take the previous layer '{}' as its only input: branching models "
                                   "are not supported", name, previous));
            previous = name;
            if (!b.have_shape())
                if (auto s = declared_shape(c)) b.set_input(*s, name);
            auto it = groups.find(name);
            const std::vector<Array>& w = it == groups.end() ? none : it->second->weights;
            used.insert(name);

            const std::string act = activation_name(c.value("activation", json()));
            if (cls == "InputLayer") {
                if (!b.have_shape()) b.fail(fmt::format("layer '{}': the InputLayer has no shape", name));
            } else if (cls == "Dense" || ends_with(cls, "Dense")) {
                // Custom subclasses (QuantizedDense of AAAI 2021 / QVIP, QKeras's
                // QDense) hold the float kernel and bias of a Dense layer.
                const bool use_bias = c.value("use_bias", true);
                if (w.size() != 1 + size_t(use_bias))
                    b.fail(fmt::format("layer '{}': expected {} weights (kernel{}), found {}", name, 1 + int(use_bias),
                                       use_bias ? ", bias" : "", w.size()));
                if (c.contains("units") && w[0].rank() == 2 && c["units"].get<int64_t>() != w[0].dims[1])
                    b.fail(fmt::format("layer '{}': the kernel {} does not have {} units", name, dims_str(w[0]), c["units"].dump()));
                b.dense(name, w[0], use_bias ? &w[1] : nullptr, act);
            } else if (cls == "Conv2D" || cls == "Convolution2D") {
                const bool use_bias = c.value("use_bias", true);
                if (w.size() != 1 + size_t(use_bias))
                    b.fail(fmt::format("layer '{}': expected {} weights, found {}", name, 1 + int(use_bias), w.size()));
                b.conv2d(name, c, w[0], use_bias ? &w[1] : nullptr);
            } else if (cls == "Activation") {
                b.activation(name, act);
            } else if (cls == "ReLU") {
                b.relu_layer(name, c);
            } else if (cls == "LeakyReLU") {
                b.activation(name, "leaky_relu", c.value("alpha", c.value("negative_slope", 0.3)));
            } else if (cls == "Softmax") {
                b.activation(name, "softmax");
            } else if (cls == "BatchNormalization") {
                b.batch_norm(name, c, w);
            } else if (cls == "Flatten") {
                if (c.value("data_format", std::string("channels_last")) != "channels_last")
                    b.fail(fmt::format("layer '{}': Flatten with data_format channels_first is not supported", name));
                b.flatten(name);
            } else if (cls == "Reshape") {
                Shape target;
                for (const json& d : c.value("target_shape", json::array())) target.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
                b.reshape(name, target);
            } else if (cls == "Dropout" || cls == "SpatialDropout1D" || cls == "SpatialDropout2D" || cls == "GaussianNoise" ||
                       cls == "GaussianDropout" || cls == "AlphaDropout" || cls == "ActivityRegularization") {
                // The identity at inference.
            } else {
                b.fail(fmt::format("layer '{}': Keras layer class '{}' is not supported", name, cls));
            }
            if (!w.empty() && (cls == "InputLayer" || cls == "Activation" || cls == "Flatten" || cls == "Dropout"))
                b.fail(fmt::format("layer '{}' of class {} should have no weights", name, cls));
        }
        for (const WeightGroup& g : k.groups)
            if (!g.weights.empty() && !used.count(g.name))
                b.fail(fmt::format("layer '{}' has weights but is not in the model_config", g.name));
    } catch (const json::exception& e) {
        b.fail(fmt::format("unexpected model_config content ({})", e.what()));
    }
    return b.finish();
}

}  // namespace

Network read_keras_h5(const std::string& path) {
    KerasFile k;
    {
        h5::File f(path);
        k = read_layout(f);
    }  // the file is closed (and the HDF5 lock released) before building
    return k.config ? from_config(path, k) : from_weights(path, k);
}

}  // namespace qcert
