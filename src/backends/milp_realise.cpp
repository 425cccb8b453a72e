// Realising a first layer by local search; see milp_realise.hpp.
#include "backends/milp_realise.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace qcert::milp {

namespace {

using i128 = __int128;

// The neuron's output from its exact accumulator (IntNetwork::eval, Detect mode).
i128 output_of(const IntLayer& L, i128 acc) {
    return std::clamp<i128>(round_div(acc * L.num, L.den, L.rounding) + L.out_zero, L.lo, L.hi);
}

// The accumulators in [alo, ahi] whose output is `o`: [first, last], empty when first > last.
// Outputs are nondecreasing in the accumulator for every rounding mode.
std::pair<i128, i128> accumulator_interval(const IntLayer& L, i128 alo, i128 ahi, i128 o) {
    auto first_with = [&](auto pred) {  // the smallest acc in [alo, ahi + 1] with pred(acc)
        i128 a = alo, b = ahi + 1;
        while (a < b) {
            const i128 m = a + (b - a) / 2;
            if (pred(m)) b = m;
            else a = m + 1;
        }
        return a;
    };
    const i128 first = first_with([&](i128 a) { return output_of(L, a) >= o; });
    const i128 last = first_with([&](i128 a) { return output_of(L, a) > o; }) - 1;
    return {first, last};
}

i128 distance(i128 a, const std::pair<i128, i128>& in) { return a < in.first ? in.first - a : a > in.second ? a - in.second : 0; }

}  // namespace

std::optional<std::vector<int64_t>> realise_first_layer(const IntNetwork& net, const std::vector<int64_t>& lo,
                                                        const std::vector<int64_t>& hi, const std::vector<NeuronTarget>& targets,
                                                        const std::vector<double>& start, const Budget& budget, int64_t max_steps) {
    const IntLayer& L = net.layers.front();
    if (L.overflow != Overflow::Detect) return std::nullopt;
    const size_t n = lo.size(), T = targets.size();
    std::vector<int64_t> x(n);
    for (size_t j = 0; j < n; ++j) x[j] = std::clamp<int64_t>(std::llround(start[j]), lo[j], hi[j]);

    std::vector<i128> acc(T);
    std::vector<std::pair<i128, i128>> want(T);
    for (size_t t = 0; t < T; ++t) {
        const int64_t i = targets[t].neuron;
        i128 a = L.b[i], amin = L.b[i], amax = L.b[i];
        for (size_t j = 0; j < n; ++j) {
            const i128 w = L.W(i, int64_t(j));
            a += w * (x[j] - L.in_zero);
            amin += std::min(w * (lo[j] - L.in_zero), w * (hi[j] - L.in_zero));
            amax += std::max(w * (lo[j] - L.in_zero), w * (hi[j] - L.in_zero));
        }
        acc[t] = a;
        want[t] = accumulator_interval(L, amin, amax, targets[t].output);
        if (want[t].first > want[t].second) return std::nullopt;  // no input of the box gives this output
    }
    i128 total = 0;
    for (size_t t = 0; t < T; ++t) total += distance(acc[t], want[t]);

    std::mt19937_64 rng(12345);
    auto change = [&](size_t j, int dir) {  // the change of the total distance for x_j += dir
        i128 d = 0;
        for (size_t t = 0; t < T; ++t) {
            const i128 a = acc[t] + i128(dir) * L.W(targets[t].neuron, int64_t(j));
            d += distance(a, want[t]) - distance(acc[t], want[t]);
        }
        return d;
    };
    auto apply = [&](size_t j, int dir) {
        x[j] += dir;
        for (size_t t = 0; t < T; ++t) {
            const i128 a = acc[t] + i128(dir) * L.W(targets[t].neuron, int64_t(j));
            total += distance(a, want[t]) - distance(acc[t], want[t]);
            acc[t] = a;
        }
    };
    for (int64_t step = 0; total > 0 && step < max_steps; ++step) {
        if ((step & 63) == 0 && budget.expired()) return std::nullopt;
        i128 best = 0;
        size_t bj = 0;
        int bdir = 0;
        for (size_t j = 0; j < n; ++j)
            for (int dir : {-1, 1}) {
                if ((dir < 0 && x[j] == lo[j]) || (dir > 0 && x[j] == hi[j])) continue;
                const i128 d = change(j, dir);
                if (d < best) best = d, bj = j, bdir = dir;
            }
        if (bdir != 0) {
            apply(bj, bdir);
            continue;
        }
        // A local minimum: a random step that moves some missed accumulator toward its interval.
        std::vector<size_t> missed;
        for (size_t t = 0; t < T; ++t)
            if (distance(acc[t], want[t]) > 0) missed.push_back(t);
        const size_t t = missed[rng() % missed.size()];
        const int sign = acc[t] < want[t].first ? 1 : -1;
        for (int tries = 0; tries < 64; ++tries) {
            const size_t j = rng() % n;
            const int64_t w = L.W(targets[t].neuron, int64_t(j));
            if (w == 0) continue;
            const int dir = (w > 0) == (sign > 0) ? 1 : -1;
            if ((dir < 0 && x[j] == lo[j]) || (dir > 0 && x[j] == hi[j])) continue;
            apply(j, dir);
            break;
        }
    }
    if (total > 0) return std::nullopt;
    return x;
}

}  // namespace qcert::milp
