// The portfolio: sound cheap methods, then the counterexample search, then the
// complete methods (in parallel when there are threads), first definitive answer wins.
#include "qcert/error.hpp"
#include "qcert/verify.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace qcert {

namespace {

const std::vector<std::string> kDefault = {"interval", "symbolic", "attack", "milp-relax", "bab"};

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs one method, turning its failures into Unknown and re-checking Violated.
Outcome run_checked(Method& m, const IntQuery& q, const Budget& b) {
    Outcome o;
    try {
        o = m.run(q, b);
    } catch (const InputError& e) {
        o = Outcome{};
        o.reason = e.what();
    } catch (const std::bad_alloc&) {
        o = Outcome{};
        o.reason = "memory";
    }
    if (o.method.empty()) o.method = m.name();
    if (o.verdict == Verdict::Violated && !confirms(q, o.counterexample)) {
        std::fprintf(stderr, "qcert: internal error: a counterexample from %s did not re-check; ignored\n", m.name().c_str());
        o = Outcome{};
        o.method = m.name();
        o.reason = "counterexample did not re-check";
    }
    if (o.verdict == Verdict::Unknown && o.reason.empty()) o.reason = b.expired() ? "timeout" : "incomplete method";
    return o;
}

bool definitive(const Outcome& o) { return o.verdict == Verdict::Holds || o.verdict == Verdict::Violated; }

}  // namespace

Outcome decide(const IntQuery& q, const VerifyOptions& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    std::atomic<bool> cancel{false};
    const Budget budget = Budget::seconds(opt.timeout_s, &cancel);
    std::vector<std::unique_ptr<Method>> incomplete, complete;
    for (const std::string& n : opt.methods.empty() ? kDefault : opt.methods) {
        auto m = make_method(n);
        (m->complete() ? complete : incomplete).push_back(std::move(m));
    }
    Outcome last;
    std::string reasons;
    auto note = [&](const Outcome& o) {
        last = o;
        reasons += (reasons.empty() ? "" : "; ") + o.method + ": " + o.reason;
    };
    for (auto& m : incomplete) {
        if (budget.expired()) break;
        Outcome o = run_checked(*m, q, budget);
        if (definitive(o)) { o.time_s = since(t0); return o; }
        note(o);
    }
    const unsigned threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
    if (!complete.empty() && !budget.expired()) {
        if (threads <= 1 || complete.size() == 1) {
            for (auto& m : complete) {
                if (budget.expired()) break;
                Outcome o = run_checked(*m, q, budget);
                if (definitive(o)) { o.time_s = since(t0); return o; }
                note(o);
            }
        } else {
            std::mutex mu;
            std::optional<Outcome> win;
            std::vector<std::thread> pool;
            for (auto& m : complete)
                pool.emplace_back([&, mp = m.get()] {
                    Outcome o = run_checked(*mp, q, budget);
                    std::lock_guard<std::mutex> g(mu);
                    if (definitive(o)) {
                        if (!win) win = o;
                        cancel = true;
                    } else {
                        note(o);
                    }
                });
            for (auto& t : pool) t.join();
            if (win) { win->time_s = since(t0); return *win; }
        }
    }
    Outcome o;
    o.verdict = Verdict::Unknown;
    o.method = "portfolio";
    o.reason = budget.expired() ? "timeout (" + reasons + ")" : reasons;
    o.time_s = since(t0);
    return o;
}

}  // namespace qcert
