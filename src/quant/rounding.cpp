// Exact rounding of rationals and doubles, and the IEEE half cast.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>

namespace qcert {

const char* rounding_name(Rounding r) {
    switch (r) {
        case Rounding::HalfUp: return "half_up";
        case Rounding::HalfAway: return "half_away";
        case Rounding::HalfEven: return "half_even";
        case Rounding::HalfDown: return "half_down";
        case Rounding::Floor: return "floor";
        case Rounding::Ceil: return "ceil";
        case Rounding::TowardZero: return "toward_zero";
    }
    return "?";
}

Rounding parse_rounding(const std::string& s) {
    for (Rounding r : {Rounding::HalfUp, Rounding::HalfAway, Rounding::HalfEven, Rounding::HalfDown, Rounding::Floor,
                       Rounding::Ceil, Rounding::TowardZero})
        if (s == rounding_name(r)) return r;
    if (s == "nearest") return Rounding::HalfEven;
    if (s == "trunc" || s == "truncate") return Rounding::TowardZero;
    throw InputError("", "unknown rounding mode '" + s +
                             "' (half_up, half_away, half_even, half_down, floor, ceil, toward_zero)");
}

__int128 round_div(__int128 n, __int128 d, Rounding r) {
    if (d < 0) { n = -n; d = -d; }
    __int128 fl = n / d, rem = n % d;  // C++ truncates toward zero
    if (rem < 0) { fl -= 1; rem += d; }  // now n = fl * d + rem, 0 <= rem < d
    if (rem == 0) return fl;
    switch (r) {
        case Rounding::Floor: return fl;
        case Rounding::Ceil: return fl + 1;
        case Rounding::TowardZero: return fl >= 0 ? fl : fl + 1;
        default: break;
    }
    const __int128 twice = 2 * rem;
    if (twice < d) return fl;
    if (twice > d) return fl + 1;
    switch (r) {  // an exact tie: fl + 1/2
        case Rounding::HalfUp: return fl + 1;
        case Rounding::HalfDown: return fl;
        case Rounding::HalfEven: return (fl % 2 == 0) ? fl : fl + 1;
        case Rounding::HalfAway: return fl >= 0 ? fl + 1 : fl;
        default: return fl;
    }
}

int64_t round_double(double x, Rounding r) {
    if (!std::isfinite(x)) throw std::domain_error("round_double: non-finite value");
    if (std::fabs(x) >= 0x1p62) throw std::overflow_error("round_double: value too large");
    if (std::fabs(x) < 0x1p52) {
        // floor(x) and floor(x) + 1/2 are exact here: comparisons decide, with no division (this
        // is the hot path of the counterexample search).
        const double fl = std::floor(x), half = fl + 0.5;
        const int64_t n = int64_t(fl);
        if (x == fl) return n;
        switch (r) {
            case Rounding::Floor: return n;
            case Rounding::Ceil: return n + 1;
            case Rounding::TowardZero: return n >= 0 ? n : n + 1;
            default: break;
        }
        if (x < half) return n;
        if (x > half) return n + 1;
        switch (r) {  // an exact tie
            case Rounding::HalfUp: return n + 1;
            case Rounding::HalfDown: return n;
            case Rounding::HalfEven: return n % 2 == 0 ? n : n + 1;
            case Rounding::HalfAway: return n >= 0 ? n + 1 : n;
            default: return n;
        }
    }
    int e = 0;
    const double f = std::frexp(x, &e);           // x = f * 2^e, 0.5 <= |f| < 1
    const int64_t m = int64_t(std::ldexp(f, 53));  // x = m * 2^(e-53), exact
    const int shift = e - 53;
    if (shift >= 0) return int64_t(m) << shift;
    if (-shift > 120) {  // |x| < 2^-67: 0, or +-1 for the modes that round away from 0
        return int64_t(round_div(m > 0 ? 1 : (m < 0 ? -1 : 0), __int128(1) << 100, r));
    }
    return int64_t(round_div(m, __int128(1) << (-shift), r));
}

double to_fp16(double x) {
    if (std::isnan(x) || x == 0.0 || std::isinf(x)) return x;
    const double a = std::fabs(x);
    if (a >= 65520.0) return std::copysign(INFINITY, x);  // beyond the midpoint above 65504
    int e = 0;
    std::frexp(a, &e);                         // a = f * 2^e, leading bit 2^(e-1)
    const int quantum = std::max(e - 1, -14) - 10;  // 11 significant bits; subnormals below 2^-14
    const int64_t k = round_double(std::ldexp(x, -quantum), Rounding::HalfEven);
    return std::ldexp(double(k), quantum);
}

}  // namespace qcert
