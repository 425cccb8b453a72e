// qcert params: soundness on random small networks (sampling never beats `upper`),
// witnesses that reach `lower`, agreement with exact SMT on piecewise-linear cases,
// perturbation sets, and the command line's answers to good and bad input.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "qcert/params.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

using namespace qcert;

namespace {

double uniform(std::mt19937_64& g, double lo, double hi) {
    return lo + (hi - lo) * std::uniform_real_distribution<double>(0, 1)(g);
}

BlockNet random_net(std::mt19937_64& g, const std::vector<int>& sizes, Act hidden, Act out = Act::None) {
    BlockNet bn;
    bn.source = "random";
    bn.input_shape = {sizes[0]};
    for (size_t k = 0; k + 1 < sizes.size(); ++k) {
        Block b;
        b.W = Mat(sizes[k + 1], sizes[k]);
        b.b = Vec(sizes[k + 1]);
        for (int64_t i = 0; i < b.W.size(); ++i) b.W.data()[i] = uniform(g, -1.5, 1.5);
        for (int64_t i = 0; i < b.b.size(); ++i) b.b[i] = uniform(g, -0.5, 0.5);
        b.act = k + 2 < sizes.size() ? hidden : out;
        bn.blocks.push_back(b);
    }
    return bn;
}

// The test's own reading of the definitions (docs/PARAMS.md), in double precision.
Vec logits(const BlockNet& net, const Vec& x) {
    Vec cur = x;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        const Vec z = b.W * cur + b.b;
        const bool last = k + 1 == net.blocks.size();
        const bool pre = last && (b.act == Act::None || b.act == Act::Softmax || (b.act == Act::Sigmoid && z.size() == 1));
        cur = pre ? z : b.activate(z);
    }
    return cur;
}

int predicted_class(const Vec& y) { return y.size() == 1 ? (y[0] > 0 ? 1 : 0) : int(argmax(y)); }

double confidence_of(const Vec& y, int j, Confidence c) {
    if (y.size() == 1) {
        const double u = j == 1 ? y[0] : -y[0];
        return c == Confidence::Margin ? u : 1 / (1 + std::exp(-u));
    }
    if (c == Confidence::Margin) {
        double m = INFINITY;
        for (int64_t i = 0; i < y.size(); ++i)
            if (i != j) m = std::min(m, y[j] - y[i]);
        return m;
    }
    double s = 0;
    for (int64_t i = 0; i < y.size(); ++i) s += std::exp(y[i] - y[j]);
    return 1 / s;
}

double change(const BlockNet& nominal, const BlockNet& perturbed, const Vec& x, Confidence c) {
    const Vec y0 = logits(nominal, x), y1 = logits(perturbed, x);
    const int j = predicted_class(y0);
    return std::fabs(confidence_of(y1, j, c) - confidence_of(y0, j, c));
}

// A random member of the outer box: a vertex half the time (maxima like vertices).
BlockNet sample(std::mt19937_64& g, const BlockNet& net, const Perturbation& p) {
    BlockNet s = net;
    const bool vertex = g() % 2 == 0;
    auto pick = [&](double lo, double hi) { return vertex ? (g() % 2 ? lo : hi) : uniform(g, lo, hi); };
    for (size_t k = 0; k < s.blocks.size(); ++k) {
        Block& b = s.blocks[k];
        for (int64_t i = 0; i < b.W.rows(); ++i) {
            for (int64_t j = 0; j < b.W.cols(); ++j) b.W(i, j) = pick(p.outer.w_lo[k](i, j), p.outer.w_hi[k](i, j));
            b.b[i] = pick(p.outer.b_lo[k][i], p.outer.b_hi[k][i]);
        }
    }
    return s;
}

Vec sample_input(std::mt19937_64& g, const ParamsQuery& q) {
    Vec x(int64_t(q.input_lo.size()));
    for (size_t i = 0; i < q.input_lo.size(); ++i) x[int64_t(i)] = uniform(g, q.input_lo[i], q.input_hi[i]);
    return x;
}

Confidence effective(const BlockNet& net, Confidence c) {
    if (c != Confidence::Auto) return c;
    return net.output_size() == 1 ? Confidence::Sigmoid : Confidence::Softmax;
}

