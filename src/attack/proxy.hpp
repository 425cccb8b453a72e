// A real-valued stand-in for the integer network, to take gradients on.
//
// Each layer is computed in doubles without rounding:
//   y = clamp((W (x - in_zero) + b) * num / den + out_zero, lo, hi),
// a piecewise-linear function of the input whose (sub)gradient is the product of
// the weights of the neurons that are strictly inside their clamp range. It is
// only a guide for the search: every candidate is judged on the exact integers.
#pragma once

#include "qcert/quant.hpp"

#include <Eigen/Dense>
#include <vector>

namespace qcert::attack {

class RealProxy {
public:
    explicit RealProxy(const IntNetwork& net);

    // Outputs at x; keeps what gradient() needs.
    const Eigen::VectorXd& forward(const Eigen::VectorXd& x);
    // d(c . y)/dx at the last forward point, for output coefficients c.
    Eigen::VectorXd gradient(const Eigen::VectorXd& c) const;

    // Outputs after x_j += delta, from the kept first-layer pre-activations (for
    // local search); commit() makes it the new point, otherwise it is discarded.
    const Eigen::VectorXd& try_move(int64_t j, double delta);
    void commit();

    int64_t input_size() const { return in_size_; }

private:
    struct Layer {
        Eigen::MatrixXd W;  // out x in, already scaled by num / den
        Eigen::VectorXd c;  // (b - W in_zero) * num / den + out_zero
        double lo, hi;
    };
    // Layers after the first, from the first layer's pre-activations.
    void run(std::vector<Eigen::VectorXd>& pre, std::vector<Eigen::VectorXd>& post) const;

    std::vector<Layer> layers_;
    int64_t in_size_ = 0;
    std::vector<Eigen::VectorXd> pre_, post_;              // per layer, at the current point
    std::vector<Eigen::VectorXd> trial_pre_, trial_post_;  // at the last try_move
};

}  // namespace qcert::attack
