// Outward rounding for the floating-point parts of the symbolic bounds.
//
// The whole soundness argument of src/bounds/ rests on two facts about IEEE
// double arithmetic in round-to-nearest (the default mode, which this code never
// changes; x86-64 uses SSE2, so there is no excess precision):
//
//  1. One operation (+, -, *, /, or converting an integer to double) returns a
//     neighbour of the exact result: the exact value lies in
//     [nextafter(r, -inf), nextafter(r, +inf)] for the rounded result r (the
//     conversion of __int128 is checked exactly, see `bracket`).
//  2. A sum of n products, computed in ANY order (Eigen's vectorized matrix
//     products reorder freely), is within gamma_n * sum |p_i q_i| + n * eta of
//     the exact sum, with gamma_n = n u / (1 - n u), u = 2^-53, and eta = 2^-1074
//     covering products that underflow (Higham, Accuracy and Stability of
//     Numerical Algorithms, 2nd ed., eq. 3.5 and Lemma 3.4; FMA contraction only
//     removes roundings). With n u <= 1/4, gamma_n <= 2 n u.
//
// Scalar quantities that few of (relaxation offsets, constants) use fact 1 with
// nextafter on every operation: the `Iv` type below. Matrix products use fact 2
// with an explicit error term computed from the absolute values.
#pragma once

#include "qcert/interval.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace qcert::outward {

using i128 = __int128;

constexpr double kUnit = 0x1p-53;  // u: unit roundoff of double
constexpr double kInf = std::numeric_limits<double>::infinity();

// std::nextafter(x, +-inf), inline (qcert::next_up: integer steps on the bit pattern; libm's
// nextafter took a sixth of the time of the ACAS Xu error bounds).
inline double up(double x) { return next_up(x); }
inline double down(double x) { return next_down(x); }

// next_up for x in [+0, inf] without branches (so that loops over error terms vectorize):
// the successor of a nonnegative finite double is the next bit pattern (+0 gives the smallest
// subnormal, like next_up); +inf stays. Only for values known to be >= 0 (sums of absolute
// values); -0 is first turned into +0 (x + 0.0), so it goes up too.
inline double up_nonneg(double x) {
    const double y = x + 0.0;
    const uint64_t b = std::bit_cast<uint64_t>(y);
    return std::bit_cast<double>(y < kInf ? b + 1 : b);
}

// An absolute error term that dominates n underflowing operations (each loses at most
// eta = 2^-1074) on a sum whose nonnegative magnitude is at most `scale`:
// 2^-1000 n (1 + scale) is far larger and still invisible next to any real bound.
// (A product with the power of two 2^-1000 is exact unless it falls below 2^-1022; up() covers that.)
inline double tiny(double n, double scale) { return up(up(n * up(1.0 + scale)) * 0x1p-1000); }

// An upper bound on the exact value of a sum of n nonnegative products when
// `computed` is its floating-point evaluation (fact 2): exact <= computed / (1 - gamma_n)
// + n eta <= computed (1 + 4 (n + 2) u) + tiny.
inline double inflate(double computed, double n) {
    const double f = up(1.0 + 4.0 * (n + 2.0) * kUnit);
    return up(up(computed * f) + tiny(n, computed));
}

// inflate for a computed value known to be >= +0 (a sum of absolute values), without branches:
// the same value as inflate.
inline double inflate_nonneg(double computed, double n) {
    const double f = up(1.0 + 4.0 * (n + 2.0) * kUnit);
    const double t = up_nonneg(up_nonneg(n * up_nonneg(1.0 + computed)) * 0x1p-1000);
    return up_nonneg(up_nonneg(computed * f) + t);
}

// gamma_n rounded up, as a factor for error terms: 2 (n + 1) u >= gamma_n for n u <= 1/4.
inline double gamma(double n) { return up(2.0 * (n + 1.0) * kUnit); }

// [lo, hi] containing an exact real number.
struct Iv {
    double lo = 0, hi = 0;
};

