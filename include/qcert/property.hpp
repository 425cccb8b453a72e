// Properties of a network's outputs, and verification queries on the exact
// integer semantics.
//
// A property is given by its UNSAFE set, as VNN-LIB does: a disjunction of
// conjunctions of linear constraints over the outputs. A query asks whether some
// input of a box reaches the unsafe set: "violated" with that input, or "holds".
#pragma once

#include "qcert/quant.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qcert {

// sum_i c_i y_i <= rhs, or < rhs when strict; y are the real-valued outputs.
struct LinearConstraint {
    std::vector<std::pair<int64_t, double>> terms;
    double rhs = 0.0;
    bool strict = false;
    bool satisfied(const Vec& y) const;
};

struct OutputProperty {
    std::vector<std::vector<LinearConstraint>> unsafe;  // OR of ANDs
    bool is_unsafe(const Vec& y) const;

    // Robustness for `label` with argmax ties going to the lowest index: unsafe when
    // some j > label has y_j > y_label, or some j < label has y_j >= y_label.
    static OutputProperty misclassified(int64_t outputs, int64_t label);
};

// sum_i a_i q_i <= rhs over the integer outputs q of an IntNetwork.
struct IntConstraint {
    std::vector<std::pair<int64_t, int64_t>> terms;
    int64_t rhs = 0;
    bool satisfied(const std::vector<int64_t>& q) const;
};

using IntUnsafe = std::vector<std::vector<IntConstraint>>;  // OR of ANDs

// The exact integer form of a property over the dequantized outputs
// (q - out_zero) * out_scale; strict constraints become <= rhs - 1 after scaling to
// integers. Throws InputError when the coefficients do not scale to int64.
IntUnsafe to_integer(const OutputProperty& p, const IntNetwork& net);
bool is_unsafe(const IntUnsafe& u, const std::vector<int64_t>& q);

// A verification query on the integer semantics: does some integer input x with
// lo <= x <= hi (elementwise) reach `unsafe`?
struct IntQuery {
    const IntNetwork* net = nullptr;
    std::vector<int64_t> lo, hi;
    IntUnsafe unsafe;

    // The box of integer inputs within `eps` of x in every coordinate, clipped to the input range.
    static IntQuery linf_ball(const IntNetwork& net, const std::vector<int64_t>& x, int64_t eps, IntUnsafe unsafe);
};

enum class Verdict { Holds, Violated, Unknown, Misclassified };
const char* verdict_name(Verdict v);

struct Outcome {
    Verdict verdict = Verdict::Unknown;
    std::vector<int64_t> counterexample;  // for Violated: an input, re-checked by IntNetwork::eval
    std::string method;                   // which method decided
    std::string reason;                   // for Unknown: timeout, memory, incomplete method, ...
    double time_s = 0.0;
};

// When to stop: a deadline and a flag another thread may raise.
struct Budget {
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    const std::atomic<bool>* cancel = nullptr;
    bool expired() const;
    double seconds_left() const;
    static Budget seconds(double s, const std::atomic<bool>* cancel = nullptr);
};

// Re-checks a claimed counterexample on the exact semantics.
bool confirms(const IntQuery& q, const std::vector<int64_t>& x);

}  // namespace qcert
