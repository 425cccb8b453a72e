// The verification layer against brute force: the portfolio, the maximum robust
// radius, fairness through the twin network; and the resumable result log.
#include "qcert/error.hpp"
#include "qcert/result_log.hpp"
#include "qcert/verify.hpp"
#include "test_util.hpp"
#include "unit/bounds/random_int_nets.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

bool brute_violated(const IntQuery& q) {
    bool v = false;
    test::for_each_point(q.lo, q.hi, [&](const std::vector<int64_t>& x) { v = v || is_unsafe(q.unsafe, q.net->eval(x).out); });
    return v;
}

}  // namespace

TEST(Verify, PortfolioAgreesWithBruteForce) {
    std::mt19937_64 rng(77);
    int violated = 0, holds = 0;
    for (int t = 0; t < 40; ++t) {
        const BlockNet bn = test::random_block_net(rng, 3, {4, 3}, 0.6);
        const QuantizedNet qn = quantize(bn, parse_scheme("fixed:w=s6.4,b=s6.4,a=s8.4,i=u4.2,round=half_up", bn));
        const IntNetwork& net = *qn.integer;
        std::vector<int64_t> x(3);
        for (auto& v : x) v = int64_t(rng() % 16);
        const int64_t label = int64_t(rng() % 3);
        const IntQuery q = IntQuery::linf_ball(net, x, 1 + int64_t(rng() % 3), to_integer(OutputProperty::misclassified(3, label), net));
        VerifyOptions opt;
        opt.timeout_s = 20;
        const Outcome o = decide(q, opt);
        ASSERT_NE(o.verdict, Verdict::Unknown) << o.reason;
        EXPECT_EQ(o.verdict == Verdict::Violated, brute_violated(q)) << "trial " << t << " by " << o.method;
        if (o.verdict == Verdict::Violated) {
            EXPECT_TRUE(confirms(q, o.counterexample));
            ++violated;
        } else {
            ++holds;
        }
    }
    EXPECT_GT(violated, 0);
    EXPECT_GT(holds, 0);
}

TEST(Verify, EveryMethodAloneAgreesWithBruteForce) {
    std::mt19937_64 rng(5);
    for (const std::string m : {"bab", "milp", "milp-obbt", "milp-relax", "cvc5", "z3", "boolector"}) {
        for (int t = 0; t < 8; ++t) {
            const BlockNet bn = test::random_block_net(rng, 2, {3, 2}, 0.6);
            const QuantizedNet qn = quantize(bn, parse_scheme("aaai2021:4", bn));
            std::vector<int64_t> x = {int64_t(rng() % 256), int64_t(rng() % 256)};
            const IntQuery q = IntQuery::linf_ball(*qn.integer, x, 3, to_integer(OutputProperty::misclassified(2, 0), *qn.integer));
            VerifyOptions opt;
            opt.methods = {m};
            opt.timeout_s = 20;
            const Outcome o = decide(q, opt);
            if (o.verdict == Verdict::Unknown && o.reason.find("not installed") != std::string::npos) continue;
            ASSERT_NE(o.verdict, Verdict::Unknown) << m << ": " << o.reason;
            EXPECT_EQ(o.method, m);
            EXPECT_EQ(o.verdict == Verdict::Violated, brute_violated(q)) << m << " trial " << t;
        }
    }
}

TEST(Verify, TwinNetworkRunsBothCopies) {
    std::mt19937_64 rng(3);
    const BlockNet bn = test::random_block_net(rng, 4, {5, 3}, 0.6);
    const QuantizedNet qn = quantize(bn, parse_scheme("aaai2021:6", bn));
    const IntNetwork twin = twin_network(*qn.integer, {1, 3});
    for (int t = 0; t < 50; ++t) {
        std::vector<int64_t> x(4), s2(2);
        for (auto& v : x) v = int64_t(rng() % 256);
        for (auto& v : s2) v = int64_t(rng() % 256);
        std::vector<int64_t> in = x;
        in.insert(in.end(), s2.begin(), s2.end());
        std::vector<int64_t> x2 = x;
        x2[1] = s2[0];
        x2[3] = s2[1];
        const auto y = qn.integer->eval(x).out, y2 = qn.integer->eval(x2).out, yy = twin.eval(in).out;
        std::vector<int64_t> both = y;
        both.insert(both.end(), y2.begin(), y2.end());
        EXPECT_EQ(yy, both);
    }
    EXPECT_THROW(twin_network(*qn.integer, {7}), InputError);
    EXPECT_THROW(twin_network(*qn.integer, {}), InputError);
}

