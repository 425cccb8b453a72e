// A solver-neutral mixed integer linear model with integer data.
//
// The MILP encoding of an integer network (milp_encoding.hpp) builds one of these;
// a solver back end (milp_cbc.hpp) solves it. Every coefficient and every bound is
// an integer, so that an integer point satisfies a row exactly or misses it by at
// least 1: this is what lets a floating-point solver be trusted on these models
// (see milp_cbc.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace qcert::milp {

using i128 = __int128;

inline constexpr int64_t kNoLower = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kNoUpper = std::numeric_limits<int64_t>::max();

struct Term {
    int var = 0;
    int64_t coef = 0;
};

// Branching priorities for the solver (lower branches first; CBC's default is 1000).
enum Priority : int { kBranchFirst = 1, kBranchDefault = 1000, kBranchLast = 2000 };

struct Var {
    int64_t lo = 0, hi = 0;  // always finite
    bool integer = true;
    int priority = kBranchDefault;  // for integer variables
};

// lo <= sum coef * var <= hi; kNoLower / kNoUpper for a missing side.
struct Row {
    std::vector<Term> terms;
    int64_t lo = kNoLower, hi = kNoUpper;
};

// An affine expression over the model's variables with an exact constant.
struct Affine {
    std::vector<Term> terms;
    i128 constant = 0;

    bool is_constant() const { return terms.empty(); }
    // this += k * other (terms are merged lazily: duplicates are summed by Model::add_row).
    void add_scaled(const Affine& other, i128 k);
};

struct Model {
    std::vector<Var> vars;
    std::vector<Row> rows;
    // Minimised; empty for a pure feasibility problem. Guidance only: it never
    // decides an answer (the search stops at the first solution), so it may be real.
    std::vector<std::pair<int, double>> objective;

    int add_var(int64_t lo, int64_t hi, bool integer, int priority = kBranchDefault);
    // Adds lo <= e <= hi (a missing side is no bound): the constant of e moves to
    // the sides and duplicate variables are merged. A row left without terms is
    // checked at once: returns false when it can never hold. Throws
    // std::overflow_error when a coefficient or a side leaves int64.
    bool add_row(const Affine& e, std::optional<i128> lo, std::optional<i128> hi);

    // The largest magnitude of any coefficient or finite bound (for the exactness check).
    i128 max_magnitude() const;
    // The largest |activity| (sum coef * var) any row can reach over the variable bounds.
    i128 max_activity() const;
    int integer_count() const;
};

// Interval of an affine expression over the variable bounds.
void affine_range(const Model& m, const Affine& e, i128& lo, i128& hi);

}  // namespace qcert::milp
