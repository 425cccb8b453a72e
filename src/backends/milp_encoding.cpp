// The exact MILP encoding of an integer network; see milp_encoding.hpp.
//
// Rounding. r = round(N / d) for an integer N and d >= 1, with s = N - d r:
//
//   floor        r <= N/d < r + 1              s in [0, d-1]
//   ceil         r - 1 < N/d <= r              s in [-(d-1), 0]
//   half_up      r = floor(N/d + 1/2):  -d/2 <= s < d/2, and s is an integer, so
//                                              s in [-floor(d/2), ceil(d/2) - 1]
//   half_down    r = ceil(N/d - 1/2):   -d/2 < s <= d/2
//                                              s in [-(ceil(d/2) - 1), floor(d/2)]
//   half_even    d odd: no ties, s in [-(d-1)/2, (d-1)/2]. d even, h = d/2: |s| < h
//                picks r uniquely; at a tie |s| = h both r and r+1 fit and only the
//                even one is right. With r = 2t + p (t integer, p binary, so p is
//                the parity of r): s in [-h + p, h - p]. Even r keeps the closed
//                band, odd r loses the two tie points: exact.
//   half_away    N >= 0: half_up's band; N < 0: half_down's band (a tie goes to
//                -inf, away from 0). With d odd both bands are the same.
//   toward_zero  N >= 0: floor's band; N < 0: ceil's band.
//
// The two sign-dependent modes use one binary z (1 iff N >= 0) when the range of N
// contains both signs:  N >= Nlo (1 - z),  N <= -1 + (Nhi + 1) z,  and the band
// interpolated: s in [B-.lo + (B+.lo - B-.lo) z, B-.hi + (B+.hi - B-.hi) z].
// At N = 0 every mode gives 0, so a range with Nhi <= 0 can use the negative band.
//
// Clamp. out = clamp(u, lo, hi) for an integer u in [ulo, uhi]; y in
// [max(lo, ulo), min(hi, uhi)]. Binary a (1: clamped at lo) when ulo < lo < uhi,
// binary c (1: clamped at hi) when ulo < hi < uhi:
//   y <= u + (lo - ulo) a      (just y <= u without a)
//   y <= lo + (yhi - lo)(1 - a)
//   y >= u - (uhi - hi) c      (just y >= u without c)
//   y >= hi - (hi - ylo)(1 - c)
//   a + c <= 1
// a = c = 0 gives y = u; a = 1 gives y = lo >= u; c = 1 gives y = hi <= u. These
// big-M constants come from sound bounds, so the encoding is exact, not a relaxation.
#include "backends/milp_encoding.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace qcert::milp {

