// Symbolic bounds: DeepPoly / CROWN-style back-substitution over the exact
// integer semantics.
//
// Levels: level 0 is the input box, level k + 1 the outputs of layer k. A linear
// form at a level is a set of rows
//     target_r <= sum_j C_rj x_j + c_r + e_r     for every reachable x of that level,
// an exact real inequality in which the doubles C, c stand for themselves and
// e_r >= 0 absorbs every floating-point error made so far. One substitution step
// replaces the outputs x of layer k by their relaxations in the accumulators a
// (upper relaxation where C_rj >= 0, lower where C_rj < 0), then a = W x' + b' by the
// layer's exact integer affine map, landing one level lower. At level 0 the form is
// maximised over the box. Upper bounds only: a lower bound of t is minus an upper
// bound of -t.
//
// Floating point (see outward.hpp for the two facts used). The integers W, b' and
// the box are exact doubles (checked: |v| <= 2^53, else intervals only). In a step
// with n accumulators, with D = fl(C * lam) and V_j >= |a_j| (rounded up):
//   C_rj lam_j a_j    <= D_rj a_j + (u |D_rj| + eta) V_j              (one rounding)
//   sum_j C_rj mu_j   <= fl(sum) + gamma_n sum_j |C_rj mu_j| + n eta
//   sum_j D_rj a_j     = sum_i (D W)_ri x_i + sum_j D_rj b'_j          (exact)
//   (D W)_ri x_i      <= fl(D W)_ri x_i + (gamma_n (|D| |W|)_ri + n eta) Xmax_i
//   sum_j D_rj b'_j   <= fl(sum) + gamma_n sum_j |D_rj| |b'_j| + n eta
// and sum_i (|D||W|)_ri Xmax_i + sum_j |D_rj||b'_j| <= sum_j |D_rj| V_j =: T_r, so
//   e_r += (u + 2 gamma_n) T_r + gamma_n P_r + tiny,  P_r = sum_j |C_rj mu_j|,
// with T_r, P_r computed in floating point and inflated to upper bounds. Every
// addition into c_r and e_r is rounded up. The errors are of relative size n u,
// far below the integer rounding of the final bounds.
#include "qcert/bounds.hpp"

#include "bounds/outward.hpp"
#include "bounds/relaxation.hpp"
#include "qcert/error.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <stdexcept>

