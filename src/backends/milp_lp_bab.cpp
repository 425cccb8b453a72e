// The rigorous LP branch and bound; see milp_lp_bab.hpp.
#include "backends/milp_lp_bab.hpp"

#include "backends/milp_cbc.hpp"
#include "backends/milp_lp_bounds.hpp"

#include <ClpSimplex.hpp>
#include <OsiClpSolverInterface.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <tuple>

namespace qcert::milp {

namespace {

// A variable's bounds narrowed at a node (the narrowest from the root down, one per variable).
using Fix = Narrowing;

void narrow(std::vector<Fix>& fixes, const Fix& n) {
    for (Fix& f : fixes)
        if (f.var == n.var) {
            f = n;
            return;
        }
    fixes.push_back(n);
}

struct Node {
    std::vector<Fix> fixes;
    i128 bound = 0;         // rigorous upper bound on the target over the node's integer points
    std::vector<double> x;  // its LP solution (the branching variable is chosen from it)
    bool operator<(const Node& o) const { return bound < o.bound; }  // max-heap on the bound
};

// Dual simplex iterations per strong-branching trial. The value after them is the dual
// simplex's objective so far, below the child's LP minimum of -target (the child's value is
// overestimated): good enough to rank the candidates (QEBVerif 2blk_100_100 Q = 4 sample 8463,
// eps 4: 19 nodes in the LP's time with every trial solved to the end, 53 with Clp's hot start,
// 90 to 120 with it and 10 iterations).
constexpr int kTrialIterations = 10;

// Clp on the model's LP relaxation, moved from node to node by changing column bounds.
class NodeLp {
public:
    NodeLp(const Model& m, const Affine& target, std::optional<i128> close_at) : m_(m), vars_(m.vars) {
        if (close_at) floor_at_ = -*close_at;
        load_model(s_, m);
        s_.getModelPtr()->setLogLevel(0);
        std::vector<double> obj(m.vars.size(), 0.0);
        neg_.add_scaled(target, -1);
        for (const Term& t : neg_.terms) obj[size_t(t.var)] += double(t.coef);
        s_.setObjective(obj.data());
    }

    // The node's narrowed bounds in the LP (the previous node's undone first).
    void apply(const std::vector<Fix>& fixes) {
        for (int v : changed_) set_bounds(v, m_.vars[size_t(v)].lo, m_.vars[size_t(v)].hi);
        changed_.clear();
        for (const Fix& f : fixes) {
            set_bounds(f.var, f.lo, f.hi);
            changed_.push_back(f.var);
        }
    }

    // A node's LP answer: its bound, its LP point and, with close_at, the variable ranges whose
    // cut parts the same multipliers prove within close_at (reduced-cost tightening), and the
    // largest bound over those parts.
    struct Solved {
        i128 bound = 0;
        std::vector<double> x;
        std::vector<Fix> narrowed;
        std::optional<i128> cut_bound;
    };
    enum class Outcome { Bounded, Empty, Unknown };
    // Solves the current node: Bounded (answer set), Empty (proved to have no integer point) or
    // Unknown (no usable answer from Clp).
    Outcome solve(Solved& answer) {
        if (!run()) return infeasible_proved() ? Outcome::Empty : Outcome::Unknown;
        const double* price = s_.getRowPrice();
        const std::vector<double> y(price, price + m_.rows.size());
        const std::optional<DualNarrowing> dn = dual_narrowings(m_, vars_, neg_, y, floor_at_);
        if (!dn) return Outcome::Unknown;
        answer = {};
        answer.bound = -dn->lower;
        answer.narrowed = dn->narrowed;
        if (dn->cut_lower) answer.cut_bound = -*dn->cut_lower;
        answer.x.assign(s_.getColSolution(), s_.getColSolution() + m_.vars.size());
        return Outcome::Bounded;
    }

    // Trials of one more narrowing each at the current node (strong branching) go between these:
    // the node's LP is solved and Clp's state kept (its hot start), and each trial starts from it
    // and stops after kTrialIterations dual simplex iterations.
    void begin_trials() {
        hot_ = run();
        if (hot_) {
            s_.setIntParam(OsiMaxNumIterationHotStart, kTrialIterations);
            s_.markHotStart();
        }
    }
    void end_trials() {
        if (hot_) s_.unmarkHotStart();
        hot_ = false;
    }

    // Clp's value of the target at the current node with one more narrowing (for the choice of
    // the variable only: not rigorous; within the iteration limit of a hot start, an overestimate);
    // -inf when Clp finds it infeasible, +inf when it fails.
    double trial(int v, int64_t lo, int64_t hi) {
        const Var saved = vars_[size_t(v)];
        set_bounds(v, lo, hi);
        bool usable = false;  // an objective value to rank by
        if (hot_) {
            s_.solveFromHotStart();
            usable = s_.isProvenOptimal() || s_.isIterationLimitReached();
        } else {
            usable = run();
        }
        double value = std::numeric_limits<double>::infinity();
        if (s_.isProvenPrimalInfeasible()) value = -std::numeric_limits<double>::infinity();
        else if (usable) value = -s_.getObjValue() - double(neg_.constant);
        set_bounds(v, saved.lo, saved.hi);
        return value;
    }

