// Back-substitution through f, g and g - f together (diff_backsub.hpp).
//
// Error accounting: a coefficient row a over variables v (|v_m| <= mag_m) that was
// computed with absolute error at most e_m per entry changes the bound by at most
// sum_m e_m mag_m. A matrix product with inner dimension n has entry errors at most
// gamma_{n+1} times the product of absolute values; one multiplication or addition
// has relative error at most u. Every such term is summed into `err` (rounded up), and
// `err` is added to the result at the end.
#include "bounds/diff_backsub.hpp"

#include "bounds/outward.hpp"
#include "bounds/small_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

namespace qcert::diff {

using outward::up;

namespace {

// The passes below are plain loops the compiler vectorizes; on CPUs with AVX2 (chosen at load
// time) a clone with 4-wide vectors runs instead of the SSE2 one (no FMA: the same roundings).
// Not under ThreadSanitizer: its instrumented clone resolver runs before TSan starts and crashes.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define QCERT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define QCERT_VECTOR_CLONES
#endif

// err += factor * inflate(v, n) entrywise (v a computed sum of n nonnegative terms, inflated to
// cover its rounding: outward::inflate written out with outward::up_nonneg, every operand being
// >= 0, so that the loop has no branches; the same values as inflate).
QCERT_VECTOR_CLONES void add_error(Vec& err, const Vec& v, double n, double factor) {
    using outward::up_nonneg;
    const int64_t R = err.size();
    double* __restrict e = err.data();
    const double* __restrict x = v.data();
    for (int64_t i = 0; i < R; ++i) {
        const double inflated = outward::inflate_nonneg(x[i], n);
        e[i] = up_nonneg(e[i] + (factor == 1 ? inflated : up_nonneg(factor * inflated)));
    }
}
void add_error(Vec& err, const Vec& v, double n) { add_error(err, v, n, 1.0); }
// c += s (s a fresh sum of products, its own error accounted by the caller), then the
// addition's own rounding: at most u |c| per entry (2u taken).
void add_sum(Vec& c, const Vec& s, Vec& err) {
    using outward::up_nonneg;
    for (int64_t i = 0; i < c.size(); ++i) {
        c[i] += s[i];
        err[i] = up_nonneg(err[i] + up_nonneg(std::fabs(c[i]) * 0x1p-52));
    }
}

Vec input_magnitude(const DiagInput& x, const linear::Box& B) {
    Vec m = x.a.cwiseAbs().cwiseProduct(B.mag) + x.c.cwiseAbs() + x.err;
    for (int64_t j = 0; j < m.size(); ++j) m[j] = outward::inflate(m[j], 3);
    return m;
}

using gemm::ConstMapMat;
using gemm::MapMat;

// Per-thread scratch matrices, grown as needed and never freed: back-substitution runs
// thousands of times per query, and allocating its matrices every time cost more than the
// arithmetic (page faults as the heap was trimmed and grown again).
struct Scratch {
    std::vector<double> bf, bg, bd, af, ag, ad;
    static MapMat take(std::vector<double>& v, int64_t rows, int64_t cols) {
        if (v.size() < size_t(rows * cols)) v.resize(size_t(rows * cols));
        return MapMat(v.data(), rows, cols);
    }
};
thread_local Scratch scratch;

// out = B W (B: R x m, W: m x n), or the signed gather when B is a selection (exact either
// way up to the product's rounding, which the caller accounts for). `live`: B's columns that
// may be nonzero (null: all).
void multiply(const ConstMapMat& B, const std::vector<std::pair<int64_t, double>>* sel, const Mat& W, MapMat& out,
              bool accumulate, const std::vector<int32_t>* live) {
    if (!sel) {
        gemm::multiply(B, W, out, accumulate, live);
        return;
    }
    for (int64_t i = 0; i < int64_t(sel->size()); ++i) {
        const auto [row, sign] = (*sel)[size_t(i)];
        if (accumulate) out.row(i) += sign * W.row(row);
        else out.row(i) = sign * W.row(row);
    }
}

// One pass over B (R x m, column-major; only its columns in `live`, the others being zero): s += B v,
// e += |B| w, and when pos is set the sums of B's positive and of its negative entries per row
// (for a noise term).
QCERT_VECTOR_CLONES void affine_pass(const ConstMapMat& B, const std::vector<int32_t>& live, const Vec& v, const Vec& w, Vec& s,
                                     Vec& e, Vec* pos = nullptr, Vec* neg = nullptr) {
    const int64_t R = B.rows();
    double* __restrict sp = s.data();
    double* __restrict ep = e.data();
    for (const int32_t j : live) {
        const double* __restrict a = B.data() + j * R;
        const double vj = v[j], wj = w[j];
        for (int64_t i = 0; i < R; ++i) {
            sp[i] += a[i] * vj;
            ep[i] += std::fabs(a[i]) * wj;
        }
        if (pos) {
            double* __restrict pp = pos->data();
            double* __restrict np = neg->data();
            for (int64_t i = 0; i < R; ++i) {
                pp[i] += std::max(a[i], 0.0);
                np[i] += std::min(a[i], 0.0);
            }
        }
    }
}

// The same pass when B is the objectives, a signed selection (row i: sign_i z_{row_i}): exact.
void selection_pass(const std::vector<std::pair<int64_t, double>>& sel, const Vec& v, const Vec& w, Vec& s, Vec& e,
                    Vec* pos = nullptr, Vec* neg = nullptr) {
    for (size_t i = 0; i < sel.size(); ++i) {
        const auto [row, sign] = sel[i];
        s[int64_t(i)] += sign * v[row];
        e[int64_t(i)] += w[row];
        if (pos) (sign > 0 ? (*pos)[int64_t(i)] : (*neg)[int64_t(i)]) += sign;
    }
}

// The noise e in [lo, hi] of a layer under coefficients with positive-entry sums pos and
// negative-entry sums neg: max of A e is pos hi + neg lo.
void add_noise(Vec& s, const Vec& pos, const Vec& neg, double lo, double hi) {
    for (int64_t i = 0; i < s.size(); ++i) s[i] += pos[i] * hi + neg[i] * lo;
}

// The lines of one relaxation (x <= su z + tu when the coefficient is positive, x >= sl z + tl
// when negative) and what the error terms weigh each coefficient by.
struct Lines {
    const Vec &su, &tu, &sl, &tl;
    Vec s_mag, t_mag;  // max(su, sl) |z| and max(|tu|, |tl|)
    Lines(const Vec& su_, const Vec& tu_, const Vec& sl_, const Vec& tl_, const Vec& z_mag)
        : su(su_), tu(tu_), sl(sl_), tl(tl_), s_mag(su_.cwiseMax(sl_).cwiseProduct(z_mag)),
          t_mag(tu_.cwiseAbs().cwiseMax(tl_.cwiseAbs())) {}
};

// One relaxation step in one pass: coefficients A over x become out over z (entrywise
// A+ su + A- sl), t += A+ tu + A- tl, es += |A| s_mag, et += |A| t_mag, and with x_mag also
// ex += |A| x_mag. A neuron whose lines are both zero (and x_mag zero) adds nothing: its column
// of out is left as it was (not live: nothing reads it).
QCERT_VECTOR_CLONES void relax_pass(const MapMat& A, const Lines& L, MapMat& out, Vec& t, Vec& es, Vec& et, const Vec* x_mag, Vec* ex) {
    const int64_t R = A.rows();
    double* __restrict tp = t.data();
    double* __restrict sp = es.data();
    double* __restrict ep = et.data();
    for (int64_t j = 0; j < A.cols(); ++j) {
        const double* __restrict a = A.data() + j * R;
        double* __restrict o = out.data() + j * R;
        const double su = L.su[j], sl = L.sl[j], tu = L.tu[j], tl = L.tl[j], sm = L.s_mag[j], tm = L.t_mag[j];
        if (su == 0 && sl == 0 && tu == 0 && tl == 0 && (!x_mag || (*x_mag)[j] == 0)) continue;
        // Branch-free (the signs are unpredictable): A+ s + A- s' adds an exact zero to A s.
        for (int64_t i = 0; i < R; ++i) {
            const double v = a[i], vp = std::max(v, 0.0), vn = std::min(v, 0.0), av = std::fabs(v);
            o[i] = vp * su + vn * sl;
            tp[i] += vp * tu + vn * tl;
            sp[i] += av * sm;
            ep[i] += av * tm;
        }
        if (x_mag) {
            double* __restrict xp = ex->data();
            const double xm = (*x_mag)[j];
            for (int64_t i = 0; i < R; ++i) xp[i] += std::fabs(a[i]) * xm;
        }
    }
}

// The step's rounding errors of a relaxation pass: products A s one rounding each, times |z|;
// sums of A t: gamma_n; t added to c.
void relax_errors(Vec& c, const Vec& t, const Vec& es, const Vec& et, double n, Vec& err) {
    add_sum(c, t, err);
    add_error(err, es, n, outward::gamma(2));
    add_error(err, et, n, outward::gamma(n));
}

}  // namespace

const BackSubstitution::StepWeights& BackSubstitution::weights(size_t j) const {
    if (weights_cache.size() <= j) weights_cache.resize(j + 1);
    std::optional<StepWeights>& w = weights_cache[j];
    if (w) return *w;
    const PairLayer &Lf = p.f_layers[j], &Lg = p.g_layers[j];
    const LayerRelax& cur = relax[j];
    const Vec mf = j > 0 ? relax[j - 1].xf_mag : input_magnitude(f_in, B);
    const Vec mg = j > 0 ? relax[j - 1].xg_mag : input_magnitude(g_in, B);
    const Vec md = j > 0 ? relax[j - 1].xd_mag : input_magnitude(d_in, B);
    const Vec noise = Vec::Constant(Lg.b.size(), std::max(-Lg.noise_lo, Lg.noise_hi));
    if (!cur.consts) throw std::logic_error("back-substitution: a layer without its constants");
    w.emplace();
    const LayerConstants& c = *cur.consts;
    w->wf = Lf.b.cwiseAbs();
    gemm::multiply(c.f.abs, mf, w->wf, true);
    w->wg = Lg.b.cwiseAbs() + noise;
    gemm::multiply(c.g.abs, mg, w->wg, true);
    w->wd = c.db.cwiseAbs() + noise;
    gemm::multiply(c.d.abs, mf, w->wd, true);
    gemm::multiply(c.g.abs, md, w->wd, true);
    w->wrep = c.db_err;
    gemm::multiply(c.dW_err, mf, w->wrep, true);
    w->any_rep = w->wrep.size() > 0 && w->wrep.maxCoeff() > 0;
    return *w;
}

Vec band_width(const Vec& su, const Vec& tu, const Vec& sl, const Vec& tl, const Vec& lo, const Vec& hi) {
    Vec w(su.size());
    for (int64_t i = 0; i < w.size(); ++i) {
        const double u = std::max(hi[i], lo[i]);
        w[i] = std::max({0.0, (su[i] - sl[i]) * lo[i] + tu[i] - tl[i], (su[i] - sl[i]) * u + tu[i] - tl[i]});
        if (!std::isfinite(w[i])) w[i] = 0;
    }
    return w;
}

namespace {

// scores = |A| diag(slack), or nothing when the layer has no slack recorded.
void record_scores(Mat& scores, const MapMat& A, const Vec& slack) {
    if (slack.size() != A.cols()) return;
    scores = A.cwiseAbs() * slack.asDiagonal();
}

}  // namespace

Vec BackSubstitution::upper(size_t k, Quantity which, const std::vector<int64_t>& rows, Mat* coef_out,
                            RelaxScores* scores) const {
    if (scores) scores->f.assign(k, Mat()), scores->g.assign(k, Mat()), scores->d.assign(k, Mat());
    bool hf = which == Quantity::F, hg = which == Quantity::G;
    const bool hd = which == Quantity::D;
    const int64_t m = int64_t(rows.size()), R = 2 * m;
    // The objectives, a signed selection: the first step's products are gathers of weight rows.
    std::vector<std::pair<int64_t, double>> sel(static_cast<size_t>(R));
    for (int64_t t = 0; t < m; ++t) sel[size_t(t)] = {rows[size_t(t)], 1.0}, sel[size_t(m + t)] = {rows[size_t(t)], -1.0};
    // Coefficient matrices over layer j's pre-activations, from the second step on.
    ConstMapMat Bf(nullptr, R, 0), Bg(nullptr, R, 0), Bd(nullptr, R, 0);
    Vec c = Vec::Zero(R), err = Vec::Zero(R);
    Vec s(R), e(R), pos(R), neg(R), t(R), es(R), et(R), ex(R);
    bool first = true;
    for (size_t j = k + 1; j-- > 0;) {
        const PairLayer &Lf = p.f_layers[j], &Lg = p.g_layers[j];
        const LayerRelax& cur = relax[j];
        const StepWeights& sw = weights(j);
        const int64_t n_prev = Lf.W.cols();
        const double nn = double(Lf.W.rows() + n_prev) + 4;
        const double g_inner = outward::gamma(double(Lf.W.rows()) + 2);
        const bool noisy = Lg.noise_lo != 0 || Lg.noise_hi != 0;
        // Affine step: coefficients over z_j become coefficients over x_{j-1}.
        MapMat Af = Scratch::take(scratch.af, R, n_prev), Ag = Scratch::take(scratch.ag, R, n_prev),
               Ad = Scratch::take(scratch.ad, R, n_prev);
        // After a relaxation step (not at the objectives) the coefficients of neurons with flat lines are zero.
        const std::vector<int32_t>* f_live = first ? nullptr : &cur.f_live;
        const std::vector<int32_t>* g_live = first ? nullptr : &cur.g_live;
        const std::vector<int32_t>* d_live = first ? nullptr : &cur.d_live;
        const auto* first_sel = first ? &sel : nullptr;
        // s += B v, e += |B| w (and the noise's sums) for B the objectives or a coefficient matrix.
        auto pass = [&](const ConstMapMat& B, const std::vector<int32_t>* live, const Vec& v, const Vec& w, Vec* ps, Vec* ng) {
            if (first) selection_pass(sel, v, w, s, e, ps, ng);
            else affine_pass(B, *live, v, w, s, e, ps, ng);
        };
        if (hf) {
            multiply(Bf, first_sel, Lf.W, Af, false, f_live);
            s.setZero(), e.setZero();
            pass(Bf, f_live, Lf.b, sw.wf, nullptr, nullptr);
            add_sum(c, s, err);
            add_error(err, e, nn, g_inner);
        }
        if (hg) {
            multiply(Bg, first_sel, Lg.W, Ag, false, g_live);
            s.setZero(), e.setZero(), pos.setZero(), neg.setZero();
            pass(Bg, g_live, Lg.b, sw.wg, noisy ? &pos : nullptr, noisy ? &neg : nullptr);
            if (noisy) add_noise(s, pos, neg, Lg.noise_lo, Lg.noise_hi);
            add_sum(c, s, err);
            add_error(err, e, nn, g_inner);
        }
        if (hd) {
            multiply(Bd, first_sel, cur.consts->dW, Af, hf, d_live);
            multiply(Bd, first_sel, Lg.W, Ad, false, d_live);
            s.setZero(), e.setZero(), pos.setZero(), neg.setZero();
            pass(Bd, d_live, cur.consts->db, sw.wd, noisy ? &pos : nullptr, noisy ? &neg : nullptr);
            if (noisy) add_noise(s, pos, neg, Lg.noise_lo, Lg.noise_hi);
            add_sum(c, s, err);
            add_error(err, e, nn, outward::gamma(2 * double(Lf.W.rows()) + 2));
            // The rounding of dW and db themselves: exact bounds, no gamma.
            if (sw.any_rep) {
                s.setZero(), e.setZero();
                pass(Bd, d_live, Vec::Zero(cur.consts->db.size()), sw.wrep, nullptr, nullptr);
                add_error(err, e, nn);
            }
        }
        first = false;
        const bool af = hf || hd;
        bool ag = hg;  // also when xd is replaced by xg - xf below (rare: g's coefficients are zero until then)
        if (j == 0) {
            // The input: x = a u + c +- err for each network.
            Mat coef = Mat::Zero(R, B.size());
            Vec e_in = Vec::Zero(R), mag_terms = Vec::Zero(R);
            auto add_input = [&](const MapMat& A, const DiagInput& x) {
                coef.noalias() += A * x.a.asDiagonal();
                c.noalias() += A * x.c;
                e_in.noalias() += A.cwiseAbs() * x.err;
                mag_terms.noalias() += A.cwiseAbs() * (x.a.cwiseAbs().cwiseProduct(B.mag) + x.c.cwiseAbs());
            };
            if (af) add_input(Af, f_in);
            if (hg) add_input(Ag, g_in);  // without hg, Ag is zero here
            if (hd) add_input(Ad, d_in);
            add_error(err, e_in, double(n_prev) + 2);
            add_error(err, mag_terms, double(n_prev) + 4, outward::gamma(4));
            for (int64_t i = 0; i < R; ++i) err[i] = up(err[i] + up(std::fabs(c[i]) * 0x1p-52));
            if (coef_out) *coef_out = coef;
            const linear::Forms F{coef, c};
            Vec r = linear::max_over(F, B);
            for (int64_t i = 0; i < R; ++i) r[i] = up(r[i] + err[i]);
            return r;
        }
        // Relaxation step at layer j-1: first xd (which may become xg - xf), then xf and xg.
        const LayerRelax& prev = relax[j - 1];
        const double n = double(n_prev) + 2;
        MapMat Bf_new = Scratch::take(scratch.bf, R, n_prev), Bg_new = Scratch::take(scratch.bg, R, n_prev),
               Bd_new = Scratch::take(scratch.bd, R, n_prev);
        if (hd) {
            if (scores) record_scores(scores->d[j - 1], Ad, prev.d_slack);
            t.setZero(), es.setZero(), et.setZero();
            relax_pass(Ad, Lines(prev.d_su, prev.d_tu, prev.d_sl, prev.d_tl, prev.zd_mag), Bd_new, t, es, et, nullptr, nullptr);
            relax_errors(c, t, es, et, n, err);
            // xd replaced by xg - xf where d_w is 1: the coefficient moves to xg and, negated, to xf
            // (exact: the moved entries are A or 0), then each sum rounds once (u |new entry|).
            for (int64_t col = 0; col < n_prev; ++col) {
                const double wu = prev.d_wu[col], wl = prev.d_wl[col];
                if (wu == 0 && wl == 0) continue;
                if (!ag) Ag.setZero(), ag = true;
                const double* __restrict a = Ad.data() + col * R;
                double* __restrict gp = Ag.data() + col * R;
                double* __restrict fp = Af.data() + col * R;
                for (int64_t i = 0; i < R; ++i) {
                    const double w = std::max(a[i], 0.0) * wu + std::min(a[i], 0.0) * wl;
                    gp[i] += w;
                    fp[i] -= w;
                }
            }
        }
        ex.setZero();
        if (af) {
            if (scores) record_scores(scores->f[j - 1], Af, prev.f_slack);
            t.setZero(), es.setZero(), et.setZero();
            relax_pass(Af, Lines(prev.f_su, prev.f_tu, prev.f_sl, prev.f_tl, prev.zf_mag), Bf_new, t, es, et,
                       hd ? &prev.xf_mag : nullptr, &ex);
            relax_errors(c, t, es, et, n, err);
        }
        if (ag) {
            if (scores) record_scores(scores->g[j - 1], Ag, prev.g_slack);
            t.setZero(), es.setZero(), et.setZero();
            relax_pass(Ag, Lines(prev.g_su, prev.g_tu, prev.g_sl, prev.g_tl, prev.zg_mag), Bg_new, t, es, et,
                       hd ? &prev.xg_mag : nullptr, &ex);
            relax_errors(c, t, es, et, n, err);
        }
        if (hd) add_error(err, ex, 2 * double(n_prev) + 2, 0x1p-52);  // the xd -> xg - xf additions
        new (&Bf) ConstMapMat(Bf_new.data(), R, n_prev);
        new (&Bg) ConstMapMat(Bg_new.data(), R, n_prev);
        new (&Bd) ConstMapMat(Bd_new.data(), R, n_prev);
        hf = af;
        hg = ag;
    }
    return Vec::Constant(R, std::numeric_limits<double>::infinity());  // not reached
}

std::vector<int32_t> live_neurons(const Vec& su, const Vec& sl) {
    std::vector<int32_t> live;
    for (int64_t i = 0; i < su.size(); ++i)
        if (su[i] != 0 || sl[i] != 0) live.push_back(int32_t(i));
    return live;
}

void tighten(const BackSubstitution& bs, size_t k, Quantity which, const std::vector<int64_t>& rows, Vec& lo, Vec& hi,
             Mat* coef_out, RelaxScores* scores) {
    const int64_t n = lo.size(), m = int64_t(rows.size());
    if (coef_out) *coef_out = Mat::Zero(2 * n, bs.B.size());
    if (m == 0) return;
    Mat coef;
    const Vec r = bs.upper(k, which, rows, coef_out ? &coef : nullptr, scores);
    for (int64_t t = 0; t < m; ++t) {
        const int64_t i = rows[size_t(t)];
        hi[i] = std::min(hi[i], r[t]);
        lo[i] = std::max(lo[i], -r[m + t]);
        if (coef_out && coef.rows() == 2 * m) coef_out->row(i) = coef.row(t), coef_out->row(n + i) = coef.row(m + t);
    }
}

}  // namespace qcert::diff
