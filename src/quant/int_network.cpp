// Exact integer inference: integer arithmetic only, overflow detected.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

namespace {

using i128 = __int128;

// The accumulator after applying its width and overflow policy.
i128 fit_accumulator(i128 acc, const IntLayer& L, bool& overflow) {
    const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
    const i128 lo = -(i128(1) << (bits - 1)), hi = (i128(1) << (bits - 1)) - 1;
    if (acc >= lo && acc <= hi) return acc;
    overflow = true;
    switch (L.overflow) {
        case Overflow::Detect: return acc;
        case Overflow::Saturate: return acc < lo ? lo : hi;
        case Overflow::Wrap: {
            const i128 mod = i128(1) << bits;
            i128 r = acc % mod;
            if (r < 0) r += mod;
            return r > hi ? r - mod : r;
        }
    }
    return acc;
}

// One neuron's output from its exact accumulator.
int64_t requantize(i128 acc, const IntLayer& L) {
    i128 q = round_div(acc * L.num, L.den, L.rounding) + L.out_zero;
    if (q < L.lo) q = L.lo;
    if (q > L.hi) q = L.hi;
    return int64_t(q);
}

void layer_forward(const IntLayer& L, const std::vector<int64_t>& x, std::vector<int64_t>& y, IntEval* ev, int k) {
    const int64_t n = L.in_size(), m = L.out_size();
    y.assign(m, 0);
    if (L.fast64) {
        Eigen::Matrix<int64_t, Eigen::Dynamic, 1> xv(n);
        for (int64_t j = 0; j < n; ++j) xv[j] = x[j] - L.in_zero;
        Eigen::Matrix<int64_t, Eigen::Dynamic, 1> acc = L.W * xv;
        for (int64_t i = 0; i < m; ++i) {
            bool of = false;
            const i128 a = fit_accumulator(i128(acc[i]) + L.b[i], L, of);
            if (of && ev && !ev->overflow) { ev->overflow = true; ev->overflow_layer = k; ev->overflow_neuron = int(i); }
            y[i] = requantize(a, L);
        }
        return;
    }
    for (int64_t i = 0; i < m; ++i) {
        i128 acc = L.b[i];
        for (int64_t j = 0; j < n; ++j) acc += i128(L.W(i, j)) * (i128(x[j]) - L.in_zero);
        bool of = false;
        acc = fit_accumulator(acc, L, of);
        if (of && ev && !ev->overflow) { ev->overflow = true; ev->overflow_layer = k; ev->overflow_neuron = int(i); }
        y[i] = requantize(acc, L);
    }
}

}  // namespace

void IntNetwork::prepare() {
    if (layers.empty()) throw InputError(source, "the integer network has no layers");
    if (input.lo > input.hi) throw InputError(source, "the integer input range is empty");
    i128 lo = input.lo, hi = input.hi;
    for (size_t k = 0; k < layers.size(); ++k) {
        IntLayer& L = layers[k];
        if (k > 0 && L.in_size() != layers[k - 1].out_size())
            throw InputError(source, fmt::format("integer layer {} takes {} inputs but receives {}", k, L.in_size(),
                                                 layers[k - 1].out_size()));
        if (int64_t(L.b.size()) != L.out_size()) throw InputError(source, fmt::format("integer layer {}: bias size", k));
        if (L.den <= 0 || L.num <= 0) throw InputError(source, fmt::format("integer layer {}: rescale must be positive", k));
        if (L.lo > L.hi) throw InputError(source, fmt::format("integer layer {}: clamp range is empty", k));
        if (L.accumulator_bits < 0 || L.accumulator_bits > 64)
            throw InputError(source, fmt::format("integer layer {}: accumulator width {} out of 1..64", k, L.accumulator_bits));
        // Bound every partial sum: |b| + sum |W| * max|x - zero|, in long double to avoid overflow here.
        const long double xmax = std::max(std::fabs((long double)(lo - L.in_zero)), std::fabs((long double)(hi - L.in_zero)));
        long double worst = 0;
        for (int64_t i = 0; i < L.out_size(); ++i) {
            long double s = std::fabs((long double)L.b[i]);
            for (int64_t j = 0; j < L.in_size(); ++j) s += std::fabs((long double)L.W(i, j)) * xmax;
            worst = std::max(worst, s);
        }
        L.fast64 = worst < 0x1p62L;
        lo = L.lo;
        hi = L.hi;
    }
}

IntEval IntNetwork::eval(const std::vector<int64_t>& x) const {
    if (int64_t(x.size()) != input_size())
        throw InputError(source, fmt::format("input has {} values, the network expects {}", x.size(), input_size()));
    IntEval ev;
    std::vector<int64_t> cur = x, next;
    for (size_t k = 0; k < layers.size(); ++k) {
        layer_forward(layers[k], cur, next, &ev, int(k));
        cur.swap(next);
    }
    ev.out = std::move(cur);
    return ev;
}

std::vector<std::vector<int64_t>> IntNetwork::trace(const std::vector<int64_t>& x) const {
    std::vector<std::vector<int64_t>> t{x};
    for (size_t k = 0; k < layers.size(); ++k) {
        std::vector<int64_t> y;
        layer_forward(layers[k], t.back(), y, nullptr, int(k));
        t.push_back(std::move(y));
    }
    return t;
}

std::vector<int64_t> IntNetwork::input_from(const Vec& raw, const Vec& real) const {
    std::vector<int64_t> q(raw.size());
    for (int64_t j = 0; j < raw.size(); ++j) {
        int64_t v;
        if (input.raw) {
            if (raw[j] != std::floor(raw[j]))
                throw InputError(source, "this scheme takes integer inputs, but the data has the value " + fmt::format("{}", raw[j]));
            v = int64_t(raw[j]);
        } else {
            v = round_double(real[j] / input.scale, input.rounding) + input.zero;
        }
        q[j] = std::clamp(v, input.lo, input.hi);
    }
    return q;
}

Vec IntNetwork::dequantize_output(const std::vector<int64_t>& q) const {
    const IntLayer& L = layers.back();
    Vec y(q.size());
    for (size_t i = 0; i < q.size(); ++i) y[i] = double(q[i] - L.out_zero) * L.out_scale;
    return y;
}

}  // namespace qcert
