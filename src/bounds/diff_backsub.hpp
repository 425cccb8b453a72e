// Back-substitution for the differential bounds (DeepPoly style, over f, g and g - f at
// once): the bound of a pre-activation of layer k is expressed through the recorded
// relaxations of every earlier layer down to the input box, which is much tighter than
// the forward linear forms on deep networks. Floating-point errors of every matrix
// product and substitution are bounded from the magnitudes of the variables (the
// concrete bounds already known) and added to the result.
#pragma once

#include "bounds/linear_forms.hpp"
#include "qcert/errbound.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace qcert::diff {

// The input of a network: x_j = a_j u_j + c_j + e_j exactly, |e_j| <= err_j.
struct DiagInput {
    Vec a, c, err;
};

// What back-substitution needs of one layer (all relations hold in exact arithmetic):
//   xf <= f_su zf + f_tu,  xf >= f_sl zf + f_tl          (zf = Wf xf_prev + bf)
//   xg <= g_su zg + g_tu,  xg >= g_sl zg + g_tl          (zg = Wg xg_prev + bg + e, e in [nlo, nhi])
//   xd <= d_su zd + d_tu + d_wu (xg - xf),  xd >= d_sl zd + d_tl + d_wl (xg - xf)
//                                                        (zd = Wg xd_prev + dW xf_prev + db + e)
// where d_w is 0 or 1 (1: xd is replaced by the identity xd = xg - xf, and d_s = d_t = 0).
struct LayerRelax {
    Vec f_su, f_tu, f_sl, f_tl, g_su, g_tu, g_sl, g_tl, d_su, d_tu, d_wu, d_sl, d_tl, d_wl;
    Vec zf_mag, zg_mag, zd_mag;  // bounds on |z| (pre-activations, with noise)
    Vec xf_mag, xg_mag, xd_mag;  // bounds on |x| after the layer
    const LayerConstants* consts = nullptr;  // the pair's constants of this layer (the differential mode)
    // The neurons whose lines have a nonzero slope (f's, g's, the difference's): a relaxation step
    // leaves the others' coefficients zero, and the next product skips them (live_neurons).
    std::vector<int32_t> f_live, g_live, d_live;
    // Per neuron, how far apart each relaxation's two lines get over its range (the largest gap
    // between upper and lower line; 0 where the relaxation is exact): the split guide's weights.
    Vec f_slack, g_slack, d_slack;
};

// The largest of (su z + tu) - (sl z + tl) over z in [lo, hi], per neuron (not rounded: a guide).
Vec band_width(const Vec& su, const Vec& tu, const Vec& sl, const Vec& tl, const Vec& lo, const Vec& hi);

// What each neuron's relaxations cost the objectives of a back-substitution: per layer j below
// the objectives' layer, per objective row and neuron, |coefficient| times the relaxation's slack
// (LayerRelax::*_slack) for f's, g's and the difference's relaxation. A guide for phase
// splitting (BaBSR-style: split where the relaxation costs the bound most); no soundness role.
struct RelaxScores {
    std::vector<Mat> f, g, d;
};

// The indices i with su[i] != 0 or sl[i] != 0.
std::vector<int32_t> live_neurons(const Vec& su, const Vec& sl);

enum class Quantity { F, G, D };  // which pre-activation: f's, g's, or their difference

struct BackSubstitution {
    const ErrPair& p;
    const linear::Box& B;
    const DiagInput &f_in, &g_in, &d_in;
    const std::vector<LayerRelax>& relax;  // layers 0 .. k-1 at least

    // Sound upper bounds of z_i, then of -z_i, for the neurons i in `rows` of layer k's
    // pre-activation `which` (zf, zg or zd, the last two with their noise): 2 |rows| values.
    // With coef_out: the final coefficients over the input u, one row per objective.
    // With scores: what each earlier neuron's relaxations cost them (RelaxScores).
    Vec upper(size_t k, Quantity which, const std::vector<int64_t>& rows, Mat* coef_out = nullptr,
              RelaxScores* scores = nullptr) const;

    // What the affine step through layer j weighs each coefficient by in the error terms (they
    // depend on the layer and on layer j-1's magnitudes only: computed once per layer, on first use).
    struct StepWeights {
        Vec wf, wg, wd, wrep;  // |Wf| mf + |bf|, |Wg| mg + |bg| + noise, |dW| mf + |Wg| md + |db| + noise, dW_err mf + db_err
        bool any_rep = false;  // wrep has a nonzero entry
    };
    const StepWeights& weights(size_t j) const;
    mutable std::vector<std::optional<StepWeights>> weights_cache = {};
};

// The range of c_g(z) - c_f(z) over z in [l, u] (the two clamps of a layer; piecewise linear,
// extremes at breakpoints), rounded outward.
std::pair<double, double> clamp_gap(double l, double u, const PairLayer& Lf, const PairLayer& Lg);

// Tightens the concrete bounds of the chosen neurons (`rows`, ascending) of one of layer k's
// pre-activations (`which`: zf, zg or zd) with back-substitution; the other neurons keep
// theirs. With coef_out: the final coefficients over u, 2 n rows (upper bounds of z, then
// of -z; the rows of neurons not chosen are zero).
// With scores: BackSubstitution::upper's, rows in the objectives' order (rows, then their negations).
void tighten(const BackSubstitution& bs, size_t k, Quantity which, const std::vector<int64_t>& rows, Vec& lo, Vec& hi,
             Mat* coef_out = nullptr, RelaxScores* scores = nullptr);

}  // namespace qcert::diff
