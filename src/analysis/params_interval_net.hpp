// The network over a box of parameters and inputs, in outward-rounded interval
// arithmetic: enclosures of every value, of the reference margins, and of the
// gradient of a function of the margins with respect to every search variable
// (backward mode, interval chain rule). Internal to src/analysis/params*.cpp.
//
// Gradient enclosures are sound for ReLU too: at a kink the derivative enclosure
// is [0, 1], which contains Clarke's generalised gradient, and the interval chain
// rule over-approximates Clarke's. That is what the mean-value form and the
// monotonicity test of the search need (docs/PARAMS.md).
#pragma once

#include "params_setup.hpp"

#include <vector>

namespace qcert::params_detail {

// A block's activation followed by its clamp, over an interval of pre-activations.
Interval block_output(const Block& b, Interval z);
// An enclosure of the derivative of block_output at every point of z (Clarke's at kinks).
Interval block_derivative(const Block& b, Interval z);
// The confidence of the margins u (Setup::conf) and its gradient enclosure du with respect to them.
Interval confidence(const Setup& s, const std::vector<Interval>& u, std::vector<Interval>& du);

class IntervalNet {
public:
    explicit IntervalNet(const Setup& s);

    // Evaluates over `box` (one interval per search variable). With `nominal`, the
    // parameters are the network's own (theta) and only the input variables are read.
    void forward(const Box& box, bool nominal);

    // Logit enclosures after forward() (the last block's pre-activation when direct).
    std::vector<Interval> logits() const;
    // The margins of reference class j after forward(): y_j - y_i for i != j (in
    // class order), or y (j = 1) / -y (j = 0) for one output.
    const std::vector<Interval>& margins(int j);
    // After margins(j): the gradient enclosure of sum_i du[i] * u_i with respect to
    // every search variable (parameter variables are 0 after a nominal forward).
    const std::vector<Interval>& backward(const std::vector<Interval>& du);

private:
    void load_params(const Box& box, bool nominal);
    Interval derivative(size_t k, size_t i) const;  // of block k's activation and clamp at z_k[i]

    const Setup& s_;
    std::vector<std::vector<Interval>> nominal_W_, nominal_b_;  // point intervals of theta
    std::vector<std::vector<Interval>> W_, b_;                  // this pass's parameters (row-major W)
    std::vector<std::vector<Interval>> x_;                      // x_[k]: the input of block k; x_[L]: the output
    std::vector<std::vector<Interval>> z_;                      // pre-activations
    bool nominal_ = false;
    int ref_ = 0;
    std::vector<Interval> u_;
    std::vector<Interval> grad_;
    std::vector<Interval> gx_, gz_, gy_;                        // scratch
};

}  // namespace qcert::params_detail
