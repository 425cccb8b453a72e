// Simulated annealing on the integer inputs of a box (errbound_anneal.hpp).
#include "analysis/errbound_anneal.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace qcert::errbound {

namespace {

double activate(const PairLayer& L, double z) {
    if (L.step != 0) z = double(round_double(z / L.step, L.rounding)) * L.step;
    return std::min(std::max(z, L.lo), L.hi);
}

// sign * (g - f)_k in double from the first layers' pre-activations of both networks.
class Objective {
public:
    Objective(const ErrPair& p, int64_t k, double sign) : p_(p), k_(k), sign_(sign) {}

    // The first layers' pre-activations at the integer point u.
    void start(const std::vector<double>& u, Vec& zf, Vec& zg) const {
        Vec uf(int64_t(u.size())), ug(int64_t(u.size()));
        for (size_t j = 0; j < u.size(); ++j) {
            uf[int64_t(j)] = u[j] / p_.f_input_divisor;
            ug[int64_t(j)] = u[j] * p_.g_input_scale + p_.g_input_shift;
        }
        zf = p_.f_layers[0].W * uf + p_.f_layers[0].b;
        zg = p_.g_layers[0].W * ug + p_.g_layers[0].b;
    }
    // Input j moved by delta: the change of the first layers' pre-activations.
    void move(int64_t j, double delta, const Vec& zf, const Vec& zg, Vec& nf, Vec& ng) const {
        nf = zf + p_.f_layers[0].W.col(j) * (delta / p_.f_input_divisor);
        ng = zg + p_.g_layers[0].W.col(j) * (delta * p_.g_input_scale);
    }
    double value(const Vec& zf, const Vec& zg) {
        xf_ = zf, xg_ = zg;
        for (size_t l = 0;; ++l) {
            const PairLayer &Lf = p_.f_layers[l], &Lg = p_.g_layers[l];
            if (l + 1 == p_.f_layers.size()) return sign_ * (activate(Lg, xg_[k_]) - activate(Lf, xf_[k_]));
            for (int64_t i = 0; i < xf_.size(); ++i) xf_[i] = activate(Lf, xf_[i]), xg_[i] = activate(Lg, xg_[i]);
            const PairLayer &Nf = p_.f_layers[l + 1], &Ng = p_.g_layers[l + 1];
            if (l + 2 == p_.f_layers.size()) {  // only output k of the last layer is needed
                const double af = Nf.W.row(k_).dot(xf_) + Nf.b[k_], ag = Ng.W.row(k_).dot(xg_) + Ng.b[k_];
                return sign_ * (activate(Ng, ag) - activate(Nf, af));
            }
            xf_ = Nf.W * xf_ + Nf.b;
            xg_ = Ng.W * xg_ + Ng.b;
        }
    }

private:
    const ErrPair& p_;
    int64_t k_;
    double sign_;
    Vec xf_, xg_;
};

}  // namespace

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
    Objective f(p, output, sign);
    const int64_t moves = std::max<int64_t>(1000, o.moves_per_input * int64_t(free.size()));
    int64_t evaluated = 0;
    std::vector<double> u(lo.size());
    Vec zf, zg, nf, ng;
    // Even restarts refine the best point so far (`start` first) at 3 % of the temperature,
    // odd ones explore from a random point.
    std::vector<double> best_u(lo.size());
    for (size_t j = 0; j < u.size(); ++j) best_u[j] = std::clamp(std::round(start[j]), std::ceil(lo[j]), std::floor(hi[j]));
    double best_val = -std::numeric_limits<double>::infinity();
    for (int restart = 0; !done() && (o.restarts < 0 || restart < o.restarts); ++restart) {
        const bool refine = restart % 2 == 0;
        for (size_t j = 0; j < u.size(); ++j) u[j] = refine ? best_u[j] : random_value(int64_t(j));
        f.start(u, zf, zg);
        double cur = f.value(zf, zg), offered = cur;  // the best value of this restart offered so far
        best.offer(p, u);
        // The temperature: the mean change of the objective over random moves from here.
        double t_start = 0;
        for (int s = 0; s < 64; ++s) {
            const int64_t j = free[size_t(rng() % free.size())];
            f.move(j, random_value(j) - u[size_t(j)], zf, zg, nf, ng);
            t_start += std::fabs(f.value(nf, ng) - cur) / 64;
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
                const double progress = std::max(double(m) / double(moves), (elapsed() - begun) / slice);
                if (progress >= 1) break;
                temp = t_start * std::pow(1e-3, progress);
            }
            const int64_t j = free[size_t(rng() % free.size())];
            const double v = random_value(j);
            if (v == u[size_t(j)]) continue;
            f.move(j, v - u[size_t(j)], zf, zg, nf, ng);
            const double val = f.value(nf, ng);
            ++evaluated;
            if (val >= cur || unit(rng) < std::exp((val - cur) / temp)) {
                u[size_t(j)] = v;
                std::swap(zf, nf);
                std::swap(zg, ng);
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
