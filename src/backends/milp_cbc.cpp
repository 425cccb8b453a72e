// Solving a milp::Model with COIN-OR CBC.
//
// Trust. CBC computes in double precision with tolerances. The models built here
// have integer coefficients and bounds only (milp_model.hpp), and milp.cpp checks
// that their magnitudes stay below 2^40 before it trusts "infeasible"; then at an
// integer point every row activity is an integer below 2^53 that double arithmetic
// computes exactly, and a row is either met or missed by at least 1, far beyond any
// tolerance. An integer solution of the model can therefore not be mistaken for an
// infeasible one by the feasibility test itself; what remains is trust in CBC's LP
// infeasibility proofs and cuts, the usual trust placed in a MILP solver (QVIP relies
// on Gurobi in the same way). The other direction needs no trust: a feasible point
// is only a candidate, and milp.cpp re-runs the integer network on it.
#include "backends/milp_cbc.hpp"

#include <CbcEventHandler.hpp>
#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

#include <cmath>
#include <fmt/format.h>
#include <mutex>

namespace qcert::milp {

namespace {

// Stops CBC when the budget runs out or the caller raises the cancel flag.
//
// Not used to stop at the first solution: CBC clones the handler into the small
// branch and bounds of its heuristics, and a stop there can end the main search
// with "infeasible" although a solution exists (seen in the brute-force tests).
// A model without objective ends at its first solution anyway. A stop for the
// budget is harmless because an infeasible answer after it is not trusted.
class BudgetHandler : public CbcEventHandler {
public:
    explicit BudgetHandler(const Budget& budget) : budget_(&budget) {}
    CbcAction event(CbcEvent) override { return budget_->expired() ? stop : noAction; }
    CbcEventHandler* clone() const override { return new BudgetHandler(*this); }

private:
    const Budget* budget_;
};

double as_double(int64_t v, int64_t none, double inf) { return v == none ? (v < 0 ? -inf : inf) : double(v); }

void load(OsiClpSolverInterface& s, const Model& m) {
    std::vector<int> ri, ci;
    std::vector<double> el;
    for (size_t r = 0; r < m.rows.size(); ++r)
        for (const Term& t : m.rows[r].terms) {
            ri.push_back(int(r));
            ci.push_back(t.var);
            el.push_back(double(t.coef));
        }
    CoinPackedMatrix A(true, ri.data(), ci.data(), el.data(), CoinBigIndex(el.size()));
    A.setDimensions(int(m.rows.size()), int(m.vars.size()));
    const double inf = s.getInfinity();
    std::vector<double> clo, chi, obj(m.vars.size(), 0.0), rlo, rhi;
    for (const Var& v : m.vars) {
        clo.push_back(double(v.lo));
        chi.push_back(double(v.hi));
    }
    for (const Term& t : m.objective) obj[t.var] += double(t.coef);
    for (const Row& r : m.rows) {
        rlo.push_back(as_double(r.lo, kNoLower, inf));
        rhi.push_back(as_double(r.hi, kNoUpper, inf));
    }
    s.loadProblem(A, clo.data(), chi.data(), obj.data(), rlo.data(), rhi.data());
    for (size_t j = 0; j < m.vars.size(); ++j)
        if (m.vars[j].integer) s.setInteger(int(j));
    s.messageHandler()->setLogLevel(0);
    s.setHintParam(OsiDoReducePrint, true, OsiHintTry);
}

int no_callback(CbcModel*, int) { return 0; }

// CbcMain1 keeps global state in CBC 2.10 (coin-or/Cbc#332): one call at a time.
std::mutex& cbc_main_mutex() {
    static std::mutex m;
    return m;
}

void run_full(CbcModel& model, double seconds, const SolveOptions& o, BudgetHandler& handler) {
    std::lock_guard<std::mutex> lock(cbc_main_mutex());
    CbcSolverUsefulData data;
    data.noPrinting_ = true;
    data.useSignalHandler_ = false;
    CbcMain0(model, data);
    model.passInEventHandler(&handler);
    const std::string sec = fmt::format("{:.3f}", std::max(seconds, 0.001));
    const std::string itol = fmt::format("{:g}", o.integer_tolerance), ptol = fmt::format("{:g}", o.primal_tolerance);
    const char* argv[] = {"qcert", "-log", "0", "-slog", "0", "-timeMode", "elapsed", "-sec", sec.c_str(),
                          "-integerT", itol.c_str(), "-primalT", ptol.c_str(), "-solve", "-quit"};
    CbcMain1(int(sizeof argv / sizeof argv[0]), argv, model, no_callback, data);
}

void run_bare(CbcModel& model, double seconds, const SolveOptions& o, BudgetHandler& handler) {
    model.passInEventHandler(&handler);
    model.setMaximumSeconds(seconds);
    model.setUseElapsedTime(true);
    model.setIntegerTolerance(o.integer_tolerance);
    model.solver()->setDblParam(OsiPrimalTolerance, o.primal_tolerance);
    model.initialSolve();
    model.branchAndBound();
}

}  // namespace

SolveResult solve_with_cbc(const Model& m, const Budget& budget, const SolveOptions& o) {
    SolveResult res;
    if (budget.expired()) {
        res.status = SolveStatus::Stopped;
        return res;
    }
    if (m.rows.empty()) {  // CBC refuses empty models; every point of the bounds is a solution
        res.status = SolveStatus::Feasible;
        for (const Var& v : m.vars) res.values.push_back(double(v.lo));
        return res;
    }
    OsiClpSolverInterface solver;
    load(solver, m);
    CbcModel model(solver);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    BudgetHandler handler(budget);
    const double seconds = std::min(budget.seconds_left(), 1e7);
    if (o.full_solver) run_full(model, seconds, o, handler);
    else run_bare(model, seconds, o, handler);

    res.nodes = model.getNodeCount();
    const double* best = model.bestSolution();
    if (best && model.getMinimizationObjValue() < 1e50) {
        res.status = SolveStatus::Feasible;
        res.values.assign(best, best + m.vars.size());
    } else if (budget.expired() || model.isSecondsLimitReached()) {
        res.status = SolveStatus::Stopped;  // checked first: a stopped search proves nothing
    } else if (model.status() == 0 && model.isProvenInfeasible()) {
        res.status = SolveStatus::Infeasible;
    } else {
        res.status = SolveStatus::Failed;
        res.detail = fmt::format("CBC status {} / {}", model.status(), model.secondaryStatus());
    }
    return res;
}

}  // namespace qcert::milp
