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
    explicit ParamsBounder(const Setup& s);
    Bounded bound(Box box, int tag, double lower) override;

    // The objective's enclosure and gradient enclosure over a box, for reference class j.
    struct Eval {
        Interval g;
        std::vector<Interval> grad;
    };
    void evaluate(const Box& box, int tag, int j, Eval& out);
    // The reference classes the objective may use somewhere in the box.
    std::vector<int> references(const Box& box, int tag);

private:
    // The class f predicts at a point, in double (a guide for candidates only).
    int point_reference(const std::vector<double>& p, int tag);
    // Estimated objective at a point (double precision), and the gradient there.
    double estimate(const std::vector<double>& p, int tag, std::vector<double>* grad);
    void candidate(const Box& box, int tag, double lower, Bounded& out);

    const Setup& s_;
    IntervalNet pert_, nom_;
    Interval c0_;  // local: c(x; theta)
    Eval scratch_;
};

}  // namespace qcert::params_detail
