// "How many bits does it take?": one model, a range of bit-widths of a uniform
// scheme family, and for each width the float and quantized accuracy on the data,
// the robustness verdicts of chosen samples at chosen radii (decided by the
// portfolio, verify.hpp), the certified error bound |g - f| over the samples' L-inf
// balls with its lower bound (errbound.hpp), the parameter robustness where the
// network is small enough (params.hpp), and the samples whose robustness is not
// monotone in the bits. Optionally one more point: the per-layer strategy that
// `synthesize` (synth.hpp) finds for the samples and radii (family "synth").
//
//   qcert::SweepOptions o;
//   o.model = "net.onnx"; o.families = {"aaai2021"}; o.bits_lo = 4; o.bits_hi = 8;
//   o.samples = {0, 1, 2}; o.eps = {1, 2}; o.results_path = "out/results.jsonl";
//   qcert::Dataset d = qcert::read_idx(images, labels);
//   qcert::SweepResult r = qcert::run_sweep(o, d);
//
// Every decided query is appended to `results_path` (JSON lines, ResultLog) as soon as
// it is decided; a second run with the same file skips what is decided there.
#pragma once

#include "qcert/io.hpp"
#include "qcert/model.hpp"
#include "qcert/verify.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qcert {

// The scheme families a sweep can run: "fixed" (fixed:B, parameters only, real
// activations), "aaai2021" (aaai2021:B) and "qebverif" (qebverif:B).
const std::vector<std::string>& sweep_families();
// The scheme spec of family `family` at `bits`, e.g. "aaai2021:6"; InputError for an unknown family.
std::string sweep_scheme(const std::string& family, int bits);

struct SweepOptions {
    std::string model;
    double prune = 0.0;                    // prune this fraction first (as --prune)
    std::vector<std::string> families = {"aaai2021"};
    int bits_lo = 2, bits_hi = 8;          // inclusive, 1..32
    std::vector<int64_t> samples;          // samples for robustness and parameter robustness
    std::vector<int64_t> eps;              // L-inf radii (integer input units); empty: no robustness
    int64_t accuracy_limit = -1;           // accuracy on the first N samples (-1: all)
    VerifyOptions verify;                  // per robustness query (timeout_s, methods)
    unsigned jobs = 0;                     // queries in parallel (0: one per core)
    // Parameter robustness (params.hpp) runs at each sample when the network has at
    // most this many parameters (0: never); each analysis gets params_timeout_s.
    int64_t params_max_parameters = 1000;
    double params_timeout_s = 10.0;
    // The certified error bound at each point: for every sample, error_bound of |g - f| over
    // all outputs on the sample's L-inf ball of radius bound_radius (data units, clipped to
    // [0, 255] for image data); -1: the largest of eps (0 without eps). Each query stops at
    // bound_max_splits splits (deterministic) or bound_timeout_s, whichever comes first.
    // bound_samples > 0: only the first that many of `samples` (the maximum is over those).
    bool bound = true;
    int64_t bound_radius = -1;
    int64_t bound_samples = -1;
    double bound_timeout_s = 10.0;
    int64_t bound_max_splits = 20;
    // The synthesized per-layer strategy (synthesize, synth.hpp) as one more point: searched
    // over bits_lo..bits_hi per layer for the robustness of the samples at every eps (real
    // balls), synth_timeout_s per property and candidate; then its accuracy, robustness
    // (check_robust, sound) and error bound like any point.
    bool synth = false;
    double synth_timeout_s = 10.0;
    std::string results_path;              // JSON lines; empty: nothing remembered
    // Decide at most this many new queries, then stop (-1: no limit); the next run
    // with the same results file goes on from there.
    int64_t max_new_queries = -1;
    // Only the queries with index % shard_count == shard_index are decided here (for
    // distribution over processes); the others are taken from the results file if there.
    int shard_index = 0, shard_count = 1;
    // Called (from worker threads, one at a time) with every record as it is decided or reused.
    std::function<void(const nlohmann::json&, int64_t done, int64_t total)> on_record;
};

struct VerdictCounts {
    int64_t holds = 0, violated = 0, unknown = 0, misclassified = 0;
    int64_t total() const { return holds + violated + unknown + misclassified; }
    void add(Verdict v);
};

