// The synthetic two-input, two-class data set of the bundled parameter-robustness
// examples: points uniform in [0,1]^2, class 1 when x2 > 0.5 + 0.25 sin(2 pi x1).
// A linear model can only follow the sine wave in part; a small ReLU MLP fits it.
#pragma once

#include "mlp.hpp"

#include <cstdint>
#include <string>

namespace qcert::train {

// The class of a point.
int two_input_class(double x1, double x2);

// `count` points drawn from `seed`, each coordinate rounded to 6 decimals so that
// the CSV written below holds exactly the training values.
Samples two_input_points(int64_t count, uint64_t seed);

// x1,x2 per row (with a comment line and a header), and the labels one per row.
void write_points_csv(const Samples& s, const std::string& path, const std::string& comment);
void write_labels_csv(const Samples& s, const std::string& path, const std::string& comment);

}  // namespace qcert::train
