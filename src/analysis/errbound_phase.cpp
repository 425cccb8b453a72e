#include "analysis/errbound_phase.hpp"

#include <algorithm>
#include <cmath>

namespace qcert::errbound {

namespace {

// The best breakpoint of [lo, hi] strictly inside it (min distance to the ends largest), and that
// distance; 0 when none.
double inner_breakpoint(double lo, double hi, const PairLayer& L, double& at) {
    double best = 0;
    for (double b : {L.lo, L.hi})
        if (std::isfinite(b) && lo < b && b < hi && std::min(b - lo, hi - b) > best) best = std::min(b - lo, hi - b), at = b;
    return best;
}

}  // namespace

std::optional<PhaseSplit> choose_phase_split(const ErrPair& p, const PreActivationRanges& r, const PhaseScores* scores) {
    const size_t hidden = std::min({p.f_layers.size(), r.zf_lo.size(), r.zg_lo.size()});
    if (scores) {
        std::optional<PhaseSplit> s;
        double best = 0;
        for (size_t k = 0; k + 1 < hidden; ++k)
            for (bool on_g : {false, true}) {
                const std::vector<Vec>& sc = on_g ? scores->g : scores->f;
                const PairLayer& L = on_g ? p.g_layers[k] : p.f_layers[k];
                const Vec& lo = on_g ? r.zg_lo[k] : r.zf_lo[k];
                const Vec& hi = on_g ? r.zg_hi[k] : r.zf_hi[k];
                if (k >= sc.size() || sc[k].size() != lo.size()) continue;
                for (int64_t i = 0; i < lo.size(); ++i) {
                    double at = 0;
                    if (inner_breakpoint(lo[i], hi[i], L, at) > 0 && sc[k][i] > best)
                        best = sc[k][i], s = PhaseSplit{int32_t(k), int32_t(i), on_g, at};
                }
            }
        if (s) return s;
    }
    for (size_t k = 0; k + 1 < hidden; ++k)
        for (bool on_g : {false, true}) {
            const PairLayer& L = on_g ? p.g_layers[k] : p.f_layers[k];
            const Vec& lo = on_g ? r.zg_lo[k] : r.zf_lo[k];
            const Vec& hi = on_g ? r.zg_hi[k] : r.zf_hi[k];
            std::optional<PhaseSplit> s;
            double best = 0;
            for (int64_t i = 0; i < lo.size(); ++i) {
                double at = 0;
                if (const double d = inner_breakpoint(lo[i], hi[i], L, at); d > best)
                    best = d, s = PhaseSplit{int32_t(k), int32_t(i), on_g, at};
            }
            if (s) return s;
        }
    return std::nullopt;
}

PreActivationRanges split_ranges(const PreActivationRanges& r, const PhaseSplit& s, bool below) {
    PreActivationRanges c = r;
    const size_t k = size_t(s.layer);
    if (below) (s.on_g ? c.zg_hi : c.zf_hi)[k][s.neuron] = s.at;
    else (s.on_g ? c.zg_lo : c.zf_lo)[k][s.neuron] = s.at;
    return c;
}

bool empty_ranges(const PreActivationRanges& r) {
    auto empty = [](const std::vector<Vec>& lo, const std::vector<Vec>& hi) {
        for (size_t k = 0; k < std::min(lo.size(), hi.size()); ++k)
            if ((lo[k].array() > hi[k].array()).any()) return true;
        return false;
    };
    return empty(r.zf_lo, r.zf_hi) || empty(r.zg_lo, r.zg_hi) || empty(r.zd_lo, r.zd_hi);
}

}  // namespace qcert::errbound