namespace qcert {

namespace {

using i128 = __int128;
using namespace outward;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DVec = Eigen::VectorXd;

constexpr i128 kExactDouble = i128(1) << 53;

bool exact_double(i128 v) { return v >= -kExactDouble && v <= kExactDouble; }

}  // namespace

// One layer in double form, with the magnitudes its error terms need.
struct SymbolicLayer {
    RowMat W;      // the integer weights, exactly
    DVec bias;     // b' = b - W 1 in_zero, exactly: a = W x + b'
    DVec acc_mag;  // V_j >= |a_j| for every reachable input (rounded up)
    DVec in_mag;   // Xmax_i >= |x_i| of the layer's input level (rounded up)
    DVec lam_lo, mu_lo, lam_hi, mu_hi;
    double sum_mag = 0;  // sum V + sum Xmax, for the underflow term
};

struct SymbolicData {
    std::vector<SymbolicLayer> layers;
};

namespace {

using LayerData = SymbolicLayer;

struct LinearForm {
    RowMat C;
    DVec c, e;
};

// The exact b' of a layer, or nothing when some integer is not an exact double.
bool layer_to_double(const IntLayer& L, LayerData& D) {
    const int64_t m = L.out_size(), n = L.in_size();
    D.W.resize(m, n);
    D.bias.resize(m);
    for (int64_t i = 0; i < m; ++i) {
        i128 b = L.b[i];
        for (int64_t j = 0; j < n; ++j) {
            const int64_t w = L.W(i, j);
            if (!exact_double(w)) return false;
            D.W(i, j) = double(w);
            b -= i128(w) * L.in_zero;
        }
        if (!exact_double(b)) return false;
        D.bias[i] = double(b);
    }
    return true;
}

// Magnitudes of layer k's input level and accumulators, from exact integer bounds of the level.
void set_magnitudes(const IntLayer& L, LayerData& D, const std::vector<int64_t>& xlo, const std::vector<int64_t>& xhi) {
    const int64_t m = L.out_size(), n = L.in_size();
    std::vector<i128> xmax(n);
    D.in_mag.resize(n);
    D.sum_mag = 0;
    for (int64_t j = 0; j < n; ++j) {
        xmax[j] = std::max(xlo[j] < 0 ? -i128(xlo[j]) : i128(xlo[j]), xhi[j] < 0 ? -i128(xhi[j]) : i128(xhi[j]));
        D.in_mag[j] = bracket(xmax[j]).hi;
        D.sum_mag = up(D.sum_mag + D.in_mag[j]);
    }
    D.acc_mag.resize(m);
    for (int64_t i = 0; i < m; ++i) {
        i128 b = L.b[i];
        for (int64_t j = 0; j < n; ++j) b -= i128(L.W(i, j)) * L.in_zero;
        i128 v = b < 0 ? -b : b;
        for (int64_t j = 0; j < n; ++j) v += (L.W(i, j) < 0 ? -i128(L.W(i, j)) : i128(L.W(i, j))) * xmax[j];
        D.acc_mag[i] = bracket(v).hi;
        D.sum_mag = up(D.sum_mag + D.acc_mag[i]);
    }
}

// The relaxations a substitution step uses (a layer's own, or slopes tuned for one row).
struct Relaxations {
    const DVec &lam_lo, &mu_lo, &lam_hi, &mu_hi;
};

// One back-substitution step through layer D: from its output level to its input level.
void substitute(LinearForm& f, const LayerData& D, const Relaxations& R) {
    const int64_t rows = f.C.rows(), n = f.C.cols();
    RowMat Dm(rows, n);
    DVec s1 = DVec::Zero(rows), P = DVec::Zero(rows);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) {
            const double cj = f.C(r, j);
            const bool pos = cj >= 0;
            Dm(r, j) = cj * (pos ? R.lam_hi[j] : R.lam_lo[j]);
            const double prod = cj * (pos ? R.mu_hi[j] : R.mu_lo[j]);
            s1[r] += prod;
            P[r] += std::fabs(prod);
        }
    const DVec s2 = Dm * D.bias;
    const DVec T = Dm.cwiseAbs() * D.acc_mag;
    f.C = Dm * D.W;
    const double g = gamma(double(n)), coef_T = up(kUnit + up(2.0 * g));
    const double small = tiny(2.0 * double(n) + 2.0, D.sum_mag);
    for (int64_t r = 0; r < rows; ++r) {
        f.c[r] = up(up(f.c[r] + s1[r]) + s2[r]);
        const double err = up(up(coef_T * inflate(T[r], double(n))) + up(g * inflate(P[r], double(n))));
        f.e[r] = up(up(f.e[r] + err) + small);
    }
}

void substitute(LinearForm& f, const LayerData& D) { substitute(f, D, Relaxations{D.lam_lo, D.mu_lo, D.lam_hi, D.mu_hi}); }

// Upper bounds of the rows at level 0, over the input box.
DVec concretize(const LinearForm& f, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    const int64_t rows = f.C.rows(), n = f.C.cols();
    double sum_mag = 0;
    DVec xmag(n);
    for (int64_t j = 0; j < n; ++j) {
        xmag[j] = std::max(std::fabs(double(lo[j])), std::fabs(double(hi[j])));  // exact (|v| <= 2^53)
        sum_mag = up(sum_mag + xmag[j]);
    }
    const double g = gamma(double(n));
    DVec ub(rows);
    for (int64_t r = 0; r < rows; ++r) {
        double S = 0, A = 0;
        for (int64_t j = 0; j < n; ++j) {
            const double cj = f.C(r, j);
            S += cj >= 0 ? cj * double(hi[j]) : cj * double(lo[j]);
            A += std::fabs(cj) * xmag[j];
        }
        const double err = up(up(g * inflate(A, double(n))) + tiny(double(n), sum_mag));
        ub[r] = up(up(S + f.c[r]) + up(f.e[r] + err));
        if (std::isnan(ub[r])) ub[r] = kInf;
    }
    return ub;
}

// Back-substitutes a form at level `level` down to the input and bounds it there.
DVec upper_bounds(LinearForm f, size_t level, const std::vector<LayerData>& data, const std::vector<int64_t>& lo,
                  const std::vector<int64_t>& hi, RowMat* input_coef = nullptr) {
    for (size_t k = level; k-- > 0;) substitute(f, data[k]);
    if (input_coef) *input_coef = f.C;
    return concretize(f, lo, hi);
}

// Per-objective slopes (alpha-CROWN style) for the last step, through layer 0 whose
// accumulators are affine in the input. For one row C at level 1 the bound
//     U(s) = max_x sum_j C_j (s_j a_j(x) + mu_j(s_j)),
// with mu_j the upper offset where C_j >= 0 and the lower one where C_j < 0, is
// convex in the slopes s (a maximum of sums of convex offset functions), and
// dU/ds_j = C_j (a_j(x*) - a_j^touch) at the maximising vertex x*, where a_j^touch
// is the accumulator that attains the offset. A few sign-subgradient steps with a
// shrinking step find good slopes; the final bound is then computed soundly for
// those slopes (exact offsets, outward rounding), and only kept when better.
std::vector<double> tuned_slopes(const RowMat& C, int64_t r, const LayerData& D0, const std::vector<detail::SlopeFamily>& fam,
                                 const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, int iterations) {
    const int64_t n1 = C.cols(), n0 = D0.W.cols();
    std::vector<double> s(n1), best(n1), step(n1);
    for (int64_t j = 0; j < n1; ++j) {
        s[j] = C(r, j) >= 0 ? D0.lam_hi[j] : D0.lam_lo[j];
        step[j] = 0.25 * fam[j].max_slope();
    }
    best = s;
    double best_val = kInf;
    DVec v(n1), x(n0);
    for (int t = 0; t <= iterations; ++t) {
        for (int64_t j = 0; j < n1; ++j) v[j] = C(r, j) * s[j];
        const DVec coef = D0.W.transpose() * v;
        for (int64_t i = 0; i < n0; ++i) x[i] = double(coef[i] >= 0 ? hi[i] : lo[i]);
        const DVec a = D0.W * x + D0.bias;
        double val = coef.dot(x);
        std::vector<double> touch(n1);
        for (int64_t j = 0; j < n1; ++j) {
            if (C(r, j) == 0) continue;
            double lower, upper, a_lower, a_upper;
            fam[j].estimate(s[j], lower, upper, a_lower, a_upper);
            const bool pos = C(r, j) >= 0;
            val += C(r, j) * (s[j] * D0.bias[j] + (pos ? upper : lower));
            touch[j] = pos ? a_upper : a_lower;
        }
        if (val < best_val) {
            best_val = val;
            best = s;
        }
        if (t == iterations) break;
        for (int64_t j = 0; j < n1; ++j) {
            if (C(r, j) == 0 || fam[j].constant()) continue;
            const double g = C(r, j) * (a[j] - touch[j]);
            if (g != 0) s[j] = std::clamp(s[j] - (g > 0 ? step[j] : -step[j]), 0.0, fam[j].max_slope());
            step[j] *= 0.85;
        }
    }
    return best;
}

// The sound upper bound of row r of a level-1 form with the given slopes for layer 0.
double bound_with_slopes(const LinearForm& f, int64_t r, const LayerData& D0, const std::vector<detail::SlopeFamily>& fam,
                         const std::vector<double>& s, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                         RowMat* input_coef) {
    DVec lam_lo = D0.lam_lo, mu_lo = D0.mu_lo, lam_hi = D0.lam_hi, mu_hi = D0.mu_hi;
    for (size_t j = 0; j < s.size(); ++j) {
        if (fam[j].constant()) continue;  // slope 0, already exact
        double lower, upper;
        fam[j].offsets(s[j], lower, upper);
        if (f.C(r, j) >= 0) { lam_hi[j] = s[j]; mu_hi[j] = upper; }
        else { lam_lo[j] = s[j]; mu_lo[j] = lower; }
    }
    LinearForm g;
    g.C = f.C.row(r);
    g.c = f.c.segment(r, 1);
    g.e = f.e.segment(r, 1);
    substitute(g, D0, Relaxations{lam_lo, mu_lo, lam_hi, mu_hi});
    if (input_coef) *input_coef = g.C;
    return concretize(g, lo, hi)[0];
}

// One step of exact interval propagation from the integer bounds of a layer's inputs.
void interval_step(const IntLayer& L, const std::vector<int64_t>& xlo, const std::vector<int64_t>& xhi, std::vector<i128>& alo,
                   std::vector<i128>& ahi) {
    const int64_t m = L.out_size(), n = L.in_size();
    alo.assign(m, 0);
    ahi.assign(m, 0);
    for (int64_t i = 0; i < m; ++i) {
        i128 a = L.b[i], b = L.b[i];
        for (int64_t j = 0; j < n; ++j) {
            const i128 w = L.W(i, j);
            const i128 x0 = i128(xlo[j]) - L.in_zero, x1 = i128(xhi[j]) - L.in_zero;
            if (w > 0) { a += w * x0; b += w * x1; }
            else if (w < 0) { a += w * x1; b += w * x0; }
        }
        alo[i] = a;
        ahi[i] = b;
    }
}

// Output bounds of a layer from exact accumulator bounds.
void output_bounds(const IntLayer& L, i128 alo, i128 ahi, int64_t& olo, int64_t& ohi) {
    const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
    const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
    if (L.overflow == Overflow::Wrap && (alo < amin || ahi > amax)) {
        olo = neuron_output(L, amin);  // any wrapped accumulator lies in [amin, amax]
        ohi = neuron_output(L, amax);
    } else {
        olo = neuron_output(L, alo);  // monotone
        ohi = neuron_output(L, ahi);
    }
}

bool box_exact(const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    for (size_t j = 0; j < lo.size(); ++j)
        if (!exact_double(lo[j]) || !exact_double(hi[j])) return false;
    return true;
}

}  // namespace

