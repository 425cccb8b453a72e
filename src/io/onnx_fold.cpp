// Shape arithmetic and constant folding for the ONNX reader.
#include "io/onnx_fold.hpp"

#include "qcert/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace qcert::onnxio {

using TP = onnx::TensorProto;

namespace {

[[noreturn]] void fail(const Site& s, const std::string& what) { throw InputError(s.file, s.where + ": " + what); }

int64_t count(const Shape& d, const Site& s) { return checked_count(d, s.file, s.where + ": result"); }

// The integer values of a constant used as a shape, axes or indices.
std::vector<int64_t> ints_of(const Tensor& t, const Site& s, const char* what) {
    if (t.i.empty() && t.size() > 0) fail(s, std::string(what) + " must be an integer tensor");
    return t.i;
}

Tensor int_tensor(const Shape& dims, std::vector<int64_t> v) {
    Tensor t;
    t.dtype = TP::INT64;
    t.dims = dims;
    t.f.assign(v.begin(), v.end());
    t.i = std::move(v);
    return t;
}

// Rounds a double to the precision of the element type (folded float arithmetic
// follows the model's own type).
double to_type(double v, int32_t dtype) { return dtype == TP::FLOAT ? double(float(v)) : v; }

Tensor elementwise(const Tensor& a, const Tensor& b, const std::string& op, const Site& s) {
    Shape out;
    if (!broadcast_shapes(a.dims, b.dims, out))
        fail(s, fmt::format("{} of shapes {} and {} does not broadcast", op, shape_str(a.dims), shape_str(b.dims)));
    count(out, s);
    const bool integral = !a.i.empty() && !b.i.empty();
    const std::vector<int64_t> ia = broadcast_index(a.dims, out), ib = broadcast_index(b.dims, out);
    Tensor r;
    r.dtype = a.dtype;
    r.dims = out;
    r.f.resize(ia.size());
    if (integral) r.i.resize(ia.size());
    for (size_t k = 0; k < ia.size(); ++k) {
        const double fa = a.f[size_t(ia[k])], fb = b.f[size_t(ib[k])];
        if (integral) {
            const int64_t x = a.i[size_t(ia[k])], y = b.i[size_t(ib[k])];
            int64_t z = 0;
            bool of = false;
            if (op == "Add") of = __builtin_add_overflow(x, y, &z);
            else if (op == "Sub") of = __builtin_sub_overflow(x, y, &z);
            else if (op == "Mul") of = __builtin_mul_overflow(x, y, &z);
            else {
                if (y == 0) fail(s, "integer division by zero");
                if (x == INT64_MIN && y == -1) of = true;
                else z = x / y;
            }
            if (of) fail(s, "integer overflow in a constant expression");
            r.i[k] = z;
            r.f[k] = double(z);
        } else {
            double z = 0;
            if (op == "Add") z = fa + fb;
            else if (op == "Sub") z = fa - fb;
            else if (op == "Mul") z = fa * fb;
            else z = fa / fb;
            r.f[k] = to_type(z, r.dtype);
        }
    }
    return r;
}

Tensor cast(const Tensor& t, int32_t to, const Site& s) {
    Tensor r;
    r.dtype = to;
    r.dims = t.dims;
    r.f.resize(t.f.size());
    if (Tensor::is_float_type(to)) {
        for (size_t k = 0; k < t.f.size(); ++k) r.f[k] = to_type(t.f[k], to);
    } else if (Tensor::is_integer_type(to)) {
        r.i.resize(t.f.size());
        for (size_t k = 0; k < t.f.size(); ++k) {
            const double v = t.f[k];
            if (!std::isfinite(v) || std::fabs(v) > 9.2e18) fail(s, "Cast of a value out of the integer range");
            const int64_t x = to == TP::BOOL ? int64_t(v != 0) : int64_t(std::trunc(v));
            r.i[k] = x;
            r.f[k] = double(x);
        }
    } else {
        fail(s, fmt::format("Cast to {} is not supported", dtype_name(to)));
    }
    return r;
}

Tensor concat(const std::vector<const Tensor*>& in, int64_t axis, const Site& s) {
    if (in.empty() || !in[0]) fail(s, "Concat without inputs");
    const int64_t rank = int64_t(in[0]->dims.size());
    if (!normalize_axis(axis, rank)) fail(s, "Concat axis out of range");
    Shape out = in[0]->dims;
    out[axis] = 0;
    bool integral = true;
    for (const Tensor* t : in) {
        if (!t || int64_t(t->dims.size()) != rank) fail(s, "Concat inputs differ in rank");
        for (int64_t d = 0; d < rank; ++d)
            if (d != axis && t->dims[d] != out[d]) fail(s, "Concat inputs differ in shape");
        out[axis] += t->dims[axis];
        integral = integral && (!t->i.empty() || t->size() == 0);
    }
    count(out, s);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[d];
    Tensor r;
    r.dtype = in[0]->dtype;
    r.dims = out;
    for (int64_t o = 0; o < outer; ++o)
        for (const Tensor* t : in) {
            const int64_t chunk = outer > 0 ? t->size() / outer : 0;
            for (int64_t k = 0; k < chunk; ++k) {
                r.f.push_back(t->f[size_t(o * chunk + k)]);
                if (integral) r.i.push_back(t->i[size_t(o * chunk + k)]);
            }
        }
    return r;
}

Tensor gather(const Tensor& data, const Tensor& idx, int64_t axis, const Site& s) {
    const int64_t rank = int64_t(data.dims.size());
    if (!normalize_axis(axis, rank)) fail(s, "Gather axis out of range");
    const std::vector<int64_t> ix = ints_of(idx, s, "Gather indices");
    Shape out(data.dims.begin(), data.dims.begin() + axis);
    out.insert(out.end(), idx.dims.begin(), idx.dims.end());
    out.insert(out.end(), data.dims.begin() + axis + 1, data.dims.end());
    count(out, s);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.dims[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[d];
    const int64_t n = data.dims[axis];
    Tensor r;
    r.dtype = data.dtype;
    r.dims = out;
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j : ix) {
            if (j < 0) j += n;
            if (j < 0 || j >= n) fail(s, "Gather index out of range");
            for (int64_t k = 0; k < inner; ++k) {
                const size_t src = size_t((o * n + j) * inner + k);
                r.f.push_back(data.f[src]);
                if (!data.i.empty()) r.i.push_back(data.i[src]);
            }
        }
    return r;
}

Tensor slice(const Tensor& data, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
             std::vector<int64_t> axes, std::vector<int64_t> steps, const Site& s) {
    const int64_t rank = int64_t(data.dims.size());
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        fail(s, "Slice parameters differ in length");
    std::vector<int64_t> st(size_t(rank), 0), sp(size_t(rank), 1);
    Shape out = data.dims;
    for (size_t k = 0; k < starts.size(); ++k) {
        int64_t a = axes[k];
        if (!normalize_axis(a, rank)) fail(s, "Slice axis out of range");
        const int64_t n = data.dims[a], step = steps[k];
        if (step == 0) fail(s, "Slice step is zero");
        auto clampi = [&](int64_t v, int64_t lo, int64_t hi) {
            if (v < 0) v = v < -n ? -1 : v + n;  // INT64_MIN-like sentinels stay in range
            return std::clamp(v, lo, hi);
        };
        const int64_t mag = step == INT64_MIN ? INT64_MAX : (step < 0 ? -step : step);
        int64_t b, e;
        if (step > 0) {
            b = clampi(starts[k], 0, n);
            e = clampi(ends[k], 0, n);
            out[a] = e > b ? 1 + (e - b - 1) / mag : 0;
        } else {
            b = clampi(starts[k], 0, n - 1);
            e = clampi(ends[k], -1, n - 1);
            out[a] = b > e ? 1 + (b - e - 1) / mag : 0;
        }
        st[a] = b;
        sp[a] = step > 0 ? mag : -mag;
    }
    const int64_t total = count(out, s);
    const std::vector<int64_t> ost = strides_of(out), ist = strides_of(data.dims);
    Tensor r;
    r.dtype = data.dtype;
    r.dims = out;
    for (int64_t k = 0; k < total; ++k) {
        int64_t src = 0;
        for (int64_t d = 0; d < rank; ++d) src += (st[d] + ((k / ost[d]) % out[d]) * sp[d]) * ist[d];
        r.f.push_back(data.f[size_t(src)]);
        if (!data.i.empty()) r.i.push_back(data.i[size_t(src)]);
    }
    return r;
}

// DequantizeLinear of a constant: the float values and where they came from.
Tensor dequantize(const Tensor& x, const Tensor& scale, const Tensor* zero, int64_t axis, const Site& s) {
    if (!is_small_int(x.dtype)) fail(s, fmt::format("DequantizeLinear of a {} tensor is not supported", dtype_name(x.dtype)));
    if (zero && !is_small_int(zero->dtype)) fail(s, "the zero point must be an 8-, 16- or 32-bit integer");
    auto q = std::make_shared<QuantOrigin>();
    q->q = x.i;
    q->dims = x.dims;
    q->dtype = x.dtype;
    q->scale = scale.f;
    if (scale.size() == 0) fail(s, "DequantizeLinear without a scale");
    if (zero && zero->size() != scale.size()) fail(s, "DequantizeLinear scale and zero point differ in size");
    q->zero = zero ? zero->i : std::vector<int64_t>(scale.f.size(), 0);
    if (zero && zero->i.size() != size_t(zero->size())) fail(s, "DequantizeLinear zero point must be an integer");
    for (double v : q->scale)
        if (!(v > 0) || !std::isfinite(v)) fail(s, fmt::format("quantization scale {} is not positive and finite", v));
    if (scale.size() > 1 || !scale.dims.empty()) {
        if (scale.size() == 1) {
            q->axis = -1;
        } else {
            if (scale.dims.size() != 1) fail(s, "per-axis scale must be 1-D");
            if (!normalize_axis(axis, int64_t(x.dims.size()))) fail(s, "DequantizeLinear axis out of range");
            if (x.dims[axis] != scale.size()) fail(s, "per-axis scale does not match the axis length");
            q->axis = int(axis);
        }
    }
    Tensor r;
    r.dtype = TP::FLOAT;
    r.dims = x.dims;
    r.f.resize(x.f.size());
    for (size_t k = 0; k < x.f.size(); ++k)
        r.f[k] = double(q->q[k] - q->zero_at(int64_t(k))) * q->scale_at(int64_t(k));
    r.q = q;
    return r;
}

}  // namespace

