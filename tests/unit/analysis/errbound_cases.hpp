// Random twins and boxes for the tests of `qcert bound` (test_errbound*.cpp): real schemes,
// pruning and perturbed copies of random block nets, boxes, and samples that favour corners.
#pragma once

#include "../bounds/random_int_nets.hpp"
#include "qcert/blocks.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace qcert::test {

// A random twin: a real scheme, pruning, or a second random network of the same shape.
struct RealCase {
    BlockNet f, g;
    std::string what;
};

inline RealCase random_real_case(std::mt19937_64& rng, int64_t in, const std::vector<int64_t>& widths) {
    RealCase c;
    c.f = random_block_net(rng, in, widths);
    switch (rng() % 4) {
        case 0: c.g = quantize(c.f, parse_scheme("fp16", c.f)).real, c.what = "fp16"; break;
        case 1: c.g = quantize(c.f, parse_scheme(fmt::format("fixed:{}", uniform(rng, 3, 8)), c.f)).real, c.what = "fixed"; break;
        case 2: c.g = prune_magnitude(c.f, 0.1 * double(uniform(rng, 1, 5))), c.what = "prune"; break;
        default: {
            c.g = c.f;  // a small random perturbation of every weight
            std::normal_distribution<double> N(0, 0.05);
            for (Block& b : c.g.blocks) b.W = b.W.unaryExpr([&](double w) { return w + N(rng); });
            c.what = "perturbed";
        }
    }
    if (rng() % 3 == 0) c.f.blocks[0].hi = c.g.blocks[0].hi = 1.5;  // a clamp after the first ReLU
    return c;
}

// f's integer twin under qebverif:4 to 10 (even t) or a random fixed-point scheme (odd t), f
// seeing the region's integers over a random divisor; nullopt when the scheme does not fit f.
struct IntegerCase {
    ErrPair p;
    std::string spec;
};
inline std::optional<IntegerCase> random_integer_case(std::mt19937_64& rng, const BlockNet& f, int t) {
    const std::string spec = t % 2 == 0 ? fmt::format("qebverif:{}", 4 + 2 * (t % 4)) : random_fixed_spec(rng);
    QuantizedNet q;
    try {
        q = quantize(f, parse_scheme(spec, f));
    } catch (const InputError&) {
        return std::nullopt;
    }
    return IntegerCase{make_err_pair(f, *q.integer, double(uniform(rng, 1, 255))), spec};
}

// Hidden widths for 1 to 4 hidden layers (deep enough to exercise back-substitution), then `outputs`.
inline std::vector<int64_t> random_widths(std::mt19937_64& rng, int64_t outputs) {
    std::vector<int64_t> w;
    for (int64_t d = uniform(rng, 1, 4); d > 0; --d) w.push_back(uniform(rng, 2, 7));
    w.push_back(outputs);
    return w;
}

inline void random_box(std::mt19937_64& rng, int64_t n, std::vector<double>& lo, std::vector<double>& hi) {
    std::uniform_real_distribution<double> U(-1.5, 1.5), W(0.0, 1.0);
    lo.resize(size_t(n));
    hi.resize(size_t(n));
    for (int64_t j = 0; j < n; ++j) {
        lo[size_t(j)] = U(rng);
        hi[size_t(j)] = lo[size_t(j)] + W(rng);
    }
}

inline std::vector<double> sample_in(std::mt19937_64& rng, const std::vector<double>& lo, const std::vector<double>& hi) {
    std::vector<double> u(lo.size());
    for (size_t j = 0; j < lo.size(); ++j) {
        const uint64_t r = rng() % 8;  // corners and faces often, the inside otherwise
        u[j] = r == 0 ? lo[j] : r == 1 ? hi[j] : std::uniform_real_distribution<double>(lo[j], hi[j])(rng);
    }
    return u;
}

// A random real twin pair (random_real_case) and a random box of its inputs.
struct RealBoxCase {
    RealCase c;
    ErrPair p;
    std::vector<double> lo, hi;
};
inline RealBoxCase random_real_box_case(std::mt19937_64& rng) {
    const int64_t in = uniform(rng, 1, 4);
    RealBoxCase r{random_real_case(rng, in, random_widths(rng, uniform(rng, 1, 3))), {}, {}, {}};
    r.p = make_err_pair(r.c.f, r.c.g);
    random_box(rng, in, r.lo, r.hi);
    return r;
}

// At `samples` points of the box the real difference, which lies in the point's enclosure, meets
// every output's bounds d.lo .. d.hi.
inline void expect_bound_holds_at_samples(std::mt19937_64& rng, const ErrPair& p, const std::vector<double>& lo,
                                   const std::vector<double>& hi, const DiffBound& d, int samples, const std::string& what) {
    for (int s = 0; s < samples; ++s) {
        const std::vector<Interval> y = difference_enclosure(p, sample_in(rng, lo, hi));
        for (size_t k = 0; k < y.size(); ++k) {
            ASSERT_LE(y[k].lo, d.hi[k]) << what;
            ASSERT_GE(y[k].hi, d.lo[k]) << what;
        }
    }
}

}  // namespace qcert::test
