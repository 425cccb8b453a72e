// Results written as JSON lines as they are decided, so that a killed run loses
// nothing and a re-run skips what is already decided.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

namespace qcert {

class ResultLog {
public:
    // Opens (creating if needed) `path`; a last line cut short by a kill is dropped.
    // An empty path means no file: nothing is remembered or written.
    explicit ResultLog(const std::string& path);
    ~ResultLog();
    ResultLog(const ResultLog&) = delete;
    ResultLog& operator=(const ResultLog&) = delete;

    // The last line recorded under `key`, or null.
    const nlohmann::json* find(const std::string& key) const;
    // Appends one line and flushes it to disk; thread-safe.
    void append(const std::string& key, const nlohmann::json& line);
    size_t size() const { return lines_.size(); }
    // The identity of the run the file belongs to (model and question fingerprints): the
    // first call on a file records `identity` under the key "identity"; a file that holds
    // another identity is refused (InputError naming the file and the first field that differs;
    // `rerun_hint` is added, e.g. "use another --out"). A file written before identities were
    // recorded (results, no identity) is adopted.
    void check_identity(const nlohmann::json& identity, const std::string& rerun_hint);

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    std::unordered_map<std::string, nlohmann::json> lines_;
    mutable std::mutex mu_;
};

// FNV-1a fingerprints (16 hex digits): of a file's bytes; of a byte range (chained through h).
std::string fingerprint_file(const std::string& path);
uint64_t fingerprint_bytes(const void* p, size_t n, uint64_t h = 1469598103934665603ull);
std::string fingerprint_hex(uint64_t h);

// A one-line progress display on stderr, only when stderr is a terminal.
class Progress {
public:
    Progress(std::string what, int64_t total);
    ~Progress();
    void update(int64_t done, const std::string& summary);

private:
    std::string what_;
    int64_t total_;
    bool tty_;
    std::mutex mu_;
};

}  // namespace qcert