namespace {

struct Band {
    i128 lo, hi;  // of s = N - d r
};

// The band of a mode that needs no binary (for the sign-dependent ones: one side).
Band band(Rounding mode, i128 d) {
    const i128 h = d / 2, hc = (d + 1) / 2;
    switch (mode) {
        case Rounding::Floor: return {0, d - 1};
        case Rounding::Ceil: return {-(d - 1), 0};
        case Rounding::HalfUp: return {-h, hc - 1};
        case Rounding::HalfDown: return {-(hc - 1), h};
        default: break;
    }
    return {-h, h};  // half_even with odd d (no ties)
}

Affine var_expr(int v) { return Affine{{{v, 1}}, 0}; }

// s = N - d r as an affine expression.
Affine remainder(const Affine& N, int r, i128 d) {
    Affine s = N;
    s.add_scaled(var_expr(r), -d);
    return s;
}

// Adds lo <= e <= hi; a row without variables that fails is a bug in the bounds.
void require(Model& m, const Affine& e, std::optional<i128> lo, std::optional<i128> hi) {
    if (!m.add_row(e, lo, hi)) throw std::logic_error("milp encoding: a constant row does not hold (unsound bounds?)");
}

// r = round(N / d) for N in [Nlo, Nhi]; returns r's variable.
// `fixed` (optional) receives s and its band when the band is one fixed interval; `s_min` the
// least value s takes at any point (so d r <= N - s_min).
int encode_rounding(Model& m, const Affine& N, i128 Nlo, i128 Nhi, i128 d, Rounding mode, NetworkEncoding::Remainder* fixed,
                    i128& s_min) {
    const i128 rlo = round_div(Nlo, d, mode), rhi = round_div(Nhi, d, mode);
    const int r = m.add_var(int64_t(rlo), int64_t(rhi), true);
    const Affine s = remainder(N, r, d);
    const bool odd = d % 2 == 1;
    auto one_band = [&](Band b) {
        require(m, s, b.lo, b.hi);
        s_min = b.lo;
        if (fixed) *fixed = NetworkEncoding::Remainder{s, b.lo, b.hi};
    };

    if (mode == Rounding::HalfEven && !odd) {
        const i128 h = d / 2;
        const int t = m.add_var(int64_t(round_div(rlo, 2, Rounding::Floor)), int64_t(round_div(rhi, 2, Rounding::Floor)), true);
        const int p = m.add_var(0, 1, true);
        require(m, Affine{{{r, 1}, {t, -2}, {p, -1}}, 0}, 0, 0);  // r = 2t + p
        s_min = -h;
        Affine lower = s, upper = s;
        lower.add_scaled(var_expr(p), -1);  // s - p >= -h
        upper.add_scaled(var_expr(p), 1);   // s + p <= h
        require(m, lower, -h, std::nullopt);
        require(m, upper, std::nullopt, h);
        return r;
    }
    const bool by_sign = mode == Rounding::TowardZero || (mode == Rounding::HalfAway && !odd);
    if (!by_sign) {
        one_band(band(mode == Rounding::HalfAway ? Rounding::HalfUp : mode, d));
        return r;
    }
    const Band pos = band(mode == Rounding::TowardZero ? Rounding::Floor : Rounding::HalfUp, d);
    const Band neg = band(mode == Rounding::TowardZero ? Rounding::Ceil : Rounding::HalfDown, d);
    if (Nlo >= 0) { one_band(pos); return r; }
    if (Nhi <= 0) { one_band(neg); return r; }
    const int z = m.add_var(0, 1, true);  // 1 iff N >= 0
    s_min = std::min(pos.lo, neg.lo);
    Affine e = N;
    e.add_scaled(var_expr(z), Nlo);        // N + Nlo z >= Nlo
    require(m, e, Nlo, std::nullopt);
    e = N;
    e.add_scaled(var_expr(z), -(Nhi + 1));  // N - (Nhi + 1) z <= -1
    require(m, e, std::nullopt, -1);
    e = s;
    e.add_scaled(var_expr(z), -(pos.lo - neg.lo));
    require(m, e, neg.lo, std::nullopt);
    e = s;
    e.add_scaled(var_expr(z), -(pos.hi - neg.hi));
    require(m, e, std::nullopt, neg.hi);
    return r;
}

// A single variable equal to e (e itself when it already is one variable).
Affine materialise(Model& m, const Affine& e, i128 lo, i128 hi) {
    if (e.terms.size() <= 1 && (e.terms.empty() || e.terms[0].coef == 1)) return e;
    const int v = m.add_var(int64_t(lo), int64_t(hi), false);  // integral: equal to an integer expression
    Affine diff = e;
    diff.add_scaled(var_expr(v), -1);
    require(m, diff, 0, 0);
    return var_expr(v);
}

// clamp(u, lo, hi) for u in [ulo, uhi]; `a_var` receives the low end's binary (-1: none).
Affine encode_clamp(Model& m, const Affine& u, i128 ulo, i128 uhi, i128 lo, i128 hi, int& a_var) {
    a_var = -1;
    if (uhi <= lo) return Affine{{}, lo};
    if (ulo >= hi) return Affine{{}, hi};
    if (ulo >= lo && uhi <= hi) return u;
    const i128 ylo = std::max(lo, ulo), yhi = std::min(hi, uhi);
    const int y = m.add_var(int64_t(ylo), int64_t(yhi), false);  // integral once the binaries are
    const bool at_lo = ulo < lo, at_hi = uhi > hi;
    int a = -1, c = -1;
    Affine e = var_expr(y);
    e.add_scaled(u, -1);  // y - u
    if (at_lo) {
        a = m.add_var(0, 1, true, kBranchFirst);
        Affine f = e;
        f.add_scaled(var_expr(a), -(lo - ulo));  // y - u - (lo - ulo) a <= 0
        require(m, f, std::nullopt, 0);
        Affine g = var_expr(y);
        g.add_scaled(var_expr(a), yhi - lo);  // y + (yhi - lo) a <= yhi
        require(m, g, std::nullopt, yhi);
    } else {
        require(m, e, std::nullopt, 0);
    }
    if (at_hi) {
        c = m.add_var(0, 1, true, kBranchFirst);
        Affine f = e;
        f.add_scaled(var_expr(c), uhi - hi);  // y - u + (uhi - hi) c >= 0
        require(m, f, 0, std::nullopt);
        Affine g = var_expr(y);
        g.add_scaled(var_expr(c), -(hi - ylo));  // y - (hi - ylo) c >= ylo
        require(m, g, ylo, std::nullopt);
    } else {
        require(m, e, 0, std::nullopt);
    }
    if (a >= 0 && c >= 0) require(m, Affine{{{a, 1}, {c, 1}}, 0}, std::nullopt, 1);
    a_var = a;
    return var_expr(y);
}

// Why a layer cannot be encoded over these accumulator bounds, or "".
std::string unsupported_layer(const IntLayer& L, size_t k, i128 alo, i128 ahi) {
    if (L.overflow == Overflow::Detect) return "";  // eval goes on with the exact sum
    const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
    const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
    if (alo >= amin && ahi <= amax) return "";
    return fmt::format("layer {}: a {} accumulator may leave its {} bits (not supported by milp)", k,
                       L.overflow == Overflow::Wrap ? "wrapping" : "saturating", bits);
}

bool is_enforced(const std::vector<std::vector<bool>>* enforced, size_t k, int64_t i) {
    return enforced && (*enforced)[k][i];
}

// The neurons of each layer that influence a wanted output and are not constant
// (or are enforced).
std::vector<std::vector<bool>> needed_neurons(const IntNetwork& net, const IntBounds& B, const std::vector<bool>& wanted,
                                              const std::vector<std::vector<bool>>* enforced) {
    const size_t K = net.layers.size();
    std::vector<std::vector<bool>> need(K);
    need[K - 1] = wanted;
    for (size_t k = K - 1; k > 0; --k) {
        const IntLayer& L = net.layers[k];
        need[k - 1].assign(L.in_size(), false);
        for (int64_t i = 0; i < L.out_size(); ++i) {
            if (!need[k][i] || (B.stable(k, i) && !is_enforced(enforced, k, i))) continue;
            for (int64_t j = 0; j < L.in_size(); ++j)
                if (L.W(i, j) != 0) need[k - 1][j] = true;
        }
    }
    return need;
}

}  // namespace

