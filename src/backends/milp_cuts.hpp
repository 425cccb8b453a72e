// Rows that every integer point of an encoded network's model meets and that cut its LP
// relaxation: the staircase hulls of its rounded and clamped neurons (below), and cuts for its
// clamps from Anderson, Huchette, Ma, Tjandraatmadja and Vielma, "Strong mixed-integer programming
// formulations for trained neural networks" (2020).
//
// A clamp with a binary for its low end (NetworkEncoding::LowClamp: y = lo where a = 1, and
// d (y - lo) <= h = sum_i C_i v_i + B where a = 0) meets, for every subset I of h's variables,
//
//   d (y - lo) <= sum_{i in I} C_i (v_i - L_i a) + (B + sum_{i not in I} C_i U_i) (1 - a)
//
// with L_i, U_i the ends of v_i's range where C_i v_i is least and largest. At a = 1 the right
// side is sum_{i in I} C_i (v_i - L_i) >= 0 = d (y - lo); at a = 0 it is at least h >= d (y - lo).
// So every integer point of the model meets it, whatever the LP relaxation does: the rows only cut
// the relaxation, and every bound drawn from the model (milp_lp_bounds.hpp) stays sound. I = every
// variable is the big-M row y <= u + (lo - ulo) a, I = none is y <= yhi (1 - a); all subsets
// together give a ReLU of its input box its convex hull (the paper's ideal formulation), which
// the big-M rows alone do not: they only see the box of h, not the box of h's inputs.
//
// The subset most violated at an LP point is found term by term (i in I iff C_i (v_i - L_i a) <
// C_i U_i (1 - a)), so the cuts are separated, not enumerated.
#pragma once

#include "backends/milp_encoding.hpp"
#include "qcert/property.hpp"

#include <optional>
#include <vector>

namespace qcert::milp {

// The convex hull of each staircase out(N) = clamp(round(N / d) + out_zero, lo, hi) over the
// integers N in [Nlo, Nhi], as rows over N and out: the encoding's band d r <= N - s_min, N - s_max
// <= d r and its clamp rows are that hull only far from the ends of the range; near them (and a
// coarse step over a narrow range is all ends) the hull is tighter: over N / d in [2.3, 3.2],
// rounded half up, r <= N / d + 1/2 lets r = 2.8 at N / d = 2.3, the hull only r = 2. Every
// integer point of the model has out = out(N), a point of the staircase, so these rows only cut
// the relaxation. Staircases of more than `max_levels` values are left as they are. Returns the
// rows added.
int add_staircase_hulls(Model& m, const std::vector<NetworkEncoding::Staircase>& stairs, int max_levels = 64);

struct CutRounds {
    int added = 0;          // rows added to the model
    int rounds = 0;         // LPs solved with new rows
    double first = 0, last = 0;  // Clp's LP maximum of the target before and after (estimates, for the record)
    // A sound upper bound on the target over the integer points of the model (with its cuts): the
    // least of its range over the variable bounds and the bounds from the LPs solved (their
    // multipliers through dual_lower_bound, milp_lp_bounds.hpp). nullopt when the first LP was
    // not solved to optimality.
    std::optional<i128> upper;
};

// Rounds of: solve the LP relaxation of m maximising `target` (Clp), add the most violated cut of
// every clamp in `clamps` that the LP point violates; until no cut is violated, the LP maximum
// gains less than `min_gain` (relative) in a round, `max_rounds` rounds or the budget ends.
CutRounds add_clamp_cuts(Model& m, const std::vector<NetworkEncoding::LowClamp>& clamps, const Affine& target,
                         const Budget& budget, int max_rounds = 8, double min_gain = 1e-3);

}  // namespace qcert::milp
