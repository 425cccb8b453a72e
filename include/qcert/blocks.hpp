// The affine-block form of a network: x_{k+1} = clamp(act(W_k x_k + b_k), lo_k, hi_k).
//
// Every analysis and every quantization scheme works on this form. Lowering
// folds elementwise affine layers (normalisation, BatchNorm) into the dense
// layer next to them, turns convolutions into dense matrices, drops reshapes
// and merges an activation with a following Clip.
#pragma once

#include "qcert/network.hpp"

namespace qcert {

enum class Act { None, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax };

const char* act_name(Act a);

struct Block {
    std::string name;
    Mat W;  // out x in
    Vec b;
    Act act = Act::None;
    double alpha = 0.0;  // LeakyReLU slope
    double lo = -std::numeric_limits<double>::infinity();  // clamp after the activation
    double hi = std::numeric_limits<double>::infinity();

    int64_t in_size() const { return W.cols(); }
    int64_t out_size() const { return W.rows(); }
    bool piecewise_linear() const { return act == Act::None || act == Act::ReLU || act == Act::LeakyReLU; }
    Vec activate(const Vec& z) const;  // act then clamp
};

struct BlockNet {
    std::string source;
    Shape input_shape;
    std::vector<Block> blocks;
    std::vector<double> input_lo, input_hi;  // copied from the Network

    int64_t input_size() const { return shape_size(input_shape); }
    int64_t output_size() const { return blocks.empty() ? input_size() : blocks.back().out_size(); }
    int64_t parameter_count() const;
    bool piecewise_linear() const;
    Vec forward(const Vec& x) const;
    // Pre-activation values z_k = W_k x_k + b_k of every block.
    std::vector<Vec> preactivations(const Vec& x) const;
};

// Lowers a network to blocks. Throws InputError (naming net.source) when a layer
// cannot be expressed (e.g. an elementwise layer between two activations that
// cannot be folded is kept as a diagonal block, so this only fails on invalid IRs).
BlockNet to_blocks(const Network& net);

// The Network of Dense and activation layers that computes the same function.
Network to_network(const BlockNet& bn);

}  // namespace qcert
