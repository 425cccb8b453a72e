// Worst-case error bounds between a network f and its twin g (quantized, pruned,
// or a second network with the same inputs and outputs), over a box of inputs.
//
//   qcert::ErrPair p = qcert::make_err_pair(f, twin);        // twin: a BlockNet or an IntNetwork
//   qcert::ErrBoundOptions o; o.eps = 0.05; o.timeout_s = 60;
//   qcert::ErrBoundResult r = qcert::error_bound(p, lo, hi, {0}, o);
//   // r.upper >= |g(x)_0 - f(x)_0| for every x in [lo, hi] (proved); r.lower = |g - f| at r.witness.
//
// The region variable u: f sees u / f_input_divisor (u itself when the divisor is 1,
// pixels / 255 for MNIST data); a real twin sees the same; an integer twin whose
// input is raw data integers (qebverif, aaai2021) takes u as its input integers, and
// the region is then a box of integers. See docs/BOUND.md.
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/interval.hpp"
#include "qcert/quant.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcert {

// A layer of either network in the real form the differential bounds use:
//   x' = clamp(W x + b + e, lo, hi),  e in [noise_lo, noise_hi] (rounding of an integer layer).
// W and b hold the exact real coefficients.
struct PairLayer {
    Mat W;
    Vec b;
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    double noise_lo = 0, noise_hi = 0;
    // An integer layer with noise: x' = clamp(rnd(z / step) * step) exactly, rnd the layer's rounding
    // (step = 0 for real layers). Lets a neuron whose z-range rounds to one value be a constant.
    double step = 0;
    Rounding rounding = Rounding::HalfEven;
};

// A matrix's positive and negative parts and its entrywise magnitude (what a linear bound
// through it takes).
struct SignSplit {
    Mat pos, neg, abs;
};
SignSplit sign_split(const Mat& W);

// What the differential bound derives from one layer of two networks of the same shape, and
// needs at every box: Wg - Wf and bg - bf rounded to double with the exact size of each entry's
// rounding error, and the sign splits of Wf, Wg and Wg - Wf.
struct LayerConstants {
    Mat dW, dW_err;
    Vec db, db_err;
    SignSplit f, g, d;
};
LayerConstants layer_constants(const PairLayer& f, const PairLayer& g);

// Both networks, in that form, over the region variable u.
struct ErrPair {
    BlockNet f;                         // the reference network (float semantics)
    std::optional<BlockNet> g_real;     // a real-valued twin (fp16, pruned, quadapter, --against)
    std::optional<IntNetwork> g_int;    // an integer twin, raw integer inputs
    double f_input_divisor = 1.0;       // f (and a real twin) see u / divisor
    std::vector<PairLayer> f_layers, g_layers;
    double g_input_scale = 1.0, g_input_shift = 0.0;  // an integer twin's layer 0 sees u * scale + shift
    // same_shape(): layer_constants of every layer, computed once by make_err_pair (the
    // differential bound computes them itself when they are missing).
    std::vector<LayerConstants> layer_constants;
    bool integer_region() const { return g_int.has_value(); }
    // Same number of layers and of neurons per layer: the differential propagation applies.
    bool same_shape() const;
    int64_t input_size() const { return f.input_size(); }
    int64_t output_size() const { return f.output_size(); }
};

// Builds the pair; throws InputError when the networks differ in inputs or outputs, a
// layer is not piecewise linear (None / ReLU with clamps), or an integer twin has
// scales that are not powers of two or non-raw inputs.
ErrPair make_err_pair(const BlockNet& f, const BlockNet& g_real, double f_input_divisor = 1.0);
ErrPair make_err_pair(const BlockNet& f, const IntNetwork& g_int, double f_input_divisor);

// g(u) - f(u) for every output, re-evaluated: f in double, g in its own semantics
// (exact integer inference for an integer twin).
Vec exact_difference(const ErrPair& p, const std::vector<double>& u);
// A sound enclosure of g(u) - f(u) per output (outward-rounded interval arithmetic through
// both networks in real arithmetic; an integer twin exactly): what `lower` is taken from.
std::vector<Interval> difference_enclosure(const ErrPair& p, const std::vector<double>& u);

// ---- one sound bound over a box (src/bounds/diff_bounds.cpp) ----

enum class DiffMode { Differential, Naive };

// Per layer and neuron: sound bounds on the pre-activations of f and g (with g's rounding
// noise), and in the differential mode on their difference zg - zf (else empty).
struct PreActivationRanges {
    std::vector<Vec> zf_lo, zf_hi, zg_lo, zg_hi, zd_lo, zd_hi;
};

// Per hidden layer and neuron, what splitting its pre-activation in f (in g) at a breakpoint
// would take off an output's bound, estimated as |coefficient| times relaxation slack from the
// output's back-substitution (the phase splitting's guide; see diff_backsub.hpp RelaxScores).
struct PhaseScores {
    std::vector<Vec> f, g;
};

