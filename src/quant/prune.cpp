// Magnitude and mask pruning.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace qcert {

BlockNet prune_magnitude(const BlockNet& net, double ratio) {
    if (!(ratio >= 0.0 && ratio <= 1.0)) throw InputError("--prune", fmt::format("ratio must be in [0, 1], got {}", ratio));
    BlockNet out = net;
    for (Block& b : out.blocks) {
        const int64_t n = b.W.size();
        const int64_t k = int64_t(ratio * double(n));  // how many weights to remove
        if (k == 0) continue;
        // Rank by magnitude, ties by position, so the result does not depend on the sort.
        std::vector<int64_t> idx(n);
        for (int64_t i = 0; i < n; ++i) idx[i] = i;
        double* w = b.W.data();
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t c) { return std::abs(w[a]) < std::abs(w[c]); });
        for (int64_t i = 0; i < k; ++i) w[idx[i]] = 0.0;
    }
    return out;
}

BlockNet prune_mask(const BlockNet& net, const PruneMask& mask) {
    if (mask.size() != net.blocks.size())
        throw InputError("--prune-mask", fmt::format("the mask has {} layers, the network has {}", mask.size(), net.blocks.size()));
    BlockNet out = net;
    for (size_t k = 0; k < mask.size(); ++k) {
        Block& b = out.blocks[k];
        if (mask[k].rows() != b.W.rows() || mask[k].cols() != b.W.cols())
            throw InputError("--prune-mask", fmt::format("layer {}: mask is {}x{}, weights are {}x{}", k, mask[k].rows(),
                                                         mask[k].cols(), b.W.rows(), b.W.cols()));
        for (int64_t i = 0; i < b.W.rows(); ++i)
            for (int64_t j = 0; j < b.W.cols(); ++j)
                if (!mask[k](i, j)) b.W(i, j) = 0.0;
    }
    return out;
}

}  // namespace qcert