TEST(Verify, FairnessAgreesWithBruteForce) {
    std::mt19937_64 rng(8);
    for (int t = 0; t < 10; ++t) {
        const BlockNet bn = test::random_block_net(rng, 3, {3, 2}, 0.6);
        const QuantizedNet qn = quantize(bn, parse_scheme("fixed:w=s6.4,b=s6.4,a=s8.4,i=u3.0", bn));
        const IntNetwork& net = *qn.integer;
        const std::vector<int64_t> lo = {0, 0, 0}, hi = {3, 7, 7};
        const double delta = 0.25 * double(rng() % 8);
        VerifyOptions opt;
        opt.timeout_s = 20;
        const Outcome o = verify_fairness(net, lo, hi, {0}, delta, opt);
        ASSERT_NE(o.verdict, Verdict::Unknown) << o.reason;
        bool unfair = false;
        test::for_each_point(lo, hi, [&](const std::vector<int64_t>& x) {
            for (int64_t s = lo[0]; s <= hi[0]; ++s) {
                std::vector<int64_t> x2 = x;
                x2[0] = s;
                const Vec a = net.dequantize_output(net.eval(x).out), b = net.dequantize_output(net.eval(x2).out);
                unfair = unfair || (a - b).cwiseAbs().maxCoeff() > delta;
            }
        });
        EXPECT_EQ(o.verdict == Verdict::Violated, unfair) << "trial " << t;
    }
}

TEST(Verify, MaxRadiusMatchesBruteForce) {
    std::mt19937_64 rng(21);
    for (int t = 0; t < 6; ++t) {
        const BlockNet bn = test::random_block_net(rng, 2, {4, 3}, 0.6);
        Subject s;
        s.path = "random";
        s.blocks = bn;
        s.quant = quantize(bn, parse_scheme("fixed:w=s6.4,b=s6.4,a=s8.4,i=u5.0,raw", bn));
        Dataset d;
        d.sample_shape = {2};
        d.raw = {double(rng() % 32), double(rng() % 32)};
        d.integral = true;
        d.labels = {int(s.quantized_class(d, 0))};
        VerifyOptions opt;
        opt.timeout_s = 20;
        const RadiusResult r = max_robust_radius(s, d, 0, 0, opt);
        ASSERT_TRUE(r.exact) << r.reason;
        // brute force: the smallest eps whose ball holds a misclassified point
        const IntNetwork& net = *s.quant->integer;
        const std::vector<int64_t> x = {int64_t(d.raw[0]), int64_t(d.raw[1])};
        int64_t first_bad = -1;
        for (int64_t e = 0; e <= 31 && first_bad < 0; ++e) {
            const IntQuery q = IntQuery::linf_ball(net, x, e, to_integer(OutputProperty::misclassified(3, d.labels[0]), net));
            if (brute_violated(q)) first_bad = e;
        }
        if (first_bad < 0) EXPECT_EQ(r.radius, 31);
        else EXPECT_EQ(r.radius, first_bad - 1);
    }
}

TEST(ResultLog, ResumesAndDropsACutLine) {
    test::TempDir d;
    const std::string p = d.file("r.jsonl");
    {
        ResultLog log(p);
        log.append("a", {{"verdict", "holds"}});
        log.append("b", {{"verdict", "unknown"}});
    }
    {
        std::ofstream f(p, std::ios::app);
        f << "{\"key\": \"c\", \"verd";  // a kill in the middle of a line
    }
    ResultLog log(p);
    ASSERT_NE(log.find("a"), nullptr);
    EXPECT_EQ((*log.find("a"))["verdict"], "holds");
    EXPECT_EQ(log.find("c"), nullptr);
    log.append("b", {{"verdict", "violated"}});
    ResultLog again(p);
    EXPECT_EQ((*again.find("b"))["verdict"], "violated");
    EXPECT_EQ(again.size(), 2u);
    std::ofstream(d.file("bad.jsonl")) << "not json\n";
    EXPECT_THROW(ResultLog(d.file("bad.jsonl")), InputError);
}
