// Incremental exact inference (see incremental.hpp).
#include "attack/incremental.hpp"

#include "qcert/bounds.hpp"

namespace qcert::attack {

using i128 = __int128;

namespace {

constexpr i128 kInf = i128(1) << 126;

// The interval of accumulators around `acc` that give the output `o` (monotone
// layers only: wrapping accumulators are not monotone, their interval is {acc}).
// A change of (acc * num) by 2 * den moves any rounding by at least one step, so
// the ends lie within that distance; binary search finds them.
void keep_interval(const IntLayer& L, i128 acc, int64_t o, i128& lo, i128& hi) {
    if (L.overflow == Overflow::Wrap) { lo = hi = acc; return; }
    const i128 span = (2 * i128(L.den)) / L.num + 2;
    if (o >= L.hi) hi = kInf;
    else {
        i128 a = acc, b = acc + span;  // neuron_output(a) == o < neuron_output(b)
        while (b - a > 1) {
            const i128 mid = a + (b - a) / 2;
            (neuron_output(L, mid) == o ? a : b) = mid;
        }
        hi = a;
    }
    if (o <= L.lo) lo = -kInf;
    else {
        i128 a = acc - span, b = acc;  // neuron_output(a) < o == neuron_output(b)
        while (b - a > 1) {
            const i128 mid = a + (b - a) / 2;
            (neuron_output(L, mid) == o ? b : a) = mid;
        }
        lo = b;
    }
}

}  // namespace

IncrementalNet::IncrementalNet(const IntNetwork& net) : net_(net) {
    for (const IntLayer& L : net.layers) {
        const int64_t n = L.in_size(), m = L.out_size();
        std::vector<int64_t> t(size_t(n * m));
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) t[size_t(j * m + i)] = L.W(i, j);
        wt_.push_back(std::move(t));
        acc_.emplace_back(size_t(m));
        keep_lo_.emplace_back(size_t(m));
        keep_hi_.emplace_back(size_t(m));
    }
    val_.resize(net.layers.size() + 1);
}

void IncrementalNet::reset(const std::vector<int64_t>& x) {
    val_[0] = x;
    for (size_t k = 0; k < net_.layers.size(); ++k) {
        const IntLayer& L = net_.layers[k];
        const int64_t n = L.in_size(), m = L.out_size();
        std::vector<i128>& acc = acc_[k];
        for (int64_t i = 0; i < m; ++i) acc[i] = L.b[i];
        const std::vector<int64_t>& in = val_[k];
        const int64_t* w = wt_[k].data();
        for (int64_t j = 0; j < n; ++j) {
            const int64_t d = in[j] - L.in_zero;
            if (d == 0) continue;
            const int64_t* col = w + j * m;
            for (int64_t i = 0; i < m; ++i) acc[i] += i128(col[i]) * d;
        }
        std::vector<int64_t>& out = val_[k + 1];
        out.resize(size_t(m));
        for (int64_t i = 0; i < m; ++i) out[i] = rescale(k, size_t(i));
    }
}

int64_t IncrementalNet::rescale(size_t k, size_t i) {
    const IntLayer& L = net_.layers[k];
    const i128 a = acc_[k][i];
    const int64_t o = neuron_output(L, a);
    keep_interval(L, a, o, keep_lo_[k][i], keep_hi_[k][i]);
    return o;
}

void IncrementalNet::set(int64_t j, int64_t v) {
    const int64_t d = v - val_[0][j];
    if (d == 0) return;
    val_[0][j] = v;
    changed_.assign(1, {j, d});
    propagate_from(0);
}

void IncrementalNet::propagate_from(size_t k0) {
    for (size_t k = k0; k < net_.layers.size() && !changed_.empty(); ++k) {
        const IntLayer& L = net_.layers[k];
        const int64_t m = L.out_size();
        std::vector<i128>& acc = acc_[k];
        for (const auto& [j, d] : changed_) {
            const int64_t* col = wt_[k].data() + j * m;
            for (int64_t i = 0; i < m; ++i) acc[i] += i128(col[i]) * d;
        }
        // Only neurons whose output moved feed the next layer.
        next_changed_.clear();
        std::vector<int64_t>& out = val_[k + 1];
        const std::vector<i128>&klo = keep_lo_[k], &khi = keep_hi_[k];
        for (int64_t i = 0; i < m; ++i) {
            if (acc[i] >= klo[i] && acc[i] <= khi[i]) continue;
            const int64_t o = rescale(k, size_t(i));
            if (o != out[i]) {
                next_changed_.push_back({i, o - out[i]});
                out[i] = o;
            }
        }
        changed_.swap(next_changed_);
    }
}

}  // namespace qcert::attack
