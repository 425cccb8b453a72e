// The reference network written as a fine integer network; see errbound_intf.hpp.
//
// Scales. Per layer the accumulator is kept at 2^-S and the output at 2^-A. The solver's
// rows must stay exact in double arithmetic (milp_cbc.cpp): every integer coefficient
// below 2^kCoefBits, every accumulator below 2^kActivityBits and every variable's bounds
// below 2^kValueBits. So S is the largest with |W c| 2^S, |b| 2^S <= 2^kCoefBits and
// |z| 2^S <= 2^kActivityBits; the last layer's A the largest with |z| 2^A <= 2^kValueBits; a
// hidden layer's A balances its own output step 2^-A (whose error the next layer multiplies
// by |W'|) against the next layer's weight resolution 2^-(S' - A) (multiplied by |x|). The limits
// are far below what exactness allows (2^40 / 2^52): with coefficients near 2^36 CBC spent tens
// of seconds in its root LP on the QEBVerif networks; at 2^24 it solves them in seconds with
// delta near 0.01 (measured on 1blk_100, Q = 4). The real magnitudes used for the choice come
// from plain interval arithmetic on f; soundness does not depend on the choice, only on delta,
// computed afterwards from f_h's own bounds.
#include "analysis/errbound_intf.hpp"
#include "bounds/outward.hpp"
#include "qcert/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>

namespace qcert::errbound {

namespace {

constexpr int kCoefBits = 24, kActivityBits = 38, kValueBits = 28;

using outward::up;

int floor_log2_limit(int bits, double magnitude) {
    return int(std::floor(double(bits) - std::log2(std::max(magnitude, 0x1p-60))));
}

// Per layer: max |z| over the box (interval arithmetic), max |W|, max |b|, max |x|.
struct LayerMag {
    double z = 0, w = 0, b = 0, x = 0;
};

std::vector<LayerMag> magnitudes(const ErrPair& p, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    std::vector<Interval> x(lo.size());
    for (size_t j = 0; j < lo.size(); ++j) x[j] = Interval{double(lo[j]), double(hi[j])} / p.f_input_divisor;
    std::vector<LayerMag> out;
    for (const PairLayer& L : p.f_layers) {
        LayerMag m;
        m.w = L.W.cwiseAbs().maxCoeff();
        m.b = L.b.size() ? L.b.cwiseAbs().maxCoeff() : 0.0;
        std::vector<Interval> nx(size_t(L.W.rows()));
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            Interval s = Interval::point(L.b[i]);
            for (int64_t j = 0; j < L.W.cols(); ++j)
                if (L.W(i, j) != 0) s += L.W(i, j) * x[size_t(j)];
            m.z = std::max(m.z, s.mag());
            nx[size_t(i)] = clamp(s, L.lo, L.hi);
            m.x = std::max(m.x, nx[size_t(i)].mag());
        }
        x = std::move(nx);
        out.push_back(m);
    }
    return out;
}

// An f clamp bound at 2^-A as an integer, or nullopt when it is not exactly representable.
std::optional<int64_t> clamp_bound(double v, int A, int64_t none) {
    if (std::isinf(v)) return none;
    const double s = std::ldexp(v, A);
    if (s != std::floor(s) || std::fabs(s) >= 0x1p62) return std::nullopt;
    return int64_t(s);
}

// |a - q 2^-S| rounded up, for a real a given as an interval.
double distance_up(Interval a_scaled, int64_t q, int S) {
    const double d = (a_scaled - double(q)).mag();
    return up(std::ldexp(d, -S));
}

}  // namespace

