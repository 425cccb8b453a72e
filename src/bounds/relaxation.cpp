// Linear relaxations of one integer neuron: out(a) = clamp(round(a n / d) + z, lo, hi)
// over an integer range of accumulators a.
//
// The rounding error. Write N = a n and d > 0 (n / d reduced, so every residue of
// N mod d can occur), N = f d + r with 0 <= r < d, and rho = round(N / d) - N / d.
// A mode rounds N / d down to f (rho = -r / d) or up to f + 1 (rho = (d - r) / d);
// r = 0 gives rho = 0 in every mode. So rho lies in [-eL / d, eU / d] with
//   floor:        down for every r                  -> eL = d - 1,          eU = 0
//   ceil:         up for every r > 0                -> eL = 0,              eU = d - 1
//   toward_zero:  either, depending on the sign     -> eL = d - 1,          eU = d - 1
//   half_up:      down iff 2r < d, i.e. r <= ceil(d/2) - 1; up iff r >= ceil(d/2)
//                                                   -> eL = ceil(d/2) - 1,  eU = d - ceil(d/2) = floor(d/2)
//   half_down:    down iff 2r <= d, i.e. r <= floor(d/2); up iff r >= floor(d/2) + 1
//                                                   -> eL = floor(d/2),     eU = ceil(d/2) - 1
//   half_even, half_away: a tie (2r = d) may go either way; otherwise as above
//                                                   -> eL = floor(d/2),     eU = floor(d/2)
// (d = 1 gives 0 everywhere: the rescale is exact.) Hence, wherever the clamp is
// inactive, a n / d + z - eL / d <= out(a) <= a n / d + z + eU / d.
//
// The clamp. out is a nondecreasing integer step function, so over [a_lo, a_hi] it is
// a staircase. When it takes few values (always for the few-bit hidden layers that
// matter) the staircase is listed exactly, step by step, and the best offset of a
// line of slope s is computed exactly: the maximum of out(a) - s a is at the first
// point of a step, the minimum at the last (s >= 0). Otherwise the range splits
// into the lower clamp, the rescaled middle (bounded by the sandwich above) and the
// upper clamp, each bounded at its end points.
//
// Slopes: 0, n / d and the chord from (a_lo, out(a_lo)) to (a_hi, out(a_hi)) are
// tried for each side, and the side keeps the one with the smaller area between
// line and staircase, i.e. the better value at the middle of the range (this is
// DeepPoly's choice for ReLU: lower slope 0 or 1 by |l| versus |u|). Soundness does
// not depend on the choice: every offset is computed for the slope actually used,
// with outward rounding (outward.hpp).
#include "qcert/bounds.hpp"

#include "bounds/outward.hpp"
#include "bounds/relaxation.hpp"

#include <algorithm>
#include <array>

