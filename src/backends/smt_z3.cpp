// The Z3 back end: the encoding's nodes become Z3 expressions one by one; a
// watcher thread interrupts the context when the budget runs out or is cancelled.
#include "backends/smt_z3.hpp"

#include "backends/bv_encoding.hpp"

#include <z3++.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace qcert {

namespace {

using bv::Node;
using bv::Op;

z3::expr make_expr(z3::context& c, const Node& n, const std::vector<z3::expr>& a) {
    switch (n.op) {
        case Op::BoolConst: return c.bool_val(n.value != 0);
        case Op::BvConst: return c.bv_val(bv::unsigned_decimal(n.value, n.width).c_str(), unsigned(n.width));
        case Op::Input: return c.bv_const(("x" + std::to_string(n.a)).c_str(), unsigned(n.width));
        case Op::ZeroExt: return z3::zext(a[0], unsigned(n.a));
        case Op::SignExt: return z3::sext(a[0], unsigned(n.a));
        case Op::Extract: return a[0].extract(unsigned(n.a), unsigned(n.b));
        case Op::Add: return a[0] + a[1];
        case Op::Mul: return a[0] * a[1];
        case Op::Sdiv: return a[0] / a[1];  // signed division on bit-vectors
        case Op::Srem: return z3::srem(a[0], a[1]);
        case Op::Ite: return z3::ite(a[0], a[1], a[2]);
        case Op::Slt: return a[0] < a[1];    // signed on bit-vectors
        case Op::Sle: return a[0] <= a[1];
        case Op::Ule: return z3::ule(a[0], a[1]);
        case Op::Eq: return a[0] == a[1];
        case Op::Not: return !a[0];
        case Op::And:
        case Op::Or: {
            z3::expr_vector v(c);
            for (const z3::expr& x : a) v.push_back(x);
            return n.op == Op::And ? z3::mk_and(v) : z3::mk_or(v);
        }
    }
    return c.bool_val(false);
}

// Interrupts `ctx` once the budget expires, and again every 10 ms until stop() is
// called: Z3's interrupt only reaches a check that is already running, so one raised
// just before check() starts (a cancel while the solver is being set up) is lost.
class Watcher {
public:
    Watcher(z3::context& ctx, const Budget& budget)
        : thread_([this, &ctx, &budget] {
              std::unique_lock lock(m_);
              while (!done_) {
                  if (budget.expired()) ctx.interrupt();
                  cv_.wait_for(lock, std::chrono::milliseconds(10));
              }
          }) {}
    ~Watcher() { stop(); }
    void stop() {
        {
            std::lock_guard lock(m_);
            done_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

bv::SolverAnswer solve(const bv::Encoding& e, const Budget& budget) {
    bv::SolverAnswer ans;
    z3::context ctx;
    z3::solver s(ctx, "QF_BV");
    const double left = budget.seconds_left();
    if (left < 4e6) s.set("timeout", unsigned(std::max(1.0, std::ceil(left * 1000))));
    const std::vector<z3::expr> terms = bv::lower<z3::expr>(
        e, ctx.bool_val(false), [&](const Node& n, const std::vector<z3::expr>& args) { return make_expr(ctx, n, args); });
    for (int a : e.assertions) s.add(terms[a]);
    z3::check_result r;
    {
        Watcher watcher(ctx, budget);
        r = s.check();
        watcher.stop();  // before reading the model: an interrupt would cancel that too
    }
    if (r == z3::unsat) {
        ans.status = bv::SolverAnswer::Unsat;
    } else if (r == z3::sat) {
        const z3::model m = s.get_model();
        ans.status = bv::SolverAnswer::Sat;
        ans.input = e.decode([&](int j) { return m.eval(terms[e.input_node[j]], true).get_numeral_uint64(); });
    } else {
        const std::string why = s.reason_unknown();
        ans.reason = budget.expired() || why == "timeout" || why == "canceled" ? "timeout" : "z3: " + why;
    }
    return ans;
}

class Z3Method : public Method {
public:
    explicit Z3Method(bv::SmtOptions options) : options_(options) {}
    std::string name() const override { return "z3"; }
    bool complete() const override { return true; }
    Outcome run(const IntQuery& q, const Budget& budget) override {
        return bv::run_smt(name(), q, budget, options_, [](const bv::Encoding& e, const Budget& b) {
            try {
                return solve(e, b);
            } catch (const z3::exception& ex) {  // not a std::exception
                bv::SolverAnswer a;
                a.reason = b.expired() ? "timeout" : std::string("z3: ") + ex.msg();
                return a;
            }
        });
    }

private:
    bv::SmtOptions options_;
};

}  // namespace

std::unique_ptr<Method> make_z3_method(const bv::SmtOptions& options) { return std::make_unique<Z3Method>(options); }

}  // namespace qcert
