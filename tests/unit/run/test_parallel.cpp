// parallel_for: every index once, exceptions passed on, and dynamic hand-out (one
// slow call does not hold up the indices after it).
#include "run/parallel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

using namespace qcert;

TEST(ParallelFor, CallsEveryIndexOnce) {
    for (unsigned threads : {1u, 2u, 4u})
        for (int64_t n : {0, 1, 7, 100}) {
            std::vector<std::atomic<int>> calls(n);
            parallel_for(n, [&](int64_t i) { ++calls[i]; }, threads);
            for (int64_t i = 0; i < n; ++i) EXPECT_EQ(calls[i].load(), 1) << n << " " << threads;
        }
}

TEST(ParallelFor, RethrowsTheFirstException) {
    EXPECT_THROW(parallel_for(50, [](int64_t i) { if (i == 17) throw std::runtime_error("x"); }, 2), std::runtime_error);
}

TEST(ParallelFor, ASlowCallDoesNotHoldUpTheOthers) {
    // Two threads, index 0 slow: with fixed halves, indices 1..n/2-1 would wait for it.
    const int64_t n = 40;
    std::vector<std::thread::id> who(n);
    parallel_for(n, [&](int64_t i) {
        who[i] = std::this_thread::get_id();
        if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        else std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }, 2);
    int64_t others = 0;
    for (int64_t i = 1; i < n; ++i) others += who[i] != who[0];
    EXPECT_GE(others, n - 3);  // the fast thread took (nearly) everything after index 0
}
