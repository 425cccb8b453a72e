// The pair MILP for an integer twin (errbound_pair_milp.cpp): s * (g - f)_k over a box
// of integer inputs, g in its exact integer semantics (backends/milp_encoding), f as the
// fine integer network f_h of errbound_intf.hpp, both in one all-integer model.
//
// With eps it searches: Witness when an input was found at which the exact re-evaluation
// gives s * (g - f)_k > eps. CBC's "infeasible" for s * (g - f_h)_k > eps - delta_k is NOT
// taken as a proof (CBC has called this model infeasible at points that satisfy it exactly;
// see the .cpp): Proved only when D is a constant at most eps - delta_k, decided without CBC.
// Without eps it maximises (an estimate of the maximum and an input; never a proof).
#pragma once

#include "analysis/errbound_intf.hpp"
#include "backends/milp_cbc.hpp"
#include "backends/milp_encoding.hpp"
#include "qcert/errbound.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qcert::errbound {

struct PairMilpResult {
    enum class Kind { Proved, Witness, Optimum, Unknown } kind = Kind::Unknown;
    std::vector<double> input;  // Witness, Optimum (and Unknown when the solver found a point)
    double value = 0;           // Optimum: s * (g - f_h)_k at the solution, exactly (integer re-evaluation)
    double solver_value = 0;    // Optimum: the same as CBC's values give it (double; for diagnosis)
    bool optimal = false;       // Optimum: CBC proved it optimal
    double delta = 0;           // the bound on |f_k - f_h,k| used
    std::string reason;         // Unknown
    int64_t nodes = 0;
};

// The model itself (for pair_milp and the tests): g and f_h on shared inputs, D = 2^M s (g - f_h)_k
// exactly at every integer point; with eps the row D > (eps - delta) 2^M, without it D maximised.
struct PairModel {
    milp::NetworkEncoding enc;
    // g's per-layer affines in the model (enc holds f_h's): outputs and rounded values before the clamp.
    std::vector<std::vector<std::optional<milp::Affine>>> g_out, g_rounded;
    milp::Affine D;
    int M = 0;
    bool ok = false;              // the model was built
    bool constant_holds = false;  // with eps: D is a constant at most (eps - delta) 2^M
    std::string reason;           // !ok
};
PairModel pair_model(const ErrPair& p, const std::vector<int64_t>& ilo, const std::vector<int64_t>& ihi, const IntegerF& F,
                     int64_t output, double sign, std::optional<double> eps, double delta, const Budget& budget);

// CBC's tolerances for a pair model (see the .cpp).
milp::SolveOptions pair_solve_options(const milp::Model& m);

PairMilpResult pair_milp(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                         double sign, std::optional<double> eps, double seconds);

// A sound upper bound on s * (g - f)_k over the integer points of the box from the LP relaxation
// of the pair model (integrality dropped): Clp's row multipliers turned into a rigorous bound on D
// by weak duality in exact integer arithmetic (backends/milp_lp_bounds.hpp, Neumaier and
// Shcherbina), then D / 2^M + delta_k rounded up. Every integer point of the box is a point of
// the model (BoundPairMilp.ModelContainsEveryBoxPoint) with D = 2^M s (g - f_h)_k there, so the
// bound holds whatever Clp's accuracy: a poor multiplier only makes it looser. nullopt when the
// model cannot be built or the time runs out first.
// The two networks coupled neuron by neuron through the differential bound `db` of the same box
// (every hidden layer): g - f_h in db's box of xd, widened by f_h's error, and the relaxation the
// differential bound uses, xd between lines of min(zd, 0) and max(zd, 0) plus the clamps' gap
// (diff_bounds.cpp), written over g's and f_h's own variables. Valid rows: every integer point
// of the box satisfies them; they only cut the LP relaxation. Returns the rows added.
int add_difference_rows(PairModel& pm, const ErrPair& p, const IntegerF& F, const DiffBound& db);

// The LP branch and bound below for one output and sign, kept between runs: each run continues
// the tree for `seconds` (the first builds the model, reading db) and returns the bound over its
// leaves and open nodes, a sound upper bound on s (g - f)_k over the box's integer points (nullopt:
// no model, or no time yet to build it). Holds references to p and db.
class PairLpBab {
public:
    PairLpBab(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output, double sign,
              const DiffBound* db, double eps, std::function<void(const std::vector<double>&)> offer = {});
    ~PairLpBab();
    PairLpBab(const PairLpBab&) = delete;
    PairLpBab& operator=(const PairLpBab&) = delete;
    // cancel: stop early when set; max_splits: as LpBranchAndBound::run (0: the root's LP only).
    std::optional<double> run(double seconds, const std::atomic<bool>* cancel = nullptr, int64_t max_splits = -1);

private:
    struct State;
    std::unique_ptr<State> s_;
};

// The rigorous LP bound of the pair model (coupled by add_difference_rows when db is given).
// With eps: the rigorous LP branch and bound (backends/milp_lp_bab.hpp) on the same model until
// every leaf is within eps or the time is up, its bound over the leaves; `offer` gets the input
// of every node's LP solution (rounded to integers; a candidate for the search, not yet checked).
std::optional<double> pair_lp_bound(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                                    int64_t output, double sign, double seconds, const DiffBound* db = nullptr,
                                    std::optional<double> eps = std::nullopt,
                                    const std::function<void(const std::vector<double>&)>& offer = {});

}  // namespace qcert::errbound