SymbolicBounds symbolic_bounds(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                               const Budget* budget) {
    SymbolicBounds sb;
    sb.net = &net;
    sb.lo = lo;
    sb.hi = hi;
    sb.bounds = interval_bounds(net, lo, hi);  // also checks the box's size
    const IntBounds interval = sb.bounds;
    for (size_t j = 0; j < lo.size(); ++j)
        if (lo[j] > hi[j]) { sb.symbolic = false; return sb; }  // empty box: nothing to bound
    auto owned = std::make_shared<SymbolicData>();
    std::vector<LayerData>& data = owned->layers;
    data.resize(net.layers.size());
    bool ok = box_exact(lo, hi);
    for (size_t k = 0; ok && k < net.layers.size(); ++k) ok = layer_to_double(net.layers[k], data[k]);
    if (!ok) { sb.symbolic = false; return sb; }

    IntBounds& B = sb.bounds;
    sb.relax.resize(net.layers.size());
    for (size_t k = 0; k < net.layers.size(); ++k) {
        if (budget && budget->expired()) {
            sb.bounds = interval;
            sb.relax.clear();
            sb.symbolic = false;
            return sb;
        }
        const IntLayer& L = net.layers[k];
        const int64_t m = L.out_size();
        const auto& xlo = k == 0 ? lo : B.out_lo[k - 1];
        const auto& xhi = k == 0 ? hi : B.out_hi[k - 1];
        set_magnitudes(L, data[k], xlo, xhi);
        // Exact intervals from the (already tightened) inputs; for layer 0 they are exact.
        std::vector<i128> alo, ahi;
        interval_step(L, xlo, xhi, alo, ahi);
        if (k > 0) {
            LinearForm f;  // rows: a_i, then -a_i
            f.C.resize(2 * m, L.in_size());
            f.C.topRows(m) = data[k].W;
            f.C.bottomRows(m) = -data[k].W;
            f.c.resize(2 * m);
            f.c.head(m) = data[k].bias;
            f.c.tail(m) = -data[k].bias;
            f.e = DVec::Zero(2 * m);
            const DVec ub = upper_bounds(std::move(f), k, data, lo, hi);
            for (int64_t i = 0; i < m; ++i) {
                ahi[i] = std::min(ahi[i], int_upper(ub[i]));
                alo[i] = std::max(alo[i], int_lower(-ub[m + i]));
            }
        }
        for (int64_t i = 0; i < m; ++i) {
            B.acc_lo[k][i] = std::max(B.acc_lo[k][i], alo[i]);
            B.acc_hi[k][i] = std::min(B.acc_hi[k][i], ahi[i]);
            // Both sides are sound for the nonempty box, so they must meet.
            if (B.acc_lo[k][i] > B.acc_hi[k][i]) throw std::logic_error("symbolic_bounds: crossed accumulator bounds");
            output_bounds(L, B.acc_lo[k][i], B.acc_hi[k][i], B.out_lo[k][i], B.out_hi[k][i]);
        }
        sb.relax[k].resize(m);
        LayerData& D = data[k];
        D.lam_lo.resize(m); D.mu_lo.resize(m); D.lam_hi.resize(m); D.mu_hi.resize(m);
        for (int64_t i = 0; i < m; ++i) {
            const NeuronRelaxation r = relax_neuron(L, B.acc_lo[k][i], B.acc_hi[k][i]);
            sb.relax[k][i] = r;
            D.lam_lo[i] = r.lam_lo; D.mu_lo[i] = r.mu_lo;
            D.lam_hi[i] = r.lam_hi; D.mu_hi[i] = r.mu_hi;
        }
    }
    sb.data = std::move(owned);
    return sb;
}

