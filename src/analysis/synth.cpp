// qcert synth: the search over per-layer bit-widths (docs/SYNTH.md).
//
// 1. Properties the float network does not provably satisfy are left out.
// 2. The all-max-bits twin is checked; the properties it keeps are the required set.
// 3. Pass 1, last layer to first: the fewest bits of that layer (binary search, the other
//    layers as they are) with every required property proved.
// 4. Pass 2, repeated until nothing changes: every layer, last to first, is lowered by one
//    bit while the candidate still proves every required property. So at the answer,
//    lowering any single layer by one bit leaves some required property unproved.
// A candidate is checked property by property on all cores; the property that failed
// the last candidate is checked first (counterexample-guided), and a failure stops
// the candidate. Every check is written to the ResultLog, keyed by candidate and property.
// --method preimage / best: synth_preimage.cpp (Quadapter's backward preimages) proposes bits
// too; every proposal is certified on every kept property and the better one wins.
#include "analysis/synth_margin.hpp"
#include "analysis/synth_preimage.hpp"
#include "qcert/error.hpp"
#include "qcert/result_log.hpp"
#include "qcert/synth.hpp"
#include "run/parallel.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <mutex>

namespace qcert {

std::string RobustProperty::key() const { return fmt::format("s{}_r{}", sample, radius); }

std::vector<RobustProperty> robust_properties(const Dataset& d, const std::vector<int64_t>& samples,
                                              const std::vector<double>& radii) {
    std::vector<RobustProperty> out;
    for (double r : radii) {
        if (!(r >= 0) || !std::isfinite(r)) throw InputError("--radius", "must be a number >= 0");
        for (int64_t s : samples) {
            if (s < 0 || s >= d.count())
                throw InputError("--samples", fmt::format("sample {} is not in {} ({} samples)", s, d.source, d.count()));
            if (d.labels.empty()) throw InputError(d.source, "robustness properties need labels");
            RobustProperty p;
            p.sample = s, p.radius = r, p.label = d.labels[size_t(s)];
            const Vec x = d.raw_sample(s);
            for (int64_t j = 0; j < x.size(); ++j) {
                double lo = x[j] - r, hi = x[j] + r;
                if (d.integral) lo = std::max(lo, 0.0), hi = std::min(hi, 255.0);
                p.lo.push_back(lo), p.hi.push_back(hi);
            }
            out.push_back(std::move(p));
        }
    }
    return out;
}

BlockNet quadapter_twin(const BlockNet& net, const std::vector<int>& bits) {
    return quantize(net, parse_scheme("quadapter:" + bits_str(bits), net)).real;
}

std::string bits_str(const std::vector<int>& bits) {
    std::string s;
    for (size_t k = 0; k < bits.size(); ++k) s += (k ? "," : "") + std::to_string(bits[k]);
    return s;
}

namespace {

nlohmann::json check_json(const PropertyCheck& c) {
    nlohmann::json j{{"verdict", check_verdict_name(c.verdict)}, {"method", c.method}, {"boxes", c.boxes},
                     {"worst_margin", c.worst_margin}, {"time_s", c.time_s}};
    if (!c.reason.empty()) j["reason"] = c.reason;
    if (!c.counterexample.empty()) j["counterexample"] = c.counterexample;
    return j;
}

PropertyCheck check_from_json(const nlohmann::json& j) {
    PropertyCheck c;
    const std::string v = j.value("verdict", "unknown");
    c.verdict = v == "proved" ? CheckVerdict::Proved : v == "refuted" ? CheckVerdict::Refuted : CheckVerdict::Unknown;
    c.method = j.value("method", "");
    c.reason = j.value("reason", "");
    c.boxes = j.value("boxes", int64_t(0));
    c.worst_margin = j.value("worst_margin", 0.0);
    c.time_s = j.value("time_s", 0.0);
    if (j.contains("counterexample")) c.counterexample = j["counterexample"].get<std::vector<double>>();
    return c;
}

class Searcher {
public:
    Searcher(const BlockNet& net, double divisor, const SynthOptions& o) : net_(net), divisor_(divisor), o_(o), log_(o.log_path) {}

    // The check of one property on one network, from the log when it is there.
    PropertyCheck check(const std::string& candidate, const BlockNet& q, const RobustProperty& p) {
        const std::string key = candidate + "|" + p.key();
        // An unknown from a shorter time limit is checked again.
        if (const nlohmann::json* j = log_.find(key);
            j && ((*j)["verdict"] != "unknown" || j->value("timeout_s", 0.0) >= o_.timeout_s))
            return check_from_json(*j);
        const PropertyCheck c = check_robust(q, p, divisor_, o_.timeout_s);
        nlohmann::json line = check_json(c);
        line["timeout_s"] = o_.timeout_s;
        line["candidate"] = candidate;
        line["property"] = p.key();
        log_.append(key, line);
        return c;
    }

