// qcert bound: the differential bounds and the branch and bound against dense sampling
// and exhaustive enumeration, on random small networks, schemes and pruning.
#include "errbound_cases.hpp"
#include "../bounds/random_int_nets.hpp"
#include "analysis/errbound_anneal.hpp"
#include "analysis/errbound_milp.hpp"
#include "analysis/errbound_sdp.hpp"
#include "bounds/linear_forms.hpp"
#include "qcert/blocks.hpp"
#include "qcert/io.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <random>
#include <thread>

using namespace qcert;
using namespace qcert::test;

TEST(BoundLines, ClampLinesEncloseTheClamp) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> U(-4, 4);
    const double inf = std::numeric_limits<double>::infinity();
    for (int t = 0; t < 5000; ++t) {
        double l = U(rng), u = U(rng);
        if (l > u) std::swap(l, u);
        double lo = rng() % 3 == 0 ? -inf : U(rng), hi = rng() % 3 == 0 ? inf : U(rng);
        if (lo > hi) std::swap(lo, hi);
        const linear::Line up = linear::clamp_upper_line(l, u, lo, hi), dn = linear::clamp_lower_line(l, u, lo, hi);
        ASSERT_GE(up.s, 0);
        ASSERT_GE(dn.s, 0);
        for (int k = 0; k <= 64; ++k) {
            const double z = k == 64 ? u : l + (u - l) * k / 64.0;
            const double c = linear::clamp_value(z, lo, hi);
            // Exact check in long double (the lines were made sound in exact arithmetic).
            ASSERT_LE((long double)c, (long double)up.s * z + up.t) << l << " " << u << " " << lo << " " << hi;
            ASSERT_GE((long double)c, (long double)dn.s * z + dn.t) << l << " " << u << " " << lo << " " << hi;
        }
    }
}

TEST(BoundDiff, RealTwinsNeverExceedTheBound) {
    std::mt19937_64 rng(11);
    int tighter = 0, cases = 0;
    for (int t = 0; t < 150; ++t) {
        const RealBoxCase b = random_real_box_case(rng);
        const ErrPair& p = b.p;
        const DiffBound d = diff_bound(p, b.lo, b.hi, DiffMode::Differential);
        const DiffBound n = diff_bound(p, b.lo, b.hi, DiffMode::Naive);
        const std::string what = fmt::format("{} case {}", b.c.what, t);
        ASSERT_NO_FATAL_FAILURE(expect_bound_holds_at_samples(rng, p, b.lo, b.hi, d, 400, what + " differential"));
        ASSERT_NO_FATAL_FAILURE(expect_bound_holds_at_samples(rng, p, b.lo, b.hi, n, 400, what + " naive"));
        std::vector<int64_t> all;
        for (int64_t k = 0; k < p.output_size(); ++k) all.push_back(k);
        ++cases;
        if (d.abs_upper(all) < n.abs_upper(all)) ++tighter;
    }
    // The differential bound is tighter than the difference of separate bounds on most cases.
    EXPECT_GT(tighter, cases / 2) << tighter << " of " << cases;
}