// Runs the analysis and checks everything that can be checked from outside.
ParamsResult check_sound(std::mt19937_64& g, const BlockNet& net, const Perturbation& p, const ParamsQuery& q,
                         int samples = 3000) {
    const ParamsResult r = analyse_params(net, p, q);
    const Confidence c = effective(net, q.confidence);
    EXPECT_LE(r.lower, r.upper);
    if (r.complete) {
        EXPECT_LE(r.upper - r.lower, q.precision);
    }
    // Sampling never beats the upper bound.
    for (int t = 0; t < samples; ++t) {
        const Vec x = sample_input(g, q);
        const double v = change(net, sample(g, net, p), x, c);
        EXPECT_LE(v, r.upper + 1e-9) << "sample beats the upper bound [" << r.lower << ", " << r.upper << "]";
    }
    // The witness is a member of the set and reaches `lower`.
    EXPECT_TRUE(r.witness.has_value());
    if (r.witness) {
        const ParamsWitness& w = *r.witness;
        EXPECT_TRUE(p.contains(w.net));
        const Vec x = Eigen::Map<const Vec>(w.input.data(), int64_t(w.input.size()));
        for (size_t i = 0; i < w.input.size(); ++i) {
            EXPECT_GE(w.input[i], q.input_lo[i]);
            EXPECT_LE(w.input[i], q.input_hi[i]);
        }
        const double v = change(net, w.net, x, c);
        EXPECT_GE(v, r.lower - 1e-12) << "witness value " << w.value << ", confidence " << w.nominal_confidence << " -> "
                                      << w.confidence;
        EXPECT_NEAR(v, r.lower, 1e-9);
    }
    // The class question.
    if (r.class_can_change == std::optional<bool>(true)) {
        EXPECT_TRUE(r.class_witness.has_value());
        if (r.class_witness) {
            const ParamsWitness& w = *r.class_witness;
            EXPECT_TRUE(p.contains(w.net));
            const Vec x = Eigen::Map<const Vec>(w.input.data(), int64_t(w.input.size()));
            EXPECT_NE(predicted_class(logits(net, x)), predicted_class(logits(w.net, x)));
        }
    }
    if (r.class_can_change == std::optional<bool>(false)) {
        for (int t = 0; t < samples; ++t) {
            const Vec x = sample_input(g, q);
            EXPECT_EQ(predicted_class(logits(net, x)), predicted_class(logits(sample(g, net, p), x)));
        }
    }
    return r;
}

std::string example(const std::string& name) { return test::source_dir() + "/examples/" + name; }

}  // namespace

TEST(ParamsPerturbation, SchemeBoxHoldsTheQuantizedValue) {
    std::mt19937_64 g(5);
    const BlockNet net = random_net(g, {3, 4, 2}, Act::ReLU);
    for (const char* spec : {"fixed:4", "fixed:8", "aaai2021:6", "fp16", "fixed:w=s6.3,b=s8.4,pround=floor",
                             "fixed:w=s6.3,pround=ceil", "fixed:w=s4.3,pround=toward_zero"}) {
        const Scheme s = parse_scheme(spec, net);
        const Perturbation p = perturbation_from_scheme(net, s);
        const QuantizedNet q = quantize(net, s);
        EXPECT_TRUE(p.contains(q.real)) << spec << ": the quantized network lies in the set";
        // A parameter beyond the format's range can only take the saturated value.
        EXPECT_LE(p.free_count(), net.parameter_count()) << spec;
        if (std::string(spec) == "fixed:8" || std::string(spec) == "fp16") {
            EXPECT_TRUE(p.contains(net)) << spec << ": parameters are in their own box";
            EXPECT_EQ(p.free_count(), net.parameter_count()) << spec;
        }
        for (size_t k = 0; k < net.blocks.size(); ++k) {
            EXPECT_TRUE((p.outer.w_lo[k].array() <= p.inner.w_lo[k].array()).all());
            EXPECT_TRUE((p.inner.w_hi[k].array() <= p.outer.w_hi[k].array()).all());
        }
    }
}

