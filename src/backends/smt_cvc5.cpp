// The cvc5 back end: the encoding's nodes become cvc5 terms one by one.
//
// cvc5 1.0 has no interrupt, and freeing a large solver takes seconds after its
// time limit, so the solver runs in a forked child process: the parent kills it
// at once when the budget expires or is cancelled, and the answer comes back as
// text through a pipe. The child is a copy of this process with one thread; it
// only uses cvc5 (never used in the parent) and ends with _exit.
#include "backends/smt_cvc5.hpp"

#include "backends/bv_encoding.hpp"

#include <cvc5/cvc5.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace qcert {

namespace {

using bv::Node;
using bv::Op;

cvc5::Kind kind_of(Op op) {
    switch (op) {
        case Op::Add: return cvc5::BITVECTOR_ADD;
        case Op::Mul: return cvc5::BITVECTOR_MULT;
        case Op::Sdiv: return cvc5::BITVECTOR_SDIV;
        case Op::Srem: return cvc5::BITVECTOR_SREM;
        case Op::Ite: return cvc5::ITE;
        case Op::Slt: return cvc5::BITVECTOR_SLT;
        case Op::Sle: return cvc5::BITVECTOR_SLE;
        case Op::Ule: return cvc5::BITVECTOR_ULE;
        case Op::Eq: return cvc5::EQUAL;
        case Op::And: return cvc5::AND;
        case Op::Or: return cvc5::OR;
        case Op::Not: return cvc5::NOT;
        default: return cvc5::UNDEFINED_KIND;
    }
}

cvc5::Term make_term(cvc5::Solver& s, const Node& n, const std::vector<cvc5::Term>& args) {
    switch (n.op) {
        case Op::BoolConst: return s.mkBoolean(n.value != 0);
        case Op::BvConst: return s.mkBitVector(uint32_t(n.width), bv::unsigned_decimal(n.value, n.width), 10);
        case Op::Input: return s.mkConst(s.mkBitVectorSort(uint32_t(n.width)), "x" + std::to_string(n.a));
        case Op::ZeroExt: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_ZERO_EXTEND, {uint32_t(n.a)}), args);
        case Op::SignExt: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_SIGN_EXTEND, {uint32_t(n.a)}), args);
        case Op::Extract: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_EXTRACT, {uint32_t(n.a), uint32_t(n.b)}), args);
        default: return s.mkTerm(kind_of(n.op), args);
    }
}

// The unsigned value of a bit-vector constant (widths of inputs stay below 64).
uint64_t value_of(const cvc5::Term& t) {
    uint64_t v = 0;
    for (char c : t.getBitVectorValue(2)) v = 2 * v + uint64_t(c == '1');
    return v;
}

bv::SolverAnswer solve(const bv::Encoding& e, const Budget& budget) {
    bv::SolverAnswer ans;
    cvc5::Solver s;
    s.setLogic("QF_BV");
    s.setOption("produce-models", "true");
    // Eager bit-blasting: one SAT problem up front. On these encodings (adders,
    // constant multiplications, comparisons) it is several times faster than the
    // default lazy mode.
    s.setOption("bitblast", "eager");
    const double left = budget.seconds_left();
    if (left < 1e9) s.setOption("tlimit-per", std::to_string(std::max<int64_t>(1, int64_t(std::ceil(left * 1000)))));
    const std::vector<cvc5::Term> terms =
        bv::lower<cvc5::Term>(e, cvc5::Term(), [&](const Node& n, const std::vector<cvc5::Term>& args) { return make_term(s, n, args); });
    for (int a : e.assertions) s.assertFormula(terms[a]);
    const cvc5::Result r = s.checkSat();
    if (r.isUnsat()) {
        ans.status = bv::SolverAnswer::Unsat;
    } else if (r.isSat()) {
        ans.status = bv::SolverAnswer::Sat;
        ans.input = e.decode([&](int j) { return value_of(s.getValue(terms[e.input_node[j]])); });
    } else if (r.getUnknownExplanation() == cvc5::TIMEOUT || budget.expired()) {
        ans.reason = "timeout";
    } else {
        std::ostringstream os;
        os << "cvc5: " << r.getUnknownExplanation();
        ans.reason = os.str();
    }
    return ans;
}

