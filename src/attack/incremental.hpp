// Exact integer inference that follows single-coordinate changes of the input.
//
// Local search changes one input at a time. Re-running the whole network costs
// in_size * width multiplications in the first layer alone; here the exact
// accumulators of every layer are kept, a change of x_j adds delta * W(:, j) to
// the first layer, and only the neurons whose output actually moved pass their
// change on. Because accumulators are exact sums, undoing a move (setting x_j
// back) restores the state exactly. Outputs equal IntNetwork::eval bit for bit.
#pragma once

#include "qcert/quant.hpp"

#include <cstdint>
#include <vector>

namespace qcert::attack {

class IncrementalNet {
public:
    explicit IncrementalNet(const IntNetwork& net);

    void reset(const std::vector<int64_t>& x);  // full evaluation
    void set(int64_t j, int64_t v);             // x_j = v, sparse propagation

    const std::vector<int64_t>& input() const { return val_.front(); }
    const std::vector<int64_t>& output() const { return val_.back(); }
    // Layer k's exact accumulators, outputs, and for each neuron the interval of
    // accumulators that keep its output: how far it is from its next rounding
    // step, which the integer outputs alone do not show.
    const std::vector<__int128>& accumulators(size_t k) const { return acc_[k]; }
    const std::vector<int64_t>& outputs(size_t k) const { return val_[k + 1]; }
    const std::vector<__int128>& keep_lo(size_t k) const { return keep_lo_[k]; }
    const std::vector<__int128>& keep_hi(size_t k) const { return keep_hi_[k]; }

private:
    void propagate_from(size_t k);  // layers k.. from the pending changes of layer k's input
    // Output of neuron i of layer k for its accumulator, refreshing its keep interval.
    int64_t rescale(size_t k, size_t i);

    const IntNetwork& net_;
    std::vector<std::vector<int64_t>> wt_;        // per layer W transposed: column j contiguous
    std::vector<std::vector<__int128>> acc_;      // exact accumulators, before the overflow policy
    std::vector<std::vector<__int128>> keep_lo_, keep_hi_;  // accumulators that keep the current output
    std::vector<std::vector<int64_t>> val_;       // val_[0] = x, val_[k + 1] = layer k's output
    std::vector<std::pair<int64_t, int64_t>> changed_, next_changed_;  // (index, delta) of the last layer touched
};

}  // namespace qcert::attack
