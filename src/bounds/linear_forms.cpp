// Linear bounds over a box, with every rounding error moved outward (see linear_forms.hpp).
#include "bounds/linear_forms.hpp"

#include "bounds/outward.hpp"
#include "bounds/small_gemm.hpp"

#include <algorithm>
#include <cmath>

namespace qcert::linear {

using outward::down;
using outward::up;

namespace {

// The error bound gamma_n * m, rounded up, for a sum of n terms whose absolute values sum to at most m.
double sum_error(double n, double m) { return up(outward::gamma(n) * outward::inflate_nonneg(m, n)); }  // m >= 0

}  // namespace

Box::Box(const std::vector<double>& l, const std::vector<double>& h)
    : lo(Eigen::Map<const Vec>(l.data(), int64_t(l.size()))), hi(Eigen::Map<const Vec>(h.data(), int64_t(h.size()))) {
    mag = lo.cwiseAbs().cwiseMax(hi.cwiseAbs());
}

Vec magnitude(const Forms& F, const Box& B) {
    const double n = double(F.C.cols()) + 1;
    Vec m = F.C.cwiseAbs() * B.mag + F.d.cwiseAbs();
    for (int64_t i = 0; i < m.size(); ++i) m[i] = outward::inflate_nonneg(m[i], n);  // a sum of absolute values
    return m;
}

Vec max_over(const Forms& F, const Box& B) {
    const double n = 2 * double(F.C.cols()) + 2;
    Vec s = F.C.cwiseMax(0.0) * B.hi + F.C.cwiseMin(0.0) * B.lo + F.d;
    const Vec m = magnitude(F, B);
    for (int64_t i = 0; i < s.size(); ++i) s[i] = up(s[i] + sum_error(n, m[i]));
    return s;
}

Vec min_over(const Forms& F, const Box& B) {
    const double n = 2 * double(F.C.cols()) + 2;
    Vec s = F.C.cwiseMax(0.0) * B.lo + F.C.cwiseMin(0.0) * B.hi + F.d;
    const Vec m = magnitude(F, B);
    for (int64_t i = 0; i < s.size(); ++i) s[i] = down(s[i] - sum_error(n, m[i]));
    return s;
}

LinBounds affine(const std::vector<AffineTerm>& terms, const Vec& b, const Vec* b_err, const Box& B) {
    const int64_t rows = b.size(), inputs = B.size();
    LinBounds r{Forms::zero(rows, inputs), Forms::zero(rows, inputs), Vec(), Vec()};
    // Upper: W+ x.hi + W- x.lo; lower: W+ x.lo + W- x.hi.
    Vec err = b.cwiseAbs();  // sum over terms of |W| mag(x) + |b|
    Vec extra = Vec::Zero(rows);  // the part from W_err and b_err (already a bound, no gamma)
    double n = 2;
    for (const AffineTerm& t : terms) {
        const SignSplit own = t.split ? SignSplit{} : sign_split(*t.W);
        const SignSplit& S = t.split ? *t.split : own;
        const Mat &Wp = S.pos, &Wn = S.neg;
        const gemm::ConstMapMat P(Wp.data(), Wp.rows(), Wp.cols()), N(Wn.data(), Wn.rows(), Wn.cols());
        gemm::MapMat hiC(r.hi.C.data(), rows, inputs), loC(r.lo.C.data(), rows, inputs);
        // The previous neurons whose forms depend on the input (a dead one's are constant).
        std::vector<int32_t> live;
        for (int64_t k = 0; k < t.x->hi.C.rows(); ++k)
            if (!t.x->hi.C.row(k).isZero(0) || !t.x->lo.C.row(k).isZero(0)) live.push_back(int32_t(k));
        gemm::multiply(P, t.x->hi.C, hiC, true, &live);
        gemm::multiply(N, t.x->lo.C, hiC, true, &live);
        gemm::multiply(P, t.x->lo.C, loC, true, &live);
        gemm::multiply(N, t.x->hi.C, loC, true, &live);
        gemm::multiply(Wp, t.x->hi.d, r.hi.d, true);
        gemm::multiply(Wn, t.x->lo.d, r.hi.d, true);
        gemm::multiply(Wp, t.x->lo.d, r.lo.d, true);
        gemm::multiply(Wn, t.x->hi.d, r.lo.d, true);
        const Vec mx = magnitude(t.x->lo, B).cwiseMax(magnitude(t.x->hi, B));
        gemm::multiply(S.abs, mx, err, true);
        if (t.W_err) gemm::multiply(*t.W_err, mx, extra, true);
        n += 2 * double(t.W->cols());
    }
    r.hi.d += b;
    r.lo.d += b;
    if (b_err) extra += *b_err;
    for (int64_t i = 0; i < rows; ++i) {
        // The sums err and extra were themselves computed in floating point: inflate them.
        const double e = up(sum_error(n, err[i]) + outward::inflate(extra[i], n));
        r.hi.d[i] = up(r.hi.d[i] + e);
        r.lo.d[i] = down(r.lo.d[i] - e);
    }
    r.chi = max_over(r.hi, B);
    r.clo = min_over(r.lo, B);
    return r;
}

namespace {

// Raises t until c(p) <= s p + t at every breakpoint p in [l, u] (in exact arithmetic):
// c - line is piecewise linear with kinks at lo and hi only, so that suffices.
Line make_upper_sound(Line line, double l, double u, double lo, double hi) {
    double worst = 0;
    for (double p : {l, u, lo, hi}) {
        if (!(p >= l && p <= u)) continue;
        const outward::Iv sp = outward::exact_product(line.s, p);
        const outward::Iv v = outward::sub(outward::point(clamp_value(p, lo, hi)), outward::add(sp, outward::point(line.t)));
        worst = std::max(worst, v.hi);
    }
    if (worst > 0) line.t = up(line.t + worst);
    return line;
}

}  // namespace

Line clamp_upper_line(double l, double u, double lo, double hi) {
    const double cl = clamp_value(l, lo, hi), cu = clamp_value(u, lo, hi);
    // Exact, nothing to round: c is the constant cu on [l, u], or the identity.
    if (cl == cu) return {0.0, cu};
    if (lo <= l && u <= hi) return {1.0, 0.0};
    Line line;
    if (u <= hi) {
        // Only the low clamp bites: c is convex on [l, u]; the chord is above it.
        line.s = (cu - cl) / (u - l);
        line.t = cu - line.s * u;
    } else {
        // u > hi: the constant hi, or the chord from (l, c(l)) to (hi, hi) (c is convex on [l, hi]
        // and the chord keeps rising beyond hi, where c stays at hi).
        const Line flat{0.0, cu};
        Line chord;
        chord.s = (hi - cl) / (hi - l);
        chord.t = cl - chord.s * l;
        const double mid = 0.5 * (l + u);
        line = chord.s * mid + chord.t < cu ? chord : flat;
    }
    if (!(line.s >= 0) || !std::isfinite(line.s) || !std::isfinite(line.t)) line = {0.0, cu};
    return make_upper_sound(line, l, u, lo, hi);
}

// c(z) = -c'(-z) with c' the clamp to [-hi, -lo]; an upper line s w + t of c' on [-u, -l]
// gives c(z) >= s z - t.
Line clamp_lower_line(double l, double u, double lo, double hi) {
    const Line up_line = clamp_upper_line(-u, -l, -hi, -lo);
    return {up_line.s, -up_line.t};
}

void apply_lines(const Forms& in, const Vec& s, const Vec& t, bool upper, const Vec& in_mag, Forms& out) {
    out.C = in.C.array().colwise() * s.array();  // exact where s is 0 or 1
    out.d.resize(in.d.size());
    const double n = double(in.C.cols()) + 1;
    for (int64_t i = 0; i < in.d.size(); ++i) {
        if (s[i] == 0) {
            out.d[i] = t[i];
            continue;
        }
        if (s[i] == 1 && t[i] == 0) {
            out.d[i] = in.d[i];
            continue;
        }
        const double d = s[i] * in.d[i] + t[i];
        // Each coefficient and the constant carry at most 2 roundings: gamma(3) * (s |row| + |t|).
        // Products that underflow lose up to 2^-1074 each: outward::tiny covers them.
        const double e = up(up(outward::gamma(3) * up(up(s[i] * in_mag[i]) + std::fabs(t[i]))) + outward::tiny(n, in_mag[i]));
        out.d[i] = upper ? up(d + e) : down(d - e);
    }
}

void subtract_forms(const Forms& a, const Forms& b, bool upper, const Vec& mag_a, const Vec& mag_b, Forms& out) {
    out.C = a.C - b.C;
    out.d.resize(a.d.size());
    for (int64_t i = 0; i < a.d.size(); ++i) {
        const double d = a.d[i] - b.d[i];
        const double e = up(outward::gamma(2) * up(mag_a[i] + mag_b[i]));
        out.d[i] = upper ? up(d + e) : down(d - e);
    }
}

void shift_row(Forms& F, int64_t i, double c, bool upper) {
    if (c == 0) return;
    F.d[i] = upper ? up(F.d[i] + c) : down(F.d[i] + c);
}

}  // namespace qcert::linear
