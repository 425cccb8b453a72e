// The sweep's error-bound and synthesized-strategy queries (sweep.cpp plans them):
// the ball around a sample, one bound query and its record, the synthesis record,
// and a robustness query of the synth point decided by synth's sound check.
#pragma once

#include "qcert/errbound.hpp"
#include "qcert/io.hpp"
#include "qcert/model.hpp"
#include "qcert/sweep.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qcert::sweep_points {

// The float network sees raw / divisor: 255 for 8-bit images, 1 for CSV data.
double data_divisor(const Dataset& d);

// The L-inf ball of `radius` (data units) around a sample, clipped to [0, 255] for image data.
void sample_ball(const Dataset& d, int64_t sample, double radius, std::vector<double>& lo, std::vector<double>& hi);

// The pair (float network, the point's twin) the bound queries use: the integer twin in its
// exact semantics when the scheme has one, else the real twin. nullopt and `why` when the
// bound library cannot take it (e.g. scales that are not powers of two).
std::optional<ErrPair> bound_pair(const Subject& s, const Dataset& d, std::string& why);

// error_bound of |g - f| over all outputs on the sample's ball, as a results-file record.
nlohmann::json decide_bound(const SweepPoint& p, const ErrPair& pair, const Dataset& d, int64_t sample, int64_t radius,
                            const SweepOptions& o, unsigned threads);
// Adds a bound record to the point's summary (the maximum over the balls).
void add_bound(BoundSummary& b, const nlohmann::json& record);

// The synthesis over the sweep's samples and eps (real balls), as a record: bits per layer,
// proved / kept / properties, candidates, time.
nlohmann::json decide_synth(const BlockNet& net, const Dataset& d, const SweepOptions& o, unsigned threads);
// The key of the synthesis record: its search settings.
std::string synth_key(const SweepOptions& o);

// Robustness of the synth point at a sample: misclassified (the twin's class at the sample),
// else check_robust on the real ball (proved / refuted with a re-checked input / unknown).
nlohmann::json decide_synth_robust(const SweepPoint& p, const Subject& s, const Dataset& d, int64_t sample, int64_t eps,
                                   double timeout_s);

}  // namespace qcert::sweep_points
