// A generic best-first branch and bound that maximises an objective over boxes,
// on several threads sharing one priority queue. It knows nothing of networks: a
// Bounder (one per thread) bounds a box from above and offers certified points.
// Internal to src/analysis/params*.cpp.
//
// Invariant: the true maximum lies in [lower, upper], where lower is the best
// certified point value and upper the largest bound of any box not yet discarded
// (boxes are discarded only when their bound is <= lower, or < target in a decision).
#pragma once

#include "params_setup.hpp"

#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace qcert::params_detail {

constexpr double kInf = std::numeric_limits<double>::infinity();

// What bounding a box tells the search.
struct Bounded {
    Box box;                    // the box, possibly shrunk where the maximum is known to lie on a face
    double ub = kInf;           // an upper bound of the objective over the box that was given
    std::vector<double> score;  // per variable, the gain expected from splitting it (0: never)
    std::vector<double> point;  // a point of the feasible set, or empty
    double value = -kInf;       // a sound lower bound of the objective at `point`
};

class Bounder {
public:
    virtual ~Bounder() = default;
    // `lower` is the best value certified so far: points below it need no certificate.
    virtual Bounded bound(Box box, int tag, double lower) = 0;
    // A local search from a starting point; the result's point and value only.
    virtual Bounded seed(std::vector<double> point, int tag, double lower) = 0;
};

struct SearchOptions {
    double precision = 1e-3;     // stop when upper - lower <= precision
    double target = -kInf;       // a decision: stop as soon as lower > target; boxes with ub < target are done
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    unsigned threads = 1;
    int64_t max_open = 500'000;  // open boxes kept at most (memory)
    // Starting points for local searches run before the branching (good early lower
    // bounds let it discard boxes sooner): a point of the variable space and a tag.
    std::vector<std::pair<std::vector<double>, int>> seeds;
};

struct SearchResult {
    double lower = -kInf, upper = kInf;
    std::vector<double> witness;  // the point that reached `lower`
    int witness_tag = -1;
    int64_t nodes = 0;            // boxes bounded
    // "precision" (gap closed), "exhausted" (every box discarded), "found" (lower > target),
    // "timeout", "memory"
    std::string stop;
};

// Maximises over the union of the roots (a box and the tag of its objective).
SearchResult branch_and_bound(const std::vector<std::pair<Box, int>>& roots,
                              const std::function<std::unique_ptr<Bounder>()>& make_bounder,
                              const SearchOptions& opt);

}  // namespace qcert::params_detail
