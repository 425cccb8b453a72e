// The exact integer semantics of quantized ONNX models: see onnx_qdq.hpp.
#include "io/onnx_qdq.hpp"

#include "qcert/error.hpp"

#include <fmt/format.h>

#include <cmath>

namespace qcert::onnxio {

namespace {

i128 iabs(i128 x) { return x < 0 ? -x : x; }

i128 gcd128(i128 a, i128 b) {
    a = iabs(a);
    b = iabs(b);
    while (b != 0) {
        const i128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

[[noreturn]] void overflow(const std::string& file) {
    throw InputError(file, "the quantization scales cannot be combined exactly in 128-bit integers");
}

// Checked arithmetic; the most negative value is refused too, so that negation
// and absolute values never overflow.
constexpr i128 kMax128 = ((i128(1) << 126) - 1) * 2 + 1;
constexpr i128 kMin128 = -kMax128 - 1;

i128 mul128(i128 a, i128 b, const std::string& file) {
    i128 r;
    if (__builtin_mul_overflow(a, b, &r) || r == kMin128) overflow(file);
    return r;
}

i128 add128(i128 a, i128 b, const std::string& file) {
    i128 r;
    if (__builtin_add_overflow(a, b, &r) || r == kMin128) overflow(file);
    return r;
}

int64_t to64(i128 v, const std::string& file, const std::string& what) {
    if (v < INT64_MIN || v > INT64_MAX) throw InputError(file, what + " does not fit in 64 bits");
    return int64_t(v);
}

}  // namespace

// ---- exact rationals -------------------------------------------------------------

Rat Rat::of(i128 n, i128 d, const std::string& file) {
    if (d == 0) throw InputError(file, "division by zero in a quantization scale");
    if (d < 0) { n = -n; d = -d; }
    const i128 g = gcd128(n, d);
    if (g > 1) { n /= g; d /= g; }
    (void)file;
    return Rat{n, d};
}

Rat Rat::of_double(double x, const std::string& file) {
    if (!std::isfinite(x)) throw InputError(file, "a quantization scale or constant is not finite");
    if (x == 0) return Rat{0, 1};
    int e = 0;
    const double fr = std::frexp(x, &e);
    int64_t m = int64_t(std::ldexp(fr, 53));  // x = m * 2^(e-53) exactly
    int shift = e - 53;
    while ((m & 1) == 0 && shift < 0) { m /= 2; ++shift; }
    if (shift >= 0) {
        if (shift > 60) overflow(file);
        return Rat{i128(m) << shift, 1};
    }
    if (-shift > 125) overflow(file);
    return Rat{i128(m), i128(1) << (-shift)};
}

double Rat::to_double() const { return double((long double)n / (long double)d); }

bool operator==(const Rat& a, const Rat& b) { return a.n == b.n && a.d == b.d; }

Rat rat_mul(const Rat& a, const Rat& b, const std::string& file) {
    const i128 g1 = gcd128(a.n, b.d), g2 = gcd128(b.n, a.d);
    const i128 an = g1 ? a.n / g1 : a.n, bd = g1 ? b.d / g1 : b.d;
    const i128 bn = g2 ? b.n / g2 : b.n, ad = g2 ? a.d / g2 : a.d;
    return Rat::of(mul128(an, bn, file), mul128(ad, bd, file), file);
}

Rat rat_div(const Rat& a, const Rat& b, const std::string& file) {
    if (b.n == 0) throw InputError(file, "division by zero in a quantization scale");
    return rat_mul(a, Rat::of(b.d, b.n, file), file);
}

Rat rat_add(const Rat& a, const Rat& b, const std::string& file) {
    const i128 g = gcd128(a.d, b.d);
    const i128 d = mul128(a.d / g, b.d, file);
    const i128 n = add128(mul128(a.n, b.d / g, file), mul128(b.n, a.d / g, file), file);
    return Rat::of(n, d, file);
}

// ---- the integer path ---------------------------------------------------------------

Kind QdqPath::kind() const { return kind_; }

void QdqPath::fail(const std::string& where, const std::string& what) const {
    throw InputError(file_, where + ": " + what);
}

void QdqPath::need(State s, const std::string& where, const std::string& what) const {
    if (state_ == s) return;
    switch (s) {
        case State::Pending:
            fail(where, what + " is only supported on a dequantized activation in a quantized model");
        case State::Quantized:
            fail(where, what + " needs a quantized (integer) activation");
        default:
            fail(where, what + " is not supported here");
    }
}

void QdqPath::set_input(const QParams& p) {
    net_.input.lo = p.lo;
    net_.input.hi = p.hi;
    net_.input.zero = p.zero;
    net_.input.scale = p.scale;
    net_.input.raw = false;
    net_.input.rounding = Rounding::HalfEven;  // QuantizeLinear rounds half to even
    input_set_ = true;
}

void QdqPath::integer_input(int64_t lo, int64_t hi, int64_t size) {
    state_ = State::Quantized;
    kind_ = Kind::Quantized;
    input_params_unset_ = true;
    cur_ = QParams{};
    cur_.lo = lo;
    cur_.hi = hi;
    size_ = size;
}

void QdqPath::other(const std::string& where, const std::string& what) {
    if (state_ == State::Start) {
        if (!float_before_) float_before_what_ = where + " (" + what + ")";
        float_before_ = true;
        return;
    }
    if (state_ == State::Done) fail(where, what + " after the final Softmax of a quantized model is not supported");
    fail(where, what + " inside the quantized part of the model has no supported integer semantics");
}

void QdqPath::quantize(const std::string& where, const QParams& p, int64_t size) {
    switch (state_) {
        case State::Start:
            if (float_before_)
                fail(where, "the first QuantizeLinear must quantize the graph input, but " + float_before_what_ +
                                " comes before it");
            set_input(p);
            break;
        case State::Quantized:
            fail(where, "QuantizeLinear of a tensor that is already quantized");
        case State::Done:
            fail(where, "QuantizeLinear after the final Softmax is not supported");
        case State::Pending: {
            const bool same = p.scale_r == cur_.scale_r && p.zero == cur_.zero && p.lo == cur_.lo && p.hi == cur_.hi;
            if (pend_.identity && same && !pend_.clamped()) break;  // Q(DQ(q)) = q
            if (pend_.identity && same && !net_.layers.empty()) {
                // Q(Relu(DQ(q))) with unchanged parameters is a clamp of the previous layer.
                IntLayer& L = net_.layers.back();
                IntLayer tmp = finalize(where, &p);
                L.lo = std::max(L.lo, tmp.lo);
                L.hi = std::min(L.hi, tmp.hi);
                if (L.lo > L.hi) fail(where, "the clip range is empty");
                break;
            }
            net_.layers.push_back(finalize(where, &p));
            break;
        }
    }
    pend_ = Pending{};
    cur_ = p;
    size_ = size;
    state_ = State::Quantized;
    kind_ = Kind::Quantized;
}

bool QdqPath::adopt_input(const QParams& p) {
    if (!input_params_unset_) return false;
    QParams q = p;
    q.lo = cur_.lo;
    q.hi = cur_.hi;
    cur_ = q;
    set_input(cur_);
    input_params_unset_ = false;
    return true;
}

void QdqPath::dequantize(const std::string& where, const QParams& p) {
    need(State::Quantized, where, "DequantizeLinear of the activation");
    if (!adopt_input(p) && (!(p.scale_r == cur_.scale_r) || p.zero != cur_.zero))
        fail(where, fmt::format("DequantizeLinear (scale {}, zero point {}) does not match the QuantizeLinear before it "
                                "(scale {}, zero point {})", p.scale, p.zero, cur_.scale, cur_.zero));
    pend_ = Pending{};
    pend_.name = where;
    pend_.identity = true;
    pend_.size = size_;
    pend_.in_zero = cur_.zero;
    pend_.F.assign(size_t(size_), cur_.scale_r);
    pend_.b.assign(size_t(size_), 0);
    state_ = State::Pending;
    kind_ = Kind::Real;
}

void QdqPath::materialize() {
    if (!pend_.identity) return;
    pend_.W = IntMat::Identity(pend_.size, pend_.size);
    pend_.identity = false;
}

void QdqPath::linear(const std::string& where, IntMat W, const std::vector<Rat>& ws) {
    if (state_ == State::Start) return other(where, "a quantized layer");
    need(State::Pending, where, "a quantized layer");
    if (!pend_.identity || pend_.clamped())
        fail(where, "a layer must follow its input's DequantizeLinear directly in a quantized model");
    if (W.cols() != pend_.size || int64_t(ws.size()) != W.rows())
        fail(where, fmt::format("the quantized layer takes {} inputs but receives {}", W.cols(), pend_.size));
    const Rat f0 = pend_.F.empty() ? Rat{1, 1} : pend_.F[0];
    pend_.name = where;
    pend_.size = W.rows();
    pend_.W = std::move(W);
    pend_.identity = false;
    pend_.b.assign(size_t(pend_.size), 0);
    pend_.F.resize(size_t(pend_.size));
    for (int64_t i = 0; i < pend_.size; ++i) pend_.F[size_t(i)] = rat_mul(f0, ws[size_t(i)], file_);
}

void QdqPath::scale_rows(const std::string& where, const std::vector<Rat>& c) {
    if (state_ == State::Start) return other(where, "an elementwise product");
    need(State::Pending, where, "an elementwise product");
    if (pend_.clamped()) fail(where, "an operation between Relu/Clip and QuantizeLinear is not supported");
    if (int64_t(c.size()) != pend_.size) fail(where, "elementwise constant has the wrong size");
    materialize();
    for (int64_t i = 0; i < pend_.size; ++i) {
        const Rat& ci = c[size_t(i)];
        if (ci.n == 0) {
            pend_.W.row(i).setZero();
            pend_.b[size_t(i)] = 0;
            pend_.F[size_t(i)] = Rat{1, 1};
        } else {
            pend_.F[size_t(i)] = rat_mul(pend_.F[size_t(i)], ci, file_);
        }
    }
}

void QdqPath::add_rows(const std::string& where, const std::vector<Rat>& c) {
    if (state_ == State::Start) return other(where, "an elementwise sum");
    need(State::Pending, where, "an elementwise sum");
    if (pend_.clamped()) fail(where, "an operation between Relu/Clip and QuantizeLinear is not supported");
    if (int64_t(c.size()) != pend_.size) fail(where, "elementwise constant has the wrong size");
    materialize();
    for (int64_t i = 0; i < pend_.size; ++i) {
        const Rat t = rat_div(c[size_t(i)], pend_.F[size_t(i)], file_);
        if (t.d != 1) {
            // Refine row i's scale so that the constant is a whole number of its units.
            for (int64_t j = 0; j < pend_.W.cols(); ++j)
                pend_.W(i, j) = to64(mul128(pend_.W(i, j), t.d, file_), file_, "a rescaled quantized weight");
            pend_.b[size_t(i)] = mul128(pend_.b[size_t(i)], t.d, file_);
            pend_.F[size_t(i)] = rat_div(pend_.F[size_t(i)], Rat{t.d, 1}, file_);
        }
        pend_.b[size_t(i)] = add128(pend_.b[size_t(i)], t.n, file_);
    }
}

void QdqPath::add_int_bias(const std::string& where, const std::vector<int64_t>& b, const std::vector<Rat>& bs) {
    if (state_ == State::Start) return other(where, "a quantized bias");
    need(State::Pending, where, "a quantized bias");
    if (int64_t(b.size()) != pend_.size || bs.size() != b.size()) fail(where, "the bias has the wrong size");
    std::vector<Rat> other_rows(b.size(), Rat{0, 1});
    bool any_other = false;
    materialize();
    for (size_t i = 0; i < b.size(); ++i) {
        // float32(F) differs from F by at most 2^-24 relative; allow 2^-22.
        const double F = pend_.F[i].to_double(), s = bs[i].to_double();
        if (std::fabs(s - F) <= std::ldexp(std::fabs(F), -22)) {
            pend_.b[i] = add128(pend_.b[i], b[i], file_);
        } else {
            other_rows[i] = rat_mul(Rat{b[i], 1}, bs[i], file_);
            any_other = true;
        }
    }
    if (any_other) add_rows(where, other_rows);
}

void QdqPath::relu(const std::string& where) {
    if (state_ == State::Start) return other(where, "Relu");
    need(State::Pending, where, "Relu");
    pend_.relu = true;
}

void QdqPath::clip(const std::string& where, std::optional<Rat> lo, std::optional<Rat> hi) {
    if (state_ == State::Start) return other(where, "Clip");
    need(State::Pending, where, "Clip");
    auto less = [](const Rat& a, const Rat& b) { return (long double)a.n / a.d < (long double)b.n / b.d; };
    if (lo) pend_.lo = (!pend_.lo || less(*pend_.lo, *lo)) ? *lo : *pend_.lo;
    if (hi) pend_.hi = (!pend_.hi || less(*hi, *pend_.hi)) ? *hi : *pend_.hi;
}

void QdqPath::cast(const std::string& where) {
    if (kind_ == Kind::Quantized) fail(where, "Cast of a quantized tensor is not supported");
    if (kind_ == Kind::Accumulator) kind_ = Kind::Real;
}

void QdqPath::matmul_integer(const std::string& where, IntMat W, int64_t a_zero) {
    need(State::Quantized, where, "MatMulInteger");
    QParams unit;
    unit.scale = 1.0;
    unit.scale_r = Rat{1, 1};
    unit.zero = a_zero;
    if (!adopt_input(unit) && a_zero != cur_.zero)
        fail(where, fmt::format("MatMulInteger's zero point {} differs from its input's {}", a_zero, cur_.zero));
    if (W.cols() != size_) fail(where, fmt::format("MatMulInteger takes {} inputs but receives {}", W.cols(), size_));
    pend_ = Pending{};
    pend_.name = where;
    pend_.identity = false;
    pend_.size = W.rows();
    pend_.W = std::move(W);
    pend_.b.assign(size_t(pend_.size), 0);
    pend_.F.assign(size_t(pend_.size), Rat{1, 1});
    pend_.in_zero = a_zero;
    state_ = State::Pending;
    kind_ = Kind::Accumulator;
}

void QdqPath::qlinear_matmul(const std::string& where, IntMat W, const std::vector<Rat>& ws, const QParams& a,
                             const QParams& y) {
    need(State::Quantized, where, "QLinearMatMul");
    if (!adopt_input(a) && (!(a.scale_r == cur_.scale_r) || a.zero != cur_.zero))
        fail(where, "QLinearMatMul's input scale or zero point differs from its input's quantization");
    if (W.cols() != size_) fail(where, fmt::format("QLinearMatMul takes {} inputs but receives {}", W.cols(), size_));
    pend_ = Pending{};
    pend_.name = where;
    pend_.identity = false;
    pend_.size = W.rows();
    pend_.W = std::move(W);
    pend_.b.assign(size_t(pend_.size), 0);
    pend_.in_zero = a.zero;
    pend_.F.resize(size_t(pend_.size));
    for (int64_t i = 0; i < pend_.size; ++i) pend_.F[size_t(i)] = rat_mul(a.scale_r, ws[size_t(i)], file_);
    net_.layers.push_back(finalize(where, &y));
    pend_ = Pending{};
    cur_ = y;
    size_ = net_.layers.back().out_size();
    state_ = State::Quantized;
    kind_ = Kind::Quantized;
}

void QdqPath::final_softmax(const std::string& where) {
    if (state_ == State::Start) return other(where, "Softmax");
    need(State::Pending, where, "Softmax");
    if (!pend_.identity || pend_.clamped()) net_.layers.push_back(finalize(where, nullptr));
    pend_ = Pending{};
    state_ = State::Done;
}

IntLayer QdqPath::finalize(const std::string& where, const QParams* out) {
    materialize();
    Pending& P = pend_;
    const int64_t m = P.size;
    // The common scale G: the largest rational of which every |F_i| is a whole multiple.
    i128 gn = 0, gd = 1;
    for (const Rat& f : P.F) {
        gn = gcd128(gn, f.n);
        gd = mul128(gd / gcd128(gd, f.d), f.d, file_);
    }
    if (gn == 0) gn = 1;
    const Rat G = Rat::of(gn, gd, file_);
    bool unit = true;
    IntLayer L;
    L.name = P.name.empty() ? where : P.name;
    L.W = P.W;
    L.b.resize(size_t(m));
    for (int64_t i = 0; i < m; ++i) {
        const Rat k = rat_div(P.F[size_t(i)], G, file_);
        if (k.d != 1) overflow(file_);  // cannot happen: G divides every F_i
        if (k.n != 1) {
            unit = false;
            for (int64_t j = 0; j < L.W.cols(); ++j)
                L.W(i, j) = to64(mul128(L.W(i, j), k.n, file_), file_, "a rescaled quantized weight");
        }
        L.b[size_t(i)] = to64(mul128(P.b[size_t(i)], k.n, file_), file_, "a quantized bias");
    }
    (void)unit;
    L.in_zero = P.in_zero;
    // The integer network computes acc * num in 128 bits: make sure it cannot overflow
    // over the input's integer range.
    const long double xmax = std::max(std::fabs((long double)(cur_.lo - P.in_zero)),
                                      std::fabs((long double)(cur_.hi - P.in_zero)));
    long double worst = 0;
    for (int64_t i = 0; i < m; ++i) {
        long double s = std::fabs((long double)L.b[size_t(i)]);
        for (int64_t j = 0; j < L.W.cols(); ++j) s += std::fabs((long double)L.W(i, j)) * xmax;
        worst = std::max(worst, s);
    }
    L.rounding = Rounding::HalfEven;
    L.accumulator_bits = 0;
    L.overflow = Overflow::Detect;
    if (out) {
        const Rat r = rat_div(G, out->scale_r, file_);
        L.num = to64(r.n, file_, fmt::format("{}: the rescale factor's numerator", where));
        L.den = to64(r.d, file_, fmt::format("{}: the rescale factor's denominator", where));
        if (worst * (long double)L.num >= 0x1p120L)
            fail(where, "the integer layer's accumulator times its rescale factor can exceed 120 bits");
        L.out_zero = out->zero;
        L.lo = out->lo;
        L.hi = out->hi;
        L.out_scale = out->scale;
        // QuantizeLinear is monotone, so Q(clip(y, a, b)) = clamp(Q(y), Q(a), Q(b)).
        auto q_of = [&](const Rat& v) {
            const Rat t = rat_div(v, out->scale_r, file_);
            i128 q = round_div(t.n, t.d, Rounding::HalfEven);
            q = std::clamp<i128>(q, -(i128(1) << 64), i128(1) << 64) + out->zero;  // then saturate
            return int64_t(std::clamp<i128>(q, out->lo, out->hi));
        };
        if (P.relu) L.lo = std::max(L.lo, out->zero);
        if (P.lo) L.lo = std::max(L.lo, q_of(*P.lo));
        if (P.hi) L.hi = std::min(L.hi, q_of(*P.hi));
        if (L.lo > L.hi) fail(where, "the clip range is empty");
    } else {
        // No QuantizeLinear follows: the output is the exact accumulator, real value acc * G.
        L.num = L.den = 1;
        L.out_zero = 0;
        L.out_scale = G.to_double();
        if (worst >= 0x1p62L) fail(where, "the integer accumulator can exceed 64 bits");
        if (P.relu) L.lo = 0;
        if (P.lo || P.hi) fail(where, "a Clip at the end of a quantized model without QuantizeLinear is not supported");
    }
    return L;
}

std::optional<IntNetwork> QdqPath::finish() {
    const std::string where = "end of the graph";
    switch (state_) {
        case State::Start: return std::nullopt;
        case State::Quantized:
            if (input_params_unset_) fail(where, "the integer graph input is never dequantized");
            break;
        case State::Pending:
            if (!pend_.identity || pend_.clamped()) net_.layers.push_back(finalize(where, nullptr));
            break;
        case State::Done: break;
    }
    if (net_.layers.empty()) {
        // Only Q -> DQ: the integer network is the identity on the quantized input.
        IntLayer L;
        L.name = "identity";
        L.W = IntMat::Identity(size_, size_);
        L.b.assign(size_t(size_), 0);
        L.in_zero = cur_.zero;
        L.lo = cur_.lo;
        L.hi = cur_.hi;
        L.out_zero = cur_.zero;
        L.out_scale = cur_.scale;
        net_.layers.push_back(std::move(L));
    }
    net_.source = file_;
    net_.prepare();
    return std::move(net_);
}

}  // namespace qcert::onnxio
