// The exact MILP encoding of an integer network over an input box.
//
// Every value of the integer semantics is an affine expression over integer
// variables; nothing is relaxed. Per neuron (IntLayer, bounds from IntBounds):
//
//   acc = b + sum_j W_j (x_j - in_zero)        affine, no variable
//   N   = acc * num'   (num'/d = num/den reduced)
//   r   = round(N / d) an integer variable with  s = N - d r  in a band [smin, smax]
//                      that depends on the rounding mode (milp_encoding.cpp derives
//                      each band; modes that depend on the sign of N or on the parity
//                      of r add one binary)
//   u   = r + out_zero
//   out = clamp(u, lo, hi)   a binary only for a bound the range of u straddles.
//
// Only neurons that influence a requested output are encoded, and a neuron whose
// bounds make it constant is a constant: stable neurons cost nothing.
#pragma once

#include "backends/milp_model.hpp"
#include "qcert/bounds.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qcert::milp {

struct NetworkEncoding {
    Model model;
    // Per network input: its variable, or -1 when its value is fixed by the box or
    // influences no requested output (then input_value is used).
    std::vector<int> input_var;
    std::vector<int64_t> input_value;
    // Per network output: its exact affine form, present for requested outputs.
    std::vector<std::optional<Affine>> outputs;
    // Per requested output that is not constant: its value before rounding and
    // clamping, N / d (N = acc * num'). A clamped output has no slope; this does,
    // so it makes the better objective to steer the search with.
    struct Scaled {
        Affine N;
        double inv_d = 1.0;
    };
    std::vector<std::optional<Scaled>> pre_clamp;
    // Per layer and neuron: the exact accumulator of every encoded neuron (those that
    // are needed and not constant), for bound tightening.
    std::vector<std::vector<std::optional<Affine>>> acc;
    // Per layer and neuron: the exact output of every encoded neuron (as acc).
    std::vector<std::vector<std::optional<Affine>>> out;
    // Per layer and neuron: the rounded value before the clamp, round(acc num / den) + out_zero,
    // of every encoded neuron (as acc).
    std::vector<std::vector<std::optional<Affine>>> rounded;
    // Per layer and neuron: the rounding remainder s = N - d r and its band, for neurons
    // whose band is one fixed interval (every mode but half_even with even d and the
    // sign-dependent ones across 0).
    struct Remainder {
        Affine s;
        i128 lo = 0, hi = 0;
    };
    std::vector<std::vector<std::optional<Remainder>>> remainder;
    // Per clamp with a binary for its low end (a ReLU's phase): y = lo at every point with a = 1,
    // and d (y - lo) <= h at every point with a = 0, h an affine form over the neuron's inputs (its
    // scaled accumulator less the rounding band's low end). What milp_cuts.hpp needs.
    struct LowClamp {
        int y = -1, a = -1;
        i128 lo = 0, d = 1;
        Affine h;
    };
    std::vector<LowClamp> low_clamps;
    // Per encoded neuron with a rounding or a clamp: out = clamp(round(N / d) + out_zero, lo, hi)
    // as a function of the integer N in [Nlo, Nhi], a staircase (milp_cuts.hpp: its convex hull).
    struct Staircase {
        Affine N, out;
        i128 Nlo = 0, Nhi = 0, d = 1, out_zero = 0, lo = 0, hi = 0;
        Rounding rounding = Rounding::HalfUp;
    };
    std::vector<Staircase> staircases;
    // Why the network cannot be encoded exactly (empty: it can).
    std::string unsupported;
    // An enforced range that no input meets: the model has no point.
    bool empty = false;
    int encoded_neurons = 0;

    // The integer input a solver's values describe (inputs rounded to the nearest integer).
    std::vector<int64_t> input_from(const std::vector<double>& values) const;
};

// Encodes q.net over the box [q.lo, q.hi] with the given sound bounds (interval_bounds
// or tighter). `wanted[i]` says whether output i must be encoded.
//
// Bounds that hold only on part of the box (milp_tighten: where a disjunct is met)
// must be marked in `enforced` (per layer and neuron): such a neuron gets the row
// acc_lo <= acc <= acc_hi, and its inputs are encoded even when it is constant.
// Without the row, an input outside that part could meet the model with values
// the network does not compute there.
//
// With `base` (an encoding of another network over the same inputs and box), the network
// is added to base's model, which is moved into the result, and shares base's input
// variables: two networks in one model (the error bounds' pair MILP). base's outputs
// keep referring to the same variables.
NetworkEncoding encode_network(const IntQuery& q, const IntBounds& bounds, const std::vector<bool>& wanted,
                               const std::vector<std::vector<bool>>* enforced = nullptr, NetworkEncoding* base = nullptr);

// The outputs a set of integer constraints reads.
std::vector<bool> outputs_read(const IntUnsafe& unsafe, int64_t outputs);

// The affine form of a constraint's left side over the encoded outputs.
Affine constraint_lhs(const NetworkEncoding& e, const IntConstraint& c);

// An objective that steers the search toward meeting the conjunction: the sum of
// its left sides with every output replaced by its value before rounding and clamping.
std::vector<std::pair<int, double>> steering_objective(const NetworkEncoding& e, const std::vector<IntConstraint>& conj);

// Adds a conjunction as hard rows; false when some row can never hold.
bool add_conjunction(NetworkEncoding& e, const std::vector<IntConstraint>& conj);

// Adds OR of ANDs with one binary per disjunct (big-M from the variable bounds) and
// "at least one disjunct holds"; false when no disjunct can hold.
bool add_disjunction(NetworkEncoding& e, const IntUnsafe& unsafe);

}  // namespace qcert::milp
