// VNN-COMP result files, as the competition's run_single_instance.sh reads them
// (2022 onwards): the first line is the status; for "sat" the rest of the file is
// the counterexample, which the scoring scripts parse as
//   ((X_0 v)
//    (X_1 v)
//    ...
//    (Y_0 v)
//    ...
//    (Y_m v))
// one "(NAME value)" per line, all but the first indented by one space, X before Y,
// each in index order. Values are printed in the shortest form that reads back as
// the same double.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace qcert {

const char* vnncomp_status_name(VnncompStatus s) {
    switch (s) {
        case VnncompStatus::Sat: return "sat";
        case VnncompStatus::Unsat: return "unsat";
        case VnncompStatus::Unknown: return "unknown";
        case VnncompStatus::Timeout: return "timeout";
        case VnncompStatus::Error: return "error";
    }
    return "error";
}

VnncompStatus vnncomp_status(Verdict v, const std::string& reason) {
    switch (v) {
        case Verdict::Holds: return VnncompStatus::Unsat;
        case Verdict::Violated: return VnncompStatus::Sat;
        case Verdict::Unknown: return reason.rfind("timeout", 0) == 0 ? VnncompStatus::Timeout : VnncompStatus::Unknown;
        case Verdict::Misclassified: return VnncompStatus::Unknown;
    }
    return VnncompStatus::Unknown;
}

std::string vnncomp_result(VnncompStatus s, const std::vector<double>& x, const Vec& y) {
    std::string out = std::string(vnncomp_status_name(s)) + "\n";
    if (s != VnncompStatus::Sat) return out;
    if (x.empty() || y.size() == 0) throw std::invalid_argument("vnncomp_result: sat needs the counterexample's inputs and outputs");
    std::vector<std::string> entries;
    auto add = [&](char prefix, size_t i, double v) {
        if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("vnncomp_result: {}_{} is not finite", prefix, i));
        entries.push_back(fmt::format("({}_{} {})", prefix, i, v));
    };
    for (size_t i = 0; i < x.size(); ++i) add('X', i, x[i]);
    for (Eigen::Index j = 0; j < y.size(); ++j) add('Y', size_t(j), y[j]);
    out += "(";
    for (size_t k = 0; k < entries.size(); ++k) out += (k ? "\n " : "") + entries[k];
    out += ")\n";
    return out;
}

void write_vnncomp_result(const std::string& path, VnncompStatus s, const std::vector<double>& x, const Vec& y) {
    const std::string text = vnncomp_result(s, x, y);
    const std::string tmp = path + ".tmp";
    errno = 0;
    bool ok = false;
    if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
        ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        ok = (std::fclose(f) == 0) && ok;
    }
    std::error_code ec;
    if (ok) std::filesystem::rename(tmp, path, ec);
    if (!ok || ec) {
        const std::string why = ec ? ec.message() : (errno ? std::strerror(errno) : "write failed");
        std::filesystem::remove(tmp, ec);
        throw InputError(path, "cannot write: " + why);
    }
}

}  // namespace qcert
