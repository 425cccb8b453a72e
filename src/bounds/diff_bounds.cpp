// Differential linear bounds on g - f over an input box (NeuroDiff-style, with
// DeepPoly-like linear relaxations expressed directly over the input box).
//
// Per layer and neuron we keep linear lower / upper bounds, over the region
// variable u, of f's pre-activation zf, g's pre-activation zg (plus its rounding
// noise) and of their difference zd = zg - zf, propagated through
//     zd' = Wg xd + (Wg - Wf) xf + (bg - bf)          (exact: zg - zf with xg = xf + xd)
// so the difference is bounded by itself, not as the difference of two bounds.
// Through the activations c_f, c_g (clamps; ReLU is the clamp to [0, inf)):
//     xd = c_g(zf + zd) - c_f(zf) = [c_g(zf + zd) - c_g(zf)] + [c_g(zf) - c_f(zf)],
// and the first bracket lies between min(zd, 0) and max(zd, 0) because a clamp is
// nondecreasing and 1-Lipschitz; the second depends on zf alone (zero when both
// clamps agree). Each side of xd takes the tighter of that bound and the plain
// difference of g's and f's own bounds; a neuron that is linear in both networks
// passes zd through unchanged. Every floating-point step is rounded outward
// (linear_forms.hpp).
#include "bounds/diff_backsub.hpp"
#include "bounds/linear_forms.hpp"
#include "bounds/outward.hpp"
#include "qcert/errbound.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace qcert {

using namespace linear;
using outward::down;
using outward::up;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using diff::clamp_gap;
using diff::DiagInput;
using diff::LayerRelax;

struct DiagTerm {
    const Mat* W;
    const Mat* W_err;
    const DiagInput* x;
    const SignSplit* split;  // W's, or null
};

// Bounds of sum_t W_t x_t + b for diagonal inputs (the first layer).
LinBounds affine_diag(const std::vector<DiagTerm>& terms, const Vec& b, const Vec* b_err, const Box& B) {
    const int64_t rows = b.size();
    Forms F = Forms::zero(rows, B.size());
    F.d = b;
    Vec err = b.cwiseAbs(), extra = Vec::Zero(rows);
    double n = 2;
    for (const DiagTerm& t : terms) {
        F.C.noalias() += *t.W * t.x->a.asDiagonal();
        F.d.noalias() += *t.W * t.x->c;
        const Vec exact_part = t.x->a.cwiseAbs().cwiseProduct(B.mag) + t.x->c.cwiseAbs();
        const Mat own_abs = t.split ? Mat() : Mat(t.W->cwiseAbs());
        const Mat& W_abs = t.split ? t.split->abs : own_abs;
        err.noalias() += W_abs * exact_part;
        extra.noalias() += W_abs * t.x->err;
        if (t.W_err) {
            Vec mx = exact_part + t.x->err;
            for (int64_t j = 0; j < mx.size(); ++j) mx[j] = outward::inflate(mx[j], 3);
            extra.noalias() += *t.W_err * mx;
        }
        n += double(t.W->cols()) + 1;
    }
    if (b_err) extra += *b_err;
    LinBounds r{F, F, Vec(), Vec()};
    for (int64_t i = 0; i < rows; ++i) {
        const double e = up(up(outward::gamma(n) * outward::inflate(err[i], n)) + outward::inflate(extra[i], n));
        r.hi.d[i] = up(F.d[i] + e);
        r.lo.d[i] = down(F.d[i] - e);
    }
    r.chi = max_over(r.hi, B);
    r.clo = min_over(r.lo, B);
    return r;
}

// x = u / divisor: coefficient fl(1 / divisor), whose relative error is at most 2^-53.
DiagInput scaled_input(const Box& B, double divisor) {
    const int64_t n = B.size();
    DiagInput x{Vec::Constant(n, 1.0 / divisor), Vec::Zero(n), Vec::Zero(n)};
    if (divisor != 1.0)
        for (int64_t j = 0; j < n; ++j) x.err[j] = up(up(B.mag[j] * x.a[j]) * 0x1p-52);
    return x;
}

