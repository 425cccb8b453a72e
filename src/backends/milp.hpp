// The MILP back end: decides an IntQuery exactly with CBC (see milp_encoding.hpp
// for the encoding, milp_cbc.cpp for why CBC's answers can be trusted).
#pragma once

#include "qcert/bounds.hpp"
#include "qcert/method.hpp"

#include <memory>

namespace qcert {

struct MilpOptions {
    // One MILP per disjunct of the unsafe set (only the outputs it reads encoded),
    // instead of one MILP with a binary per disjunct.
    bool per_disjunct = true;
    // CBC's stand-alone solver (CbcMain1: preprocessing, cuts, heuristics; calls
    // serialised) instead of a CbcModel set up here with the candidate check.
    bool full_solver = false;
    // When a disjunct's MILP is not decided within first_slice_s, narrow the neuron
    // bounds to the inputs that meet it (milp_tighten.hpp, at most this many passes
    // over the layers; 0: never) and solve it again on them. Off by default: on the
    // AAAI 2021 queries the narrowing costs more than it saves (bench/RESULTS.md);
    // method "milp-obbt" turns it on.
    int tighten_rounds = 0;
    double first_slice_s = 2.0;
    // Solve each disjunct first with the inputs continuous (a relaxation: its
    // "infeasible" rules the disjunct out too); when that has a solution, look for an
    // integer input that gives the first layer the same outputs (milp_realise.hpp), and
    // if there is none, do the same from a solution with the first layer's rounding
    // remainders kept inside their bands (at most half the time left); then the
    // exact model. Method "milp-relax", the default portfolio's MILP.
    bool relax_inputs = false;
};

// Method "milp": complete; Violated only with a re-checked counterexample.
std::unique_ptr<Method> make_milp_method(const MilpOptions& options = {});

// The same with caller-supplied sound bounds over the query box (e.g. symbolic
// bounds, tighter than interval_bounds): fewer unstable neurons, smaller big-M.
Outcome run_milp(const IntQuery& q, const Budget& budget, const IntBounds& bounds, const MilpOptions& options = {});
// With symbolic bounds (over the query box): they also rule out whole disjuncts.
Outcome run_milp(const IntQuery& q, const Budget& budget, const SymbolicBounds& sb, const MilpOptions& options = {});

}  // namespace qcert
