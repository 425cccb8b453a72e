// The bit-width sweep: plan every query (accuracy, robustness, parameter robustness,
// error bound per bit-width; the synthesized strategy first when asked), decide those
// the results file does not have yet, then sum up.
#include "qcert/sweep.hpp"

#include "qcert/error.hpp"
#include "qcert/params.hpp"
#include "qcert/result_log.hpp"
#include "qcert/synth.hpp"
#include "run/parallel.hpp"
#include "sweep_points.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <mutex>

namespace qcert {

const std::vector<std::string>& sweep_families() {
    static const std::vector<std::string> f = {"fixed", "aaai2021", "qebverif"};
    return f;
}

std::string sweep_scheme(const std::string& family, int bits) {
    for (const std::string& f : sweep_families())
        if (f == family) return fmt::format("{}:{}", family, bits);
    throw InputError("--schemes", fmt::format("unknown scheme family '{}' (fixed, aaai2021, qebverif)", family));
}

int SweepPoint::total_bits() const {
    int t = 0;
    for (int b : layer_bits) t += b;
    return layer_bits.empty() ? bits : t;
}

void VerdictCounts::add(Verdict v) {
    switch (v) {
        case Verdict::Holds: ++holds; break;
        case Verdict::Violated: ++violated; break;
        case Verdict::Unknown: ++unknown; break;
        case Verdict::Misclassified: ++misclassified; break;
    }
}

namespace {

Verdict parse_verdict(const std::string& s) {
    for (Verdict v : {Verdict::Holds, Verdict::Violated, Verdict::Unknown, Verdict::Misclassified})
        if (s == verdict_name(v)) return v;
    throw InputError("results file", "unknown verdict '" + s + "'");
}

// The data's fingerprint (the model file's is fingerprint_file, result_log.hpp).
std::string data_fingerprint(const Dataset& d) {
    uint64_t h = fingerprint_bytes(d.raw.data(), d.raw.size() * sizeof(double));
    h = fingerprint_bytes(d.labels.data(), d.labels.size() * sizeof(int), h);
    return fingerprint_hex(h);
}

}  // namespace

void check_sweep_options(const SweepOptions& o, const Dataset& d) {
    if (o.families.empty()) throw InputError("--schemes", "is empty");
    for (const std::string& f : o.families) sweep_scheme(f, 8);
    if (o.bits_lo < 1 || o.bits_hi > 32)
        throw InputError("--bits", fmt::format("bit-widths must lie in 1..32, got {}:{}", o.bits_lo, o.bits_hi));
    if (o.bits_lo > o.bits_hi) throw InputError("--bits", fmt::format("range {}:{} is empty (lo > hi)", o.bits_lo, o.bits_hi));
    if (d.labels.empty()) throw InputError(d.source, "the data has no labels");
    for (int64_t s : o.samples)
        if (s < 0 || s >= d.count())
            throw InputError("--samples", fmt::format("sample {} is past the data ({} has {} samples)", s, d.source, d.count()));
    for (int64_t e : o.eps)
        if (e < 0) throw InputError("--eps", fmt::format("must be >= 0, got {}", e));
    if (!(o.verify.timeout_s > 0)) throw InputError("--timeout", "must be > 0");
    if (!(o.bound_timeout_s > 0)) throw InputError("--bound-timeout", "must be > 0");
    if (!(o.synth_timeout_s > 0)) throw InputError("--synth-timeout", "must be > 0");
    if (o.bound_radius < -1) throw InputError("--bound-radius", fmt::format("must be >= 0, got {}", o.bound_radius));
    if (o.bound_max_splits < 0) throw InputError("--bound-splits", fmt::format("must be >= 0, got {}", o.bound_max_splits));
    if (o.synth && (o.samples.empty() || o.eps.empty()))
        throw InputError("--synth", "needs --samples and --eps (the properties the strategy must keep)");
    if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count)
        throw InputError("sweep", fmt::format("shard {} of {} does not exist", o.shard_index, o.shard_count));
}