std::vector<int64_t> NetworkEncoding::input_from(const std::vector<double>& values) const {
    std::vector<int64_t> x = input_value;
    for (size_t j = 0; j < x.size(); ++j) {
        if (input_var[j] < 0) continue;
        const Var& v = model.vars[input_var[j]];
        x[j] = std::clamp<int64_t>(std::llround(values[input_var[j]]), v.lo, v.hi);
    }
    return x;
}

NetworkEncoding encode_network(const IntQuery& q, const IntBounds& B, const std::vector<bool>& wanted,
                               const std::vector<std::vector<bool>>* enforced, NetworkEncoding* base) {
    const IntNetwork& net = *q.net;
    NetworkEncoding e;
    if (base) {
        if (base->input_var.size() != size_t(net.input_size()))
            throw std::logic_error("milp encoding: the shared inputs differ in number");
        e.model = std::move(base->model);
        e.encoded_neurons = base->encoded_neurons;
        e.low_clamps = std::move(base->low_clamps);
        e.staircases = std::move(base->staircases);
    }
    Model& m = e.model;
    const auto need = needed_neurons(net, B, wanted, enforced);

    // Inputs: a variable for those a needed first-layer neuron reads.
    const IntLayer& first = net.layers.front();
    std::vector<bool> read(first.in_size(), false);
    for (int64_t i = 0; i < first.out_size(); ++i)
        if (need[0][i] && (!B.stable(0, i) || is_enforced(enforced, 0, i)))
            for (int64_t j = 0; j < first.in_size(); ++j)
                if (first.W(i, j) != 0) read[j] = true;
    e.input_var = base ? base->input_var : std::vector<int>(first.in_size(), -1);
    e.input_value = q.lo;
    std::vector<Affine> cur(first.in_size());
    for (int64_t j = 0; j < first.in_size(); ++j) {
        if (e.input_var[j] >= 0) {
            cur[j] = var_expr(e.input_var[j]);
        } else if (read[j] && q.lo[j] < q.hi[j]) {
            e.input_var[j] = m.add_var(q.lo[j], q.hi[j], true, kBranchLast);
            cur[j] = var_expr(e.input_var[j]);
        } else {
            cur[j] = Affine{{}, q.lo[j]};
        }
    }

    e.pre_clamp.resize(net.output_size());
    e.acc.resize(net.layers.size());
    e.out.resize(net.layers.size());
    e.rounded.resize(net.layers.size());
    e.remainder.resize(net.layers.size());
    for (size_t k = 0; k < net.layers.size(); ++k) {
        const IntLayer& L = net.layers[k];
        e.acc[k].resize(L.out_size());
        e.out[k].resize(L.out_size());
        e.rounded[k].resize(L.out_size());
        e.remainder[k].resize(L.out_size());
        const i128 g = std::gcd(L.num, L.den), num = L.num / g, d = L.den / g;
        std::vector<Affine> next(L.out_size());
        for (int64_t i = 0; i < L.out_size(); ++i) {
            if (!need[k][i]) continue;
            const bool enforce = is_enforced(enforced, k, i);
            if (B.stable(k, i) && !enforce) { next[i] = Affine{{}, B.out_lo[k][i]}; continue; }
            Affine acc{{}, L.b[i]};
            for (int64_t j = 0; j < L.in_size(); ++j) {
                if (L.W(i, j) == 0) continue;
                Affine xj = cur[j];
                xj.constant -= L.in_zero;
                acc.add_scaled(xj, L.W(i, j));
            }
            i128 alo, ahi;
            affine_range(m, acc, alo, ahi);
            if (enforce && (B.acc_lo[k][i] > alo || B.acc_hi[k][i] < ahi)) {
                if (!m.add_row(acc, B.acc_lo[k][i], B.acc_hi[k][i])) e.empty = true;  // no input of the part
            }
            if (B.stable(k, i)) { next[i] = Affine{{}, B.out_lo[k][i]}; continue; }
            alo = std::max(alo, B.acc_lo[k][i]);
            ahi = std::min(ahi, B.acc_hi[k][i]);
            if (std::string why = unsupported_layer(L, k, alo, ahi); !why.empty()) {
                e.unsupported = why;
                return e;
            }
            ++e.encoded_neurons;
            e.acc[k][i] = acc;
            Affine N;
            N.add_scaled(acc, num);
            const i128 Nlo = alo * num, Nhi = ahi * num;
            if (k + 1 == net.layers.size()) e.pre_clamp[i] = NetworkEncoding::Scaled{N, 1.0 / double(d)};
            Affine u;
            i128 s_min = 0;  // d r <= N - s_min (r = N when d = 1)
            if (d == 1) {
                u = N;
            } else {
                NetworkEncoding::Remainder fixed;
                const int r = encode_rounding(m, N, Nlo, Nhi, d, L.rounding, &fixed, s_min);
                if (!fixed.s.terms.empty()) e.remainder[k][i] = std::move(fixed);
                u = var_expr(r);
            }
            u.constant += L.out_zero;
            e.rounded[k][i] = u;
            const i128 ulo = round_div(Nlo, d, L.rounding) + L.out_zero, uhi = round_div(Nhi, d, L.rounding) + L.out_zero;
            const bool clamps = ulo < L.lo || uhi > L.hi;
            if (clamps && !u.is_constant()) u = materialise(m, u, ulo, uhi);
            int a = -1;
            Affine out = encode_clamp(m, u, ulo, uhi, L.lo, L.hi, a);
            if (a >= 0) {  // d (y - lo) <= d (u - lo) <= N - s_min + d (out_zero - lo) when a = 0
                Affine h = N;
                h.constant += d * (L.out_zero - L.lo) - s_min;
                e.low_clamps.push_back({out.terms.at(0).var, a, L.lo, d, std::move(h)});
            }
            if (!clamps) out = materialise(m, out, ulo, uhi);  // keeps the next layer's rows short
            if ((d > 1 || clamps) && !out.is_constant())
                e.staircases.push_back({N, out, Nlo, Nhi, d, L.out_zero, L.lo, L.hi, L.rounding});
            e.out[k][i] = out;
            next[i] = std::move(out);
        }
        cur = std::move(next);
    }
    e.outputs.resize(net.output_size());
    for (int64_t i = 0; i < net.output_size(); ++i)
        if (wanted[i]) e.outputs[i] = cur[i];
    return e;
}

