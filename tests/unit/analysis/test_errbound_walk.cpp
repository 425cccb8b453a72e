// The annealing's objective, updated move by move (errbound_walk.hpp), against the exact
// difference re-evaluated from scratch at every point of long random walks: integer twins of
// one to five layers (qebverif and random fixed-point schemes), with and without a clamp.
#include "errbound_cases.hpp"
#include "analysis/errbound_walk.hpp"
#include "qcert/error.hpp"

#include <gtest/gtest.h>
#include <random>

using namespace qcert;

TEST(BoundWalk, EveryValueIsTheExactDifferenceAtItsPoint) {
    std::mt19937_64 rng(17);
    int cases = 0, accepted = 0;
    for (int t = 0; t < 80 && cases < 50; ++t) {
        const int64_t in = test::uniform(rng, 2, 6);
        // Single-layer pairs, wide first layers (many corrections per move) and random depths.
        const std::vector<int64_t> widths = t % 5 == 0 ? std::vector<int64_t>{3}
                                            : t % 5 == 1 ? std::vector<int64_t>{40, 20, 3}
                                                         : test::random_widths(rng, 3);
        BlockNet f = test::random_block_net(rng, in, widths);
        if (t % 3 == 0 && f.blocks.size() > 1) f.blocks[0].hi = 1.5;
        const std::optional<test::IntegerCase> ic = test::random_integer_case(rng, f, t);
        if (!ic) continue;
        const ErrPair& p = ic->p;
        const std::string& spec = ic->spec;
        const auto& input = p.g_int->input;
        const int64_t k = test::uniform(rng, 0, 2);
        const double sign = rng() % 2 ? 1.0 : -1.0;
        auto exact = [&](const std::vector<double>& u) { return sign * exact_difference(p, u)[k]; };
        auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-9 * (1 + std::fabs(b)); };
        std::vector<double> u(static_cast<size_t>(in));
        for (double& v : u) v = double(test::uniform(rng, input.lo, input.hi));
        errbound::DifferenceWalk walk(p, k, sign);
        walk.reset(u);
        ASSERT_TRUE(close(walk.value(), exact(u))) << spec;
        EXPECT_THROW(walk.accept(), std::logic_error);  // no move tried yet
        for (int m = 0; m < 400; ++m) {
            const int64_t j = test::uniform(rng, 0, in - 1);
            std::vector<double> v = u;
            v[size_t(j)] = double(test::uniform(rng, input.lo, input.hi));
            ASSERT_TRUE(close(walk.try_move(j, v[size_t(j)] - u[size_t(j)]), exact(v))) << spec << " move " << m;
            if (rng() % 2) {
                walk.accept();
                u = v;
                ++accepted;
                ASSERT_TRUE(close(walk.value(), exact(u))) << spec << " move " << m;
            }
        }
        ++cases;
    }
    EXPECT_GE(cases, 40);
    EXPECT_GT(accepted, 5000);
}
