// Realising a first layer: an integer input at which chosen first-layer neurons take
// chosen outputs. Used by the MILP with continuous inputs (MilpOptions::relax_inputs):
// its solution gives the first layer's outputs, all integers, at a real input; an
// integer input with the same first-layer outputs gives the same network outputs, so
// it meets the same disjunct.
#pragma once

#include "qcert/property.hpp"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace qcert::milp {

struct NeuronTarget {
    int64_t neuron = 0;
    int64_t output = 0;
};

// A local search over the integer box [lo, hi] from `start` (rounded): each neuron's
// output is met exactly when its accumulator lies in an interval (outputs are monotone
// in the accumulator), and single-input steps of +-1 reduce the total distance of the
// accumulators from their intervals, with random steps out of local minima. Returns an
// input where every target is met (exactly, in integers), or nothing after `max_steps`
// steps or the budget. Needs a first layer without wrapping or saturating accumulators.
std::optional<std::vector<int64_t>> realise_first_layer(const IntNetwork& net, const std::vector<int64_t>& lo,
                                                        const std::vector<int64_t>& hi, const std::vector<NeuronTarget>& targets,
                                                        const std::vector<double>& start, const Budget& budget,
                                                        int64_t max_steps = 20000);

}  // namespace qcert::milp