namespace qcert {

namespace detail {

namespace {

using i128 = __int128;
using namespace outward;

// The staircase of a neuron with more values than this is bounded by regions.
constexpr i128 kMaxListedSteps = 64;

i128 floor_div(i128 p, i128 q) {  // q > 0
    i128 f = p / q;
    if (p % q != 0 && p < 0) --f;
    return f;
}
i128 ceil_div(i128 p, i128 q) { return -floor_div(-p, q); }

i128 gcd(i128 a, i128 b) {
    while (b != 0) {
        const i128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

// The staircase over [alo, ahi] as constant steps (few values) or three regions.
std::vector<Piece> pieces_of(const Staircase& f, i128 alo, i128 ahi, i128 glo, i128 ghi) {
    std::vector<Piece> pieces;
    if (ghi - glo <= kMaxListedSteps) {
        // Step v is [first(v), first(v + 1) - 1]; it is empty when the rescale skips v.
        i128 start = alo;
        for (i128 v = glo; v <= ghi; ++v) {
            const i128 next = v == ghi ? ahi + 1 : f.first_at_least(v + 1, alo, ahi);
            if (next > start) pieces.push_back({start, next - 1, false, v});
            start = next;
        }
        return pieces;
    }
    const i128 m1 = f.first_at_least(f.lo + 1, alo, ahi);                      // first a above the lower clamp
    const i128 m2 = ghi == f.hi ? f.first_at_least(f.hi, alo, ahi) : ahi + 1;  // first a at the upper clamp
    if (m1 > alo) pieces.push_back({alo, m1 - 1, false, f.lo});
    if (m2 - 1 >= m1) pieces.push_back({m1, m2 - 1, true, 0});
    if (m2 <= ahi) pieces.push_back({m2, ahi, false, f.hi});
    return pieces;
}

}  // namespace

i128 Staircase::rounded(i128 a) const { return round_div(a * n, d, mode) + z; }
i128 Staircase::operator()(i128 a) const { return std::clamp(rounded(a), lo, hi); }

// The smallest integer N with round(N / d) >= w. It lies in ((w-1) d, w d]; the
// guess below is exact for each mode, and the two loops only guard that claim.
i128 Staircase::threshold(i128 w) const {
    i128 g;
    switch (mode) {
        case Rounding::Floor: g = w * d; break;
        case Rounding::Ceil: g = (w - 1) * d + 1; break;
        case Rounding::TowardZero: g = w >= 1 ? w * d : (w - 1) * d + 1; break;
        default: g = ceil_div((2 * w - 1) * d, 2); break;  // the half-way point
    }
    while (round_div(g - 1, d, mode) >= w) --g;
    while (round_div(g, d, mode) < w) ++g;
    return g;
}

// The smallest a in [from, to] with out(a) >= v, or to + 1 when there is none.
i128 Staircase::first_at_least(i128 v, i128 from, i128 to) const {
    if (v <= lo) return from;
    if (v > hi) return to + 1;
    // lo < v <= hi: out(a) >= v iff round(a n / d) + z >= v iff a n >= threshold(v - z).
    const i128 a = ceil_div(threshold(v - z), n);
    return std::clamp(a, from, to + 1);
}

// The rounding error bounds eL, eU (see the top of the file), in units of 1/d.
void Staircase::error_numerators(i128& eL, i128& eU) const {
    const i128 half_dn = d / 2, half_up = (d + 1) / 2;
    switch (mode) {
        case Rounding::Floor: eL = d - 1; eU = 0; return;
        case Rounding::Ceil: eL = 0; eU = d - 1; return;
        case Rounding::TowardZero: eL = d - 1; eU = d - 1; return;
        case Rounding::HalfUp: eL = half_up - 1; eU = half_dn; return;
        case Rounding::HalfDown: eL = half_dn; eU = half_up - 1; return;
        case Rounding::HalfEven:
        case Rounding::HalfAway: eL = half_dn; eU = half_dn; return;
    }
    eL = eU = d - 1;
}

SlopeFamily::SlopeFamily(const IntLayer& L, i128 alo, i128 ahi) : alo_(alo), ahi_(ahi) {
    const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
    const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
    // Wrapping is not monotone: only the range of wrapped accumulators bounds the output.
    if (L.overflow == Overflow::Wrap && (alo < amin || ahi > amax)) {
        constant_ = true;
        glo_ = neuron_output(L, amin);
        ghi_ = neuron_output(L, amax);
        return;
    }
    const i128 g = gcd(i128(L.num), i128(L.den));
    f_.n = L.num / g;
    f_.d = L.den / g;
    f_.mode = L.rounding;
    f_.z = L.out_zero;
    f_.lo = L.lo;
    f_.hi = L.hi;
    if (L.overflow == Overflow::Saturate) {
        // Rounding is monotone, so saturating the accumulator to [amin, amax] before it
        // equals clamping the output to [out(amin), out(amax)] after it.
        f_.lo = neuron_output(L, amin);
        f_.hi = neuron_output(L, amax);
    }
    glo_ = f_(alo);
    ghi_ = f_(ahi);
    if (glo_ == ghi_) {  // stable: exact
        constant_ = true;
        return;
    }
    pieces_ = pieces_of(f_, alo, ahi, glo_, ghi_);
    alpha_ = double(f_.n) / double(f_.d);
    chord_ = double(ghi_ - glo_) / (double(ahi) - double(alo));
}

void SlopeFamily::offsets(double s, double& lower, double& upper) const {
    if (constant_ || s == 0) {  // the end values are the exact extremes
        lower = bracket(glo_).lo;
        upper = bracket(ghi_).hi;
        return;
    }
    lower = kInf;
    upper = -kInf;
    i128 eL, eU;
    f_.error_numerators(eL, eU);
    const Iv el = divide(bracket(eL), f_.d), eu = divide(bracket(eU), f_.d), z = bracket(f_.z);
    for (const Piece& p : pieces_) {
        if (!p.rescaled) {  // out - s a is largest at the first point of a step, smallest at the last
            const Iv v = bracket(p.value);
            upper = std::max(upper, sub(v, scale(bracket(p.a0), s)).hi);
            lower = std::min(lower, sub(v, scale(bracket(p.a1), s)).lo);
            continue;
        }
        for (const i128 a : {p.a0, p.a1}) {  // linear in a: the extremes are at the ends
            const Iv t = add(sub(divide(bracket(a * f_.n), f_.d), scale(bracket(a), s)), z);
            upper = std::max(upper, add(t, eu).hi);
            lower = std::min(lower, sub(t, el).lo);
        }
    }
}

void SlopeFamily::estimate(double s, double& lower, double& upper, double& a_lower, double& a_upper) const {
    if (constant_) {
        lower = double(glo_);
        upper = double(ghi_);
        a_lower = a_upper = 0;
        return;
    }
    lower = kInf;
    upper = -kInf;
    const double nd = double(f_.n) / double(f_.d), z = double(f_.z);
    for (const Piece& p : pieces_) {
        const double a0 = double(p.a0), a1 = double(p.a1);
        double u0, l1;
        if (p.rescaled) {
            u0 = std::max((nd - s) * a0, (nd - s) * a1) + z + 0.5;
            l1 = std::min((nd - s) * a0, (nd - s) * a1) + z - 0.5;
        } else {
            u0 = double(p.value) - s * a0;
            l1 = double(p.value) - s * a1;
        }
        if (u0 > upper) { upper = u0; a_upper = a0; }
        if (l1 < lower) { lower = l1; a_lower = a1; }
    }
}

NeuronRelaxation SlopeFamily::choose() const {
    NeuronRelaxation best;
    best.mu_lo = bracket(glo_).lo;  // slope 0 is exact: the bounds are the end values
    best.mu_hi = bracket(ghi_).hi;
    if (constant_) return best;
    const double mid = 0.5 * (double(alo_) + double(ahi_));
    double best_upper = best.mu_hi, best_lower = best.mu_lo;  // line values at `mid`
    for (const double s : {alpha_, chord_}) {
        if (!(s > 0) || !std::isfinite(s)) continue;
        double lower, upper;
        offsets(s, lower, upper);
        const double at_mid_upper = s * mid + upper, at_mid_lower = s * mid + lower;
        if (std::isfinite(upper) && at_mid_upper < best_upper) {
            best_upper = at_mid_upper;
            best.lam_hi = s;
            best.mu_hi = upper;
        }
        if (std::isfinite(lower) && at_mid_lower > best_lower) {
            best_lower = at_mid_lower;
            best.lam_lo = s;
            best.mu_lo = lower;
        }
    }
    return best;
}

}  // namespace detail

NeuronRelaxation relax_neuron(const IntLayer& L, __int128 alo, __int128 ahi) {
    return detail::SlopeFamily(L, alo, ahi).choose();
}

}  // namespace qcert