// A split's child bounded with its parent's neuron ranges (diff_bound's `within`, what the branch
// and bound does): every range stays inside the parent's, and the child's output bounds still
// hold at every sampled point of the child box.
TEST(BoundDiff, ChildWithItsParentsRangesStaysSound) {
    std::mt19937_64 rng(29);
    int narrowed = 0;
    for (int t = 0; t < 150; ++t) {
        const RealBoxCase b = random_real_box_case(rng);
        const ErrPair& p = b.p;
        const std::vector<double>& lo = b.lo, &hi = b.hi;
        const DiffBound parent = diff_bound(p, lo, hi);
        std::vector<double> clo = lo, chi = hi;
        const size_t d = size_t(rng() % uint64_t(lo.size()));
        (rng() % 2 ? clo[d] : chi[d]) = lo[d] + 0.5 * (hi[d] - lo[d]);
        const DiffBound alone = diff_bound(p, clo, chi);
        const DiffBound child = diff_bound(p, clo, chi, DiffMode::Differential, {}, &parent);
        auto inside = [&](const std::vector<Vec>& l, const std::vector<Vec>& h, const std::vector<Vec>& pl,
                          const std::vector<Vec>& ph, const char* what) {
            ASSERT_EQ(l.size(), pl.size()) << what;
            for (size_t k = 0; k < l.size(); ++k)
                for (int64_t i = 0; i < l[k].size(); ++i) {
                    ASSERT_GE(l[k][i], pl[k][i]) << what << " case " << t << " layer " << k;
                    ASSERT_LE(h[k][i], ph[k][i]) << what << " case " << t << " layer " << k;
                }
        };
        inside(child.zf_lo, child.zf_hi, parent.zf_lo, parent.zf_hi, "zf");
        inside(child.zg_lo, child.zg_hi, parent.zg_lo, parent.zg_hi, "zg");
        inside(child.zd_lo, child.zd_hi, parent.zd_lo, parent.zd_hi, "zd");
        for (size_t k = 0; k < child.zf_lo.size(); ++k)
            for (int64_t i = 0; i < child.zf_lo[k].size(); ++i)
                narrowed += child.zf_hi[k][i] - child.zf_lo[k][i] < alone.zf_hi[k][i] - alone.zf_lo[k][i];
        ASSERT_NO_FATAL_FAILURE(
            expect_bound_holds_at_samples(rng, p, clo, chi, child, 300, fmt::format("{} case {}", b.c.what, t)));
    }
    EXPECT_GT(narrowed, 50);  // the parent's ranges do narrow some of the child's own
}

// diff_bound with chosen outputs spends back-substitution on those alone: their bounds (and
// split guides) must be exactly those of the full call, the others only looser (forward bounds).
TEST(BoundDiff, ChosenOutputsKeepTheBoundOfTheFullCall) {
    std::mt19937_64 rng(31);
    int checked = 0;
    for (int t = 0; t < 80; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const BlockNet f = test::random_block_net(rng, in, random_widths(rng, 3));
        std::optional<ErrPair> p;
        std::vector<double> lo, hi;
        if (t % 2 == 0) {
            const RealCase c = random_real_case(rng, in, random_widths(rng, 3));
            p = make_err_pair(c.f, c.g);
            random_box(rng, in, lo, hi);
        } else {
            QuantizedNet q;
            try {
                q = quantize(f, parse_scheme(fmt::format("qebverif:{}", 4 + 2 * (t % 4)), f));
            } catch (const InputError&) {
                continue;
            }
            p = make_err_pair(f, *q.integer, 255.0);
            for (int64_t j = 0; j < in; ++j) {
                const double c = double(test::uniform(rng, 3, 250));
                lo.push_back(c - 3), hi.push_back(c + 3);
            }
        }
        const DiffBound all = diff_bound(*p, lo, hi, DiffMode::Differential);
        for (int64_t k = 0; k < p->output_size(); ++k) {
            const DiffBound one = diff_bound(*p, lo, hi, DiffMode::Differential, {k});
            for (int64_t o = 0; o < p->output_size(); ++o) {
                const size_t i = size_t(o);
                if (o == k) {
                    EXPECT_EQ(one.hi[i], all.hi[i]) << "case " << t;
                    EXPECT_EQ(one.lo[i], all.lo[i]) << "case " << t;
                    EXPECT_EQ(one.sensitivity_hi[i], all.sensitivity_hi[i]) << "case " << t;
                    EXPECT_EQ(one.sensitivity_lo[i], all.sensitivity_lo[i]) << "case " << t;
                } else {
                    EXPECT_GE(one.hi[i], all.hi[i]) << "case " << t;
                    EXPECT_LE(one.lo[i], all.lo[i]) << "case " << t;
                }
            }
        }
        ++checked;
    }
    EXPECT_GT(checked, 50);
}

