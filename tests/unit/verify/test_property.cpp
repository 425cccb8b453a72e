// The exact integer form of output properties (src/verify/property.cpp): on
// integer outputs, to_integer(p) must say "unsafe" exactly when p says so on the
// dequantized outputs (q - out_zero) * out_scale, ties included.
#include "qcert/property.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

// A network whose only role here is its output layer's size, scale and zero point.
IntNetwork output_layer(int64_t outputs, int frac, int64_t zero) {
    IntNetwork net;
    net.source = "outputs";
    IntLayer L;
    L.W = decltype(L.W)::Zero(outputs, 1);
    L.b.assign(outputs, 0);
    L.out_zero = zero;
    L.out_scale = std::ldexp(1.0, -frac);
    net.layers = {L};
    net.prepare();
    return net;
}

}  // namespace

TEST(Property, MisclassifiedIntegerFormAgreesWithDequantizedOutputs) {
    std::mt19937_64 rng(17);
    int ties = 0, unsafe = 0, total = 0;
    for (int trial = 0; trial < 200; ++trial) {
        const int64_t outputs = 2 + int64_t(rng() % 9);
        const int frac = int(rng() % 12);  // out_scale = 2^-frac
        const int64_t zero = int64_t(rng() % 41) - 20;
        const IntNetwork net = output_layer(outputs, frac, zero);
        for (int64_t label = 0; label < outputs; ++label) {
            const OutputProperty p = OutputProperty::misclassified(outputs, label);
            const IntUnsafe u = to_integer(p, net);
            for (int t = 0; t < 60; ++t) {
                // A narrow value range makes ties (equal outputs) frequent.
                const int64_t spread = 1 + int64_t(rng() % 4);
                std::vector<int64_t> q(outputs);
                for (auto& v : q) v = zero + int64_t(rng() % (2 * spread + 1)) - spread;
                if (rng() % 3 == 0) q[rng() % outputs] = q[label];  // force a tie with the label
                if (rng() % 4 == 0) q[label] = *std::max_element(q.begin(), q.end()) + int64_t(rng() % 2);  // often safe
                const bool expected = p.is_unsafe(net.dequantize_output(q));
                ASSERT_EQ(is_unsafe(u, q), expected) << "label " << label << " frac " << frac << " zero " << zero;
                bool tie = false;
                for (int64_t j = 0; j < outputs; ++j) tie = tie || (j != label && q[j] == q[label]);
                ties += tie;
                unsafe += expected;
                ++total;
            }
        }
    }
    EXPECT_GT(ties, total / 5);
    EXPECT_GT(unsafe, total / 5);
    EXPECT_LT(unsafe, total - total / 10);
}

TEST(Property, TiesGoToTheLowestIndex) {
    const IntNetwork net = output_layer(3, 4, 7);
    const IntUnsafe u = to_integer(OutputProperty::misclassified(3, 1), net);
    EXPECT_TRUE(is_unsafe(u, {9, 9, 8}));   // index 0 ties label 1 and wins
    EXPECT_FALSE(is_unsafe(u, {8, 9, 9}));  // index 2 ties label 1 and loses
    EXPECT_FALSE(is_unsafe(u, {8, 9, 8}));
    EXPECT_TRUE(is_unsafe(u, {8, 9, 10}));
}

TEST(Property, RandomDyadicConstraintsAgreeWithTheRealForm) {
    // Coefficients and right-hand sides on a grid of 2^-4, strict and non-strict,
    // against outputs with scale 2^-frac and a zero point.
    std::mt19937_64 rng(29);
    int agree_unsafe = 0, total = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const int64_t outputs = 2 + int64_t(rng() % 4);
        const int frac = int(rng() % 8);
        const int64_t zero = int64_t(rng() % 21) - 10;
        const IntNetwork net = output_layer(outputs, frac, zero);
        OutputProperty p;
        for (int d = 0, nd = 1 + int(rng() % 3); d < nd; ++d) {
            std::vector<LinearConstraint> conj;
            for (int c = 0, nc = 1 + int(rng() % 2); c < nc; ++c) {
                LinearConstraint k;
                for (int t = 0, nt = 1 + int(rng() % 3); t < nt; ++t)
                    k.terms.push_back({int64_t(rng() % outputs), std::ldexp(double(int64_t(rng() % 33) - 16), -int(rng() % 5))});
                k.rhs = std::ldexp(double(int64_t(rng() % 65) - 32), -int(rng() % 5));
                k.strict = rng() % 2;
                conj.push_back(k);
            }
            p.unsafe.push_back(conj);
        }
        const IntUnsafe u = to_integer(p, net);
        for (int t = 0; t < 100; ++t) {
            std::vector<int64_t> q(outputs);
            for (auto& v : q) v = zero + int64_t(rng() % 41) - 20;
            const bool expected = p.is_unsafe(net.dequantize_output(q));
            ASSERT_EQ(is_unsafe(u, q), expected) << "trial " << trial;
            agree_unsafe += expected;
            ++total;
        }
    }
    EXPECT_GT(agree_unsafe, total / 10);
}
