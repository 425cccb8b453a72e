// The branch-free outward steps for nonnegative values (bounds/outward.hpp) against the general
// ones: up_nonneg is next_up, inflate_nonneg is inflate, on every kind of nonnegative double.
#include "bounds/outward.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <random>
#include <vector>

using namespace qcert;

TEST(BoundOutward, NonnegativeStepsEqualTheGeneralOnes) {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> xs{0.0, -0.0, std::numeric_limits<double>::denorm_min(), 0x1p-1070, 0x1p-1022, 0x1p-1000,
                           1e-300, 0.5, 1.0, 3.0, 1e300, std::numeric_limits<double>::max(), inf};
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) xs.push_back(std::ldexp(std::uniform_real_distribution<double>(1, 2)(rng), int(rng() % 2100) - 1075));
    for (double x : xs) {
        EXPECT_EQ(outward::up_nonneg(x), outward::up(x)) << x;
        EXPECT_GT(outward::up_nonneg(x), x == inf ? 0.0 : x) << x;
        for (double n : {1.0, 7.0, 102.0}) {
            const double a = outward::inflate_nonneg(x, n), b = outward::inflate(x, n);
            EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << x << " " << n;
        }
    }
    EXPECT_TRUE(std::isnan(outward::up_nonneg(std::numeric_limits<double>::quiet_NaN())));
}
