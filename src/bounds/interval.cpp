// Interval propagation over the exact integer semantics.
#include "qcert/bounds.hpp"

#include "qcert/error.hpp"

#include <algorithm>

namespace qcert {

using i128 = __int128;

int64_t neuron_output(const IntLayer& L, i128 acc) {
    const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
    const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
    if (L.overflow == Overflow::Saturate) acc = std::clamp(acc, amin, amax);
    if (L.overflow == Overflow::Wrap && (acc < amin || acc > amax)) {
        const i128 mod = i128(1) << bits;
        acc %= mod;
        if (acc < 0) acc += mod;
        if (acc > amax) acc -= mod;
    }
    i128 q = round_div(acc * L.num, L.den, L.rounding) + L.out_zero;
    return int64_t(std::clamp<i128>(q, L.lo, L.hi));
}

bool IntBounds::stable(size_t k, size_t i) const {
    return out_lo[k][i] == out_hi[k][i];
}

int IntBounds::accumulator_width(size_t k) const {
    int w = 1;
    for (size_t i = 0; i < acc_lo[k].size(); ++i)
        for (i128 v : {acc_lo[k][i], acc_hi[k][i]}) {
            int need = 1;  // two's complement width of v
            while (need < 127 && !(v >= -(i128(1) << (need - 1)) && v <= (i128(1) << (need - 1)) - 1)) ++need;
            w = std::max(w, need);
        }
    return w;
}

IntBounds interval_bounds(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi) {
    if (int64_t(lo.size()) != net.input_size() || hi.size() != lo.size())
        throw InputError(net.source, "the input box does not match the network's input size");
    IntBounds B;
    std::vector<int64_t> l = lo, h = hi;
    for (const IntLayer& L : net.layers) {
        const int64_t m = L.out_size(), n = L.in_size();
        std::vector<i128> alo(m), ahi(m);
        std::vector<int64_t> ol(m), oh(m);
        const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
        const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
        for (int64_t i = 0; i < m; ++i) {
            i128 a = L.b[i], b = L.b[i];
            for (int64_t j = 0; j < n; ++j) {
                const i128 w = L.W(i, j);
                if (w == 0) continue;
                const i128 x0 = i128(l[j]) - L.in_zero, x1 = i128(h[j]) - L.in_zero;
                if (w > 0) { a += w * x0; b += w * x1; }
                else { a += w * x1; b += w * x0; }
            }
            alo[i] = a;
            ahi[i] = b;
            if (L.overflow == Overflow::Wrap && (a < amin || b > amax)) {
                ol[i] = L.lo;  // wrapping is not monotone: only the clamp bounds the output
                oh[i] = L.hi;
            } else {
                ol[i] = neuron_output(L, a);  // rescale, zero point and clamp are monotone
                oh[i] = neuron_output(L, b);
            }
        }
        B.acc_lo.push_back(alo);
        B.acc_hi.push_back(ahi);
        B.out_lo.push_back(ol);
        B.out_hi.push_back(oh);
        l = ol;
        h = oh;
    }
    return B;
}

}  // namespace qcert
