// The bit-width sweep: its counts against direct calls of the library, resumption,
// non-monotone samples, bad options.
#include "qcert/error.hpp"
#include "qcert/result_log.hpp"
#include "qcert/sweep.hpp"
#include "sweep_test_data.hpp"
#include "test_util.hpp"

#include <cmath>
#include <fstream>
#include <gtest/gtest.h>

using qcert::test::relu_model;
using qcert::test::TempDir;
using qcert::test::two_input_pixels;

namespace {

qcert::SweepOptions small_sweep(const std::string& results) {
    qcert::SweepOptions o;
    o.model = relu_model();
    o.families = {"aaai2021"};
    o.bits_lo = 3;
    o.bits_hi = 6;
    o.samples = {0, 1, 2, 3, 4, 5, 6, 7};
    o.eps = {3, 12};
    o.verify.timeout_s = 30;
    o.params_timeout_s = 5;
    o.results_path = results;
    return o;
}

std::map<std::string, qcert::Verdict> verdicts(const qcert::SweepResult& r) {
    std::map<std::string, qcert::Verdict> m;
    for (const qcert::RobustRecord& x : r.robust)
        m[x.family + ":" + std::to_string(x.bits) + ":" + std::to_string(x.sample) + ":" + std::to_string(x.eps)] = x.verdict;
    return m;
}

}  // namespace

TEST(Sweep, CountsAgreeWithDirectCalls) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    const qcert::SweepOptions o = small_sweep(t.file("r.jsonl"));
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    ASSERT_EQ(r.points.size(), 4u);
    EXPECT_EQ(r.missing, 0);
    EXPECT_EQ(r.decided_now, r.queries);
    EXPECT_TRUE(r.params_note.empty()) << r.params_note;  // 114 parameters: small enough
    for (const qcert::SweepPoint& p : r.points) {
        SCOPED_TRACE(p.scheme);
        ASSERT_TRUE(p.unavailable.empty());
        ASSERT_TRUE(p.integer);
        const qcert::Subject s = qcert::load_subject(o.model, p.scheme);
        const qcert::Accuracy a = qcert::accuracy(d, -1, [&](int64_t i) { return s.quantized_class(d, i); });
        ASSERT_TRUE(p.accuracy);
        EXPECT_EQ(p.accuracy->correct, a.correct);
        EXPECT_EQ(p.accuracy->total, 500);
        for (int64_t e : o.eps) {
            qcert::VerdictCounts direct;
            for (int64_t i : o.samples) direct.add(qcert::verify_robustness(s, d, i, e, o.verify).outcome.verdict);
            const qcert::VerdictCounts& c = p.robustness.at(e);
            EXPECT_EQ(c.holds, direct.holds);
            EXPECT_EQ(c.violated, direct.violated);
            EXPECT_EQ(c.misclassified, direct.misclassified);
            EXPECT_EQ(c.unknown, 0);
            EXPECT_EQ(c.total(), int64_t(o.samples.size()));
        }
        ASSERT_TRUE(p.params);
        EXPECT_EQ(p.params->class_fixed + p.params->class_can_change + p.params->undecided, int64_t(o.samples.size()));
    }
    // Not a vacuous comparison: the sweep has both answers.
    int64_t holds = 0, violated = 0, can_change = 0;
    for (const qcert::SweepPoint& p : r.points) {
        for (const auto& [e, c] : p.robustness) holds += c.holds, violated += c.violated;
        can_change += p.params->class_can_change;
    }
    EXPECT_GT(holds, 0);
    EXPECT_GT(violated, 0);
    // The float accuracy is the model's own.
    const qcert::Subject f = qcert::load_subject(o.model);
    EXPECT_EQ(r.float_accuracy.correct,
              qcert::accuracy(d, -1, [&](int64_t i) { return qcert::argmax(f.float_output(d, i)); }).correct);
}

