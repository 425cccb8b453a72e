// The sweep's error-bound column and its synthesized point: the bounds against the
// |g - f| observed inside the balls and against direct calls of the bound library,
// resumption and shards for the bound queries, and the synth point against synth's
// own search and checks.
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "qcert/result_log.hpp"
#include "qcert/sweep.hpp"
#include "qcert/synth.hpp"
#include "sweep_test_data.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <random>

using qcert::test::relu_model;
using qcert::test::TempDir;
using qcert::test::two_input_pixels;

namespace {

qcert::SweepOptions bound_sweep(const std::string& results) {
    qcert::SweepOptions o;
    o.model = relu_model();
    o.families = {"aaai2021", "fixed"};
    o.bits_lo = 3;
    o.bits_hi = 6;
    o.samples = {0, 1, 2, 3, 4, 5, 6, 7};
    o.eps = {12};                  // the bound radius too
    o.verify.timeout_s = 30;
    o.params_max_parameters = 0;   // not the subject here
    o.bound_max_splits = 20;
    o.results_path = results;
    return o;
}

// The pair the sweep bounds: the integer twin when the scheme has one, else the real one.
qcert::ErrPair pair_of(const std::string& scheme) {
    const qcert::Subject s = qcert::load_subject(relu_model(), scheme);
    return s.quant->integer ? qcert::make_err_pair(s.blocks, *s.quant->integer, 255.0)
                            : qcert::make_err_pair(s.blocks, s.quant->real, 255.0);
}

double max_abs(const qcert::Vec& v) { return v.cwiseAbs().maxCoeff(); }

// The largest |g - f| at the data points inside the balls, and at random points of the
// balls (integer points for an integer twin); fails the test when one exceeds `upper`.
double observed_max(const qcert::ErrPair& pair, const qcert::Dataset& d, const std::vector<int64_t>& samples, double radius,
                    double upper, int64_t* inside) {
    double m = 0;
    std::mt19937_64 rng(7);
    for (int64_t s : samples) {
        const qcert::Vec c = d.raw_sample(s);
        for (int64_t j = 0; j < d.count(); ++j) {
            const qcert::Vec x = d.raw_sample(j);
            if ((x - c).cwiseAbs().maxCoeff() > radius) continue;
            ++*inside;
            const double e = max_abs(qcert::exact_difference(pair, std::vector<double>(x.data(), x.data() + x.size())));
            EXPECT_LE(e, upper) << "data point " << j << " in the ball of sample " << s;
            m = std::max(m, e);
        }
        for (int k = 0; k < 200; ++k) {
            std::vector<double> u(size_t(c.size()));
            for (size_t i = 0; i < u.size(); ++i) {
                std::uniform_real_distribution<double> U(std::max(0.0, c[int64_t(i)] - radius), std::min(255.0, c[int64_t(i)] + radius));
                u[i] = pair.integer_region() ? std::round(U(rng)) : U(rng);
            }
            const double e = max_abs(qcert::exact_difference(pair, u));
            EXPECT_LE(e, upper) << "a random point of the ball of sample " << s;
            m = std::max(m, e);
        }
    }
    return m;
}

std::map<std::string, std::pair<double, double>> bounds_of(const qcert::SweepResult& r) {
    std::map<std::string, std::pair<double, double>> m;
    for (const qcert::SweepPoint& p : r.points)
        if (p.bound) m[p.scheme] = {p.bound->lower, p.bound->upper};
    return m;
}

const qcert::SweepPoint* synth_point(const qcert::SweepResult& r) {
    for (const qcert::SweepPoint& p : r.points)
        if (p.family == "synth") return &p;
    return nullptr;
}

}  // namespace

