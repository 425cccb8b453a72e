// Solving a milp::Model with COIN-OR CBC.
//
// Trust. CBC computes in double precision with tolerances. The models built here
// have integer coefficients and bounds only (milp_model.hpp): at an integer point every
// row activity is an integer that double arithmetic computes exactly (below 2^53), and
// a row is either met or missed by at least 1, far beyond any tolerance. An integer
// solution of the model can therefore not be mistaken for an infeasible one by the
// feasibility test itself; what remains is trust in CBC's LP infeasibility proofs and
// cuts, the usual trust placed in a MILP solver (QVIP relies on Gurobi in the same way).
// The other direction needs no trust: a feasible point is only a candidate, and milp.cpp
// re-runs the integer network on it.
// Limit. The argument covers integer points only, not CBC's LP at fractional points, whose
// rounding errors grow with the row activities (double keeps 53 bits; the primal tolerance
// is 1e-9, about 2^-30). It fails in practice: on the error bounds' pair model (coefficients
// up to 2^24, row activities up to 2^38) CBC answered "infeasible" with the input variables
// fixed to points at which the model has an exact solution (tests/unit/analysis/
// test_errbound_pair_milp.cpp), so errbound_pair_milp.cpp does not trust "infeasible" at all.
// So "infeasible" is trusted only inside the range that tests/unit/backends/test_milp.cpp
// checks the same way (models of real and random networks, inputs fixed at points of the
// box, CBC must find the exact solution): coefficients and bounds below 2^24, activities
// below 2^27 (infeasible_trusted). verify's models of the published networks stay far
// inside (AAAI 2021: 2^13 and 2^18; QVIP 10-bit: 2^18.5 and 2^23).
#include "backends/milp_cbc.hpp"

#include <CbcEventHandler.hpp>
#include <CbcHeuristic.hpp>
#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CbcStrategy.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

#include <cmath>
#include <fmt/format.h>
#include <mutex>

