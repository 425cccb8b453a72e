// The network IR: a feed-forward chain of layers over a flat vector of doubles.
//
// Tensors are stored flat in row-major (C, H, W) order, as ONNX's NCHW without
// the batch dimension, so Flatten and Reshape do not move data. Every reader
// (ONNX, NNet, Keras HDF5) produces a Network; every analysis consumes one,
// usually through its affine-block form (blocks.hpp).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace qcert {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using Shape = std::vector<int64_t>;  // without the batch dimension

int64_t shape_size(const Shape& s);
std::string shape_str(const Shape& s);

enum class Op {
    Dense,      // y = W x + b; W is out x in
    Conv2D,     // 2-D convolution, NCHW / OIHW, groups = 1
    Affine,     // elementwise y = scale .* x + shift (normalisation, folded BatchNorm, Sub/Add/Mul/Div)
    ReLU,
    LeakyReLU,  // alpha
    Sigmoid,
    Tanh,
    Softmax,    // over the whole (flat) vector
    Clip,       // [lo, hi]
    QuantDQ,    // fake quantization (a QuantizeLinear / DequantizeLinear pair): round to the nearest
                // multiple of `step` (ties to even), saturate to [lo, hi]
    Reshape,    // Flatten, Reshape, Identity: only the shape changes
};

const char* op_name(Op op);

struct ConvGeometry {
    int64_t in_channels = 0, out_channels = 0;
    int64_t kernel_h = 1, kernel_w = 1;
    int64_t stride_h = 1, stride_w = 1;
    int64_t dilation_h = 1, dilation_w = 1;
    int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

struct Layer {
    Op op = Op::Reshape;
    std::string name;
    Shape in_shape, out_shape;

    // Dense: weight is out x in. Conv2D: weight is out_channels x (in_channels*kh*kw),
    // each row one OIHW filter flattened; bias has one entry per output channel.
    Mat weight;
    Vec bias;
    ConvGeometry conv;

    // Affine: one entry per element of the (flat) input.
    Vec scale, shift;

    double alpha = 0.0;  // LeakyReLU slope
    double lo = -std::numeric_limits<double>::infinity();  // Clip
    double hi = std::numeric_limits<double>::infinity();
    double step = 0;  // QuantDQ: the grid (a power of two when lowered to blocks)

    bool is_activation() const;
    int64_t parameter_count() const;
};

struct Network {
    std::string source;  // the file it was read from, for messages
    Shape input_shape;
    std::vector<Layer> layers;

    // Optional input domain (e.g. NNet's min/max, in the network's raw input units).
    std::vector<double> input_lo, input_hi;

    int64_t input_size() const { return shape_size(input_shape); }
    int64_t output_size() const;
    int64_t parameter_count() const;

    // Float inference in double precision. Throws InputError on a wrong input size.
    Vec forward(const Vec& x) const;

    // Checks that every layer's shapes chain and its parameters fit; throws InputError.
    void validate() const;
};

// Applies one layer (float semantics).
Vec apply_layer(const Layer& layer, const Vec& x);

// Layer constructors, shapes filled in from the input shape.
Layer make_dense(Mat weight, Vec bias, std::string name = {});
Layer make_activation(Op op, int64_t size, std::string name = {});

// The index of the largest output; ties go to the lowest index.
int64_t argmax(const Vec& y);

}  // namespace qcert
