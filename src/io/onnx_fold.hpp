// Shape arithmetic shared by constants and activations, and the evaluation of
// nodes whose inputs are all constant (weight preprocessing, the Shape -> Gather
// -> Concat -> Reshape chains that exporters emit for a flatten, DequantizeLinear
// of quantized weights).
#pragma once

#include "io/onnx_util.hpp"

#include <string>
#include <vector>

namespace qcert::onnxio {

// Where a message names the node: "file: node 'x': ..." is built by the caller's
// `where` (e.g. "node 'reshape_1'").
struct Site {
    const std::string& file;
    const std::string& where;
};

// ONNX Reshape: 0 copies the input dim (unless allowzero), -1 is inferred.
Shape reshape_shape(const Shape& in, const Tensor& target, bool allowzero, const Site& s);
// ONNX Flatten: [prod(in[:axis]), prod(in[axis:])].
Shape flatten_shape(const Shape& in, int64_t axis, const Site& s);
// ONNX Squeeze (all 1-sized dims when axes is empty) and Unsqueeze.
Shape squeeze_shape(const Shape& in, std::vector<int64_t> axes, const Site& s);
Shape unsqueeze_shape(const Shape& in, std::vector<int64_t> axes, const Site& s);
// The axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13.
std::vector<int64_t> axes_operand(const onnx::NodeProto& n, const std::vector<const Tensor*>& in, int opset,
                                  const Site& s);

// The value of a Constant node.
Tensor constant_value(const onnx::NodeProto& n, const Site& s);

// Evaluates `n` on constant inputs (nullptr for an absent optional input) and
// returns its outputs; false when the operator cannot be folded.
bool fold_node(const onnx::NodeProto& n, const std::vector<const Tensor*>& in, int opset, std::vector<Tensor>& out,
               const Site& s);

// QuantizeLinear's rounding: round half to even of x / scale in float32, as
// onnxruntime computes it, plus the zero point, saturated.
int64_t quantize_value(double x, double scale, int64_t zero, int64_t lo, int64_t hi);

}  // namespace qcert::onnxio
