// qcert synth: certified per-layer quantization strategy synthesis (after Quadapter, FM 2024).
//
//   std::vector<qcert::BoxProperty> props = qcert::robust_properties(data, samples, radii);
//   qcert::SynthOptions o; o.min_bits = 2; o.max_bits = 16; o.timeout_s = 10;
//   qcert::SynthResult r = qcert::synthesize(float_net, props, o);
//   // r.bits: per layer; the quadapter:r.bits twin keeps every property in r.required
//   // (proved by a sound method, r.checks says which).
//
// The quantized network of a bit vector (B1..Bn) is the `quadapter:B1,...,Bn` twin:
// weights and biases in per-layer signed fixed point, activations real. A property is a
// box of inputs (region units, e.g. pixels 0..255; the network sees u / divisor) and an
// unsafe set of outputs: local robustness, backdoor-freeness, or a VNN-LIB property.
// See docs/SYNTH.md.
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/io.hpp"
#include "qcert/property.hpp"
#include "qcert/quant.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace qcert {

enum class PropertyKind { Robust, Vnnlib, Backdoor };
const char* property_kind_name(PropertyKind k);  // "robust", "vnnlib", "backdoor"

// A property of a real-valued network: no input u of the box [lo, hi] (region units; the
// network sees u / divisor) has outputs in `unsafe` (VNN-LIB style: an OR of ANDs of
// linear constraints over the outputs). Robustness and backdoor-freeness are argmax
// properties (a final softmax may be dropped); a VNN-LIB property is over the outputs as
// they are. An empty `unsafe` on a Robust property means "misclassified" for `label`
// (OutputProperty::misclassified, argmax with ties to the lowest index).
struct BoxProperty {
    PropertyKind kind = PropertyKind::Robust;
    std::string name;      // the key when set (VNN-LIB: the file stem, and the box index)
    int64_t sample = -1;   // index in the data (Robust, Backdoor)
    double radius = 0;     // L-inf radius in region units (Robust, Backdoor)
    int64_t label = 0;     // Robust: the class every input must keep; Backdoor: the target class
    double divisor = 1.0;  // the network sees u / divisor
    std::vector<double> lo, hi;  // the box, region units
    OutputProperty unsafe;       // see above
    std::string key() const;     // "s12_r3", "bd_s12_r3", or `name`
    // The unsafe set over a network with `outputs` outputs.
    OutputProperty unsafe_set(int64_t outputs) const;
    bool argmax_property() const { return kind != PropertyKind::Vnnlib; }
};
using RobustProperty = BoxProperty;  // the name before VNN-LIB and backdoor properties existed

// L-inf boxes of `radius` (data units) around the samples, clipped to the data range [0, 255]
// for integral image data (else unclipped), labelled with the data's labels.
std::vector<BoxProperty> robust_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                           const std::vector<double>& radii);

// A backdoor trigger: pixels (row, column) of the image set to a value (data units).
struct TriggerPixel {
    int64_t row = 0, col = 0;
    double value = 0;
};
// Parses "r,c=v;r,c=v;..." (rows and columns from 0); throws InputError naming --trigger.
std::vector<TriggerPixel> parse_trigger(const std::string& spec);

// Backdoor-freeness over the data region: for every sample whose label is not `target` and
// every radius, the L-inf box of `radius` around the sample (clipped as above) with the
// trigger pixels fixed to their values (in every channel); unsafe: classified as `target`.
// Throws InputError for a trigger pixel outside the image, a value outside the data range,
// a target that is no class.
std::vector<BoxProperty> backdoor_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                             const std::vector<double>& radii, const std::vector<TriggerPixel>& trigger,
                                             int64_t target, int64_t classes);

// One property per input box of a VNN-LIB file (inputs in the network's units, divisor 1).
std::vector<BoxProperty> vnnlib_properties(const std::string& path, const VnnlibProperty& p);

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
    // Proved / Unknown: at the root, the smallest over the unsafe disjuncts of the largest
    // lower bound of (c.y - rhs) over the disjunct's constraints (robustness: y_label - y_j).
    double worst_margin = 0;
    double time_s = 0;
};

// Decides whether no input of p's box reaches p's unsafe set on `net` (real-valued,
// piecewise linear). Proved only from outward-rounded linear bounds; Refuted only with an
// input that the outward-rounded interval evaluation puts certainly in the unsafe set.
PropertyCheck check_property(const BlockNet& net, const BoxProperty& p, double timeout_s);
// The same with p.divisor replaced by `divisor` (the interface before BoxProperty).
PropertyCheck check_robust(const BlockNet& net, const BoxProperty& p, double divisor, double timeout_s);

// True when the outputs of `net` at u (seen as u / p.divisor), enclosed in outward-rounded
// interval arithmetic, certainly lie in p's unsafe set.
bool certainly_unsafe(const BlockNet& net, const BoxProperty& p, const std::vector<double>& u);