// Parameter robustness at the chosen samples: can a perturbation of every weight and
// bias within its rounding set (params.hpp, perturbation_from_scheme) change the class?
struct ParamsCounts {
    int64_t class_fixed = 0;       // proved: the class cannot change
    int64_t class_can_change = 0;  // a witness changes it
    int64_t undecided = 0;
    double max_confidence_change = 0;  // the largest certified upper bound over the samples
};

// The certified error bound of a point: the maximum over the samples' balls.
struct BoundSummary {
    double upper = 0;              // proved: |g(x)_k - f(x)_k| <= upper on every ball, every output
    double lower = 0;              // re-evaluated |g - f| at a witness in one of the balls
    int64_t lower_sample = -1;     // the sample whose ball holds that witness
    int64_t balls = 0;             // balls bounded (the maximum is over these)
    int64_t splits = 0;            // summed over the balls
    int64_t stopped = 0;           // balls whose search stopped at the split or time limit
    double time_s = 0;             // summed over the balls
};

// One bit-width of one family, or the synthesized strategy (family "synth").
struct SweepPoint {
    std::string family, scheme;
    int bits = 0;                  // uniform: the width; synth: the largest per-layer width
    std::vector<int> layer_bits;   // synth: bits per layer (quadapter:B1,...,Bn); empty for uniform points
    int total_bits() const;        // synth: the sum over layers; uniform: bits
    std::string unavailable;       // why the family has no scheme at this width ("" if it has)
    bool integer = false;          // exact integer semantics: robustness can be decided
    std::string robustness_note;   // why robustness was not decided at this point ("" when it was)
    std::optional<Accuracy> accuracy;            // quantized accuracy
    std::map<int64_t, VerdictCounts> robustness;  // by eps
    std::optional<ParamsCounts> params;
    std::optional<BoundSummary> bound;
    std::string bound_note;        // why the bound was not computed here ("" when it was)
    // synth: properties proved at layer_bits / kept (proved on the float network) / all.
    int64_t synth_proved = 0, synth_kept = 0, synth_properties = 0;
    double synth_time_s = 0;
};

// A sample robust at `robust_bits` but not at the larger `failing_bits` (violated or
// misclassified there): robustness that is not monotone in the number of bits.
struct NonMonotone {
    std::string family;
    int64_t sample = 0, eps = 0;
    int robust_bits = 0, failing_bits = 0;
    Verdict failing_verdict = Verdict::Violated;
};

struct RobustRecord {
    std::string family;
    int bits = 0;
    int64_t sample = 0, eps = 0;
    Verdict verdict = Verdict::Unknown;
};

struct SweepResult {
    SweepOptions options;                  // as run (callbacks dropped)
    std::string data_source;
    int64_t parameters = 0;                // of the float network
    std::string params_note;               // why parameter robustness did not run ("" when it did)
    int64_t bound_radius = 0;              // the radius the bounds are over (when options.bound)
    std::string synth_note;                // why the synth point is missing ("" when it is there or not asked)
    Accuracy float_accuracy;
    std::vector<SweepPoint> points;        // families in order, bits ascending
    std::vector<RobustRecord> robust;      // every robustness verdict known
    std::vector<NonMonotone> non_monotone;
    int64_t queries = 0;                   // all queries of the sweep
    int64_t decided_now = 0, reused = 0;   // decided in this run, taken from the results file
    int64_t missing = 0;                   // not decided (limit reached, or another shard's)
    double time_s = 0.0;
};

// Runs (or resumes) the sweep. Throws InputError on bad options or data, and when the
// results file belongs to another model or data set.
SweepResult run_sweep(const SweepOptions& o, const Dataset& data);
// The checks run_sweep starts with (families, bits, samples, eps, timeouts, shards).
void check_sweep_options(const SweepOptions& o, const Dataset& data);

// Samples robust at some width but not at a larger one of the same family and eps.
std::vector<NonMonotone> find_non_monotone(const std::vector<RobustRecord>& robust);

// A record a re-run keeps: everything but robustness Unknown (a timeout, say) and
// undecided parameter questions, which a later run asks again.
bool is_final_sweep_record(const nlohmann::json& record);

// Appends to the results file `into` every record of `records` (JSON lines, as another
// process's results file holds them) whose key `into` does not have with a final answer
// yet; returns how many were appended. For merging the results of several processes.
int64_t merge_sweep_records(const std::string& into, const std::string& records);

// Writes the results file's records as CSV (one row per query), through a temporary file.
void write_sweep_csv(const std::string& results_jsonl, const std::string& csv_path);

}  // namespace qcert