    const Var& var(size_t v) const { return vars_[v]; }
    void set_budget(const Budget& budget) { budget_ = &budget; }

private:
    void set_bounds(int v, int64_t lo, int64_t hi) {
        vars_[size_t(v)].lo = lo, vars_[size_t(v)].hi = hi;
        s_.setColLower(v, double(lo));
        s_.setColUpper(v, double(hi));
    }

    bool run() {
        s_.getModelPtr()->setMaximumSeconds(std::max(budget_->seconds_left(), 0.01));
        if (started_) s_.resolve();
        else s_.initialSolve(), started_ = true;
        return s_.isProvenOptimal();
    }

    // Clp's dual ray of an infeasible node, checked in exact arithmetic: a multiplier vector y
    // with sum_r y_r side_r above the largest y.(A x) over the node's bounds leaves no point
    // (dual_lower_bound of the zero objective above 0).
    bool infeasible_proved() {
        if (!s_.isProvenPrimalInfeasible()) return false;
        std::vector<double*> rays = s_.getDualRays(1);
        bool proved = false;
        if (!rays.empty() && rays[0]) {
            std::vector<double> y(rays[0], rays[0] + m_.rows.size());
            double ymax = 0;
            for (double v : y) ymax = std::max(ymax, std::fabs(v));
            if (ymax > 0 && std::isfinite(ymax))
                for (double sign : {1.0, -1.0}) {
                    std::vector<double> ys(y.size());
                    for (size_t r = 0; r < y.size(); ++r) ys[r] = sign * y[r] / ymax;
                    const std::optional<i128> lb = dual_lower_bound(m_, vars_, Affine{}, ys);
                    if (lb && *lb > 0) proved = true;
                }
        }
        for (double* r : rays) delete[] r;
        return proved;
    }

    const Model& m_;
    const Budget* budget_ = nullptr;
    std::vector<Var> vars_;  // the current node's bounds
    Affine neg_;             // -target (Clp minimises)
    std::optional<i128> floor_at_;  // -close_at: a part where -target reaches it is closed
    OsiClpSolverInterface s_;
    std::vector<int> changed_;
    bool started_ = false;
    bool hot_ = false;  // between begin_trials and end_trials with Clp's hot start
};

// Strong branching: of the fractional integer variables nearest to 1/2, the one whose worse
// child has the lowest LP value; -1 when x is integral.
int choose_variable(NodeLp& lp, const std::vector<double>& x, int candidates) {
    std::vector<std::pair<double, int>> fractional;
    for (size_t v = 0; v < x.size(); ++v) {
        const Var& V = lp.var(v);
        if (!V.integer || V.lo == V.hi) continue;
        const double f = x[v] - std::floor(x[v]);
        if (f > 1e-6 && f < 1 - 1e-6) fractional.emplace_back(std::fabs(f - 0.5), int(v));
    }
    std::sort(fractional.begin(), fractional.end());
    if (fractional.size() > size_t(candidates)) fractional.resize(size_t(candidates));
    int best = -1;
    double best_score = std::numeric_limits<double>::infinity();
    if (fractional.empty()) return best;
    lp.begin_trials();
    for (const auto& [dist, v] : fractional) {
        const Var V = lp.var(size_t(v));
        const double down = lp.trial(v, V.lo, int64_t(std::floor(x[size_t(v)])));
        const double up = lp.trial(v, int64_t(std::ceil(x[size_t(v)])), V.hi);
        const double score = std::max(down, up);
        if (best < 0 || score < best_score) best = v, best_score = score;
    }
    lp.end_trials();
    return best;
}

}  // namespace

struct LpBranchAndBound::Tree {
    Tree(const Model& m, const Affine& target, LpBabOptions o) : m(m), target(target), o(std::move(o)) {}
    const Model& m;
    const Affine& target;
    const LpBabOptions o;
    std::optional<NodeLp> lp;     // from the first run that has time for the root
    std::priority_queue<Node> open;
    std::optional<i128> leaves;  // the largest bound of the leaves no longer split
    std::optional<i128> fixed;   // a final bound without a tree: no LP, or no usable root LP
    bool empty = false;          // the root proved to have no integer point
    bool rooted = false;         // the root's LP solved (or found unusable)
    int64_t nodes = 0;
    int64_t narrowed = 0;  // variable ranges narrowed by reduced costs