// The twin's input minus f's: (scale - 1 / divisor) u + shift.
DiagInput input_difference(const ErrPair& p, const Box& B) {
    const int64_t n = B.size();
    if (!p.integer_region()) return {Vec::Zero(n), Vec::Zero(n), Vec::Zero(n)};
    const DiagInput f = scaled_input(B, p.f_input_divisor);
    DiagInput d{Vec::Constant(n, p.g_input_scale) - f.a, Vec::Constant(n, p.g_input_shift), f.err};
    for (int64_t j = 0; j < n; ++j) d.err[j] = up(d.err[j] + up(up(B.mag[j] * std::fabs(d.a[j])) * 0x1p-52));
    return d;
}

// x = clamp(z, lo, hi) row by row.
// An integer layer: z' = z + e in [l, u] gives z in [l - noise_lo, u - noise_hi], so the
// output lies between the rounded and clamped ends, exactly (step is a power of two and
// rounding is monotone). False for real layers or out-of-range values.
bool integer_outputs(const PairLayer& L, double l, double u, double& v_lo, double& v_hi) {
    if (L.step == 0) return false;
    const double zl = down(l - L.noise_lo) / L.step, zu = up(u - L.noise_hi) / L.step;  // exact divisions
    if (!(std::fabs(zl) < 0x1p60) || !(std::fabs(zu) < 0x1p60)) return false;
    v_lo = clamp_value(double(round_double(zl, L.rounding)) * L.step, L.lo, L.hi);
    v_hi = clamp_value(double(round_double(zu, L.rounding)) * L.step, L.lo, L.hi);
    return v_lo <= v_hi;
}

// The lines used are recorded in su, tu, sl, tl (x <= su z + tu, x >= sl z + tl).
LinBounds activate(const LinBounds& z, const PairLayer& L, const Box& B, Vec& su, Vec& tu, Vec& sl, Vec& tl) {
    const int64_t n = z.clo.size();
    LinBounds x{Forms(), Forms(), z.clo, z.chi};
    su.resize(n), tu.resize(n), sl.resize(n), tl.resize(n);
    for (int64_t i = 0; i < n; ++i) {
        const double l = z.clo[i], u = std::max(z.chi[i], z.clo[i]);
        const Line upper = clamp_upper_line(l, u, L.lo, L.hi), lower = clamp_lower_line(l, u, L.lo, L.hi);
        su[i] = upper.s, tu[i] = upper.t, sl[i] = lower.s, tl[i] = lower.t;
        x.clo[i] = clamp_value(l, L.lo, L.hi);
        x.chi[i] = clamp_value(u, L.lo, L.hi);
        double v_lo = 0, v_hi = 0;
        if (integer_outputs(L, l, u, v_lo, v_hi)) {
            x.clo[i] = std::max(x.clo[i], v_lo);
            x.chi[i] = std::min(x.chi[i], v_hi);
            if (v_lo == v_hi) su[i] = sl[i] = 0, tu[i] = tl[i] = v_lo;  // one integer output for the whole range: a constant
        }
    }
    apply_lines(z.hi, su, tu, true, magnitude(z.hi, B), x.hi);
    apply_lines(z.lo, sl, tl, false, magnitude(z.lo, B), x.lo);
    return x;
}

// Adds the rounding noise e in [lo, hi] of an integer layer.
void add_noise(LinBounds& z, double lo, double hi) {
    if (lo == 0 && hi == 0) return;
    for (int64_t i = 0; i < z.clo.size(); ++i) {
        shift_row(z.lo, i, lo, false);
        shift_row(z.hi, i, hi, true);
        z.clo[i] = down(z.clo[i] + lo);
        z.chi[i] = up(z.chi[i] + hi);
    }
}

