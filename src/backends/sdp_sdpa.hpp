// A semidefinite program in moment-matrix form, solved by SDPA (its C++ API):
//
//   maximize  C . M   subject to  A_j . M = b_j (equalities),  A_j . M >= b_j (inequalities),  M PSD,
//
// with M symmetric of order n and A . M = sum_ij A_ij M_ij. This is SDPA's "dual" problem
// with one SDP block (M) and one LP block (a slack per inequality); SDPA's "primal"
// solution x is the vector of multipliers y (one per constraint), with
// Z = sum_j y_j A_j - C PSD and y_j <= 0 for inequalities at a dual feasible point.
// SDPA works in floating point: its numbers are estimates. A proof has to be built
// from y by the caller (src/analysis/errbound_sdp.cpp does).
#pragma once

#include "qcert/blocks.hpp"

#include <string>
#include <vector>

namespace qcert::sdp {

// One entry of a symmetric matrix: value v at (i, j) AND at (j, i) when i != j
// (so it contributes 2 v M_ij to A . M), at (i, i) when i == j. Entries may repeat (they add).
struct Entry {
    int i = 0, j = 0;
    double v = 0;
};

struct Constraint {
    std::vector<Entry> a;
    double b = 0;
    bool inequality = false;  // A . M >= b; else A . M = b
};

struct Problem {
    int n = 0;                     // order of M
    std::vector<Entry> objective;  // C
    std::vector<Constraint> constraints;
};

struct Solution {
    bool optimal = false;        // SDPA reports pdOPT
    std::string phase;           // SDPA's phase string (pdOPT, pdFEAS, noINFO, ...)
    double value = 0;            // SDPA's estimate of max C . M (its objective at the M found)
    double dual_value = 0;       // sum_j y_j b_j at SDPA's y
    std::vector<double> y;       // one multiplier per constraint
    Mat M;                       // SDPA's moment matrix
    int iterations = 0;
    std::string messages;        // SDPA's diagnostics (it writes them to std::cout; captured)
};

// Solves with SDPA's default parameters, one thread, no output. Calls are serialised (SDPA's
// messages are captured by swapping std::cout's buffer).
Solution solve(const Problem& p);

}  // namespace qcert::sdp
