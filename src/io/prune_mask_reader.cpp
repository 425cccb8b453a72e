// Pruning masks from JSON: {"layers": [M0, M1, ...]}, Mk a list of rows of 0/1.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

namespace qcert {

PruneMask read_prune_mask(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError(path, "cannot open file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        throw InputError(path, fmt::format("not JSON: {}", e.what()));
    }
    if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array())
        throw InputError(path, "expected {\"layers\": [matrix, ...]}");
    PruneMask mask;
    for (size_t k = 0; k < j["layers"].size(); ++k) {
        const nlohmann::json& m = j["layers"][k];
        if (!m.is_array() || m.empty() || !m[0].is_array())
            throw InputError(path, fmt::format("layer {}: expected a non-empty list of rows", k));
        const size_t cols = m[0].size();
        Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> M(m.size(), cols);
        for (size_t r = 0; r < m.size(); ++r) {
            if (!m[r].is_array() || m[r].size() != cols)
                throw InputError(path, fmt::format("layer {}: row {} has {} entries, row 0 has {}", k, r,
                                                   m[r].is_array() ? m[r].size() : 0, cols));
            for (size_t c = 0; c < cols; ++c) {
                const nlohmann::json& v = m[r][c];
                if (v == 1 || v == true) M(r, c) = true;
                else if (v == 0 || v == false) M(r, c) = false;
                else throw InputError(path, fmt::format("layer {}: row {}, column {}: expected 0 or 1, got {}", k, r, c, v.dump()));
            }
        }
        mask.push_back(std::move(M));
    }
    return mask;
}

}  // namespace qcert
