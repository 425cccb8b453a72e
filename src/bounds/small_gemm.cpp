// Small dense products, AVX2/FMA when the CPU has them (small_gemm.hpp).
#include "bounds/small_gemm.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QCERT_GEMM_AVX2 1
#endif

namespace qcert::gemm {

namespace {

#ifdef QCERT_GEMM_AVX2
// Eight rows by Q columns of C = A W (or += A W): A's rows start at A with leading dimension lda
// (m columns), C's at C with leading dimension ldc, W's Q columns at W with leading dimension m.
// The 8 x Q block lives in registers over the inner dimension, of which only the indices
// ks[0 .. nk) are visited (A's other columns are zero: skipping them leaves every sum as it
// was, bit for bit, since a fused a * w + c with a = 0 returns c). Every entry of C is the same
// chain of fused multiply-adds over the visited k in ascending order whatever Q is.
template <int Q>
__attribute__((target("avx2,fma"), always_inline)) inline void block(const double* A, int64_t lda, int64_t m, const int32_t* ks,
                                                                     int64_t nk, const double* W, double* C, int64_t ldc,
                                                                     bool accumulate) {
    __m256d c[Q][2];
    for (int q = 0; q < Q; ++q)
        for (int h = 0; h < 2; ++h) c[q][h] = accumulate ? _mm256_loadu_pd(C + q * ldc + 4 * h) : _mm256_setzero_pd();
    for (int64_t t = 0; t < nk; ++t) {
        const int64_t k = ks[t];
        const __m256d a0 = _mm256_loadu_pd(A + k * lda), a1 = _mm256_loadu_pd(A + k * lda + 4);
        for (int q = 0; q < Q; ++q) {
            const __m256d w = _mm256_broadcast_sd(W + q * m + k);
            c[q][0] = _mm256_fmadd_pd(a0, w, c[q][0]);
            c[q][1] = _mm256_fmadd_pd(a1, w, c[q][1]);
        }
    }
    for (int q = 0; q < Q; ++q)
        for (int h = 0; h < 2; ++h) _mm256_storeu_pd(C + q * ldc + 4 * h, c[q][h]);
}

// Eight rows of C: blocks of four columns, and five at the end when five are left (a network's
// five inputs: one pass over A instead of a four-column block and a one-column tail).
__attribute__((target("avx2,fma"))) void eight_rows(const double* A, int64_t lda, int64_t m, const int32_t* ks, int64_t nk,
                                                    const double* W, int64_t n, double* C, int64_t ldc, bool accumulate) {
    int64_t j = 0;
    while (j < n) {
        const double* w = W + j * m;
        double* c = C + j * ldc;
        switch (std::min<int64_t>(n - j, 5)) {
            case 5:
                if (n - j == 5) {
                    block<5>(A, lda, m, ks, nk, w, c, ldc, accumulate);
                    j += 5;
                    break;
                }
                [[fallthrough]];
            case 4: block<4>(A, lda, m, ks, nk, w, c, ldc, accumulate), j += 4; break;
            case 3: block<3>(A, lda, m, ks, nk, w, c, ldc, accumulate), j += 3; break;
            case 2: block<2>(A, lda, m, ks, nk, w, c, ldc, accumulate), j += 2; break;
            default: block<1>(A, lda, m, ks, nk, w, c, ldc, accumulate), j += 1; break;
        }
    }
}

// Column-major A (R x m), W (m x n), C (R x n): full blocks of eight rows in place, the last
// 1 to 7 rows through a zero-padded copy; only the columns ks[0 .. nk) of A are visited.
void kernel_avx2(const double* A, int64_t R, int64_t m, const int32_t* ks, int64_t nk, const double* W, int64_t n, double* C,
                 bool accumulate) {
    int64_t i = 0;
    for (; i + 8 <= R; i += 8) eight_rows(A + i, R, m, ks, nk, W, n, C + i, R, accumulate);
    const int64_t r = R - i;
    if (r == 0) return;
    thread_local std::vector<double> a_pad, c_pad;
    a_pad.assign(size_t(8 * m), 0.0);
    c_pad.assign(size_t(8 * n), 0.0);
    for (int64_t k = 0; k < m; ++k)
        for (int64_t t = 0; t < r; ++t) a_pad[size_t(k * 8 + t)] = A[k * R + i + t];
    if (accumulate)
        for (int64_t j = 0; j < n; ++j)
            for (int64_t t = 0; t < r; ++t) c_pad[size_t(j * 8 + t)] = C[j * R + i + t];
    eight_rows(a_pad.data(), 8, m, ks, nk, W, n, c_pad.data(), 8, accumulate);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t t = 0; t < r; ++t) C[j * R + i + t] = c_pad[size_t(j * 8 + t)];
}
#endif

bool detect() {
#ifdef QCERT_GEMM_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

}  // namespace

bool fast_kernel() {
    static const bool has = detect();
    return has;
}

void multiply(const ConstMapMat& A, const Mat& W, MapMat& C, bool accumulate, const std::vector<int32_t>* live) {
#ifdef QCERT_GEMM_AVX2
    if (fast_kernel()) {
        thread_local std::vector<int32_t> all;
        if (!live) {
            all.resize(size_t(A.cols()));
            for (int64_t k = 0; k < A.cols(); ++k) all[size_t(k)] = int32_t(k);
        }
        const std::vector<int32_t>& ks = live ? *live : all;
        kernel_avx2(A.data(), A.rows(), A.cols(), ks.data(), int64_t(ks.size()), W.data(), W.cols(), C.data(), accumulate);
        return;
    }
#endif
    if (accumulate) C.noalias() += A * W;
    else C.noalias() = A * W;
}

}  // namespace qcert::gemm
