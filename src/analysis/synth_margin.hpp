// The margin network of a robustness property and its evaluation (src/analysis/synth_margin.cpp).
#pragma once

#include "qcert/blocks.hpp"
#include "qcert/interval.hpp"
#include "qcert/synth.hpp"

#include <vector>

namespace qcert::synth {

// `net` (a final softmax dropped) followed by the exact layer y_label - y_j for every j != label.
// Throws InputError when the label is not an output.
BlockNet margin_net(const BlockNet& net, int64_t label);
// A property's network: `net` followed by an exact linear layer with one row
// s_k = c_k . y - rhs_k per constraint of the unsafe set. The property holds on a box
// when every disjunct has a constraint k with s_k > 0 (>= 0 when k is strict) on the box.
struct ConditionNet {
    BlockNet net;
    std::vector<std::vector<int64_t>> disjuncts;  // rows of each disjunct
    std::vector<bool> strict;                     // per row: the constraint is c.y < rhs
};
// Throws InputError when a constraint names no output, or a VNN-LIB property meets a softmax.
ConditionNet condition_net(const BlockNet& net, const BoxProperty& p);
// Row lower bounds `lo` show the property on the box.
bool rows_prove(const ConditionNet& c, const std::vector<double>& lo);
// The smallest over the disjuncts of the largest row lower bound, and the row that gives it.
double worst_disjunct(const ConditionNet& c, const std::vector<double>& lo, int64_t& row);
// Row enclosures `v` certainly lie in the unsafe set (every row of some disjunct certainly met).
bool rows_unsafe(const ConditionNet& c, const std::vector<Interval>& v);

// The class that margin row `row` compares against.
int64_t margin_class(int64_t row, int64_t label);
// The margins at u (the network sees u / divisor), enclosed in outward-rounded interval arithmetic.
std::vector<Interval> margin_enclosure(const BlockNet& m, const std::vector<double>& u, double divisor);
// The margins at u in double precision (a guide, not a proof).
Vec margins(const BlockNet& m, const std::vector<double>& u, double divisor);
// The gradient in u of margin row `row` at u (piecewise linear networks; one side at kinks).
Vec margin_gradient(const BlockNet& m, const std::vector<double>& u, double divisor, int64_t row);

}  // namespace qcert::synth
