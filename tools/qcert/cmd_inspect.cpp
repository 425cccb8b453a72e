// qcert inspect MODEL [--scheme S] [--prune R | --prune-mask FILE] [--images IDX --labels IDX] [--limit N] [--json]
#include "commands.hpp"
#include "data_options.hpp"
#include "qcert/inspect.hpp"

#include <iostream>

namespace qcert::cli {

Runner add_inspect(CLI::App& app) {
    struct Opts {
        std::string model, scheme, prune_mask;
        double prune = 0;
        DataOptions data;
        int64_t limit = -1;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("inspect", "layers, shapes, parameters; with data the float and quantized accuracy");
    cmd->add_option("model", o->model, "model file (.onnx, .nnet, .h5)")->required();
    cmd->add_option("--scheme", o->scheme, "quantization scheme: aaai2021:Q, qebverif:Q, quadapter:B1,..., fp16, fixed:..., FILE.json");
    cmd->add_option("--prune", o->prune, "prune this fraction of each layer's smallest weights");
    cmd->add_option("--prune-mask", o->prune_mask, "prune the weights a JSON mask marks 0: {\"layers\": [[[1,0,...],...],...]}, one matrix per layer");
    o->data.add(cmd);
    cmd->add_option("--limit", o->limit, "only the first N samples");
    cmd->add_flag("--json", o->json, "print JSON");
    return [o] {
        const Subject s = load_subject(o->model, o->scheme, o->prune, o->prune_mask);
        const std::optional<Dataset> d = o->data.load();
        const InspectReport r = inspect(s, d ? &*d : nullptr, o->limit);
        std::cout << (o->json ? r.json.dump(2) + "\n" : r.text);
        return 0;
    };
}

}  // namespace qcert::cli
