// Parsing of sample and eps lists: "A:B" (A <= i < B), "N", and comma lists of those.
#pragma once

#include "qcert/error.hpp"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace qcert::cli {

inline std::vector<int64_t> parse_index_list(const std::string& spec, const std::string& option) {
    std::vector<int64_t> out;
    std::stringstream ss(spec);
    std::string part;
    auto num = [&](const std::string& s) {
        try {
            size_t used = 0;
            const long long v = std::stoll(s, &used);
            if (used == s.size()) return int64_t(v);
        } catch (const std::logic_error&) {
        }
        throw InputError(option, "'" + s + "' is not an integer (expected N, A:B or a comma list)");
    };
    while (std::getline(ss, part, ',')) {
        const size_t colon = part.find(':');
        if (colon == std::string::npos) {
            out.push_back(num(part));
            continue;
        }
        const int64_t a = num(part.substr(0, colon)), b = num(part.substr(colon + 1));
        if (b <= a) throw InputError(option, "range '" + part + "' is empty (A:B means A <= i < B)");
        for (int64_t i = a; i < b; ++i) out.push_back(i);
    }
    if (out.empty()) throw InputError(option, "is empty");
    return out;
}

}  // namespace qcert::cli
