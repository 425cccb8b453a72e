// lambda_min(Z) >= t - gamma_{n+1} ||R||_F^2 - d - ||rad||_F, by a floating-point Cholesky
// factorisation of A = fl(mid - t I) that runs to completion:
//
//  - Weyl: |lambda_min(Z) - lambda_min(mid)| <= ||Z - mid||_2 <= ||rad||_F.
//  - A differs from mid - t I only on the diagonal, by d_i = |fl(mid_ii - t) - (mid_ii - t)|
//    (recovered exactly with TwoSum), so lambda_min(mid - t I) >= lambda_min(A) - max_i d_i.
//  - If the floating-point Cholesky of a symmetric A runs to completion (every pivot
//    positive), its computed factor R satisfies R^T R = A + dA with |dA| <= gamma_{n+1}
//    |R^T| |R| (Demmel; Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,
//    Thm 10.3; Rump, Verification of positive definiteness, BIT 46 (2006), who uses it
//    for any symmetric A). R^T R is PSD, so lambda_min(A) >= -||dA||_2 >=
//    -gamma_{n+1} || |R| ||_2^2 >= -gamma_{n+1} ||R||_F^2. Underflow adds at most
//    eta = 2^-1074 per operation: outward::tiny covers it.
//
// The shift t is the floating-point estimate of lambda_min(mid) (Eigen) minus a small
// margin, lowered until the factorisation succeeds. Every bound term is rounded upward.
#include "bounds/min_eigenvalue.hpp"
#include "bounds/outward.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>

namespace qcert {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Plain right-looking Cholesky, upper factor R (A = R^T R); false if a pivot is not positive.
bool cholesky(const Mat& A, Mat& R) {
    const int64_t n = A.rows();
    R = Mat::Zero(n, n);
    for (int64_t j = 0; j < n; ++j) {
        double s = A(j, j);
        for (int64_t k = 0; k < j; ++k) s -= R(k, j) * R(k, j);
        if (!(s > 0) || !std::isfinite(s)) return false;
        R(j, j) = std::sqrt(s);
        for (int64_t i = j + 1; i < n; ++i) {
            double t = A(j, i);
            for (int64_t k = 0; k < j; ++k) t -= R(k, j) * R(k, i);
            R(j, i) = t / R(j, j);
        }
    }
    return true;
}

// sum of squares rounded upward (nonnegative terms: inflate covers the sum's rounding).
double frobenius_squared_up(const Mat& R) {
    double s = 0;
    for (int64_t i = 0; i < R.rows(); ++i)
        for (int64_t k = 0; k < R.cols(); ++k) s += R(i, k) * R(i, k);
    return outward::inflate(s, double(R.size()));
}

// The bound for one shift t; -inf if the factorisation fails.
double bound_at_shift(const Mat& mid, double t, double rad_norm) {
    const int64_t n = mid.rows();
    Mat A = mid;
    double d = 0;  // max |fl(mid_ii - t) - (mid_ii - t)|
    for (int64_t i = 0; i < n; ++i) {
        const double a = mid(i, i), r = a - t;
        // TwoSum: the exact error of the subtraction.
        const double bb = r - a, err = (a - (r - bb)) + (-t - bb);
        A(i, i) = r;
        d = std::max(d, std::fabs(err));
    }
    Mat R;
    if (!cholesky(A, R)) return kNegInf;
    const double chol = outward::up(outward::gamma(double(n + 1)) * frobenius_squared_up(R));
    const double loss = outward::up(outward::up(outward::up(chol + d) + rad_norm) + outward::tiny(double(n * n), chol));
    return outward::down(t - loss);
}

}  // namespace

double min_eigenvalue_lower_bound(const Mat& mid, const Mat& rad) {
    const int64_t n = mid.rows();
    if (n == 0) return std::numeric_limits<double>::infinity();
    if (!mid.allFinite() || !rad.allFinite()) return kNegInf;
    // A symmetric centre: the upper triangle mirrored, the asymmetry added to the radius.
    Mat c = mid, r = rad;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < i; ++k) {
            c(i, k) = mid(k, i);
            const double w = outward::up(std::max(rad(i, k), rad(k, i)) + outward::up(std::fabs(mid(i, k) - mid(k, i))));
            r(i, k) = r(k, i) = w;
        }
    double rad_sq = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < n; ++k) rad_sq += r(i, k) * r(i, k);
    const double rad_norm = outward::up(std::sqrt(outward::inflate(rad_sq, double(n * n))));
    const double estimate = Eigen::SelfAdjointEigenSolver<Mat>(c, Eigen::EigenvaluesOnly).eigenvalues()(0);
    const double scale = std::max(c.cwiseAbs().maxCoeff(), 1e-300);
    double margin = 1e-13 * scale * double(n);
    for (int attempt = 0; attempt < 30; ++attempt, margin *= 8) {
        const double b = bound_at_shift(c, estimate - margin, rad_norm);
        if (b > kNegInf) return b;
    }
    return kNegInf;
}

}  // namespace qcert
