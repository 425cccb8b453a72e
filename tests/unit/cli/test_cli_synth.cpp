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
    for (const char* f : {"scheme.json", "quantized.onnx", "quantized_qdq.onnx", "synth.json", "results.jsonl"})
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

// Issue 6: every property synth reports proved is re-verified from scratch by qcert verify
// on the written QDQ ONNX model (a real-valued network: verify's real checker).
TEST(CliSynth, QdqOutputIsReverifiedByVerify) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:4 --radius 1,2 --max-bits 8 --timeout 5 --json --out " + d.file("run"),
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out);
    ASSERT_TRUE(j.contains("onnx_qdq"));
    const std::string qdq = j["onnx_qdq"].get<std::string>();
    const std::string data = " --images " + example("fashion_test_100-images-idx3-ubyte.gz") + " --labels " +
                             example("fashion_test_100-labels-idx1-ubyte.gz");
    int checked = 0;
    for (const auto& c : j["certificates"]) {
        if (c["verdict"] != "proved") continue;
        const std::string key = c["property"].get<std::string>();  // s<sample>_r<radius>
        const size_t r = key.find("_r");
        const std::string sample = key.substr(1, r - 1), eps = key.substr(r + 2);
        std::string v;
        ASSERT_EQ(run_cli("verify " + qdq + data + " --samples " + sample + " --eps " + eps + " --timeout 30 --json", &v, &err), 0)
            << err;
        const auto jv = nlohmann::json::parse(v);
        EXPECT_EQ(jv["verdict"], "holds") << key << ": " << v;
        ++checked;
    }
    EXPECT_GT(checked, 2);
    // The QDQ model is the twin: same accuracy as the scheme preset on the float model.
    std::string a, b;
    ASSERT_EQ(run_cli("inspect " + qdq + data + " --limit 100 --json", &a, &err), 0) << err;
    ASSERT_EQ(run_cli("inspect " + fashion_args() + " --limit 100 --json --scheme " + j["scheme"].get<std::string>(), &b, &err), 0)
        << err;
    EXPECT_EQ(nlohmann::json::parse(a)["float_accuracy"], nlohmann::json::parse(b)["quantized_accuracy"]) << a << "\n" << b;
}

TEST(CliSynth, BackdoorPropertiesAndMemoryCost) {
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:3 --radius 1 --trigger \"0,0=255;0,1=255;1,0=255\" --target 3"
                      " --max-bits 8 --timeout 5 --cost memory --json",
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["cost_kind"], "memory");
    EXPECT_EQ(j["total"], 3);  // no sample of the three has label 3
    ASSERT_EQ(j["bits"].size(), 3u);  // 784-64-32-10: 50240, 2080 and 330 weights and biases
    EXPECT_EQ(j["cost"], j["bits"][0].get<int64_t>() * 50240 + j["bits"][1].get<int64_t>() * 2080 + j["bits"][2].get<int64_t>() * 330);
    for (const auto& c : j["certificates"]) {
        EXPECT_EQ(c["kind"], "backdoor");
        EXPECT_EQ(c["property"].get<std::string>().rfind("bd_s", 0), 0u);
    }
    // --method best (default): both methods ran on the backdoor properties; every answer's cost is
    // its memory, and the answer is the one with most properties proved, then the least memory.
    ASSERT_EQ(j["answers"].size(), 2u);
    for (const auto& a : j["answers"]) {
        EXPECT_EQ(a["cost"], a["bits"][0].get<int64_t>() * 50240 + a["bits"][1].get<int64_t>() * 2080 + a["bits"][2].get<int64_t>() * 330);
        EXPECT_LE(a["proved"].get<int64_t>(), j["proved"].get<int64_t>());
        if (a["proved"] == j["proved"]) {
            EXPECT_GE(a["cost"].get<int64_t>(), j["cost"].get<int64_t>()) << a;
        }
        if (a["method"] == j["method"]) {
            EXPECT_EQ(a["bits"], j["bits"]);
        }
    }
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
                                           SynthBad{"--samples 0:2 --radius 1 --trigger 28,3=255 --target 1", "outside the 28x28 image"},
                                           SynthBad{"--samples 0:2 --radius 1 --trigger 3,-1=255 --target 1", "outside the 28x28 image"},
                                           SynthBad{"--samples 0:2 --radius 1 --trigger 3,3 --target 1", "ROW,COL=VALUE"},
                                           SynthBad{"--samples 0:2 --radius 1 --trigger 3,3=255", "--target"},
                                           SynthBad{"--samples 0:2 --radius 1 --target 3", "--trigger"},
                                           SynthBad{"--samples 0 --radius 1 --trigger 3,3=255 --target 9", "the property set is empty"},
                                           SynthBad{"--max-bits 8", "no properties"},
                                           SynthBad{"--samples 0:2 --radius 1 --cost speed", "--cost"},
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

