// Constant tensors, attributes and shapes for the ONNX reader and writer.
#include "io/onnx_util.hpp"

#include "qcert/error.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace qcert::onnxio {

using TP = onnx::TensorProto;

int64_t QuantOrigin::slice(int64_t k) const {
    if (axis < 0) return 0;
    int64_t stride = 1;
    for (size_t d = size_t(axis) + 1; d < dims.size(); ++d) stride *= dims[d];
    return (k / stride) % dims[size_t(axis)];
}

bool Tensor::is_integer_type(int32_t t) {
    switch (t) {
        case TP::UINT8: case TP::INT8: case TP::UINT16: case TP::INT16: case TP::INT32:
        case TP::INT64: case TP::UINT32: case TP::UINT64: case TP::BOOL: return true;
        default: return false;
    }
}

bool Tensor::is_float_type(int32_t t) {
    return t == TP::FLOAT || t == TP::DOUBLE || t == TP::FLOAT16 || t == TP::BFLOAT16;
}

const char* dtype_name(int32_t t) {
    switch (t) {
        case TP::FLOAT: return "float";
        case TP::UINT8: return "uint8";
        case TP::INT8: return "int8";
        case TP::UINT16: return "uint16";
        case TP::INT16: return "int16";
        case TP::INT32: return "int32";
        case TP::INT64: return "int64";
        case TP::STRING: return "string";
        case TP::BOOL: return "bool";
        case TP::FLOAT16: return "float16";
        case TP::DOUBLE: return "double";
        case TP::UINT32: return "uint32";
        case TP::UINT64: return "uint64";
        case TP::BFLOAT16: return "bfloat16";
        default: return "unknown";
    }
}

void int_type_range(int32_t t, int64_t& lo, int64_t& hi) {
    switch (t) {
        case TP::UINT8: lo = 0; hi = 255; return;
        case TP::INT8: lo = -128; hi = 127; return;
        case TP::UINT16: lo = 0; hi = 65535; return;
        case TP::INT16: lo = -32768; hi = 32767; return;
        case TP::INT32: lo = INT32_MIN; hi = INT32_MAX; return;
        case TP::UINT32: lo = 0; hi = int64_t(UINT32_MAX); return;
        default: lo = INT64_MIN; hi = INT64_MAX; return;
    }
}

int64_t checked_count(const Shape& s, const std::string& file, const std::string& what, int64_t limit) {
    int64_t n = 1;
    for (int64_t d : s) {
        if (d < 0) throw InputError(file, fmt::format("{} has a negative dimension {}", what, d));
        if (d != 0 && n > limit / d)
            throw InputError(file, fmt::format("{} is too large (shape {})", what, shape_str(s)));
        n *= d;
    }
    if (n > limit) throw InputError(file, fmt::format("{} is too large (shape {})", what, shape_str(s)));
    return n;
}

bool is_small_int(int32_t t) {
    return t == TP::UINT8 || t == TP::INT8 || t == TP::UINT16 || t == TP::INT16 || t == TP::INT32;
}

