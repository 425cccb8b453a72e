// One interface for every way of deciding an IntQuery: bound propagation,
// counterexample search, branch and bound, and the complete solver back ends
// (MILP through CBC, SMT through cvc5 / Z3 / Boolector).
//
// A method answers Holds only when it has proved the query (sound), Violated only
// with a counterexample that `confirms` re-checked on the exact semantics, and
// otherwise Unknown with a reason. It must return soon after the budget expires.
#pragma once

#include "qcert/property.hpp"

#include <memory>
#include <string>
#include <vector>

namespace qcert {

class Method {
public:
    virtual ~Method() = default;
    virtual std::string name() const = 0;
    // True when Unknown can only mean the budget ran out (the method is complete).
    virtual bool complete() const = 0;
    virtual Outcome run(const IntQuery& q, const Budget& budget) = 0;
};

// By name: interval, symbolic, attack, bab, milp, milp-relax, milp-obbt, cvc5, z3, boolector.
// Throws InputError for an unknown name.
std::unique_ptr<Method> make_method(const std::string& name);
std::vector<std::string> method_names();

}  // namespace qcert