struct DiffBound : PreActivationRanges {
    std::vector<double> lo, hi;      // per output: lo <= g - f <= hi on the whole box
    std::vector<double> f_lo, f_hi;  // per output: bounds on f alone
    // Per output, the box vertex that maximises the upper linear bound of g - f and
    // the one that minimises the lower one (candidate inputs for the search).
    std::vector<std::vector<double>> argmax, argmin;
    // Per output and input: |coefficient| * width of the upper and lower linear bounds
    // of g - f (which input the bound is most sensitive to).
    std::vector<std::vector<double>> sensitivity_hi, sensitivity_lo;
    // Per layer and neuron, in the differential mode: bounds on the difference of the layer's
    // outputs xg - xf (else empty).
    std::vector<Vec> xd_lo, xd_hi;
    // Per output (of the chosen ones; the others empty), in the differential mode with
    // back-substitution: the phase splitting's guide for its upper (hi) and lower (lo) bound.
    std::vector<PhaseScores> phase_hi, phase_lo;
    // max over the given outputs of max(hi, -lo): a sound bound on |g - f|.
    double abs_upper(const std::vector<int64_t>& outputs) const;
};

// Differential: linear bounds of f, g and g - f propagated together (NeuroDiff style).
// Naive: linear bounds of f and of g propagated separately, subtracted at the end.
// `outputs` (empty: all): the outputs whose difference must be tight; the others keep their
// (sound, looser) forward bounds, and back-substitution is spent only where it can change a
// relaxation (neurons across a breakpoint of their clamp) or on the chosen outputs.
// `within`: ranges proved on a box that contains this one (the parent of a split, with the
// same mode and outputs); they are intersected with this box's own, so a neuron the parent
// found on one piece of its clamp needs no back-substitution here.
DiffBound diff_bound(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                     DiffMode mode = DiffMode::Differential, const std::vector<int64_t>& outputs = {},
                     const PreActivationRanges* within = nullptr);

// ---- the analysis (src/analysis/errbound*.cpp) ----

enum class BoundVerdict { Holds, Violated, Unknown, None };  // None: no --eps given
const char* bound_verdict_name(BoundVerdict v);

struct ErrBoundOptions {
    std::optional<double> eps;
    // auto | split | diff | naive | milp | sdp. milp: with an integer twin the exact pair MILP
    // (witnesses and the milp_max estimate; CBC's "infeasible" is not taken as a proof,
    // docs/BOUND.md), then split; with a real twin split plus the MILP estimate of the maximum.
    // sdp: the rigorous SDP bound of Li et al. (small FC ReLU networks, real twins). auto: split.
    std::string method = "auto";
    double timeout_s = 60;
    unsigned threads = 0;         // 0: all cores
    double tolerance = 1e-4;      // without eps: stop when upper - lower <= tolerance * max(1, lower)
    uint64_t seed = 1;
    int64_t max_splits = -1;      // < 0: no limit
    // What the branch and bound splits: inputs (the box), neurons (a pre-activation range at a
    // breakpoint of its activation: phase splitting, the box unchanged), or auto: neurons on
    // regions of more than 16 inputs, inputs otherwise.
    std::string split = "auto";
};

struct ErrBoundResult {
    double upper = 0, lower = 0;                       // over the chosen outputs
    std::vector<int64_t> outputs;                      // the chosen outputs
    std::vector<double> upper_per_output, lower_per_output;  // aligned with outputs
    std::vector<double> witness;                       // the input where lower is reached (region units)
    int64_t witness_output = -1;
    BoundVerdict verdict = BoundVerdict::None;
    int64_t splits = 0;
    double time_s = 0;
    std::string method;
    std::string reason;                                // why unknown / why the search stopped early
    // Method milp without eps: CBC's optimum of max |g - f| (real twin: a floating-point estimate;
    // integer twin: max |g - f_h| at CBC's solution, f_h within delta of f; never a proof), and
    // whether CBC proved it optimal for every output and sign.
    std::optional<double> milp_max;
    bool milp_optimal = false;
    // Method sdp: SDPA's optimum of the relaxation, max over outputs and signs (floating point,
    // not a proof), the rigorous bound built from its multipliers (proved, before the min
    // with the differential bound), and whether SDPA reported every SDP solved (pdOPT).
    std::optional<double> sdp_value, sdp_bound;
    bool sdp_optimal = false;
};

// Upper and lower bounds on max over `outputs` of |g(u) - f(u)| for u in [lo, hi].
ErrBoundResult error_bound(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                           const std::vector<int64_t>& outputs, const ErrBoundOptions& o);

}  // namespace qcert