namespace {

// IEEE half and bfloat16 bit patterns to double, exactly.
double half_to_double(uint16_t h) {
    const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v;
    if (exp == 0) v = std::ldexp(double(man), -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = std::ldexp(double(man | 0x400), exp - 25);
    return sign ? -v : v;
}

double bf16_to_double(uint16_t b) {
    uint32_t bits = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

size_t elem_bytes(int32_t t) {
    switch (t) {
        case TP::UINT8: case TP::INT8: case TP::BOOL: return 1;
        case TP::UINT16: case TP::INT16: case TP::FLOAT16: case TP::BFLOAT16: return 2;
        case TP::FLOAT: case TP::INT32: case TP::UINT32: return 4;
        case TP::DOUBLE: case TP::INT64: case TP::UINT64: return 8;
        default: return 0;
    }
}

// Reads element k of little-endian raw data (x86 and ARM Linux are little-endian).
template <class T>
T raw_at(const std::string& raw, int64_t k) {
    T v;
    std::memcpy(&v, raw.data() + size_t(k) * sizeof(T), sizeof(T));
    return v;
}

}  // namespace

Tensor tensor_from_proto(const TP& t, const std::string& file) {
    const std::string name = t.name().empty() ? std::string("(unnamed)") : "'" + t.name() + "'";
    if (t.data_location() == TP::EXTERNAL || t.external_data_size() > 0)
        throw InputError(file, fmt::format("tensor {} stores its data in an external file; not supported", name));
    if (t.has_segment()) throw InputError(file, fmt::format("tensor {} is segmented; not supported", name));
    Tensor r;
    r.dtype = t.data_type();
    r.dims.assign(t.dims().begin(), t.dims().end());
    const int64_t n = checked_count(r.dims, file, "tensor " + name, kMaxElements);
    const size_t eb = elem_bytes(r.dtype);
    if (eb == 0)
        throw InputError(file, fmt::format("tensor {} has unsupported element type {} ({})", name, dtype_name(r.dtype),
                                           r.dtype));
    r.f.resize(size_t(n));
    const bool integral = Tensor::is_integer_type(r.dtype);
    if (integral) r.i.resize(size_t(n));
    auto set_int = [&](int64_t k, int64_t v) { r.i[size_t(k)] = v; r.f[size_t(k)] = double(v); };

    if (t.has_raw_data()) {
        const std::string& raw = t.raw_data();
        if (raw.size() != size_t(n) * eb)
            throw InputError(file, fmt::format("tensor {} has {} bytes of data, its shape {} needs {}", name, raw.size(),
                                               shape_str(r.dims), size_t(n) * eb));
        for (int64_t k = 0; k < n; ++k) {
            switch (r.dtype) {
                case TP::FLOAT: r.f[k] = raw_at<float>(raw, k); break;
                case TP::DOUBLE: r.f[k] = raw_at<double>(raw, k); break;
                case TP::FLOAT16: r.f[k] = half_to_double(raw_at<uint16_t>(raw, k)); break;
                case TP::BFLOAT16: r.f[k] = bf16_to_double(raw_at<uint16_t>(raw, k)); break;
                case TP::UINT8: set_int(k, raw_at<uint8_t>(raw, k)); break;
                case TP::INT8: set_int(k, raw_at<int8_t>(raw, k)); break;
                case TP::BOOL: set_int(k, raw_at<uint8_t>(raw, k) != 0); break;
                case TP::UINT16: set_int(k, raw_at<uint16_t>(raw, k)); break;
                case TP::INT16: set_int(k, raw_at<int16_t>(raw, k)); break;
                case TP::INT32: set_int(k, raw_at<int32_t>(raw, k)); break;
                case TP::UINT32: set_int(k, raw_at<uint32_t>(raw, k)); break;
                case TP::INT64: set_int(k, raw_at<int64_t>(raw, k)); break;
                case TP::UINT64: {
                    const uint64_t u = raw_at<uint64_t>(raw, k);
                    if (u > uint64_t(INT64_MAX)) throw InputError(file, fmt::format("tensor {}: uint64 value too large", name));
                    set_int(k, int64_t(u));
                    break;
                }
            }
        }
        return r;
    }

    // Typed fields: which one holds the data depends on the element type.
    auto need = [&](int64_t have) {
        if (have != n)
            throw InputError(file, fmt::format("tensor {} has {} values, its shape {} needs {}", name, have,
                                               shape_str(r.dims), n));
    };
    switch (r.dtype) {
        case TP::FLOAT:
            need(t.float_data_size());
            for (int64_t k = 0; k < n; ++k) r.f[k] = t.float_data(int(k));
            break;
        case TP::DOUBLE:
            need(t.double_data_size());
            for (int64_t k = 0; k < n; ++k) r.f[k] = t.double_data(int(k));
            break;
        case TP::INT64:
            need(t.int64_data_size());
            for (int64_t k = 0; k < n; ++k) set_int(k, t.int64_data(int(k)));
            break;
        case TP::UINT32: case TP::UINT64:
            need(t.uint64_data_size());
            for (int64_t k = 0; k < n; ++k) {
                const uint64_t u = t.uint64_data(int(k));
                if (u > uint64_t(INT64_MAX)) throw InputError(file, fmt::format("tensor {}: uint64 value too large", name));
                set_int(k, int64_t(u));
            }
            break;
        case TP::FLOAT16: case TP::BFLOAT16:
            need(t.int32_data_size());
            for (int64_t k = 0; k < n; ++k) {
                const uint16_t bits = uint16_t(t.int32_data(int(k)));
                r.f[k] = r.dtype == TP::FLOAT16 ? half_to_double(bits) : bf16_to_double(bits);
            }
            break;
        default: {  // the small integer types and bool live in int32_data
            need(t.int32_data_size());
            int64_t lo, hi;
            int_type_range(r.dtype, lo, hi);
            if (r.dtype == TP::BOOL) lo = 0, hi = 1;
            for (int64_t k = 0; k < n; ++k) {
                const int64_t v = t.int32_data(int(k));
                if (v < lo || v > hi)
                    throw InputError(file, fmt::format("tensor {}: value {} out of range for {}", name, v, dtype_name(r.dtype)));
                set_int(k, v);
            }
        }
    }
    return r;
}

// ---- attributes ----------------------------------------------------------------

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def) {
    const auto* a = find_attr(n, name);
    return a ? a->i() : def;
}

double attr_float(const onnx::NodeProto& n, const std::string& name, double def) {
    const auto* a = find_attr(n, name);
    return a ? double(a->f()) : def;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = find_attr(n, name);
    if (!a) return {};
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
    const auto* a = find_attr(n, name);
    return a ? a->s() : def;
}

std::string node_label(const onnx::NodeProto& n, int index) {
    if (!n.name().empty()) return "node '" + n.name() + "'";
    return fmt::format("node #{} ({})", index, n.op_type());
}

// ---- shapes ----------------------------------------------------------------------

bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
    const size_t r = std::max(a.size(), b.size());
    out.assign(r, 1);
    for (size_t k = 0; k < r; ++k) {
        const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
        const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
        if (da != db && da != 1 && db != 1) return false;
        out[k] = da == 1 ? db : da;
    }
    return true;
}

