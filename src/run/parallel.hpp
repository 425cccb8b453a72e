// A parallel loop over [0, n) on all cores. Each thread takes the next index in
// turn, so a few slow calls (hard queries) do not leave the other cores idle.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qcert {

inline unsigned worker_count() { return std::max(1u, std::thread::hardware_concurrency()); }

// Calls body(i) for every i; the first exception thrown by any call is rethrown.
inline void parallel_for(int64_t n, const std::function<void(int64_t)>& body, unsigned threads = 0) {
    if (threads == 0) threads = worker_count();
    threads = unsigned(std::min<int64_t>(threads, std::max<int64_t>(n, 1)));
    if (threads <= 1) {
        for (int64_t i = 0; i < n; ++i) body(i);
        return;
    }
    std::exception_ptr err;
    std::mutex m;
    std::atomic<int64_t> next{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            try {
                for (int64_t i = next++; i < n; i = next++) body(i);
            } catch (...) {
                next = n;  // the others stop at their current call
                std::lock_guard<std::mutex> g(m);
                if (!err) err = std::current_exception();
            }
        });
    for (auto& th : pool) th.join();
    if (err) std::rethrow_exception(err);
}

}  // namespace qcert
