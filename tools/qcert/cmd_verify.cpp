// qcert verify: robustness of data samples, maximum robust radius, VNN-LIB
// properties and individual fairness, on the exact integer semantics.
#include "commands.hpp"
#include "data_options.hpp"
#include "qcert/real_verify.hpp"
#include "qcert/result_log.hpp"
#include "qcert/verify.hpp"
#include "run/parallel.hpp"
#include "sample_list.hpp"
#include "verify_forms.hpp"

#include <atomic>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace qcert::cli {

namespace {

nlohmann::json to_json(const RobustnessResult& r) {
    nlohmann::json j = {{"sample", r.sample}, {"eps", r.eps}, {"label", r.label}, {"predicted", r.predicted},
                        {"verdict", verdict_name(r.outcome.verdict)}, {"time_s", r.outcome.time_s},
                        {"method", r.outcome.method}};
    if (r.outcome.verdict == Verdict::Violated) j["counterexample"] = r.outcome.counterexample;
    if (r.outcome.verdict == Verdict::Unknown) j["reason"] = r.outcome.reason;
    return j;
}

std::string human(const nlohmann::json& j) {
    std::string s = fmt::format("sample {:>5} eps {:>3}: {:<13} {:>8.3f} s  {}", j["sample"].get<int64_t>(),
                                j["eps"].get<int64_t>(), j["verdict"].get<std::string>(), j["time_s"].get<double>(),
                                j["method"].get<std::string>());
    if (j.contains("reason")) s += " (" + j["reason"].get<std::string>() + ")";
    return s;
}

int run_robustness(const VerifyCli& o, const Subject& s, const Dataset& d) {
    const std::vector<int64_t> samples = parse_index_list(o.samples, "--samples");
    const std::vector<int64_t> eps = parse_index_list(o.eps, "--eps");
    for (int64_t e : eps)
        if (e < 0) throw InputError("--eps", fmt::format("must be >= 0, got {}", e));
    const BlockNet* real = real_network(s);  // nullptr: the integer network is decided exactly
    if (real) {
        for (const char* m : {"interval", "symbolic", "attack", "bab", "milp", "cvc5", "z3", "boolector"})
            if (o.methods.find(m) != std::string::npos)
                throw InputError("--method", "a real-valued network is decided by the real checker; --method is for integer networks");
    } else {
        integer_network(s);
    }
    s.check_data(d);
    for (int64_t i : samples)
        if (i < 0 || i >= d.count())
            throw InputError("--samples", fmt::format("sample {} is past the data ({} has {} samples)", i, d.source, d.count()));
    struct Job { int64_t sample, eps; };
    std::vector<Job> jobs;
    for (int64_t e : eps)
        for (int64_t i : samples) jobs.push_back({i, e});
    ResultLog log(o.out);
    Progress progress("verify", int64_t(jobs.size()));
    std::mutex mu;
    std::map<std::string, int64_t> counts;
    std::atomic<int64_t> done{0};
    auto summary = [&] {
        std::string t;
        for (const char* v : {"holds", "violated", "unknown", "misclassified"}) t += fmt::format("{} {}  ", v, counts[v]);
        return t;
    };
    auto emit = [&](const nlohmann::json& j) {
        std::lock_guard<std::mutex> g(mu);
        ++counts[j["verdict"].get<std::string>()];
        std::cout << (o.json ? j.dump() : human(j)) << std::endl;
        progress.update(++done, summary());
    };
    VerifyOptions vo = o.verify_options();
    const unsigned workers = o.jobs ? o.jobs : worker_count();
    if (workers > 1) vo.threads = 1;  // queries in parallel, each on one core
    parallel_for(int64_t(jobs.size()), [&](int64_t k) {
        const Job& jb = jobs[k];
        const std::string key = fmt::format("robust:{}:{}", jb.sample, jb.eps);
        if (const nlohmann::json* prev = log.find(key); prev && (*prev)["verdict"] != "unknown") {
            emit(*prev);
            return;
        }
        nlohmann::json j;
        if (real) {
            const RealRobustness rr = verify_robustness_real(*real, d, jb.sample, jb.eps, o.timeout);
            j = to_json(rr.result);
            if (rr.result.outcome.verdict == Verdict::Violated) j["counterexample"] = rr.counterexample;
        } else {
            j = to_json(verify_robustness(s, d, jb.sample, jb.eps, vo));
        }
        log.append(key, j);
        emit(j);
    }, workers);
    if (!o.json) std::cout << "total " << jobs.size() << ": " << summary() << "\n";
    return 0;
}

int run_radius(const VerifyCli& o, const Subject& s, const Dataset& d) {
    const std::vector<int64_t> samples = parse_index_list(o.samples, "--samples");
    integer_network(s);
    s.check_data(d);
    ResultLog log(o.out);
    std::mutex mu;
    VerifyOptions vo = o.verify_options();
    const unsigned workers = o.jobs ? o.jobs : worker_count();
    if (workers > 1) vo.threads = 1;
    parallel_for(int64_t(samples.size()), [&](int64_t k) {
        const std::string key = fmt::format("radius:{}", samples[k]);
        nlohmann::json j;
        if (const nlohmann::json* prev = log.find(key); prev && (*prev)["exact"] == true) {
            j = *prev;
        } else {
            const RadiusResult r = max_robust_radius(s, d, samples[k], o.max_eps, vo);
            j = {{"sample", r.sample}, {"label", r.label}, {"radius", r.radius}, {"exact", r.exact}, {"time_s", r.time_s}};
            if (r.violated_at) {
                j["violated_at"] = *r.violated_at;
                j["counterexample"] = r.counterexample;
            }
            if (!r.reason.empty()) j["reason"] = r.reason;
            log.append(key, j);
        }
        std::lock_guard<std::mutex> g(mu);
        if (o.json) std::cout << j.dump() << std::endl;
        else
            std::cout << fmt::format("sample {:>5}: radius {}{}{}  {:.3f} s", j["sample"].get<int64_t>(), j["radius"].get<int64_t>(),
                                     j["exact"] == true ? "" : " (lower bound)",
                                     j.contains("violated_at") ? fmt::format(", violated at {}", j["violated_at"].get<int64_t>()) : "",
                                     j["time_s"].get<double>())
                      << std::endl;
    }, workers);
    return 0;
}

}  // namespace

Runner add_verify(CLI::App& app) {
    auto o = std::make_shared<VerifyCli>();
    CLI::App* cmd = app.add_subcommand("verify", "decide properties of the quantized network in its exact integer semantics");
    o->add(cmd);
    return [o] {
        const Subject s = load_subject(o->model, o->scheme, o->prune, o->prune_mask);
        if (!o->vnnlib.empty()) return run_vnnlib(*o, s);
        if (!o->box.empty()) return run_box(*o, s);
        const std::optional<Dataset> d = o->data.load();
        if (!d) throw InputError("verify", "give --images and --labels with --samples, or --vnnlib, or --box");
        if (o->samples.empty()) throw InputError("--samples", "which samples? e.g. --samples 0:100");
        if (o->max_radius) return run_radius(*o, s, *d);
        if (o->eps.empty()) throw InputError("--eps", "give the radius, e.g. --eps 2 (integer input units)");
        return run_robustness(*o, s, *d);
    };
}

}  // namespace qcert::cli