TEST(ParamsPerturbation, RelativeAndAbsolute) {
    std::mt19937_64 g(6);
    const BlockNet net = random_net(g, {2, 3, 2}, Act::Tanh);
    const Perturbation r = perturbation_relative(net, 0.1);
    const Perturbation a = perturbation_absolute(net, 0.25);
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Mat& W = net.blocks[k].W;
        for (int64_t i = 0; i < W.size(); ++i) {
            const double w = W.data()[i];
            EXPECT_LE(r.outer.w_lo[k].data()[i], w - 0.1 * std::fabs(w) + 1e-15);
            EXPECT_NEAR(r.inner.w_lo[k].data()[i], w - 0.1 * std::fabs(w), 1e-15);
            EXPECT_NEAR(a.inner.w_hi[k].data()[i], w + 0.25, 1e-15);
            EXPECT_GE(a.outer.w_hi[k].data()[i], w + 0.25 - 1e-15);
        }
    }
    EXPECT_THROW(perturbation_relative(net, -1), InputError);
    EXPECT_THROW(perturbation_absolute(net, NAN), InputError);
    EXPECT_EQ(perturbation_absolute(net, 0).free_count(), 0);
}

TEST(Params, LocalSoundOnRandomNetworks) {
    std::mt19937_64 g(2019);
    const Act acts[] = {Act::ReLU, Act::Sigmoid, Act::Tanh};
    for (int t = 0; t < 9; ++t) {
        const int outputs = 2 + t % 2;
        const BlockNet net = random_net(g, {2, 3, outputs}, acts[t % 3]);
        const Perturbation p = t % 2 ? perturbation_absolute(net, 0.05) : perturbation_relative(net, 0.1);
        ParamsQuery q;
        q.input_lo = q.input_hi = {uniform(g, 0, 1), uniform(g, 0, 1)};
        q.precision = 1e-3;
        q.timeout_s = 5;
        q.confidence = t % 4 == 3 ? Confidence::Margin : Confidence::Auto;
        SCOPED_TRACE(::testing::Message() << "network " << t);
        const ParamsResult r = check_sound(g, net, p, q);
        EXPECT_TRUE(r.complete) << r.lower << " " << r.upper;
    }
}

TEST(Params, OneOutputSigmoid) {
    std::mt19937_64 g(11);
    const BlockNet net = random_net(g, {2, 3, 1}, Act::ReLU, Act::Sigmoid);
    const Perturbation p = perturbation_absolute(net, 0.1);
    ParamsQuery q;
    q.input_lo = q.input_hi = {0.3, 0.6};
    q.timeout_s = 5;
    const ParamsResult r = check_sound(g, net, p, q);
    EXPECT_EQ(r.confidence, Confidence::Sigmoid);
    EXPECT_TRUE(r.complete);
    q.confidence = Confidence::Softmax;
    EXPECT_THROW(analyse_params(net, p, q), InputError);
}

TEST(Params, GlobalSoundOnRandomNetworks) {
    std::mt19937_64 g(42);
    const Act acts[] = {Act::ReLU, Act::Tanh, Act::Sigmoid, Act::ReLU};
    for (int t = 0; t < 4; ++t) {
        const BlockNet net = random_net(g, {2, 3, t == 3 ? 3 : 2}, acts[t]);
        const Perturbation p = perturbation_absolute(net, 0.03);
        ParamsQuery q;
        q.input_lo = {0, 0};
        q.input_hi = {1, 1};
        q.precision = 1e-2;
        q.timeout_s = 8;
        SCOPED_TRACE(::testing::Message() << "network " << t);
        check_sound(g, net, p, q, 5000);
    }
}

TEST(Params, DeeperNetworksBothMethods) {
    // Two and three hidden layers exercise the activation offsets of the layers before
    // the last; every case runs both methods, which must agree within the precision.
    std::mt19937_64 g(77);
    const Act acts[] = {Act::ReLU, Act::Tanh, Act::None, Act::Sigmoid, Act::ReLU, Act::LeakyReLU};
    for (int t = 0; t < 6; ++t) {
        const std::vector<int> sizes = t % 2 ? std::vector<int>{2, 3, 3, 3, 2} : std::vector<int>{2, 4, 3, 2};
        BlockNet net = random_net(g, sizes, acts[t]);
        for (Block& b : net.blocks) b.alpha = 0.1;
        const Perturbation p = t < 3 ? perturbation_absolute(net, 0.15) : perturbation_relative(net, 0.2);
        ParamsQuery q;
        if (t < 4) {
            q.input_lo = q.input_hi = {uniform(g, 0, 1), uniform(g, 0, 1)};
            q.precision = 1e-3;
        } else {
            q.input_lo = {0.1, 0.2};
            q.input_hi = {0.6, 0.5};
            q.precision = 1e-2;
        }
        q.timeout_s = 10;
        q.confidence = t == 2 ? Confidence::Margin : Confidence::Auto;
        SCOPED_TRACE(::testing::Message() << "network " << t);
        const ParamsResult a = check_sound(g, net, p, q, 4000);
        q.branch_on_parameters = true;
        q.timeout_s = 2;  // the slower method: its interval only has to overlap
        const ParamsResult b = check_sound(g, net, p, q, 500);
        EXPECT_TRUE(a.complete);
        // Each interval holds the true maximum, so they overlap.
        EXPECT_LE(std::max(a.lower, b.lower), std::min(a.upper, b.upper) + 1e-12)
            << "[" << a.lower << ", " << a.upper << "] vs [" << b.lower << ", " << b.upper << "]";
        if (a.class_can_change && b.class_can_change) {
            EXPECT_EQ(*a.class_can_change, *b.class_can_change);
        }
    }
}

