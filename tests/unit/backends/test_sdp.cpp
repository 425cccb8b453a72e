// The SDPA back end on small SDPs whose optimum and multipliers are known by hand.
#include "backends/sdp_sdpa.hpp"

#include <gtest/gtest.h>

using namespace qcert;

// max 2 M_01 s.t. M_00 = 1, M_11 <= 1, M PSD: M_01^2 <= M_00 M_11 gives 2, at M = [[1,1],[1,1]].
// Dual: min y0 - y1 s.t. [[y0, -1], [-1, -y1]] PSD, y1 <= 0: y = (1, -1).
TEST(SdpSdpa, SolvesATwoByTwoSdpWithKnownOptimumAndMultipliers) {
    sdp::Problem p;
    p.n = 2;
    p.objective = {{0, 1, 1.0}};  // off the diagonal: contributes 2 M_01
    p.constraints.push_back({{{0, 0, 1.0}}, 1.0, false});
    p.constraints.push_back({{{1, 1, -1.0}}, -1.0, true});
    const sdp::Solution s = sdp::solve(p);
    EXPECT_TRUE(s.optimal) << s.phase;
    EXPECT_NEAR(s.value, 2.0, 1e-6);
    EXPECT_NEAR(s.dual_value, 2.0, 1e-6);
    ASSERT_EQ(s.y.size(), 2u);
    EXPECT_NEAR(s.y[0], 1.0, 1e-5);
    EXPECT_NEAR(s.y[1], -1.0, 1e-5);
    EXPECT_NEAR(s.M(0, 1), 1.0, 1e-5);
}

// max -(x - 0.3)^2 relaxed: max 0.6 M_01 - M_11 - 0.09 with M_00 = 1 and 0 <= x <= 1, (x)(1 - x) >= 0:
// the relaxation is exact here (M_11 >= M_01^2): optimum 0 at x = 0.3 (the objective constant
// is left out: SDPA's value is 0.09). Repeated entries add.
TEST(SdpSdpa, RepeatedEntriesAddAndInequalitiesHold) {
    sdp::Problem p;
    p.n = 2;
    p.objective = {{0, 1, 0.15}, {0, 1, 0.15}, {1, 1, -1.0}};
    p.constraints.push_back({{{0, 0, 1.0}}, 1.0, false});
    p.constraints.push_back({{{0, 1, 0.5}}, 0.0, true});               // x >= 0
    p.constraints.push_back({{{0, 1, -0.5}}, -1.0, true});             // x <= 1
    p.constraints.push_back({{{0, 1, 0.5}, {1, 1, -1.0}}, 0.0, true});  // x - x^2 >= 0
    const sdp::Solution s = sdp::solve(p);
    EXPECT_NEAR(s.value, 0.09, 1e-6) << s.phase;
    EXPECT_NEAR(s.dual_value, 0.09, 1e-6) << s.phase;
    EXPECT_NEAR(s.M(0, 1), 0.3, 1e-4);
    for (size_t j = 1; j < s.y.size(); ++j) EXPECT_LE(s.y[j], 1e-8) << "an inequality's multiplier is <= 0";
}
