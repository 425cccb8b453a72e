// What the sweep's records say beyond counts: the samples whose robustness is not
// monotone in the bits, and the records as a CSV table.
#include "qcert/error.hpp"
#include "qcert/result_log.hpp"
#include "qcert/sweep.hpp"
#include "io/atomic_file.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace qcert {

std::vector<NonMonotone> find_non_monotone(const std::vector<RobustRecord>& robust) {
    // (family, eps, sample) -> verdicts by bits, ascending
    std::map<std::tuple<std::string, int64_t, int64_t>, std::map<int, Verdict>> series;
    for (const RobustRecord& r : robust) series[{r.family, r.eps, r.sample}][r.bits] = r.verdict;
    std::vector<NonMonotone> out;
    for (const auto& [k, by_bits] : series) {
        std::optional<int> first_robust;
        for (const auto& [bits, v] : by_bits) {
            if (v == Verdict::Holds && !first_robust) first_robust = bits;
            if (first_robust && (v == Verdict::Violated || v == Verdict::Misclassified)) {
                out.push_back({std::get<0>(k), std::get<2>(k), std::get<1>(k), *first_robust, bits, v});
                break;
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const NonMonotone& a, const NonMonotone& b) {
        return std::tie(a.family, a.eps, a.sample) < std::tie(b.family, b.eps, b.sample);
    });
    return out;
}

bool is_final_sweep_record(const nlohmann::json& j) {
    const std::string kind = j.value("kind", "");
    if (kind == "robust") return j.value("verdict", "") != "unknown";
    if (kind == "params") return j.contains("class_can_change") && !j["class_can_change"].is_null();
    return true;
}

int64_t merge_sweep_records(const std::string& into, const std::string& records) {
    ResultLog log(into);
    int64_t added = 0;
    std::istringstream in(records);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.contains("key")) continue;  // a line cut by a kill
        const std::string key = j["key"].get<std::string>();
        const nlohmann::json* have = log.find(key);
        if (have && (is_final_sweep_record(*have) || !is_final_sweep_record(j))) continue;
        j.erase("key");
        log.append(key, j);
        ++added;
    }
    return added;
}

namespace {

std::string csv_cell(const nlohmann::json& v) {
    if (v.is_null()) return "";
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

}  // namespace

void write_sweep_csv(const std::string& results_jsonl, const std::string& csv_path) {
    std::ifstream in(results_jsonl);
    if (!in) throw InputError(results_jsonl, "cannot read the results");
    // The last record of each key, in the order keys first appear.
    std::vector<std::string> order;
    std::map<std::string, nlohmann::json> last;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.contains("key") || j.value("kind", "") == "config") continue;
        const std::string key = j["key"].get<std::string>();
        if (!last.count(key)) order.push_back(key);
        last[key] = j;
    }
    static const std::vector<std::string> columns = {
        "kind", "family", "bits", "scheme", "sample", "eps", "label", "predicted", "verdict", "method", "correct", "total",
        "class_can_change", "radius", "lower", "upper", "splits", "complete", "layer_bits", "proved", "kept", "properties",
        "time_s", "reason"};
    std::ostringstream out;
    for (size_t c = 0; c < columns.size(); ++c) out << (c ? "," : "") << columns[c];
    out << "\n";
    for (const std::string& key : order) {
        const nlohmann::json& j = last[key];
        for (size_t c = 0; c < columns.size(); ++c)
            out << (c ? "," : "") << (j.contains(columns[c]) ? csv_cell(j[columns[c]]) : "");
        out << "\n";
    }
    write_file_atomically(csv_path, out.str());
}

}  // namespace qcert
