// Violation margins, exact on integers and real-valued on the proxy.
#include "attack/objective.hpp"

#include <algorithm>

namespace qcert::attack {

i128 violation_margin(const IntUnsafe& u, const std::vector<int64_t>& q) {
    i128 best = kMarginNever;
    for (const auto& conj : u) {
        i128 worst = kMarginMet;
        for (const IntConstraint& c : conj) {
            i128 s = -i128(c.rhs);
            for (const auto& [i, a] : c.terms) s += i128(a) * q[i];
            worst = std::max(worst, s);
        }
        best = std::min(best, worst);
    }
    return best;
}

RealMargin real_margin(const IntUnsafe& u, const double* z, const OutputClamp& clamp, int only) {
    RealMargin best;
    for (int d = 0; d < int(u.size()); ++d) {
        if (only >= 0 && d != only) continue;
        double worst = -std::numeric_limits<double>::infinity();
        int arg = -1;
        for (int k = 0; k < int(u[d].size()); ++k) {
            const IntConstraint& c = u[d][k];
            double s = -double(c.rhs);
            for (const auto& [i, a] : c.terms) s += double(a) * clamp.value(size_t(i), z[i], a > 0);
            if (s > worst) { worst = s; arg = k; }
        }
        if (worst < best.value) best = RealMargin{worst, d, arg};
    }
    return best;
}

}  // namespace qcert::attack
