// What `qcert inspect` reports: the layers of a model and, with data, the float
// and quantized accuracy and the misclassified samples.
#pragma once

#include "qcert/model.hpp"

#include <nlohmann/json.hpp>

namespace qcert {

struct InspectReport {
    nlohmann::json json;  // layers, parameters, scheme, float_accuracy, quantized_accuracy, misclassified, ...
    std::string text;     // the same for a terminal
};

// `data` may be null; `limit` < 0 means all samples.
InspectReport inspect(const Subject& s, const Dataset* data, int64_t limit);

}  // namespace qcert