TEST(SweepBound, UpperCoversWhatIsObservedAndMatchesTheLibrary) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    const qcert::SweepOptions o = bound_sweep(t.file("r.jsonl"));
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    EXPECT_EQ(r.bound_radius, 12);
    EXPECT_EQ(r.missing, 0);
    ASSERT_EQ(r.points.size(), 8u);
    int64_t positive_lower = 0, inside = 0;
    for (const qcert::SweepPoint& p : r.points) {
        SCOPED_TRACE(p.scheme);
        ASSERT_TRUE(p.bound) << p.bound_note;
        EXPECT_EQ(p.bound->balls, 8);
        EXPECT_GE(p.bound->lower, 0.0);
        EXPECT_LE(p.bound->lower, p.bound->upper);
        EXPECT_TRUE(std::isfinite(p.bound->upper));
        positive_lower += p.bound->lower > 0;
        const qcert::ErrPair pair = pair_of(p.scheme);
        EXPECT_EQ(pair.integer_region(), p.family == "aaai2021");
        const double seen = observed_max(pair, d, o.samples, 12, p.bound->upper, &inside);
        EXPECT_LE(seen, p.bound->upper);
        // The column is the maximum of the library's own bounds over the balls.
        double upper = 0, lower = 0;
        for (int64_t s : o.samples) {
            std::vector<double> lo, hi;
            const qcert::Vec x = d.raw_sample(s);
            for (int64_t j = 0; j < x.size(); ++j) lo.push_back(std::max(0.0, x[j] - 12)), hi.push_back(std::min(255.0, x[j] + 12));
            qcert::ErrBoundOptions eo;
            eo.max_splits = o.bound_max_splits;
            eo.timeout_s = o.bound_timeout_s;
            eo.threads = 1;
            const qcert::ErrBoundResult b = qcert::error_bound(pair, lo, hi, {0, 1}, eo);
            upper = std::max(upper, b.upper), lower = std::max(lower, b.lower);
        }
        EXPECT_EQ(p.bound->upper, upper);
        EXPECT_EQ(p.bound->lower, lower);
    }
    EXPECT_GT(positive_lower, 0);  // not all trivial
    EXPECT_GT(inside, 8 * 8);      // more data points than the centres
}

TEST(SweepBound, ResumeDoesNotRedoBoundQueriesAndShardsAgree) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = bound_sweep(t.file("resumed.jsonl"));
    o.max_new_queries = 20;
    const qcert::SweepResult first = qcert::run_sweep(o, d);
    EXPECT_EQ(first.decided_now, 20);
    o.max_new_queries = -1;
    const qcert::SweepResult second = qcert::run_sweep(o, d);
    EXPECT_EQ(second.reused, 20);
    EXPECT_EQ(second.missing, 0);
    const qcert::SweepResult third = qcert::run_sweep(o, d);
    EXPECT_EQ(third.decided_now, 0);
    // Every bound query once in the file.
    std::ifstream in(o.results_path);
    std::map<std::string, int> seen;
    int64_t bound_lines = 0;
    for (std::string l; std::getline(in, l);) {
        const nlohmann::json j = nlohmann::json::parse(l);
        ++seen[j["key"].get<std::string>()];
        bound_lines += j["kind"] == "bound";
    }
    for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k;
    EXPECT_EQ(bound_lines, 8 * 8);
    // Two shards in turn (as two MPI ranks) and one uninterrupted run: the same bounds.
    const qcert::SweepResult whole = qcert::run_sweep(bound_sweep(t.file("whole.jsonl")), d);
    EXPECT_EQ(bounds_of(second), bounds_of(whole));
    qcert::SweepOptions s = bound_sweep(t.file("shards.jsonl"));
    s.shard_count = 2;
    s.shard_index = 1;
    qcert::run_sweep(s, d);
    s.shard_index = 0;
    const qcert::SweepResult sharded = qcert::run_sweep(s, d);
    EXPECT_EQ(sharded.missing, 0);
    EXPECT_EQ(bounds_of(sharded), bounds_of(whole));
    EXPECT_EQ(bounds_of(whole).size(), 8u);
}

