// The counterexample search: seeds, PGD on the proxy, local search on the integers.
#include "attack/search.hpp"

#include "qcert/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qcert::attack {

Search::Search(const IntQuery& q, const Budget& budget, const AttackOptions& opt)
    : q_(q), budget_(budget), opt_(opt), n_(int64_t(q.lo.size())), rng_{opt.seed}, proxy_(*q.net) {
    own_deadline_ = opt.max_seconds > 0
                        ? std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(opt.max_seconds * 1e6))
                        : std::chrono::steady_clock::time_point::max();
    // Outputs that cannot leave saturation anywhere in the box (interval bounds,
    // about the cost of one evaluation) must not attract the search.
    const IntLayer& last = q.net->layers.back();
    clamp_.lo = double(last.lo);
    clamp_.hi = double(last.hi);
    clamp_.excess = opt.saturation_weight;
    const IntBounds b = interval_bounds(*q.net, q.lo, q.hi);
    for (size_t i = 0; i < b.out_lo.back().size(); ++i)
        clamp_.pinned.push_back(b.out_lo.back()[i] >= last.hi || b.out_hi.back()[i] <= last.lo);
    centre_.resize(size_t(n_));
    for (int64_t j = 0; j < n_; ++j) centre_[j] = q.lo[j] + (q.hi[j] - q.lo[j]) / 2;
}

bool Search::stop() {
    if (found_ || out_of_budget_) return true;
    if (stats_.evals >= opt_.max_evals) return out_of_budget_ = true;
    // The clock is cheap but not free: look at it every few evaluations.
    if (stats_.evals % 16 == 0 && (budget_.expired() || std::chrono::steady_clock::now() >= own_deadline_))
        return out_of_budget_ = true;
    return false;
}

void Search::note_margin(i128 m, const std::vector<int64_t>& x, const char* phase) {
    if (m < best_) {
        best_ = m;
        best_x_ = x;
    }
    // The margin is computed from our own evaluation; only the exact re-check counts.
    if (m <= 0 && confirms(q_, x)) {
        found_ = true;
        cex_ = x;
        stats_.phase = phase;
    }
}

bool Search::consider(const std::vector<int64_t>& x, const char* phase) {
    ++stats_.evals;
    note_margin(violation_margin(q_.unsafe, q_.net->eval(x).out), x, phase);
    return found_;
}

Eigen::VectorXd Search::to_real(const std::vector<int64_t>& x) const {
    Eigen::VectorXd v(n_);
    for (int64_t j = 0; j < n_; ++j) v[j] = double(x[j]);
    return v;
}

double Search::proxy_margin(const Eigen::VectorXd& z, int only) const {
    return real_margin(q_.unsafe, z.data(), clamp_, only).value;
}

Eigen::VectorXd Search::margin_gradient(const Eigen::VectorXd& x, int only) {
    const Eigen::VectorXd& y = proxy_.forward(x);
    const RealMargin m = real_margin(q_.unsafe, y.data(), clamp_, only);
    Eigen::VectorXd c = Eigen::VectorXd::Zero(y.size());
    if (m.constraint >= 0)
        for (const auto& [i, a] : q_.unsafe[m.disjunct][m.constraint].terms) c[i] += double(a);
    return proxy_.gradient(c, clamp_);
}

std::vector<int64_t> Search::corner(const Eigen::VectorXd& g) const {
    std::vector<int64_t> x(static_cast<size_t>(n_));
    for (int64_t j = 0; j < n_; ++j) x[j] = g[j] > 0 ? q_.lo[j] : g[j] < 0 ? q_.hi[j] : centre_[j];
    return x;
}

std::vector<int64_t> Search::random_corner() {
    std::vector<int64_t> x(static_cast<size_t>(n_));
    for (int64_t j = 0; j < n_; ++j) x[j] = (rng_.next() >> 63) ? q_.hi[j] : q_.lo[j];
    return x;
}

// Phase 1: the centre, the corner the gradient suggests for each target disjunct, random corners.
void Search::seeds() {
    if (consider(centre_, "seed")) return;
    const Eigen::VectorXd c = to_real(centre_);
    const Eigen::VectorXd& y = proxy_.forward(c);
    std::vector<double> value(q_.unsafe.size());
    for (size_t d = 0; d < q_.unsafe.size(); ++d) value[d] = proxy_margin(y, int(d));
    targets_.resize(q_.unsafe.size());
    std::iota(targets_.begin(), targets_.end(), 0);
    std::stable_sort(targets_.begin(), targets_.end(), [&](int a, int b) { return value[a] < value[b]; });
    if (int(targets_.size()) > opt_.restarts) targets_.resize(size_t(std::max(opt_.restarts, 0)));
    for (int t : targets_) {
        target_grad_.push_back(margin_gradient(c, t));
        if (stop() || consider(corner(target_grad_.back()), "seed")) return;
    }
    for (int r = 0; r < opt_.random_points; ++r)
        if (stop() || consider(random_corner(), "seed")) return;
}

