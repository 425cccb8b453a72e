// The methods by name.
#include "attack/attack.hpp"
#include "backends/bab.hpp"
#include "backends/bounds_method.hpp"
#include "backends/milp.hpp"
#include "backends/smt_boolector.hpp"
#include "backends/smt_cvc5.hpp"
#include "backends/smt_z3.hpp"
#include "qcert/error.hpp"
#include "qcert/method.hpp"

#include <functional>
#include <map>

namespace qcert {

namespace {

const std::map<std::string, std::function<std::unique_ptr<Method>()>>& registry() {
    static const std::map<std::string, std::function<std::unique_ptr<Method>()>> r = {
        {"interval", [] { return make_interval_method(); }},
        {"symbolic", [] { return make_symbolic_method(); }},
        {"attack", [] { return make_attack_method(); }},
        {"bab", [] { return make_bab_method(); }},
        {"milp", [] { return make_milp_method(); }},
        {"milp-obbt", [] {
             MilpOptions o;
             o.tighten_rounds = 2;
             return make_milp_method(o);
         }},
        {"milp-relax", [] {
             MilpOptions o;
             o.relax_inputs = true;
             return make_milp_method(o);
         }},
        {"cvc5", [] { return make_cvc5_method(); }},
        {"z3", [] { return make_z3_method(); }},
        {"boolector", [] { return make_boolector_method(); }},
    };
    return r;
}

}  // namespace

std::unique_ptr<Method> make_method(const std::string& name) {
    auto it = registry().find(name);
    if (it == registry().end()) {
        std::string names;
        for (const auto& [n, f] : registry()) names += (names.empty() ? "" : ", ") + n;
        throw InputError("--method", "unknown method '" + name + "' (" + names + ")");
    }
    return it->second();
}

std::vector<std::string> method_names() {
    std::vector<std::string> v;
    for (const auto& [n, f] : registry()) v.push_back(n);
    return v;
}

}  // namespace qcert