bool linear_on(double l, double u, const PairLayer& L) { return L.lo <= l && u <= L.hi; }
// A real neuron whose range lies on one flat piece of its clamp (a dead ReLU): a constant.
bool flat_on(double l, double u, const PairLayer& L) { return L.step == 0 && (u <= L.lo || l >= L.hi); }

// xd = c_g(zg) - c_f(zf) row by row (see the file comment).
// The relations used are recorded in R.d_* (see diff_backsub.hpp). Both candidates of each side
// (the lines in zd, and xg - xf) are formed and bounded for all rows at once, then chosen per row.
LinBounds activate_difference(const LinBounds& zf, const LinBounds& zd, const LinBounds& zg, const LinBounds& xf,
                              const LinBounds& xg, const PairLayer& Lf, const PairLayer& Lg, const Box& B, LayerRelax& R) {
    const int64_t rows = zd.clo.size();
    for (Vec* v : {&R.d_su, &R.d_tu, &R.d_wu, &R.d_sl, &R.d_tl, &R.d_wl}) *v = Vec::Zero(rows);
    enum Kind : char { Linear, Flat, Crossing };
    std::vector<Kind> kind(size_t(rows), Crossing);
    // The lines in zd: max(zd, 0) + gap above, min(zd, 0) + gap below (the identity where both
    // networks are linear; unused where both are flat, whose xd is the constant xg - xf).
    Vec us = Vec::Zero(rows), ut = Vec::Zero(rows), ls = Vec::Zero(rows), lt = Vec::Zero(rows);
    Vec gap_lo = Vec::Zero(rows), gap_hi = Vec::Zero(rows);
    R.d_slack = Vec::Zero(rows);
    for (int64_t i = 0; i < rows; ++i) {
        if (linear_on(zf.clo[i], zf.chi[i], Lf) && linear_on(zg.clo[i], zg.chi[i], Lg)) {
            kind[size_t(i)] = Linear;
            us[i] = ls[i] = 1.0;
            continue;
        }
        if (flat_on(zf.clo[i], zf.chi[i], Lf) && flat_on(zg.clo[i], zg.chi[i], Lg)) {
            kind[size_t(i)] = Flat;
            continue;
        }
        const double ld = zd.clo[i], ud = std::max(zd.chi[i], zd.clo[i]);
        std::tie(gap_lo[i], gap_hi[i]) = clamp_gap(zf.clo[i], std::max(zf.chi[i], zf.clo[i]), Lf, Lg);
        const Line up_line = clamp_upper_line(ld, ud, 0.0, kInf), lo_line = clamp_lower_line(ld, ud, -kInf, 0.0);
        us[i] = up_line.s, ut[i] = up_line.t, ls[i] = lo_line.s, lt[i] = lo_line.t;
        // The lines in zd with the clamps' gap, wherever xg - xf is used instead.
        for (double z : {ld, ud})
            R.d_slack[i] = std::max(R.d_slack[i], (us[i] - ls[i]) * z + ut[i] - lt[i] + gap_hi[i] - gap_lo[i]);
    }
    LinBounds x{Forms(), Forms(), Vec(rows), Vec(rows)};
    apply_lines(zd.hi, us, ut, true, magnitude(zd.hi, B), x.hi);
    apply_lines(zd.lo, ls, lt, false, magnitude(zd.lo, B), x.lo);
    for (int64_t i = 0; i < rows; ++i) {
        shift_row(x.hi, i, gap_hi[i], true);
        shift_row(x.lo, i, gap_lo[i], false);
    }
    Forms cand_hi, cand_lo;  // xg - xf
    const Vec mfh = magnitude(xf.hi, B), mfl = magnitude(xf.lo, B);
    subtract_forms(xg.hi, xf.lo, true, magnitude(xg.hi, B), mfl, cand_hi);
    subtract_forms(xg.lo, xf.hi, false, magnitude(xg.lo, B), mfh, cand_lo);
    const Vec hi1 = max_over(x.hi, B), hi2 = max_over(cand_hi, B), lo1 = min_over(x.lo, B), lo2 = min_over(cand_lo, B);
    for (int64_t i = 0; i < rows; ++i) {
        if (kind[size_t(i)] == Linear) {  // xd = zd
            x.chi[i] = zd.chi[i], x.clo[i] = zd.clo[i];
            R.d_su[i] = R.d_sl[i] = 1.0;
            continue;
        }
        // Flat: xd = xg - xf, the constants' difference whatever zd's range. Else the tighter side.
        const bool cand_up = kind[size_t(i)] == Flat || hi2[i] < hi1[i], cand_down = kind[size_t(i)] == Flat || lo2[i] > lo1[i];
        if (cand_up) {
            x.hi.C.row(i) = cand_hi.C.row(i), x.hi.d[i] = cand_hi.d[i];
            R.d_wu[i] = 1;
        } else {
            R.d_su[i] = us[i];
            R.d_tu[i] = gap_hi[i] == 0 ? ut[i] : up(ut[i] + gap_hi[i]);
        }
        if (cand_down) {
            x.lo.C.row(i) = cand_lo.C.row(i), x.lo.d[i] = cand_lo.d[i];
            R.d_wl[i] = 1;
        } else {
            R.d_sl[i] = ls[i];
            R.d_tl[i] = gap_lo[i] == 0 ? lt[i] : down(lt[i] + gap_lo[i]);
        }
        if (cand_up && cand_down) R.d_slack[i] = 0;  // xd = xg - xf: the slack is f's and g's
        x.chi[i] = std::min(cand_up ? hi2[i] : hi1[i], up(xg.chi[i] - xf.clo[i]));
        x.clo[i] = std::max(cand_down ? lo2[i] : lo1[i], down(xg.clo[i] - xf.chi[i]));
    }
    return x;
}

