// The three phases of the counterexample search (see attack.hpp).
#pragma once

#include "attack/attack.hpp"
#include "attack/energy.hpp"
#include "attack/incremental.hpp"
#include "attack/objective.hpp"
#include "attack/proxy.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace qcert::attack {

// SplitMix64: a small generator whose sequence does not depend on the standard
// library, so that a seed gives the same search everywhere.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    double unit() { return double(next() >> 11) * 0x1p-53; }
};

class Search {
public:
    Search(const IntQuery& q, const Budget& budget, const AttackOptions& opt);

    // True when a confirmed counterexample was found (then in counterexample()).
    bool run();
    const std::vector<int64_t>& counterexample() const { return cex_; }
    const AttackStats& stats() const { return stats_; }

private:
    bool stop();
    // Evaluates x exactly; keeps the best point; true when x is a confirmed counterexample.
    bool consider(const std::vector<int64_t>& x, const char* phase);
    void note_margin(i128 m, const std::vector<int64_t>& x, const char* phase);

    void seeds();
    void pgd();
    void local_search();
    void walk(IncrementalNet& inc, Energy& energy, const std::vector<int64_t>& free, const std::vector<int64_t>& start,
              int64_t patience);

    double proxy_margin(const Eigen::VectorXd& z, int only = -1) const;
    // Gradient of the proxy margin (of disjunct `only`, or of the smallest) at x.
    Eigen::VectorXd margin_gradient(const Eigen::VectorXd& x, int only);
    // The box corner that a step against gradient g leads to (the centre where g is 0).
    std::vector<int64_t> corner(const Eigen::VectorXd& g) const;
    std::vector<int64_t> random_corner();
    Eigen::VectorXd to_real(const std::vector<int64_t>& x) const;

    const IntQuery& q_;
    const Budget& budget_;
    AttackOptions opt_;
    std::chrono::steady_clock::time_point own_deadline_;
    int64_t n_;
    Rng rng_;
    RealProxy proxy_;

    std::vector<int64_t> centre_;
    std::vector<int> targets_;   // disjuncts by proxy margin at the centre, smallest first
    std::vector<Eigen::VectorXd> target_grad_;  // the proxy gradient at the centre for each target
    std::vector<int64_t> best_x_, cex_;
    i128 best_ = kMarginNever;
    bool found_ = false, out_of_budget_ = false;
    AttackStats stats_;
    OutputClamp clamp_;                   // how the real-valued margins read the last layer
};

}  // namespace qcert::attack
