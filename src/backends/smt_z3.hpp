// The "z3" method: the bit-vector encoding (bv_encoding.hpp) decided by Z3
// through its C++ API.
#pragma once

#include "backends/bv_encoding.hpp"
#include "qcert/method.hpp"

#include <memory>

namespace qcert {

// Complete. The deadline becomes Z3's timeout; a watcher thread interrupts the
// context when the budget's cancel flag is raised.
std::unique_ptr<Method> make_z3_method(const bv::SmtOptions& options = {});

}  // namespace qcert
