// Robustness to parameter perturbation (Murthy, Das, Islam 2019), decided to a
// given precision: how far can the confidence of a network's prediction move when
// every weight and bias may take any value of a perturbation set (e.g. every value
// a quantization scheme may round it to), at one input (local) or over an input box
// (global)? And can the predicted class change? Definitions: docs/PARAMS.md.
//
//   qcert::BlockNet net = qcert::to_blocks(qcert::load_model("net.onnx").net);
//   qcert::Perturbation p = qcert::perturbation_from_scheme(net, qcert::parse_scheme("fixed:8", net));
//   qcert::ParamsQuery q;
//   q.input_lo = q.input_hi = {0.2, 0.9};       // local robustness at (0.2, 0.9)
//   qcert::ParamsResult r = qcert::analyse_params(net, p, q);
//   // the maximum confidence change lies in [r.lower, r.upper]; r.witness reaches r.lower
//
// The answer is sound: `upper` comes from outward-rounded interval arithmetic
// (interval.hpp) and `lower` from a concrete parameter set (and input) whose value
// was computed in 256-bit MPFR interval arithmetic.
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/quant.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcert {

// ---- perturbation sets -------------------------------------------------------

// Per block, per weight and bias: a closed range [lo, hi] of values the parameter may
// take. The analysis bounds over `outer` (which contains the set exactly) and draws
// witnesses from `inner` (contained in the set): the two differ by at most one ulp,
// where an endpoint such as w - h/2 is not a double.
struct ParamRange {
    std::vector<Mat> w_lo, w_hi;
    std::vector<Vec> b_lo, b_hi;
};

struct Perturbation {
    std::string name;  // e.g. "scheme fixed:8", "rel 0.01", "abs 0.001"
    ParamRange outer, inner;
    // Parameters whose range is not a single point.
    int64_t free_count() const;
    // True when the block net's parameters all lie in `inner` (a sanity check).
    bool contains(const BlockNet& net) const;
};

// Every value a rounding of the parameter may take under the scheme's weight and
// bias formats: for a format with step h, [w - h/2, w + h/2] for the round-to-nearest
// modes, [w - h, w] for floor, [w, w + h] for ceil, toward zero by the sign of w; both
// ends clipped to the format's range. fp16: half an fp16 ulp of w's binade on each
// side. A parameter kept real is not perturbed. Throws InputError.
Perturbation perturbation_from_scheme(const BlockNet& net, const Scheme& scheme);
// |w' - w| <= r |w| for every parameter (r >= 0).
Perturbation perturbation_relative(const BlockNet& net, double r);
// |w' - w| <= a for every parameter (a >= 0).
Perturbation perturbation_absolute(const BlockNet& net, double a);

// ---- the query ---------------------------------------------------------------

enum class Confidence {
    Auto,     // softmax for two or more outputs, sigmoid for one
    Softmax,  // softmax probability of the predicted class
    Sigmoid,  // one-output networks: sigmoid(y) for class 1, 1 - sigmoid(y) for class 0
    Margin,   // the logit margin y_j - max_{i != j} y_i (one output: y for class 1, -y for class 0)
};
const char* confidence_name(Confidence c);
Confidence parse_confidence(const std::string& s);  // throws InputError

struct ParamsQuery {
    // The input box; lo == hi everywhere is local robustness at that point.
    std::vector<double> input_lo, input_hi;
    double precision = 1e-3;   // stop when upper - lower <= precision
    Confidence confidence = Confidence::Auto;
    double timeout_s = 60;     // for the whole analysis (both questions)
    unsigned threads = 0;      // 0: all cores
    bool decide_class_change = true;
    // Branch on the parameters themselves even where branching on hidden activations
    // applies (two classes or one output; see docs/PARAMS.md). Slower at low bit-widths;
    // the two methods cross-check each other in the tests.
    bool branch_on_parameters = false;
    // Open nodes kept at most (memory guard); the search stops, reporting its gap, beyond.
    int64_t max_open_nodes = 500'000;

    bool local() const { return input_lo == input_hi; }
};

// A concrete point of the perturbation set (and of the input box).
struct ParamsWitness {
    std::vector<double> input;
    BlockNet net;               // the network with the perturbed parameters
    double value = 0;           // the objective there (a sound lower bound on it)
    double nominal_confidence = 0, confidence = 0;  // c(x; theta) and c(x; theta'), in double
    int64_t nominal_class = 0, perturbed_class = 0;
};

struct ParamsResult {
    Confidence confidence = Confidence::Softmax;  // the one used (Auto resolved)
    bool local = true;
    int64_t perturbed_parameters = 0;
    // Local only: the class f predicts at the input and its confidence there.
    int64_t nominal_class = -1;
    double nominal_confidence = 0;

    // max |c(x; theta') - c(x; theta)| lies in [lower, upper].
    double lower = 0, upper = 0;
    bool complete = false;    // upper - lower <= precision
    std::string stop_reason;  // "precision", "timeout", "memory"
    std::optional<ParamsWitness> witness;  // reaches `lower`

    // Can the predicted class change? true (class_witness shows it), false (proved),
    // or nothing (undecided: timeout, or the margin's minimum is too close to 0).
    std::optional<bool> class_can_change;
    std::optional<ParamsWitness> class_witness;

    int64_t nodes = 0;        // branch-and-bound nodes bounded, both questions
    double time_s = 0;
};

// Decides the query. Throws InputError on a query that does not fit the network
// (input size, lo > hi, bad precision, softmax on a one-output net, ...).
ParamsResult analyse_params(const BlockNet& net, const Perturbation& p, const ParamsQuery& q);

// Checks a query against a network; throws InputError (also called by analyse_params).
void check_params_query(const BlockNet& net, const ParamsQuery& q);

// ---- exact cross-check -------------------------------------------------------

enum class SmtAnswer { Yes, No, Unknown };

// For small piecewise-linear networks with two outputs and the margin confidence:
// is there a parameter set in `p.outer` (and an input of the query's box) with
// |m(x; theta') - m(x; theta)| >= t, where m = y_0 - y_1? Decided exactly by Z3 in
// nonlinear real arithmetic (products of parameter and activation variables).
SmtAnswer smt_margin_change_at_least(const BlockNet& net, const Perturbation& p, const ParamsQuery& q, double t,
                                     double timeout_s);

}  // namespace qcert
