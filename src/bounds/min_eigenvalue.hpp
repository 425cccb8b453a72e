// A rigorous lower bound on the smallest eigenvalue of a symmetric matrix known up to
// entrywise errors: every symmetric Z with |Z - mid| <= rad (entrywise) has
// lambda_min(Z) >= the returned value. Used to turn an SDP solver's floating-point
// dual solution into a proof (src/analysis/errbound_sdp.cpp).
#pragma once

#include "qcert/network.hpp"

namespace qcert {

// -inf when no bound could be certified (non-finite data, or every shifted Cholesky failed).
double min_eigenvalue_lower_bound(const Mat& mid, const Mat& rad);

}  // namespace qcert