TEST(Params, LargePerturbationsStaySound) {
    // Boxes wide enough that ReLUs switch and the confidence saturates.
    std::mt19937_64 g(99);
    for (int t = 0; t < 4; ++t) {
        const BlockNet net = random_net(g, {2, 5, 4, 2}, t % 2 ? Act::ReLU : Act::Tanh);
        const Perturbation p = perturbation_absolute(net, 0.6);
        ParamsQuery q;
        q.input_lo = q.input_hi = {uniform(g, -1, 1), uniform(g, -1, 1)};
        q.precision = 1e-3;
        q.timeout_s = 10;
        SCOPED_TRACE(::testing::Message() << "network " << t);
        const ParamsResult r = check_sound(g, net, p, q, 4000);
        EXPECT_TRUE(r.complete);
    }
}

TEST(Params, SingleLayerNetworks) {
    // No hidden layer: logistic regression with two outputs, and with one (sigmoid).
    std::mt19937_64 g(13);
    for (int outputs : {2, 1}) {
        const BlockNet net = random_net(g, {2, outputs}, Act::None, outputs == 1 ? Act::Sigmoid : Act::None);
        const Perturbation p = perturbation_absolute(net, 0.2);
        ParamsQuery q;
        q.input_lo = q.input_hi = {0.4, 0.7};
        check_sound(g, net, p, q);
        q.input_lo = {0, 0};
        q.input_hi = {1, 1};
        q.precision = 1e-2;
        const ParamsResult r = check_sound(g, net, p, q);
        EXPECT_TRUE(r.complete);
    }
}

TEST(Params, NoPerturbationMeansNoChange) {
    std::mt19937_64 g(3);
    const BlockNet net = random_net(g, {2, 3, 2}, Act::ReLU);
    ParamsQuery q;
    q.input_lo = q.input_hi = {0.5, 0.5};
    const ParamsResult r = analyse_params(net, perturbation_absolute(net, 0), q);
    EXPECT_EQ(r.lower, 0);
    EXPECT_LE(r.upper, 1e-12);
    EXPECT_EQ(r.class_can_change, std::optional<bool>(false));
}

TEST(Params, SmtAgreesOnPiecewiseLinearNetworks) {
    std::mt19937_64 g(7);
    for (int t = 0; t < 6; ++t) {
        // 2-2-2 (no hidden layer before the last) and 2-2-2-2 (one offset layer), ReLU.
        const BlockNet net = random_net(g, t < 3 ? std::vector<int>{2, 2, 2} : std::vector<int>{2, 2, 2, 2}, Act::ReLU);
        const Perturbation p = perturbation_absolute(net, 0.05 + 0.05 * (t % 3));
        ParamsQuery q;
        if (t % 3 < 2) q.input_lo = q.input_hi = {uniform(g, 0, 1), uniform(g, 0, 1)};
        else { q.input_lo = {0.2, 0.3}; q.input_hi = {0.4, 0.5}; }
        q.precision = 1e-3;
        q.timeout_s = 10;
        q.confidence = Confidence::Margin;
        const ParamsResult r = analyse_params(net, p, q);
        SCOPED_TRACE(::testing::Message() << "network " << t << ": [" << r.lower << ", " << r.upper << "]");
        ASSERT_TRUE(r.complete);
        // Some parameter set reaches `lower`; none reaches just above `upper`.
        EXPECT_EQ(smt_margin_change_at_least(net, p, q, r.lower, 60), SmtAnswer::Yes);
        EXPECT_EQ(smt_margin_change_at_least(net, p, q, r.upper + 1e-6, 60), SmtAnswer::No);
    }
}

