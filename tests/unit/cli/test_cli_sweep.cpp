// qcert sweep from the command line: bad input, the files it writes, a sweep killed
// half-way that is started again, two MPI ranks. The suites named Cli* (the error paths)
// also run under the sanitizers (scripts/sanitize.sh); the SweepCli ones, which decide
// real queries with timeouts and start mpirun, do not.
#include "test_util.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

using qcert::test::run_cli;
using qcert::test::TempDir;

namespace {

std::string ex(const std::string& f) { return qcert::test::source_dir() + "/examples/" + f; }
std::string fashion_data() {
    return " --images " + ex("fashion_test_100-images-idx3-ubyte.gz") + " --labels " + ex("fashion_test_100-labels-idx1-ubyte.gz");
}
std::string two_input_data() { return " --inputs " + ex("two_input_data.csv") + " --labels " + ex("two_input_labels.csv"); }

int count_lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> v;
    for (std::string l; std::getline(f, l);) v.push_back(l);
    return v;
}

// key -> the answer of each record (the verdict, the accuracy, the bounds, the synthesized
// bits), and how often the key occurs
std::map<std::string, std::string> answers(const std::string& jsonl, std::map<std::string, int>* occurrences = nullptr) {
    std::map<std::string, std::string> m;
    for (const std::string& l : lines_of(jsonl)) {
        const nlohmann::json j = nlohmann::json::parse(l);
        const std::string key = j["key"].get<std::string>();
        if (occurrences) ++(*occurrences)[key];
        if (j.contains("verdict")) m[key] = j["verdict"].get<std::string>();
        else if (j.contains("correct")) m[key] = std::to_string(j["correct"].get<int64_t>());
        else if (j["kind"] == "bound") m[key] = j["lower"].dump() + " <= |g - f| <= " + j["upper"].dump();
        else if (j["kind"] == "synth") m[key] = j["layer_bits"].dump();
    }
    return m;
}

struct BadSweep {
    std::string args, needle;
};
class CliSweepBadInput : public ::testing::TestWithParam<BadSweep> {};

}  // namespace

TEST_P(CliSweepBadInput, OneLineExitTwoNoReport) {
    TempDir d;
    std::string out, err;
    const std::string args = "sweep " + ex("fashion_mlp.onnx") + fashion_data() + " --report " + d.file("rep") + " " + GetParam().args;
    EXPECT_EQ(run_cli(args, &out, &err), 2) << err;
    EXPECT_EQ(count_lines(err), 1) << err;
    EXPECT_NE(err.find(GetParam().needle), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(d.file("rep")));
}

INSTANTIATE_TEST_SUITE_P(Cases, CliSweepBadInput,
                         ::testing::Values(BadSweep{"--bits 0:4", "--bits"}, BadSweep{"--bits 4:40", "1..32"},
                                           BadSweep{"--bits 8:4", "lo > hi"}, BadSweep{"--bits 4:x", "not an integer"},
                                           BadSweep{"--schemes int4", "unknown scheme family 'int4'"},
                                           BadSweep{"--schemes aaai2021,nope", "'nope'"},
                                           BadSweep{"--samples 0:2 --eps -1", "--eps"},
                                           BadSweep{"--eps 2", "needs --samples"},
                                           BadSweep{"--samples 100", "past the data"},
                                           BadSweep{"--timeout 0 --samples 0 --eps 1", "--timeout"},
                                           BadSweep{"--samples 0 --bound-timeout 0", "--bound-timeout"},
                                           BadSweep{"--samples 0 --bound-radius -2", "--bound-radius"},
                                           BadSweep{"--samples 0 --bound-splits -1", "--bound-splits"},
                                           BadSweep{"--samples 0 --synth", "--synth"}),
                         [](const ::testing::TestParamInfo<BadSweep>& info) { return "case" + std::to_string(info.index); });

TEST(CliSweep, NeedsData) {
    std::string out, err;
    EXPECT_EQ(run_cli("sweep " + ex("fashion_mlp.onnx"), &out, &err), 2);
    EXPECT_NE(err.find("--images"), std::string::npos) << err;
}

