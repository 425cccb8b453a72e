// Splitting a neuron's pre-activation range at a breakpoint of its activation (ReLU phase
// splitting), for the branch and bound of `qcert bound` on regions with many inputs, where
// splitting the input box barely moves the differential bound (784 MNIST pixels).
//
// A node is the input box together with ranges of pre-activations (diff_bound's `within`);
// a phase split cuts one range at a breakpoint b into z <= b and z >= b. The two children
// cover the parent's inputs, and every range of the parent holds on each child, so each
// child's differential bound (computed with its narrowed range: the neuron's relaxation is
// then exact on that side) is sound for the inputs in it, and the maximum over the leaves
// is sound for the box. A child whose ranges become empty holds no input.
#pragma once

#include "qcert/errbound.hpp"

#include <cstdint>
#include <optional>

namespace qcert::errbound {

struct PhaseSplit {
    int32_t layer = 0;
    int32_t neuron = 0;
    bool on_g = false;  // g's pre-activation (with its rounding noise), else f's
    double at = 0;      // the breakpoint
};

// The neuron to split in the hidden layers of `r`: one whose range strictly contains a
// breakpoint of f's activation or of g's. With `scores` (the bound's guide for the output and
// side to lower), the one whose relaxations cost that bound most, in any layer (BaBSR-style);
// without them, or when every candidate scores 0, in the earliest layer that has one, f's before
// g's, the one farthest from both ends of its range (the largest min(at - lo, hi - at)). None
// when every hidden neuron is on one piece in both networks.
std::optional<PhaseSplit> choose_phase_split(const ErrPair& p, const PreActivationRanges& r,
                                             const PhaseScores* scores = nullptr);

// The child's ranges: `r` with the split range cut to (-inf, at] (below) or [at, inf).
PreActivationRanges split_ranges(const PreActivationRanges& r, const PhaseSplit& s, bool below);

// Some range is empty (lo > hi): no input lies in the node.
bool empty_ranges(const PreActivationRanges& r);

}  // namespace qcert::errbound