    // Checks every property of `props` on the candidate; stops early (returns false)
    // at the first one not proved unless `all` is set. Fills `checks` for those checked.
    bool certify(const std::string& candidate, const BlockNet& q, const std::vector<RobustProperty>& props, bool all,
                 std::vector<PropertyCheck>& checks) {
        ++candidates_;
        checks.assign(props.size(), PropertyCheck{});
        std::vector<size_t> order;
        if (!all && last_failed_ < props.size()) order.push_back(last_failed_);  // counterexample-guided
        for (size_t i = 0; i < props.size(); ++i)
            if (order.empty() || i != order.front()) order.push_back(i);
        std::atomic<bool> failed{false};
        std::atomic<int64_t> done{0};
        std::mutex mu;
        size_t first_failure = props.size();
        Progress progress(fmt::format("synth {}", candidate), int64_t(props.size()));
        // The guided property alone first: a failure there saves the whole candidate.
        size_t start = 0;
        if (!all && !order.empty() && order.front() == last_failed_) {
            checks[last_failed_] = check(candidate, q, props[last_failed_]);
            ++done;
            if (checks[last_failed_].verdict != CheckVerdict::Proved) return false;
            start = 1;
        }
        parallel_for(
            int64_t(order.size() - start),
            [&](int64_t t) {
                if (!all && failed.load()) return;
                const size_t i = order[start + size_t(t)];
                checks[i] = check(candidate, q, props[i]);
                if (checks[i].verdict != CheckVerdict::Proved) {
                    failed = true;
                    std::lock_guard<std::mutex> g(mu);
                    first_failure = std::min(first_failure, i);
                }
                if (o_.progress) progress.update(++done, candidate);
            },
            o_.threads);
        if (!all && first_failure < props.size()) last_failed_ = first_failure;
        return !failed.load();
    }

    bool certify_bits(const std::vector<int>& bits, const std::vector<RobustProperty>& props) {
        auto it = memo_.find(bits);
        if (it != memo_.end()) return it->second;
        std::vector<PropertyCheck> checks;
        const bool ok = certify("b" + bits_str(bits), quadapter_twin(net_, bits), props, false, checks);
        memo_[bits] = ok;
        return ok;
    }

    int64_t candidates() const { return candidates_; }

private:
    const BlockNet& net_;
    double divisor_;
    SynthOptions o_;
    ResultLog log_;
    size_t last_failed_ = SIZE_MAX;
    int64_t candidates_ = 0;
    std::map<std::vector<int>, bool> memo_;
};

void check_options(const BlockNet& net, const std::vector<RobustProperty>& props, const SynthOptions& o) {
    if (props.empty()) throw InputError("synth", "the property set is empty");
    if (o.min_bits < 2 || o.max_bits > 32) throw InputError("--min-bits/--max-bits", "bits must lie in 2..32");
    if (o.min_bits > o.max_bits)
        throw InputError("--min-bits", fmt::format("min-bits {} is greater than max-bits {}", o.min_bits, o.max_bits));
    if (!(o.timeout_s > 0)) throw InputError("--timeout", "must be positive");
    if (o.method != "search" && o.method != "preimage" && o.method != "best")
        throw InputError("--method", fmt::format("unknown method '{}' (search, preimage, best)", o.method));
    if (!o.fixed_bits.empty() && o.fixed_bits.size() != net.blocks.size())
        throw InputError("--bits", fmt::format("{} bit-widths given, the network has {} layers", o.fixed_bits.size(),
                                               net.blocks.size()));
    for (int b : o.fixed_bits)
        if (b < 2 || b > 32) throw InputError("--bits", "bits must lie in 2..32");
    for (const RobustProperty& p : props)
        if (int64_t(p.lo.size()) != net.input_size() || p.lo.size() != p.hi.size())
            throw InputError(net.source, fmt::format("property {} has {} inputs, the network {}", p.key(), p.lo.size(),
                                                     net.input_size()));
}

// Steps 2-4 of the search: the required set (what the all-max twin keeps), then the two passes.
std::vector<int> search_bits(Searcher& s, const BlockNet& net, const std::vector<RobustProperty>& kept, const SynthOptions& o,
                             std::vector<RobustProperty>& required) {
    const size_t layers = net.blocks.size();
    std::vector<int> bits(layers, o.max_bits);
    std::vector<PropertyCheck> max_checks;
    s.certify("b" + bits_str(bits), quadapter_twin(net, bits), kept, true, max_checks);
    for (size_t i = 0; i < kept.size(); ++i)
        if (max_checks[i].verdict == CheckVerdict::Proved) required.push_back(kept[i]);
    if (required.empty()) return bits;
    // Pass 1: binary search per layer, last to first.
    for (size_t k = layers; k-- > 0;) {
        int good = bits[k], lo = o.min_bits;  // good certifies; below lo is not tried
        while (lo < good) {
            const int mid = lo + (good - lo) / 2;
            std::vector<int> cand = bits;
            cand[k] = mid;
            if (s.certify_bits(cand, required)) good = mid;
            else lo = mid + 1;
        }
        bits[k] = good;
    }
    // Pass 2: one bit lower per layer while it certifies, until nothing changes.
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t k = layers; k-- > 0;) {
            while (bits[k] > o.min_bits) {
                std::vector<int> cand = bits;
                --cand[k];
                if (!s.certify_bits(cand, required)) break;
                bits = cand;
                changed = true;
            }
        }
    }
    return bits;
}

}  // namespace