// The two-input network with CSV data: fixed:B has real activations, so accuracy and
// parameter robustness per width, no verification; every file is written.
TEST(SweepCli, CsvDataWritesResultsAndReport) {
    TempDir d;
    std::string out, err;
    ASSERT_EQ(run_cli("sweep " + ex("two_input_relu.onnx") + two_input_data() +
                          " --schemes fixed --bits 3:4 --samples 0:3 --params-timeout 5 --json --report " + d.file("rep"),
                      &out, &err),
              0)
        << err;
    std::istringstream in(out);
    std::vector<nlohmann::json> js;
    for (std::string l; std::getline(in, l);) js.push_back(nlohmann::json::parse(l));
    ASSERT_FALSE(js.empty());
    const nlohmann::json& summary = js.back();
    EXPECT_EQ(summary["kind"], "summary");
    EXPECT_EQ(summary["queries"], 2 * (1 + 3 + 3));  // per width: accuracy, three params analyses, three bounds
    EXPECT_EQ(summary["decided_now"], 14);
    EXPECT_EQ(int(js.size()), 14 + 1);
    const std::vector<std::string> csv = lines_of(d.file("rep/results.csv"));
    ASSERT_EQ(csv.size(), 15u);
    EXPECT_EQ(csv[0].rfind("kind,family,bits,scheme,", 0), 0u);
    EXPECT_NE(csv[0].find(",radius,lower,upper,splits,"), std::string::npos) << csv[0];
    EXPECT_EQ(std::count_if(csv.begin(), csv.end(), [](const std::string& l) { return l.rfind("bound,fixed,", 0) == 0; }), 6);
    EXPECT_TRUE(std::filesystem::exists(d.file("rep/report.html")));
    EXPECT_TRUE(std::filesystem::exists(d.file("rep/report.md")));
    // A second run decides nothing.
    ASSERT_EQ(run_cli("sweep " + ex("two_input_relu.onnx") + two_input_data() +
                          " --schemes fixed --bits 3:4 --samples 0:3 --params-timeout 5 --json --report " + d.file("rep"),
                      &out, &err),
              0)
        << err;
    const nlohmann::json again = nlohmann::json::parse(out.substr(out.rfind('{')));
    EXPECT_EQ(again["decided_now"], 0);
    EXPECT_EQ(again["reused"], 14);
}

// A sweep killed (SIGKILL) after some of its queries are in the results file, then started
// again: it decides only what is missing and ends with the answers of an uninterrupted run.
TEST(SweepCli, KilledHalfWayAndRestarted) {
    TempDir d;
    const std::string args = "sweep " + ex("fashion_mlp.onnx") + fashion_data() +
                             " --bits 2:5 --samples 0:10 --eps 1 --timeout 60 --bound-samples 3 --bound-splits 1 --bound-timeout 60"
                             " --jobs 1 --json --report ";
    const std::string results = d.file("killed/results.jsonl");
    const std::string launch = std::string(QCERT_CLI) + " " + args + d.file("killed") + " >/dev/null 2>&1 & echo $! >" + d.file("pid");
    ASSERT_EQ(std::system(launch.c_str()), 0);
    pid_t pid = 0;
    std::ifstream(d.file("pid")) >> pid;
    ASSERT_GT(pid, 0);
    // The sweep has 4 x (1 + 10 + 3) = 56 queries (accuracy, robustness, error bounds); kill it
    // once 12 records (and the config line) are in.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    size_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline && (seen = lines_of(results).size()) < 13)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(kill(pid, SIGKILL), 0) << "the sweep ended before it could be killed";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const size_t kept = lines_of(results).size();  // a line cut by the kill is dropped on restart
    ASSERT_GE(kept, 13u);
    ASSERT_LT(kept, 57u) << "the sweep had finished: nothing to resume";

    std::string out, err;
    ASSERT_EQ(run_cli(args + d.file("killed"), &out, &err), 0) << err;
    const nlohmann::json summary = nlohmann::json::parse(out.substr(out.rfind('{')));
    EXPECT_EQ(summary["queries"], 56);
    EXPECT_EQ(summary["missing"], 0);
    EXPECT_GE(summary["reused"].get<int>(), int(kept) - 2);  // less the config line and perhaps a cut one
    EXPECT_EQ(summary["reused"].get<int>() + summary["decided_now"].get<int>(), 56);
    std::map<std::string, int> occurrences;
    const auto resumed = answers(results, &occurrences);
    for (const auto& [key, n] : occurrences) EXPECT_EQ(n, 1) << key << " was decided " << n << " times";

    ASSERT_EQ(run_cli(args + d.file("whole"), &out, &err), 0) << err;
    EXPECT_EQ(resumed, answers(d.file("whole/results.jsonl")));
    EXPECT_EQ(resumed.size(), 56u);
}