TEST(Params, BundledModelLocal) {
    const BlockNet net = to_blocks(load_model(example("two_input_relu.onnx")).net);
    const Perturbation p = perturbation_from_scheme(net, parse_scheme("fixed:8", net));
    ParamsQuery q;
    q.input_lo = q.input_hi = {0.25, 0.75};
    q.timeout_s = 20;
    std::mt19937_64 g(1);
    const ParamsResult r = check_sound(g, net, p, q, 2000);
    EXPECT_TRUE(r.complete);
}

// ---- the command line ----------------------------------------------------------

TEST(ParamsCli, LocalJson) {
    std::string out, err;
    ASSERT_EQ(test::run_cli("params " + example("two_input_relu.onnx") + " --scheme fixed:8 --at 0.25,0.75 --json", &out, &err), 0)
        << err;
    const auto j = nlohmann::json::parse(out);
    for (const char* key : {"lower", "upper", "class_can_change", "witness", "time_s", "nodes"}) EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_LE(j["lower"].get<double>(), j["upper"].get<double>());
    EXPECT_LE(j["upper"].get<double>() - j["lower"].get<double>(), 1e-3);
    EXPECT_EQ(j["witness"]["parameters"].size(), 3u);
}

TEST(ParamsCli, Text) {
    std::string out, err;
    ASSERT_EQ(test::run_cli("params " + example("two_input_linear.onnx") + " --rel 0.01 --at 0.5,0.5", &out, &err), 0) << err;
    EXPECT_NE(out.find("max |c' - c|"), std::string::npos) << out;
    EXPECT_NE(out.find("class change"), std::string::npos) << out;
}

struct ParamsBad {
    std::string args, needle;
};

class ParamsCliBadInput : public ::testing::TestWithParam<ParamsBad> {};

TEST_P(ParamsCliBadInput, OneLineExitTwo) {
    std::string args = GetParam().args;
    const std::string model = example("two_input_relu.onnx");
    for (size_t pos; (pos = args.find("@M")) != std::string::npos;) args.replace(pos, 2, model);
    std::string out, err;
    EXPECT_EQ(test::run_cli("params " + args, &out, &err), 2) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find(GetParam().needle), std::string::npos) << err;
    EXPECT_EQ(out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParamsCliBadInput,
    ::testing::Values(ParamsBad{"@M --scheme fixed:8 --at 0.5,0.5 --precision -0.1", "--precision"},
                      ParamsBad{"@M --scheme fixed:8 --at 0.5,0.5 --precision 0", "--precision"},
                      ParamsBad{"@M --scheme fixed:8 --at 0.5,0.5,0.5", "the model takes 2 inputs"},
                      ParamsBad{"@M --scheme fixed:8 --region 0:1", "the model takes 2 inputs"},
                      ParamsBad{"@M --scheme fixed:8 --region 0:1,0.8:0.2", "above upper end"},
                      ParamsBad{"@M --scheme fixed:8 --region 0:1,x:1", "not a finite number"},
                      ParamsBad{"@M --at 0.5,0.5", "give exactly one of --scheme"},
                      ParamsBad{"@M --rel 0.1 --abs 0.1 --at 0.5,0.5", "give exactly one of --scheme"},
                      ParamsBad{"@M --rel 0.1", "give exactly one of --at"},
                      ParamsBad{"@M --rel 0.1 --at 0.5,0.5 --region 0:1,0:1", "give exactly one of --at"},
                      ParamsBad{"@M --rel -0.1 --at 0.5,0.5", "--rel"},
                      ParamsBad{"@M --scheme fixed:8 --at 0.5,0.5 --confidence sigmoid", "one-output"},
                      ParamsBad{"@M --scheme fixed:8 --at 0.5,0.5 --confidence best", "--confidence"},
                      ParamsBad{"@M --scheme nonsense --at 0.5,0.5", "unknown scheme"},
                      ParamsBad{"/nonexistent.onnx --rel 0.1 --at 0.5,0.5", "nonexistent.onnx"}));
