// Quantization schemes and the exact integer semantics of a quantized network.
//
// A Scheme says, per block of the network (blocks.hpp), how weights, biases and
// activations are represented. Applying it gives a QuantizedNet: the network with
// its parameters replaced by their quantized values, and, when every value on the
// path is fixed point (or the model is a QDQ ONNX model), an IntNetwork that runs
// in integer arithmetic only: int64 accumulation with overflow detection, exact
// rational rescaling with a chosen rounding mode, saturation.
#pragma once

#include "qcert/blocks.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcert {

enum class Rounding { HalfUp, HalfAway, HalfEven, HalfDown, Floor, Ceil, TowardZero };

const char* rounding_name(Rounding r);
Rounding parse_rounding(const std::string& s);  // throws InputError

// Rounds the rational n / d (d != 0) to an integer, exactly.
__int128 round_div(__int128 n, __int128 d, Rounding r);
// Rounds a double to an integer (exact for |x| < 2^62; throws on non-finite).
int64_t round_double(double x, Rounding r);

// Signed or unsigned fixed point: value = q * 2^-frac, q in [min_int(), max_int()].
struct FixedFormat {
    bool is_signed = true;
    int bits = 8;   // total bits, sign included; 1..32
    int frac = 0;   // fractional bits; may be negative or exceed bits

    int64_t min_int() const { return is_signed ? -(int64_t(1) << (bits - 1)) : 0; }
    int64_t max_int() const { return is_signed ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1; }
    double step() const;           // 2^-frac
    double min_value() const { return double(min_int()) * step(); }
    double max_value() const { return double(max_int()) * step(); }
    std::string str() const;       // e.g. "s8.6" or "u8.8"
    void check(const std::string& where) const;  // bits in range; throws InputError
};

// Quantizes x to the format: round(x * 2^frac) with rounding r, clipped to the range.
int64_t quantize_fixed(double x, const FixedFormat& f, Rounding r);
// Parses "s8.6" (signed, 8 bits, 6 fractional) or "u8.8"; throws InputError.
FixedFormat parse_fixed_format(const std::string& s);

// How the numbers of one block are represented. A missing format means "kept real".
struct LayerScheme {
    std::optional<FixedFormat> weight, bias;
    bool weight_fp16 = false, bias_fp16 = false;  // IEEE half cast instead of fixed point
    // The block's output format. On the last block of an integer path a missing
    // format means the exact accumulator is the output (no rescale, no clamp).
    std::optional<FixedFormat> activation;
    Rounding param_rounding = Rounding::HalfEven; // weights and biases
    Rounding act_rounding = Rounding::HalfEven;   // rescaling the accumulator
    int accumulator_bits = 0;                     // 0: int64, overflow still detected
};

struct Scheme {
    std::string name;                  // the spec it was parsed from
    std::optional<FixedFormat> input;  // input format (needed for an integer path)
    bool input_raw = false;            // data integers (e.g. pixels 0..255) are taken as the input integers
    std::vector<LayerScheme> layers;   // one per block

    // True when inputs, parameters and hidden activations are all fixed point:
    // the network then has an exact integer semantics.
    bool integer_path() const;
};

// Parses `--scheme NAME[:ARGS]` against a network (presets depend on its layers):
//   aaai2021:Q       the AAAI 2021 / QVIP semantics (../shared/benchmarks/README.md)
//   qebverif:Q       QEBVerif's QNN semantics
//   quadapter:B1,B2,...  Quadapter: per-layer weights/biases, activations real
//   fp16             every weight and bias cast to IEEE half
//   fixed:ARGS       uniform fixed point, see docs/SCHEMES.md
//   FILE.json        a scheme file with full per-layer control
Scheme parse_scheme(const std::string& spec, const BlockNet& net);
Scheme read_scheme_json(const std::string& path, const BlockNet& net);
std::string scheme_to_json(const Scheme& s);

