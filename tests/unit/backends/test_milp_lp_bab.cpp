// The rigorous LP branch and bound (milp_lp_bab) against brute-force enumeration of small random
// integer programs: its bound is never below the integer maximum, and with time enough it closes
// every leaf at the maximum itself; a program with no integer point is mostly proved empty (by
// checked dual rays), one with a point never is.
#include "backends/milp_lp_bab.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>

using namespace qcert;
using namespace qcert::milp;

namespace {

// A random program over 2 to 4 integer variables in small ranges with 1 to 4 random rows, and a
// random target; `best` is the target's maximum over the integer points (nullopt: none).
struct Program {
    Model m;
    Affine target;
    std::optional<i128> best;
};

Program random_program(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> coef(-9, 9), lo(-4, 2), width(0, 6), nvars(2, 4), nrows(1, 4);
    Program p;
    const int n = nvars(rng);
    for (int v = 0; v < n; ++v) {
        const int l = lo(rng);
        p.m.add_var(l, l + width(rng), true);
        p.target.terms.push_back({v, coef(rng)});
    }
    p.target.constant = coef(rng);
    for (int r = nrows(rng); r > 0; --r) {
        Affine row;
        for (int v = 0; v < n; ++v) row.terms.push_back({v, coef(rng)});
        const i128 side = coef(rng) * 3;
        if (rng() % 2) p.m.add_row(row, side, std::nullopt);
        else p.m.add_row(row, std::nullopt, side);
    }
    // Every integer point of the variables' box, the rows checked exactly.
    std::vector<int64_t> x(static_cast<size_t>(n));
    for (int v = 0; v < n; ++v) x[size_t(v)] = p.m.vars[size_t(v)].lo;
    while (true) {
        bool ok = true;
        for (const Row& r : p.m.rows) {
            i128 a = 0;
            for (const Term& t : r.terms) a += t.coef * x[size_t(t.var)];
            ok = ok && (r.lo == kNoLower || a >= r.lo) && (r.hi == kNoUpper || a <= r.hi);
        }
        if (ok) {
            i128 value = p.target.constant;
            for (const Term& t : p.target.terms) value += t.coef * x[size_t(t.var)];
            p.best = p.best ? std::max(*p.best, value) : value;
        }
        int v = 0;
        while (v < n && x[size_t(v)] == p.m.vars[size_t(v)].hi) x[size_t(v)] = p.m.vars[size_t(v)].lo, ++v;
        if (v == n) break;
        ++x[size_t(v)];
    }
    return p;
}

}  // namespace

TEST(MilpLpBab, NeverBelowTheIntegerMaximumAndClosesAtIt) {
    std::mt19937_64 rng(17);
    int programs = 0, closed_at_max = 0, empty = 0, empty_proved = 0;
    int64_t narrowed = 0;  // ranges cut by reduced costs (checked by the bounds above and the closing below the maximum)
    for (int t = 0; t < 300; ++t) {
        const Program p = random_program(rng);
        if (p.m.rows.empty()) continue;
        ++programs;
        // Without a target to close at: branches until every leaf's LP point is integral.
        const LpBabResult free = lp_branch_and_bound(p.m, p.target, Budget::seconds(5));
        if (!p.best) {
            ++empty;
            if (free.empty) ++empty_proved;
            continue;
        }
        ASSERT_FALSE(free.empty) << "program " << t;  // a program with a point is never called empty
        ASSERT_TRUE(free.upper.has_value()) << "program " << t;
        EXPECT_GE(*free.upper, *p.best) << "program " << t;
        // Closing at the maximum: every leaf ends at most there, so the bound is the maximum.
        LpBabOptions o;
        o.close_at = *p.best;
        const LpBabResult at = lp_branch_and_bound(p.m, p.target, Budget::seconds(5), o);
        ASSERT_TRUE(at.upper.has_value()) << "program " << t;
        narrowed += at.narrowed;
        EXPECT_GE(*at.upper, *p.best) << "program " << t;
        if (at.closed) {
            EXPECT_EQ(*at.upper, *p.best) << "program " << t;
            ++closed_at_max;
        }
        // Below the maximum it can never close.
        o.close_at = *p.best - 1;
        EXPECT_FALSE(lp_branch_and_bound(p.m, p.target, Budget::seconds(5), o).closed) << "program " << t;
    }
    EXPECT_GT(programs, 200);
    EXPECT_GT(closed_at_max, (programs - empty) * 9 / 10) << closed_at_max << " of " << programs - empty;
    EXPECT_GT(empty, 10);
    EXPECT_GT(empty_proved, empty / 2) << empty_proved << " of " << empty;
    EXPECT_GT(narrowed, 20) << narrowed;
}