TEST(Sweep, StoppedRunResumesWithoutRedoingDecidedQueries) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep(t.file("resumed.jsonl"));
    o.max_new_queries = 7;
    const qcert::SweepResult first = qcert::run_sweep(o, d);
    EXPECT_EQ(first.decided_now, 7);
    EXPECT_EQ(first.missing, first.queries - 7);
    o.max_new_queries = -1;
    const qcert::SweepResult second = qcert::run_sweep(o, d);
    EXPECT_EQ(second.reused, 7);
    EXPECT_EQ(second.decided_now, second.queries - 7);
    EXPECT_EQ(second.missing, 0);
    // The file holds each query once (plus the config line): nothing was decided twice.
    std::ifstream in(o.results_path);
    int64_t lines = 0;
    for (std::string l; std::getline(in, l);) ++lines;
    EXPECT_EQ(lines, second.queries + 1);
    // Same answers as one uninterrupted run.
    const qcert::SweepResult whole = qcert::run_sweep(small_sweep(t.file("whole.jsonl")), d);
    EXPECT_EQ(verdicts(second), verdicts(whole));
    ASSERT_EQ(second.points.size(), whole.points.size());
    for (size_t i = 0; i < whole.points.size(); ++i) {
        EXPECT_EQ(second.points[i].accuracy->correct, whole.points[i].accuracy->correct);
        EXPECT_EQ(second.points[i].params->class_can_change, whole.points[i].params->class_can_change);
    }
}

TEST(Sweep, ShardsTogetherGiveTheWholeSweep) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep(t.file("shared.jsonl"));
    o.shard_count = 2;
    o.shard_index = 1;
    const qcert::SweepResult half = qcert::run_sweep(o, d);
    EXPECT_GT(half.missing, 0);
    o.shard_index = 0;
    const qcert::SweepResult rest = qcert::run_sweep(o, d);
    EXPECT_EQ(rest.missing, 0);
    EXPECT_EQ(rest.reused, half.decided_now);
    const qcert::SweepResult whole = qcert::run_sweep(small_sweep(t.file("whole.jsonl")), d);
    EXPECT_EQ(verdicts(rest), verdicts(whole));
}

TEST(Sweep, FamiliesWithoutASchemeOrWithoutIntegersAreReported) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep(t.file("r.jsonl"));
    o.families = {"qebverif", "fixed"};
    o.bits_lo = 2;
    o.bits_hi = 3;
    o.samples = {0, 1};
    o.eps = {3};
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    ASSERT_EQ(r.points.size(), 4u);
    EXPECT_EQ(r.points[0].scheme, "qebverif:2");
    EXPECT_NE(r.points[0].unavailable.find("bits must be 3..16"), std::string::npos) << r.points[0].unavailable;
    EXPECT_FALSE(r.points[0].accuracy);
    EXPECT_TRUE(r.points[1].unavailable.empty());
    EXPECT_EQ(r.points[1].robustness.at(3).total(), 2);
    // fixed:B keeps activations real: accuracy and parameter robustness, no verification
    EXPECT_EQ(r.points[2].scheme, "fixed:2");
    EXPECT_FALSE(r.points[2].integer);
    EXPECT_TRUE(r.points[2].accuracy);
    EXPECT_TRUE(r.points[2].robustness.empty());
    EXPECT_FALSE(r.points[2].robustness_note.empty());
    ASSERT_TRUE(r.points[2].params);
}

TEST(Sweep, BigNetworksSkipParameterRobustness) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep(t.file("r.jsonl"));
    o.params_max_parameters = 100;  // the model has 114
    o.eps = {};
    const qcert::SweepResult r = qcert::run_sweep(o, d);
    EXPECT_NE(r.params_note.find("114 parameters"), std::string::npos) << r.params_note;
    for (const qcert::SweepPoint& p : r.points) EXPECT_FALSE(p.params);
}

