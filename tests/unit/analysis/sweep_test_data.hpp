// Data for the sweep tests: the two-input training points as 8-bit "pixels".
#pragma once

#include "qcert/io.hpp"
#include "test_util.hpp"

#include <cmath>
#include <string>

namespace qcert::test {

inline std::string relu_model() { return source_dir() + "/examples/two_input_relu.onnx"; }

// The two-input training points as 8-bit "pixels" (x * 255 rounded), so that the
// aaai2021 schemes (raw u8.8 input integers) take them as they take images.
inline Dataset two_input_pixels() {
    const std::string dir = source_dir() + "/examples/";
    Dataset d = read_csv(dir + "two_input_data.csv");
    const Dataset labels = read_csv(dir + "two_input_labels.csv");
    for (double& v : d.raw) v = std::round(v * 255.0);
    d.float_scale = 1.0 / 255.0;
    d.integral = true;
    for (double l : labels.raw) d.labels.push_back(int(l));
    d.source = "two_input_pixels";
    return d;
}

}  // namespace qcert::test
