// Rigorous ranges of affine expressions over the LP relaxation of a milp::Model.
//
// Clp solves min and max of each expression over the model with integrality
// dropped; its answer is floating point, so it is never used as it is. The range
// comes from the LP's row multipliers y through the weak-duality bound of
// Neumaier and Shcherbina (2004), evaluated in exact integer arithmetic: for every
// x within the variable bounds that meets the rows,
//
//   c.x = (c - A^T y).x + y.(A x) >= sum_i min(d_i lo_i, d_i hi_i) + sum_r y_r side_r
//
// (side_r the row's lower bound when y_r > 0, its upper bound when y_r < 0), which
// holds for ANY y. y is rounded to integers over a power-of-two scale first, so the
// whole sum is exact. Expressions over the model's integer points take integer
// values, so the bound is rounded up to the next integer.
#pragma once

#include "backends/milp_model.hpp"
#include "qcert/property.hpp"

#include <optional>
#include <vector>

namespace qcert::milp {

struct LpRange {
    // The sound range of the expression over the LP relaxation (integers).
    i128 lo = 0, hi = 0;
    // Clp found the LP infeasible (not proved here: the caller lets the MILP
    // solver decide, whose infeasibility answers are trusted, see milp_cbc.cpp).
    bool infeasible = false;
};

// The range of each target over the LP relaxation of m, never looser than
// affine_range over the variable bounds. Stops early (returning the trivial
// ranges for the rest) when the budget runs out.
std::vector<LpRange> lp_ranges(const Model& m, const std::vector<Affine>& targets, const Budget& budget);

// The same for one target and its upper end only (lo is affine_range's): one LP instead of two.
LpRange lp_upper(const Model& m, const Affine& target, const Budget& budget);

// The duality bound above for one objective: a lower bound on sum c.x + constant
// over the LP relaxation, from row multipliers y (one per row). nullopt when the
// exact arithmetic would overflow.
std::optional<i128> dual_lower_bound(const Model& m, const Affine& objective, const std::vector<double>& y);
// The same with other variable bounds than m's (one per variable of m: a node of a branch and bound).
std::optional<i128> dual_lower_bound(const Model& m, const std::vector<Var>& vars, const Affine& objective,
                                     const std::vector<double>& y);

// Reduced-cost tightening with the same multipliers: in the bound above, variable v contributes
// min(d_v lo_v, d_v hi_v) (d = c - A^T y, its reduced cost); at points where x_v is k steps away
// from the end that minimises d_v x_v, the bound is |d_v| k higher. Where that reaches `floor_at`,
// every point has objective >= floor_at: those values of x_v are cut from its range (an integer
// variable keeps the values before the first such step, a real one everything up to it). Each cut
// part is proved on its own, so the points left are those within every narrowed range.
struct Narrowing {
    int var = 0;
    int64_t lo = 0, hi = 0;  // the variable's new bounds
};
struct DualNarrowing {
    i128 lower = 0;                 // dual_lower_bound's
    std::vector<Narrowing> narrowed;
    std::optional<i128> cut_lower;  // the least bound over the parts cut (at least floor_at)
};
// Nothing is narrowed without floor_at or when `lower` already reaches it; nullopt as dual_lower_bound.
std::optional<DualNarrowing> dual_narrowings(const Model& m, const std::vector<Var>& vars, const Affine& objective,
                                             const std::vector<double>& y, std::optional<i128> floor_at);

}  // namespace qcert::milp