TEST(Sweep, BadOptionsAreInputErrors) {
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep("");
    o.bits_lo = 6;
    o.bits_hi = 3;
    EXPECT_THROW(qcert::run_sweep(o, d), qcert::InputError);
    o = small_sweep("");
    o.bits_hi = 40;
    EXPECT_THROW(qcert::run_sweep(o, d), qcert::InputError);
    o = small_sweep("");
    o.families = {"int4"};
    EXPECT_THROW(qcert::run_sweep(o, d), qcert::InputError);
    o = small_sweep("");
    o.samples = {500};
    EXPECT_THROW(qcert::run_sweep(o, d), qcert::InputError);
}

TEST(Sweep, ResultsOfAnotherModelAreRefused) {
    TempDir t;
    const qcert::Dataset d = two_input_pixels();
    qcert::SweepOptions o = small_sweep(t.file("r.jsonl"));
    o.samples = {0};
    o.eps = {};
    o.bits_hi = 3;
    qcert::run_sweep(o, d);
    o.model = qcert::test::source_dir() + "/examples/two_input_linear.onnx";
    EXPECT_THROW(qcert::run_sweep(o, d), qcert::InputError);
}

TEST(Sweep, NonMonotoneSamples) {
    using qcert::Verdict;
    const std::vector<qcert::RobustRecord> recs = {
        {"a", 4, 0, 1, Verdict::Violated}, {"a", 5, 0, 1, Verdict::Holds}, {"a", 6, 0, 1, Verdict::Holds},  // monotone
        {"a", 4, 1, 1, Verdict::Holds},    {"a", 5, 1, 1, Verdict::Unknown}, {"a", 6, 1, 1, Verdict::Violated},
        {"a", 4, 2, 1, Verdict::Misclassified}, {"a", 5, 2, 1, Verdict::Holds}, {"a", 6, 2, 1, Verdict::Misclassified},
        {"b", 4, 1, 1, Verdict::Holds},    {"b", 5, 1, 1, Verdict::Unknown},  // unknown is no failure
    };
    const std::vector<qcert::NonMonotone> nm = qcert::find_non_monotone(recs);
    ASSERT_EQ(nm.size(), 2u);
    EXPECT_EQ(nm[0].sample, 1);
    EXPECT_EQ(nm[0].robust_bits, 4);
    EXPECT_EQ(nm[0].failing_bits, 6);
    EXPECT_EQ(nm[0].failing_verdict, Verdict::Violated);
    EXPECT_EQ(nm[1].sample, 2);
    EXPECT_EQ(nm[1].robust_bits, 5);
    EXPECT_EQ(nm[1].failing_bits, 6);
    EXPECT_EQ(nm[1].failing_verdict, Verdict::Misclassified);
}

TEST(Sweep, MergeTakesOnlyWhatIsNotDecided) {
    TempDir t;
    const std::string into = t.file("main.jsonl");
    {
        qcert::ResultLog log(into);
        log.append("robust:a:4:0:1", {{"kind", "robust"}, {"verdict", "holds"}});
        log.append("robust:a:4:1:1", {{"kind", "robust"}, {"verdict", "unknown"}});
    }
    const std::string other =
        "{\"key\":\"robust:a:4:0:1\",\"kind\":\"robust\",\"verdict\":\"violated\"}\n"   // decided here already: kept
        "{\"key\":\"robust:a:4:1:1\",\"kind\":\"robust\",\"verdict\":\"holds\"}\n"      // was unknown: taken
        "{\"key\":\"robust:a:4:2:1\",\"kind\":\"robust\",\"verdict\":\"unknown\"}\n"    // new: taken
        "{\"key\":\"robust:a:4:3:1\",\"kind\":\"rob";                                   // cut by a kill: dropped
    EXPECT_EQ(qcert::merge_sweep_records(into, other), 2);
    qcert::ResultLog log(into);
    EXPECT_EQ((*log.find("robust:a:4:0:1"))["verdict"], "holds");
    EXPECT_EQ((*log.find("robust:a:4:1:1"))["verdict"], "holds");
    EXPECT_EQ((*log.find("robust:a:4:2:1"))["verdict"], "unknown");
    EXPECT_EQ(log.find("robust:a:4:3:1"), nullptr);
    EXPECT_EQ(qcert::merge_sweep_records(into, other), 0);  // nothing new the second time
}
