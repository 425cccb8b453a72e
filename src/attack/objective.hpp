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
// accumulators not rounded). The clamped value alone hides a saturated score
// that has to leave saturation (the label's score stuck at the top, say: no
// gradient at all), so the excess beyond the range on the side where the term
// wants to go counts too, with a weight `excess` < 1: a term that wants y_i
// smaller reads clamp(z_i) + excess * max(z_i - hi, 0). Weighted less than the
// clamped value, the excess does not hide that the other output may reach the
// same bound instead (y3 - y0 <= 0 holds once y0 saturates too, whatever z3).
// Below lo (for a term that wants y_i smaller) nothing is gained. An output that
// the interval bounds pin to one end of its range for every input of the box has
// no excess either: it cannot leave.
struct OutputClamp {
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    double excess = 0.5;
    std::vector<char> pinned;  // per output; empty: none

    double value(size_t i, double z, bool wants_smaller) const {
        const double c = std::clamp(z, lo, hi);
        if (!pinned.empty() && pinned[i]) return c;
        return c + excess * (wants_smaller ? std::max(z - hi, 0.0) : std::min(z - lo, 0.0));
    }
    // d value / dz.
    double slope(size_t i, double z, bool wants_smaller) const {
        if (z > lo && z < hi) return 1;
        if (!pinned.empty() && pinned[i]) return 0;
        return (wants_smaller ? z >= hi : z <= lo) ? excess : 0;
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
