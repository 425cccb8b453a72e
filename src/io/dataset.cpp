// Dataset: access to one sample, raw or scaled for the float network.
#include "qcert/io.hpp"

#include <stdexcept>
#include <string>

namespace qcert {

Vec Dataset::raw_sample(int64_t i) const {
    if (i < 0 || i >= count())
        throw std::out_of_range("sample " + std::to_string(i) + " of " + source + " out of range (" +
                                std::to_string(count()) + " samples)");
    const int64_t n = sample_size();
    return Eigen::Map<const Vec>(raw.data() + i * n, n);
}

Vec Dataset::float_sample(int64_t i) const { return raw_sample(i) * float_scale; }

}  // namespace qcert
