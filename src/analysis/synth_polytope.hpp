// qcert synth --method preimage: polytope preimages of the safe set at a hidden layer
// (src/analysis/synth_polytope.cpp, docs/SYNTH.md).
//
// For hidden layer k (the output h of block k) and a domain box D of h, every row s_r of the
// property's condition network (s_r = c_r . y - rhs_r, synth_margin.hpp) is back-substituted
// through the float layers above k down to h, the ReLUs (and clamps) above k relaxed by sound
// lines over their pre-activation bounds on D:
//     s_r(h) >= a_r . h + c_r   for every h in D   (exact real inequality, doubles a_r, c_r).
// The polytope P = {h in D : every unsafe disjunct has a row r with a_r . h + c_r > 0 (>= 0
// for a strict constraint)} is an under-approximation of the preimage of the safe set: every
// h in P is mapped by the float layers above k outside the unsafe set. For the last hidden
// layer (an affine output layer) the rows are exact up to rounding.
//
// The forward check: the quantized prefix (blocks 0..k) over the property's input box has
// its outputs in D and the rows' lower bounds over it prove the property; both by the
// back-substituted linear bounds of the prefix followed by the rows (outward-rounded).
#pragma once

#include "analysis/synth_margin.hpp"
#include "qcert/synth.hpp"

#include <vector>

namespace qcert::synth {

struct LayerBox {
    std::vector<double> lo, hi;
};

struct PreimagePolytope {
    // Exact: every layer above k is affine (with the rows, one affine map of h): the rows are
    // kept as those layers themselves (`above`, ending with the rows block), valid for every h,
    // and `domain` is the whole space (infinite bounds); a and c are not used.
    bool exact = false;
    std::vector<Block> above;
    LayerBox domain;                              // D: the rows hold for h in D only
    Mat a;                                        // rows x layer width
    Vec c;                                        // per row
    std::vector<std::vector<int64_t>> disjuncts;  // rows of each unsafe disjunct (as in ConditionNet)
    std::vector<bool> strict;                     // per row
};

// The polytope of hidden layer k (0-based block index, k + 1 < blocks) of the float `net`
// for property p over the domain box D (finite); exact (D ignored) when every layer above k is
// affine without clamps. Throws InputError for a layer that is not affine or ReLU (with clamps).
PreimagePolytope preimage_polytope(const BlockNet& net, size_t k, const BoxProperty& p, const LayerBox& domain);

// h lies in the polytope: in D, and the rows evaluated in outward-rounded interval
// arithmetic close every disjunct.
bool polytope_contains(const PreimagePolytope& P, const std::vector<double>& h);

// The forward check: the outputs of the first k + 1 blocks of `twin` over p's input box lie
// in P: in D by the sound bounds of the prefix, in the rows' half-spaces by the linear bounds
// of the prefix followed by the rows (outward-rounded), or, when those do not close every
// disjunct and split_timeout_s > 0, by check_property on that network (input splitting, up
// to split_timeout_s; only "proved" counts).
bool prefix_inside_polytope(const BlockNet& twin, size_t k, const BoxProperty& p, const PreimagePolytope& P,
                            double split_timeout_s = 0);

}  // namespace qcert::synth