// Phase 2: signed-gradient steps on the proxy from each target's corner, with a
// step that shrinks from the box width, so that later iterates also visit the
// inside of the box; every iterate is rounded and evaluated exactly.
void Search::pgd() {
    for (int r = 0; r < opt_.restarts; ++r) {
        const bool aimed = r < int(targets_.size());
        const int only = aimed ? targets_[r] : -1;
        Eigen::VectorXd x = to_real(aimed ? corner(target_grad_[r]) : random_corner());
        std::vector<int64_t> last;
        for (int s = 0; s < opt_.pgd_steps; ++s) {
            if (stop()) return;
            const Eigen::VectorXd g = margin_gradient(x, only);
            const double frac = 1.0 - double(s) / double(opt_.pgd_steps);
            std::vector<int64_t> xi(static_cast<size_t>(n_));
            for (int64_t j = 0; j < n_; ++j) {
                const double lo = double(q_.lo[j]), hi = double(q_.hi[j]);
                const double step = std::max(0.5, frac * (hi - lo));
                x[j] = std::clamp(x[j] - step * ((g[j] > 0) - (g[j] < 0)), lo, hi);
                xi[j] = std::clamp(int64_t(std::llround(x[j])), q_.lo[j], q_.hi[j]);
            }
            if (xi != last && consider(xi, "pgd")) return;
            last = std::move(xi);
        }
    }
}

// Phase 3: local search in episodes. The first starts from the best point found
// so far, later ones from that point with a random part of the coordinates
// redrawn, or from a uniform random point: with a low temperature one walk can
// settle in a basin of the exact margin that has no counterexample. An episode
// ends when its energy has not improved for `patience` moves.
void Search::local_search() {
    std::vector<int64_t> free;  // coordinates that can move
    for (int64_t j = 0; j < n_; ++j)
        if (q_.lo[j] < q_.hi[j]) free.push_back(j);
    if (free.empty() || best_x_.empty()) return;
    const int64_t patience = std::max<int64_t>(40, 2 * int64_t(free.size()));
    IncrementalNet inc(*q_.net);
    Energy energy(q_, clamp_, opt_);
    for (int e = 0; !stop(); ++e) {
        std::vector<int64_t> start = best_x_;
        const uint64_t redraw = e == 0 ? 0 : e % 2 ? 4 : 1;  // none, a quarter, all
        for (int64_t j : free)
            if (redraw && rng_.below(redraw) == 0) start[j] = q_.lo[j] + int64_t(rng_.below(uint64_t(q_.hi[j] - q_.lo[j] + 1)));
        walk(inc, energy, free, start, patience);
    }
}

// One walk of single-coordinate moves, accepted when the exact margin drops, or
// stays and the energy (energy.hpp) drops, or rises by d with probability
// exp(-d / T): crossing such ridges changes which way the hidden neurons round.
void Search::walk(IncrementalNet& inc, Energy& energy, const std::vector<int64_t>& free, const std::vector<int64_t>& start,
                  int64_t patience) {
    inc.reset(start);
    ++stats_.evals;
    i128 cur = violation_margin(q_.unsafe, inc.output());
    note_margin(cur, start, "local");
    double cur_e = energy(inc, proxy_margin(proxy_.forward(to_real(start))));
    Eigen::VectorXd g = margin_gradient(to_real(start), -1);
    const int64_t refresh = std::max<int64_t>(32, int64_t(free.size()) / 4);
    const double T = std::max(opt_.temperature, 1e-12);
    const bool use_proxy = opt_.proxy_weight != 0;  // it costs as much as the exact move
    double walk_best = cur_e;
    int64_t since_best = 0;

    for (int64_t move = 1; since_best < patience && !stop(); ++move) {
        const int64_t j = free[rng_.below(free.size())];
        const int64_t old = inc.input()[j], lo = q_.lo[j], hi = q_.hi[j];
        int64_t v = g[j] > 0 ? lo : hi;  // half the moves follow the gradient to a bound
        if (v == old || (rng_.next() >> 63)) {
            v = lo + int64_t(rng_.below(uint64_t(hi - lo)));  // uniform over the other values
            if (v >= old) ++v;
        }
        inc.set(j, v);
        ++stats_.evals;
        const i128 m = violation_margin(q_.unsafe, inc.output());
        bool accept = false;
        double e = cur_e;
        if (m <= cur) {
            e = energy(inc, use_proxy ? proxy_margin(proxy_.try_move(j, double(v - old))) : 0.0);
            accept = m < cur || e <= cur_e || rng_.unit() < std::exp(-(e - cur_e) / T);
        }
        ++since_best;
        if (accept) {
            if (use_proxy) proxy_.commit();
            if (m < cur || e < walk_best - 1e-9) {
                walk_best = e;
                since_best = 0;
            }
            cur = m;
            cur_e = e;
            note_margin(m, inc.input(), "local");
        } else {
            inc.set(j, old);
        }
        if (move % refresh == 0) {
            // Re-synchronise the proxy (its first layer drifts by rounding) and take a fresh gradient.
            g = margin_gradient(to_real(inc.input()), -1);
            cur_e = energy(inc, proxy_margin(proxy_.forward(to_real(inc.input()))));
        }
    }
}

bool Search::run() {
    if (q_.unsafe.empty() || n_ == 0) return false;  // nothing can be unsafe / nothing to search
    seeds();
    if (!stop()) pgd();
    if (!stop()) local_search();
    stats_.best_margin = double(best_);
    return found_;
}

}  // namespace qcert::attack
