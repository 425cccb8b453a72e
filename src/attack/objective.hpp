// The violation margin of an unsafe set: the quantity the attack minimises.
//
// For an OR of ANDs of constraints a.q <= rhs, a disjunct is met exactly when the
// largest of its slacks (a.q - rhs) is <= 0; the set is reached exactly when the
// smallest disjunct value is <= 0. Minimising that min-max drives the search
// toward the unsafe set and tells how far a candidate still is.
#pragma once

#include "qcert/property.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace qcert::attack {

using i128 = __int128;

// Value of a disjunct with no constraint (always met) and of an empty unsafe set (never met).
inline constexpr i128 kMarginMet = -(i128(1) << 100);
inline constexpr i128 kMarginNever = i128(1) << 100;

// min over disjuncts of max over constraints of (a.q - rhs), exactly; <= 0 iff is_unsafe(u, q).
i128 violation_margin(const IntUnsafe& u, const std::vector<int64_t>& q);

// How the real-valued objective reads the last layer's values z, given before
// the layer's clamp to [lo, hi] (the proxy network, or the exact last-layer
// accumulators not rounded). A term that wants y_i smaller sees max(z_i, lo):
// below lo it cannot gain, but the whole excess above hi counts, because it must
// come down before the output moves at all (a saturated label score would
// otherwise show no gradient). Symmetrically for terms that want y_i larger. An
// output that the interval bounds pin to one end of its range for every input of
// the box is clamped on both sides: its excess is no progress.
struct OutputClamp {
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    std::vector<char> pinned;  // per output; empty: none

    double value(size_t i, double z, bool wants_smaller) const {
        if (!pinned.empty() && pinned[i]) return std::clamp(z, lo, hi);
        return wants_smaller ? std::max(z, lo) : std::min(z, hi);
    }
    // Whether d value / dz is 1 (else 0).
    bool passes(size_t i, double z, bool wants_smaller) const {
        if (!pinned.empty() && pinned[i]) return z > lo && z < hi;
        return wants_smaller ? z > lo : z < hi;
    }
};

// The margin on real values, with the constraint that attains it, so that its
// coefficients give the gradient direction.
struct RealMargin {
    double value = std::numeric_limits<double>::infinity();
    int disjunct = -1, constraint = -1;  // -1 when no constraint attains it
};
// `only` >= 0 restricts the minimum to that disjunct (a restart aimed at one target).
RealMargin real_margin(const IntUnsafe& u, const double* z, const OutputClamp& clamp, int only = -1);

}  // namespace qcert::attack