namespace {

// One bit-width of one family (or the synthesized strategy), ready to be asked.
struct PointModel {
    Subject subject;
    std::string robustness_note;  // why robustness is not decided here ("" when it is)
    std::optional<ErrPair> pair;  // float network and twin for the bound queries
    bool synth = false;           // robustness by synth's check_robust on real balls
};

// The kinds of question asked at each point: one accuracy, one robustness verdict per
// sample and eps, one parameter robustness per sample, one error bound per sample's ball.
enum class QueryKind { Accuracy, Robust, Params, Bound };

// How a point's queries are keyed: "aaai2021:6", or "synth:6,3" for the synthesized strategy.
std::string point_id(const SweepPoint& p) {
    return p.layer_bits.empty() ? fmt::format("{}:{}", p.family, p.bits) : "synth:" + bits_str(p.layer_bits);
}

struct Query {
    QueryKind kind;
    size_t point;
    int64_t sample = 0, eps = 0;
    std::string key;
};

nlohmann::json robust_record(const SweepPoint& p, const RobustnessResult& r) {
    nlohmann::json j = {{"kind", "robust"}, {"family", p.family}, {"bits", p.bits}, {"scheme", p.scheme},
                        {"sample", r.sample}, {"eps", r.eps}, {"label", r.label}, {"predicted", r.predicted},
                        {"verdict", verdict_name(r.outcome.verdict)}, {"method", r.outcome.method},
                        {"time_s", r.outcome.time_s}};
    if (r.outcome.verdict == Verdict::Violated) j["counterexample"] = r.outcome.counterexample;
    if (r.outcome.verdict == Verdict::Unknown) j["reason"] = r.outcome.reason;
    return j;
}

nlohmann::json params_record(const SweepPoint& p, int64_t sample, const ParamsResult& r) {
    nlohmann::json j = {{"kind", "params"}, {"family", p.family}, {"bits", p.bits}, {"scheme", p.scheme},
                        {"sample", sample}, {"nominal_class", r.nominal_class}, {"confidence", confidence_name(r.confidence)},
                        {"lower", r.lower}, {"upper", r.upper}, {"complete", r.complete},
                        {"stop_reason", r.stop_reason}, {"time_s", r.time_s}};
    j["class_can_change"] = r.class_can_change ? nlohmann::json(*r.class_can_change) : nlohmann::json(nullptr);
    return j;
}

nlohmann::json accuracy_record(const SweepPoint& p, const Accuracy& a) {
    return {{"kind", "accuracy"}, {"family", p.family}, {"bits", p.bits}, {"scheme", p.scheme},
            {"correct", a.correct}, {"total", a.total}, {"misclassified", a.misclassified}};
}

Accuracy accuracy_from(const nlohmann::json& j) {
    Accuracy a;
    a.correct = j["correct"].get<int64_t>();
    a.total = j["total"].get<int64_t>();
    a.misclassified = j["misclassified"].get<std::vector<int64_t>>();
    return a;
}

// Refuses a results file written for another model, data set or pruning.
void check_config(ResultLog& log, const SweepOptions& o, const Dataset& d) {
    const nlohmann::json config = {{"kind", "config"}, {"model_fingerprint", fingerprint_file(o.model)},
                                   {"data_fingerprint", data_fingerprint(d)}, {"prune", o.prune},
                                   {"accuracy_limit", o.accuracy_limit}};
    if (const nlohmann::json* prev = log.find("config")) {
        for (const char* k : {"model_fingerprint", "data_fingerprint", "prune", "accuracy_limit"})
            if ((*prev)[k] != config[k])
                throw InputError(o.results_path, fmt::format("was written by a sweep with another {} (use another --report directory)", k));
        return;
    }
    log.append("config", config);
}

}  // namespace

namespace {

// The synthesized strategy as a point, from its record.
void add_synth_point(const nlohmann::json& j, const BlockNet& pruned, const Subject& base, SweepResult& res,
                     std::vector<PointModel>& models, const Dataset& data, bool bound) {
    SweepPoint p;
    p.family = "synth";
    p.layer_bits = j["layer_bits"].get<std::vector<int>>();
    p.bits = *std::max_element(p.layer_bits.begin(), p.layer_bits.end());
    p.scheme = "quadapter:" + bits_str(p.layer_bits);
    p.synth_proved = j["proved"].get<int64_t>();
    p.synth_kept = j["kept"].get<int64_t>();
    p.synth_properties = j["properties"].get<int64_t>();
    p.synth_time_s = j["time_s"].get<double>();
    PointModel m;
    m.synth = true;
    m.subject.path = base.path;
    m.subject.model = base.model;
    m.subject.blocks = base.blocks;
    m.subject.quant = quantize(pruned, parse_scheme(p.scheme, pruned));
    if (bound) m.pair = sweep_points::bound_pair(m.subject, data, p.bound_note);
    res.points.push_back(p);
    models.push_back(std::move(m));
}

}  // namespace

