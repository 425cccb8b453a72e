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
// Which of the eight rows of a block exist (the last block of a matrix may have 1 to 7): lane
// masks for the two halves. Masked-off lanes load as zero, are never stored and never fault.
struct RowMask {
    __m256i lo, hi;
};
__attribute__((target("avx2"))) inline RowMask row_mask(int64_t rows) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return {_mm256_cmpgt_epi64(_mm256_set1_epi64x(rows), lane), _mm256_cmpgt_epi64(_mm256_set1_epi64x(rows - 4), lane)};
}

template <bool Masked>
__attribute__((target("avx2,fma"), always_inline)) inline __m256d load(const double* p, __m256i mask) {
    if constexpr (Masked) return _mm256_maskload_pd(p, mask);
    else return _mm256_loadu_pd(p);
}
template <bool Masked>
__attribute__((target("avx2,fma"), always_inline)) inline void store(double* p, __m256i mask, __m256d v) {
    if constexpr (Masked) _mm256_maskstore_pd(p, mask, v);
    else _mm256_storeu_pd(p, v);
}

// Eight rows (or the rows in `mask`) by Q columns of C = A W (or += A W): A's rows start at A
// with leading dimension lda, C's at C with leading dimension ldc, W's Q columns at W with
// leading dimension m. The block lives in registers over the inner dimension, of which only the
// indices ks[0 .. nk) are visited (A's other columns are zero: skipping them leaves every sum
// as it was, bit for bit, since a fused a * w + c with a = 0 returns c). Every entry of C is
// the same chain of fused multiply-adds over the visited k in ascending order whatever Q is.
template <int Q, bool Masked>
__attribute__((target("avx2,fma"), always_inline)) inline void block(const double* A, int64_t lda, int64_t m, const int32_t* ks,
                                                                     int64_t nk, const double* W, double* C, int64_t ldc,
                                                                     bool accumulate, RowMask mask) {
    __m256d c[Q][2];
    for (int q = 0; q < Q; ++q) {
        c[q][0] = accumulate ? load<Masked>(C + q * ldc, mask.lo) : _mm256_setzero_pd();
        c[q][1] = accumulate ? load<Masked>(C + q * ldc + 4, mask.hi) : _mm256_setzero_pd();
    }
    for (int64_t t = 0; t < nk; ++t) {
        const int64_t k = ks[t];
        const __m256d a0 = load<Masked>(A + k * lda, mask.lo), a1 = load<Masked>(A + k * lda + 4, mask.hi);
        for (int q = 0; q < Q; ++q) {
            const __m256d w = _mm256_broadcast_sd(W + q * m + k);
            c[q][0] = _mm256_fmadd_pd(a0, w, c[q][0]);
            c[q][1] = _mm256_fmadd_pd(a1, w, c[q][1]);
        }
    }
    for (int q = 0; q < Q; ++q) {
        store<Masked>(C + q * ldc, mask.lo, c[q][0]);
        store<Masked>(C + q * ldc + 4, mask.hi, c[q][1]);
    }
}

// Eight rows of C (the rows in `mask` when Masked): blocks of four columns, and five at the end
// when five are left (a network's five inputs: one pass over A instead of a four-column block
// and a one-column tail).
template <bool Masked>
__attribute__((target("avx2,fma"))) void eight_rows(const double* A, int64_t lda, int64_t m, const int32_t* ks, int64_t nk,
                                                    const double* W, int64_t n, double* C, int64_t ldc, bool accumulate,
                                                    RowMask mask) {
    int64_t j = 0;
    while (j < n) {
        const double* w = W + j * m;
        double* c = C + j * ldc;
        switch (std::min<int64_t>(n - j, 5)) {
            case 5:
                if (n - j == 5) {
                    block<5, Masked>(A, lda, m, ks, nk, w, c, ldc, accumulate, mask);
                    j += 5;
                    break;
                }
                [[fallthrough]];
            case 4: block<4, Masked>(A, lda, m, ks, nk, w, c, ldc, accumulate, mask), j += 4; break;
            case 3: block<3, Masked>(A, lda, m, ks, nk, w, c, ldc, accumulate, mask), j += 3; break;
            case 2: block<2, Masked>(A, lda, m, ks, nk, w, c, ldc, accumulate, mask), j += 2; break;
            default: block<1, Masked>(A, lda, m, ks, nk, w, c, ldc, accumulate, mask), j += 1; break;
        }
    }
}

// Column-major A (R x m), W (m x n), C (R x n): blocks of eight rows, the last 1 to 7 rows
// masked; only the columns ks[0 .. nk) of A are visited.
__attribute__((target("avx2,fma"))) void kernel_avx2(const double* A, int64_t R, int64_t m, const int32_t* ks, int64_t nk,
                                                     const double* W, int64_t n, double* C, bool accumulate) {
    int64_t i = 0;
    const RowMask all = row_mask(8);
    for (; i + 8 <= R; i += 8) eight_rows<false>(A + i, R, m, ks, nk, W, n, C + i, R, accumulate, all);
    if (i < R) eight_rows<true>(A + i, R, m, ks, nk, W, n, C + i, R, accumulate, row_mask(R - i));
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

namespace {

// C (R x n) = A W or += A W, all column-major, W with leading dimension m = A's columns.
void product(const ConstMapMat& A, const double* W, int64_t n, double* C, bool accumulate, const std::vector<int32_t>* live) {
#ifdef QCERT_GEMM_AVX2
    if (fast_kernel()) {
        thread_local std::vector<int32_t> all;
        if (!live) {
            all.resize(size_t(A.cols()));
            for (int64_t k = 0; k < A.cols(); ++k) all[size_t(k)] = int32_t(k);
        }
        const std::vector<int32_t>& ks = live ? *live : all;
        kernel_avx2(A.data(), A.rows(), A.cols(), ks.data(), int64_t(ks.size()), W, n, C, accumulate);
        return;
    }
#endif
    const ConstMapMat Wm(W, A.cols(), n);
    MapMat Cm(C, A.rows(), n);
    if (accumulate) Cm.noalias() += A * Wm;
    else Cm.noalias() = A * Wm;
}

}  // namespace

void multiply(const ConstMapMat& A, const Mat& W, MapMat& C, bool accumulate, const std::vector<int32_t>* live) {
    product(A, W.data(), W.cols(), C.data(), accumulate, live);
}

void multiply(const Mat& A, const Vec& x, Vec& y, bool accumulate) {
    product(ConstMapMat(A.data(), A.rows(), A.cols()), x.data(), 1, y.data(), accumulate, nullptr);
}

}  // namespace qcert::gemm
