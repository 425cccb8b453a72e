// Simulated annealing on the integer inputs of a box (errbound_anneal.hpp).
#include "analysis/errbound_anneal.hpp"
#include "analysis/errbound_walk.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace qcert::errbound {

int64_t anneal(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
               double sign, const std::vector<double>& start, const AnnealOptions& o, std::mt19937_64& rng,
               BestInputs& best) {
    std::vector<int64_t> free;  // inputs with more than one integer
    for (size_t j = 0; j < lo.size(); ++j)
        if (std::floor(hi[j]) > std::ceil(lo[j])) free.push_back(int64_t(j));
    if (free.empty() || p.f_layers.empty() || !(o.seconds > 0)) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    auto done = [&] {
        return elapsed() >= o.seconds || (o.stop_above >= 0 && best.value() > o.stop_above) || (o.cancel && *o.cancel);
    };
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto random_value = [&](int64_t j) {
        const double l = std::ceil(lo[size_t(j)]), h = std::floor(hi[size_t(j)]);
        return std::min(h, l + std::floor(unit(rng) * (h - l + 1)));
    };
    DifferenceWalk walk(p, output, sign);
    const int64_t moves = std::max<int64_t>(1000, o.moves_per_input * int64_t(free.size()));
    int64_t evaluated = 0;
    std::vector<double> u(lo.size());
    // Even restarts refine the best point so far (`start` first) at 3 % of the temperature,
    // odd ones explore from a random point.
    std::vector<double> best_u(lo.size());
    for (size_t j = 0; j < u.size(); ++j) best_u[j] = std::clamp(std::round(start[j]), std::ceil(lo[j]), std::floor(hi[j]));
    double best_val = -std::numeric_limits<double>::infinity();
    // Only a value above the best |g - f| known for this output (less a rounding margin) is
    // offered: an exact evaluation costs more than many moves.
    auto known = [&] {
        const double v = best.output_value(output);
        return v - 1e-9 * (1 + std::fabs(v));
    };
    for (int restart = 0; !done() && (o.restarts < 0 || restart < o.restarts); ++restart) {
        const bool refine = restart % 2 == 0;
        for (size_t j = 0; j < u.size(); ++j) u[j] = refine ? best_u[j] : random_value(int64_t(j));
        walk.reset(u);
        double cur = walk.value();
        best.offer(p, u);
        double offered = std::max(cur, known());
        // The temperature: the mean change of the objective over random moves from here.
        double t_start = 0;
        for (int s = 0; s < 64; ++s) {
            const int64_t j = free[size_t(rng() % free.size())];
            t_start += std::fabs(walk.try_move(j, random_value(j) - u[size_t(j)]) - cur) / 64;
        }
        if (!(t_start > 0)) t_start = 1e-6;
        if (refine) t_start *= 0.03;
        // The temperature follows the moves made or the restart's share of the time, whichever is
        // further along, so that a restart cools within its time even where a move is slow.
        const double begun = elapsed(), slice = 0.5 * (o.seconds - begun);
        double temp = t_start;
        for (int64_t m = 0;; ++m) {
            if ((m & 63) == 0) {
                if (done()) break;
                offered = std::max(offered, known());
                const double progress = std::max(double(m) / double(moves), (elapsed() - begun) / slice);
                if (progress >= 1) break;
                temp = t_start * std::pow(1e-3, progress);
            }
            const int64_t j = free[size_t(rng() % free.size())];
            const double v = random_value(j);
            if (v == u[size_t(j)]) continue;
            const double val = walk.try_move(j, v - u[size_t(j)]);
            ++evaluated;
            if (val >= cur || unit(rng) < std::exp((val - cur) / temp)) {
                u[size_t(j)] = v;
                walk.accept();
                cur = val;
                if (cur > offered) {
                    offered = cur;
                    best.offer(p, u);
                }
                if (cur > best_val) best_val = cur, best_u = u;
            }
        }
    }
    return evaluated;
}

}  // namespace qcert::errbound
