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

#include <algorithm>
#include <cmath>

namespace qcert::diff {

using outward::up;

namespace {

// err += v (entrywise, v a computed sum of n nonnegative terms, inflated to cover its rounding).
void add_error(Vec& err, const Vec& v, double n) {
    for (int64_t i = 0; i < err.size(); ++i) err[i] = up(err[i] + outward::inflate(v[i], n));
}
void add_error(Vec& err, const Vec& v, double n, double factor) {
    for (int64_t i = 0; i < err.size(); ++i) err[i] = up(err[i] + up(factor * outward::inflate(v[i], n)));
}
// After c += x: the addition's own rounding, at most u |c| per entry (2u taken).
void add_rounding_of_sum(Vec& err, const Vec& c) {
    for (int64_t i = 0; i < err.size(); ++i) err[i] = up(err[i] + up(std::fabs(c[i]) * 0x1p-52));
}

Vec input_magnitude(const DiagInput& x, const linear::Box& B) {
    Vec m = x.a.cwiseAbs().cwiseProduct(B.mag) + x.c.cwiseAbs() + x.err;
    for (int64_t j = 0; j < m.size(); ++j) m[j] = outward::inflate(m[j], 3);
    return m;
}

// The noise e in [lo, hi] of a layer under coefficients A: max of A e is A+ hi + A- lo.
Vec noise_term(const Mat& A, double lo, double hi) {
    if (lo == 0 && hi == 0) return Vec::Zero(A.rows());
    return A.cwiseMax(0.0).rowwise().sum() * hi + A.cwiseMin(0.0).rowwise().sum() * lo;
}

// One relaxation step: coefficients A over x become coefficients over z (x <= su z + tu when
// the coefficient is positive, x >= sl z + tl when negative); returns the new coefficients.
Mat substitute(const Mat& A, const Vec& su, const Vec& tu, const Vec& sl, const Vec& tl, const Vec& z_mag, Vec& c, Vec& err) {
    const Mat Ap = A.cwiseMax(0.0), An = A.cwiseMin(0.0);
    Mat Bm = Ap * su.asDiagonal();
    Bm.noalias() += An * sl.asDiagonal();
    c.noalias() += Ap * tu + An * tl;
    add_rounding_of_sum(err, c);
    const double n = double(A.cols()) + 2;
    // Products A s: one rounding each, times |z|; sums of A t: gamma_n.
    add_error(err, A.cwiseAbs() * su.cwiseMax(sl).cwiseProduct(z_mag), n, outward::gamma(2));
    add_error(err, A.cwiseAbs() * tu.cwiseAbs().cwiseMax(tl.cwiseAbs()), n, outward::gamma(n));
    return Bm;
}

}  // namespace

Vec BackSubstitution::upper(size_t k, const Mat& Bf0, const Mat& Bg0, const Mat& Bd0, Mat* coef_out) const {
    bool hf = Bf0.size() > 0, hg = Bg0.size() > 0;
    const bool hd = Bd0.size() > 0;
    const int64_t R = hf ? Bf0.rows() : hg ? Bg0.rows() : Bd0.rows();
    Mat Bf = Bf0, Bg = Bg0, Bd = Bd0;
    Vec c = Vec::Zero(R), err = Vec::Zero(R);
    for (size_t j = k + 1; j-- > 0;) {
        const PairLayer &Lf = p.f_layers[j], &Lg = p.g_layers[j];
        const LayerRelax& cur = relax[j];
        const Vec mf = j > 0 ? relax[j - 1].xf_mag : input_magnitude(f_in, B);
        const Vec mg = j > 0 ? relax[j - 1].xg_mag : input_magnitude(g_in, B);
        const Vec md = j > 0 ? relax[j - 1].xd_mag : input_magnitude(d_in, B);
        const int64_t n_prev = Lf.W.cols();
        const double nn = double(Lf.W.rows() + n_prev) + 4;
        const double g_inner = outward::gamma(double(Lf.W.rows()) + 2);
        // Affine step: coefficients over z_j become coefficients over x_{j-1}.
        Mat Af = Mat::Zero(R, n_prev), Ag = Mat::Zero(R, n_prev), Ad = Mat::Zero(R, n_prev);
        if (hf) {
            Af.noalias() += Bf * Lf.W;
            c.noalias() += Bf * Lf.b;
            add_error(err, Bf.cwiseAbs() * (Lf.W.cwiseAbs() * mf + Lf.b.cwiseAbs()), nn, g_inner);
        }
        if (hg) {
            Ag.noalias() += Bg * Lg.W;
            c.noalias() += Bg * Lg.b + noise_term(Bg, Lg.noise_lo, Lg.noise_hi);
            add_error(err, Bg.cwiseAbs() * (Lg.W.cwiseAbs() * mg + Lg.b.cwiseAbs() +
                                            Vec::Constant(Lg.b.size(), std::max(-Lg.noise_lo, Lg.noise_hi))),
                      nn, g_inner);
        }
        if (hd) {
            Af.noalias() += Bd * cur.dW;
            Ad.noalias() += Bd * Lg.W;
            c.noalias() += Bd * cur.db + noise_term(Bd, Lg.noise_lo, Lg.noise_hi);
            add_error(err, Bd.cwiseAbs() * (cur.dW.cwiseAbs() * mf + Lg.W.cwiseAbs() * md + cur.db.cwiseAbs() +
                                            Vec::Constant(Lg.b.size(), std::max(-Lg.noise_lo, Lg.noise_hi))),
                      nn, outward::gamma(2 * double(Lf.W.rows()) + 2));
            // The rounding of dW and db themselves: exact bounds, no gamma.
            add_error(err, Bd.cwiseAbs() * (cur.dW_err * mf + cur.db_err), nn);
        }
        add_rounding_of_sum(err, c);
        const bool af = hf || hd, ag = hg || hd;
        if (j == 0) {
            // The input: x = a u + c +- err for each network.
            Mat coef = Mat::Zero(R, B.size());
            Vec e_in = Vec::Zero(R), mag_terms = Vec::Zero(R);
            auto add_input = [&](const Mat& A, const DiagInput& x) {
                coef.noalias() += A * x.a.asDiagonal();
                c.noalias() += A * x.c;
                e_in.noalias() += A.cwiseAbs() * x.err;
                mag_terms.noalias() += A.cwiseAbs() * (x.a.cwiseAbs().cwiseProduct(B.mag) + x.c.cwiseAbs());
            };
            if (af) add_input(Af, f_in);
            if (ag) add_input(Ag, g_in);
            if (hd) add_input(Ad, d_in);
            add_error(err, e_in, double(n_prev) + 2);
            add_error(err, mag_terms, double(n_prev) + 4, outward::gamma(4));
            add_rounding_of_sum(err, c);
            if (coef_out) *coef_out = coef;
            const linear::Forms F{coef, c};
            Vec r = linear::max_over(F, B);
            for (int64_t i = 0; i < R; ++i) r[i] = up(r[i] + err[i]);
            return r;
        }
        // Relaxation step at layer j-1: first xd (which may become xg - xf), then xf and xg.
        const LayerRelax& prev = relax[j - 1];
        if (hd) {
            const Mat Ap = Ad.cwiseMax(0.0), An = Ad.cwiseMin(0.0);
            Mat W = Ap * prev.d_wu.asDiagonal();
            W.noalias() += An * prev.d_wl.asDiagonal();  // exact: entries are A or 0
            Bd = substitute(Ad, prev.d_su, prev.d_tu, prev.d_sl, prev.d_tl, prev.zd_mag, c, err);
            Ag += W;
            Af -= W;
            // The additions round once per entry (u |new entry|), times the variable's magnitude.
            add_error(err, Ag.cwiseAbs() * prev.xg_mag + Af.cwiseAbs() * prev.xf_mag, 2 * double(n_prev) + 2, 0x1p-52);
        }
        if (af) Bf = substitute(Af, prev.f_su, prev.f_tu, prev.f_sl, prev.f_tl, prev.zf_mag, c, err);
        if (ag) Bg = substitute(Ag, prev.g_su, prev.g_tu, prev.g_sl, prev.g_tl, prev.zg_mag, c, err);
        hf = af;
        hg = ag;
    }
    return Vec::Constant(R, std::numeric_limits<double>::infinity());  // not reached
}

void tighten(const BackSubstitution& bs, size_t k, Quantity which, const std::vector<int64_t>& rows, Vec& lo, Vec& hi,
             Mat* coef_out) {
    const int64_t n = lo.size(), m = int64_t(rows.size());
    if (coef_out) *coef_out = Mat::Zero(2 * n, bs.B.size());
    if (m == 0) return;
    Mat S = Mat::Zero(2 * m, n);  // upper bounds of the chosen z, then upper bounds of -z
    for (int64_t t = 0; t < m; ++t) S(t, rows[size_t(t)]) = 1, S(m + t, rows[size_t(t)]) = -1;
    Mat coef;
    const Vec r = which == Quantity::F   ? bs.upper(k, S, Mat(), Mat())
                  : which == Quantity::G ? bs.upper(k, Mat(), S, Mat())
                                         : bs.upper(k, Mat(), Mat(), S, coef_out ? &coef : nullptr);
    for (int64_t t = 0; t < m; ++t) {
        const int64_t i = rows[size_t(t)];
        hi[i] = std::min(hi[i], r[t]);
        lo[i] = std::max(lo[i], -r[m + t]);
        if (coef_out && coef.rows() == 2 * m) coef_out->row(i) = coef.row(t), coef_out->row(n + i) = coef.row(m + t);
    }
}

}  // namespace qcert::diff
