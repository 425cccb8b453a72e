// A branch and bound over the LP relaxation of a milp::Model in which every node's bound is
// rigorous: an upper bound on an affine target over the model's integer points.
//
// A node is the model with some integer variables' bounds narrowed (x_v <= floor(v*) in one
// child, x_v >= ceil(v*) in the other, v* the LP value): the children's integer points are
// exactly the parent's. Clp solves each node's LP; its row multipliers give the node's bound
// through dual_lower_bound with the node's variable bounds (milp_lp_bounds.hpp: exact
// arithmetic, valid for any multipliers), so Clp's accuracy only affects how tight a bound is.
// A node Clp calls infeasible is closed only when its dual ray proves, the same way, that it
// has no integer point; otherwise it keeps its parent's bound. The largest bound over the
// leaves bounds the target over every integer point of the model.
//
// The variable to branch on is chosen by strong branching: among the fractional integer
// variables nearest to 1/2, the one whose worse child's LP value is lowest (on the QEBVerif
// networks, one such split of a ReLU's phase moved the LP bound by 3 %, as much as the whole
// rounding of the bound's other parts). Each trial starts from the node's solved LP (Clp's hot
// start) and stops after a few dual simplex iterations: the value it reaches ranks the
// candidates; only the children's own LPs give bounds.
#pragma once

#include "backends/milp_model.hpp"
#include "qcert/property.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace qcert::milp {

struct LpBabOptions {
    std::optional<i128> close_at;  // a node whose bound is at most this is not split (the target met)
    int candidates = 96;           // fractional variables tried by strong branching per node
    // Each node's LP solution (one value per model variable), e.g. for a search to round.
    std::function<void(const std::vector<double>&)> on_point;
};

struct LpBabResult {
    std::optional<i128> upper;  // the largest bound of the leaves and open nodes (the range over the variable bounds when the root's LP gave none)
    bool empty = false;         // proved: the model has no integer point (then upper is nullopt)
    bool closed = false;        // every leaf's bound is at most close_at (or empty)
    int64_t nodes = 0;          // LPs solved for nodes (strong branching's trial solves not counted)
    int64_t narrowed = 0;       // variable ranges narrowed by reduced-cost tightening (with close_at)
};

// The branch and bound kept between runs: each run continues the tree where the last stopped
// (a node being split when the time ran out stays open). `m` and `target` must outlive it.
class LpBranchAndBound {
public:
    LpBranchAndBound(const Model& m, const Affine& target, LpBabOptions options = {});
    ~LpBranchAndBound();
    LpBranchAndBound(const LpBranchAndBound&) = delete;
    LpBranchAndBound& operator=(const LpBranchAndBound&) = delete;
    // Splits until closed, the budget ends or (max_splits >= 0) that many nodes were split in this
    // run (0: the root's LP only). `nodes` counts every run's.
    LpBabResult run(const Budget& budget, int64_t max_splits = -1);

private:
    struct Tree;
    std::unique_ptr<Tree> t_;
};

// One run of a fresh tree.
LpBabResult lp_branch_and_bound(const Model& m, const Affine& target, const Budget& budget, const LpBabOptions& options = {});

}  // namespace qcert::milp
