// Sound bounds on every value of an integer network over an input box.
#pragma once

#include "qcert/property.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace qcert {

// Per layer k: bounds on the exact accumulator of each neuron and on its output.
// All values are exact integers (the integer semantics needs no outward rounding).
struct IntBounds {
    std::vector<std::vector<__int128>> acc_lo, acc_hi;  // before rescaling
    std::vector<std::vector<int64_t>> out_lo, out_hi;   // after rescale, zero point, clamp
    // True when the neuron's output is the same for every input of the box.
    bool stable(size_t layer, size_t neuron) const;
    // The smallest two's complement width that holds every accumulator of a layer.
    int accumulator_width(size_t layer) const;
};

// Interval propagation: exact, cheap, loose.
IntBounds interval_bounds(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi);

// The output of an integer neuron for an exact accumulator value (rescale, zero point, clamp).
int64_t neuron_output(const IntLayer& L, __int128 acc);

// ---- symbolic bounds (src/bounds/relaxation.cpp, src/bounds/symbolic.cpp) ----

// A linear relaxation of one neuron: for every integer accumulator a in the
// range it was made for, lam_lo * a + mu_lo <= out(a) <= lam_hi * a + mu_hi,
// exactly in real arithmetic with these double values (offsets rounded outward).
// The slopes are >= 0 (the output is nondecreasing in the accumulator).
struct NeuronRelaxation {
    double lam_lo = 0, mu_lo = 0, lam_hi = 0, mu_hi = 0;
};

// The relaxation of neuron_output(L, a) over the integers acc_lo <= a <= acc_hi,
// chosen per side among slopes 0, num/den and the chord by the smaller area.
NeuronRelaxation relax_neuron(const IntLayer& L, __int128 acc_lo, __int128 acc_hi);

// DeepPoly / CROWN-style bounds: each layer's accumulators are bounded by
// back-substituting linear relaxations of all earlier layers down to the input box.
struct SymbolicBounds {
    const IntNetwork* net = nullptr;
    std::vector<int64_t> lo, hi;                       // the input box
    IntBounds bounds;                                  // never looser than interval_bounds
    std::vector<std::vector<NeuronRelaxation>> relax;  // per layer and neuron, valid on bounds.acc_*
    // False when the network's integers are too large for exact doubles (> 2^53) or the
    // budget ran out: `bounds` are then the interval bounds and objectives use them only.
    bool symbolic = true;
    std::shared_ptr<const struct SymbolicData> data;   // internal: reused by the objective bounds
};

// Pass a budget to give up (falling back to interval bounds) when it expires.
SymbolicBounds symbolic_bounds(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                               const Budget* budget = nullptr);

// A sound lower bound on sum_i c_i q_i over the outputs q of every input of the box.
struct ObjectiveBound {
    __int128 lower = 0;               // an integer, as the objective is; never below the interval bound
    // Guidance, not needed for soundness: the back-substituted linear lower bound's
    // coefficients on the inputs (empty when only intervals were used), and the box
    // vertex that minimises it (a candidate input that makes the objective small).
    std::vector<double> input_coef;
    std::vector<int64_t> argmin;
};

using LinearObjective = std::vector<std::pair<int64_t, int64_t>>;  // (output index, integer coefficient)

// With optimize > 0, the slopes of the first layer's relaxations are tuned for each
// objective by that many subgradient steps (alpha-CROWN style): tighter, and each step
// costs about one product with the first layer's weights per objective.
std::vector<ObjectiveBound> objective_lower_bounds(const SymbolicBounds& sb, const std::vector<LinearObjective>& objectives,
                                                  int optimize = 0);
ObjectiveBound objective_lower_bound(const SymbolicBounds& sb, const LinearObjective& objective, int optimize = 0);

// True when no input of the box satisfies c (its objective's lower bound exceeds rhs).
bool infeasible(const SymbolicBounds& sb, const IntConstraint& c);

}  // namespace qcert
