// A multilayer perceptron trained with Adam on softmax cross-entropy.
//
// Dense layers with ReLU (or no) activations between them; the last layer gives
// logits. Everything is deterministic: single-threaded Eigen arithmetic and all
// randomness from one seeded Rng.
#pragma once

#include "qcert/network.hpp"
#include "rng.hpp"

#include <cstdint>
#include <vector>

namespace qcert::train {

// Samples as columns of X (features x count), with their classes.
struct Samples {
    Mat X;
    std::vector<int> y;
    int64_t count() const { return X.cols(); }
};

struct AdamConfig {
    double lr = 1e-3;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class Mlp {
public:
    // sizes = {inputs, hidden..., classes}; weights drawn from rng (He uniform
    // for ReLU layers, Glorot uniform for linear ones), biases zero.
    Mlp(const std::vector<int64_t>& sizes, bool relu, Rng& rng);

    Mat logits(const Mat& X) const;
    double accuracy(const Samples& s) const;
    double mean_loss(const Samples& s) const;

    // One pass over the samples in a random order, in mini-batches; returns the
    // mean training loss of the epoch.
    double train_epoch(const Samples& s, int64_t batch, const AdamConfig& cfg, Rng& rng);

    // The trained network: an optional flatten from input_shape, then Dense
    // layers with ReLU between them (none for a linear MLP), logits out.
    Network to_network(const Shape& input_shape) const;

private:
    double step(const Mat& X, const std::vector<int>& y, const AdamConfig& cfg);  // returns batch loss

    bool relu_;
    std::vector<Mat> W_, mW_, vW_;
    std::vector<Vec> b_, mb_, vb_;
    int64_t t_ = 0;  // Adam steps taken
};

}  // namespace qcert::train
