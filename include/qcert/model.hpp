// A model ready for analysis: the float network read from a file and, when a
// scheme or pruning is asked for, its quantized (or pruned) twin.
//
//   qcert::Subject s = qcert::load_subject("net.h5", "aaai2021:6");
//   qcert::Dataset d = qcert::read_idx("images.gz", "labels.gz");
//   qcert::Vec y = s.quantized_output(d, 0);   // dequantized integer outputs
#pragma once

#include "qcert/io.hpp"
#include "qcert/quant.hpp"

#include <functional>
#include <optional>
#include <string>

namespace qcert {

struct Subject {
    std::string path;
    LoadedModel model;
    BlockNet blocks;                   // the float network in block form
    std::optional<QuantizedNet> quant; // the twin, when a scheme, a QDQ model or pruning gives one

    // Float outputs for a sample of the data (the network sees raw * float_scale).
    Vec float_output(const Dataset& d, int64_t i) const;
    // The twin's real-valued outputs (dequantized integer outputs on an integer path).
    Vec quantized_output(const Dataset& d, int64_t i) const;
    // The twin's predicted class, computed on the integers when there is an integer path.
    int64_t quantized_class(const Dataset& d, int64_t i) const;
    // Checks that the data fits the network's input; throws InputError naming the data file.
    void check_data(const Dataset& d) const;
};

// Loads a model and applies `scheme` (empty: none; a QDQ ONNX model brings its own
// unless a scheme is given) and then magnitude pruning by `prune_ratio` (0: none)
// before quantization. Throws InputError.
Subject load_subject(const std::string& model_path, const std::string& scheme = "", double prune_ratio = 0.0);
// The same, pruning by the mask in `prune_mask_file` (read_prune_mask; empty: none) instead
// of, not besides, a ratio.
Subject load_subject(const std::string& model_path, const std::string& scheme, double prune_ratio,
                     const std::string& prune_mask_file);

struct Accuracy {
    int64_t total = 0, correct = 0;
    std::vector<int64_t> misclassified;  // sample indices, ascending
    double percent() const { return total ? 100.0 * double(correct) / double(total) : 0.0; }
};

// Accuracy of a classifier over the first `limit` samples (all when limit < 0), on all cores.
Accuracy accuracy(const Dataset& d, int64_t limit, const std::function<int64_t(int64_t)>& predict);

}  // namespace qcert
