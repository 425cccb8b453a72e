// Incremental exact inference (see incremental.hpp).
#include "attack/incremental.hpp"

#include "qcert/bounds.hpp"

namespace qcert::attack {

using i128 = __int128;

IncrementalNet::IncrementalNet(const IntNetwork& net) : net_(net) {
    for (const IntLayer& L : net.layers) {
        const int64_t n = L.in_size(), m = L.out_size();
        std::vector<int64_t> t(size_t(n * m));
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) t[size_t(j * m + i)] = L.W(i, j);
        wt_.push_back(std::move(t));
        acc_.emplace_back(size_t(m));
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
        for (int64_t i = 0; i < m; ++i) out[i] = neuron_output(L, acc[i]);
    }
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
        for (int64_t i = 0; i < m; ++i) {
            const int64_t o = neuron_output(L, acc[i]);
            if (o != out[i]) {
                next_changed_.push_back({i, o - out[i]});
                out[i] = o;
            }
        }
        changed_.swap(next_changed_);
    }
}

}  // namespace qcert::attack
