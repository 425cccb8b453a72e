// The parameter-robustness problem in the form the search works on: the free
// variables (perturbed parameters, then input coordinates that range over an
// interval), their boxes, and how the network's output becomes a confidence.
// Internal to src/analysis/params*.cpp.
#pragma once

#include "qcert/interval.hpp"
#include "qcert/params.hpp"

#include <vector>

namespace qcert::params_detail {

using Box = std::vector<Interval>;

// The three objectives the search maximises (docs/PARAMS.md):
//   Up:          c(x; theta') - c(x; theta)
//   Down:        c(x; theta) - c(x; theta')
//   ClassChange: -(margin of the nominal class at x, under theta')  (> 0: the class changed)
enum Tag { Up = 0, Down = 1, ClassChange = 2 };

// A search variable: a free parameter of block `layer` (col -1: the bias of `row`),
// or, with layer -1, the input coordinate `row`.
struct Var {
    int layer = -1;
    int row = 0;
    int col = -1;
    bool is_input() const { return layer < 0; }
};

struct Setup {
    const BlockNet* net = nullptr;     // theta: the nominal network
    const Perturbation* pert = nullptr;
    // The perturbed network's fixed part: parameters whose set is a single value take
    // it (a weight beyond a format's range has only the saturated value); the others
    // are variables and are overwritten from the box.
    BlockNet base;
    Confidence conf = Confidence::Softmax;  // resolved (never Auto)
    int outputs = 0;                        // K
    // The last block's output is its pre-activation (no activation, or a softmax or
    // one-output sigmoid that belongs to the confidence): margins y_j - y_i are then
    // computed row against row, which keeps their correlation through shared inputs.
    bool direct_last = false;

    std::vector<Var> vars;                     // parameters first, then inputs
    int param_vars = 0;
    std::vector<std::vector<int>> layer_vars;  // per block, its parameter variables
    std::vector<int> input_vars;               // per input coordinate, its variable or -1

    Box root;                    // outer parameter ranges and the input box
    std::vector<double> inner_lo, inner_hi;  // witnesses are drawn from here
    std::vector<double> input_fixed;  // input coordinates that are not variables (lo == hi)
    bool local = true;

    // The class whose confidence is measured (Up and Down). Locally it is the class f
    // predicts at x. Globally with two classes (or one output) it is fixed to 0 (one
    // output: class 1): |c_0' - c_0| = |c_1' - c_1| for softmax (the probabilities sum
    // to 1), sigmoid and margin alike, so the choice does not change the objective.
    // -1: the class f predicts at each x (global, three or more classes).
    int conf_reference = 0;
    // Local: the class f predicts at x (ClassChange's reference); -1 when global.
    int local_class = -1;
    double nominal_confidence = 0;  // local: c(x; theta)
    int margin_count() const { return outputs == 1 ? 1 : outputs - 1; }
};

Setup make_setup(const BlockNet& net, const Perturbation& p, const ParamsQuery& q);

// The input vector at a point of the variable space.
std::vector<double> input_at(const Setup& s, const std::vector<double>& point);
// The network with the parameters at a point of the variable space.
BlockNet net_at(const Setup& s, const std::vector<double>& point);

}  // namespace qcert::params_detail
