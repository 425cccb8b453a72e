// The pair (f, g) of an error-bound question in the real form of PairLayer, and
// the exact re-evaluation of g - f at an input.
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A block as a clamp of its pre-activation: ReLU then clamp [lo, hi] is
// min(max(z, max(0, lo)), hi); an empty clamp (lo > hi) is the constant hi.
PairLayer block_layer(const Block& b, const std::string& where) {
    if (b.act != Act::None && b.act != Act::ReLU)
        throw InputError(where, fmt::format("error bounds need linear or ReLU layers, layer '{}' has {}", b.name, act_name(b.act)));
    PairLayer L;
    L.W = b.W;
    L.b = b.b;
    L.lo = b.act == Act::ReLU ? std::max(0.0, b.lo) : b.lo;
    L.hi = b.hi;
    if (L.lo > L.hi) L.lo = L.hi;
    if (b.quantized_output()) {
        // x = clamp(round(clamp(z, lo, hi) / s) s, out_min, out_max) = clamp(z + e, lo', hi') with
        // |e| <= s / 2 and lo' = max(round(lo / s) s, out_min), hi' likewise (round is monotone).
        const double s = b.out_step;
        L.noise_lo = -s / 2, L.noise_hi = s / 2;
        L.step = s, L.rounding = Rounding::HalfEven;
        const double rlo = std::isfinite(L.lo) ? round_half_even(L.lo / s) * s : L.lo;
        const double rhi = std::isfinite(L.hi) ? round_half_even(L.hi / s) * s : L.hi;
        L.lo = std::max(rlo, b.out_min);
        L.hi = std::min(rhi, b.out_max);
        if (L.lo > L.hi) L.lo = L.hi = rhi < b.out_min ? b.out_min : b.out_max;  // disjoint ranges: a constant
    }
    return L;
}

// The reference network's layers: the bounds take rounding noise on the twin's side only.
std::vector<PairLayer> reference_layers(const BlockNet& f) {
    if (f.quantized_activations())
        throw InputError(f.source, "the reference network has quantized activations: give it as the twin (--scheme, --against)");
    std::vector<PairLayer> v;
    for (const Block& b : f.blocks) v.push_back(block_layer(b, f.source));
    return v;
}

std::vector<PairLayer> block_layers(const BlockNet& n) {
    std::vector<PairLayer> v;
    for (const Block& b : n.blocks) v.push_back(block_layer(b, n.source));
    return v;
}

bool power_of_two(double x) {
    int e = 0;
    return x > 0 && std::isfinite(x) && std::frexp(x, &e) == 0.5;
}

void check_sizes(const BlockNet& f, int64_t g_in, int64_t g_out, const std::string& g_name) {
    if (f.input_size() != g_in || f.output_size() != g_out)
        throw InputError(g_name, fmt::format("has {} inputs and {} outputs, {} has {} and {}: the two networks must have the "
                                             "same inputs and outputs",
                                             g_in, g_out, f.source, f.input_size(), f.output_size()));
    if (f.blocks.empty()) throw InputError(f.source, "the network has no layers");
}

void check_divisor(double d) {
    if (!(d > 0) || !std::isfinite(d)) throw InputError("--input-scale", "the input divisor must be a positive number");
}

}  // namespace

bool ErrPair::same_shape() const {
    if (f_layers.size() != g_layers.size()) return false;
    for (size_t k = 0; k < f_layers.size(); ++k)
        if (f_layers[k].W.rows() != g_layers[k].W.rows() || f_layers[k].W.cols() != g_layers[k].W.cols()) return false;
    return true;
}

namespace {

void add_layer_constants(ErrPair& p) {
    if (!p.same_shape()) return;
    for (size_t k = 0; k < p.f_layers.size(); ++k) p.layer_constants.push_back(layer_constants(p.f_layers[k], p.g_layers[k]));
}

}  // namespace

ErrPair make_err_pair(const BlockNet& f, const BlockNet& g, double f_input_divisor) {
    check_sizes(f, g.input_size(), g.output_size(), g.source.empty() ? "the twin" : g.source);
    check_divisor(f_input_divisor);
    ErrPair p;
    p.f = f;
    p.g_real = g;
    p.f_input_divisor = f_input_divisor;
    p.f_layers = reference_layers(f);
    p.g_layers = block_layers(g);
    add_layer_constants(p);
    return p;
}

