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
    // Output quantization (fixed-point activations on a real-valued network): with out_step > 0
    // the output, after the activation and the clamp, is rounded to the nearest multiple of
    // out_step (ties to even, as ONNX QuantizeLinear) and saturated to [out_min, out_max]
    // (multiples of out_step). out_step is a power of two. 0: the output stays real.
    double out_step = 0;
    double out_min = -std::numeric_limits<double>::infinity();
    double out_max = std::numeric_limits<double>::infinity();

    int64_t in_size() const { return W.cols(); }
    int64_t out_size() const { return W.rows(); }
    bool piecewise_linear() const { return act == Act::None || act == Act::ReLU || act == Act::LeakyReLU; }
    bool quantized_output() const { return out_step > 0; }
    Vec activate(const Vec& z) const;  // act, clamp, then the output quantization
    double quantize_output(double v) const;  // the output quantization of one value (v when real)
};

// x rounded to the nearest integer, ties to even (exact for every finite double).
double round_half_even(double x);

struct BlockNet {
    std::string source;
    Shape input_shape;
    std::vector<Block> blocks;
    std::vector<double> input_lo, input_hi;  // copied from the Network

    int64_t input_size() const { return shape_size(input_shape); }
    int64_t output_size() const { return blocks.empty() ? input_size() : blocks.back().out_size(); }
    int64_t parameter_count() const;
    bool piecewise_linear() const;
    bool quantized_activations() const;  // some block has a quantized output
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