TEST(BoundDiff, IntegerTwinsNeverExceedTheBoundExhaustively) {
    std::mt19937_64 rng(23);
    int checked = 0;
    for (int t = 0; t < 120; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const BlockNet f = test::random_block_net(rng, in, random_widths(rng, 2));
        std::string spec = t % 3 == 0 ? fmt::format("qebverif:{}", 4 + 2 * (t % 4)) : test::random_fixed_spec(rng);
        QuantizedNet q;
        try {
            q = quantize(f, parse_scheme(spec, f));
        } catch (const InputError&) {
            continue;  // a scale that does not fit the integer path
        }
        ASSERT_TRUE(q.integer.has_value()) << spec;
        const double divisor = double(test::uniform(rng, 1, 255));
        const ErrPair p = make_err_pair(f, *q.integer, divisor);
        std::vector<double> lo(static_cast<size_t>(in)), hi(static_cast<size_t>(in));
        for (int64_t j = 0; j < in; ++j) {
            const int64_t c = test::uniform(rng, q.integer->input.lo, q.integer->input.hi);
            lo[size_t(j)] = double(std::max(c - 3, q.integer->input.lo));
            hi[size_t(j)] = double(std::min(c + 3, q.integer->input.hi));
        }
        const DiffBound d = diff_bound(p, lo, hi, DiffMode::Differential);
        ErrBoundOptions o;
        o.timeout_s = 2;
        o.threads = 2;
        const ErrBoundResult r = error_bound(p, lo, hi, {0, 1}, o);
        // Every integer input of the box.
        std::vector<double> u = lo;
        double exact_max = 0;
        while (true) {
            const std::vector<Interval> y = difference_enclosure(p, u);
            for (size_t k = 0; k < 2; ++k) {
                ASSERT_LE(y[k].lo, d.hi[k]) << spec << " case " << t;
                ASSERT_GE(y[k].hi, d.lo[k]) << spec << " case " << t;
                exact_max = std::max(exact_max, y[k].mig());
            }
            size_t j = 0;
            while (j < u.size() && u[j] == hi[j]) u[j] = lo[j], ++j;
            if (j == u.size()) break;
            u[j] += 1;
        }
        ASSERT_LE(exact_max, r.upper) << spec << " case " << t;
        ASSERT_LE(r.lower, exact_max) << spec << " case " << t;
        // The box is small: branch and bound down to single points finds the exact maximum,
        // up to f's own rounding.
        if (r.reason.empty()) {
            EXPECT_NEAR(r.upper, exact_max, 1e-4 * std::max(1.0, exact_max)) << spec << " case " << t;
        }
        ++checked;
    }
    EXPECT_GT(checked, 60);
}

// Simulated annealing on small integer boxes: every value it reports is reached at its witness,
// never above the enumerated maximum of |g - f|_k, and with both signs it finds that maximum.
TEST(BoundAnneal, FindsTheEnumeratedMaximumOnSmallIntegerBoxes) {
    std::mt19937_64 rng(31);
    int cases = 0, found = 0;
    for (int t = 0; t < 60 && cases < 40; ++t) {
        const int64_t in = test::uniform(rng, 2, 4);
        const BlockNet f = test::random_block_net(rng, in, random_widths(rng, 2));
        const std::optional<test::IntegerCase> ic = test::random_integer_case(rng, f, t);
        if (!ic) continue;
        const ErrPair& p = ic->p;
        const std::string& spec = ic->spec;
        const auto& input = p.g_int->input;
        std::vector<double> lo(static_cast<size_t>(in)), hi(static_cast<size_t>(in));
        for (int64_t j = 0; j < in; ++j) {
            const int64_t c = test::uniform(rng, input.lo, input.hi);
            lo[size_t(j)] = double(std::max(c - 3, input.lo));
            hi[size_t(j)] = double(std::min(c + 3, input.hi));
        }
        const int64_t k = test::uniform(rng, 0, 1);
        double enumerated = 0;
        std::vector<double> u = lo;
        while (true) {
            enumerated = std::max(enumerated, std::fabs(exact_difference(p, u)[k]));
            size_t j = 0;
            while (j < u.size() && u[j] == hi[j]) u[j] = lo[j], ++j;
            if (j == u.size()) break;
            u[j] += 1;
        }
        errbound::BestInputs best({k});
        errbound::AnnealOptions a;
        a.seconds = 60;
        a.restarts = 4;
        std::mt19937_64 search_rng(7);
        for (double sign : {1.0, -1.0}) errbound::anneal(p, lo, hi, k, sign, lo, a, search_rng, best);
        const std::vector<double> w = best.per_output_witness()[0];
        ASSERT_FALSE(w.empty());
        for (size_t j = 0; j < w.size(); ++j) {
            ASSERT_EQ(w[j], std::round(w[j]));
            ASSERT_GE(w[j], lo[j]);
            ASSERT_LE(w[j], hi[j]);
        }
        ASSERT_EQ(best.per_output()[0], std::fabs(exact_difference(p, w)[k]));
        ASSERT_LE(best.per_output()[0], enumerated) << spec;
        found += best.per_output()[0] == enumerated;
        ++cases;
    }
    EXPECT_GE(cases, 30);
    EXPECT_GE(found, cases - 1) << "annealing missed the maximum on " << cases - found << " of " << cases << " boxes";
}

