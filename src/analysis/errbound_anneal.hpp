// Simulated annealing over the integer inputs of a box: the counterexample search of
// `qcert bound` for an integer twin, where rounding makes gradients useless. A move sets one
// input to another integer of its range; the objective follows the moves through the second
// layer of both networks (DifferenceWalk, errbound_walk.hpp), in double (a guide only): every
// input that beats the best known for its output is offered to BestInputs, which re-evaluates it
// exactly.
#pragma once

#include "analysis/errbound_search.hpp"

#include <atomic>
#include <random>
#include <vector>

namespace qcert::errbound {

struct AnnealOptions {
    double seconds = 1;        // wall-clock budget
    double stop_above = -1;    // stop once the best value over the outputs exceeds it (eps); < 0: never
    int64_t moves_per_input = 1000;  // moves per restart, per input of the box (at least 1000)
    int restarts = -1;              // at most this many restarts (< 0: until the time is up)
    const std::atomic<bool>* cancel = nullptr;  // stops the search when set (e.g. eps proved meanwhile)
};

// Maximises sign * (g - f)_output over the integer points of [lo, hi] (an integer region:
// p.integer_region()). Even restarts refine the best point so far (`start` at first, a point of
// the box) from 3 % of a temperature measured on random moves, odd ones start at uniformly
// random points from the full temperature; each cools geometrically to a thousandth of its
// start over its moves or half of the time left, whichever ends first (so that it cools where
// moves are slow: 2blk_512_512 once made 2 % of a restart's 784,000 moves in its time). Returns
// the number of moves evaluated.
int64_t anneal(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
               double sign, const std::vector<double>& start, const AnnealOptions& o, std::mt19937_64& rng,
               BestInputs& best);

}  // namespace qcert::errbound