// g - f bounded only through the two networks' own bounds.
LinBounds naive_difference(const LinBounds& xf, const LinBounds& xg, const Box& B) {
    const int64_t rows = xf.clo.size();
    LinBounds x{Forms(), Forms(), Vec(rows), Vec(rows)};
    subtract_forms(xg.hi, xf.lo, true, magnitude(xg.hi, B), magnitude(xf.lo, B), x.hi);
    subtract_forms(xg.lo, xf.hi, false, magnitude(xg.lo, B), magnitude(xf.hi, B), x.lo);
    const Vec hi = max_over(x.hi, B), lo = min_over(x.lo, B);
    for (int64_t i = 0; i < rows; ++i) {
        x.chi[i] = std::min(hi[i], up(xg.chi[i] - xf.clo[i]));
        x.clo[i] = std::max(lo[i], down(xg.clo[i] - xf.chi[i]));
    }
    return x;
}

// The neurons whose pre-activation bounds back-substitution should tighten: those of an integer
// layer (a narrower range may round to one value), and real ones whose forward range crosses a
// breakpoint of the clamp (elsewhere the relaxation is the exact line already).
std::vector<int64_t> crossing_rows(const Vec& lo, const Vec& hi, const PairLayer& L) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < lo.size(); ++i) {
        bool crosses = L.step != 0;
        for (double b : {L.lo, L.hi}) crosses = crosses || (std::isfinite(b) && lo[i] < b && b < hi[i]);
        if (crosses) rows.push_back(i);
    }
    return rows;
}