TEST(BoundSplit, BranchAndBoundIsSoundAndTheWitnessReachesTheLowerBound) {
    std::mt19937_64 rng(5);
    for (int t = 0; t < 40; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const RealCase c = random_real_case(rng, in, {test::uniform(rng, 3, 8), test::uniform(rng, 2, 6), 2});
        const ErrPair p = make_err_pair(c.f, c.g);
        std::vector<double> lo, hi;
        random_box(rng, in, lo, hi);
        ErrBoundOptions o;
        o.timeout_s = 1;
        const ErrBoundResult r = error_bound(p, lo, hi, {0, 1}, o);
        ASSERT_LE(r.lower, r.upper);
        ASSERT_EQ(r.witness.size(), size_t(in));
        // The witness reaches the lower bound (which is the sound low end of its enclosure).
        const Vec y = exact_difference(p, r.witness);
        EXPECT_NEAR(std::fabs(y[r.witness_output]), r.lower, 1e-12 * std::max(1.0, r.lower)) << c.what;
        EXPECT_LE(r.lower, difference_enclosure(p, r.witness)[size_t(r.witness_output)].mag());
        for (int s = 0; s < 2000; ++s) {
            const std::vector<Interval> ys = difference_enclosure(p, sample_in(rng, lo, hi));
            ASSERT_LE(std::max(ys[0].mig(), ys[1].mig()), r.upper) << c.what << " case " << t;
        }
        // The branch and bound closes the gap on these tiny networks.
        if (r.reason.empty()) {
            EXPECT_LE(r.upper - r.lower, 1e-3 * std::max(1.0, r.lower) + 1e-9)
                << c.what << " case " << t << " upper " << r.upper << " lower " << r.lower << " splits " << r.splits
                << " time " << r.time_s;
        }
        // With eps: a verdict that agrees with the bounds. Two workers, so that the search runs
        // beside the splitting (the last worker's side job) whatever the machine's core count.
        o.threads = 2;
        o.eps = r.lower * 0.5;
        const ErrBoundResult v = error_bound(p, lo, hi, {0, 1}, o);
        if (r.lower > 0) {
            EXPECT_EQ(v.verdict, BoundVerdict::Violated);
        }
        o.eps = r.upper * 1.01 + 1e-9;
        EXPECT_EQ(error_bound(p, lo, hi, {0, 1}, o).verdict, BoundVerdict::Holds);
    }
}

TEST(BoundPair, RejectsMismatchedNetworksAndEmptyRegions) {
    std::mt19937_64 rng(3);
    const BlockNet f = test::random_block_net(rng, 3, {4, 2});
    const BlockNet g = test::random_block_net(rng, 2, {4, 2});
    EXPECT_THROW(make_err_pair(f, g), InputError);
    const BlockNet h = test::random_block_net(rng, 3, {5, 3});
    EXPECT_THROW(make_err_pair(f, h), InputError);
    const ErrPair p = make_err_pair(f, test::random_block_net(rng, 3, {6, 2}));  // other hidden width: naive bounds
    EXPECT_FALSE(p.same_shape());
    ErrBoundOptions o;
    o.timeout_s = 1;
    EXPECT_THROW(error_bound(p, {0, 1, 0}, {1, 0, 1}, {0}, o), InputError);
    EXPECT_THROW(error_bound(p, {0, 0}, {1, 1}, {0}, o), InputError);
    EXPECT_THROW(error_bound(p, {0, 0, 0}, {1, 1, 1}, {2}, o), InputError);
    const ErrBoundResult r = error_bound(p, {0, 0, 0}, {1, 1, 1}, {0, 1}, o);
    EXPECT_LE(r.lower, r.upper);
}