std::vector<bool> outputs_read(const IntUnsafe& unsafe, int64_t outputs) {
    std::vector<bool> used(outputs, false);
    for (const auto& conj : unsafe)
        for (const IntConstraint& c : conj)
            for (const auto& [i, a] : c.terms)
                if (a != 0 && i >= 0 && i < outputs) used[i] = true;
    return used;
}

Affine constraint_lhs(const NetworkEncoding& e, const IntConstraint& c) {
    Affine lhs;
    for (const auto& [i, a] : c.terms)
        if (a != 0) lhs.add_scaled(*e.outputs.at(i), a);
    return lhs;
}

std::vector<std::pair<int, double>> steering_objective(const NetworkEncoding& e, const std::vector<IntConstraint>& conj) {
    std::vector<std::pair<int, double>> obj;
    for (const IntConstraint& c : conj)
        for (const auto& [i, a] : c.terms)
            if (a != 0 && e.pre_clamp.at(i))
                for (const Term& t : e.pre_clamp[i]->N.terms) obj.push_back({t.var, double(a) * double(t.coef) * e.pre_clamp[i]->inv_d});
    return obj;
}

bool add_conjunction(NetworkEncoding& e, const std::vector<IntConstraint>& conj) {
    for (const IntConstraint& c : conj)
        if (!e.model.add_row(constraint_lhs(e, c), std::nullopt, c.rhs)) return false;
    return true;
}

