// Solving a milp::Model with COIN-OR CBC.
#pragma once

#include "backends/milp_model.hpp"
#include "qcert/property.hpp"

#include <string>
#include <vector>

namespace qcert::milp {

enum class SolveStatus {
    Infeasible,  // CBC proved that no point satisfies the model
    Feasible,    // a point was found (values); the caller re-checks it exactly
    Stopped,     // budget or time limit
    Failed       // CBC ended without an answer (numerical trouble, ...)
};

struct SolveOptions {
    double integer_tolerance = 1e-9;
    double primal_tolerance = 1e-9;
    bool full_solver = true;     // CbcMain1 (presolve, cuts, heuristics) instead of a bare CbcModel
};

struct SolveResult {
    SolveStatus status = SolveStatus::Failed;
    std::vector<double> values;  // for Feasible: one per model variable
    std::string detail;
    int64_t nodes = 0;
};

SolveResult solve_with_cbc(const Model& m, const Budget& budget, const SolveOptions& options = {});

}  // namespace qcert::milp
