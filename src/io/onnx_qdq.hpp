// The exact integer semantics of a quantized ONNX model (QDQ form, QLinearMatMul,
// MatMulInteger), built step by step while the reader walks the chain.
//
// Between two quantization points the float graph computes, for every output
// element i, real_i = F_i * (sum_j W_ij (q_j - in_zero) + b_i) with W, b integer
// and F_i an exact rational (products and quotients of float32 scales are exact
// rationals). QuantizeLinear then gives round_half_even(real_i / s_out) + z_out,
// saturated: one IntLayer with num/den = G / s_out after bringing every F_i to
// a common G. No floating-point rounding enters the integer network.
#pragma once

#include "qcert/quant.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qcert::onnxio {

using i128 = __int128;
using IntMat = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// An exact rational with 128-bit parts; arithmetic throws InputError on overflow.
struct Rat {
    i128 n = 0, d = 1;  // d > 0, gcd(n, d) = 1

    static Rat of(i128 n, i128 d, const std::string& file);
    static Rat of_double(double x, const std::string& file);  // exact
    bool is_int() const { return d == 1; }
    double to_double() const;
};
Rat rat_mul(const Rat& a, const Rat& b, const std::string& file);
Rat rat_div(const Rat& a, const Rat& b, const std::string& file);
Rat rat_add(const Rat& a, const Rat& b, const std::string& file);
bool operator==(const Rat& a, const Rat& b);

// Scale, zero point and integer range of a QuantizeLinear / DequantizeLinear.
struct QParams {
    double scale = 1.0;  // exact float32 value
    Rat scale_r;
    int64_t zero = 0;
    int64_t lo = 0, hi = 255;  // saturation range of the integer type
};

// What the current activation holds, in the ONNX graph.
enum class Kind {
    Real,         // a float tensor: the float network holds the same value
    Quantized,    // an integer tensor from QuantizeLinear: the float network holds its dequantized value
    Accumulator,  // the int32 output of MatMulInteger: the float network holds the same value
};

class QdqPath {
public:
    explicit QdqPath(std::string file) : file_(std::move(file)) {}

    bool started() const { return state_ != State::Start; }
    // A float operation came before any QuantizeLinear: the model computes in float, and a
    // QuantizeLinear / DequantizeLinear pair on an activation is fake quantization.
    bool float_model() const { return state_ == State::Start && float_before_; }
    Kind kind() const;
    // Scale and zero point of the current Quantized activation (kind() == Quantized).
    const QParams& current() const { return cur_; }

    // The graph input is an integer tensor: its scale and zero point come from
    // the first node that consumes it.
    void integer_input(int64_t lo, int64_t hi, int64_t size);

    // An operation with no meaning in the integer path (an error once it started).
    void other(const std::string& where, const std::string& what);

    void quantize(const std::string& where, const QParams& p, int64_t size);
    void dequantize(const std::string& where, const QParams& p);

    // Gemm / MatMul / Conv on a dequantized activation: real weights W_ij * ws_i.
    void linear(const std::string& where, IntMat W, const std::vector<Rat>& ws);
    // An elementwise product by c_i (Mul, Div, Gemm's alpha).
    void scale_rows(const std::string& where, const std::vector<Rat>& c);
    // An elementwise sum with c_i (Add, Sub, a float bias).
    void add_rows(const std::string& where, const std::vector<Rat>& c);
    // A bias b_i * bs_i dequantized from int32: when bs_i is the accumulator scale
    // rounded to float32 (as quantizers store it), b_i is added to the accumulator
    // as is, which is what the fused integer kernels do.
    void add_int_bias(const std::string& where, const std::vector<int64_t>& b, const std::vector<Rat>& bs);
    void relu(const std::string& where);
    void clip(const std::string& where, std::optional<Rat> lo, std::optional<Rat> hi);
    void cast(const std::string& where);
    // MatMulInteger on the current integer activation (W already minus its zero point).
    void matmul_integer(const std::string& where, IntMat W, int64_t a_zero);
    // QLinearMatMul: W already minus b's zero point, real weights W_ij * ws_i.
    void qlinear_matmul(const std::string& where, IntMat W, const std::vector<Rat>& ws, const QParams& a,
                        const QParams& y);
    // A Softmax after the last quantization point: it does not change the ranking of
    // the outputs, so the integer network stops before it.
    void final_softmax(const std::string& where);

    // The integer network, or nothing when the model has no quantized activations.
    std::optional<IntNetwork> finish();

private:
    enum class State { Start, Quantized, Pending, Done };
    struct Pending {
        std::string name;         // the node that gives the layer its name
        bool identity = true;     // W is the identity and b = 0 (nothing since the DequantizeLinear)
        int64_t size = 0;         // rows (and columns while identity)
        IntMat W;
        std::vector<i128> b;
        std::vector<Rat> F;       // real_i = F_i * (W_i (q - in_zero) + b_i)
        int64_t in_zero = 0;
        bool relu = false;
        std::optional<Rat> lo, hi;
        bool clamped() const { return relu || lo || hi; }
    };

    void need(State s, const std::string& where, const std::string& what) const;
    void materialize();
    void set_input(const QParams& p);
    // The integer graph input's parameters, from the first node that reads it (its range kept):
    // true when they were still unset, else false (the caller checks that they agree).
    bool adopt_input(const QParams& p);
    IntLayer finalize(const std::string& where, const QParams* out);
    [[noreturn]] void fail(const std::string& where, const std::string& what) const;

    std::string file_;
    State state_ = State::Start;
    bool float_before_ = false;   // a float operation came before the first QuantizeLinear
    std::string float_before_what_;
    bool input_params_unset_ = false;
    bool input_set_ = false;
    QParams cur_;                 // the last quantization point's parameters
    Kind kind_ = Kind::Real;
    int64_t size_ = 0;            // elements of the current activation
    Pending pend_;
    IntNetwork net_;
};

}  // namespace qcert::onnxio