// ---- the integer network ---------------------------------------------------

enum class Overflow { Detect, Wrap, Saturate };

// out_i = clamp(round((sum_j W_ij (x_j - in_zero) + b_i) * num / den) + out_zero, lo, hi)
// with ReLU realised as lo >= out_zero. All integer.
struct IntLayer {
    std::string name;
    Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W;  // out x in
    std::vector<int64_t> b;   // at accumulator scale
    int64_t in_zero = 0;
    int64_t num = 1, den = 1; // rescale factor num / den, den > 0
    Rounding rounding = Rounding::HalfEven;
    int64_t out_zero = 0;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    int accumulator_bits = 0; // 0: int64
    Overflow overflow = Overflow::Detect;
    double out_scale = 1.0;   // real value = (q - out_zero) * out_scale (for reporting)
    bool fast64 = false;      // set by IntNetwork::prepare(): no sum can leave int64

    int64_t in_size() const { return W.cols(); }
    int64_t out_size() const { return W.rows(); }
};

struct IntInput {
    int64_t lo = 0, hi = 255;  // integer input range
    int64_t zero = 0;
    double scale = 1.0;        // real value = (q - zero) * scale
    bool raw = false;          // integral data is taken as the integers directly
    Rounding rounding = Rounding::HalfEven;
};

struct IntEval {
    std::vector<int64_t> out;
    bool overflow = false;     // some accumulator left its width (Detect mode)
    int overflow_layer = -1, overflow_neuron = -1;
};

struct IntNetwork {
    std::string source;
    IntInput input;
    std::vector<IntLayer> layers;

    int64_t input_size() const { return layers.empty() ? 0 : layers.front().in_size(); }
    int64_t output_size() const { return layers.empty() ? 0 : layers.back().out_size(); }

    // Checks the layers chain and computes each layer's fast64 flag from the
    // input ranges; call after building or changing the layers. Throws InputError.
    void prepare();

    // Exact integer inference. The accumulator overflows when the exact sum does
    // not fit accumulator_bits (the order of additions does not matter: Wrap is
    // two's complement modulo 2^bits, Saturate clamps, Detect flags and goes on
    // with the exact sum).
    IntEval eval(const std::vector<int64_t>& x) const;
    // All layer outputs (for bounds and debugging); trace[0] is the input.
    std::vector<std::vector<int64_t>> trace(const std::vector<int64_t>& x) const;

    // The integer input for a sample: raw integers when input.raw and the data is
    // integral, else round(x / scale) + zero, clipped.
    std::vector<int64_t> input_from(const Vec& raw, const Vec& real) const;
    Vec dequantize_output(const std::vector<int64_t>& q) const;
};

// ---- applying a scheme -------------------------------------------------------

struct QuantizedNet {
    Scheme scheme;
    BlockNet real;                   // parameters replaced by their quantized values
    std::optional<IntNetwork> integer;  // present when the scheme has an integer path

    // Real-valued outputs: dequantized integer outputs when there is an integer
    // path (input given as raw data and its float view), else real.forward(real_input).
    Vec forward(const Vec& raw, const Vec& real_input) const;
};

QuantizedNet quantize(const BlockNet& net, const Scheme& scheme);
// A QDQ ONNX model's own integer semantics.
QuantizedNet from_qdq(const BlockNet& dequantized, const IntNetwork& qdq);

// ---- pruning ---------------------------------------------------------------

// Zeroes, in each block, the `ratio` fraction of weights of smallest magnitude.
BlockNet prune_magnitude(const BlockNet& net, double ratio);
// Per block, a matrix of the shape of its W: false entries are pruned.
using PruneMask = std::vector<Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic>>;
// mask[k] has the shape of blocks[k].W; false entries become zero.
BlockNet prune_mask(const BlockNet& net, const PruneMask& mask);

// IEEE half precision cast (round to nearest even, overflow to inf).
double to_fp16(double x);

}  // namespace qcert
