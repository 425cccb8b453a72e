// The search for inputs where |g - f| is large: the lower bound of `qcert bound`.
// Every value it reports comes from exact_difference (f in double, g in its own
// semantics) at an input inside the region.
#pragma once

#include "qcert/errbound.hpp"

#include <mutex>
#include <random>
#include <vector>

namespace qcert::errbound {

// The best inputs found so far, per output and over all chosen outputs; thread-safe.
class BestInputs {
public:
    explicit BestInputs(std::vector<int64_t> outputs);
    // Evaluates g - f at u exactly and keeps it if it beats the best; returns max_k |d_k|.
    double offer(const ErrPair& p, const std::vector<double>& u);
    double value() const;               // max over outputs, -1 before the first offer
    std::vector<double> witness() const;
    int64_t witness_output() const;
    std::vector<double> per_output() const;  // aligned with the outputs
    double output_value(int64_t output) const;  // the best |g - f| of network output `output`, -1 before
    std::vector<std::vector<double>> per_output_witness() const;

private:
    std::vector<int64_t> outputs_;
    mutable std::mutex mu_;
    double best_ = -1;
    std::vector<double> witness_;
    int64_t witness_output_ = -1;
    std::vector<double> per_output_;
    std::vector<std::vector<double>> per_output_witness_;
};

// Projected sign-gradient ascent on s * (g - f)_k from `start` (gradients of the real
// forms of both networks; an integer twin's rounding is ignored for the direction only),
// each iterate re-evaluated exactly. Integer regions move by whole units.
void gradient_ascent(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                     double sign, std::vector<double> start, int steps, BestInputs& best);

// Coordinate search from `start`: each input in turn (largest gradient first) is moved to its
// low and its high end, and a move is kept when the exact s * (g - f)_k grows; repeated
// until a pass improves nothing or `passes` passes.
void coordinate_search(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                       double sign, std::vector<double> start, BestInputs& best, int passes);

// `count` uniformly random inputs of the box (integers in an integer region).
void random_inputs(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int count,
                   std::mt19937_64& rng, BestInputs& best);

}  // namespace qcert::errbound