// The neurons of g worth back-substituting after zg was intersected with zf + zd (from f's
// back-substituted bounds, so already tight): every neuron across a breakpoint of an integer
// layer (a narrower range may round to one value), and the real ones across a breakpoint by less
// than a sixteenth of their range, which back-substitution may make stable (an exact
// relaxation). On ACAS Xu these were about 4 % of g's crossing real neurons, and leaving out the
// others took the splits over the 18 cases from 2,209 to 2,202 (bench/RESULTS.md): a tighter
// range that still crosses changes the relaxation little.
std::vector<int64_t> nearly_stable_rows(const Vec& lo, const Vec& hi, const PairLayer& L) {
    if (L.step != 0) return crossing_rows(lo, hi, L);
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < lo.size(); ++i)
        for (double b : {L.lo, L.hi})
            if (std::isfinite(b) && lo[i] < b && b < hi[i] && std::min(b - lo[i], hi[i] - b) < (hi[i] - lo[i]) / 16) {
                rows.push_back(i);
                break;
            }
    return rows;
}

// zg = zf + zd (zg and zd with g's rounding noise): zg's concrete bounds intersected with the
// sum of the other two, rounded outward.
void intersect_sum(LinBounds& zg, const LinBounds& zf, const LinBounds& zd) {
    for (int64_t i = 0; i < zg.clo.size(); ++i) {
        zg.clo[i] = std::max(zg.clo[i], down(zf.clo[i] + zd.clo[i]));
        zg.chi[i] = std::min(zg.chi[i], up(zf.chi[i] + zd.chi[i]));
    }
}

// z's concrete bounds intersected with those proved on a containing box (layer k of `lo`, `hi`;
// none when the prior has no such layer).
void narrow(LinBounds& z, const std::vector<Vec>& lo, const std::vector<Vec>& hi, size_t k) {
    if (k >= lo.size() || k >= hi.size() || lo[k].size() != z.clo.size() || hi[k].size() != z.chi.size()) return;
    z.clo = z.clo.cwiseMax(lo[k]);
    z.chi = z.chi.cwiseMin(hi[k]);
}

std::vector<int64_t> all_rows(int64_t n) {
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
    return rows;
}

// The split guide per output (DiffBound::phase_hi / phase_lo) from the back-substitution's
// scores of the output rows (`rows`, then their negations): splitting f's or g's neuron makes
// that network's relaxation exact on each side and narrows the difference's, so each counts
// its own relaxation's cost and the difference's.
void phase_scores(const diff::RelaxScores& s, const std::vector<int64_t>& rows, int64_t outs, DiffBound& r) {
    r.phase_hi.assign(size_t(outs), {});
    r.phase_lo.assign(size_t(outs), {});
    const int64_t m = int64_t(rows.size());
    for (int64_t t = 0; t < m; ++t)
        for (const bool hi : {true, false}) {
            PhaseScores& ps = (hi ? r.phase_hi : r.phase_lo)[size_t(rows[size_t(t)])];
            const int64_t row = hi ? t : m + t;
            for (size_t j = 0; j < s.d.size(); ++j) {
                auto get = [&](const std::vector<Mat>& v) -> Vec {
                    return j < v.size() && v[j].rows() > row ? Vec(v[j].row(row).transpose()) : Vec();
                };
                const Vec d = get(s.d), f = get(s.f), g = get(s.g);
                const int64_t n = std::max({d.size(), f.size(), g.size()});
                Vec fs = Vec::Zero(n), gs = Vec::Zero(n);
                if (d.size() == n) fs += d, gs += d;
                if (f.size() == n) fs += f;
                if (g.size() == n) gs += g;
                ps.f.push_back(std::move(fs));
                ps.g.push_back(std::move(gs));
            }
        }
}

}  // namespace

std::pair<double, double> diff::clamp_gap(double l, double u, const PairLayer& Lf, const PairLayer& Lg) {
    if (Lf.lo == Lg.lo && Lf.hi == Lg.hi) return {0.0, 0.0};
    double lo = kInf, hi = -kInf;
    for (double p : {l, u, Lf.lo, Lf.hi, Lg.lo, Lg.hi}) {
        if (!(p >= l && p <= u)) continue;
        const outward::Iv v = outward::exact_sum(clamp_value(p, Lg.lo, Lg.hi), -clamp_value(p, Lf.lo, Lf.hi));
        lo = std::min(lo, v.lo);
        hi = std::max(hi, v.hi);
    }
    return {lo, hi};
}

