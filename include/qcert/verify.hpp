// Deciding properties of a quantized network in its exact integer semantics.
//
//   qcert::Subject s = qcert::load_subject("net.h5", "aaai2021:6");
//   qcert::Dataset d = qcert::read_idx(images, labels);
//   qcert::RobustnessResult r = qcert::verify_robustness(s, d, 42, 2, {});
//   // r.outcome.verdict: Holds, Violated (r.outcome.counterexample), Unknown, or Misclassified
#pragma once

#include "qcert/method.hpp"
#include "qcert/model.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qcert {

struct VerifyOptions {
    // Methods in the order they are tried; empty: the default portfolio
    // (interval, symbolic, attack, then milp-relax and bab side by side).
    std::vector<std::string> methods;
    double timeout_s = 60.0;  // per query
    unsigned threads = 0;     // for the complete methods of one query; 0: all cores
};

// The portfolio: cheap sound methods first, then the counterexample search, then the
// complete methods, in parallel when there are threads to spare; the first definitive
// answer wins and the others are cancelled. Every Violated is re-checked here again.
Outcome decide(const IntQuery& q, const VerifyOptions& opt);

// The integer network of a subject, or InputError when it has none.
const IntNetwork& integer_network(const Subject& s);

struct RobustnessResult {
    int64_t sample = 0, eps = 0;
    int64_t label = 0, predicted = 0;
    Outcome outcome;
};

// Local robustness of data sample `sample` in the L-inf ball of radius `eps` (integer
// input units, clipped to the input range). A sample the quantized network already
// misclassifies is reported as Misclassified, not verified.
RobustnessResult verify_robustness(const Subject& s, const Dataset& d, int64_t sample, int64_t eps, const VerifyOptions& opt);

struct RadiusResult {
    int64_t sample = 0, label = 0;
    int64_t radius = -1;          // the largest eps proved to hold (-1: misclassified)
    std::optional<int64_t> violated_at;  // the smallest eps found violated
    std::vector<int64_t> counterexample; // at violated_at
    bool exact = false;           // radius + 1 == violated_at (or the whole input range holds)
    double time_s = 0.0;
    std::string reason;           // why it is not exact
};

// The maximum robust radius: the largest eps whose ball holds, by doubling then bisection
// (balls are nested, so robustness is monotone in eps). `max_eps` caps the search.
RadiusResult max_robust_radius(const Subject& s, const Dataset& d, int64_t sample, int64_t max_eps, const VerifyOptions& opt);

// An integer input box from real bounds: each real x maps to the integer input the
// network would use (raw inputs must be integers, others are quantized), monotonically.
void integer_box(const IntNetwork& net, const std::vector<double>& lo, const std::vector<double>& hi,
                 std::vector<int64_t>& qlo, std::vector<int64_t>& qhi);

// Individual fairness: two inputs that agree outside the `sensitive` coordinates, both in
// the box, have every output at most `delta` apart (real output units). Decided as a
// query on the twin network that runs both copies side by side.
Outcome verify_fairness(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                        const std::vector<int64_t>& sensitive, double delta, const VerifyOptions& opt);

// The twin network: inputs (x, s') where s' are the second copy's sensitive coordinates;
// outputs (y, y'). Exposed for tests.
IntNetwork twin_network(const IntNetwork& net, const std::vector<int64_t>& sensitive);

}  // namespace qcert
