// The matrices of ONNX's linear operators (Gemm, MatMul, Conv) acting on the flat
// activation, whichever operand the activation is.
//
// Each builder is a template over the entry type and a getter: `coef(src)` gives
// the coefficient contributed by element `src` of the constant operand. The same
// placement then yields the float matrix (coef = alpha * value), the integer
// matrix of a quantized model (coef = q - zero) and its per-entry scales.
#pragma once

#include "io/onnx_util.hpp"
#include "qcert/error.hpp"

#include <Eigen/Dense>
#include <fmt/format.h>

namespace qcert::onnxio {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A matrix may have as many entries as the stored constant it comes from
// (`backing`), or kMaxExpanded when it repeats fewer stored values.
inline void check_matrix_size(int64_t rows, int64_t cols, int64_t backing, const std::string& file,
                              const std::string& where) {
    const int64_t limit = std::min(kMaxElements, std::max(kMaxExpanded, backing));
    if (rows > 0 && cols > limit / rows)
        throw InputError(file, fmt::format("{}: the layer's {}x{} matrix is too large", where, rows, cols));
}

// Gemm: Y = A' * B' with A' = transA ? A^T : A and B' likewise, all 2-D. The
// activation is A when act_is_a, else B; `k` is the constant operand's shape.
struct GemmShape {
    int64_t M = 0, K = 0, N = 0;
    Shape act, cst;
    bool act_is_a = true, trans_a = false, trans_b = false;
};

inline GemmShape gemm_shape(const Shape& act, const Shape& cst, bool act_is_a, bool ta, bool tb,
                            const std::string& file, const std::string& where) {
    if (act.size() != 2 || cst.size() != 2)
        throw InputError(file, fmt::format("{}: Gemm needs 2-D operands, got {} and {}", where, shape_str(act),
                                           shape_str(cst)));
    const Shape& a = act_is_a ? act : cst;
    const Shape& b = act_is_a ? cst : act;
    GemmShape g;
    g.act = act;
    g.cst = cst;
    g.act_is_a = act_is_a;
    g.trans_a = ta;
    g.trans_b = tb;
    g.M = ta ? a[1] : a[0];
    const int64_t ka = ta ? a[0] : a[1];
    const int64_t kb = tb ? b[1] : b[0];
    g.N = tb ? b[0] : b[1];
    if (ka != kb)
        throw InputError(file, fmt::format("{}: Gemm shapes do not chain: A{} is {} and B{} is {}", where,
                                           ta ? "^T" : "", shape_str(ta ? Shape{a[1], a[0]} : a), tb ? "^T" : "",
                                           shape_str(tb ? Shape{b[1], b[0]} : b)));
    g.K = ka;
    checked_count({g.M, g.N}, file, where + ": Gemm output");
    return g;
}

// Rows: Y flat (M*N); columns: the activation flat.
template <class T, class Coef>
RowMat<T> gemm_matrix(const GemmShape& g, Coef coef, const std::string& file, const std::string& where) {
    const Shape& a = g.act_is_a ? g.act : g.cst;
    const Shape& b = g.act_is_a ? g.cst : g.act;
    const int64_t cols = g.act[0] * g.act[1];
    check_matrix_size(g.M * g.N, cols, g.cst[0] * g.cst[1], file, where);
    RowMat<T> W = RowMat<T>::Zero(g.M * g.N, cols);
    for (int64_t m = 0; m < g.M; ++m)
        for (int64_t k = 0; k < g.K; ++k) {
            const int64_t ia = g.trans_a ? k * a[1] + m : m * a[1] + k;
            for (int64_t n = 0; n < g.N; ++n) {
                const int64_t ib = g.trans_b ? n * b[1] + k : k * b[1] + n;
                if (g.act_is_a) W(m * g.N + n, ia) += coef(ib);
                else W(m * g.N + n, ib) += coef(ia);
            }
        }
    return W;
}

// MatMul with numpy semantics (1-D operands promoted, batch dims broadcast).
struct MatMulShape {
    Shape a, b;        // as given
    Shape pa, pb;      // promoted to rank >= 2
    Shape batch;       // broadcast batch dims
    Shape out;         // result shape (promoted dims removed)
    int64_t M = 0, K = 0, N = 0;
    bool act_is_a = true;
};

inline MatMulShape matmul_shape(const Shape& act, const Shape& cst, bool act_is_a, const std::string& file,
                                const std::string& where) {
    MatMulShape s;
    s.act_is_a = act_is_a;
    s.a = act_is_a ? act : cst;
    s.b = act_is_a ? cst : act;
    if (s.a.empty() || s.b.empty()) throw InputError(file, where + ": MatMul of a scalar");
    s.pa = s.a.size() == 1 ? Shape{1, s.a[0]} : s.a;
    s.pb = s.b.size() == 1 ? Shape{s.b[0], 1} : s.b;
    s.M = s.pa[s.pa.size() - 2];
    s.K = s.pa.back();
    s.N = s.pb.back();
    if (s.pb[s.pb.size() - 2] != s.K)
        throw InputError(file, fmt::format("{}: MatMul shapes do not chain: {} times {}", where, shape_str(s.a),
                                           shape_str(s.b)));
    const Shape ba(s.pa.begin(), s.pa.end() - 2), bb(s.pb.begin(), s.pb.end() - 2);
    if (!broadcast_shapes(ba, bb, s.batch))
        throw InputError(file, fmt::format("{}: MatMul batch dimensions do not broadcast: {} and {}", where,
                                           shape_str(s.a), shape_str(s.b)));
    s.out = s.batch;
    if (s.a.size() > 1) s.out.push_back(s.M);
    if (s.b.size() > 1) s.out.push_back(s.N);
    checked_count(s.out, file, where + ": MatMul output");  // bounds batch * M * N
    return s;
}

template <class T, class Coef>
RowMat<T> matmul_matrix(const MatMulShape& s, Coef coef, const std::string& file, const std::string& where) {
    int64_t nb = 1;
    for (int64_t d : s.batch) nb *= d;
    int64_t cols = 1, backing = 1;
    for (int64_t d : (s.act_is_a ? s.a : s.b)) cols *= d;
    for (int64_t d : (s.act_is_a ? s.b : s.a)) backing *= d;
    check_matrix_size(nb * s.M * s.N, cols, backing, file, where);
    RowMat<T> W = RowMat<T>::Zero(nb * s.M * s.N, cols);
    const Shape ba(s.pa.begin(), s.pa.end() - 2), bb(s.pb.begin(), s.pb.end() - 2);
    const std::vector<int64_t> bst = strides_of(s.batch);
    // Flat offset of a broadcast batch index in an operand's own batch dims.
    auto batch_offset = [&](int64_t bi, const Shape& own) {
        int64_t off = 0, stride = 1;
        for (size_t d = own.size(); d-- > 0;) {
            const size_t bd = d + (s.batch.size() - own.size());
            const int64_t idx = (bi / bst[bd]) % s.batch[bd];
            if (own[d] != 1) off += idx * stride;
            stride *= own[d];
        }
        return off;
    };
    const int64_t M = s.M, K = s.K, N = s.N;
    for (int64_t bi = 0; bi < nb; ++bi) {
        const int64_t oa = batch_offset(bi, ba) * M * K, ob = batch_offset(bi, bb) * K * N;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t k = 0; k < K; ++k)
                for (int64_t n = 0; n < N; ++n) {
                    const int64_t row = (bi * M + m) * N + n;
                    const int64_t ia = oa + m * K + k, ib = ob + k * N + n;
                    if (s.act_is_a) W(row, ia) += coef(ib);
                    else W(row, ib) += coef(ia);
                }
    }
    return W;
}

// The dense matrix of a 2-D convolution on a [C, H, W] input (for the integer path,
// whose layers are dense). coef(o, c, kh, kw) is the kernel entry.
template <class T, class Coef>
RowMat<T> conv_matrix(const ConvGeometry& g, int64_t H, int64_t W, int64_t OH, int64_t OW, Coef coef,
                      const std::string& file, const std::string& where) {
    check_matrix_size(g.out_channels * OH * OW, g.in_channels * H * W, 0, file, where);
    RowMat<T> M = RowMat<T>::Zero(g.out_channels * OH * OW, g.in_channels * H * W);
    for (int64_t o = 0; o < g.out_channels; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t row = (o * OH + oh) * OW + ow;
                for (int64_t c = 0; c < g.in_channels; ++c)
                    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
                        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                            if (iw < 0 || iw >= W) continue;
                            M(row, (c * H + ih) * W + iw) += coef(o, c, kh, kw);
                        }
                    }
            }
    return M;
}

}  // namespace qcert::onnxio