SignSplit sign_split(const Mat& W) { return {W.cwiseMax(0.0), W.cwiseMin(0.0), W.cwiseAbs()}; }

LayerConstants layer_constants(const PairLayer& f, const PairLayer& g) {
    // Entry by entry: the rounded difference and the exact size of its rounding error (TwoSum).
    auto exact = [](double a, double b, double& d, double& e) {
        d = a - b;
        const outward::Iv v = outward::exact_sum(a, -b);
        e = std::max(std::fabs(v.hi - d), std::fabs(d - v.lo));
    };
    LayerConstants r{Mat(g.W.rows(), g.W.cols()), Mat(g.W.rows(), g.W.cols()), Vec(g.b.size()), Vec(g.b.size()), {}, {}, {}};
    for (int64_t i = 0; i < g.W.rows(); ++i)
        for (int64_t j = 0; j < g.W.cols(); ++j) exact(g.W(i, j), f.W(i, j), r.dW(i, j), r.dW_err(i, j));
    for (int64_t i = 0; i < g.b.size(); ++i) exact(g.b[i], f.b[i], r.db[i], r.db_err[i]);
    r.f = sign_split(f.W);
    r.g = sign_split(g.W);
    r.d = sign_split(r.dW);
    return r;
}

double DiffBound::abs_upper(const std::vector<int64_t>& outputs) const {
    double m = 0;
    for (int64_t k : outputs) m = std::max({m, hi[size_t(k)], -lo[size_t(k)]});
    return m;
}

