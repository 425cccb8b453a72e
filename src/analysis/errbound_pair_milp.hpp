// The pair MILP for an integer twin (errbound_pair_milp.cpp): s * (g - f)_k over a box
// of integer inputs, g in its exact integer semantics (backends/milp_encoding), f as the
// fine integer network f_h of errbound_intf.hpp, both in one all-integer model.
//
// With eps it decides: Proved when the model of s * (g - f_h)_k > eps - delta_k has no
// integer point (an all-integer model with exact coefficients, trusted like verify's
// MILP: backends/milp_cbc.cpp "Trust"), so s * (g - f)_k <= eps on the whole box; Witness
// when an input was found at which the exact re-evaluation gives s * (g - f)_k > eps.
// Without eps it maximises (an estimate of the maximum and an input; never a proof).
#pragma once

#include "qcert/errbound.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qcert::errbound {

struct PairMilpResult {
    enum class Kind { Proved, Witness, Optimum, Unknown } kind = Kind::Unknown;
    std::vector<double> input;  // Witness, Optimum (and Unknown when the solver found a point)
    double value = 0;           // Optimum: s * (g - f_h)_k at the solution, exactly (integer re-evaluation)
    double solver_value = 0;    // Optimum: the same as CBC's values give it (double; for diagnosis)
    bool optimal = false;       // Optimum: CBC proved it optimal
    double delta = 0;           // the bound on |f_k - f_h,k| used
    std::string reason;         // Unknown
    int64_t nodes = 0;
};

PairMilpResult pair_milp(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                         double sign, std::optional<double> eps, double seconds);

}  // namespace qcert::errbound