SynthResult synthesize(const BlockNet& net, const std::vector<RobustProperty>& props, double divisor, const SynthOptions& o) {
    check_options(net, props, o);
    const auto t0 = std::chrono::steady_clock::now();
    Searcher s(net, divisor, o);
    SynthResult r;
    // 1. The float network.
    std::vector<PropertyCheck> float_checks;
    s.certify("float", net, props, true, float_checks);
    for (size_t i = 0; i < props.size(); ++i) {
        const PropertyCheck& c = float_checks[i];
        if (c.verdict == CheckVerdict::Proved) {
            r.kept.push_back(props[i]);
            continue;
        }
        r.left_out.push_back({props[i], c.verdict == CheckVerdict::Refuted
                                            ? "the float network misclassifies an input of the box (counterexample found)"
                                            : "not proved on the float network: " + c.reason});
    }
    const size_t layers = net.blocks.size();
    std::vector<int> bits(layers, o.max_bits);
    std::vector<RobustProperty> required;
    int64_t preimage_required = -1;  // --method preimage: kept properties the linear bounds prove at the root
    std::vector<std::vector<PropertyCheck>> answer_checks;
    if (!o.fixed_bits.empty()) {
        bits = o.fixed_bits;
        required = r.kept;
        r.method = "bits";
    } else if (!r.kept.empty()) {
        // The method hook: each method proposes bits, each proposal is certified on every
        // kept property, the better certified answer wins (docs/SYNTH.md).
        if (o.method != "preimage") {
            const auto ts = std::chrono::steady_clock::now();
            const std::vector<int> b = search_bits(s, net, r.kept, o, required);
            r.answers.push_back({"search", b, 0, std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count(),
                                 fmt::format("{} required properties (proved at max-bits)", required.size())});
        }
        if (o.method != "search") {
            const synth::PreimageAnswer a = synth::preimage_bits(net, r.kept, divisor, o);
            r.answers.push_back({"preimage", a.bits, 0, a.time_s, a.summary()});
            if (o.method == "preimage") preimage_required = a.linear;
        }
        answer_checks.resize(r.answers.size());
        size_t best = 0;
        auto total = [](const std::vector<int>& v) { int t = 0; for (int x : v) t += x; return t; };
        for (size_t m = 0; m < r.answers.size(); ++m) {
            MethodAnswer& a = r.answers[m];
            s.certify("b" + bits_str(a.bits), quadapter_twin(net, a.bits), r.kept, true, answer_checks[m]);
            for (const PropertyCheck& c : answer_checks[m]) a.proved += c.verdict == CheckVerdict::Proved;
            const MethodAnswer& b = r.answers[best];
            if (a.proved > b.proved || (a.proved == b.proved && total(a.bits) < total(b.bits))) best = m;
        }
        bits = r.answers[best].bits;
        r.method = r.answers[best].method;
        r.checks = answer_checks[best];
    }
    // The answer, with every kept property's check at it.
    r.bits = bits;
    r.required = preimage_required >= 0 ? preimage_required : int64_t(required.size());
    r.quantized = quadapter_twin(net, bits);
    r.scheme = parse_scheme("quadapter:" + bits_str(bits), net);
    if (!r.kept.empty() && r.checks.empty()) s.certify("b" + bits_str(bits), r.quantized, r.kept, true, r.checks);
    for (const PropertyCheck& c : r.checks) r.proved += c.verdict == CheckVerdict::Proved;
    r.candidates = s.candidates();
    r.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace qcert
