// Rigorous interval arithmetic over double: every operation rounds outward.
//
//   qcert::Interval a{0.1, 0.2}, b = qcert::Interval::point(3.0);
//   qcert::Interval c = qcert::exp(a * b - 1.0);   // contains exp(x*y - 1) for all x in a, y in b
//
// Soundness lives here, in one place. The rules:
//
//  * The arithmetic (+, -, *, /, sqr) computes each endpoint in the default
//    round-to-nearest mode (never changed) and moves it one ulp outward with
//    next_down / next_up. IEEE 754 round-to-nearest returns one of the two
//    doubles that bracket the exact result, so the exact result lies within one
//    ulp of the computed one: the widened endpoint is on the safe side. This needs
//    no rounding-mode switches, so it is portable and thread-safe, at the price of
//    one ulp of width per operation. (x86-64 uses SSE2: no excess precision. An FMA
//    contraction of a*b+c only removes a rounding, which keeps the argument true.)
//  * exp, log, tanh come from the C library, which is not correctly rounded. glibc
//    documents (manual, "Known Maximum Errors in Math Functions") at most 1 ulp for
//    exp and log and 2 ulp for tanh on x86-64; we widen by kLibmUlps = 4 ulp on each
//    side, twice the worst documented error. The randomised tests in
//    tests/unit/bounds/test_interval_arith.cpp check every function against MPFR at
//    256 bits. Functions whose range is known (exp >= 0, |tanh| <= 1, sigmoid in
//    [0, 1]) are also clipped to it.
//  * Endpoints may be infinite; an operation whose result would be NaN (inf - inf,
//    0 * inf, division by an interval that contains 0) returns the whole line.
//
// The type is a plain aggregate with public endpoints: lo <= hi always holds for
// the results of these operations (callers that build intervals by hand must keep it).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace qcert {

// The next double above / below x (x itself for +inf / -inf, NaN for NaN). Same as
// std::nextafter(x, +-inf) but inline: integer steps on the IEEE bit pattern.
inline double next_up(double x) {
    if (!(x < std::numeric_limits<double>::infinity())) return x;  // +inf or NaN
    if (x == 0) return std::numeric_limits<double>::denorm_min();   // also -0
    const uint64_t b = std::bit_cast<uint64_t>(x);
    return std::bit_cast<double>(x > 0 ? b + 1 : b - 1);
}
inline double next_down(double x) { return -next_up(-x); }

struct Interval {
    double lo = 0, hi = 0;

    static constexpr double kInf = std::numeric_limits<double>::infinity();
    static Interval point(double v) { return {v, v}; }
    static Interval entire() { return {-kInf, kInf}; }
    static Interval hull(Interval a, Interval b) { return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)}; }

    bool contains(double v) const { return lo <= v && v <= hi; }
    bool contains(Interval o) const { return lo <= o.lo && o.hi <= hi; }
    bool is_point() const { return lo == hi; }
    bool finite() const { return std::isfinite(lo) && std::isfinite(hi); }
    // The midpoint (rounded; always inside the interval when finite).
    double mid() const { return std::isfinite(lo) && std::isfinite(hi) ? std::clamp(lo + 0.5 * (hi - lo), lo, hi) : 0.5 * (lo + hi); }
    // An upper bound on hi - lo.
    double width() const { return next_up(hi - lo); }
    // max |v| over the interval (exact).
    double mag() const { return std::max(std::fabs(lo), std::fabs(hi)); }
    // min |v| over the interval (exact).
    double mig() const { return lo > 0 ? lo : hi < 0 ? -hi : 0.0; }
    std::string str() const;
};

namespace interval_detail {
// Endpoints that came out NaN (inf - inf, 0 * inf) make the result the whole line.
inline Interval checked(double lo, double hi) {
    if (std::isnan(lo) || std::isnan(hi)) return Interval::entire();
    return {lo, hi};
}
// a * b for one endpoint pair, with 0 * inf taken as 0 (the endpoint of a finite factor).
inline double mul0(double a, double b) { return a == 0 || b == 0 ? 0.0 : a * b; }
}  // namespace interval_detail

