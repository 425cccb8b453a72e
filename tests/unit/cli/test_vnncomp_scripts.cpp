// The VNN-COMP tool scripts (vnncomp/): the competition's calling convention around
// `qcert verify --vnnlib --cex`.
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using qcert::test::TempDir;

namespace {

int run(const TempDir& d, const std::string& env, const std::string& script, const std::string& args) {
    const std::string cmd = "QCERT=" + std::string(QCERT_CLI) + " QCERT_VNNCOMP_CACHE=" + d.file("cache") + " " + env + " bash " +
                            qcert::test::source_dir() + "/vnncomp/" + script + " " + args + " >>" + d.file("log") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const std::string kScheme = "QCERT_SCHEME=fixed:w=s8.4,b=s8.4,a=s12.6,i=u8.8";

}  // namespace

TEST(VnncompScripts, CompressedInstanceGivesTheAnswerOfQcertVerify) {
    TempDir d;
    const std::string ex = qcert::test::source_dir() + "/examples/";
    ASSERT_EQ(std::system(("gzip -c " + ex + "two_input_relu.onnx >" + d.file("net.onnx.gz")).c_str()), 0);
    ASSERT_EQ(std::system(("gzip -c " + ex + "two_input_region.vnnlib >" + d.file("prop.vnnlib.gz")).c_str()), 0);
    const std::string instance = "v1 test " + d.file("net.onnx.gz") + " " + d.file("prop.vnnlib.gz");
    ASSERT_EQ(run(d, kScheme, "prepare_instance.sh", instance), 0) << qcert::test::read_file(d.file("log"));
    ASSERT_EQ(run(d, kScheme, "run_instance.sh", instance + " " + d.file("result.txt") + " 30"), 0) << qcert::test::read_file(d.file("log"));
    const std::string direct = std::string(QCERT_CLI) + " verify " + ex + "two_input_relu.onnx --scheme fixed:w=s8.4,b=s8.4,a=s12.6,i=u8.8 --vnnlib " +
                               ex + "two_input_region.vnnlib --cex " + d.file("direct.txt") + " >/dev/null";
    ASSERT_EQ(std::system(direct.c_str()), 0);
    EXPECT_EQ(qcert::test::read_file(d.file("result.txt")), qcert::test::read_file(d.file("direct.txt")));
    EXPECT_EQ(qcert::test::read_file(d.file("result.txt")).substr(0, 5), "unsat");
}

TEST(VnncompScripts, WrongVersionOrUnusableModelIsRefused) {
    TempDir d;
    const std::string ex = qcert::test::source_dir() + "/examples/";
    EXPECT_EQ(run(d, kScheme, "prepare_instance.sh", "v2 test " + ex + "two_input_relu.onnx " + ex + "two_input_region.vnnlib"), 1);
    // A float model and no scheme: nothing to verify exactly, the instance is skipped.
    EXPECT_NE(run(d, "QCERT_SCHEME=", "prepare_instance.sh", "v1 test " + ex + "two_input_relu.onnx " + ex + "two_input_region.vnnlib"), 0);
    // run_instance still writes a result the harness can read.
    EXPECT_EQ(run(d, "QCERT_SCHEME=", "run_instance.sh",
                  "v1 test " + ex + "two_input_relu.onnx " + ex + "two_input_region.vnnlib " + d.file("r.txt") + " 10"),
              0);
    EXPECT_EQ(qcert::test::read_file(d.file("r.txt")), "error\n");
}