namespace {

// --method milp on outputs 0 and 1: when CBC proves its maximum optimal, it lies between the
// proved upper bound and the re-evaluated lower bound. Returns whether it was optimal.
bool milp_between_bounds(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                         const std::string& what) {
    ErrBoundOptions o;
    o.timeout_s = 4;
    o.method = "milp";
    const ErrBoundResult r = error_bound(p, lo, hi, {0, 1}, o);
    EXPECT_TRUE(r.milp_max.has_value()) << what;
    if (!r.milp_max || !r.milp_optimal) return false;
    // CBC works to tolerances of about 1e-6 relative to the big-M values.
    const double tol = 1e-5 * std::max(1.0, r.upper);
    EXPECT_LE(*r.milp_max, r.upper + tol) << what;
    EXPECT_GE(*r.milp_max, r.lower - tol) << what;
    return true;
}

}  // namespace

TEST(BoundMilp, ExactMaximumLiesBetweenLowerAndUpper) {
    std::mt19937_64 rng(17);
    int optimal = 0;
    for (int t = 0; t < 25; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const RealCase c = random_real_case(rng, in, {test::uniform(rng, 3, 6), test::uniform(rng, 2, 5), 2});
        const ErrPair p = make_err_pair(c.f, c.g);
        std::vector<double> lo, hi;
        random_box(rng, in, lo, hi);
        optimal += milp_between_bounds(p, lo, hi, c.what + " case " + std::to_string(t));
    }
    EXPECT_GT(optimal, 15);
}

// With an input divisor (images: f sees pixels / 255) the MILP's first-layer bounds are on the
// scaled inputs (they were once scaled twice, which cut the feasible set).
TEST(BoundMilp, InputDivisorKeepsTheMaximumBetweenLowerAndUpper) {
    std::mt19937_64 rng(29);
    int optimal = 0;
    for (int t = 0; t < 12; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const RealCase c = random_real_case(rng, in, {test::uniform(rng, 3, 6), 2});
        const ErrPair p = make_err_pair(c.f, c.g, 255.0);
        std::vector<double> lo(static_cast<size_t>(in), 0.0), hi(static_cast<size_t>(in), 255.0);
        optimal += milp_between_bounds(p, lo, hi, c.what + " case " + std::to_string(t));
    }
    EXPECT_GE(optimal, 8);
}

// A real twin with fixed-point activations (quadapter:...,a=...): the MILP encodes the rounding,
// so its optimum is the maximum that dense sampling of the exact difference approaches.
TEST(BoundMilp, RoundedActivationsAreEncoded) {
    std::mt19937_64 rng(41);
    int optimal = 0;
    for (int t = 0; t < 12; ++t) {
        const BlockNet f = test::random_block_net(rng, 1, {test::uniform(rng, 3, 5), 2});
        const QuantizedNet q = quantize(f, parse_scheme("quadapter:8,8,a=s4.2", f));
        ASSERT_FALSE(q.integer.has_value());
        const ErrPair p = make_err_pair(f, q.real);
        ASSERT_NE(p.g_layers[0].step, 0.0);
        const std::vector<double> lo{-2.0}, hi{2.0};
        double sampled = 0;
        for (int i = 0; i <= 20000; ++i) sampled = std::max(sampled, exact_difference(p, {lo[0] + 4.0 * i / 20000})[0]);
        const errbound::MilpResult m = errbound::milp_max_difference(p, lo, hi, 0, 1.0, 10);
        ASSERT_TRUE(m.found) << "case " << t;
        if (!m.optimal) continue;
        ++optimal;
        // Dense sampling misses at most a sliver of each rounding step; CBC's tolerance is ~1e-6.
        EXPECT_NEAR(m.value, sampled, 0.02) << "case " << t;
        EXPECT_LE(sampled, m.value + 1e-5) << "case " << t;
    }
    EXPECT_GE(optimal, 10);
}

