// Counterexample search for the lower bound of `qcert bound` (errbound_search.hpp).
#include "analysis/errbound_search.hpp"

#include <algorithm>
#include <cmath>

namespace qcert::errbound {

BestInputs::BestInputs(std::vector<int64_t> outputs)
    : outputs_(std::move(outputs)), per_output_(outputs_.size(), -1.0), per_output_witness_(outputs_.size()) {}

double BestInputs::offer(const ErrPair& p, const std::vector<double>& u_in) {
    std::vector<double> u = u_in;
    if (p.integer_region())  // the integer the twin is evaluated at is the witness
        for (double& v : u) v = std::round(v);
    const Vec d = exact_difference(p, u);
    double m = -1;
    int64_t arg = -1;
    std::lock_guard<std::mutex> g(mu_);
    for (size_t k = 0; k < outputs_.size(); ++k) {
        const double v = std::fabs(d[outputs_[k]]);
        if (!(v <= std::numeric_limits<double>::max())) continue;  // NaN or inf: not a usable witness
        if (v > per_output_[k]) per_output_[k] = v, per_output_witness_[k] = u;
        if (v > m) m = v, arg = outputs_[k];
    }
    if (m > best_) {
        best_ = m;
        witness_ = u;
        witness_output_ = arg;
    }
    return m;
}

double BestInputs::value() const {
    std::lock_guard<std::mutex> g(mu_);
    return best_;
}
std::vector<double> BestInputs::witness() const {
    std::lock_guard<std::mutex> g(mu_);
    return witness_;
}
int64_t BestInputs::witness_output() const {
    std::lock_guard<std::mutex> g(mu_);
    return witness_output_;
}
std::vector<std::vector<double>> BestInputs::per_output_witness() const {
    std::lock_guard<std::mutex> g(mu_);
    return per_output_witness_;
}
double BestInputs::output_value(int64_t output) const {
    std::lock_guard<std::mutex> g(mu_);
    for (size_t k = 0; k < outputs_.size(); ++k)
        if (outputs_[k] == output) return per_output_[k];
    return -1;
}
std::vector<double> BestInputs::per_output() const {
    std::lock_guard<std::mutex> g(mu_);
    return per_output_;
}

namespace {

// d output_k / d x0 of a chain of clamp layers at x0 (the clamp's derivative taken as 1
// strictly inside it, 0 outside; rounding noise ignored).
Vec layers_gradient(const std::vector<PairLayer>& layers, const Vec& x0, int64_t k) {
    std::vector<Eigen::Array<bool, Eigen::Dynamic, 1>> pass;
    Vec x = x0;
    for (const PairLayer& L : layers) {
        const Vec z = L.W * x + L.b;
        pass.push_back((z.array() > L.lo) && (z.array() < L.hi));
        x = z.cwiseMax(L.lo).cwiseMin(L.hi);
    }
    Vec g = Vec::Zero(layers.back().W.rows());
    g[k] = 1;
    for (size_t l = layers.size(); l-- > 0;) {
        g = (g.array() * pass[l].cast<double>()).matrix();
        g = layers[l].W.transpose() * g;
    }
    return g;
}

// Gradient of (g - f)_k with respect to the region variable u.
Vec difference_gradient(const ErrPair& p, const std::vector<double>& u, int64_t k) {
    Vec uf(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) uf[int64_t(j)] = u[j] / p.f_input_divisor;
    const Vec gf = layers_gradient(p.f_layers, uf, k) / p.f_input_divisor;
    Vec gg;
    if (p.integer_region()) {
        Vec ug(int64_t(u.size()));
        for (size_t j = 0; j < u.size(); ++j) ug[int64_t(j)] = u[j] * p.g_input_scale + p.g_input_shift;
        gg = layers_gradient(p.g_layers, ug, k) * p.g_input_scale;
    } else {
        gg = layers_gradient(p.g_layers, uf, k) / p.f_input_divisor;
    }
    return gg - gf;
}

}  // namespace

void gradient_ascent(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                     double sign, std::vector<double> u, int steps, BestInputs& best) {
    const bool integer = p.integer_region();
    double step_frac = 0.25;
    double prev = best.offer(p, u);
    for (int s = 0; s < steps; ++s) {
        const Vec g = sign * difference_gradient(p, u, output);
        std::vector<double> next = u;
        for (size_t j = 0; j < u.size(); ++j) {
            const double w = hi[j] - lo[j];
            if (w <= 0 || g[int64_t(j)] == 0) continue;
            double step = integer ? std::max(1.0, std::round(step_frac * w)) : step_frac * w;
            next[j] = std::clamp(u[j] + (g[int64_t(j)] > 0 ? step : -step), lo[j], hi[j]);
        }
        if (next == u) break;
        const double v = best.offer(p, next);
        if (v >= prev) {
            u = std::move(next);
            prev = v;
        } else {
            step_frac *= 0.5;
            if (step_frac < 1e-4) break;
        }
    }
}

void coordinate_search(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int64_t output,
                       double sign, std::vector<double> u, BestInputs& best, int passes) {
    if (u.empty()) return;
    double cur = sign * exact_difference(p, u)[output];
    best.offer(p, u);
    for (int pass = 0; pass < passes; ++pass) {
        const Vec g = difference_gradient(p, u, output);
        std::vector<size_t> order(u.size());
        for (size_t j = 0; j < order.size(); ++j) order[j] = j;
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return std::fabs(g[int64_t(a)]) > std::fabs(g[int64_t(b)]); });
        bool improved = false;
        for (size_t j : order) {
            const double keep = u[j];
            for (double v : {lo[j], hi[j]}) {
                if (v == keep) continue;
                u[j] = v;
                const double val = sign * exact_difference(p, u)[output];
                if (val > cur) {
                    cur = val;
                    improved = true;
                    best.offer(p, u);
                    break;
                }
                u[j] = keep;
            }
        }
        if (!improved) break;
    }
}

void random_inputs(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, int count,
                   std::mt19937_64& rng, BestInputs& best) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> u(lo.size());
    for (int c = 0; c < count; ++c) {
        for (size_t j = 0; j < lo.size(); ++j) {
            const double w = hi[j] - lo[j];
            u[j] = p.integer_region() ? std::clamp(lo[j] + std::floor(unit(rng) * (w + 1)), lo[j], hi[j])
                                      : std::clamp(lo[j] + unit(rng) * w, lo[j], hi[j]);
        }
        best.offer(p, u);
    }
}

}  // namespace qcert::errbound
