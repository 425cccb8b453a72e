// Small random integer networks and input boxes for brute-force cross-checks of the
// bounds and of the complete methods: quantize() of random block nets under random
// `fixed:` schemes and aaai2021:Q, then (sometimes) layer edits that schemes never
// make but QDQ models do: other rounding modes, zero points, rational rescales,
// narrow clamps, narrow accumulators that wrap or saturate.
#pragma once

#include "qcert/property.hpp"
#include "qcert/quant.hpp"

#include <fmt/format.h>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace qcert::test {

inline const Rounding kAllModes[] = {Rounding::HalfUp, Rounding::HalfAway, Rounding::HalfEven, Rounding::HalfDown,
                                     Rounding::Floor,  Rounding::Ceil,     Rounding::TowardZero};

inline int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// Dense layers of the given widths, ReLU between them, weights and biases N(0, sigma).
inline BlockNet random_block_net(std::mt19937_64& rng, int64_t in, const std::vector<int64_t>& widths, double sigma = 0.8) {
    std::normal_distribution<double> N(0, sigma);
    BlockNet n;
    n.source = "random";
    n.input_shape = {in};
    int64_t prev = in;
    for (size_t k = 0; k < widths.size(); ++k) {
        Block b;
        b.W = Mat::NullaryExpr(widths[k], prev, [&] { return N(rng); });
        b.b = Vec::NullaryExpr(widths[k], [&] { return N(rng); });
        b.act = k + 1 < widths.size() ? Act::ReLU : Act::None;
        n.blocks.push_back(b);
        prev = widths[k];
    }
    return n;
}

inline std::string random_format(std::mt19937_64& rng, bool is_signed) {
    const int bits = int(uniform(rng, 3, 8));
    return fmt::format("{}{}.{}", is_signed ? 's' : 'u', bits, uniform(rng, 0, bits));
}

// A random fixed: scheme spec (every rounding mode, sometimes a narrow accumulator).
inline std::string random_fixed_spec(std::mt19937_64& rng) {
    std::string s = fmt::format("fixed:w={},b={},a={},o={},i={},raw,round={},pround={}", random_format(rng, true),
                                random_format(rng, true), random_format(rng, rng() % 2), random_format(rng, true),
                                random_format(rng, false), rounding_name(kAllModes[rng() % 7]),
                                rounding_name(kAllModes[rng() % 7]));
    if (rng() % 4 == 0) s += fmt::format(",acc={}", uniform(rng, 8, 16));
    return s;
}

// Edits layers the way a QDQ model could have them.
inline void perturb_layers(std::mt19937_64& rng, IntNetwork& net) {
    for (IntLayer& L : net.layers) {
        if (rng() % 2) L.rounding = kAllModes[rng() % 7];
        if (rng() % 3 == 0) L.in_zero = uniform(rng, -3, 3);
        if (rng() % 3 == 0) L.out_zero = uniform(rng, -4, 4);
        if (rng() % 3 == 0) {  // a rational rescale, not a power of two
            L.num = uniform(rng, 1, 5);
            L.den = uniform(rng, 1, 40);
        }
        if (rng() % 4 == 0) {  // a narrow clamp around the zero point
            L.lo = std::max<int64_t>(L.lo, L.out_zero - uniform(rng, 0, 6));
            L.hi = std::min<int64_t>(L.hi, L.out_zero + uniform(rng, 0, 6));
            if (L.lo > L.hi) L.hi = L.lo;
        }
        if (rng() % 6 == 0) {
            L.accumulator_bits = int(uniform(rng, 4, 9));
            L.overflow = rng() % 3 == 0 ? Overflow::Detect : rng() % 2 ? Overflow::Wrap : Overflow::Saturate;
        }
    }
    net.prepare();
}

struct RandomNet {
    IntNetwork net;
    std::string what;  // how it was made, for failure messages
};

// Input width 2..4, one to three layers of width 2..5.
inline RandomNet random_int_net(std::mt19937_64& rng) {
    const int64_t in = uniform(rng, 2, 4);
    std::vector<int64_t> widths;
    const int layers = int(uniform(rng, 1, 3));
    for (int k = 0; k < layers; ++k) widths.push_back(uniform(rng, 2, 5));
    const BlockNet bn = random_block_net(rng, in, widths);
    RandomNet r;
    const std::string spec = rng() % 3 == 0 ? fmt::format("aaai2021:{}", uniform(rng, 3, 8)) : random_fixed_spec(rng);
    r.net = *quantize(bn, parse_scheme(spec, bn)).integer;
    r.what = spec;
    if (rng() % 2) {
        perturb_layers(rng, r.net);
        r.what += " (layers edited)";
    }
    return r;
}

// A random box inside the input range with at most about `max_points` points.
inline void random_box(std::mt19937_64& rng, const IntNetwork& net, std::vector<int64_t>& lo, std::vector<int64_t>& hi,
                       int64_t max_points = 1500) {
    const int64_t n = net.input_size();
    lo.assign(n, 0);
    hi.assign(n, 0);
    int64_t points = 1;
    for (int64_t j = 0; j < n; ++j) {
        const int64_t c = uniform(rng, net.input.lo, net.input.hi);
        const int64_t budget = std::max<int64_t>(1, max_points / points);
        int64_t w = uniform(rng, 0, std::min<int64_t>(12, budget - 1));
        lo[j] = std::max(net.input.lo, c - w / 2);
        hi[j] = std::min(net.input.hi, lo[j] + w);
        points *= hi[j] - lo[j] + 1;
    }
}

// Calls f(x) for every integer x of the box, in order, until f returns true (f may also
// return nothing: then every point). Returns whether some f(x) returned true.
template <class F>
bool for_each_point(const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, F&& f) {
    std::vector<int64_t> x = lo;
    for (;;) {
        if constexpr (std::is_same_v<decltype(f(x)), bool>) {
            if (f(x)) return true;
        } else {
            f(x);
        }
        size_t j = 0;
        while (j < x.size() && x[j] == hi[j]) x[j] = lo[j], ++j;
        if (j == x.size()) return false;
        ++x[j];
    }
}

// A random unsafe set over the outputs: robustness for a label, or random
// disjunctions of conjunctions of small integer constraints.
inline IntUnsafe random_unsafe(std::mt19937_64& rng, const IntNetwork& net) {
    const int64_t m = net.output_size();
    if (rng() % 2) return to_integer(OutputProperty::misclassified(m, uniform(rng, 0, m - 1)), net);
    IntUnsafe u;
    const int disj = int(uniform(rng, 1, 3));
    for (int d = 0; d < disj; ++d) {
        std::vector<IntConstraint> conj;
        const int cons = int(uniform(rng, 1, 2));
        for (int c = 0; c < cons; ++c) {
            IntConstraint k;
            const int terms = int(uniform(rng, 1, 3));
            for (int t = 0; t < terms; ++t) k.terms.push_back({uniform(rng, 0, m - 1), uniform(rng, -4, 4)});
            k.rhs = uniform(rng, -20, 20);
            conj.push_back(k);
        }
        u.push_back(conj);
    }
    return u;
}

}  // namespace qcert::test
