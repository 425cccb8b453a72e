// The "attack" Method: counterexample search on the integer network.
#include "attack/attack.hpp"

#include "attack/search.hpp"

#include <chrono>

namespace qcert {

Outcome run_attack(const IntQuery& q, const Budget& budget, const AttackOptions& opt, AttackStats* stats) {
    const auto t0 = std::chrono::steady_clock::now();
    attack::Search s(q, budget, opt);
    Outcome o;
    o.method = "attack";
    if (s.run()) {
        o.verdict = Verdict::Violated;
        o.counterexample = s.counterexample();
    } else {
        o.verdict = Verdict::Unknown;
        o.reason = "incomplete: no counterexample found";
    }
    if (stats) *stats = s.stats();
    o.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return o;
}

namespace {

class AttackMethod final : public Method {
public:
    explicit AttackMethod(const AttackOptions& opt) : opt_(opt) {}
    std::string name() const override { return "attack"; }
    bool complete() const override { return false; }
    Outcome run(const IntQuery& q, const Budget& budget) override { return run_attack(q, budget, opt_); }

private:
    AttackOptions opt_;
};

}  // namespace

std::unique_ptr<Method> make_attack_method() { return make_attack_method(AttackOptions{}); }

std::unique_ptr<Method> make_attack_method(const AttackOptions& opt) { return std::make_unique<AttackMethod>(opt); }

}  // namespace qcert
