// C = A W (or C += A W) for the small dense products of the back-substitution
// (A: tens of rows by tens of columns). The build targets baseline x86-64 (SSE2), where
// Eigen's kernel does two multiply-adds per instruction; on a CPU with AVX2 and FMA (checked
// at run time) a register-blocked kernel does four per instruction, fused. Either way C is
// a sum of products in some order, each entry within gamma_n of the exact value (Higham;
// a fused multiply-add only removes a rounding): the error bounds of the callers hold as
// they are.
#pragma once

#include "qcert/network.hpp"

#include <cstdint>
#include <vector>

namespace qcert::gemm {

using MapMat = Eigen::Map<Mat>;
using ConstMapMat = Eigen::Map<const Mat>;

// C (rows of A by cols of W) = A W, or += when accumulate. C must not alias A or W.
// `live` (ascending; null: all): the only inner indices k whose terms may be nonzero (elsewhere
// A's column k or W's row k is zero). The fused kernel leaves the others out, which changes no
// bit of C (a fused a * w + c with a or w = 0 is c, both finite); Eigen's product takes them all.
void multiply(const ConstMapMat& A, const Mat& W, MapMat& C, bool accumulate, const std::vector<int32_t>* live = nullptr);

// y (A's rows) = A x, or += when accumulate: the same kernel with one column (y must not alias x).
void multiply(const Mat& A, const Vec& x, Vec& y, bool accumulate);

// Whether multiply uses the AVX2/FMA kernel on this CPU.
bool fast_kernel();

}  // namespace qcert::gemm
