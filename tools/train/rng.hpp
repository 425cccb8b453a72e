// Deterministic random numbers for training.
//
// std::mt19937_64 is fully specified by the standard, but the distributions
// (uniform_real_distribution, shuffle, ...) are not: their output differs between
// standard libraries. These helpers derive everything from the raw 64-bit
// generator output, so that a seed gives the same model everywhere.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace qcert::train {

class Rng {
public:
    explicit Rng(uint64_t seed) : gen_(seed) {}

    // Uniform in [0, 1), 53 random bits.
    double uniform() { return double(gen_() >> 11) * 0x1.0p-53; }
    // Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n), n > 0, without modulo bias (rejection sampling).
    uint64_t below(uint64_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do r = gen_(); while (r >= limit);
        return r % n;
    }
    // Fisher-Yates shuffle.
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }

private:
    std::mt19937_64 gen_;
};

}  // namespace qcert::train
