// Branch and bound over the integer input box: complete on its own, since the box
// is finite and a box of one point is decided by running the network on it.
//
// Each box is bounded with the symbolic bounds; a box where every disjunct of the
// unsafe set has an infeasible constraint is pruned. Otherwise the centre and the
// vertex minimising the most promising constraint's linear bound are tried (a hit
// is re-checked with `confirms`), and the box is split at the midpoint of the
// input with the largest |coefficient| x width in the back-substituted bound of the
// hardest live disjunct. Depth first, on a work stack shared by the threads.
#pragma once

#include "qcert/method.hpp"

#include <cstdint>
#include <memory>

namespace qcert {

struct BabOptions {
    unsigned threads = 0;    // 0: both cores (at most 2)
    int64_t max_nodes = 0;   // 0: no limit other than the budget ("node limit" when reached)
};

std::unique_ptr<Method> make_bab_method();
std::unique_ptr<Method> make_bab_method(const BabOptions& options);

}  // namespace qcert
