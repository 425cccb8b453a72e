// The "boolector" method: the bit-vector encoding (bv_encoding.hpp) written as
// SMT-LIB 2 text and decided by the Boolector executable in a child process.
#pragma once

#include "backends/bv_encoding.hpp"
#include "qcert/method.hpp"

#include <memory>
#include <string>

namespace qcert {

// Complete. `binary` is looked up on PATH unless it contains a '/'; when it cannot
// be run, every query is Unknown with reason "boolector not installed". The child
// runs in its own process group, killed when the budget expires or is cancelled.
std::unique_ptr<Method> make_boolector_method(const std::string& binary = "boolector", const bv::SmtOptions& options = {});

}  // namespace qcert
