// Bound propagation as verification methods: sound and fast, but incomplete.
//
//   interval  proves a query with exact interval bounds only;
//   symbolic  with the back-substituted symbolic bounds (src/bounds/symbolic.cpp).
// Each answers Holds when every disjunct of the unsafe set has a constraint that no
// input of the box satisfies, and Unknown ("incomplete: bounds inconclusive") otherwise.
#pragma once

#include "qcert/method.hpp"

#include <memory>

namespace qcert {

std::unique_ptr<Method> make_interval_method();
std::unique_ptr<Method> make_symbolic_method();

}  // namespace qcert
