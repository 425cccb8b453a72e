// The inspect report.
#include "qcert/inspect.hpp"

#include <fmt/format.h>

namespace qcert {

namespace {

std::string format_indices(const std::vector<int64_t>& v, size_t max_shown) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < max_shown; ++i) s += (i ? " " : "") + std::to_string(v[i]);
    if (v.size() > max_shown) s += fmt::format(" ... ({} more; --json lists all)", v.size() - max_shown);
    return s;
}

std::string describe_layer_scheme(const LayerScheme& l) {
    auto f = [](const std::optional<FixedFormat>& x, bool fp16) { return fp16 ? std::string("fp16") : x ? x->str() : "real"; };
    std::string s = fmt::format("w {} b {} a {}", f(l.weight, l.weight_fp16), f(l.bias, l.bias_fp16), f(l.activation, false));
    if (l.accumulator_bits) s += fmt::format(" acc {}", l.accumulator_bits);
    return s;
}

}  // namespace

InspectReport inspect(const Subject& s, const Dataset* data, int64_t limit) {
    using nlohmann::json;
    InspectReport r;
    json& j = r.json;
    std::string& t = r.text;
    const Network& net = s.model.net;
    j["model"] = s.path;
    j["input_shape"] = net.input_shape;
    j["layers"] = json::array();
    t += fmt::format("model       {}\ninput       {}\nlayers\n", s.path, shape_str(net.input_shape));
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        j["layers"].push_back({{"name", l.name}, {"op", op_name(l.op)}, {"in_shape", l.in_shape},
                               {"out_shape", l.out_shape}, {"parameters", l.parameter_count()}});
        t += fmt::format("  {:>3}  {:<10} {:<24} {:>10} -> {:<10} {:>9}\n", i, op_name(l.op), l.name.substr(0, 24),
                         shape_str(l.in_shape), shape_str(l.out_shape), l.parameter_count());
    }
    j["parameters"] = net.parameter_count();
    j["blocks"] = s.blocks.blocks.size();
    t += fmt::format("parameters  {}\nblocks      {} affine layers (", net.parameter_count(), s.blocks.blocks.size());
    for (size_t k = 0; k < s.blocks.blocks.size(); ++k)
        t += fmt::format("{}{}x{} {}", k ? ", " : "", s.blocks.blocks[k].out_size(), s.blocks.blocks[k].in_size(),
                         act_name(s.blocks.blocks[k].act));
    t += ")\n";
    if (s.quant) {
        const Scheme& sc = s.quant->scheme;
        j["scheme"] = {{"name", sc.name}, {"integer_path", bool(s.quant->integer)},
                       {"detail", json::parse(scheme_to_json(sc))}};
        t += fmt::format("scheme      {} ({})\n", sc.name, s.quant->integer                             ? "exact integer semantics"
                                         : s.quant->real.quantized_activations() ? "real input, fixed-point activations"
                                                                                 : "quantized parameters, real activations");
        if (sc.input) t += fmt::format("  input     {}{}\n", sc.input->str(), sc.input_raw ? " (raw data integers)" : "");
        for (size_t k = 0; k < sc.layers.size(); ++k) t += fmt::format("  layer {}   {}\n", k, describe_layer_scheme(sc.layers[k]));
    } else {
        j["scheme"] = nullptr;
    }
    if (!data) return r;
    s.check_data(*data);
    const Accuracy fa = accuracy(*data, limit, [&](int64_t i) { return argmax(s.float_output(*data, i)); });
    j["samples"] = fa.total;
    j["float_accuracy"] = fa.percent() / 100.0;
    j["float_misclassified"] = fa.misclassified;
    t += fmt::format("data        {} ({} samples)\n", data->source, fa.total);
    t += fmt::format("float accuracy      {:.2f} % ({} / {})\n", fa.percent(), fa.correct, fa.total);
    if (s.quant) {
        const Accuracy qa = accuracy(*data, limit, [&](int64_t i) { return s.quantized_class(*data, i); });
        j["quantized_accuracy"] = qa.percent() / 100.0;
        j["misclassified"] = qa.misclassified;
        t += fmt::format("quantized accuracy  {:.2f} % ({} / {})\n", qa.percent(), qa.correct, qa.total);
        t += fmt::format("misclassified (quantized, {}): {}\n", qa.misclassified.size(), format_indices(qa.misclassified, 40));
    } else {
        j["quantized_accuracy"] = nullptr;
        j["misclassified"] = fa.misclassified;
        t += fmt::format("misclassified (float, {}): {}\n", fa.misclassified.size(), format_indices(fa.misclassified, 40));
    }
    return r;
}

}  // namespace qcert