inline Interval operator-(Interval a) { return {-a.hi, -a.lo}; }
inline Interval operator+(Interval a, Interval b) {
    return interval_detail::checked(next_down(a.lo + b.lo), next_up(a.hi + b.hi));
}
inline Interval operator-(Interval a, Interval b) {
    return interval_detail::checked(next_down(a.lo - b.hi), next_up(a.hi - b.lo));
}
inline Interval operator*(Interval a, Interval b) {
    using interval_detail::mul0;
    const double p1 = mul0(a.lo, b.lo), p2 = mul0(a.lo, b.hi), p3 = mul0(a.hi, b.lo), p4 = mul0(a.hi, b.hi);
    return interval_detail::checked(next_down(std::min(std::min(p1, p2), std::min(p3, p4))),
                                    next_up(std::max(std::max(p1, p2), std::max(p3, p4))));
}
// Division; the whole line when b contains 0.
inline Interval operator/(Interval a, Interval b) {
    if (b.lo <= 0 && b.hi >= 0) return Interval::entire();
    const double q1 = a.lo / b.lo, q2 = a.lo / b.hi, q3 = a.hi / b.lo, q4 = a.hi / b.hi;
    return interval_detail::checked(next_down(std::min(std::min(q1, q2), std::min(q3, q4))),
                                    next_up(std::max(std::max(q1, q2), std::max(q3, q4))));
}
inline Interval operator+(Interval a, double b) { return a + Interval::point(b); }
inline Interval operator+(double a, Interval b) { return Interval::point(a) + b; }
inline Interval operator-(Interval a, double b) { return a - Interval::point(b); }
inline Interval operator-(double a, Interval b) { return Interval::point(a) - b; }
inline Interval operator*(Interval a, double b) { return a * Interval::point(b); }
inline Interval operator*(double a, Interval b) { return Interval::point(a) * b; }
inline Interval operator/(Interval a, double b) { return a / Interval::point(b); }
inline Interval operator/(double a, Interval b) { return Interval::point(a) / b; }
inline Interval& operator+=(Interval& a, Interval b) { return a = a + b; }
inline Interval& operator-=(Interval& a, Interval b) { return a = a - b; }
inline Interval& operator*=(Interval& a, Interval b) { return a = a * b; }

// x^2: tighter than x * x when x contains 0.
inline Interval sqr(Interval a) {
    const double m = a.mag() * a.mag(), n = a.mig() * a.mig();
    return {n == 0 ? 0.0 : next_down(n), next_up(m)};
}
// The exact images of monotone piecewise-linear maps: no rounding needed.
inline Interval relu(Interval a) { return {std::max(a.lo, 0.0), std::max(a.hi, 0.0)}; }
inline Interval max(Interval a, Interval b) { return {std::max(a.lo, b.lo), std::max(a.hi, b.hi)}; }
inline Interval min(Interval a, Interval b) { return {std::min(a.lo, b.lo), std::min(a.hi, b.hi)}; }
// min(max(x, lo), hi), as Block::activate computes it: defined (constant hi) even when
// lo > hi, where std::clamp would be undefined behaviour.
inline Interval clamp(Interval a, double lo, double hi) {
    return {std::min(std::max(a.lo, lo), hi), std::min(std::max(a.hi, lo), hi)};
}
// alpha * x for x < 0, x otherwise (alpha >= 0).
Interval leaky_relu(Interval a, double alpha);
// The intersection, or nothing (lo > hi) when disjoint: check before use.
inline Interval intersect(Interval a, Interval b) { return {std::max(a.lo, b.lo), std::min(a.hi, b.hi)}; }

// Elementary functions (src/bounds/interval_arith.cpp), widened by kLibmUlps.
constexpr int kLibmUlps = 4;
Interval exp(Interval a);
Interval log(Interval a);      // of the part of a above 0; the whole line when a.hi <= 0
Interval tanh(Interval a);
Interval sigmoid(Interval a);  // 1 / (1 + exp(-x))
// Derivatives, for gradient enclosures: sigmoid'(x) = s (1 - s), tanh'(x) = 1 - tanh(x)^2.
// Both are even and decrease in |x|, so their range is fixed by the endpoints nearest to
// and farthest from 0.
Interval sigmoid_derivative(Interval a);
Interval tanh_derivative(Interval a);

// Sums of n terms accumulate outward rounding of every addition; the
// helpers below round a single nonnegative quantity up or down once more.
inline double add_up(double a, double b) { return next_up(a + b); }
inline double mul_up(double a, double b) { return a == 0 || b == 0 ? 0.0 : next_up(a * b); }

}  // namespace qcert
