// Sound bounds on every value of an integer network over an input box.
#pragma once

#include "qcert/property.hpp"

#include <cstdint>
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

}  // namespace qcert
