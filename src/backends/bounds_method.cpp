// The interval and symbolic bound methods.
#include "backends/bounds_method.hpp"

#include "qcert/bounds.hpp"
#include "qcert/error.hpp"

#include <chrono>

namespace qcert {

namespace {

using i128 = __int128;

// Subgradient steps when tuning slopes per constraint (about 1 ms each on a 784-64-32 net).
constexpr int kTunedSteps = 40;

bool empty_box(const IntQuery& q) {
    for (size_t j = 0; j < q.lo.size(); ++j)
        if (q.lo[j] > q.hi[j]) return true;
    return false;
}

// Exact lower bound of a constraint's left side over an output box.
i128 interval_lower(const IntConstraint& c, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    i128 s = 0;
    for (const auto& [i, a] : c.terms) s += std::min(i128(a) * lo.at(i), i128(a) * hi.at(i));
    return s;
}

// True when some constraint of the conjunction has no solution in the box (an empty
// conjunction is satisfied everywhere).
bool refuted(const SymbolicBounds& sb, const std::vector<IntConstraint>& conj, int tuned_steps) {
    std::vector<LinearObjective> objs;
    for (const IntConstraint& c : conj) objs.push_back(c.terms);
    const std::vector<ObjectiveBound> lb = objective_lower_bounds(sb, objs, tuned_steps);
    for (size_t r = 0; r < conj.size(); ++r)
        if (lb[r].lower > conj[r].rhs) return true;
    return false;
}

class BoundsMethod : public Method {
public:
    explicit BoundsMethod(bool symbolic) : symbolic_(symbolic) {}
    std::string name() const override { return symbolic_ ? "symbolic" : "interval"; }
    bool complete() const override { return false; }

    Outcome run(const IntQuery& q, const Budget& budget) override {
        const auto start = std::chrono::steady_clock::now();
        Outcome out;
        out.method = name();
        auto finish = [&](Verdict v, const char* reason) {
            out.verdict = v;
            out.reason = reason;
            out.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            return out;
        };
        if (!q.net) throw InputError("query", "no network");
        if (int64_t(q.lo.size()) != q.net->input_size() || q.hi.size() != q.lo.size())
            throw InputError(q.net->source, "the query's input box does not match the network's input size");
        if (empty_box(q)) return finish(Verdict::Holds, "");  // no input at all
        if (budget.expired()) return finish(Verdict::Unknown, "timeout");
        bool proved = true;
        if (symbolic_) {
            const SymbolicBounds sb = symbolic_bounds(*q.net, q.lo, q.hi, &budget);
            // First every constraint with the fixed DeepPoly slopes, then the constraints
            // of the disjuncts still alive with slopes tuned per constraint.
            std::vector<const std::vector<IntConstraint>*> alive;
            for (const auto& conj : q.unsafe)
                if (!refuted(sb, conj, 0)) alive.push_back(&conj);
            if (!alive.empty() && budget.expired()) proved = false;
            for (size_t d = 0; proved && d < alive.size(); ++d)
                proved = !budget.expired() && refuted(sb, *alive[d], kTunedSteps);
        } else {
            const IntBounds B = interval_bounds(*q.net, q.lo, q.hi);
            for (const auto& conj : q.unsafe) {
                bool dead = false;
                for (const IntConstraint& c : conj) dead = dead || interval_lower(c, B.out_lo.back(), B.out_hi.back()) > c.rhs;
                proved = proved && dead;
            }
        }
        if (proved) return finish(Verdict::Holds, "");
        return finish(Verdict::Unknown, budget.expired() ? "timeout" : "incomplete: bounds inconclusive");
    }

private:
    bool symbolic_;
};

}  // namespace

std::unique_ptr<Method> make_interval_method() { return std::make_unique<BoundsMethod>(false); }
std::unique_ptr<Method> make_symbolic_method() { return std::make_unique<BoundsMethod>(true); }

}  // namespace qcert