// The margins y_label - y_j (j != label) of `net` at u, enclosed in outward-rounded interval
// arithmetic; `violated` when one of them is certainly below 0.
bool certainly_misclassified(const BlockNet& net, const std::vector<double>& u, double divisor, int64_t label);

// The quadapter:B1,...,Bn twin of `net` (real-valued, parameters quantized).
BlockNet quadapter_twin(const BlockNet& net, const std::vector<int>& bits);
std::string bits_str(const std::vector<int>& bits);  // "6,3"

// What the search minimises: the sum of the per-layer bits, or the memory of the
// parameters (bits x weights and biases of the layer, summed).
enum class SynthCost { Bits, Memory };
const char* synth_cost_name(SynthCost c);
// The cost of `bits` on `net` under `c`; with `act_bits` (hidden layers) their bits are added
// (memory: bits x the layer's outputs).
int64_t synth_cost(const BlockNet& net, const std::vector<int>& bits, SynthCost c, const std::vector<int>& act_bits = {});
// The scheme spec "quadapter:6,3" or, with activation formats, "quadapter:6,3,a=u8.5".
std::string quadapter_spec(const std::vector<int>& bits, const std::vector<FixedFormat>& act_formats = {});

struct SynthOptions {
    int min_bits = 2, max_bits = 16;
    SynthCost cost = SynthCost::Bits;
    double timeout_s = 10;     // per property and candidate
    std::string log_path;      // JSON lines, resumable ("" = none)
    unsigned threads = 0;      // 0: all cores
    bool progress = true;      // a progress line on a terminal
    // Non-empty: no search; the kept properties are checked at these bits (one per layer),
    // e.g. to check a published strategy. `required` is then the number of kept properties.
    std::vector<int> fixed_bits;
    // How the bits are chosen (docs/SYNTH.md): "search" (the bit-width search with the checker as
    // oracle), "preimage" (Quadapter's backward preimage boxes, forward bit choice; every kind of
    // property, through its unsafe set), "best" (both; the answer that proves more kept
    // properties wins, then the one with the lower cost under `cost`).
    std::string method = "best";
    // Fixed-point hidden activations (docs/SYNTH.md): each hidden layer's output rounded to the
    // nearest (ties to even) in an unsigned format uA.(A - I) (signed when the layer can go
    // negative), I from the float network's largest output of the layer over the properties'
    // boxes, and saturated. `activations`: the bits A per hidden layer are searched too, in
    // [min_bits, max_bits]. `act_bits` non-empty (one width for every hidden layer, or one per
    // hidden layer): these widths, not searched (implies activations).
    bool activations = false;
    std::vector<int> act_bits;
    bool quantize_activations() const { return activations || !act_bits.empty(); }
};

// One method's answer, certified by check_property on every kept property.
struct MethodAnswer {
    std::string method;          // "search" or "preimage"
    std::vector<int> bits;
    std::vector<int> act_bits;   // per hidden layer (empty: real activations)
    int64_t proved = 0;          // kept properties proved at `bits`
    double time_s = 0;           // choosing the bits (the certification not included)
    std::string note;            // how the method got there (preimage: per layer what bound the bits)
    int64_t cost = 0;            // synth_cost(bits) under the options' cost
};

struct LeftOut {
    RobustProperty property;
    std::string reason;
};

struct SynthResult {
    std::vector<int> bits;                 // per layer
    std::vector<int> act_bits;             // per hidden layer, with quantized activations (else empty)
    std::vector<FixedFormat> act_formats;  // their formats
    std::vector<RobustProperty> kept;      // proved on the float network
    std::vector<LeftOut> left_out;         // not proved on the float network
    std::vector<PropertyCheck> checks;     // per kept property: the check at `bits`
    int64_t proved = 0;                    // kept properties proved at `bits`
    int64_t required = 0;                  // kept properties proved at max-bits (the search keeps them all)
    int64_t candidates = 0;                // bit vectors tried
    int64_t cost = 0;                      // synth_cost(bits) under the options' cost
    double time_s = 0;
    std::string method;                    // the method whose answer `bits` is ("bits" for fixed bits)
    std::vector<MethodAnswer> answers;     // every method run, with its certified count
    Scheme scheme;                         // quadapter:bits (with activations: quadapter:bits,a=formats)
    BlockNet quantized;                    // the twin at `bits` (its blocks round their outputs with activations)
};

// Throws InputError on an empty property set, min_bits > max_bits, bits outside 2..32,
// an unknown method, a property whose box does not fit the network.
SynthResult synthesize(const BlockNet& net, const std::vector<BoxProperty>& props, const SynthOptions& o);
// The same with every property's divisor replaced by `divisor`.
SynthResult synthesize(const BlockNet& net, std::vector<BoxProperty> props, double divisor, const SynthOptions& o);

}  // namespace qcert
