// The margin network of a robustness property and its evaluation (src/analysis/synth_margin.cpp).
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/interval.hpp"

#include <vector>

namespace qcert::synth {

// `net` (a final softmax dropped) followed by the exact layer y_label - y_j for every j != label.
// Throws InputError when the label is not an output.
BlockNet margin_net(const BlockNet& net, int64_t label);
// The class that margin row `row` compares against.
int64_t margin_class(int64_t row, int64_t label);
// The margins at u (the network sees u / divisor), enclosed in outward-rounded interval arithmetic.
std::vector<Interval> margin_enclosure(const BlockNet& m, const std::vector<double>& u, double divisor);
// The margins at u in double precision (a guide, not a proof).
Vec margins(const BlockNet& m, const std::vector<double>& u, double divisor);
// The gradient in u of margin row `row` at u (piecewise linear networks; one side at kinks).
Vec margin_gradient(const BlockNet& m, const std::vector<double>& u, double divisor, int64_t row);

}  // namespace qcert::synth
