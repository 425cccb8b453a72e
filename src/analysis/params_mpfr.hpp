// High-precision evaluation at concrete points: 256-bit MPFR interval arithmetic
// (every operation rounded outward by MPFR itself, exp and tanh correctly rounded
// in the chosen direction), results rounded outward to double. Witness values and
// the `lower` bound come from here, so they are rigorous too, not only "accurate".
// Internal to src/analysis/params*.cpp.
#pragma once

#include "params_setup.hpp"

#include <optional>
#include <vector>

namespace qcert::params_detail {

// Enclosures of the exact logits of `net` at input x: the last block's
// pre-activation when `s.direct_last`, else its output.
std::vector<Interval> mp_logits(const Setup& s, const BlockNet& net, const std::vector<double>& x);

// The class whose logit is certainly the largest (one output: 1 when y > 0, 0 when
// y < 0), or -1 when the enclosures cannot tell.
int certain_class(const std::vector<Interval>& logits);

// The exact confidence of class j (see Setup::conf_reference) from exact logits.
Interval mp_confidence(const Setup& s, const BlockNet& net, const std::vector<double>& x, int j);

// The objective `tag` at a point of the variable space (parameters and inputs), or
// nothing when its reference class at x is not certain (an exact tie).
struct PointValue {
    Interval value;
    int reference = 0;  // the class the objective was measured against
};
std::optional<PointValue> mp_objective(const Setup& s, const std::vector<double>& point, Tag tag);

}  // namespace qcert::params_detail
