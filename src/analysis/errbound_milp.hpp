// The MILP estimate of max s * (g - f)_k over a box (errbound_milp.cpp): for the
// tightness figures and as a source of witnesses; never a proof.
#pragma once

#include "qcert/errbound.hpp"

#include <vector>

namespace qcert::errbound {

struct MilpResult {
    bool found = false, optimal = false;
    double value = 0;           // CBC's objective: s * (g - f)_k at its solution (floating point)
    std::vector<double> input;  // the solution's input, clamped into the box
};

MilpResult milp_max_difference(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                               double sign, double seconds);

}  // namespace qcert::errbound