int64_t quantize_value(double x, double scale, int64_t zero, int64_t lo, int64_t hi) {
    const float v = std::nearbyint(float(x) / float(scale));  // the default FE_TONEAREST mode: half to even
    if (std::isnan(v)) return std::clamp<int64_t>(zero, lo, hi);
    const double z = double(v) + double(zero);
    if (z <= double(lo)) return lo;
    if (z >= double(hi)) return hi;
    return int64_t(z);
}

// ---- shapes ----------------------------------------------------------------------

Shape reshape_shape(const Shape& in, const Tensor& target, bool allowzero, const Site& s) {
    const std::vector<int64_t> t = ints_of(target, s, "Reshape's shape");
    int64_t n = 1;
    for (int64_t d : in) n *= d;
    Shape out(t.size());
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < t.size(); ++k) {
        int64_t d = t[k];
        if (d == 0 && !allowzero) {
            if (k >= in.size()) fail(s, "Reshape copies a dimension the input does not have");
            d = in[k];
        }
        if (d == -1) {
            if (infer >= 0) fail(s, "Reshape has two -1 dimensions");
            infer = int64_t(k);
            continue;
        }
        if (d < 0) fail(s, fmt::format("Reshape dimension {} is invalid", d));
        out[k] = d;
        if (d != 0 && known > kMaxElements / d) fail(s, "Reshape target too large");
        known *= d;
    }
    if (infer >= 0) {
        if (known == 0 || n % known != 0)
            fail(s, fmt::format("cannot reshape {} to {}", shape_str(in), shape_str(t)));
        out[infer] = n / known;
        known = n;
    }
    if (known != n) fail(s, fmt::format("cannot reshape {} ({} values) to {}", shape_str(in), n, shape_str(out)));
    return out;
}