IntegerF integer_f(const ErrPair& p, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    IntegerF r;
    const std::vector<LayerMag> mag = magnitudes(p, lo, hi);
    const size_t K = p.f_layers.size();
    r.net.source = p.f.source + " (as integers)";
    r.net.input.lo = *std::min_element(lo.begin(), lo.end());
    r.net.input.hi = *std::max_element(hi.begin(), hi.end());
    r.net.input.raw = true;
    std::vector<int> S(K), A(K);
    int A_prev = 0;
    for (size_t k = 0; k < K; ++k) {
        const PairLayer& L = p.f_layers[k];
        // |W c|: c = 1 / divisor for the inputs, 2^-A_prev after.
        const double wc = k == 0 ? mag[k].w / p.f_input_divisor : std::ldexp(mag[k].w, -A_prev);
        S[k] = std::min({floor_log2_limit(kActivityBits, mag[k].z), floor_log2_limit(kCoefBits, wc),
                         floor_log2_limit(kCoefBits, mag[k].b), 60});
        if (k + 1 == K) {
            A[k] = std::min(S[k], floor_log2_limit(kValueBits, mag[k].z + 1.0));
        } else {
            // Balance this layer's output step 2^-A (error ~ |W'| 2^-A per input of the next layer)
            // against the next layer's weight resolution 2^-(S' - A) (error ~ |x| 2^-(S' - A)).
            const int next_S = floor_log2_limit(kActivityBits, mag[k + 1].z);
            const int balance = int(std::floor(0.5 * (double(next_S) + std::log2(std::max(mag[k + 1].w, 0x1p-60)) -
                                                      std::log2(std::max(mag[k].x, 0x1p-60)))));
            A[k] = std::min({S[k], balance, floor_log2_limit(kValueBits, mag[k].x + 1.0)});
        }
        IntLayer I;
        I.name = fmt::format("f{}", k);
        I.W.resize(L.W.rows(), L.W.cols());
        I.b.resize(size_t(L.W.rows()));
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            for (int64_t j = 0; j < L.W.cols(); ++j) {
                const double t = k == 0 ? std::ldexp(L.W(i, j) / p.f_input_divisor, S[k]) : std::ldexp(L.W(i, j), S[k] - A_prev);
                if (!(std::fabs(t) < 0x1p62)) {
                    r.unsupported = fmt::format("f layer {}: a weight does not fit the integer form", k);
                    return r;
                }
                I.W(i, j) = std::llround(t);
            }
            const double tb = std::ldexp(L.b[i], S[k]);
            if (!(std::fabs(tb) < 0x1p62)) {
                r.unsupported = fmt::format("f layer {}: a bias does not fit the integer form", k);
                return r;
            }
            I.b[size_t(i)] = std::llround(tb);
        }
        if (S[k] - A[k] > 62) {
            r.unsupported = fmt::format("f layer {}: scales too far apart", k);
            return r;
        }
        I.num = 1;
        I.den = int64_t(1) << (S[k] - A[k]);
        I.rounding = Rounding::HalfEven;
        const auto clo = clamp_bound(L.lo, A[k], INT64_MIN), chi = clamp_bound(L.hi, A[k], INT64_MAX);
        if (!clo || !chi) {
            r.unsupported = fmt::format("f layer {}: a clamp bound is not a multiple of 2^-{}", k, A[k]);
            return r;
        }
        I.lo = *clo;
        I.hi = *chi;
        I.out_scale = std::ldexp(1.0, -A[k]);
        r.net.layers.push_back(std::move(I));
        A_prev = A[k];
    }
    r.net.prepare();
    r.out_frac_bits = A[K - 1];

    // delta, layer by layer (see the header), from f_h's own integer bounds.
    const IntBounds B = interval_bounds(r.net, lo, hi);
    std::vector<double> e_prev(lo.size(), 0.0), q_prev(lo.size());
    for (size_t j = 0; j < lo.size(); ++j) q_prev[j] = double(std::max(std::llabs(lo[j]), std::llabs(hi[j])));
    for (size_t k = 0; k < K; ++k) {
        const PairLayer& L = p.f_layers[k];
        const IntLayer& I = r.net.layers[k];
        const int Ap = k == 0 ? 0 : A[k - 1];
        std::vector<double> e(size_t(L.W.rows()));
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            double s = distance_up(Interval::point(std::ldexp(L.b[i], S[k])), I.b[size_t(i)], S[k]);
            for (int64_t j = 0; j < L.W.cols(); ++j) {
                const Interval wc = k == 0 ? (Interval::point(L.W(i, j)) / p.f_input_divisor) * std::ldexp(1.0, S[k])
                                           : Interval::point(std::ldexp(L.W(i, j), S[k] - Ap));
                const double werr = distance_up(wc, I.W(i, j), S[k]);
                s = up(s + up(werr * q_prev[size_t(j)]));
                if (e_prev[size_t(j)] != 0) s = up(s + up(std::fabs(L.W(i, j)) * e_prev[size_t(j)]));
            }
            if (I.den > 1) s = up(s + std::ldexp(1.0, -(A[k] + 1)));
            e[size_t(i)] = s;
        }
        std::vector<double> q(size_t(L.W.rows()));
        for (int64_t i = 0; i < L.W.rows(); ++i)
            q[size_t(i)] = std::max(std::fabs(double(B.out_lo[k][size_t(i)])), std::fabs(double(B.out_hi[k][size_t(i)])));
        r.layer_delta.push_back(e);
        e_prev = std::move(e);
        q_prev = std::move(q);
    }
    r.delta = e_prev;
    return r;
}

}  // namespace qcert::errbound
