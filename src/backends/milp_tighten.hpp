// Bound tightening for one disjunct of a query's unsafe set (optimisation-based
// bound tightening, OBBT, with the disjunct's constraints in the model).
//
// The MILP of a disjunct encodes the network with big-M constants from bounds over
// the whole input box. The points that matter are fewer: those where the disjunct's
// output constraints hold. Layer by layer, each encoded neuron's accumulator is
// minimised and maximised over the LP relaxation of the network plus the disjunct
// (milp_lp_bounds: rigorous ranges from the LP duals, exact integer arithmetic),
// and the network is encoded again with the narrower ranges before the next layer.
// The ranges hold for every input of the box that meets the disjunct, so a MILP
// built on them has exactly the same solutions as one built on B.
#pragma once

#include "qcert/bounds.hpp"
#include "qcert/property.hpp"

#include <vector>

namespace qcert::milp {

struct Tightening {
    bool empty = false;          // proved: no input of the box meets the disjunct
    bool lp_infeasible = false;  // Clp found the LP relaxation infeasible (not a proof)
    int narrowed = 0;            // accumulator ranges made narrower
    int rounds = 0;              // passes over the layers
    // Per layer and neuron: narrowed here, so valid only where the disjunct is met
    // (to be passed to encode_network as `enforced`).
    std::vector<std::vector<bool>> narrowed_mask;
};

// Narrows B (in place) for the points of q's box where `conj` holds; the narrowed
// neurons must then be encoded with `enforced` = narrowed_mask. `wanted` are the
// outputs to encode (those conj reads). At most `rounds` passes; stops early when a
// pass narrows nothing or the budget runs out (B stays sound either way).
Tightening tighten_for_disjunct(const IntQuery& q, IntBounds& B, const std::vector<IntConstraint>& conj,
                                const std::vector<bool>& wanted, const Budget& budget, int rounds = 2);

}  // namespace qcert::milp