bv::SolverAnswer solve_guarded(const bv::Encoding& e, const Budget& budget) {
    try {
        return solve(e, budget);
    } catch (const cvc5::CVC5ApiException& ex) {
        bv::SolverAnswer a;
        a.reason = std::string("cvc5: ") + ex.what();
        return a;
    }
}

// The answer as one line: "unsat", "sat x0 x1 ...", or "unknown REASON".
std::string serialize(const bv::SolverAnswer& a) {
    std::string s;
    switch (a.status) {
        case bv::SolverAnswer::Unsat: s = "unsat"; break;
        case bv::SolverAnswer::Sat:
            s = "sat";
            for (int64_t v : a.input) s += " " + std::to_string(v);
            break;
        case bv::SolverAnswer::Unknown: s = "unknown " + a.reason; break;
    }
    return s + "\n";
}

bv::SolverAnswer parse(const std::string& text) {
    bv::SolverAnswer a;
    std::istringstream in(text);
    std::string status;
    in >> status;
    if (status == "unsat") {
        a.status = bv::SolverAnswer::Unsat;
    } else if (status == "sat") {
        a.status = bv::SolverAnswer::Sat;
        for (int64_t v; in >> v;) a.input.push_back(v);
    } else if (status == "unknown") {
        std::getline(in >> std::ws, a.reason);
    } else {
        a.reason = "cvc5: the solver process gave no answer";
    }
    return a;
}

[[noreturn]] void child_main(int fd, const bv::Encoding& e, const Budget& budget) {
    const std::string out = serialize(solve_guarded(e, budget));
    for (size_t done = 0; done < out.size();) {
        const ssize_t n = write(fd, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += size_t(n);
    }
    _exit(0);  // no destructors: the kernel frees the solver's memory at once
}

void drain(int fd, std::string& into) {
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) into.append(buf, size_t(n));
        else if (n < 0 && errno == EINTR) continue;
        else break;  // EOF, or EAGAIN: nothing more for now
    }
}

bv::SolverAnswer solve_in_child(const bv::Encoding& e, const Budget& budget) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return solve_guarded(e, budget);
    const pid_t pid = fork();
    if (pid < 0) {  // no process to spare: solve here, without cancellation
        close(fds[0]);
        close(fds[1]);
        return solve_guarded(e, budget);
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], e, budget);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    std::string text;
    int status = 0;
    bool exited = false;
    // The child's exit, not the pipe's end, says it is done: a child forked
    // meanwhile by another thread may hold a copy of the pipe's write end.
    for (;;) {
        pollfd p{fds[0], POLLIN, 0};
        poll(&p, 1, 20);
        drain(fds[0], text);
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            drain(fds[0], text);
            break;
        }
        if (budget.expired()) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
    }
    close(fds[0]);
    bv::SolverAnswer a;
    if (!exited) a.reason = "timeout";
    else if (WIFSIGNALED(status)) a.reason = "cvc5: the solver process died (signal " + std::to_string(WTERMSIG(status)) + ")";
    else a = parse(text);
    return a;
}

class Cvc5Method : public Method {
public:
    explicit Cvc5Method(bv::SmtOptions options) : options_(options) {}
    std::string name() const override { return "cvc5"; }
    bool complete() const override { return true; }
    Outcome run(const IntQuery& q, const Budget& budget) override {
        return bv::run_smt(name(), q, budget, options_, solve_in_child);
    }

private:
    bv::SmtOptions options_;
};

}  // namespace

std::unique_ptr<Method> make_cvc5_method(const bv::SmtOptions& options) { return std::make_unique<Cvc5Method>(options); }

}  // namespace qcert
