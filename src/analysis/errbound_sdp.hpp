// The SDP bound of Li, Drummond, Duncan (2021) on max s * (g - f)_k over a box, through SDPA
// (errbound_sdp.cpp): both networks' ReLU constraints in one moment matrix, the maximum of
// the difference; SDPA's floating-point multipliers are turned into a rigorous bound.
#pragma once

#include "qcert/errbound.hpp"

#include <limits>
#include <string>
#include <vector>

namespace qcert::errbound {

// Largest number of SDP variables (inputs + neurons of both networks) the SDP bound accepts.
inline constexpr int64_t kMaxSdpVariables = 300;

// Throws InputError with the reason when the pair is outside what the SDP bound handles:
// an integer twin, layers other than ReLU or linear (no clamps), or more than kMaxSdpVariables.
void check_sdp_supported(const ErrPair& p);

struct SdpResult {
    double value = 0;      // SDPA's estimate of max s (g - f)_k (floating point, not a proof)
    double bound = std::numeric_limits<double>::infinity();  // proved: s (g - f)_k <= bound on the box
    bool optimal = false;  // SDPA reported pdOPT
    std::string phase;     // SDPA's phase
    std::vector<double> input;  // SDPA's moment matrix's input row, in region units, clamped into the box
    int64_t variables = 0, constraints = 0;
};

// `root` is the differential (or naive) bound over the same box: its pre-activation bounds
// tighten the relaxation and bound the trace of the moment matrix.
SdpResult sdp_max_difference(const ErrPair& p, const DiffBound& root, const std::vector<double>& lo, const std::vector<double>& hi,
                             int64_t output, double sign);

}  // namespace qcert::errbound
