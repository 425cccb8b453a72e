// The local-search energy (see energy.hpp).
#include "attack/energy.hpp"

#include <cmath>

namespace qcert::attack {

Energy::Energy(const IntQuery& q, const OutputClamp& clamp, const AttackOptions& opt)
    : q_(q), clamp_(clamp), lambda_(opt.rounding_weight), power_(opt.rounding_power), proxy_weight_(opt.proxy_weight) {}

double Energy::operator()(const IncrementalNet& inc, double proxy_margin) {
    const size_t last = q_.net->layers.size() - 1;
    const IntLayer& L = q_.net->layers[last];
    const std::vector<__int128>& acc = inc.accumulators(last);
    const double s = double(L.num) / double(L.den);
    z_.resize(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) z_[i] = double(acc[i]) * s + double(L.out_zero);
    const RealMargin m = real_margin(q_.unsafe, z_.data(), clamp_);
    double e = m.value + proxy_weight_ * proxy_margin;
    if (lambda_ > 0 && last > 0 && m.constraint >= 0) e -= lambda_ * potential(inc, m);
    return e;
}

double Energy::potential(const IncrementalNet& inc, const RealMargin& m) {
    const size_t last = q_.net->layers.size() - 1, hid = last - 1;
    const IntLayer& out = q_.net->layers[last];
    const IntLayer& H = q_.net->layers[hid];
    // Sensitivity of the attaining constraint to each hidden output, through the
    // outputs that pass (the same one-sided clamp as the margin).
    sens_.assign(size_t(H.out_size()), 0.0);
    const double s = double(out.num) / double(out.den);
    for (const auto& [i, a] : q_.unsafe[m.disjunct][m.constraint].terms)
        if (const double d = clamp_.slope(size_t(i), z_[i], a > 0); d != 0)
            for (int64_t k = 0; k < H.out_size(); ++k) sens_[k] += double(a) * d * double(out.W(i, k)) * s;

    const double width = double(H.den) / double(H.num);  // accumulator units per output step
    const std::vector<__int128>& acc = inc.accumulators(hid);
    const std::vector<__int128>&klo = inc.keep_lo(hid), &khi = inc.keep_hi(hid);
    const std::vector<int64_t>& h = inc.outputs(hid);
    double p = 0;
    for (size_t k = 0; k < sens_.size(); ++k) {
        if (sens_[k] == 0) continue;
        const bool up = sens_[k] < 0;  // a larger output lowers the margin
        if (up ? h[k] >= H.hi : h[k] <= H.lo) continue;  // already at the helpful end
        const double dist = up ? double(khi[k] + 1 - acc[k]) : double(acc[k] - klo[k] + 1);
        const double pos = std::max(0.0, 1.0 - (dist - 1.0) / width);
        p += std::fabs(sens_[k]) * (power_ == 4 ? (pos * pos) * (pos * pos) : std::pow(pos, power_));
    }
    return p;
}

}  // namespace qcert::attack