// The integer layer k in real units: real value = (q - out_zero) * out_scale, and
// (q_j - in_zero) = x_j / prev_scale for the previous layer's real values x_j, so
//   x' = clamp(sum_j W_ij * r x_j + b_i * r' + e, ...)  with r = num out_scale / (den prev_scale),
// r' = num out_scale / den, and e the rounding of acc * num / den, times out_scale.
// Only powers of two are accepted, so every coefficient is an exact double.
ErrPair make_err_pair(const BlockNet& f, const IntNetwork& g, double f_input_divisor) {
    const std::string where = g.source.empty() ? "the quantized twin" : g.source + " (quantized)";
    check_sizes(f, g.input_size(), g.output_size(), where);
    check_divisor(f_input_divisor);
    if (!g.input.raw)
        throw InputError(where, "error bounds for an integer twin need raw integer inputs (schemes like qebverif:Q, aaai2021:Q)");
    ErrPair p;
    p.f = f;
    p.g_int = g;
    p.f_input_divisor = f_input_divisor;
    p.f_layers = reference_layers(f);
    // Raw inputs: the integers are the data values; layer 0 sees (q - zero) * scale.
    if (!power_of_two(g.input.scale) || std::abs(g.input.zero) > (int64_t(1) << 30))
        throw InputError(where, "error bounds need a power-of-two input scale");
    p.g_input_scale = g.input.scale;
    p.g_input_shift = -double(g.input.zero) * g.input.scale;
    double prev_scale = g.input.scale;
    int64_t prev_zero = g.input.zero;
    for (size_t k = 0; k < g.layers.size(); ++k) {
        const IntLayer& L = g.layers[k];
        const std::string lw = fmt::format("{}: layer {}", where, k);
        if (L.in_zero != prev_zero) throw InputError(lw, "input zero point differs from the previous layer's output zero point");
        if (L.accumulator_bits != 0 && L.overflow != Overflow::Detect)
            throw InputError(lw, "error bounds need exact accumulators (no wrap-around or saturation)");
        if (!power_of_two(double(L.num)) || !power_of_two(double(L.den)) || !power_of_two(L.out_scale))
            throw InputError(lw, "error bounds need power-of-two scales (fixed-point schemes)");
        const double bias_ratio = double(L.num) * L.out_scale / double(L.den);  // exact: powers of two
        const double ratio = bias_ratio / prev_scale;
        PairLayer P;
        P.W.resize(L.W.rows(), L.W.cols());
        P.b.resize(L.out_size());
        const double limit = 0x1p52;
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            for (int64_t j = 0; j < L.W.cols(); ++j) {
                if (std::abs(double(L.W(i, j))) > limit) throw InputError(lw, "weights too large for exact doubles");
                P.W(i, j) = double(L.W(i, j)) * ratio;
            }
            if (std::abs(double(L.b[i])) > limit) throw InputError(lw, "biases too large for exact doubles");
            P.b[i] = double(L.b[i]) * bias_ratio;
        }
        // Rounding of acc * num / den to an integer: none when den = 1.
        double e_lo = 0, e_hi = 0;
        if (L.den != 1) {
            switch (L.rounding) {
                case Rounding::HalfUp: case Rounding::HalfAway: case Rounding::HalfEven: case Rounding::HalfDown:
                    e_lo = -0.5, e_hi = 0.5; break;
                case Rounding::Floor: e_lo = -1, e_hi = 0; break;
                case Rounding::Ceil: e_lo = 0, e_hi = 1; break;
                case Rounding::TowardZero: e_lo = -1, e_hi = 1; break;
            }
        }
        P.noise_lo = e_lo * L.out_scale;
        P.noise_hi = e_hi * L.out_scale;
        if (L.den != 1) P.step = L.out_scale, P.rounding = L.rounding;
        P.lo = L.lo == INT64_MIN ? -kInf : double(L.lo - L.out_zero) * L.out_scale;
        P.hi = L.hi == INT64_MAX ? kInf : double(L.hi - L.out_zero) * L.out_scale;
        if (std::abs(double(L.lo)) > limit && L.lo != INT64_MIN) throw InputError(lw, "clamp too large for exact doubles");
        if (std::abs(double(L.hi)) > limit && L.hi != INT64_MAX) throw InputError(lw, "clamp too large for exact doubles");
        p.g_layers.push_back(std::move(P));
        prev_scale = L.out_scale;
        prev_zero = L.out_zero;
    }
    add_layer_constants(p);
    return p;
}

Vec exact_difference(const ErrPair& p, const std::vector<double>& u) {
    Vec x(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) x[int64_t(j)] = u[j] / p.f_input_divisor;
    const Vec fy = p.f.forward(x);
    if (p.g_int) {
        std::vector<int64_t> q(u.size());
        for (size_t j = 0; j < u.size(); ++j) q[j] = int64_t(std::llround(u[j]));
        return p.g_int->dequantize_output(p.g_int->eval(q).out) - fy;
    }
    return p.g_real->forward(x) - fy;
}

namespace {

std::vector<Interval> enclose_layers(const std::vector<PairLayer>& layers, std::vector<Interval> x) {
    for (const PairLayer& L : layers) {
        std::vector<Interval> z(size_t(L.W.rows()));
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            Interval s = Interval::point(L.b[i]);
            for (int64_t j = 0; j < L.W.cols(); ++j) s += L.W(i, j) * x[size_t(j)];
            if (L.step > 0 && L.rounding == Rounding::HalfEven) {
                // A real twin's rounded output (fixed-point activations): rounding is monotone, so the
                // rounded ends bracket it exactly (the step is a power of two).
                s = {round_half_even(s.lo / L.step) * L.step, round_half_even(s.hi / L.step) * L.step};
            } else if (L.noise_lo != 0 || L.noise_hi != 0) {
                s += Interval{L.noise_lo, L.noise_hi};
            }
            z[size_t(i)] = clamp(s, L.lo, L.hi);
        }
        x = std::move(z);
    }
    return x;
}

}  // namespace

std::vector<Interval> difference_enclosure(const ErrPair& p, const std::vector<double>& u) {
    std::vector<Interval> x(u.size());
    for (size_t j = 0; j < u.size(); ++j) x[j] = Interval::point(u[j]) / Interval::point(p.f_input_divisor);
    const std::vector<Interval> fy = enclose_layers(p.f_layers, x);
    std::vector<Interval> gy;
    if (p.g_int) {
        std::vector<int64_t> q(u.size());
        for (size_t j = 0; j < u.size(); ++j) q[j] = int64_t(std::llround(u[j]));
        const Vec g = p.g_int->dequantize_output(p.g_int->eval(q).out);  // exact: power-of-two scales
        for (int64_t k = 0; k < g.size(); ++k) gy.push_back(Interval::point(g[k]));
    } else {
        gy = enclose_layers(p.g_layers, x);
    }
    std::vector<Interval> d(fy.size());
    for (size_t k = 0; k < fy.size(); ++k) d[k] = gy[k] - fy[k];
    return d;
}

}  // namespace qcert
