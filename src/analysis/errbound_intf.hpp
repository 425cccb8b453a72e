// The reference network f written as an integer network over a box of integer inputs:
// a fine fixed-point copy f_h (weights, biases and activations at many fractional
// bits, chosen per layer) with a sound bound delta_k on |f_k(u) - f_h,k(u)| for every
// integer u of the box. With it the pair (f, g) of an integer twin g becomes one
// all-integer MILP (errbound_int_milp.cpp), which a floating-point solver can be
// trusted on (see backends/milp_cbc.cpp, "Trust"), at the price of delta.
//
// Why not f exactly: f's weights are doubles (dyadic rationals), so f itself is an
// integer network with one huge power of two per layer, but the products of those
// scales leave the 2^53 range in which double arithmetic on the solver's rows is exact.
//
// delta, per neuron i of layer k (x: f's activations, q: f_h's, x ~ q 2^-A):
//   |z_i - acc_i 2^-S| <= sum_j |W_ij| e_j + |W_ij c - Wh_ij 2^-S| |q_j| + |b_i - bh_i 2^-S|
// (c: 1 / divisor for the inputs, 2^-A_prev after), then round(acc 2^(A-S)) adds at most
// 2^-(A+1), and the clamp, 1-Lipschitz with bounds that are exact at 2^-A, adds nothing.
// |q_j| comes from interval_bounds of f_h itself; every sum is rounded upward.
#pragma once

#include "qcert/errbound.hpp"

#include <string>
#include <vector>

namespace qcert::errbound {

struct IntegerF {
    IntNetwork net;             // input: the region's integers u (f sees u / divisor)
    std::vector<double> delta;  // per output: |f_k(u) - f_h,k(u)| <= delta[k] on the box
    int out_frac_bits = 0;      // f_h,k(u) = q_k * 2^-out_frac_bits
    // Per layer and neuron, on the box: a bound on |x - x_h| (the activations, f_h's taken as
    // q 2^-A) and on |z - r 2^-A| (f's pre-activation against f_h's rounded one, r = round(acc
    // 2^(A-S)): the same terms, the clamp being 1-Lipschitz).
    std::vector<std::vector<double>> layer_delta;
    std::string unsupported;    // why f cannot be written so (empty: it can)
};

IntegerF integer_f(const ErrPair& p, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi);

}  // namespace qcert::errbound
