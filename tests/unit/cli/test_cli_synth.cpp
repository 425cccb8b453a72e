// qcert synth from the command line: JSON fields, the scheme file read back by inspect, bad input.
#include "test_util.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using qcert::test::run_cli;
using qcert::test::source_dir;
using qcert::test::TempDir;

namespace {

std::string example(const std::string& name) { return source_dir() + "/examples/" + name; }
std::string fashion_args() {
    return example("fashion_mlp.onnx") + " --images " + example("fashion_test_100-images-idx3-ubyte.gz") + " --labels " +
           example("fashion_test_100-labels-idx1-ubyte.gz");
}

}  // namespace

TEST(CliSynth, WritesResultSchemeAndOnnx) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:3 --radius 1 --max-bits 8 --timeout 5 --json --out " +
                          d.file("run"),
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out);
    for (const char* k : {"bits", "proved", "total", "accuracy", "time_s", "certificates", "left_out"}) EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["total"], 3);
    ASSERT_GE(j["bits"].size(), 1u);
    for (const auto& b : j["bits"]) EXPECT_TRUE(b.get<int>() >= 2 && b.get<int>() <= 8) << b;
    EXPECT_GT(j["accuracy"].get<double>(), 50.0);
    EXPECT_GE(j["proved"].get<int>(), j["required"].get<int>());  // best: the search's answer proves every required one
    EXPECT_EQ(j["answers"].size(), 2u);                            // --method best: search and preimage
    for (const char* f : {"scheme.json", "quantized.onnx", "synth.json", "results.jsonl"})
        EXPECT_TRUE(std::filesystem::exists(d.file("run/") + f)) << f;
    // The scheme file is read back, and gives the same quantized network as the preset.
    std::string a, b;
    ASSERT_EQ(run_cli("inspect " + fashion_args() + " --limit 100 --json --scheme " + d.file("run/scheme.json"), &a, &err), 0) << err;
    ASSERT_EQ(run_cli("inspect " + fashion_args() + " --limit 100 --json --scheme " + j["scheme"].get<std::string>(), &b, &err), 0)
        << err;
    const auto ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
    ASSERT_TRUE(ja.contains("quantized_accuracy")) << a;
    EXPECT_EQ(ja["quantized_accuracy"], jb["quantized_accuracy"]);
}

struct SynthBad {
    std::string args, expect;
};
class CliSynthBad : public ::testing::TestWithParam<SynthBad> {};

TEST_P(CliSynthBad, OneErrorLineExit2) {
    std::string out, err;
    EXPECT_EQ(run_cli("synth " + fashion_args() + " " + GetParam().args, &out, &err), 2) << err;
    EXPECT_NE(err.find(GetParam().expect), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

INSTANTIATE_TEST_SUITE_P(Cases, CliSynthBad,
                         ::testing::Values(SynthBad{"--samples 0:2 --radius 1 --min-bits 8 --max-bits 4", "greater than max-bits"},
                                           SynthBad{"--samples 0:2 --radius -1", "--radius"},
                                           SynthBad{"--samples 3:3 --radius 1", "--samples"},
                                           SynthBad{"--samples 0:2 --radius 1 --min-bits 1", "2..32"},
                                           SynthBad{"--samples 500 --radius 1", "sample 500"},
                                           SynthBad{"--samples 0:2 --radius 1 --bits 6,6,6,6,6,6,6", "bit-widths given"},
                                           SynthBad{"--samples 0:2 --radius 1 --method milp", "unknown method 'milp'"}));

TEST(CliSynth, PreimageMethodAnswerIsCertifiedPropertyByProperty) {
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:4 --radius 1 --max-bits 10 --timeout 5 --json --method preimage",
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["method"], "preimage");
    ASSERT_EQ(j["answers"].size(), 1u);
    EXPECT_EQ(j["answers"][0]["bits"], j["bits"]);
    EXPECT_EQ(j["answers"][0]["proved"], j["proved"]);
    int proved = 0;
    for (const auto& c : j["certificates"]) proved += c["verdict"] == "proved";
    EXPECT_EQ(proved, j["proved"].get<int>());
    EXPECT_GT(proved, 0);
}