Shape flatten_shape(const Shape& in, int64_t axis, const Site& s) {
    const int64_t rank = int64_t(in.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) fail(s, "Flatten axis out of range");
    int64_t a = 1, b = 1;
    for (int64_t d = 0; d < rank; ++d) (d < axis ? a : b) *= in[d];
    return {a, b};
}

Shape squeeze_shape(const Shape& in, std::vector<int64_t> axes, const Site& s) {
    const int64_t rank = int64_t(in.size());
    std::vector<bool> drop(size_t(rank), false);
    if (axes.empty()) {
        for (int64_t d = 0; d < rank; ++d) drop[d] = in[d] == 1;
    } else {
        for (int64_t a : axes) {
            if (!normalize_axis(a, rank)) fail(s, "Squeeze axis out of range");
            if (in[a] != 1) fail(s, fmt::format("Squeeze of dimension {} of size {}", a, in[a]));
            drop[a] = true;
        }
    }
    Shape out;
    for (int64_t d = 0; d < rank; ++d)
        if (!drop[d]) out.push_back(in[d]);
    return out;
}

Shape unsqueeze_shape(const Shape& in, std::vector<int64_t> axes, const Site& s) {
    const int64_t rank = int64_t(in.size() + axes.size());
    std::vector<bool> ins(size_t(rank), false);
    for (int64_t a : axes) {
        if (!normalize_axis(a, rank)) fail(s, "Unsqueeze axis out of range");
        if (ins[a]) fail(s, "Unsqueeze axis repeated");
        ins[a] = true;
    }
    Shape out;
    size_t k = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(ins[d] ? 1 : in[k++]);
    return out;
}

