// Private helpers of the ONNX reader and writer: constant tensors, attributes,
// shapes and broadcasting. Everything here throws InputError naming the file.
#pragma once

#include "qcert/network.hpp"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qcert::onnxio {

// Size limits, so that a corrupt or hostile file cannot make the reader allocate
// far more memory than the file itself holds:
//  - a tensor stored in the file, or a matrix with one entry per stored weight;
constexpr int64_t kMaxElements = int64_t(1) << 27;
//  - a tensor the reader derives: activations, folded and broadcast constants;
constexpr int64_t kMaxDerived = int64_t(1) << 24;
//  - a matrix expanded from fewer stored values (a convolution lowered to a dense
//    integer layer, a permutation, a MatMul repeated over leading dimensions).
constexpr int64_t kMaxExpanded = int64_t(1) << 25;

// How a constant came out of a DequantizeLinear (or a folded QuantizeLinear):
// element k is (q[k] - zero_at(k)) * scale_at(k). Shape operations on the
// constant (Reshape, Transpose, ...) keep this in step with the values.
struct QuantOrigin {
    std::vector<int64_t> q;      // the integers, same layout as the tensor
    std::vector<double> scale;   // one entry (per tensor) or one per slice of `axis`
    std::vector<int64_t> zero;   // same length as scale
    int axis = -1;               // -1: per tensor
    int32_t dtype = 0;           // the integer type (onnx::TensorProto::DataType)
    Shape dims;                  // the tensor's dims (to locate the axis)

    int64_t slice(int64_t k) const;  // index into scale/zero for element k
    double scale_at(int64_t k) const { return scale[slice(k)]; }
    int64_t zero_at(int64_t k) const { return zero[slice(k)]; }
    bool per_tensor() const { return scale.size() == 1; }
};

// A constant tensor: an initializer, a Constant node, or a folded value.
struct Tensor {
    int32_t dtype = 0;
    Shape dims;                  // empty: a scalar
    std::vector<double> f;       // every element as a double (exact for float types)
    std::vector<int64_t> i;      // every element exactly, for integer and bool types
    std::shared_ptr<const QuantOrigin> q;

    int64_t size() const { return int64_t(f.size()); }
    bool is_integer() const { return !i.empty() || (f.empty() && is_integer_type(dtype)); }
    static bool is_integer_type(int32_t dtype);
    static bool is_float_type(int32_t dtype);
};

// Element count of a shape (1 for a scalar); InputError when a dim is negative
// or the count exceeds `limit`.
int64_t checked_count(const Shape& s, const std::string& file, const std::string& what,
                      int64_t limit = kMaxDerived);
// 8-, 16- and 32-bit integer types: the ones quantized values and zero points may have.
bool is_small_int(int32_t dtype);

// The constant held by a TensorProto (raw_data or the typed fields).
Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& file);

// Integer range of an ONNX integer type, for saturation.
void int_type_range(int32_t dtype, int64_t& lo, int64_t& hi);
const char* dtype_name(int32_t dtype);

// ---- attributes ----------------------------------------------------------------

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name);
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def);
double attr_float(const onnx::NodeProto& n, const std::string& name, double def);
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name);
std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& def);

// "node 'name'" or, for unnamed nodes, "node #k (OpType)".
std::string node_label(const onnx::NodeProto& n, int index);

// ---- shapes ----------------------------------------------------------------------

// Numpy broadcasting of two shapes; false when they do not broadcast.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);
// For each element of `target`, the flat index of the element of a `src`-shaped
// tensor that broadcasts to it.
std::vector<int64_t> broadcast_index(const Shape& src, const Shape& target);
// The values of `t` broadcast to `target` (which must be a broadcast of t.dims), flat.
std::vector<double> broadcast_values(const Tensor& t, const Shape& target);
// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s);
// Normalises a possibly negative axis against a rank; false when out of range.
bool normalize_axis(int64_t& axis, int64_t rank);

// Shape-only operations on constants (keep the quantization origin in step).
Tensor reshaped(Tensor t, const Shape& dims);
Tensor transposed(const Tensor& t, const std::vector<int64_t>& perm);

}  // namespace qcert::onnxio
