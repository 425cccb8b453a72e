// qcert bound from the command line: JSON fields, resumable output, bad input.
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using qcert::test::run_cli;
using qcert::test::TempDir;

namespace {

// h = relu([[1,-1],[0.5,0.5]] x + [0, 0.25]); y = [[1,0],[-1,2]] h + [0.1, 0]; inputs in [0, 1].
std::string write_tiny_nnet(const TempDir& d, const std::string& name, double w00 = 1.0) {
    const std::string p = d.file(name);
    std::ofstream f(p);
    f << "// tiny\n2,2,2,2,\n2,2,2,\n0,\n0,0,\n1,1,\n0,0,0,\n1,1,1,\n"
      << w00 << ",-1,\n0.5,0.5,\n0,\n0.25,\n1,0,\n-1,2,\n0.1,\n0,\n";
    return p;
}

// A 3-input network: its shape differs from the tiny one.
std::string write_three_input_nnet(const TempDir& d) {
    const std::string p = d.file("three.nnet");
    std::ofstream f(p);
    f << "1,3,2,3,\n3,2,\n0,\n0,0,0,\n1,1,1,\n0,0,0,0,\n1,1,1,1,\n1,0,0,\n0,1,0,\n0,\n0,\n";
    return p;
}

// 2 inputs, one hidden ReLU layer of `width`, 2 outputs: too big for the SDP bound at width 160.
std::string write_wide_nnet(const TempDir& d, int width) {
    const std::string p = d.file("wide.nnet");
    std::ofstream f(p);
    f << "// wide\n2,2,2," << width << ",\n2," << width << ",2,\n0,\n0,0,\n1,1,\n0,0,0,\n1,1,1,\n";
    for (int i = 0; i < width; ++i) f << (i % 3) - 1 << "," << (i % 5) * 0.25 << ",\n";
    for (int i = 0; i < width; ++i) f << 0.01 * i << ",\n";
    for (int k = 0; k < 2; ++k) {
        for (int i = 0; i < width; ++i) f << (k ? 0.5 : -0.25) << ",";
        f << "\n";
    }
    f << "0,\n0,\n";
    return p;
}

}  // namespace

TEST(CliBound, MethodSdpGivesTheRawAndTheRigorousValue) {
    TempDir d;
    const std::string f = write_tiny_nnet(d, "f.nnet"), g = write_tiny_nnet(d, "g.nnet", 1.25);
    std::string out, err;
    ASSERT_EQ(run_cli("bound " + f + " --against " + g + " --box 0:1,0:1 --output all --method sdp --json", &out, &err), 0) << err;
    const nlohmann::json j = nlohmann::json::parse(out);
    EXPECT_EQ(j["method"], "sdp");
    EXPECT_GE(j["sdp_bound"].get<double>(), j["upper"].get<double>());
    EXPECT_GE(j["upper"].get<double>(), j["lower"].get<double>());
    EXPECT_TRUE(j.contains("sdp_value"));
}

TEST(CliBound, AgainstASecondNetworkGivesJson) {
    TempDir d;
    const std::string f = write_tiny_nnet(d, "f.nnet"), g = write_tiny_nnet(d, "g.nnet", 1.25);
    std::string out, err;
    ASSERT_EQ(run_cli("bound " + f + " --against " + g + " --box 0:1,0:1 --output 0 --eps 0.5 --timeout 5 --json", &out, &err), 0)
        << err;
    const auto j = nlohmann::json::parse(out.substr(0, out.find('\n')));
    for (const char* k : {"upper", "lower", "verdict", "witness", "time_s", "splits"}) EXPECT_TRUE(j.contains(k)) << k;
    // g - f on output 0 = relu(1.25 x0 - x1) - relu(x0 - x1): at most 0.25, reached at x = (1, 0).
    EXPECT_NEAR(j["lower"].get<double>(), 0.25, 1e-12);
    EXPECT_LE(j["upper"].get<double>(), 0.25 * (1 + 1e-3) + 1e-9);
    EXPECT_GE(j["upper"].get<double>(), 0.25);
    EXPECT_EQ(j["verdict"], "holds");
    ASSERT_EQ(run_cli("bound " + f + " --against " + g + " --box 0:1,: --output 0 --eps 0.1 --json", &out, &err), 0) << err;
    EXPECT_EQ(nlohmann::json::parse(out.substr(0, out.find('\n')))["verdict"], "violated");
}