// The exact integer v as an interval of doubles (exact when |v| <= 2^53).
inline Iv bracket(i128 v) {
    const double d = double(v);
    if (std::fabs(d) >= 0x1p126) return {down(down(d)), up(up(d))};  // never met in practice
    Iv r{d, d};
    // Checks against the exact value; conversion is correctly rounded, but this does
    // not depend on it (the loops run at most once for a faithful conversion).
    // |d| < 2^126 here, so the conversions back to i128 are exact.
    while (i128(r.lo) > v) r.lo = down(r.lo);
    while (i128(r.hi) < v) r.hi = up(r.hi);
    return r;
}
inline Iv point(double d) { return {d, d}; }

// Directed operations: the exact result is first recovered with an error-free
// transformation (TwoSum; the FMA remainder of a product or quotient), so a result
// that is exact stays exact and only an inexact one moves one ulp outward. Close to
// the underflow range, where those transformations can lose bits, both sides move.
constexpr double kSafeTiny = 0x1p-900;

// [r, r] when r is exact, else the side of r the exact value lies on (err has its sign).
inline Iv around(double r, double err) {
    if (!std::isfinite(r)) return {r == kInf ? std::numeric_limits<double>::max() : -kInf,
                                    r == -kInf ? -std::numeric_limits<double>::max() : kInf};
    if (!std::isfinite(err)) return {down(r), up(r)};  // the transformation overflowed
    if (err > 0) return {r, up(r)};
    if (err < 0) return {down(r), r};
    return {r, r};
}
inline Iv exact_sum(double a, double b) {
    const double s = a + b;
    const double bb = s - a;
    return around(s, (a - (s - bb)) + (b - bb));  // TwoSum: s + err = a + b exactly
}
inline Iv exact_product(double a, double b) {
    const double p = a * b;
    if (a == 0 || b == 0) return {0.0, 0.0};
    if (std::fabs(p) < kSafeTiny) return {down(p), up(p)};
    return around(p, std::fma(a, b, -p));  // a b - p, exactly
}
inline Iv exact_quotient(double a, double d) {  // d > 0
    const double q = a / d;
    if (a == 0) return {0.0, 0.0};
    if (std::fabs(q) < kSafeTiny || std::fabs(a) < kSafeTiny) return {down(q), up(q)};
    return around(q, std::fma(-q, d, a));  // a - q d, exactly; sign of a/d - q since d > 0
}

inline Iv add(Iv a, Iv b) { return {exact_sum(a.lo, b.lo).lo, exact_sum(a.hi, b.hi).hi}; }
inline Iv neg(Iv a) { return {-a.hi, -a.lo}; }
inline Iv sub(Iv a, Iv b) { return add(a, neg(b)); }
// a * s for a double s >= 0.
inline Iv scale(Iv a, double s) { return {exact_product(a.lo, s).lo, exact_product(a.hi, s).hi}; }
// a / d for an integer d >= 1.
inline Iv divide(Iv a, i128 d) {
    const Iv dv = bracket(d);  // dv.lo >= 1 > 0
    return {exact_quotient(a.lo, a.lo >= 0 ? dv.hi : dv.lo).lo, exact_quotient(a.hi, a.hi >= 0 ? dv.lo : dv.hi).hi};
}

// The integers implied by a real bound on an integer quantity: floor of an upper
// bound, ceil of a lower one. A bound that is not finite (or NaN, after an overflow)
// says nothing: the result is then far outside any int64 value, and the callers
// intersect with exact integer bounds.
constexpr i128 kNoBound = i128(1) << 100;
inline i128 int_upper(double ub) {
    if (!(ub < 0x1p100)) return kNoBound;  // also NaN
    if (ub <= -0x1p100) return -kNoBound;
    return i128(std::floor(ub));
}
inline i128 int_lower(double lb) {
    if (!(lb > -0x1p100)) return -kNoBound;  // also NaN
    if (lb >= 0x1p100) return kNoBound;
    return i128(std::ceil(lb));
}

}  // namespace qcert::outward