namespace qcert::milp {

namespace {

// What the candidate heuristic shares with its clones and with the event handler.
struct CandidateState {
    const CandidateCheck* check = nullptr;
    int columns = 0;
    bool found = false;
    std::vector<double> values;
    bool stopped = false;            // some handler asked CBC to stop
};

// Hands the LP solution of every node to the caller's check (which rounds the
// inputs and runs the exact network: much better at finding counterexamples than
// CBC's generic heuristics, which must satisfy every rounding row at once).
// It never gives CBC a solution; when the check succeeds the search is stopped.
class CandidateHeuristic : public CbcHeuristic {
public:
    CandidateHeuristic(CbcModel& model, CandidateState* state) : CbcHeuristic(model), state_(state) {
        setWhen(3);
        setHeuristicName("qcert candidate");
    }
    CbcHeuristic* clone() const override { return new CandidateHeuristic(*this); }
    void resetModel(CbcModel* model) override { model_ = model; }
    bool shouldHeurRun(int) override { return true; }
    int solution(double&, double*) override {
        const OsiSolverInterface* s = model_->solver();
        // A heuristic's sub-model may have other columns; the check re-verifies anyway.
        if (state_->found || !state_->check || s->getNumCols() != state_->columns) return 0;
        const double* x = s->getColSolution();
        std::vector<double> v(x, x + state_->columns);
        if ((*state_->check)(v)) {
            state_->found = true;
            state_->values = std::move(v);
            model_->sayEventHappened();
        }
        return 0;
    }

private:
    CandidateState* state_;
};

// Stops CBC when the budget runs out, the caller raises the cancel flag, the
// candidate check has succeeded, or (optionally) a solution has been found: any
// solution answers the query (setMaximumSolutions does not count heuristic ones).
//
// CBC clones this handler into the small branch and bounds of its heuristics, and
// a stop there can end the main search with "infeasible" although a solution exists
// (seen in the brute-force tests). So after any stop an infeasible answer is not
// trusted, and a solution stop that leaves no solution behind is run again without.
class StopHandler : public CbcEventHandler {
public:
    StopHandler(const Budget& budget, CandidateState* state, bool at_solution)
        : budget_(&budget), state_(state), at_solution_(at_solution) {}
    CbcAction event(CbcEvent e) override {
        const bool solved = at_solution_ && (e == solution || e == heuristicSolution);
        if (!state_->found && !solved && !budget_->expired()) return noAction;
        state_->stopped = true;
        return stop;
    }
    CbcEventHandler* clone() const override { return new StopHandler(*this); }

private:
    const Budget* budget_;
    CandidateState* state_;
    bool at_solution_;
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
    for (const auto& [v, c] : m.objective) obj[v] += c;
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

}  // namespace

void load_model(OsiClpSolverInterface& s, const Model& m) { load(s, m); }

namespace {

int no_callback(CbcModel*, int) { return 0; }

// CbcMain1 keeps global state in CBC 2.10 (coin-or/Cbc#332): one call at a time.
std::mutex& cbc_main_mutex() {
    static std::mutex m;
    return m;
}

void run_full(CbcModel& model, double seconds, const SolveOptions& o, StopHandler& handler) {
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

// A CbcModel with CBC's default cuts and heuristics but no preprocessing (which
// would renumber the columns the candidate check reads), plus the candidate heuristic.
void run_model(CbcModel& model, double seconds, const SolveOptions& o, StopHandler& handler, CandidateState& state) {
    model.passInEventHandler(&handler);
    model.setMaximumSeconds(seconds);
    model.setUseElapsedTime(true);
    model.setIntegerTolerance(o.integer_tolerance);
    model.solver()->setDblParam(OsiPrimalTolerance, o.primal_tolerance);
    CbcStrategyDefault strategy(1, 5, 5, 0);
    strategy.setupPreProcessing(0);
    model.setStrategy(strategy);
    if (o.candidate) {
        CandidateHeuristic h(model, &state);
        model.addHeuristic(&h);
    }
    model.initialSolve();
    model.branchAndBound();
}

}  // namespace

bool infeasible_trusted(const Model& m) {
    return m.max_magnitude() < (i128(1) << kTrustedMagnitudeBits) && m.max_activity() < (i128(1) << kTrustedActivityBits);
}

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
    // Clamp phases first, inputs last: fixing a clamp's phase tightens the LP for
    // every neuron after it, while one input of hundreds moves it little.
    std::vector<int> priorities;
    for (const Var& v : m.vars)
        if (v.integer) priorities.push_back(v.priority);
    model.passInPriorities(priorities.data(), false);
    CandidateState state;
    state.check = o.candidate ? &o.candidate : nullptr;
    state.columns = int(m.vars.size());
    StopHandler handler(budget, &state, o.stop_at_solution);
    const double seconds = std::min(budget.seconds_left(), 1e7);
    if (o.full_solver) run_full(model, seconds, o, handler);
    else run_model(model, seconds, o, handler, state);

    res.nodes = model.getNodeCount();
    const double* best = model.bestSolution();
    if (state.found) {
        res.status = SolveStatus::Candidate;
        res.values = std::move(state.values);
    } else if (best && model.getMinimizationObjValue() < 1e50) {
        res.status = SolveStatus::Feasible;
        res.values.assign(best, best + m.vars.size());
        res.optimal = !state.stopped && model.isProvenOptimal();
    } else if (budget.expired() || model.isSecondsLimitReached()) {
        res.status = SolveStatus::Stopped;  // checked first: a stopped search proves nothing
    } else if (state.stopped && o.stop_at_solution) {
        SolveOptions again = o;  // a stop in a heuristic's sub-search lost its solution
        again.stop_at_solution = false;
        return solve_with_cbc(m, budget, again);
    } else if (!state.stopped && model.status() == 0 && model.isProvenInfeasible()) {
        res.status = SolveStatus::Infeasible;
    } else {
        res.status = SolveStatus::Failed;
        res.detail = fmt::format("CBC status {} / {}", model.status(), model.secondaryStatus());
    }
    return res;
}

}  // namespace qcert::milp
