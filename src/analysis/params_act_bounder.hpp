// Branch and bound over hidden activations instead of parameters (docs/PARAMS.md,
// "Branching on activations"). Internal to src/analysis/params*.cpp.
//
// The fact it rests on: for a point input h, the outputs of one block range over an
// exact box when its weights and biases range over a box, because every output row
// has parameters of its own. So the parameters never need splitting: the search
// variables are the free input coordinates and, for all hidden layers but the last,
// the offsets e_k = (theta'_k - theta_k) h_k + (b'_k - b_k) that the perturbation adds
// to the pre-activations z_k = theta_k h_k + b_k + e_k, each kept inside the range the
// layer's parameters can reach for the inputs of the box ("consistency"). Offsets,
// not the pre-activations themselves, so that the input's effect on z_k goes through
// the nominal weights and the mean-value form sees it, in c(x; theta') and c(x; theta)
// alike. The last two blocks are maximised out in closed form. For two
// classes (or one output) the objective is monotone in the single margin u, and at
// a point of the variables the largest u is a sum over the last hidden layer of the
// best corner of (margin weight) x (activation): the bound is then exact, so the
// search closes any gap in the limit (delta-completeness), with a handful of
// dimensions (8 for the bundled 2-8-8-2 networks) instead of ~100.
#pragma once

#include "params_objective.hpp"

namespace qcert::params_detail {

class ActBounder : public Bounder {
public:
    ActBounder(const Setup& s, double skip_margin);
    // Usable when there is a single margin (two classes or one output) and the last
    // block's output is its pre-activation.
    static bool applicable(const Setup& s);
    // The root box of the activation variables (inputs, then z_0, z_1, ...).
    static Box root(const Setup& s);

    Bounded bound(Box box, int tag, double lower) override;
    Bounded seed(std::vector<double> point, int tag, double lower) override { return param_.seed(std::move(point), tag, lower); }

    // The parameter-space point (Setup::vars) that realises the activation point `a`
    // (inputs and z targets, clamped to what is reachable) and, for the last two
    // blocks, maximises `sign * u` for reference class j. Exposed for tests.
    std::vector<double> realise(const std::vector<double>& a, int j, double sign) const;

private:
    struct Eval {
        Interval g;
        std::vector<Interval> grad;  // per activation variable
    };
    // The relaxed objective over the box (for reference j): the natural enclosure and
    // the gradient enclosure with respect to the inputs and the last z layer.
    void evaluate(const Box& box, int tag, int j, Eval& out);
    // Tightens every z layer to the image of the one before; false when a layer is empty.
    bool tighten(Box& box) const;
    std::vector<Interval> inputs_of(const Box& box) const;
    // One block's pre-activations with the outer parameter ranges (or theta), from input intervals.
    void block_pre(size_t k, const std::vector<Interval>& in, std::vector<Interval>& out, bool nominal) const;
    // The offsets (theta'_k - theta_k) h + (b'_k - b_k) that block k's parameters can add for inputs h.
    void offset_image(size_t k, const std::vector<Interval>& in, std::vector<Interval>& out) const;
    // The perturbed chain up to the input of block L-2: z_k = theta_k h_k + e_k, h_{k+1} = act(z_k).
    std::vector<Interval> chain(const Box& box, std::vector<std::vector<Interval>>* zs) const;
    // The margin u of reference j for the last block's input a, and du/da.
    Interval margin(const std::vector<Interval>& a, int j, bool nominal, std::vector<Interval>* grad_a, Interval du) const;
    // The objective value and its derivative from the margin (tags Up/Down/ClassChange share it).
    Interval scalar_confidence(Interval u, Interval* du) const;

    const Setup& s_;
    ParamsBounder param_;  // parameter-space evaluation at points, seeds, certificates
    double skip_margin_;
    size_t L_ = 0;
    size_t inputs_ = 0;              // free input coordinates (first activation variables)
    std::vector<size_t> z_offset_;   // per branch layer, its first variable
    std::vector<std::vector<Interval>> W_, b_, nW_, nb_;  // outer ranges and theta, per block, row-major
    std::vector<std::vector<Interval>> dW_, db_;          // theta' - theta over the outer ranges
    std::vector<std::vector<int>> index_;  // per block, row * (cols + 1) + col + 1 -> parameter variable or -1
    Interval local_c0_[2];                 // local: c(x; theta) per reference class, once computed
    bool local_c0_set_[2] = {false, false};
};

}  // namespace qcert::params_detail
