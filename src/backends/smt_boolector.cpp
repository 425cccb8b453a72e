// The Boolector back end: Boolector 1.5 (Debian's /usr/bin/boolector) reads
// SMT-LIB 2 with --smt2 but not define-fun or get-value, so the encoding is
// printed with declared names for shared terms (to_smtlib2) and the model comes
// from -m, one "name bits" line per declared constant. Exit code 10 is sat, 20 unsat.
#include "backends/smt_boolector.hpp"

#include "backends/bv_encoding.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace qcert {

namespace {

// A fresh temporary file, removed when the object dies.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& suffix) {
        std::string tmpl = (std::filesystem::temp_directory_path() / ("qcert-btor-XXXXXX" + suffix)).string();
        const int fd = mkstemps(tmpl.data(), int(suffix.size()));
        if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + tmpl);
        close(fd);
        path = tmpl;
    }
    ~TempFile() { std::remove(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

struct ChildResult {
    bool started = false, killed = false;
    int exit_code = -1;
};

// Runs argv with stdout and stderr to files, in its own process group (Boolector
// may fork a SAT solver), killing the whole group when the budget expires.
ChildResult run_child(const std::vector<std::string>& argv, const std::string& out, const std::string& err,
                      const Budget& budget) {
    ChildResult res;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_TRUNC, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return res;
    res.started = true;
    auto pause = std::chrono::microseconds(500);
    for (;;) {
        int status = 0;
        const pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        if (w < 0 && errno != EINTR) break;
        if (budget.expired()) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            res.killed = true;
            break;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));  // short queries answer fast
    }
    return res;
}

// The first line is sat / unsat / unknown; with -m, "x<j> <bits>" lines follow.
bv::SolverAnswer parse_output(const bv::Encoding& e, const std::string& text) {
    bv::SolverAnswer ans;
    std::istringstream in(text);
    std::string status;
    in >> status;
    if (status == "unsat") {
        ans.status = bv::SolverAnswer::Unsat;
        return ans;
    }
    if (status != "sat") {
        ans.reason = "boolector: " + (status.empty() ? std::string("no answer") : status);
        return ans;
    }
    std::map<std::string, uint64_t> model;
    std::string name, bits;
    while (in >> name >> bits) {
        uint64_t v = 0;
        for (char c : bits) v = 2 * v + uint64_t(c == '1');
        model[name] = v;
    }
    bool complete = true;
    ans.input = e.decode([&](int j) {
        const auto it = model.find("x" + std::to_string(j));
        if (it == model.end()) {
            complete = false;
            return uint64_t(0);
        }
        return it->second;
    });
    if (complete) ans.status = bv::SolverAnswer::Sat;
    else ans.reason = "boolector: the model misses an input";
    return ans;
}

class BoolectorMethod : public Method {
public:
    BoolectorMethod(std::string binary, bv::SmtOptions options) : binary_(std::move(binary)), options_(options) {}
    std::string name() const override { return "boolector"; }
    bool complete() const override { return true; }
    Outcome run(const IntQuery& q, const Budget& budget) override {
        return bv::run_smt(name(), q, budget, options_, [this](const bv::Encoding& e, const Budget& b) { return solve(e, b); });
    }

private:
    std::string binary_;
    bv::SmtOptions options_;

    bv::SolverAnswer solve(const bv::Encoding& e, const Budget& budget) const {
        bv::SolverAnswer ans;
        TempFile problem(".smt2"), out(".out"), err(".err");
        {
            std::ofstream f(problem.path, std::ios::binary);
            f << bv::to_smtlib2(e);
            if (!f) {
                ans.reason = "cannot write " + problem.path;
                return ans;
            }
        }
        std::vector<std::string> argv = {binary_, "--smt2", "-m"};
        const double left = budget.seconds_left();
        if (left < 1e6) {  // Boolector's own limit, as a backstop to the kill below
            argv.push_back("-t");
            argv.push_back(std::to_string(int64_t(std::ceil(left)) + 1));
        }
        argv.push_back(problem.path);
        const ChildResult r = run_child(argv, out.path, err.path, budget);
        if (!r.started) {
            ans.reason = "boolector not installed";
            return ans;
        }
        if (r.killed) {
            ans.reason = "timeout";
            return ans;
        }
        if (r.exit_code != 10 && r.exit_code != 20) {
            std::string first = slurp(err.path);
            first = first.substr(0, first.find('\n'));
            ans.reason = budget.expired() || r.exit_code == 14 /* SIGALRM: its own -t limit */ ? "timeout"
                         : "boolector: exit code " + std::to_string(r.exit_code) + (first.empty() ? "" : ": " + first);
            return ans;
        }
        return parse_output(e, slurp(out.path));
    }
};

}  // namespace

std::unique_ptr<Method> make_boolector_method(const std::string& binary, const bv::SmtOptions& options) {
    return std::make_unique<BoolectorMethod>(binary, options);
}

}  // namespace qcert
