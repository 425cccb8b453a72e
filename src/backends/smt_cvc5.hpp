// The "cvc5" method: the bit-vector encoding (bv_encoding.hpp) decided by cvc5
// through its C++ API.
#pragma once

#include "backends/bv_encoding.hpp"
#include "qcert/method.hpp"

#include <memory>

namespace qcert {

// Complete. The deadline becomes cvc5's per-check time limit (tlimit-per); cvc5
// 1.0 has no interrupt, so a raised cancel flag is only seen before the check.
std::unique_ptr<Method> make_cvc5_method(const bv::SmtOptions& options = {});

}  // namespace qcert