// The tree kept between runs: runs cut short after a few nodes (the budget cancelled from the
// node callback) give bounds that never rise and never fall below the maximum, and end where one
// long run ends (closed at the maximum).
TEST(MilpLpBab, ResumedRunsNeverRiseAndCloseLikeOneRun) {
    std::mt19937_64 rng(29);
    int checked = 0, closed = 0, resumed = 0;  // resumed: trees grown by more than one run
    for (int t = 0; t < 200; ++t) {
        const Program p = random_program(rng);
        if (p.m.rows.empty() || !p.best) continue;
        ++checked;
        std::atomic<bool> cancel = false;
        int quota = 0;
        LpBabOptions o;
        o.close_at = *p.best;
        o.on_point = [&](const std::vector<double>&) { cancel = --quota <= 0; };
        LpBranchAndBound bab(p.m, p.target, o);
        std::optional<i128> last;
        LpBabResult r;
        int runs = 0;
        for (; runs < 1000 && !r.closed; ++runs) {
            cancel = false;
            quota = 2;
            r = bab.run(Budget{std::chrono::steady_clock::time_point::max(), &cancel});
            ASSERT_TRUE(r.upper.has_value()) << "program " << t;
            ASSERT_GE(*r.upper, *p.best) << "program " << t << " run " << runs;
            if (last) {
                ASSERT_LE(*r.upper, *last) << "program " << t << " run " << runs;
            }
            last = r.upper;
        }
        o.on_point = {};
        const LpBabResult once = lp_branch_and_bound(p.m, p.target, Budget::seconds(5), o);
        if (once.closed) {
            EXPECT_TRUE(r.closed) << "program " << t;
            EXPECT_EQ(*r.upper, *once.upper) << "program " << t;
        }
        closed += r.closed;
        resumed += runs > 1;
    }
    EXPECT_GT(checked, 80);
    EXPECT_GT(closed, checked * 9 / 10) << closed << " of " << checked;
    EXPECT_GT(resumed, 10) << resumed << " of " << checked;
}

// A run limited to k splits makes at most k (0: the root's LP alone, one node), never rises, and
// the unlimited runs after it still close where one run does.
TEST(MilpLpBab, SplitLimitedRunsStopAfterTheirSplits) {
    std::mt19937_64 rng(37);
    int checked = 0, limited = 0;
    for (int t = 0; t < 200; ++t) {
        const Program p = random_program(rng);
        if (p.m.rows.empty() || !p.best) continue;
        ++checked;
        LpBabOptions o;
        o.close_at = *p.best;
        LpBranchAndBound bab(p.m, p.target, o);
        const LpBabResult root = bab.run(Budget::seconds(5), 0);
        ASSERT_TRUE(root.upper.has_value()) << "program " << t;
        ASSERT_GE(*root.upper, *p.best) << "program " << t;
        ASSERT_LE(root.nodes, 1) << "program " << t;
        const LpBabResult two = bab.run(Budget::seconds(5), 2);
        ASSERT_GE(*two.upper, *p.best) << "program " << t;
        ASSERT_LE(*two.upper, *root.upper) << "program " << t;
        ASSERT_LE(two.nodes, root.nodes + 4) << "program " << t;  // two splits: two children each
        limited += !root.closed;
        const LpBabResult rest = bab.run(Budget::seconds(5));
        const LpBabResult once = lp_branch_and_bound(p.m, p.target, Budget::seconds(5), o);
        if (once.closed) {
            EXPECT_TRUE(rest.closed) << "program " << t;
        }
    }
    EXPECT_GT(checked, 80);
    EXPECT_GT(limited, 10);  // the root alone leaves some trees open
}
