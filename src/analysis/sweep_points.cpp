// The sweep's error-bound and synthesized-strategy queries: see sweep_points.hpp.
#include "sweep_points.hpp"

#include "qcert/error.hpp"
#include "qcert/synth.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace qcert::sweep_points {

double data_divisor(const Dataset& d) { return d.float_scale > 0 ? std::round(1.0 / d.float_scale) : 1.0; }

void sample_ball(const Dataset& d, int64_t sample, double radius, std::vector<double>& lo, std::vector<double>& hi) {
    const Vec x = d.raw_sample(sample);
    lo.resize(size_t(x.size()));
    hi.resize(size_t(x.size()));
    for (int64_t j = 0; j < x.size(); ++j) {
        lo[size_t(j)] = x[j] - radius, hi[size_t(j)] = x[j] + radius;
        if (d.integral) lo[size_t(j)] = std::max(lo[size_t(j)], 0.0), hi[size_t(j)] = std::min(hi[size_t(j)], 255.0);
    }
}

std::optional<ErrPair> bound_pair(const Subject& s, const Dataset& d, std::string& why) {
    if (!s.quant) {
        why = "no twin";
        return std::nullopt;
    }
    if (s.quant->integer && !d.integral) {
        why = "the integer twin takes integer inputs and the data is not integral";
        return std::nullopt;
    }
    try {
        return s.quant->integer ? make_err_pair(s.blocks, *s.quant->integer, data_divisor(d))
                                : make_err_pair(s.blocks, s.quant->real, data_divisor(d));
    } catch (const InputError& e) {
        why = e.what();
        return std::nullopt;
    }
}

nlohmann::json decide_bound(const SweepPoint& p, const ErrPair& pair, const Dataset& d, int64_t sample, int64_t radius,
                            const SweepOptions& o, unsigned threads) {
    std::vector<double> lo, hi;
    sample_ball(d, sample, double(radius), lo, hi);
    std::vector<int64_t> outputs;
    for (int64_t k = 0; k < pair.output_size(); ++k) outputs.push_back(k);
    ErrBoundOptions eo;
    eo.timeout_s = o.bound_timeout_s;
    eo.max_splits = o.bound_max_splits;
    eo.threads = threads;
    const ErrBoundResult r = error_bound(pair, lo, hi, outputs, eo);
    nlohmann::json j = {{"kind", "bound"}, {"family", p.family}, {"bits", p.bits}, {"scheme", p.scheme}, {"sample", sample},
                        {"radius", radius}, {"upper", r.upper}, {"lower", r.lower}, {"witness_output", r.witness_output},
                        {"splits", r.splits}, {"method", r.method}, {"time_s", r.time_s}};
    if (!r.reason.empty()) j["reason"] = r.reason;
    return j;
}

void add_bound(BoundSummary& b, const nlohmann::json& j) {
    const double upper = j["upper"].get<double>(), lower = j["lower"].get<double>();
    b.upper = std::max(b.upper, upper);
    if (b.lower_sample < 0 || lower > b.lower) b.lower = lower, b.lower_sample = j["sample"].get<int64_t>();
    ++b.balls;
    b.splits += j["splits"].get<int64_t>();
    b.time_s += j["time_s"].get<double>();
    if (j.contains("reason")) ++b.stopped;
}

std::string synth_key(const SweepOptions& o) {
    std::string samples, eps;
    for (int64_t s : o.samples) samples += (samples.empty() ? "" : ",") + std::to_string(s);
    for (int64_t e : o.eps) eps += (eps.empty() ? "" : ",") + std::to_string(e);
    return fmt::format("synth:{}:{}:{:g}:{}:{}", o.bits_lo, o.bits_hi, o.synth_timeout_s, samples, eps);
}

nlohmann::json decide_synth(const BlockNet& net, const Dataset& d, const SweepOptions& o, unsigned threads) {
    std::vector<double> radii(o.eps.begin(), o.eps.end());
    SynthOptions so;
    so.min_bits = o.bits_lo;
    so.max_bits = o.bits_hi;
    so.timeout_s = o.synth_timeout_s;
    so.threads = threads;
    so.progress = false;
    if (!o.results_path.empty()) so.log_path = o.results_path + ".synth";  // synth's own log: a killed search resumes
    const SynthResult r = synthesize(net, robust_properties(d, o.samples, radii), data_divisor(d), so);
    return {{"kind", "synth"}, {"family", "synth"}, {"layer_bits", r.bits}, {"scheme", "quadapter:" + bits_str(r.bits)},
            {"method", r.method}, {"proved", r.proved}, {"kept", int64_t(r.kept.size())}, {"required", r.required},
            {"properties", int64_t(r.kept.size() + r.left_out.size())}, {"candidates", r.candidates}, {"time_s", r.time_s}};
}

nlohmann::json decide_synth_robust(const SweepPoint& p, const Subject& s, const Dataset& d, int64_t sample, int64_t eps,
                                   double timeout_s) {
    const int64_t label = d.labels[size_t(sample)], predicted = s.quantized_class(d, sample);
    nlohmann::json j = {{"kind", "robust"}, {"family", p.family}, {"bits", p.bits}, {"scheme", p.scheme}, {"sample", sample},
                        {"eps", eps}, {"label", label}, {"predicted", predicted}};
    if (predicted != label) {
        j["verdict"] = verdict_name(Verdict::Misclassified);
        j["method"] = "inference";
        j["time_s"] = 0.0;
        return j;
    }
    const RobustProperty prop = robust_properties(d, {sample}, {double(eps)}).front();
    const PropertyCheck c = check_robust(s.quant->real, prop, data_divisor(d), timeout_s);
    const Verdict v = c.verdict == CheckVerdict::Proved    ? Verdict::Holds
                      : c.verdict == CheckVerdict::Refuted ? Verdict::Violated
                                                           : Verdict::Unknown;
    j["verdict"] = verdict_name(v);
    j["method"] = "synth check: " + c.method;
    j["time_s"] = c.time_s;
    if (v == Verdict::Violated) j["counterexample"] = c.counterexample;
    if (v == Verdict::Unknown) j["reason"] = c.reason.empty() ? std::string("undecided") : c.reason;
    return j;
}

}  // namespace qcert::sweep_points