// ---- the SDP bound (src/analysis/errbound_sdp.cpp) ----

namespace {

// max over dense samples (corners and faces often) of s * (g - f)_k.
double sampled_max(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t k, double s,
                   std::mt19937_64& rng, int n = 3000) {
    double best = -std::numeric_limits<double>::infinity();
    for (int t = 0; t < n; ++t) best = std::max(best, s * exact_difference(p, sample_in(rng, lo, hi))[k]);
    return best;
}

// A random real twin without clamps (the SDP bound's domain: ReLU and linear layers).
RealCase random_sdp_case(std::mt19937_64& rng, int64_t in, const std::vector<int64_t>& widths) {
    RealCase c = random_real_case(rng, in, widths);
    c.f.blocks[0].hi = c.g.blocks[0].hi = std::numeric_limits<double>::infinity();
    return c;
}

BlockNet example_net(const std::string& name) { return to_blocks(load_model(test::source_dir() + "/examples/" + name).net); }

}  // namespace

// Per output and sign: the rigorous SDP bound is above dense sampling and above CBC's optimum.
TEST(BoundSdp, RigorousBoundIsAboveSamplingAndTheMilpOptimum) {
    std::mt19937_64 rng(23);
    int milp_checked = 0, close = 0;
    for (int t = 0; t < 12; ++t) {
        const int64_t in = test::uniform(rng, 1, 3);
        const RealCase c = random_sdp_case(rng, in, {test::uniform(rng, 3, 6), test::uniform(rng, 2, 5), 2});
        const ErrPair p = make_err_pair(c.f, c.g);
        std::vector<double> lo, hi;
        random_box(rng, in, lo, hi);
        const DiffBound db = diff_bound(p, lo, hi);
        for (int64_t k : {0, 1})
            for (double s : {1.0, -1.0}) {
                const errbound::SdpResult r = errbound::sdp_max_difference(p, db, lo, hi, k, s);
                ASSERT_TRUE(std::isfinite(r.bound)) << c.what << " case " << t << " " << r.phase;
                const double tol = 1e-12 * std::max(1.0, std::fabs(r.bound));  // double evaluation of the samples
                EXPECT_GE(r.bound + tol, sampled_max(p, lo, hi, k, s, rng)) << c.what << " case " << t;
                // The proof costs little over SDPA's own estimate (SDPA often stops at pdFEAS, short
                // of its 1e-7 target, on these degenerate relaxations; the bound is sound either way).
                // (SDPA's value can exceed the relaxation's optimum when its last point is slightly infeasible.)
                if (r.optimal) {
                    EXPECT_GE(r.bound + 1e-6 * std::max(1.0, std::fabs(r.value)), r.value) << c.what << " case " << t;
                }
                if (r.bound <= r.value + 1e-3 * std::max(1.0, std::fabs(r.value))) ++close;
                const errbound::MilpResult m = errbound::milp_max_difference(p, lo, hi, k, s, 5);
                if (!m.optimal) continue;
                ++milp_checked;
                EXPECT_GE(r.bound + 1e-6 * std::max(1.0, std::fabs(m.value)), m.value) << c.what << " case " << t;
            }
    }
    EXPECT_GT(milp_checked, 30);
    EXPECT_GE(close, 40);
}

