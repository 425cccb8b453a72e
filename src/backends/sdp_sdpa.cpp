// The SDPA back end (see sdp_sdpa.hpp): SDPA's dual problem
//   max F0 . Y  s.t.  Fj . Y = c_j, Y PSD,   Y = diag(M, s), s >= 0 the LP block of slacks,
// with F0 = diag(C, 0), Fj = diag(A_j, -e_j) for an inequality, diag(A_j, 0) for an equality,
// c_j = b_j. SDPA's primal vector x is then the multiplier vector y.
#include "backends/sdp_sdpa.hpp"

#include <sdpa_call.h>

#include <dlfcn.h>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace qcert::sdp {

namespace {

// SDPA wants each upper-triangle element once: repeated entries are summed first.
std::map<std::pair<int, int>, double> merged(const std::vector<Entry>& entries, int n) {
    std::map<std::pair<int, int>, double> m;
    for (const Entry& e : entries) {
        if (e.i < 0 || e.j < 0 || e.i >= n || e.j >= n) throw std::logic_error("sdp: entry outside the matrix");
        m[{std::min(e.i, e.j), std::max(e.i, e.j)}] += e.v;
    }
    return m;
}

// SDPA's matrices are small: OpenBLAS's worker threads only spin (sched_yield) against the
// rest of the machine, dozens of times slower on a loaded one. One BLAS thread, whichever
// BLAS is installed (the symbol exists only in OpenBLAS).
void single_threaded_blas() {
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
}

}  // namespace

Solution solve(const Problem& p) {
    int inequalities = 0;
    for (const Constraint& c : p.constraints) inequalities += c.inequality ? 1 : 0;
    if (p.n <= 0 || p.constraints.empty()) throw std::logic_error("sdp: empty problem");
    // One SDPA at a time: std::cout's buffer is swapped below (and SDPA keeps global state).
    static std::mutex one_at_a_time;
    const std::lock_guard<std::mutex> lock(one_at_a_time);
    single_threaded_blas();
    SDPA s;
    s.setParameterType(SDPA::PARAMETER_DEFAULT);
    s.setDisplay(nullptr);
    s.setResultFile(nullptr);
    s.setNumThreads(1);
    const int m = int(p.constraints.size());
    s.inputConstraintNumber(m);
    s.inputBlockNumber(inequalities ? 2 : 1);
    s.inputBlockSize(1, p.n);
    s.inputBlockType(1, SDPA::SDP);
    if (inequalities) {
        s.inputBlockSize(2, -inequalities);  // SDPA: a negative size is a diagonal (LP) block
        s.inputBlockType(2, SDPA::LP);
    }
    s.initializeUpperTriangleSpace();
    for (const auto& [ij, v] : merged(p.objective, p.n))
        if (v != 0) s.inputElement(0, 1, ij.first + 1, ij.second + 1, v);
    int slack = 0;
    for (int j = 0; j < m; ++j) {
        const Constraint& c = p.constraints[size_t(j)];
        s.inputCVec(j + 1, c.b);
        for (const auto& [ij, v] : merged(c.a, p.n))
            if (v != 0) s.inputElement(j + 1, 1, ij.first + 1, ij.second + 1, v);
        if (c.inequality) {
            ++slack;
            s.inputElement(j + 1, 2, slack, slack, -1.0);
        }
    }
    // SDPA prints its diagnostics to std::cout, where qcert's JSON goes: kept in r.messages instead.
    std::ostringstream messages;
    std::streambuf* const cout_buffer = std::cout.rdbuf(messages.rdbuf());
    try {
        s.initializeUpperTriangle();
        s.initializeSolve();
        s.solve();
    } catch (...) {
        std::cout.rdbuf(cout_buffer);
        throw;
    }
    std::cout.rdbuf(cout_buffer);

    Solution r;
    r.messages = messages.str();
    char phase[64] = {0};
    s.getPhaseString(phase);
    r.phase = std::string(phase);
    while (!r.phase.empty() && r.phase.back() == ' ') r.phase.pop_back();
    r.optimal = s.getPhaseValue() == SDPA::pdOPT;
    r.iterations = s.getIteration();
    r.value = s.getDualObj();     // F0 . Y: our objective at SDPA's M
    r.dual_value = s.getPrimalObj();  // c . x: our dual bound
    const double* x = s.getResultXVec();
    r.y.assign(x, x + m);
    const double* Y = s.getResultYMat(1);
    r.M.resize(p.n, p.n);
    for (int i = 0; i < p.n; ++i)
        for (int k = 0; k < p.n; ++k) r.M(i, k) = Y[i + p.n * k];
    s.terminate();
    return r;
}

}  // namespace qcert::sdp