// Quantized activations from the command line: the scheme (with its activation formats), the
// scheme file and the QDQ model read back with the same accuracy, and every property synth
// proved re-verified by qcert verify on the QDQ model (its fake-quantized activations included).
TEST(CliSynth, ActivationsRoundTrip) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:4 --radius 1 --max-bits 8 --act-bits 6 --timeout 5 --json --out " +
                          d.file("run"),
                      &out, &err),
              0)
        << err;
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["act_bits"], nlohmann::json({6, 6}));
    ASSERT_EQ(j["act_formats"].size(), 2u);
    const std::string scheme = j["scheme"].get<std::string>();
    EXPECT_NE(scheme.find(",a=u6."), std::string::npos) << scheme;
    EXPECT_FALSE(std::filesystem::exists(d.file("run/quantized.onnx")));  // doubles cannot hold the rounding
    const std::string data = " --images " + example("fashion_test_100-images-idx3-ubyte.gz") + " --labels " +
                             example("fashion_test_100-labels-idx1-ubyte.gz");
    std::string a, b, c;
    ASSERT_EQ(run_cli("inspect " + fashion_args() + " --json --scheme " + d.file("run/scheme.json"), &a, &err), 0) << err;
    ASSERT_EQ(run_cli("inspect " + fashion_args() + " --json --scheme " + scheme, &b, &err), 0) << err;
    ASSERT_EQ(run_cli("inspect " + j["onnx_qdq"].get<std::string>() + data + " --json", &c, &err), 0) << err;
    const auto ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b), jc = nlohmann::json::parse(c);
    EXPECT_EQ(ja["quantized_accuracy"], jb["quantized_accuracy"]);
    EXPECT_EQ(jc["float_accuracy"], jb["quantized_accuracy"]);  // the QDQ model is the twin itself
    EXPECT_NEAR(jb["quantized_accuracy"].get<double>() * 100, j["accuracy"].get<double>(), 1e-9);
    int checked = 0;
    for (const auto& cert : j["certificates"]) {
        if (cert["verdict"] != "proved") continue;
        const std::string key = cert["property"].get<std::string>();
        const size_t r = key.find("_r");
        std::string v;
        ASSERT_EQ(run_cli("verify " + j["onnx_qdq"].get<std::string>() + data + " --samples " + key.substr(1, r - 1) + " --eps " +
                              key.substr(r + 2) + " --timeout 30 --json",
                          &v, &err),
                  0)
            << err;
        EXPECT_EQ(nlohmann::json::parse(v)["verdict"], "holds") << key << ": " << v;
        ++checked;
    }
    EXPECT_GT(checked, 0);
    // Bad input: activation widths that do not fit the network, --bits without --act-bits.
    EXPECT_EQ(run_cli("synth " + fashion_args() + " --samples 0:2 --radius 1 --act-bits 6,6,6,6", &out, &err), 2);
    EXPECT_NE(err.find("--act-bits"), std::string::npos) << err;
    EXPECT_EQ(run_cli("synth " + fashion_args() + " --samples 0:2 --radius 1 --activations --bits 6,6,6", &out, &err), 2);
}

// A results directory of another model is refused with one error line (synth and bound).
TEST(CliSynth, OutOfAnotherModelIsRefused) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("synth " + fashion_args() + " --samples 0:2 --radius 1 --max-bits 6 --method search --timeout 2 --out " +
                          d.file("run"),
                      &out, &err),
              0)
        << err;
    std::filesystem::copy_file(d.file("run/quantized.onnx"), d.file("other.onnx"));  // another model, same shapes
    const std::string data = " --images " + example("fashion_test_100-images-idx3-ubyte.gz") + " --labels " +
                             example("fashion_test_100-labels-idx1-ubyte.gz");
    EXPECT_EQ(run_cli("synth " + d.file("other.onnx") + data + " --samples 0:2 --radius 1 --max-bits 6 --method search --timeout 2 "
                      "--out " + d.file("run"),
                      &out, &err),
              2);
    EXPECT_NE(err.find("results.jsonl"), std::string::npos) << err;
    EXPECT_NE(err.find("another"), std::string::npos) << err;
    // bound: the same --out for another model or region.
    const std::string log = d.file("bound.jsonl");
    ASSERT_EQ(run_cli("bound " + example("fashion_mlp.onnx") + " --scheme fixed:8" + data +
                          " --samples 0 --radius 1 --method diff --out " + log,
                      &out, &err),
              0)
        << err;
    EXPECT_EQ(run_cli("bound " + d.file("other.onnx") + " --scheme fixed:8" + data + " --samples 0 --radius 1 --method diff --out " + log,
                      &out, &err),
              2);
    EXPECT_NE(err.find("bound.jsonl"), std::string::npos) << err;
    EXPECT_EQ(run_cli("bound " + example("fashion_mlp.onnx") + " --scheme fixed:8" + data +
                          " --samples 0 --radius 2 --method diff --out " + log,
                      &out, &err),
              2);
    ASSERT_EQ(run_cli("bound " + example("fashion_mlp.onnx") + " --scheme fixed:8" + data +
                          " --samples 0 --radius 1 --method diff --out " + log,
                      &out, &err),
              0)
        << err;
}
