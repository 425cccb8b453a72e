// JSON-lines results that survive a kill.
#include "qcert/result_log.hpp"

#include "qcert/error.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace qcert {

ResultLog::ResultLog(const std::string& path) : path_(path) {
    if (path.empty()) return;
    if (std::filesystem::exists(path)) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        // A kill may cut the last line: keep everything up to the last newline.
        const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if (keep != text.size()) std::filesystem::resize_file(path, keep);
        std::istringstream lines(text.substr(0, keep));
        std::string line;
        int64_t n = 0;
        while (std::getline(lines, line)) {
            ++n;
            if (line.empty()) continue;
            try {
                nlohmann::json j = nlohmann::json::parse(line);
                if (j.contains("key")) lines_[j["key"].get<std::string>()] = j;
            } catch (const nlohmann::json::exception&) {
                throw InputError(path, "line " + std::to_string(n) + " is not JSON (not a qcert results file?)");
            }
        }
    }
    file_ = std::fopen(path.c_str(), "ab");
    if (!file_) throw InputError(path, "cannot open for writing");
}

void ResultLog::check_identity(const nlohmann::json& identity, const std::string& rerun_hint) {
    if (const nlohmann::json* prev = find("identity")) {
        for (const auto& [k, v] : identity.items())
            if (!prev->contains(k) || (*prev)[k] != v)
                throw InputError(path_, "was written for another " + k + " (" + rerun_hint + ")");
        return;
    }
    append("identity", identity);
}

uint64_t fingerprint_bytes(const void* p, size_t n, uint64_t h) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

std::string fingerprint_hex(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string fingerprint_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw InputError(path, "cannot read");
    uint64_t h = 1469598103934665603ull;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) h = fingerprint_bytes(buf, n, h);
    std::fclose(f);
    return fingerprint_hex(h);
}

ResultLog::~ResultLog() {
    if (file_) std::fclose(file_);
}

const nlohmann::json* ResultLog::find(const std::string& key) const {
    std::lock_guard<std::mutex> g(mu_);
    auto it = lines_.find(key);
    return it == lines_.end() ? nullptr : &it->second;
}

void ResultLog::append(const std::string& key, const nlohmann::json& line) {
    std::lock_guard<std::mutex> g(mu_);
    nlohmann::json j = line;
    j["key"] = key;
    lines_[key] = j;
    if (!file_) return;
    const std::string s = j.dump() + "\n";
    if (std::fwrite(s.data(), 1, s.size(), file_) != s.size() || std::fflush(file_) != 0)
        throw InputError(path_, "write failed");
    fsync(fileno(file_));
}

Progress::Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total), tty_(isatty(2)) {}

Progress::~Progress() {
    if (tty_) std::fprintf(stderr, "\n");
}

void Progress::update(int64_t done, const std::string& summary) {
    if (!tty_) return;
    std::lock_guard<std::mutex> g(mu_);
    std::fprintf(stderr, "\r\033[K%s %lld/%lld  %s", what_.c_str(), (long long)done, (long long)total_, summary.c_str());
    std::fflush(stderr);
}

}  // namespace qcert