// Through error_bound: upper = min(differential, SDP) per output, sound against sampling; the
// witness reaches lower.
TEST(BoundSdp, MethodSdpIsSoundOnTheBundledTwoInputModels) {
    const BlockNet f = example_net("two_input_relu.onnx");
    std::mt19937_64 rng(3);
    const std::vector<double> lo{0, 0}, hi{1, 1};
    std::vector<BlockNet> twins{prune_magnitude(f, 0.6), quantize(f, parse_scheme("fixed:4", f)).real,
                                quantize(f, parse_scheme("fp16", f)).real};
    for (const BlockNet& g : twins) {
        const ErrPair p = make_err_pair(f, g);
        ErrBoundOptions o;
        o.method = "sdp";
        const ErrBoundResult r = error_bound(p, lo, hi, {0, 1}, o);
        ASSERT_TRUE(r.sdp_bound.has_value());
        EXPECT_LE(r.upper, *r.sdp_bound);
        for (size_t k = 0; k < 2; ++k) {
            const double m = std::max(sampled_max(p, lo, hi, int64_t(k), 1, rng), sampled_max(p, lo, hi, int64_t(k), -1, rng));
            EXPECT_GE(r.upper_per_output[k] + 1e-12, m);
        }
        EXPECT_LE(r.lower, r.upper);
        if (!r.witness.empty()) {
            EXPECT_NEAR(std::fabs(exact_difference(p, r.witness)[r.witness_output]), r.lower, 1e-9 * std::max(1.0, r.lower));
        }
        o.method = "milp";
        o.timeout_s = 10;
        const ErrBoundResult m = error_bound(p, lo, hi, {0, 1}, o);
        if (m.milp_optimal) {
            EXPECT_GE(*r.sdp_bound + 1e-6 * std::max(1.0, *m.milp_max), *m.milp_max);
        }
    }
}

// The naive bound (f and g bounded separately, subtracted) cannot see that pruning changes
// little; the SDP, with both networks in one moment matrix, can.
TEST(BoundSdp, TighterThanTheNaiveBound) {
    const BlockNet f = example_net("two_input_relu.onnx");
    const ErrPair p = make_err_pair(f, prune_magnitude(f, 0.3));
    const std::vector<double> lo{0, 0}, hi{1, 1};
    ErrBoundOptions o;
    o.method = "naive";
    const ErrBoundResult naive = error_bound(p, lo, hi, {0, 1}, o);
    o.method = "sdp";
    const ErrBoundResult sdp = error_bound(p, lo, hi, {0, 1}, o);
    EXPECT_LT(*sdp.sdp_bound, 0.5 * naive.upper);
}

TEST(BoundSdp, RefusesBigNetworksAndIntegerTwinsWithAReason) {
    std::mt19937_64 rng(1);
    const BlockNet f = test::random_block_net(rng, 4, {120, 60, 2});
    const ErrPair p = make_err_pair(f, prune_magnitude(f, 0.5));
    ErrBoundOptions o;
    o.method = "sdp";
    try {
        error_bound(p, {0, 0, 0, 0}, {1, 1, 1, 1}, {0}, o);
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("small networks"), std::string::npos) << e.what();
    }
    const BlockNet small = test::random_block_net(rng, 2, {3, 2});
    const QuantizedNet q = quantize(small, parse_scheme("qebverif:8", small));
    ASSERT_TRUE(q.integer.has_value());
    EXPECT_THROW(error_bound(make_err_pair(small, *q.integer, 255.0), {0, 0}, {10, 10}, {0}, o), InputError);
}