SweepResult run_sweep(const SweepOptions& o, const Dataset& data) {
    const auto t0 = std::chrono::steady_clock::now();
    check_sweep_options(o, data);
    SweepResult res;
    res.options = o;
    res.options.on_record = nullptr;
    res.data_source = data.source;

    Subject base = load_subject(o.model, "", 0.0);
    base.check_data(data);
    BlockNet pruned = o.prune != 0.0 ? prune_magnitude(base.blocks, o.prune) : base.blocks;
    res.parameters = base.blocks.parameter_count();
    const bool run_params = !o.samples.empty() && res.parameters <= o.params_max_parameters;
    if (o.samples.empty()) res.params_note = "no samples chosen";
    else if (!run_params)
        res.params_note = fmt::format("not run: the network has {} parameters, more than the limit of {}", res.parameters,
                                      o.params_max_parameters);
    const bool run_bound = o.bound && !o.samples.empty();
    res.bound_radius = o.bound_radius >= 0 ? o.bound_radius : o.eps.empty() ? 0 : *std::max_element(o.eps.begin(), o.eps.end());

    // The points: one subject per family and bit-width that has a scheme.
    std::vector<PointModel> models;
    for (const std::string& family : o.families)
        for (int b = o.bits_lo; b <= o.bits_hi; ++b) {
            SweepPoint p;
            p.family = family;
            p.bits = b;
            p.scheme = sweep_scheme(family, b);
            PointModel m;
            m.subject.path = base.path;
            m.subject.model = base.model;
            m.subject.blocks = base.blocks;
            try {
                m.subject.quant = quantize(pruned, parse_scheme(p.scheme, pruned));
            } catch (const InputError& e) {
                p.unavailable = e.what();
            }
            if (p.unavailable.empty()) {
                p.integer = m.subject.quant->integer.has_value();
                if (!p.integer) m.robustness_note = "no integer semantics (real activations)";
                else if (!o.samples.empty()) {
                    try {
                        m.subject.quant->integer->input_from(data.raw_sample(o.samples[0]), data.float_sample(o.samples[0]));
                    } catch (const InputError& e) {
                        m.robustness_note = e.what();
                    }
                }
                if (run_bound) m.pair = sweep_points::bound_pair(m.subject, data, p.bound_note);
            }
            res.points.push_back(p);
            models.push_back(std::move(m));
        }

    ResultLog log(o.results_path);
    check_config(log, o, data);
    res.float_accuracy = accuracy(data, o.accuracy_limit, [&](int64_t i) { return argmax(base.float_output(data, i)); });

    const unsigned workers = o.jobs ? o.jobs : worker_count();
    std::atomic<int64_t> started_new{0}, decided_now{0}, reused{0}, done{0};
    std::mutex report_mu;
    auto report = [&](const nlohmann::json& j) {
        ++done;
        if (!o.on_record) return;
        std::lock_guard<std::mutex> g(report_mu);
        o.on_record(j, done.load(), res.queries);
    };
    auto may_start = [&](size_t k) {
        return int64_t(k % size_t(o.shard_count)) == o.shard_index && (o.max_new_queries < 0 || started_new++ < o.max_new_queries);
    };

    // The synthesized strategy first (query 0, shard 0): its points' queries depend on its bits.
    if (o.synth) {
        res.queries = 1;
        const std::string key = sweep_points::synth_key(o);
        const nlohmann::json* prev = log.find(key);
        if (prev) {
            ++reused;
            report(*prev);
        } else if (may_start(0)) {
            nlohmann::json j = sweep_points::decide_synth(pruned, data, o, workers);
            log.append(key, j);
            ++decided_now;
            report(j);
            prev = log.find(key);
        }
        if (prev) add_synth_point(*prev, pruned, base, res, models, data, run_bound);
        else res.synth_note = "the synthesis is not decided yet (query limit, or another process's)";
    }

    std::vector<int64_t> bound_samples = o.samples;
    if (o.bound_samples > 0 && size_t(o.bound_samples) < bound_samples.size()) bound_samples.resize(size_t(o.bound_samples));
    std::vector<Query> queries;
    for (size_t i = 0; i < res.points.size(); ++i) {
        const SweepPoint& p = res.points[i];
        if (!p.unavailable.empty()) continue;
        const std::string id = point_id(p);
        queries.push_back({QueryKind::Accuracy, i, 0, 0, "accuracy:" + id});
        if (models[i].robustness_note.empty())
            for (int64_t e : o.eps)
                for (int64_t s : o.samples)
                    queries.push_back({QueryKind::Robust, i, s, e, fmt::format("robust:{}:{}:{}", id, s, e)});
        if (run_params && !models[i].synth)
            for (int64_t s : o.samples)
                queries.push_back({QueryKind::Params, i, s, 0, fmt::format("params:{}:{}", id, s)});
        if (models[i].pair)
            for (int64_t s : bound_samples)
                queries.push_back({QueryKind::Bound, i, s, res.bound_radius, fmt::format("bound:{}:{}:{}", id, s, res.bound_radius)});
    }
    res.queries += int64_t(queries.size());
    const size_t first = o.synth ? 1 : 0;  // query indices, for the shards, after the synthesis

    VerifyOptions vo = o.verify;
    if (workers > 1) vo.threads = 1;  // queries in parallel, each on one core
    std::atomic<size_t> next{0};
    auto decide_query = [&](const Query& q) {
        const SweepPoint& p = res.points[q.point];
        const Subject& s = models[q.point].subject;
        switch (q.kind) {
            case QueryKind::Accuracy:
                return accuracy_record(p, accuracy(data, o.accuracy_limit, [&](int64_t i) { return s.quantized_class(data, i); }));
            case QueryKind::Robust:
                if (models[q.point].synth) return sweep_points::decide_synth_robust(p, s, data, q.sample, q.eps, vo.timeout_s);
                return robust_record(p, verify_robustness(s, data, q.sample, q.eps, vo));
            case QueryKind::Params: {
                ParamsQuery pq;
                const Vec x = data.float_sample(q.sample);
                pq.input_lo.assign(x.data(), x.data() + x.size());
                pq.input_hi = pq.input_lo;
                pq.timeout_s = o.params_timeout_s;
                pq.threads = workers > 1 ? 1 : 0;
                return params_record(p, q.sample, analyse_params(pruned, perturbation_from_scheme(pruned, s.quant->scheme), pq));
            }
            case QueryKind::Bound:  // one thread: the split limit then gives the same answer on every run
                return sweep_points::decide_bound(p, *models[q.point].pair, data, q.sample, q.eps, o, 1);
        }
        throw std::logic_error("unknown sweep query");
    };
    std::atomic<bool> failed{false};  // a query threw: the others stop, parallel_for rethrows it
    parallel_for(workers, [&](int64_t) {
        for (size_t k; !failed && (k = next++) < queries.size();) {
            const Query& q = queries[k];
            if (const nlohmann::json* prev = log.find(q.key); prev && is_final_sweep_record(*prev)) {
                ++reused;
                report(*prev);
                continue;
            }
            if (!may_start(first + k)) {  // left to another process or run; an Unknown from before is still shown
                if (const nlohmann::json* prev = log.find(q.key)) report(*prev);
                continue;
            }
            nlohmann::json j;
            try {
                j = decide_query(q);
            } catch (...) {
                failed = true;
                throw;
            }
            log.append(q.key, j);
            ++decided_now;
            report(j);
        }
    }, workers);
    res.decided_now = decided_now;
    res.reused = reused;
    if (!res.synth_note.empty()) ++res.missing;

    // Sum up from the records.
    for (const Query& q : queries) {
        const nlohmann::json* j = log.find(q.key);
        if (!j) {
            ++res.missing;
            continue;
        }
        SweepPoint& p = res.points[q.point];
        switch (q.kind) {
            case QueryKind::Accuracy: p.accuracy = accuracy_from(*j); break;
            case QueryKind::Robust: {
                const Verdict v = parse_verdict((*j)["verdict"].get<std::string>());
                p.robustness[q.eps].add(v);
                res.robust.push_back({p.family, p.bits, q.sample, q.eps, v});
                break;
            }
            case QueryKind::Params: {
                if (!p.params) p.params = ParamsCounts{};
                const nlohmann::json& c = (*j)["class_can_change"];
                if (c.is_null()) ++p.params->undecided;
                else if (c.get<bool>()) ++p.params->class_can_change;
                else ++p.params->class_fixed;
                p.params->max_confidence_change = std::max(p.params->max_confidence_change, (*j)["upper"].get<double>());
                break;
            }
            case QueryKind::Bound:
                if (!p.bound) p.bound = BoundSummary{};
                sweep_points::add_bound(*p.bound, *j);
                break;
        }
    }
    for (size_t i = 0; i < res.points.size(); ++i)
        if (res.points[i].unavailable.empty() && !models[i].robustness_note.empty() && !o.eps.empty())
            res.points[i].robustness_note = models[i].robustness_note;
    res.non_monotone = find_non_monotone(res.robust);
    res.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace qcert
