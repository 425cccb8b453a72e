// qcert eval MODEL [--scheme S] [--prune R] --inputs FILE.csv [--input-scale X] [--json]
#include "commands.hpp"
#include "qcert/model.hpp"

#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>

namespace qcert::cli {

namespace {

std::string join(const Vec& v) {
    std::string s;
    for (int64_t i = 0; i < v.size(); ++i) s += fmt::format("{}{:.9g}", i ? "," : "", v[i]);
    return s;
}

std::string join(const std::vector<int64_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? "," : "", v[i]);
    return s;
}

}  // namespace

Runner add_eval(CLI::App& app) {
    struct Opts {
        std::string model, scheme, inputs, prune_mask;
        double prune = 0, input_scale = 1.0;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("eval", "outputs of the float network, and of its quantized twin, for each CSV row");
    cmd->add_option("model", o->model, "model file (.onnx, .nnet, .h5)")->required();
    cmd->add_option("--scheme", o->scheme, "quantization scheme (see qcert inspect --help)");
    cmd->add_option("--prune", o->prune, "prune this fraction of each layer's smallest weights");
    cmd->add_option("--prune-mask", o->prune_mask, "prune the weights a JSON mask marks 0: {\"layers\": [[[1,0,...],...],...]}, one matrix per layer");
    cmd->add_option("--inputs", o->inputs, "CSV file, one input per row")->required();
    cmd->add_option("--input-scale", o->input_scale,
                    "the float network sees value * SCALE (e.g. 0.00392156862745098 for pixels given as 0..255)");
    cmd->add_flag("--json", o->json, "one JSON object per row");
    return [o] {
        const Subject s = load_subject(o->model, o->scheme, o->prune, o->prune_mask);
        Dataset d = read_csv(o->inputs);
        d.float_scale = o->input_scale;
        s.check_data(d);
        const bool q = s.quant.has_value();
        const bool ints = q && s.quant->integer.has_value();
        if (!o->json) {
            std::cout << "row,class,float" << (q ? ",quantized_class,quantized" : "") << (ints ? ",integer" : "") << "\n";
        }
        for (int64_t i = 0; i < d.count(); ++i) {
            const Vec f = s.float_output(d, i);
            nlohmann::json j = {{"row", i}, {"float", std::vector<double>(f.data(), f.data() + f.size())}, {"class", argmax(f)}};
            std::string line = fmt::format("{},{},\"{}\"", i, argmax(f), join(f));
            if (q) {
                const Vec g = s.quantized_output(d, i);
                const int64_t c = s.quantized_class(d, i);
                j["quantized"] = std::vector<double>(g.data(), g.data() + g.size());
                j["quantized_class"] = c;
                line += fmt::format(",{},\"{}\"", c, join(g));
                if (ints) {
                    const IntNetwork& in = *s.quant->integer;
                    const IntEval ev = in.eval(in.input_from(d.raw_sample(i), d.float_sample(i)));
                    j["integer"] = ev.out;
                    j["overflow"] = ev.overflow;
                    line += fmt::format(",\"{}\"", join(ev.out));
                }
            }
            std::cout << (o->json ? j.dump() : line) << "\n";
        }
        return 0;
    };
}

}  // namespace qcert::cli
