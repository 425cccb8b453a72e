// The bit-vector encoding of an IntQuery, shared by the SMT back ends (cvc5, Z3,
// Boolector). It is built once as a solver-independent term DAG and then lowered
// to each solver's API (`lower`) or printed as SMT-LIB 2 text (`to_smtlib2`).
//
// The encoding follows Giacobbe, Henzinger, Lechner (TACAS 2020) and Henzinger,
// Lechner, Zikelic (AAAI 2021):
//   - every value has the smallest two's complement width that holds its exact
//     range over the input box, so no operation can overflow (interval bounds);
//   - each accumulator is a balanced tree of additions, zero weights skipped
//     (inputs with equal weights are summed first, then multiplied once);
//   - dead branches are removed: neurons whose output is constant over the box
//     become constants, clamps that can never trigger are dropped, constraints
//     decided by the bounds are folded.
// Inputs are unsigned offsets from the box's lower corner (x_j = lo_j + d_j), so
// the first layer multiplies weights by d_j in [0, hi_j - lo_j] (2 bits for an
// L-inf ball of radius 1) instead of by 8-bit pixels. Rescaling by 2^k is a bit
// slice of the accumulator plus a rounding offset folded into the bias.
#pragma once

#include "qcert/bounds.hpp"
#include "qcert/property.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qcert::bv {

using i128 = __int128;

enum class Op {
    BoolConst,  // value 0 or 1
    BvConst,    // value (signed, fits width)
    Input,      // the offset d_a of input a (unsigned)
    ZeroExt,    // args[0] extended by a bits
    SignExt,    // args[0] extended by a bits
    Extract,    // bits a (high) .. b (low) of args[0]
    Add, Mul,   // modulo 2^width, operands of the node's width
    Sdiv, Srem, // SMT-LIB bvsdiv / bvsrem (truncating)
    Ite,        // args[0] Boolean, then two bit-vectors
    Slt, Sle, Ule, Eq,  // Boolean comparisons of two bit-vectors of equal width
    And, Or, Not,       // Boolean connectives (And / Or take two or more args)
};

struct Node {
    Op op = Op::BoolConst;
    int width = 0;  // 0 for Boolean nodes
    int a = 0, b = 0;
    i128 value = 0;
    std::vector<int> args;  // node ids, all smaller than this node's id
};

struct Encoding {
    std::vector<Node> nodes;       // in topological order
    std::vector<bool> live;        // reachable from an assertion
    std::vector<int> assertions;   // Boolean nodes that must all hold
    // Per input coordinate: its Input node (-1 when the input is fixed or unused)
    // and the box's lower corner, so that x_j = lo_j + d_j.
    std::vector<int> input_node;
    std::vector<int64_t> input_lo;
    // Set when the bounds alone decide the query: false = no input is unsafe.
    std::optional<bool> decided;

    // Statistics (for logs and tests).
    int stable_neurons = 0;   // replaced by constants
    int dropped_clamps = 0;   // clamp sides that can never trigger
    int max_width = 0;        // widest bit-vector

    // The input for solver values of the Input nodes (value(j) = d_j as unsigned).
    std::vector<int64_t> decode(const std::function<uint64_t(int input)>& value) const;
};

// Builds the encoding: the box constraints and the unsafe set over the network's
// exact integer semantics. `bounds`, when given, must be sound for the query's box
// (e.g. symbolic bounds, tighter than intervals); by default interval_bounds().
// Throws std::overflow_error when a value needs more than 126 bits.
Encoding encode(const IntQuery& q, const IntBounds* bounds = nullptr);

// SMT-LIB 2 text (QF_BV) that Boolector 1.5 reads: only declare-fun, assert,
// check-sat and exit (no define-fun, no get-value: the model comes from -m).
// Inputs are named x<j>; shared subterms become declared names n<id> with an
// equality assertion.
std::string to_smtlib2(const Encoding& e);

// The two's complement bits of v at `width`, as an unsigned number in decimal.
std::string unsigned_decimal(i128 v, int width);

// Lowers the live nodes to a solver's terms in one pass: make(node, args) builds
// the term of a node from the terms of its arguments. Dead nodes get `dead` (some
// APIs' terms have no default constructor).
template <class Term, class Make>
std::vector<Term> lower(const Encoding& e, const Term& dead, Make&& make) {
    std::vector<Term> terms(e.nodes.size(), dead);
    std::vector<Term> args;
    for (size_t i = 0; i < e.nodes.size(); ++i) {
        if (!e.live[i]) continue;
        args.clear();
        for (int a : e.nodes[i].args) args.push_back(terms[a]);
        terms[i] = make(e.nodes[i], args);
    }
    return terms;
}

// What a solver says about an encoding.
struct SolverAnswer {
    enum Status { Sat, Unsat, Unknown } status = Unknown;
    std::vector<int64_t> input;  // for Sat: the decoded input
    std::string reason;          // for Unknown
};

struct SmtOptions {
    // Symbolic bounds (symbolic_bounds) before encoding: more neurons fixed, and
    // disjuncts they prove empty dropped. Off: interval bounds only, so that tests
    // exercise the whole encoding.
    bool presolve = true;
};

// The part every SMT back end shares: the presolve, encode, answer queries the
// bounds decide without a solver, call `solve`, and re-check a model with
// confirms(). A model that does not re-check is an encoding bug: Unknown with
// reason "model did not re-check".
Outcome run_smt(const std::string& method, const IntQuery& q, const Budget& budget, const SmtOptions& options,
                const std::function<SolverAnswer(const Encoding&, const Budget&)>& solve);

}  // namespace qcert::bv
