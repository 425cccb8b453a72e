// A real-valued stand-in for the integer network, to take gradients on.
//
// Each hidden layer is computed in doubles without rounding:
//   y = clamp((W (x - in_zero) + b) * num / den + out_zero, lo, hi),
// a piecewise-linear function whose (sub)gradient is the product of the weights
// of the neurons strictly inside their clamp range. The last layer is given
// before its clamp: a saturated output (the label's score stuck at the top of its
// range, say) would otherwise have no gradient at all, although it is exactly the
// value that must come down; the objective decides how to clamp it
// (OutputClamp in objective.hpp). The proxy is only a guide: candidates are judged on the integers.
#pragma once

#include "attack/objective.hpp"
#include "qcert/quant.hpp"

#include <Eigen/Dense>
#include <vector>

namespace qcert::attack {

class RealProxy {
public:
    explicit RealProxy(const IntNetwork& net);

    // Last-layer values before the clamp at x; keeps what gradient() needs.
    const Eigen::VectorXd& forward(const Eigen::VectorXd& x);
    // d(sum_i c_i clamp.value(i, z_i))/dx at the last forward point, for
    // last-layer coefficients c (the objective's clamp, objective.hpp).
    Eigen::VectorXd gradient(const Eigen::VectorXd& c, const OutputClamp& clamp) const;

    // Last-layer values after x_j += delta, from the kept first-layer
    // pre-activations (for local search); commit() makes it the new point,
    // otherwise it is discarded.
    const Eigen::VectorXd& try_move(int64_t j, double delta);
    void commit();

private:
    struct Layer {
        Eigen::MatrixXd W;  // out x in, already scaled by num / den
        Eigen::VectorXd c;  // (b - W in_zero) * num / den + out_zero
        double lo, hi;
    };
    // Every layer from the first layer's pre-activations pre[0].
    void run(std::vector<Eigen::VectorXd>& pre, std::vector<Eigen::VectorXd>& post) const;

    std::vector<Layer> layers_;
    std::vector<Eigen::VectorXd> pre_, post_;              // per layer, at the current point
    std::vector<Eigen::VectorXd> trial_pre_, trial_post_;  // at the last try_move
};

}  // namespace qcert::attack
