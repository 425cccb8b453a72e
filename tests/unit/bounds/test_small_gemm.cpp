// The back-substitution's small products (bounds/small_gemm.hpp) against an exact reference:
// every entry within gamma_{m+1} (sum of |products| + |previous C|) of the exact value, for the
// shapes it meets (full 8-row blocks, a 1-7 row tail, 1-3 leftover columns), both modes.
#include "bounds/outward.hpp"
#include "bounds/small_gemm.hpp"

#include <gtest/gtest.h>
#include <cmath>
#include <random>
#include <vector>

using namespace qcert;

TEST(BoundGemm, EveryEntryWithinTheRoundingBoundOfTheExactProduct) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> N(0, 1);
    int checked = 0;
    for (int t = 0; t < 300; ++t) {
        const int64_t R = 1 + int64_t(rng() % 40), m = 1 + int64_t(rng() % 60), n = 1 + int64_t(rng() % 13);
        const bool accumulate = rng() % 2 == 0;
        Mat A(R, m), W(m, n), C0(R, n);
        A = A.unaryExpr([&](double) { return N(rng) * std::ldexp(1.0, int(rng() % 20) - 10); });
        W = W.unaryExpr([&](double) { return rng() % 5 == 0 ? 0.0 : N(rng); });
        C0 = C0.unaryExpr([&](double) { return N(rng); });
        std::vector<double> buf(C0.data(), C0.data() + C0.size());
        gemm::MapMat C(buf.data(), R, n);
        gemm::multiply(gemm::ConstMapMat(A.data(), R, m), W, C, accumulate);
        for (int64_t i = 0; i < R; ++i)
            for (int64_t j = 0; j < n; ++j) {
                long double exact = accumulate ? C0(i, j) : 0.0L, mag = accumulate ? std::fabs(C0(i, j)) : 0.0L;
                for (int64_t k = 0; k < m; ++k) {
                    exact += (long double)A(i, k) * W(k, j);
                    mag += std::fabs((long double)A(i, k) * W(k, j));
                }
                // long double carries 11 more bits: its own error is far below the bound checked.
                const long double bound = (long double)outward::gamma(double(m) + 1) * mag * 1.01L;
                ASSERT_LE(std::fabs((long double)C(i, j) - exact), bound)
                    << "R " << R << " m " << m << " n " << n << " entry " << i << "," << j << " accumulate " << accumulate;
                ++checked;
            }
    }
    EXPECT_GT(checked, 10000);
}

// The columns of A outside `live` (dead neurons) are skipped: with the fused kernel every entry
// must be, bit for bit, the sequential fused sum over all columns, which is also what the kernel
// computes when given no list.
TEST(BoundGemm, ZeroColumnsAreSkippedWithoutChangingABit) {
    if (!gemm::fast_kernel()) GTEST_SKIP() << "no AVX2/FMA on this CPU: the Eigen product runs";
    std::mt19937_64 rng(7);
    std::normal_distribution<double> N(0, 1);
    for (int t = 0; t < 200; ++t) {
        const int64_t R = 1 + int64_t(rng() % 40), m = 1 + int64_t(rng() % 60), n = 1 + int64_t(rng() % 13);
        const bool accumulate = rng() % 2 == 0;
        Mat A(R, m), W(m, n), C0(R, n);
        A = A.unaryExpr([&](double) { return N(rng); });
        std::vector<int32_t> live;
        for (int64_t k = 0; k < m; ++k) {
            if (rng() % 2 == 0) A.col(k).setZero();
            else live.push_back(int32_t(k));
        }
        W = W.unaryExpr([&](double) { return N(rng); });
        C0 = C0.unaryExpr([&](double) { return N(rng); });
        const std::vector<int32_t>* lists[] = {&live, nullptr};
        for (const std::vector<int32_t>* list : lists) {
            std::vector<double> buf(C0.data(), C0.data() + C0.size());
            gemm::MapMat C(buf.data(), R, n);
            gemm::multiply(gemm::ConstMapMat(A.data(), R, m), W, C, accumulate, list);
            for (int64_t i = 0; i < R; ++i)
                for (int64_t j = 0; j < n; ++j) {
                    double c = accumulate ? C0(i, j) : 0.0;
                    for (int64_t k = 0; k < m; ++k) c = std::fma(A(i, k), W(k, j), c);
                    ASSERT_EQ(C(i, j), c) << "case " << t << " entry " << i << "," << j << (list ? " live" : " all");
                }
        }
    }
}
