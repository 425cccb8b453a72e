// sign * (g - f)_k along a walk over integer inputs that moves one input at a time: the
// objective of the annealing (errbound_anneal.hpp), in double (a guide: what the search offers
// is re-evaluated exactly), kept up to date through the second layer. A move of input j changes
// every first-layer pre-activation, but
// - g's first-layer outputs only where their rounding changes: g's second layer is updated
//   through those columns only;
// - f's second layer changes by M[:, j] * delta, M = W2 diag(s) W1 / divisor the linear map of a
//   reference pattern s of f's first layer (1 on a neuron's linear piece), plus a correction
//   through the columns of the neurons whose piece differs from the reference before or after
//   the move. M is brought to the current pattern (through the columns of the neurons whose
//   slope changed) once the corrections have cost as much; a reset builds it from scratch.
// The layers above the second are evaluated in full; of the last layer, row k only.
// On 2blk_512_512 under qebverif:4 this made the annealing's moves 7 times faster, on
// 3blk_100_100_100 4 times (bench/bench_anneal.cpp, with the faster round_double).
#pragma once

#include "qcert/errbound.hpp"

#include <cstdint>
#include <vector>

namespace qcert::errbound {

class DifferenceWalk {
public:
    DifferenceWalk(const ErrPair& p, int64_t k, double sign);

    void reset(const std::vector<double>& u);  // the walk is at the point u (from scratch)
    double value();                             // at the current point
    double try_move(int64_t j, double delta);   // after input j moves by delta; the point stays
    void accept();                              // takes the move last tried

private:
    void update_map(bool scratch);
    double top(const Vec& zf, const Vec& zg);

    const ErrPair& p_;
    int64_t k_;
    double sign_;
    const PairLayer &f0_, &g0_;
    Mat W2f_, W2g_, M_;  // the second layers (row k only when last) and f's linear map
    Vec b2f_, b2g_;
    Vec z1f_, z1g_, a1f_, a1g_, z2f_, z2g_;  // the current point: first-layer pre-activations and outputs, second layer
    std::vector<int8_t> pieces_, ref_;       // f's first-layer pieces: now and in M
    int64_t deviating_ = 0;                  // neurons whose piece is not ref's
    double corrections_ = 0;                 // their cost since M was last brought up to date
    int64_t j_ = -1;                         // the move last tried
    double delta_ = 0;
    Vec nf_, ng_, xf_, xg_, yf_, yg_;        // its second layer; the layers above
};

}  // namespace qcert::errbound
