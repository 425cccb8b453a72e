// Bounding the parameter-robustness objectives over a box (docs/PARAMS.md, "Method"):
//
//  1. Monotonicity: where the gradient enclosure of the objective has one sign over
//     the whole box, the maximum lies on that face; the variable is fixed there.
//  2. The upper bound is the smaller of the natural interval extension and the
//     mean-value form g(m) + sum_i G_i (B_i - m_i) (G: gradient enclosure, m: the
//     midpoint), which shrinks quadratically with the box and undoes the
//     dependency between c(x; theta') and c(x; theta).
//  3. A candidate point: the vertex the gradient at the midpoint points to, improved
//     by a few such steps, certified in MPFR when it may beat the best so far.
// Internal to src/analysis/params*.cpp.
#pragma once

#include "params_interval_net.hpp"
#include "params_search.hpp"

namespace qcert::params_detail {

class ParamsBounder : public Bounder {
public:
    // Boxes whose bound is within `skip_margin` of the best value so far get no
    // candidate point (a point there could not move the answer by more than that).
    ParamsBounder(const Setup& s, double skip_margin);
    Bounded bound(Box box, int tag, double lower) override;
    Bounded seed(std::vector<double> point, int tag, double lower) override;

    // The objective's enclosure and gradient enclosure over a box, for reference class j.
    struct Eval {
        Interval g;
        std::vector<Interval> grad;
    };
    // Without `gradient`, only out.g is computed (a value at a point needs no backward pass).
    void evaluate(const Box& box, int tag, int j, Eval& out, bool gradient = true);
    // The reference classes the objective may use somewhere in the box.
    std::vector<int> references(const Box& box, int tag);

    // The class f predicts at a point, in double (a guide for candidates only).
    int point_reference(const std::vector<double>& p, int tag);
    // Estimated objective at a point (double precision), and the gradient there.
    double estimate(const std::vector<double>& p, int tag, std::vector<double>* grad);
    // Local ascent from p (objective value and gradient there) within the box, at most
    // `evaluations` steps; p becomes the best point found, whose estimate is returned.
    double ascent(const Box& box, int tag, std::vector<double>& p, double value, std::vector<double> grad, int evaluations);
    // Sets out.point / out.value to p with its MPFR value, when p may beat `lower`.
    void certify(std::vector<double>&& p, double estimate_value, int tag, double lower, Bounded& out);

private:
    // From the box's midpoint m (with the bound's evaluation there, when it has one).
    void candidate(const Box& box, int tag, double lower, const std::vector<double>& m, const Eval* at_m, Bounded& out);

    const Setup& s_;
    IntervalNet pert_, nom_;
    double skip_margin_;
    Interval c0_;  // local: c(x; theta)
    Eval scratch_, mid_;
    Box point_;                 // scratch: a point as a box
    std::vector<Interval> du_, du0_;  // scratch: the confidence's gradients (perturbed, nominal)
};

}  // namespace qcert::params_detail