std::vector<int64_t> strides_of(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
    return st;
}

std::vector<int64_t> broadcast_index(const Shape& src, const Shape& target) {
    int64_t n = 1;
    for (int64_t d : target) n *= d;
    std::vector<int64_t> out(static_cast<size_t>(n));
    const size_t r = target.size(), off = r - src.size();
    const std::vector<int64_t> src_st = strides_of(src), dst_st = strides_of(target);
    for (int64_t k = 0; k < n; ++k) {
        int64_t from = 0;
        for (size_t d = off; d < r; ++d) {
            const int64_t idx = (k / dst_st[d]) % target[d];
            if (src[d - off] != 1) from += idx * src_st[d - off];
        }
        out[size_t(k)] = from;
    }
    return out;
}

std::vector<double> broadcast_values(const Tensor& t, const Shape& target) {
    const std::vector<int64_t> idx = broadcast_index(t.dims, target);
    std::vector<double> out(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) out[k] = t.f[size_t(idx[k])];
    return out;
}

bool normalize_axis(int64_t& axis, int64_t rank) {
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank;
}

Tensor reshaped(Tensor t, const Shape& dims) {
    t.dims = dims;
    if (t.q) {
        auto q = std::make_shared<QuantOrigin>(*t.q);
        if (q->axis >= 0) {
            // A per-axis origin survives only if the axis is still a whole dimension; keep
            // it when the reshape only adds or removes 1-sized dims around it.
            Shape kept_old, kept_new;
            for (int64_t d : q->dims) if (d != 1) kept_old.push_back(d);
            for (int64_t d : dims) if (d != 1) kept_new.push_back(d);
            int64_t pos = 0;
            for (int k = 0; k < q->axis; ++k) pos += q->dims[k] != 1;
            int newaxis = -1;
            if (kept_old == kept_new && q->dims[q->axis] != 1) {
                for (size_t k = 0, seen = 0; k < dims.size(); ++k)
                    if (dims[k] != 1 && int64_t(seen++) == pos) newaxis = int(k);
            }
            if (newaxis < 0) {
                t.q.reset();
                return t;
            }
            q->axis = newaxis;
        }
        q->dims = dims;
        t.q = q;
    }
    return t;
}

Tensor transposed(const Tensor& t, const std::vector<int64_t>& perm) {
    const size_t r = t.dims.size();
    Shape nd(r);
    for (size_t k = 0; k < r; ++k) nd[k] = t.dims[size_t(perm[k])];
    const std::vector<int64_t> st = strides_of(t.dims), nst = strides_of(nd);
    Tensor o;
    o.dtype = t.dtype;
    o.dims = nd;
    o.f.resize(t.f.size());
    if (!t.i.empty()) o.i.resize(t.i.size());
    std::shared_ptr<QuantOrigin> q;
    if (t.q) {
        q = std::make_shared<QuantOrigin>(*t.q);
        q->dims = nd;
        q->q.assign(t.q->q.size(), 0);
        if (q->axis >= 0)
            for (size_t k = 0; k < r; ++k)
                if (perm[k] == t.q->axis) q->axis = int(k);
    }
    for (int64_t k = 0; k < int64_t(t.f.size()); ++k) {
        int64_t src = 0;
        for (size_t d = 0; d < r; ++d) src += ((k / nst[d]) % nd[d]) * st[size_t(perm[d])];
        o.f[k] = t.f[src];
        if (!t.i.empty()) o.i[k] = t.i[src];
        if (q) q->q[k] = t.q->q[src];
    }
    o.q = q;
    return o;
}

}  // namespace qcert::onnxio