// ACAS Xu 1_9, 1_1 and 1_2 against their float16 twins on property 1 (normalised units), output 0,
// eps 0.05, one thread: the faster back-substitution (scratch matrices, fused passes, dead-in-both
// rows skipped, the small-product kernel) kept the bound and the split count of the code before it
// (0.0401383519289 in 19 splits, 0.0493794737257 in 76), and the split gains then cut the splits
// (1_9: 17; 1_2: 259 -> 104, at 0.0470590); children then started from their parent's neuron
// ranges (1_9: 14 splits, 1_1: 69, 1_2: 99; other leaves, so other final bounds, all below eps),
// and g's back-substitution was kept for its barely crossing neurons only (1_1: 71, 1_2: 97; 10 %
// less time over the 18 cases). Neither may come back: the split count must not grow nor the
// bound loosen, and dense sampling of the region must stay below the bound.
TEST(BoundSplit, AcasXuTwinsKeepTheirBoundAndSplitCount) {
    const std::string dir = test::shared_benchmarks() + "/acasxu";
    struct Case {
        int net;
        double upper_before;
        int64_t splits_before;
    };
    for (const Case c : {Case{9, 0.045704919693304917, 14}, Case{1, 0.046762823543563294, 71}, Case{2, 0.044687403375068935, 97}}) {
        const std::string f_path = fmt::format("{}/ACASXU_run2a_1_{}_batch_2000.nnet", dir, c.net);
        const std::string g_path = fmt::format("{}/ACASXU_run2a_1_{}_batch_2000_16bit.nnet", dir, c.net);
        QCERT_REQUIRE_FILE(f_path);
        QCERT_REQUIRE_FILE(g_path);
        const ErrPair p = make_err_pair(to_blocks(read_nnet_normalised(f_path)), to_blocks(read_nnet_normalised(g_path)));
        const std::vector<double> lo{0.6, -0.5, -0.5, 0.45, -0.5}, hi{0.6798577687, 0.5, 0.5, 0.5, -0.45};
        ErrBoundOptions o;
        o.eps = 0.05;
        o.threads = 1;
        const ErrBoundResult r = error_bound(p, lo, hi, {0}, o);
        EXPECT_EQ(r.verdict, BoundVerdict::Holds) << "1_" << c.net;
        EXPECT_LE(r.splits, c.splits_before) << "1_" << c.net;
        // The same bound up to the order of floating-point sums (a few ulps), never looser.
        EXPECT_LE(r.upper, c.upper_before * (1 + 1e-12)) << "1_" << c.net;
        EXPECT_LE(r.lower, r.upper);
        std::mt19937_64 rng(uint64_t(c.net));
        for (int s = 0; s < 3000; ++s) {
            const std::vector<double> u = sample_in(rng, lo, hi);
            ASSERT_LE(difference_enclosure(p, u)[0].mig(), r.upper) << "1_" << c.net << " sample " << s;
        }
    }
}

// The back-substitution keeps per-thread scratch matrices between calls: a bound must not depend
// on what was computed before it on the same thread (nor on which thread computes it), and must
// stay sound against dense sampling. Widths up to 20, so that the product kernel's full 8-row
// blocks, its padded tail and the gathers of the first step all occur.
TEST(BoundDiff, ScratchReuseGivesTheSameBoundOnEveryThread) {
    std::mt19937_64 rng(47);
    struct Case {
        ErrPair p;
        std::vector<double> lo, hi;
    };
    std::vector<Case> cases;
    for (int t = 0; t < 24; ++t) {
        const int64_t in = test::uniform(rng, 1, 5);
        std::vector<int64_t> widths;
        for (int64_t d = test::uniform(rng, 2, 4); d > 0; --d) widths.push_back(test::uniform(rng, 3, 20));
        widths.push_back(test::uniform(rng, 1, 4));
        const RealCase c = random_real_case(rng, in, widths);
        Case k{make_err_pair(c.f, c.g), {}, {}};
        random_box(rng, in, k.lo, k.hi);
        cases.push_back(std::move(k));
    }
    std::vector<DiffBound> first;
    for (const Case& c : cases) first.push_back(diff_bound(c.p, c.lo, c.hi));
    auto same = [&](const DiffBound& a, const DiffBound& b, size_t t) {
        EXPECT_EQ(a.hi, b.hi) << "case " << t;
        EXPECT_EQ(a.lo, b.lo) << "case " << t;
        EXPECT_EQ(a.sensitivity_hi, b.sensitivity_hi) << "case " << t;
    };
    for (size_t t = cases.size(); t-- > 0;) same(diff_bound(cases[t].p, cases[t].lo, cases[t].hi), first[t], t);  // other order
    std::vector<DiffBound> other(cases.size());
    std::thread th([&] {
        for (size_t t = 0; t < cases.size(); ++t) other[t] = diff_bound(cases[t].p, cases[t].lo, cases[t].hi);
    });
    th.join();
    for (size_t t = 0; t < cases.size(); ++t) {
        same(other[t], first[t], t);
        for (int s = 0; s < 300; ++s) {
            const std::vector<double> u = sample_in(rng, cases[t].lo, cases[t].hi);
            const std::vector<Interval> y = difference_enclosure(cases[t].p, u);
            for (size_t k = 0; k < y.size(); ++k) {
                ASSERT_LE(y[k].lo, first[t].hi[k]) << "case " << t;
                ASSERT_GE(y[k].hi, first[t].lo[k]) << "case " << t;
            }
        }
    }
}
