// Linear bounds over a real input box, sound in floating point.
//
// A `Forms` holds one linear function per quantity: row i is C.row(i) * u + d[i]. A
// `LinBounds` says lo(u) <= value <= hi(u) for every u of the box, where lo and hi are
// evaluated in EXACT real arithmetic with the stored double coefficients. Every
// operation that makes new forms computes them in floating point and moves the
// constant outward by a bound on the rounding error of the whole row (outward.hpp,
// fact 2: a sum of n products in any order is within gamma_n * sum |p| of the exact
// sum), taking |u_k| <= mag_k over the box. Concrete values (the min / max of a form
// over the box) are rounded outward the same way.
#pragma once

#include "qcert/errbound.hpp"
#include "qcert/network.hpp"

#include <vector>

namespace qcert::linear {

struct Box {
    Vec lo, hi;
    Vec mag;  // max(|lo|, |hi|)
    Box(const std::vector<double>& l, const std::vector<double>& h);
    int64_t size() const { return lo.size(); }
};

struct Forms {
    Mat C;  // rows: quantities, cols: inputs
    Vec d;
    static Forms zero(int64_t rows, int64_t inputs) { return {Mat::Zero(rows, inputs), Vec::Zero(rows)}; }
};

struct LinBounds {
    Forms lo, hi;
    Vec clo, chi;  // concrete bounds on the quantity (may be tighter than the forms' extremes)
};

// Upper bound on |row(u)| over the box, per row, rounded up.
Vec magnitude(const Forms& F, const Box& B);
// Sound max / min of each row over the box.
Vec max_over(const Forms& F, const Box& B);
Vec min_over(const Forms& F, const Box& B);

// One summand W x of an affine map, with |W_true - W| <= W_err entrywise (W_err may be null: exact).
struct AffineTerm {
    const Mat* W;
    const Mat* W_err;
    const LinBounds* x;
    const SignSplit* split = nullptr;  // W's (sign_split), when the caller keeps it
};
// Bounds of sum_t W_t x_t + b, |b_true - b| <= b_err (b_err may be null); concrete
// bounds filled from the forms.
LinBounds affine(const std::vector<AffineTerm>& terms, const Vec& b, const Vec* b_err, const Box& B);

// A line s z + t with s >= 0.
struct Line {
    double s = 0, t = 0;
};
// c(z) = min(max(z, lo), hi) on [l, u] (l <= u finite, lo <= hi):
// c(z) <= upper.s z + upper.t and c(z) >= lower.s z + lower.t, checked at every
// breakpoint in outward arithmetic (the offsets are moved until they hold).
Line clamp_upper_line(double l, double u, double lo, double hi);
Line clamp_lower_line(double l, double u, double lo, double hi);
inline double clamp_value(double z, double lo, double hi) { return std::min(std::max(z, lo), hi); }

// Every row i of `out` = s_i * row i of `in` + t_i (s_i >= 0), the rounding error moved outward
// (upward when upper, else downward) from in_mag (magnitude(in, B)). A row with s_i = 0 is the
// constant t_i, one with s_i = 1 and t_i = 0 a copy, both exact.
void apply_lines(const Forms& in, const Vec& s, const Vec& t, bool upper, const Vec& in_mag, Forms& out);
// out = a - b row by row (a difference of two forms), moved outward from mag_a and mag_b.
void subtract_forms(const Forms& a, const Forms& b, bool upper, const Vec& mag_a, const Vec& mag_b, Forms& out);
// Adds the constant c to row i, rounding outward.
void shift_row(Forms& F, int64_t i, double c, bool upper);

}  // namespace qcert::linear