std::vector<int64_t> axes_operand(const onnx::NodeProto& n, const std::vector<const Tensor*>& in, int opset,
                                  const Site& s) {
    if (opset < 13) return attr_ints(n, "axes");
    if (in.size() > 1 && in[1]) return ints_of(*in[1], s, "axes");
    return {};
}

// ---- constants ------------------------------------------------------------------------

Tensor constant_value(const onnx::NodeProto& n, const Site& s) {
    for (const auto& a : n.attribute()) {
        const std::string& k = a.name();
        if (k == "value") return tensor_from_proto(a.t(), s.file);
        Tensor t;
        if (k == "value_float" || k == "value_floats") {
            t.dtype = TP::FLOAT;
            if (k == "value_float") t.f = {double(a.f())};
            else { t.f.assign(a.floats().begin(), a.floats().end()); t.dims = {int64_t(t.f.size())}; }
            return t;
        }
        if (k == "value_int" || k == "value_ints") {
            if (k == "value_int") return int_tensor({}, {a.i()});
            return int_tensor({int64_t(a.ints_size())}, std::vector<int64_t>(a.ints().begin(), a.ints().end()));
        }
        fail(s, "Constant with attribute '" + k + "' is not supported");
    }
    fail(s, "Constant without a value");
}

bool fold_node(const onnx::NodeProto& n, const std::vector<const Tensor*>& in, int opset, std::vector<Tensor>& out,
               const Site& s) {
    const std::string& op = n.op_type();
    auto arg = [&](size_t k) -> const Tensor& {
        if (k >= in.size() || !in[k]) fail(s, fmt::format("{} is missing input {}", op, k));
        return *in[k];
    };
    out.clear();
    if (op == "Constant") {
        out.push_back(constant_value(n, s));
    } else if (op == "Identity" || op == "Dropout") {
        out.push_back(arg(0));
    } else if (op == "Cast") {
        out.push_back(cast(arg(0), int32_t(attr_int(n, "to", TP::FLOAT)), s));
    } else if (op == "Reshape") {
        out.push_back(reshaped(arg(0), reshape_shape(arg(0).dims, arg(1), attr_int(n, "allowzero", 0) != 0, s)));
    } else if (op == "Flatten") {
        out.push_back(reshaped(arg(0), flatten_shape(arg(0).dims, attr_int(n, "axis", 1), s)));
    } else if (op == "Squeeze") {
        out.push_back(reshaped(arg(0), squeeze_shape(arg(0).dims, axes_operand(n, in, opset, s), s)));
    } else if (op == "Unsqueeze") {
        out.push_back(reshaped(arg(0), unsqueeze_shape(arg(0).dims, axes_operand(n, in, opset, s), s)));
    } else if (op == "Transpose") {
        const Tensor& t = arg(0);
        std::vector<int64_t> perm = attr_ints(n, "perm");
        const int64_t rank = int64_t(t.dims.size());
        if (perm.empty())
            for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
        std::vector<bool> seen(size_t(rank), false);
        if (int64_t(perm.size()) != rank) fail(s, "Transpose perm has the wrong length");
        for (int64_t& p : perm) {
            if (!normalize_axis(p, rank) || seen[p]) fail(s, "Transpose perm is not a permutation");
            seen[p] = true;
        }
        out.push_back(transposed(t, perm));
    } else if (op == "Concat") {
        out.push_back(concat(in, attr_int(n, "axis", 0), s));
    } else if (op == "Gather") {
        out.push_back(gather(arg(0), arg(1), attr_int(n, "axis", 0), s));
    } else if (op == "Shape") {
        const Shape& d = arg(0).dims;
        int64_t rank = int64_t(d.size()), b = attr_int(n, "start", 0), e = attr_int(n, "end", rank);
        if (b < 0) b += rank;
        if (e < 0) e += rank;
        b = std::clamp<int64_t>(b, 0, rank);
        e = std::clamp<int64_t>(e, b, rank);
        out.push_back(int_tensor({e - b}, std::vector<int64_t>(d.begin() + b, d.begin() + e)));
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        out.push_back(elementwise(arg(0), arg(1), op, s));
    } else if (op == "Neg") {
        Tensor t = arg(0);
        t.q.reset();
        for (auto& v : t.f) v = -v;
        for (auto& v : t.i) v = -v;
        out.push_back(std::move(t));
    } else if (op == "Slice") {
        const Tensor& d = arg(0);
        if (opset < 10) {
            out.push_back(slice(d, attr_ints(n, "starts"), attr_ints(n, "ends"), attr_ints(n, "axes"), {}, s));
        } else {
            std::vector<int64_t> axes, steps;
            if (in.size() > 3 && in[3]) axes = ints_of(*in[3], s, "Slice axes");
            if (in.size() > 4 && in[4]) steps = ints_of(*in[4], s, "Slice steps");
            out.push_back(slice(d, ints_of(arg(1), s, "Slice starts"), ints_of(arg(2), s, "Slice ends"), axes, steps, s));
        }
    } else if (op == "ConstantOfShape") {
        const std::vector<int64_t> dims = ints_of(arg(0), s, "ConstantOfShape's shape");
        const int64_t c = count(dims, s);
        Tensor v;
        if (const auto* a = find_attr(n, "value")) v = tensor_from_proto(a->t(), s.file);
        else { v.dtype = TP::FLOAT; v.f = {0.0}; }
        if (v.size() != 1) fail(s, "ConstantOfShape value must have one element");
        Tensor t;
        t.dtype = v.dtype;
        t.dims = dims;
        t.f.assign(size_t(c), v.f[0]);
        if (!v.i.empty()) t.i.assign(size_t(c), v.i[0]);
        out.push_back(std::move(t));
    } else if (op == "DequantizeLinear") {
        out.push_back(dequantize(arg(0), arg(1), in.size() > 2 ? in[2] : nullptr, attr_int(n, "axis", 1), s));
    } else if (op == "QuantizeLinear") {
        const Tensor& x = arg(0);
        const Tensor& sc = arg(1);
        const Tensor* z = in.size() > 2 ? in[2] : nullptr;
        if (sc.size() != 1 || (z && z->size() != 1))
            fail(s, "per-channel QuantizeLinear of a constant is not supported");
        if (!(sc.f[0] > 0) || !std::isfinite(sc.f[0])) fail(s, "quantization scale is not positive and finite");
        Tensor t;
        t.dtype = z ? z->dtype : int32_t(TP::UINT8);
        int64_t lo, hi;
        int_type_range(t.dtype, lo, hi);
        const int64_t zero = z && !z->i.empty() ? z->i[0] : 0;
        t.dims = x.dims;
        for (double v : x.f) {
            t.i.push_back(quantize_value(v, sc.f[0], zero, lo, hi));
            t.f.push_back(double(t.i.back()));
        }
        out.push_back(std::move(t));
    } else {
        return false;
    }
    return true;
}

}  // namespace qcert::onnxio
