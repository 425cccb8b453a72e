// Elementary functions of qcert::Interval (include/qcert/interval.hpp): the C
// library's value widened by kLibmUlps ulp on each side, clipped to the function's
// known range. Compound functions are built from the outward-rounded operations,
// in forms that avoid cancellation (sigmoid' and tanh' through exp(-|x|)).
#include "qcert/interval.hpp"

#include <fmt/format.h>

namespace qcert {

namespace {

double widen_down(double v) {
    for (int i = 0; i < kLibmUlps; ++i) v = next_down(v);
    return v;
}
double widen_up(double v) {
    for (int i = 0; i < kLibmUlps; ++i) v = next_up(v);
    return v;
}

}  // namespace

std::string Interval::str() const { return fmt::format("[{:.17g}, {:.17g}]", lo, hi); }

Interval leaky_relu(Interval a, double alpha) {
    const double lo = a.lo >= 0 ? a.lo : next_down(alpha * a.lo);
    const double hi = a.hi >= 0 ? a.hi : next_up(alpha * a.hi);
    return interval_detail::checked(lo, hi);
}

Interval exp(Interval a) {
    if (std::isnan(a.lo) || std::isnan(a.hi)) return Interval::entire();
    // exp(-inf) = 0 and exp(+inf) = inf are exact; widening keeps them (0 is clipped back).
    return {std::max(0.0, widen_down(std::exp(a.lo))), widen_up(std::exp(a.hi))};
}

Interval log(Interval a) {
    if (!(a.hi > 0)) return Interval::entire();
    const double lo = a.lo <= 0 ? -Interval::kInf : widen_down(std::log(a.lo));
    return {lo, widen_up(std::log(a.hi))};
}

Interval tanh(Interval a) {
    if (std::isnan(a.lo) || std::isnan(a.hi)) return Interval::entire();
    return {std::max(-1.0, widen_down(std::tanh(a.lo))), std::min(1.0, widen_up(std::tanh(a.hi)))};
}

Interval sigmoid(Interval a) {
    const Interval s = 1.0 / (1.0 + exp(-a));  // monotone pieces: no dependency loss
    return clamp(s, 0.0, 1.0);
}

namespace {

// The value at t >= 0 of an even function given by f(exp(-c t)), as an interval;
// c is 1 or 2, so -c * t is exact (or overflows to -inf, where exp is exactly 0).
template <class F>
Interval even_at(double t, double c, F f) {
    return f(exp(Interval::point(-c * t)));
}

}  // namespace

Interval sigmoid_derivative(Interval a) {
    // sigmoid'(t) = e / (1 + e)^2 with e = exp(-|t|): decreasing in |t|.
    auto f = [](Interval e) { return e / sqr(1.0 + e); };
    const Interval near = even_at(a.mig(), 1.0, f), far = even_at(a.mag(), 1.0, f);
    return clamp(Interval{far.lo, near.hi}, 0.0, 0.25);
}

Interval tanh_derivative(Interval a) {
    // tanh'(t) = 1 / cosh(t)^2 = 4 e / (1 + e)^2 with e = exp(-2|t|): decreasing in |t|.
    auto f = [](Interval e) { return 4.0 * e / sqr(1.0 + e); };
    const Interval near = even_at(a.mig(), 2.0, f), far = even_at(a.mag(), 2.0, f);
    return clamp(Interval{far.lo, near.hi}, 0.0, 1.0);
}

}  // namespace qcert
