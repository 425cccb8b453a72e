// The violation margin of an unsafe set: the quantity the attack minimises.
//
// For an OR of ANDs of constraints a.q <= rhs, a disjunct is met exactly when the
// largest of its slacks (a.q - rhs) is <= 0; the set is reached exactly when the
// smallest disjunct value is <= 0. Minimising that min-max drives the search
// toward the unsafe set and tells how far a candidate still is.
#pragma once

#include "qcert/property.hpp"

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

// The same on real-valued outputs y (the proxy network), with the constraint that
// attains the value, so that its coefficients give the gradient direction.
struct RealMargin {
    double value = std::numeric_limits<double>::infinity();
    int disjunct = -1, constraint = -1;  // -1 when no constraint attains it
};
// `only` >= 0 restricts the minimum to that disjunct (a restart aimed at one target).
RealMargin real_margin(const IntUnsafe& u, const double* y, int only = -1);

}  // namespace qcert::attack
