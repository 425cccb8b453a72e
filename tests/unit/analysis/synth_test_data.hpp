// Small random networks, boxes and points for the synth tests (test_synth*.cpp).
#pragma once

#include "../bounds/random_int_nets.hpp"
#include "qcert/synth.hpp"

#include <random>
#include <vector>

namespace qcert::test {

inline Vec to_vec(const std::vector<double>& u) {
    Vec x(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) x[int64_t(j)] = u[j];
    return x;
}

// The class of y (argmax, ties to the lowest index).
inline int64_t top_class(const Vec& y) {
    Eigen::Index k = 0;
    y.maxCoeff(&k);
    return int64_t(k);
}

// The class of the network at u / divisor.
inline int64_t predicted(const BlockNet& net, const std::vector<double>& u, double divisor = 1.0) {
    Vec x = to_vec(u);
    if (divisor != 1.0) x /= divisor;
    return top_class(net.forward(x));
}

// A box of radius r around a random point of [0, 1]^n, labelled with the net's class at its centre.
inline RobustProperty random_property(std::mt19937_64& rng, const BlockNet& net, double r, int64_t id) {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    RobustProperty p;
    p.sample = id, p.radius = r;
    std::vector<double> c(size_t(net.input_size()));
    for (double& v : c) v = U(rng);
    for (double v : c) p.lo.push_back(std::max(0.0, v - r)), p.hi.push_back(std::min(1.0, v + r));
    p.label = predicted(net, c);
    return p;
}

// A random point of the box: each coordinate a face or inside.
inline std::vector<double> random_point(std::mt19937_64& rng, const std::vector<double>& lo, const std::vector<double>& hi) {
    std::vector<double> u(lo.size());
    for (size_t j = 0; j < u.size(); ++j) {
        const uint64_t r = rng() % 4;
        u[j] = r == 0 ? lo[j] : r == 1 ? hi[j] : std::uniform_real_distribution<double>(lo[j], hi[j])(rng);
    }
    return u;
}

inline bool in_box(const std::vector<double>& u, const BoxProperty& p) {
    for (size_t j = 0; j < u.size(); ++j)
        if (!(u[j] >= p.lo[j] && u[j] <= p.hi[j])) return false;
    return true;
}

// A 4-8-6-3 network with up to 3 robustness properties of radius r per class, every class
// present (a coarse twin that predicts one class everywhere would keep one-class sets).
inline void balanced_properties(std::mt19937_64& rng, double r, BlockNet& net, std::vector<RobustProperty>& props) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        net = random_block_net(rng, 4, {8, 6, 3});
        props.clear();
        int per_class[3] = {0, 0, 0};
        for (int64_t i = 0; i < 200 && props.size() < 9; ++i) {
            RobustProperty p = random_property(rng, net, r, i);
            if (per_class[p.label]++ < 3) props.push_back(p);
        }
        if (per_class[0] > 0 && per_class[1] > 0 && per_class[2] > 0) break;
    }
}

}  // namespace qcert::test
