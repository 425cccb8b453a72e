// Solving a milp::Model with COIN-OR CBC.
#pragma once

#include "backends/milp_model.hpp"
#include "qcert/property.hpp"

#include <functional>
#include <string>
#include <vector>

class OsiClpSolverInterface;

namespace qcert::milp {

enum class SolveStatus {
    Infeasible,  // CBC proved that no point satisfies the model
    Feasible,    // a point was found (values); the caller re-checks it exactly
    Candidate,   // the candidate callback accepted an LP point (values) and stopped the search
    Stopped,     // budget or time limit
    Failed       // CBC ended without an answer (numerical trouble, ...)
};

// Called with the LP solution of every search node (one value per model
// variable); returns true when it turned that point into something the caller can
// use (e.g. rounded the inputs and confirmed a counterexample). The search then stops.
using CandidateCheck = std::function<bool(const std::vector<double>& values)>;

struct SolveOptions {
    double integer_tolerance = 1e-9;
    double primal_tolerance = 1e-9;
    // CbcMain1 (CBC's stand-alone solver: preprocessing, all cuts and heuristics)
    // instead of a CbcModel set up here. CbcMain1 is not reentrant (calls are
    // serialised) and its preprocessing renumbers columns, so it gets no candidate check.
    bool full_solver = false;
    CandidateCheck candidate;
    bool stop_at_solution = true;  // end the search at the first solution CBC finds
};

struct SolveResult {
    SolveStatus status = SolveStatus::Failed;
    std::vector<double> values;  // for Feasible and Candidate: one per model variable
    std::string detail;
    int64_t nodes = 0;
    bool optimal = false;  // Feasible with stop_at_solution off: CBC proved its solution optimal
};

// Loads m into a Clp solver (integer variables marked; an LP solve ignores them).
void load_model(OsiClpSolverInterface& s, const Model& m);

SolveResult solve_with_cbc(const Model& m, const Budget& budget, const SolveOptions& options = {});

// Whether CBC's "infeasible" on m is taken as a proof (see "Trust" in milp_cbc.cpp): only
// inside the range the tests check, every coefficient and bound below 2^24 and every
// row's largest activity below 2^27.
inline constexpr int kTrustedMagnitudeBits = 24;
inline constexpr int kTrustedActivityBits = 27;
bool infeasible_trusted(const Model& m);

}  // namespace qcert::milp