    bool closes(i128 b) const { return o.close_at && b <= *o.close_at; }
    void leaf(i128 b) { leaves = leaves ? std::max(*leaves, b) : b; }
    // A solved node's answer into n (its bound at most `cap`); the parts its narrowings cut are leaves.
    void take(Node& n, NodeLp::Solved& a, i128 cap) {
        n.bound = std::min(a.bound, cap);
        n.x = std::move(a.x);
        for (const Fix& f : a.narrowed) narrow(n.fixes, f);
        if (a.cut_bound) leaf(std::min(*a.cut_bound, cap));
        narrowed += int64_t(a.narrowed.size());
    }
    // The largest value of the target over the variable bounds: the bound when the LP gives none.
    i128 range_hi() const {
        i128 lo = 0, hi = 0;
        affine_range(m, target, lo, hi);
        return hi;
    }
    // The root's LP; false when it is not solved yet (no time).
    bool solve_root(const Budget& budget) {
        if (!lp) lp.emplace(m, target, o.close_at);
        lp->set_budget(budget);
        Node root;
        lp->apply({});
        NodeLp::Solved answer;
        const NodeLp::Outcome out = lp->solve(answer);
        if (out == NodeLp::Outcome::Empty) {
            empty = true;
            return true;
        }
        if (out == NodeLp::Outcome::Unknown) {
            if (budget.expired()) return false;
            fixed = range_hi();  // no usable LP answer
            return true;
        }
        ++nodes;
        take(root, answer, answer.bound);
        if (o.on_point) o.on_point(root.x);
        open.push(std::move(root));
        return true;
    }
    // Splits the best open node; false (the node kept open) when the time ran out first.
    bool split_best(const Budget& budget) {
        const Node& n = open.top();
        lp->apply(n.fixes);
        const int v = choose_variable(*lp, n.x, o.candidates);
        if (v < 0) {  // the node's LP point is integral (its bound is reached there): a leaf
            leaf(n.bound);
            open.pop();
            return true;
        }
        const Var V = lp->var(size_t(v));
        const int64_t below = int64_t(std::floor(n.x[size_t(v)]));
        std::vector<Node> children;
        for (const auto& [lo, hi] : {std::pair{V.lo, below}, std::pair{below + 1, V.hi}}) {
            Node c;
            c.fixes = n.fixes;
            narrow(c.fixes, {v, lo, hi});
            lp->apply(c.fixes);
            NodeLp::Solved answer;
            const NodeLp::Outcome out = lp->solve(answer);
            if (budget.expired()) return false;  // the parent stays open (and still covers this child)
            ++nodes;
            if (out == NodeLp::Outcome::Empty) continue;
            if (out == NodeLp::Outcome::Unknown) {
                leaf(n.bound);  // a leaf with its parent's bound
                continue;
            }
            take(c, answer, n.bound);
            if (o.on_point) o.on_point(c.x);
            if (closes(c.bound)) leaf(c.bound);
            else children.push_back(std::move(c));
        }
        open.pop();
        for (Node& c : children) open.push(std::move(c));
        return true;
    }
    LpBabResult result() const {
        LpBabResult r;
        r.nodes = nodes;
        r.narrowed = narrowed;
        if (empty) {
            r.empty = r.closed = true;
            return r;
        }
        r.upper = fixed ? fixed : leaves;
        if (!fixed && !open.empty()) r.upper = r.upper ? std::max(*r.upper, open.top().bound) : open.top().bound;
        r.empty = !r.upper;  // every leaf proved to have no integer point
        r.closed = r.empty || closes(*r.upper);
        return r;
    }
};

LpBranchAndBound::LpBranchAndBound(const Model& m, const Affine& target, LpBabOptions options)
    : t_(std::make_unique<Tree>(m, target, std::move(options))) {}

LpBranchAndBound::~LpBranchAndBound() = default;

LpBabResult LpBranchAndBound::run(const Budget& budget, int64_t max_splits) {
    Tree& t = *t_;
    if (t.m.rows.empty() && !t.fixed) t.fixed = t.range_hi();  // nothing to relax
    if (!t.rooted && !t.fixed) {
        if (budget.expired() || !t.solve_root(budget)) {
            LpBabResult r;  // no time for the root yet: the range over the variable bounds, for now
            r.upper = t.range_hi();
            r.closed = t.closes(*r.upper);
            return r;
        }
        t.rooted = true;
    }
    if (t.lp) t.lp->set_budget(budget);
    for (int64_t splits = 0; !t.open.empty() && !t.closes(t.open.top().bound) && !budget.expired() && splits != max_splits; ++splits)
        if (!t.split_best(budget)) break;
    return t.result();
}

LpBabResult lp_branch_and_bound(const Model& m, const Affine& target, const Budget& budget, const LpBabOptions& o) {
    return LpBranchAndBound(m, target, o).run(budget);
}

}  // namespace qcert::milp