DiffBound diff_bound(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, DiffMode mode,
                     const std::vector<int64_t>& outputs, const PreActivationRanges* within) {
    const PreActivationRanges none;
    const PreActivationRanges& prior = within ? *within : none;
    const Box B(lo, hi);
    if (!p.same_shape()) mode = DiffMode::Naive;
    const DiagInput f_in = scaled_input(B, p.f_input_divisor);
    const DiagInput g_in = p.integer_region()
                               ? DiagInput{Vec::Constant(B.size(), p.g_input_scale), Vec::Constant(B.size(), p.g_input_shift),
                                           Vec::Zero(B.size())}
                               : f_in;
    const DiagInput d_in = input_difference(p, B);
    LinBounds xf, xg, xd;
    DiffBound r;
    // The back-substituted coefficients over u of the output difference (rows: upper bounds of
    // zd, then of -zd), when the last layer is linear in both networks: a better guide.
    Mat out_coef;
    bool out_linear = false;
    // f and g alone.
    auto layer_of = [&](const PairLayer& L, const SignSplit* split, const DiagInput& in, const LinBounds& prev, size_t k) {
        LinBounds z = k == 0 ? affine_diag({{&L.W, nullptr, &in, split}}, L.b, nullptr, B)
                             : affine({{&L.W, nullptr, &prev, split}}, L.b, nullptr, B);
        add_noise(z, L.noise_lo, L.noise_hi);
        return z;
    };
    const size_t nf = p.f_layers.size(), ng = p.g_layers.size();
    if (mode == DiffMode::Differential) {
        std::vector<LayerConstants> own;  // a pair not built by make_err_pair
        if (p.layer_constants.size() != nf)
            for (size_t k = 0; k < nf; ++k) own.push_back(layer_constants(p.f_layers[k], p.g_layers[k]));
        const std::vector<LayerConstants>& consts = own.empty() ? p.layer_constants : own;
        std::vector<LayerRelax> relax(nf);
        const diff::BackSubstitution bs{p, B, f_in, g_in, d_in, relax};
        auto mag = [](const Vec& lo, const Vec& hi) { return Vec(lo.cwiseAbs().cwiseMax(hi.cwiseAbs())); };
        for (size_t k = 0; k < nf; ++k) {
            const PairLayer &Lf = p.f_layers[k], &Lg = p.g_layers[k];
            LayerRelax& R = relax[k];
            const LayerConstants& c = consts[k];
            R.consts = &c;
            LinBounds zf = layer_of(Lf, &c.f, f_in, xf, k);
            LinBounds zg = layer_of(Lg, &c.g, g_in, xg, k);
            LinBounds zd = k == 0 ? affine_diag({{&Lg.W, nullptr, &d_in, &c.g}, {&c.dW, &c.dW_err, &f_in, &c.d}}, c.db, &c.db_err, B)
                                  : affine({{&Lg.W, nullptr, &xd, &c.g}, {&c.dW, &c.dW_err, &xf, &c.d}}, c.db, &c.db_err, B);
            add_noise(zd, Lg.noise_lo, Lg.noise_hi);
            narrow(zf, prior.zf_lo, prior.zf_hi, k);
            narrow(zg, prior.zg_lo, prior.zg_hi, k);
            narrow(zd, prior.zd_lo, prior.zd_hi, k);
            // Back-substitution from layer 1 ends where the forward forms begin (layer 0 is affine in
            // the input, and both relax it with the same lines): the same bounds, up to rounding. So
            // from layer 2 on, and at layer 1 only when it is the output (for the guide's coefficients).
            if (k > 1 || (k == 1 && k + 1 == nf)) {
                const bool last = k + 1 == nf;
                const std::vector<int64_t> chosen = outputs.empty() || !last ? all_rows(zd.clo.size()) : outputs;
                // f's own output bounds bound g - f at an integer point (errbound.cpp): tight on the chosen outputs.
                diff::tighten(bs, k, diff::Quantity::F, last && p.integer_region() ? chosen : crossing_rows(zf.clo, zf.chi, Lf),
                              zf.clo, zf.chi);
                // g's pre-activation lies in zf + zd: with f's tightened bounds and zd's forward ones,
                // often as tight as g's own back-substitution (the twins are close), which is then
                // done only for the neurons barely across a breakpoint (below).
                intersect_sum(zg, zf, zd);
                // The difference: where a network's neuron is not linear on its range (and on the chosen
                // outputs). Not where both are constant on their ranges (dead in both): xd is then the
                // difference of the two constants whatever zd's range (activate_difference takes xg - xf).
                std::vector<int64_t> d_rows;
                for (int64_t i : chosen) {
                    const bool both_linear = linear_on(zf.clo[i], zf.chi[i], Lf) && linear_on(zg.clo[i], zg.chi[i], Lg);
                    const bool both_flat = flat_on(zf.clo[i], zf.chi[i], Lf) && flat_on(zg.clo[i], zg.chi[i], Lg);
                    if (last || !(both_linear || both_flat)) d_rows.push_back(i);
                }
                diff::RelaxScores scores;
                diff::tighten(bs, k, diff::Quantity::D, d_rows, zd.clo, zd.chi, last ? &out_coef : nullptr,
                              last ? &scores : nullptr);
                if (last) phase_scores(scores, d_rows, zd.clo.size(), r);
                intersect_sum(zg, zf, zd);
                diff::tighten(bs, k, diff::Quantity::G, nearly_stable_rows(zg.clo, zg.chi, Lg), zg.clo, zg.chi);
            }
            for (int64_t i = 0; i < zd.clo.size(); ++i) {
                zd.clo[i] = std::max(zd.clo[i], down(zg.clo[i] - zf.chi[i]));
                zd.chi[i] = std::min(zd.chi[i], up(zg.chi[i] - zf.clo[i]));
            }
            r.zf_lo.push_back(zf.clo), r.zf_hi.push_back(zf.chi), r.zg_lo.push_back(zg.clo), r.zg_hi.push_back(zg.chi);
            r.zd_lo.push_back(zd.clo), r.zd_hi.push_back(zd.chi);
            const LinBounds nxf = activate(zf, Lf, B, R.f_su, R.f_tu, R.f_sl, R.f_tl);
            const LinBounds nxg = activate(zg, Lg, B, R.g_su, R.g_tu, R.g_sl, R.g_tl);
            xd = activate_difference(zf, zd, zg, nxf, nxg, Lf, Lg, B, R);
            R.f_live = diff::live_neurons(R.f_su, R.f_sl), R.g_live = diff::live_neurons(R.g_su, R.g_sl);
            R.d_live = diff::live_neurons(R.d_su, R.d_sl);
            R.f_slack = diff::band_width(R.f_su, R.f_tu, R.f_sl, R.f_tl, zf.clo, zf.chi);
            R.g_slack = diff::band_width(R.g_su, R.g_tu, R.g_sl, R.g_tl, zg.clo, zg.chi);
            r.xd_lo.push_back(xd.clo), r.xd_hi.push_back(xd.chi);
            R.zf_mag = mag(zf.clo, zf.chi), R.zg_mag = mag(zg.clo, zg.chi), R.zd_mag = mag(zd.clo, zd.chi);
            R.xf_mag = mag(nxf.clo, nxf.chi), R.xg_mag = mag(nxg.clo, nxg.chi), R.xd_mag = mag(xd.clo, xd.chi);
            if (k + 1 == nf && out_coef.rows() == 2 * zd.clo.size()) {
                out_linear = true;
                for (int64_t i = 0; i < zd.clo.size(); ++i)
                    out_linear = out_linear && R.d_su[i] == 1 && R.d_sl[i] == 1 && R.d_tu[i] == 0 && R.d_tl[i] == 0;
            }
            xf = nxf;
            xg = nxg;
        }
    } else {
        Vec su, tu, sl, tl;  // lines not needed without back-substitution
        for (size_t k = 0; k < nf; ++k) {
            LinBounds z = layer_of(p.f_layers[k], nullptr, f_in, xf, k);
            narrow(z, prior.zf_lo, prior.zf_hi, k);
            r.zf_lo.push_back(z.clo), r.zf_hi.push_back(z.chi);
            xf = activate(z, p.f_layers[k], B, su, tu, sl, tl);
        }
        for (size_t k = 0; k < ng; ++k) {
            LinBounds z = layer_of(p.g_layers[k], nullptr, g_in, xg, k);
            narrow(z, prior.zg_lo, prior.zg_hi, k);
            r.zg_lo.push_back(z.clo), r.zg_hi.push_back(z.chi);
            xg = activate(z, p.g_layers[k], B, su, tu, sl, tl);
        }
        xd = naive_difference(xf, xg, B);
    }
    const int64_t outs = xd.clo.size();
    for (int64_t i = 0; i < outs; ++i) {
        r.lo.push_back(xd.clo[i]);
        r.hi.push_back(xd.chi[i]);
        r.f_lo.push_back(xf.clo[i]);
        r.f_hi.push_back(xf.chi[i]);
        std::vector<double> amax(lo.size()), amin(lo.size()), sh(lo.size()), sl(lo.size());
        for (int64_t k = 0; k < B.size(); ++k) {
            const double ch = out_linear ? out_coef(i, k) : xd.hi.C(i, k);
            const double cl = out_linear ? -out_coef(outs + i, k) : xd.lo.C(i, k);
            const double w = B.hi[k] - B.lo[k];
            amax[size_t(k)] = ch > 0 ? B.hi[k] : B.lo[k];
            amin[size_t(k)] = cl > 0 ? B.lo[k] : B.hi[k];
            sh[size_t(k)] = std::fabs(ch) * w;
            sl[size_t(k)] = std::fabs(cl) * w;
        }
        r.argmax.push_back(std::move(amax));
        r.argmin.push_back(std::move(amin));
        r.sensitivity_hi.push_back(std::move(sh));
        r.sensitivity_lo.push_back(std::move(sl));
    }
    return r;
}

}  // namespace qcert
