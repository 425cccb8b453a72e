// The energy that local search minimises between two steps of the exact margin.
//
// The exact margin is a staircase: a pixel step moves a first-layer accumulator
// by one weight, while a rounding step spans den / num of them, so almost every
// move leaves every output, and so the margin, unchanged. Three finer terms:
//  - the soft margin: exact hidden layers, the last layer neither rounded nor
//    clamped (one-sided, OutputClamp); it moves when a hidden neuron changes level;
//  - minus the rounding potential: for each neuron of the last hidden layer, its
//    weight in the margin times how close its accumulator is to the rounding step
//    that would help (pos in [0, 1], raised to a power p > 1 so that neurons
//    about to step count most). With weight lambda < 1 a helpful step still lowers
//    the energy by (1 - lambda) times its weight: the potential leads toward
//    steps, the soft margin rewards them;
//  - plus a small multiple of the proxy margin, for moves that change nothing else.
#pragma once

#include "attack/attack.hpp"
#include "attack/incremental.hpp"
#include "attack/objective.hpp"

#include <vector>

namespace qcert::attack {

class Energy {
public:
    Energy(const IntQuery& q, const OutputClamp& clamp, const AttackOptions& opt);
    double operator()(const IncrementalNet& inc, double proxy_margin);

private:
    double potential(const IncrementalNet& inc, const RealMargin& m);

    const IntQuery& q_;
    const OutputClamp& clamp_;
    double lambda_, power_, proxy_weight_;
    std::vector<double> z_;     // last-layer values, not rounded
    std::vector<double> sens_;  // d soft margin / d output of each last-hidden neuron
};

}  // namespace qcert::attack
