// Bound tightening for one disjunct; see milp_tighten.hpp.
#include "backends/milp_tighten.hpp"

#include "backends/milp_encoding.hpp"
#include "backends/milp_lp_bounds.hpp"

namespace qcert::milp {

Tightening tighten_for_disjunct(const IntQuery& q, IntBounds& B, const std::vector<IntConstraint>& conj,
                                const std::vector<bool>& wanted, const Budget& budget, int rounds) {
    Tightening t;
    const IntNetwork& net = *q.net;
    for (const IntLayer& L : net.layers) t.narrowed_mask.emplace_back(L.out_size(), false);
    for (int pass = 0; pass < rounds && !budget.expired(); ++pass) {
        ++t.rounds;
        int narrowed = 0;
        for (size_t k = 0; k < net.layers.size() && !budget.expired(); ++k) {
            NetworkEncoding enc = encode_network(q, B, wanted, &t.narrowed_mask);
            if (!enc.unsupported.empty()) return t;
            if (enc.empty || !add_conjunction(enc, conj)) {
                t.empty = true;
                return t;
            }
            std::vector<Affine> targets;
            std::vector<int64_t> which;
            for (size_t i = 0; i < enc.acc[k].size(); ++i)
                if (enc.acc[k][i]) {
                    targets.push_back(*enc.acc[k][i]);
                    which.push_back(int64_t(i));
                }
            const std::vector<LpRange> ranges = lp_ranges(enc.model, targets, budget);
            const IntLayer& L = net.layers[k];
            for (size_t n = 0; n < which.size(); ++n) {
                if (ranges[n].infeasible) {
                    t.lp_infeasible = true;
                    return t;
                }
                const int64_t i = which[n];
                const i128 lo = std::max(B.acc_lo[k][i], ranges[n].lo), hi = std::min(B.acc_hi[k][i], ranges[n].hi);
                if (lo > hi) {
                    t.empty = true;
                    return t;
                }
                if (lo == B.acc_lo[k][i] && hi == B.acc_hi[k][i]) continue;
                B.acc_lo[k][i] = lo;
                B.acc_hi[k][i] = hi;
                t.narrowed_mask[k][i] = true;
                // Nondecreasing in the accumulator (a wrapping layer is encoded only
                // when its range cannot wrap, so it is monotone here too).
                B.out_lo[k][i] = std::max(B.out_lo[k][i], neuron_output(L, lo));
                B.out_hi[k][i] = std::min(B.out_hi[k][i], neuron_output(L, hi));
                ++narrowed;
            }
        }
        t.narrowed += narrowed;
        if (narrowed == 0) break;
    }
    return t;
}

}  // namespace qcert::milp
