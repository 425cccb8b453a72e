// Helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qcert::test {

inline std::string source_dir() { return QCERT_SOURCE_DIR; }

// ../shared/benchmarks beside the repository, or "" when it is absent.
inline std::string shared_benchmarks() {
    std::filesystem::path p = std::filesystem::path(QCERT_SHARED_DIR) / "benchmarks";
    return std::filesystem::exists(p) ? p.string() : std::string();
}

// Skips the current test with a message when a third-party file is absent.
#define QCERT_REQUIRE_FILE(path)                                                      \
    do {                                                                              \
        if (!std::filesystem::exists(path))                                           \
            GTEST_SKIP() << "skipped: " << (path) << " not present (../shared absent?)"; \
    } while (0)

// A fresh temporary directory, removed when the object dies.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/qcert-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// The whole content of a file (empty when it cannot be read).
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs the qcert CLI; returns the exit code and fills `out` with stdout and `err` with stderr.
inline int run_cli(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    TempDir d;
    std::string cmd = std::string(QCERT_CLI) + " " + args + " >" + d.file("out") + " 2>" + d.file("err");
    int rc = std::system(cmd.c_str());
    if (out) *out = read_file(d.file("out"));
    if (err) *err = read_file(d.file("err"));
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace qcert::test
