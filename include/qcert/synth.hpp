// qcert synth: certified per-layer quantization strategy synthesis (after Quadapter, FM 2024).
//
//   std::vector<qcert::RobustProperty> props = qcert::robust_properties(data, samples, radius);
//   qcert::SynthOptions o; o.min_bits = 2; o.max_bits = 16; o.timeout_s = 10;
//   qcert::SynthResult r = qcert::synthesize(float_net, props, 255.0, o);
//   // r.bits: per layer; the quadapter:r.bits twin keeps every property in r.required
//   // (proved by a sound method, r.checks says which).
//
// The quantized network of a bit vector (B1..Bn) is the `quadapter:B1,...,Bn` twin:
// weights and biases in per-layer signed fixed point, activations real. A property is
// local robustness: every input of a box (region units, e.g. pixels 0..255; the network
// sees u / divisor) keeps the label. See docs/SYNTH.md.
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/io.hpp"
#include "qcert/quant.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace qcert {

struct RobustProperty {
    int64_t sample = -1;   // index in the data
    double radius = 0;     // L-inf radius in region units
    int64_t label = 0;     // the class every input of the box must keep
    std::vector<double> lo, hi;  // the box, region units
    std::string key() const;     // "s12_r3"
};

// L-inf boxes of `radius` (data units) around the samples, clipped to the data range [0, 255]
// for integral image data (else unclipped), labelled with the data's labels.
std::vector<RobustProperty> robust_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                              const std::vector<double>& radii);

enum class CheckVerdict { Proved, Refuted, Unknown };
const char* check_verdict_name(CheckVerdict v);

struct PropertyCheck {
    CheckVerdict verdict = CheckVerdict::Unknown;
    // Proved: "linear" (back-substituted linear bounds over the whole box) or "split" (the
    // same over the leaves of an input-splitting branch and bound). Refuted: "attack".
    std::string method;
    std::string reason;               // why Unknown
    std::vector<double> counterexample;  // Refuted: an input of the box, region units
    int64_t boxes = 0;                // boxes bounded
    double worst_margin = 0;          // Proved / Unknown: smallest lower bound of y_label - y_j at the root
    double time_s = 0;
};

// Decides whether `net` (real-valued, piecewise linear; a final softmax is ignored) keeps
// p.label on the whole box. Proved only from outward-rounded linear bounds; Refuted only
// with an input whose margin is negative in outward-rounded interval arithmetic.
PropertyCheck check_robust(const BlockNet& net, const RobustProperty& p, double divisor, double timeout_s);

// The margins y_label - y_j (j != label) of `net` at u, enclosed in outward-rounded interval
// arithmetic; `violated` when one of them is certainly below 0.
bool certainly_misclassified(const BlockNet& net, const std::vector<double>& u, double divisor, int64_t label);

// The quadapter:B1,...,Bn twin of `net` (real-valued, parameters quantized).
BlockNet quadapter_twin(const BlockNet& net, const std::vector<int>& bits);
std::string bits_str(const std::vector<int>& bits);  // "6,3"

struct SynthOptions {
    int min_bits = 2, max_bits = 16;
    double timeout_s = 10;     // per property and candidate
    std::string log_path;      // JSON lines, resumable ("" = none)
    unsigned threads = 0;      // 0: all cores
    bool progress = true;      // a progress line on a terminal
    // Non-empty: no search; the kept properties are checked at these bits (one per layer),
    // e.g. to check a published strategy. `required` is then the number of kept properties.
    std::vector<int> fixed_bits;
    // How the bits are chosen (docs/SYNTH.md): "search" (the bit-width search with the checker as
    // oracle), "preimage" (Quadapter's backward preimage boxes, forward bit choice), "best" (both;
    // the answer that proves more kept properties wins, then the one with fewer bits in total).
    std::string method = "best";
};

// One method's answer, certified by check_robust on every kept property.
struct MethodAnswer {
    std::string method;          // "search" or "preimage"
    std::vector<int> bits;
    int64_t proved = 0;          // kept properties proved at `bits`
    double time_s = 0;           // choosing the bits (the certification not included)
    std::string note;            // how the method got there (preimage: per layer what bound the bits)
};

struct LeftOut {
    RobustProperty property;
    std::string reason;
};

struct SynthResult {
    std::vector<int> bits;                 // per layer
    std::vector<RobustProperty> kept;      // proved on the float network
    std::vector<LeftOut> left_out;         // not proved on the float network
    std::vector<PropertyCheck> checks;     // per kept property: the check at `bits`
    int64_t proved = 0;                    // kept properties proved at `bits`
    int64_t required = 0;                  // kept properties proved at max-bits (the search keeps them all)
    int64_t candidates = 0;                // bit vectors tried
    double time_s = 0;
    std::string method;                    // the method whose answer `bits` is ("bits" for fixed bits)
    std::vector<MethodAnswer> answers;     // every method run, with its certified count
    Scheme scheme;                         // quadapter:bits
    BlockNet quantized;                    // the twin at `bits`
};

// Throws InputError on an empty property set, min_bits > max_bits, bits outside 2..32, an unknown method.
SynthResult synthesize(const BlockNet& net, const std::vector<RobustProperty>& props, double divisor,
                       const SynthOptions& o);

}  // namespace qcert