std::vector<ObjectiveBound> objective_lower_bounds(const SymbolicBounds& sb, const std::vector<LinearObjective>& objectives,
                                                  int optimize) {
    const IntNetwork& net = *sb.net;
    const size_t L = net.layers.size();
    const int64_t nout = net.output_size();
    std::vector<ObjectiveBound> res(objectives.size());
    bool all_exact = sb.symbolic && sb.data;
    for (size_t r = 0; r < objectives.size(); ++r) {
        i128 low = 0;  // exact interval bound over the output box
        for (const auto& [i, c] : objectives[r]) {
            if (i < 0 || i >= nout) throw InputError("property", "output index out of range");
            const i128 a = i128(c) * sb.bounds.out_lo[L - 1][i], b = i128(c) * sb.bounds.out_hi[L - 1][i];
            low += std::min(a, b);
            all_exact = all_exact && exact_double(c);
        }
        res[r].lower = low;
    }
    if (!all_exact || objectives.empty()) return res;

    const std::vector<LayerData>& data = sb.data->layers;
    // A repeated output index adds coefficients: exact while the sum of |c| stays <= 2^53.
    for (const LinearObjective& obj : objectives) {
        i128 total = 0;
        for (const auto& [i, c] : obj) total += c < 0 ? -i128(c) : i128(c);
        if (!exact_double(total)) return res;
    }
    LinearForm f;  // rows: -objective, whose upper bound is minus a lower bound of the objective
    f.C = RowMat::Zero(objectives.size(), nout);
    for (size_t r = 0; r < objectives.size(); ++r)
        for (const auto& [i, c] : objectives[r]) f.C(r, i) -= double(c);
    f.c = DVec::Zero(objectives.size());
    f.e = DVec::Zero(objectives.size());
    for (size_t k = L; k-- > 1;) substitute(f, data[k]);  // down to level 1
    LinearForm last = f;
    substitute(last, data[0]);
    RowMat coef = last.C;
    DVec ub = concretize(last, sb.lo, sb.hi);
    if (optimize > 0) {
        std::vector<detail::SlopeFamily> fam;
        for (int64_t j = 0; j < net.layers[0].out_size(); ++j)
            fam.emplace_back(net.layers[0], sb.bounds.acc_lo[0][j], sb.bounds.acc_hi[0][j]);
        for (size_t r = 0; r < objectives.size(); ++r) {
            const std::vector<double> slopes = tuned_slopes(f.C, int64_t(r), data[0], fam, sb.lo, sb.hi, optimize);
            RowMat row;
            const double u = bound_with_slopes(f, int64_t(r), data[0], fam, slopes, sb.lo, sb.hi, &row);
            if (u < ub[r]) {
                ub[r] = u;
                coef.row(r) = row.row(0);
            }
        }
    }
    for (size_t r = 0; r < objectives.size(); ++r) {
        res[r].lower = std::max(res[r].lower, int_lower(-ub[r]));
        res[r].input_coef.resize(coef.cols());
        res[r].argmin.resize(coef.cols());
        for (int64_t j = 0; j < coef.cols(); ++j) {
            const double cj = -coef(r, j);  // the lower bound is sum_j cj x_j + const
            res[r].input_coef[j] = cj;
            res[r].argmin[j] = cj > 0 ? sb.lo[j] : cj < 0 ? sb.hi[j] : sb.lo[j] + (sb.hi[j] - sb.lo[j]) / 2;
        }
    }
    return res;
}

ObjectiveBound objective_lower_bound(const SymbolicBounds& sb, const LinearObjective& objective, int optimize) {
    return objective_lower_bounds(sb, {objective}, optimize).front();
}

bool infeasible(const SymbolicBounds& sb, const IntConstraint& c) {
    return objective_lower_bound(sb, c.terms).lower > c.rhs;
}

}  // namespace qcert
