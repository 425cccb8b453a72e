// Counterexample search on the exact integer semantics ("attack").
//
// It never proves anything: it answers Violated with an input that `confirms`
// re-checked, or Unknown ("incomplete: no counterexample found"). The objective
// is the violation margin of the unsafe set (objective.hpp), minimised in three
// phases within a bounded number of exact evaluations:
//   1. seeds: the box centre, the corners the proxy gradient points to (one per
//      target disjunct) and a few random corners;
//   2. signed-gradient (PGD) steps on the real-valued proxy (proxy.hpp), each
//      iterate rounded and evaluated exactly;
//   3. local search on the integers, in episodes (from the best point, then from
//      partly or wholly random points): single-coordinate moves with incremental
//      exact evaluation (incremental.hpp), accepted when the exact margin drops,
//      or stays while a finer energy drops (energy.hpp: the margin before the
//      last rounding, how close hidden neurons are to a helpful rounding step,
//      the proxy margin), or rises a little (simulated-annealing temperature).
// Everything is deterministic for a given seed. On the AAAI 2021 Fashion
// benchmark it finds all 18 non-robust queries, 17 of them in two evaluations.
#pragma once

#include "qcert/method.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace qcert {

struct AttackOptions {
    // Exact evaluations in all phases together (a local-search move counts as one;
    // it costs a small fraction of a full evaluation). Bounds the time spent on a
    // robust query, where the search cannot succeed.
    int64_t max_evals = 4000;
    int restarts = 3;            // gradient restarts, aimed at the disjuncts closest to being met
    int pgd_steps = 8;           // signed-gradient steps per restart
    int random_points = 4;       // random corners evaluated among the seeds
    double temperature = 0.001;  // local search: accept an energy loss d (in output steps) with probability exp(-d / T)
    // Local search energy (energy.hpp): soft margin - rounding_weight * rounding
    // potential (closeness to helpful rounding steps, to the power rounding_power)
    // + proxy_weight * proxy margin.
    double rounding_weight = 0.8;
    double rounding_power = 4.0;
    double proxy_weight = 0.1;
    // Weight of a saturated output's excess beyond its range (OutputClamp in objective.hpp).
    double saturation_weight = 0.5;
    uint64_t seed = 0x5eed;
    double max_seconds = 0;      // wall-clock cap on top of the caller's Budget; 0: none
};

// What one run did, for tests and benchmarks.
struct AttackStats {
    int64_t evals = 0;
    std::string phase;           // where the counterexample was found: seed, pgd, local ("" if none)
    double best_margin = 0;      // smallest exact violation margin reached (<= 0: violated)
};

Outcome run_attack(const IntQuery& q, const Budget& budget, const AttackOptions& opt = {}, AttackStats* stats = nullptr);

std::unique_ptr<Method> make_attack_method();
std::unique_ptr<Method> make_attack_method(const AttackOptions& opt);

}  // namespace qcert