TEST(CliBound, SchemeAndPruneAndResume) {
    TempDir d;
    const std::string f = write_tiny_nnet(d, "f.nnet");
    std::string out, err;
    ASSERT_EQ(run_cli("bound " + f + " --scheme fp16 --box 0:1,0:1 --json --timeout 5", &out, &err), 0) << err;
    ASSERT_EQ(run_cli("bound " + f + " --prune 0.5 --box 0:1,0:1 --json --timeout 5 --out " + d.file("r.jsonl"), &out, &err), 0) << err;
    const auto j = nlohmann::json::parse(out.substr(0, out.find('\n')));
    EXPECT_LE(j["lower"].get<double>(), j["upper"].get<double>());
    // A re-run reads the recorded line instead of running again.
    std::string out2;
    ASSERT_EQ(run_cli("bound " + f + " --prune 0.5 --box 0:1,0:1 --json --timeout 5 --out " + d.file("r.jsonl"), &out2, &err), 0);
    EXPECT_EQ(nlohmann::json::parse(out2.substr(0, out2.find('\n')))["time_s"], j["time_s"]);
}

TEST(CliBound, BadInputIsOneLineAndExitTwo) {
    TempDir d;
    const std::string f = write_tiny_nnet(d, "f.nnet"), three = write_three_input_nnet(d);
    std::string out, err;
    auto one_error_line = [&](const std::string& args) {
        err.clear();
        EXPECT_EQ(run_cli(args, &out, &err), 2) << args;
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_EQ(err.rfind("qcert: error:", 0), 0u) << err;
    };
    one_error_line("bound " + f + " --against " + three + " --box 0:1,0:1");        // shapes differ
    one_error_line("bound " + f + " --against " + f + " --box 1:0,0:1");             // empty region
    one_error_line("bound " + f + " --against " + f + " --box 0:1");                 // too few dimensions
    one_error_line("bound " + f + " --box 0:1,0:1");                                  // no twin
    one_error_line("bound " + f + " --against " + f + " --box 0:1,0:1 --eps -1");    // negative eps
    one_error_line("bound " + f + " --against " + f + " --box 0:1,0:1 --output 5");  // no such output
    one_error_line("bound " + f + " --against " + f + " --box 0:1,0:1 --split layers");  // no such choice
    const std::string wide = write_wide_nnet(d, 160);
    one_error_line("bound " + f + " --against " + wide + " --box 0:1,0:1 --split neurons");  // other hidden widths
    one_error_line("bound " + wide + " --prune 0.5 --box 0:1,0:1 --method sdp");      // too big for the SDP
    EXPECT_NE(err.find("small networks"), std::string::npos) << err;
    const std::string mnist = qcert::test::shared_benchmarks();
    if (!mnist.empty()) {
        const std::string im = mnist + "/mnist/t10k-images-idx3-ubyte.gz", lb = mnist + "/mnist/t10k-labels-idx1-ubyte.gz";
        const std::string net = mnist + "/qebverif/PTQ_mnist_1blk_100_in_8_relu_0.h5";
        one_error_line("bound " + net + " --scheme qebverif:8 --images " + im + " --labels " + lb + " --samples 0 --radius -1");
    }
}

// The ReluDiff / NeuroDiff case: ACAS Xu 1_1 against its float16 twin on property 1, raw
// region converted to normalised units (ReluDiff's box: [0.6, 0.679857769] x [-0.5, 0.5]^2 x
// [0.45, 0.5] x [-0.5, -0.45]), output 0 at eps 0.05: proved.
TEST(CliBound, AcasXuPropertyOneAgainstFloat16Holds) {
    const std::string dir = qcert::test::shared_benchmarks() + "/acasxu";
    const std::string f = dir + "/ACASXU_run2a_1_1_batch_2000.nnet", g = dir + "/ACASXU_run2a_1_1_batch_2000_16bit.nnet";
    QCERT_REQUIRE_FILE(f);
    std::string out, err;
    ASSERT_EQ(run_cli("bound " + f + " --against " + g + " --units normalised --region-units raw --box 55947.691:,:,:,1145:,:60"
                      " --output 0 --eps 0.05 --timeout 120 --json",
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out.substr(0, out.find('\n')));
    EXPECT_EQ(j["verdict"], "holds");
    const std::vector<double> w = j["witness"].get<std::vector<double>>();
    ASSERT_EQ(w.size(), 5u);
    EXPECT_GE(w[0], 0.6 - 1e-6);
    EXPECT_LE(w[0], 0.679857769 + 1e-6);
    EXPECT_GE(w[3], 0.45 - 1e-6);
    EXPECT_LE(w[4], -0.45 + 1e-6);
    EXPECT_GE(w[4], -0.5 - 1e-6);
}
