// The "cvc5" method: the bit-vector encoding (bv_encoding.hpp) decided by cvc5
// through its C++ API.
#pragma once

#include "backends/bv_encoding.hpp"
#include "qcert/method.hpp"

#include <memory>

namespace qcert {

// Complete. cvc5 runs in a forked child process with the deadline as its
// per-check time limit (tlimit-per); the child is killed as soon as the budget
// expires or its cancel flag is raised (cvc5 1.0 has no interrupt).
std::unique_ptr<Method> make_cvc5_method(const bv::SmtOptions& options = {});

}  // namespace qcert
