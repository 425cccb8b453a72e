// The rigorous lower bound on the smallest eigenvalue against Eigen's eigenvalues.
#include "bounds/min_eigenvalue.hpp"

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

double lambda_min(const Mat& A) { return Eigen::SelfAdjointEigenSolver<Mat>(A, Eigen::EigenvaluesOnly).eigenvalues()(0); }

}  // namespace

TEST(MinEigenvalue, BelowTheSmallestEigenvalueAndClose) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> N(0, 1);
    for (int t = 0; t < 40; ++t) {
        const int n = 1 + int(rng() % 40);
        Mat G = Mat::NullaryExpr(n, n, [&] { return N(rng); });
        Mat A = G * G.transpose();                 // PSD
        if (t % 2) A -= 0.5 * Mat::Identity(n, n);  // or indefinite
        if (t % 5 == 0) {                          // rank deficient: lambda_min = 0
            Mat H = Mat::NullaryExpr(n, std::max(1, n / 2), [&] { return N(rng); });
            A = H * H.transpose();
        }
        A = 0.5 * (A + A.transpose()).eval();
        const double l = lambda_min(A), b = min_eigenvalue_lower_bound(A, Mat::Zero(n, n));
        const double scale = A.cwiseAbs().maxCoeff() * n;
        EXPECT_LE(b, l) << "n=" << n;
        EXPECT_GE(b, l - 1e-9 * scale) << "n=" << n;
    }
}

TEST(MinEigenvalue, CoversEveryMatrixWithinTheRadius) {
    std::mt19937_64 rng(9);
    std::normal_distribution<double> N(0, 1);
    std::uniform_real_distribution<double> U(-1, 1);
    for (int t = 0; t < 20; ++t) {
        const int n = 2 + int(rng() % 10);
        Mat G = Mat::NullaryExpr(n, n, [&] { return N(rng); });
        const Mat mid = G * G.transpose();
        const Mat rad = Mat::Constant(n, n, 0.05);
        const double b = min_eigenvalue_lower_bound(mid, rad);
        for (int s = 0; s < 20; ++s) {
            Mat E = Mat::NullaryExpr(n, n, [&] { return 0.05 * U(rng); });
            E = (0.5 * (E + E.transpose())).eval();
            EXPECT_LE(b, lambda_min(mid + E));
        }
        EXPECT_GE(b, lambda_min(mid) - 0.05 * n - 1e-9);
    }
}

TEST(MinEigenvalue, NonFiniteDataGivesNoBound) {
    Mat A = Mat::Identity(3, 3);
    A(1, 2) = A(2, 1) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(min_eigenvalue_lower_bound(A, Mat::Zero(3, 3)), -std::numeric_limits<double>::infinity());
}