// mpirun -np 2: the queries are spread over two ranks and merged; the answers are those
// of one process (verdicts, accuracies, error bounds, the synthesized bits and the synth
// point's answers), each query decided once, and no rank's file is left behind.
TEST(SweepCli, TwoMpiRanksGiveTheAnswersOfOne) {
    if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "skipped: mpirun not installed (openmpi-bin)";
    TempDir d;
    const std::string args = "sweep " + ex("fashion_mlp.onnx") + fashion_data() +
                             " --bits 2:5 --samples 0:8 --eps 1 --timeout 60 --bound-samples 3 --bound-splits 1 --bound-timeout 60"
                             " --synth --synth-timeout 30 --jobs 1 --json --report ";
    std::string out, err;
    ASSERT_EQ(run_cli(args + d.file("one"), &out, &err), 0) << err;
    const std::string mpirun = "mpirun --allow-run-as-root --oversubscribe -np 2 " + std::string(QCERT_CLI) + " " + args +
                               d.file("two") + " >" + d.file("two.out") + " 2>" + d.file("two.err");
    ASSERT_EQ(std::system(mpirun.c_str()), 0) << lines_of(d.file("two.err")).size();
    const std::vector<std::string> printed = lines_of(d.file("two.out"));
    ASSERT_FALSE(printed.empty());
    const nlohmann::json summary = nlohmann::json::parse(printed.back());
    // the synthesis, then for the 4 widths and the synth point: accuracy, 8 robustness queries, 3 bounds
    const int queries = 1 + 5 * (1 + 8 + 3);
    EXPECT_EQ(summary["queries"], queries);
    EXPECT_EQ(summary["decided_now"], queries);
    EXPECT_EQ(summary["missing"], 0);
    EXPECT_EQ(int(printed.size()), queries + 1);  // every record once, from rank 0, then the summary
    std::map<std::string, int> occurrences;
    const auto two = answers(d.file("two/results.jsonl"), &occurrences);
    for (const auto& [key, n] : occurrences) EXPECT_EQ(n, 1) << key;
    EXPECT_EQ(two, answers(d.file("one/results.jsonl")));
    EXPECT_EQ(int(two.size()), queries);
    EXPECT_EQ(std::count_if(two.begin(), two.end(), [](const auto& kv) { return kv.first.rfind("bound:", 0) == 0; }), 5 * 3);
    EXPECT_EQ(std::count_if(two.begin(), two.end(), [](const auto& kv) { return kv.first.rfind("robust:synth:", 0) == 0; }), 8);
    for (const auto& [key, answer] : two) EXPECT_NE(answer, "unknown") << key;  // all decided: the comparison is exact
    for (const auto& e : std::filesystem::directory_iterator(d.file("two")))
        EXPECT_EQ(e.path().filename().string().find("rank"), std::string::npos) << e.path();
}

// A distributed run killed before rank 0 merged: its rank files are merged by the next
// run (here a single process), which then has nothing left to decide.
TEST(SweepCli, LeftoverRankFilesAreMergedFirst) {
    TempDir d;
    const std::string args = "sweep " + ex("two_input_relu.onnx") + two_input_data() +
                             " --schemes fixed --bits 3:4 --samples 0:3 --params-timeout 5 --json --report ";
    std::string out, err;
    ASSERT_EQ(run_cli(args + d.file("a"), &out, &err), 0) << err;
    std::filesystem::create_directories(d.file("b"));
    std::filesystem::copy_file(d.file("a/results.jsonl"), d.file("b/results.rank-1.jsonl"));
    ASSERT_EQ(run_cli(args + d.file("b"), &out, &err), 0) << err;
    const nlohmann::json summary = nlohmann::json::parse(out.substr(out.rfind('{')));
    EXPECT_EQ(summary["decided_now"], 0);
    EXPECT_EQ(summary["reused"], 14);
    EXPECT_FALSE(std::filesystem::exists(d.file("b/results.rank-1.jsonl")));
    EXPECT_EQ(answers(d.file("b/results.jsonl")), answers(d.file("a/results.jsonl")));
}
