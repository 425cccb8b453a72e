// The command line as a user meets it: exit codes, one-line errors, JSON output.
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using qcert::test::run_cli;
using qcert::test::TempDir;

namespace {

// A 2-2-2 ReLU network in NNet format with identity normalisation:
// h = relu([[1,-1],[0.5,0.5]] x + [0, 0.25]); y = [[1,0],[-1,2]] h + [0.1, 0].
std::string write_tiny_nnet(const TempDir& d) {
    const std::string p = d.file("tiny.nnet");
    std::ofstream f(p);
    f << "// tiny test network\n2,2,2,2,\n2,2,2,\n0,\n0,0,\n1,1,\n0,0,0,\n1,1,1,\n"
         "1,-1,\n0.5,0.5,\n0,\n0.25,\n1,0,\n-1,2,\n0.1,\n0,\n";
    return p;
}

int count_lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST(Cli, EvalFloatAndQuantized) {
    TempDir d;
    const std::string model = write_tiny_nnet(d);
    std::ofstream(d.file("in.csv")) << "x1,x2\n1,0\n0.5,0.5\n";
    std::string out, err;
    ASSERT_EQ(run_cli("eval " + model + " --inputs " + d.file("in.csv") + " --json", &out, &err), 0) << err;
    std::istringstream lines(out);
    std::string line;
    std::getline(lines, line);
    auto j = nlohmann::json::parse(line);
    // x = (1, 0): h = (1, 0.75); y = (1.1, 0.5)
    EXPECT_NEAR(j["float"][0].get<double>(), 1.1, 1e-12);
    EXPECT_NEAR(j["float"][1].get<double>(), 0.5, 1e-12);
    EXPECT_EQ(j["class"], 0);
    ASSERT_EQ(run_cli("eval " + model + " --inputs " + d.file("in.csv") + " --scheme fixed:w=s8.4,b=s8.4,a=s8.4,i=s8.4 --json",
                      &out, &err),
              0)
        << err;
    j = nlohmann::json::parse(out.substr(0, out.find('\n')));
    EXPECT_EQ(j["integer"][0], 18);  // 1.1 -> 1.125 = 18/16
    EXPECT_EQ(j["integer"][1], 8);
    EXPECT_EQ(j["overflow"], false);
}

TEST(Cli, EvalWithPruneMask) {
    TempDir d;
    const std::string model = write_tiny_nnet(d);
    std::ofstream(d.file("in.csv")) << "x1,x2\n1,0\n";
    // Prunes the first layer's weight 1 on x1: for x = (1, 0), h = (0, 0.75) and y = (0.1, 1.5).
    std::ofstream(d.file("mask.json")) << R"({"layers": [[[0, 1], [1, 1]], [[1, 1], [1, 1]]]})";
    std::string out, err;
    ASSERT_EQ(run_cli("eval " + model + " --inputs " + d.file("in.csv") + " --prune-mask " + d.file("mask.json") + " --json",
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out.substr(0, out.find('\n')));
    EXPECT_NEAR(j["float"][0].get<double>(), 1.1, 1e-12);  // the float network is untouched
    EXPECT_NEAR(j["quantized"][0].get<double>(), 0.1, 1e-12);
    EXPECT_NEAR(j["quantized"][1].get<double>(), 1.5, 1e-12);
}

TEST(Cli, InspectWithoutData) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("inspect " + write_tiny_nnet(d) + " --json", &out, &err), 0) << err;
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["blocks"].get<int>(), 2);  // the normalisation layers fold into the two dense layers
    EXPECT_GE(j["parameters"].get<int>(), 12);
    EXPECT_TRUE(j["scheme"].is_null());
}

struct BadInput {
    std::string args, needle;
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneLineExitTwo) {
    TempDir d;
    const std::string model = write_tiny_nnet(d);
    std::ofstream(d.file("garbage.onnx")) << "this is not a protobuf \x01\x02\x03";
    std::ofstream(d.file("model.xyz")) << "x";
    std::ofstream(d.file("short.csv")) << "1\n";
    std::ofstream(d.file("ok.csv")) << "1,2\n";
    std::ofstream(d.file("mask1.json")) << R"({"layers": [[[1, 1], [1, 1]]]})";
    std::ofstream(d.file("mask2.json")) << R"({"layers": [[[1, 1], [1, 2]], [[1, 1], [1, 1]]]})";
    std::string args = GetParam().args;
    const std::string ex = std::string(QCERT_SOURCE_DIR) + "/examples/";
    for (auto [k, v] : {std::pair{std::string("@MODEL"), model},
                        {"@DIR", d.path.string()},
                        {"@TWO", ex + "two_input_relu.onnx"},
                        {"@FASHION", ex + "fashion_mlp.onnx --scheme aaai2021:6 --images " + ex +
                                         "fashion_test_100-images-idx3-ubyte.gz --labels " + ex +
                                         "fashion_test_100-labels-idx1-ubyte.gz"}})
        for (size_t p; (p = args.find(k)) != std::string::npos;) args.replace(p, k.size(), v);
    std::string out, err;
    EXPECT_EQ(run_cli(args, &out, &err), 2) << err;
    EXPECT_EQ(count_lines(err), 1) << err;
    EXPECT_NE(err.find(GetParam().needle), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBadInput,
    ::testing::Values(BadInput{"inspect @DIR/missing.onnx", "missing.onnx"},
                      BadInput{"inspect @DIR/model.xyz", "unknown model format"},
                      BadInput{"inspect @DIR/garbage.onnx", "garbage.onnx"},
                      BadInput{"inspect @MODEL --scheme aaai2021:99", "bits"},
                      BadInput{"inspect @MODEL --scheme nosuch:3", "unknown scheme"},
                      BadInput{"inspect @MODEL --scheme quadapter:4,4,4", "bit-widths"},
                      BadInput{"inspect @MODEL --images @DIR/nope.gz --labels @DIR/nope2.gz", "nope"},
                      BadInput{"eval @MODEL --inputs @DIR/short.csv", "short.csv"},
                      BadInput{"eval @MODEL --inputs @DIR/ok.csv --prune 2", "ratio"},
                      BadInput{"inspect", "model"},
                      BadInput{"inspect @MODEL --prune-mask @DIR/mask1.json", "the mask has 1 layers, the network has 2"},
                      BadInput{"inspect @MODEL --prune-mask @DIR/mask2.json", "expected 0 or 1, got 2"},
                      BadInput{"inspect @MODEL --prune-mask @DIR/ok.csv", "not JSON"},
                      BadInput{"inspect @MODEL --prune 0.5 --prune-mask @DIR/mask1.json", "not both"},
                      // qcert params
                      BadInput{"params @TWO --rel 0.01 --at 0.5,0.5 --precision -1", "precision"},
                      BadInput{"params @TWO --rel 0.01 --at 0.5,0.5,0.2", "3 values given"},
                      BadInput{"params @TWO --rel 0.01 --region 1:0,0:1", "lower end 1 above upper end 0"},
                      // qcert verify
                      BadInput{"verify @FASHION --samples 0 --eps -1", "--eps"},
                      BadInput{"verify @FASHION --samples 500 --eps 1", "past the data"},
                      BadInput{"verify @TWO --scheme quadapter:4,4 --vnnlib @DIR/ok.csv", "bit-widths"},
                      BadInput{"verify @TWO --scheme fixed:8 --vnnlib @DIR/missing.vnnlib", "missing.vnnlib"},
                      BadInput{"verify @TWO --scheme fixed:8 --vnnlib @DIR/ok.csv", "ok.csv"},
                      BadInput{"frobnicate", "frobnicate"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return "case" + std::to_string(info.index); });
