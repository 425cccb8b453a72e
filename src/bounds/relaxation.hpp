// Internal: every linear relaxation of one integer neuron over a range of
// accumulators, so that slopes can be chosen per objective (src/bounds/symbolic.cpp).
#pragma once

#include "qcert/bounds.hpp"

#include <algorithm>
#include <vector>

namespace qcert::detail {

// out(a) = clamp(round(a n / d) + z, lo, hi) with n / d reduced.
struct Staircase {
    __int128 n = 1, d = 1;
    Rounding mode = Rounding::HalfEven;
    __int128 z = 0, lo = 0, hi = 0;

    __int128 rounded(__int128 a) const;
    __int128 operator()(__int128 a) const;
    __int128 threshold(__int128 w) const;  // smallest N with round(N / d) >= w
    __int128 first_at_least(__int128 v, __int128 from, __int128 to) const;
    void error_numerators(__int128& eL, __int128& eU) const;  // rounding error bounds, in units of 1/d
};

// A piece of the staircase over [a0, a1]: constant `value`, or (`rescaled`) the
// unclamped rounding, bounded by the sandwich a n / d + z + [-eL, eU] / d.
struct Piece {
    __int128 a0, a1;
    bool rescaled = false;
    __int128 value = 0;
};

class SlopeFamily {
public:
    SlopeFamily(const IntLayer& L, __int128 acc_lo, __int128 acc_hi);

    // Slope 0 only (a stable neuron, or a wrapping accumulator).
    bool constant() const { return constant_; }
    // Slopes beyond [0, max_slope()] never tighten anything.
    double max_slope() const { return constant_ ? 0.0 : std::max(alpha_, chord_); }
    // Sound, rounded outward: out(a) - s a lies in [lower, upper] on the whole range (s >= 0).
    void offsets(double s, double& lower, double& upper) const;
    // Fast estimate for the optimiser (not rounded outward), with accumulators attaining it.
    void estimate(double s, double& lower, double& upper, double& a_lower, double& a_upper) const;
    // DeepPoly's choice per side among slopes 0, n / d and the chord, by area.
    NeuronRelaxation choose() const;

private:
    bool constant_ = false;
    __int128 alo_ = 0, ahi_ = 0, glo_ = 0, ghi_ = 0;  // range and end values (bounds when constant)
    Staircase f_;
    std::vector<Piece> pieces_;
    double alpha_ = 0, chord_ = 0;
};

}  // namespace qcert::detail
