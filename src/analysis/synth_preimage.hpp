// qcert synth --method preimage: Quadapter's backward preimage under-approximation with
// forward bit selection (src/analysis/synth_preimage.cpp, docs/SYNTH.md).
//
// Per property, backwards from the output: under-approximate preimages of every hidden
// layer's output, polytopes (synth_polytope.hpp: the property's rows back-substituted through
// the float layers above, exact at the last hidden layer, else over three widened reachable
// boxes) and a box P_k (every h in P_k is mapped by the float layers after k into the box
// above or the safe set, outward-rounded interval arithmetic). Then forwards, per layer: the
// fewest bits such that, for every property, the quantized prefix (layers 0..k at the bits
// chosen so far) over the property's input box lies in one of its polytopes or in P_k, by
// linear bounds; at the last layer the fewest bits with which the quantized network's linear
// bounds prove the property; then fewer bits while input splitting still shows it (a time
// budget per layer); a layer no property constrains keeps max-bits.
// The answer is a proposal: synthesize() certifies it with check_property.
//
// Properties are general (BoxProperty: a box and an unsafe set over the outputs): the safe
// set at the output is "no unsafe disjunct is met", decided on the rows s_k = c_k . y - rhs_k
// of the property's condition network (synth_margin.hpp); for robustness these rows are the
// label margins y_label - y_j of Quadapter. Each property's own divisor is used.
#pragma once

#include "analysis/synth_polytope.hpp"
#include "qcert/synth.hpp"

#include <string>
#include <vector>

namespace qcert::synth {

// Sound bounds of the outputs of the first k blocks of `net` (after activation and clamp)
// over the property's box (the network sees u / divisor): back-substituted linear bounds,
// outward-rounded.
LayerBox prefix_bounds(const BlockNet& net, size_t k, const RobustProperty& p, double divisor);

// Every h of `in` is mapped by block b into `target` (outward-rounded interval arithmetic;
// for one affine layer over a box this loses only the rounding).
bool block_maps_into(const Block& b, const LayerBox& in, const LayerBox& target);
// Every h of `in` gives y_label - y_j > 0 for every j != label through the last block b.
bool block_keeps_label(const Block& b, int64_t label, const LayerBox& in);
// Every h of `in` is mapped by the last block b outside p's unsafe set (every unsafe disjunct
// has a row proved violated over `in`; outward-rounded interval arithmetic, exact composition
// of an affine block with the rows).
bool block_safe(const Block& b, const BoxProperty& p, const LayerBox& in);
// The property's rows (robustness: the margins) over its box are proved by the linear bounds
// of `net` at the root (no unsafe disjunct reachable).
bool linear_bound_proves(const BlockNet& net, const RobustProperty& p, double divisor);

// One property's backward pass on the float network.
struct PropertyPreimage {
    std::vector<LayerBox> reach;     // per hidden layer: the float network's reachable box
    std::vector<LayerBox> preimage;  // per hidden layer: the preimage box (valid when scale >= 0)
    std::vector<double> scale;       // per hidden layer: the relaxation t of the box; -1: none
    // Per hidden layer: polytope preimages (synth_polytope.hpp) over the reachable box widened
    // by a few relaxations t; the quantized prefix must lie in one of them (or in the box).
    std::vector<std::vector<PreimagePolytope>> polytopes;
    bool linear = false;             // the float network's margins are proved at the root by linear bounds
};

// The box of hidden layer k at relaxation t: [L - t*alpha, U + t*beta] clipped to what the
// layer can output (alpha, beta: distances of the value at the box centre to L and U, at
// least 1e-3), as in Quadapter.
PropertyPreimage compute_preimage(const BlockNet& net, const RobustProperty& p, double divisor);

struct PreimageAnswer {
    std::vector<int> bits;
    // Per layer: how many properties constrained the choice, and how many were dropped there
    // (their inclusion failed even at max-bits: the final check decides them).
    std::vector<int64_t> constrained, dropped;
    // Per layer: a property that failed at one bit fewer than the answer ("" when the answer is min-bits).
    std::vector<std::string> binding;
    // Per layer: how many bits below the linear-bound choice input splitting took the layer.
    std::vector<int> split_lowered;
    // Per layer: 1 when that stage stopped at its time budget (20 x --timeout) rather than at a failure.
    std::vector<int> split_budget_hit;
    int64_t with_preimage = 0;  // properties with a preimage at every hidden layer
    int64_t linear = 0;         // properties whose float margins the linear bounds prove at the root
    double time_s = 0;
    std::string summary() const;  // "layer 1: 15 bits, 232 constrained, 0 dropped, bound by s20_r4; ..."
};

// Every property with its own divisor.
PreimageAnswer preimage_bits(const BlockNet& net, const std::vector<BoxProperty>& props, const SynthOptions& o);
// The same with every property's divisor replaced by `divisor`.
PreimageAnswer preimage_bits(const BlockNet& net, std::vector<BoxProperty> props, double divisor, const SynthOptions& o);

}  // namespace qcert::synth