bool add_disjunction(NetworkEncoding& e, const IntUnsafe& unsafe) {
    Model& m = e.model;
    struct BigM {
        Affine lhs;
        i128 rhs, M;
    };
    Affine any;  // the sum of the disjuncts' binaries
    for (const auto& conj : unsafe) {
        // lhs <= rhs + M (1 - delta) with M = max(lhs) - rhs; a constraint that
        // always holds needs no row, one that never holds rules the disjunct out.
        std::vector<BigM> rows;
        bool possible = true;
        for (const IntConstraint& c : conj) {
            Affine lhs = constraint_lhs(e, c);
            i128 lo, hi;
            affine_range(m, lhs, lo, hi);
            if (lo > c.rhs) { possible = false; break; }
            if (hi > c.rhs) rows.push_back({std::move(lhs), c.rhs, hi - c.rhs});
        }
        if (!possible) continue;
        if (rows.empty()) return true;  // this disjunct holds on the whole box
        const int delta = m.add_var(0, 1, true, kBranchFirst);
        for (BigM& b : rows) {
            b.lhs.add_scaled(var_expr(delta), b.M);  // lhs + M delta <= rhs + M
            require(m, b.lhs, std::nullopt, b.rhs + b.M);
        }
        any.add_scaled(var_expr(delta), 1);
    }
    if (any.is_constant()) return false;
    require(m, any, 1, std::nullopt);
    return true;
}

}  // namespace qcert::milp