TEST(SweepSynth, SynthesizedStrategyIsAPoint) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = bound_sweep(t.file("synth.jsonl"));
    o.families = {"aaai2021"};
    o.eps = {3, 12};
    o.bound_radius = 12;
    o.synth = true;
    o.synth_timeout_s = 10;
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    EXPECT_EQ(r.missing, 0);
    EXPECT_TRUE(r.synth_note.empty()) << r.synth_note;
    const qcert::SweepPoint* p = synth_point(r);
    ASSERT_NE(p, nullptr);
    const qcert::Subject f = qcert::load_subject(relu_model());
    // Synth's own answer for the same properties.
    qcert::SynthOptions so;
    so.min_bits = 3;
    so.max_bits = 6;
    so.timeout_s = 10;
    so.progress = false;
    const qcert::SynthResult direct = qcert::synthesize(f.blocks, qcert::robust_properties(d, o.samples, {3, 12}), 255.0, so);
    EXPECT_EQ(p->layer_bits, direct.bits);
    EXPECT_EQ(p->scheme, "quadapter:" + qcert::bits_str(direct.bits));
    EXPECT_EQ(p->synth_proved, direct.proved);
    EXPECT_EQ(p->synth_kept, int64_t(direct.kept.size()));
    EXPECT_GT(p->synth_kept, 0);
    int total = 0;
    for (int b : p->layer_bits) {
        EXPECT_TRUE(b >= 3 && b <= 6) << b;
        total += b;
    }
    EXPECT_EQ(p->total_bits(), total);
    // Accuracy of the twin, computed here.
    const qcert::BlockNet twin = qcert::quadapter_twin(f.blocks, p->layer_bits);
    ASSERT_TRUE(p->accuracy);
    EXPECT_EQ(p->accuracy->correct,
              qcert::accuracy(d, -1, [&](int64_t i) { return qcert::argmax(twin.forward(d.float_sample(i))); }).correct);
    // Robustness: every sample at every eps, each verdict re-checked here.
    for (int64_t e : o.eps) EXPECT_EQ(p->robustness.at(e).total(), 8);
    EXPECT_GE(p->robustness.at(3).holds + p->robustness.at(12).holds, p->synth_proved);
    qcert::ResultLog log(o.results_path);
    for (int64_t e : o.eps)
        for (int64_t s : o.samples) {
            const nlohmann::json* j = log.find("robust:synth:" + qcert::bits_str(p->layer_bits) + ":" + std::to_string(s) + ":" + std::to_string(e));
            ASSERT_NE(j, nullptr);
            const std::string v = (*j)["verdict"];
            const qcert::RobustProperty prop = qcert::robust_properties(d, {s}, {double(e)}).front();
            if (v == "holds") {
                EXPECT_EQ(qcert::check_robust(twin, prop, 255.0, 30).verdict, qcert::CheckVerdict::Proved);
            }
            if (v == "violated") {
                const std::vector<double> u = (*j)["counterexample"];
                for (size_t k = 0; k < u.size(); ++k) EXPECT_TRUE(u[k] >= prop.lo[k] && u[k] <= prop.hi[k]);
                EXPECT_TRUE(qcert::certainly_misclassified(twin, u, 255.0, prop.label));
            }
            if (v == "misclassified") {
                EXPECT_NE(qcert::argmax(twin.forward(d.float_sample(s))), prop.label);
            }
        }
    // The error bound of the real twin covers what is seen inside the balls.
    ASSERT_TRUE(p->bound) << p->bound_note;
    EXPECT_LE(p->bound->lower, p->bound->upper);
    int64_t inside = 0;
    observed_max(qcert::make_err_pair(f.blocks, twin, 255.0), d, o.samples, 12, p->bound->upper, &inside);
    // Resumed: nothing to decide, not even the synthesis.
    const qcert::SweepResult again = qcert::run_sweep(o, d);
    EXPECT_EQ(again.decided_now, 0);
    EXPECT_EQ(again.reused, again.queries);
    ASSERT_NE(synth_point(again), nullptr);
    EXPECT_EQ(synth_point(again)->layer_bits, p->layer_bits);
}

TEST(SweepSynth, NeedsSamplesAndEps) {
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = bound_sweep("");
    o.synth = true;
    o.eps = {};
    EXPECT_THROW(qcert::check_sweep_options(o, d), qcert::InputError);
}
