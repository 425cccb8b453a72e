// Results written as JSON lines as they are decided, so that a killed run loses
// nothing and a re-run skips what is already decided.
#pragma once

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

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    std::unordered_map<std::string, nlohmann::json> lines_;
    mutable std::mutex mu_;
};

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
