// Loading a model with its quantized or pruned twin; accuracy over data.
#include "qcert/model.hpp"

#include "qcert/error.hpp"
#include "run/parallel.hpp"

#include <fmt/format.h>

namespace qcert {

Subject load_subject(const std::string& model_path, const std::string& scheme, double prune_ratio) {
    return load_subject(model_path, scheme, prune_ratio, "");
}

Subject load_subject(const std::string& model_path, const std::string& scheme, double prune_ratio,
                     const std::string& prune_mask_file) {
    if (prune_ratio != 0.0 && !prune_mask_file.empty()) throw InputError("--prune-mask", "give --prune or --prune-mask, not both");
    Subject s;
    s.path = model_path;
    s.model = load_model(model_path);
    s.blocks = to_blocks(s.model.net);
    BlockNet base = s.blocks;
    if (prune_ratio != 0.0) base = prune_magnitude(base, prune_ratio);
    if (!prune_mask_file.empty()) base = prune_mask(base, read_prune_mask(prune_mask_file));
    const bool pruned = prune_ratio != 0.0 || !prune_mask_file.empty();
    if (!scheme.empty()) {
        s.quant = quantize(base, parse_scheme(scheme, base));
    } else if (s.model.qdq) {
        if (pruned) throw InputError("--prune", "a QDQ model's own quantization cannot be pruned; give --scheme");
        s.quant = from_qdq(base, *s.model.qdq);
    } else if (pruned) {
        QuantizedNet q;
        q.scheme.name = prune_mask_file.empty() ? fmt::format("prune:{}", prune_ratio) : "prune-mask:" + prune_mask_file;
        q.real = base;
        s.quant = q;
    }
    return s;
}

void Subject::check_data(const Dataset& d) const {
    if (d.sample_size() != blocks.input_size())
        throw InputError(d.source, fmt::format("samples have {} values, the model {} expects {}", d.sample_size(), path,
                                               blocks.input_size()));
}

Vec Subject::float_output(const Dataset& d, int64_t i) const { return blocks.forward(d.float_sample(i)); }

Vec Subject::quantized_output(const Dataset& d, int64_t i) const {
    if (!quant) throw InputError(path, "no scheme given");
    return quant->forward(d.raw_sample(i), d.float_sample(i));
}

int64_t Subject::quantized_class(const Dataset& d, int64_t i) const {
    if (!quant) throw InputError(path, "no scheme given");
    if (quant->integer) {
        const IntNetwork& in = *quant->integer;
        const std::vector<int64_t> q = in.eval(in.input_from(d.raw_sample(i), d.float_sample(i))).out;
        int64_t best = 0;  // argmax on the integers, ties to the lowest index
        for (size_t k = 1; k < q.size(); ++k)
            if (q[k] > q[best]) best = int64_t(k);
        return best;
    }
    return argmax(quant->real.forward(d.float_sample(i)));
}

Accuracy accuracy(const Dataset& d, int64_t limit, const std::function<int64_t(int64_t)>& predict) {
    if (d.labels.empty()) throw InputError(d.source, "the data has no labels");
    const int64_t n = limit < 0 ? d.count() : std::min(limit, d.count());
    std::vector<char> ok(n);
    parallel_for(n, [&](int64_t i) { ok[i] = predict(i) == d.labels[i]; });
    Accuracy a;
    a.total = n;
    for (int64_t i = 0; i < n; ++i) {
        if (ok[i]) ++a.correct;
        else a.misclassified.push_back(i);
    }
    return a;
}

}  // namespace qcert
