// qcert synth: the search over per-layer bit-widths (docs/SYNTH.md).
//
// 1. Properties the float network does not provably satisfy are left out.
// 2. The all-max-bits twin is checked; the properties it keeps are the required set.
// 3. Pass 1, last layer to first (--cost memory: the layers with the most parameters
//    first): the fewest bits of that layer (binary search, the other layers as they are)
//    with every required property proved.
// 4. Pass 2, repeated until nothing changes: every layer, in the same order, is lowered by one
//    bit while the candidate still proves every required property. So at the answer,
//    lowering any single layer by one bit leaves some required property unproved.
// A candidate is checked property by property on all cores; the property that failed
// the last candidate is checked first (counterexample-guided), and a failure stops
// the candidate. Every check is written to the ResultLog, keyed by candidate and property.
// --method preimage / best: synth_preimage.cpp (Quadapter's backward preimages) proposes bits
// too; every proposal is certified on every kept property (check_property, any kind of
// property) and the better one wins: more properties proved, then the lower cost.
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
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace qcert {

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
    Searcher(const BlockNet& net, const SynthOptions& o) : net_(net), o_(o), log_(o.log_path) {}

    // The check of one property on one network, from the log when it is there.
    PropertyCheck check(const std::string& candidate, const BlockNet& q, const BoxProperty& p) {
        const std::string key = candidate + "|" + p.key();
        // An unknown from a shorter time limit is checked again.
        if (const nlohmann::json* j = log_.find(key);
            j && ((*j)["verdict"] != "unknown" || j->value("timeout_s", 0.0) >= o_.timeout_s))
            return check_from_json(*j);
        const PropertyCheck c = check_property(q, p, o_.timeout_s);
        nlohmann::json line = check_json(c);
        line["timeout_s"] = o_.timeout_s;
        line["candidate"] = candidate;
        line["property"] = p.key();
        log_.append(key, line);
        return c;
    }

    // Checks every property of `props` on the candidate; stops early (returns false)
    // at the first one not proved unless `all` is set. Fills `checks` for those checked.
    bool certify(const std::string& candidate, const BlockNet& q, const std::vector<BoxProperty>& props, bool all,
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

    bool certify_bits(const std::vector<int>& bits, const std::vector<BoxProperty>& props) {
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
    SynthOptions o_;
    ResultLog log_;
    size_t last_failed_ = SIZE_MAX;
    int64_t candidates_ = 0;
    std::map<std::vector<int>, bool> memo_;
};

void check_options(const BlockNet& net, const std::vector<BoxProperty>& props, const SynthOptions& o) {
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
    std::set<std::string> keys;
    for (const BoxProperty& p : props) {
        if (!keys.insert(p.key()).second)
            throw InputError("synth", fmt::format("two properties have the key {} (results are logged by key)", p.key()));
        if (int64_t(p.lo.size()) != net.input_size() || p.lo.size() != p.hi.size())
            throw InputError(net.source, fmt::format("property {} has {} inputs, the network {}", p.key(), p.lo.size(),
                                                     net.input_size()));
        if (!(p.divisor > 0) || !std::isfinite(p.divisor))
            throw InputError(p.key(), fmt::format("input divisor {} is not positive", p.divisor));
        for (size_t j = 0; j < p.lo.size(); ++j)
            if (!(p.lo[j] <= p.hi[j]) || !std::isfinite(p.lo[j]) || !std::isfinite(p.hi[j]))
                throw InputError(p.key(), fmt::format("input {} has the empty or unbounded range [{}, {}]", j, p.lo[j], p.hi[j]));
        synth::condition_net(net, p);  // outputs and softmax checked now, not mid-run
    }
}

// The order in which the search lowers the layers: last to first for the bit count; for
// memory, the layers with the most parameters first (a bit saved there saves the most).
std::vector<size_t> layer_order(const BlockNet& net, SynthCost cost) {
    std::vector<size_t> order;
    for (size_t k = net.blocks.size(); k-- > 0;) order.push_back(k);
    if (cost == SynthCost::Memory)
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return net.blocks[a].W.size() + net.blocks[a].b.size() > net.blocks[b].W.size() + net.blocks[b].b.size();
        });
    return order;
}

// Steps 2-4 of the search: the required set (what the all-max twin keeps), then the two passes.
std::vector<int> search_bits(Searcher& s, const BlockNet& net, const std::vector<BoxProperty>& kept, const SynthOptions& o,
                             std::vector<BoxProperty>& required) {
    const size_t layers = net.blocks.size();
    std::vector<int> bits(layers, o.max_bits);
    std::vector<PropertyCheck> max_checks;
    s.certify("b" + bits_str(bits), quadapter_twin(net, bits), kept, true, max_checks);
    for (size_t i = 0; i < kept.size(); ++i)
        if (max_checks[i].verdict == CheckVerdict::Proved) required.push_back(kept[i]);
    if (required.empty()) return bits;
    // Pass 1: binary search per layer, in layer_order (bits: last to first).
    const std::vector<size_t> order = layer_order(net, o.cost);
    for (size_t k : order) {
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
        for (size_t k : order) {
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

const char* synth_cost_name(SynthCost c) { return c == SynthCost::Memory ? "memory" : "bits"; }

int64_t synth_cost(const BlockNet& net, const std::vector<int>& bits, SynthCost c) {
    int64_t total = 0;
    for (size_t k = 0; k < bits.size() && k < net.blocks.size(); ++k)
        total += int64_t(bits[k]) *
                 (c == SynthCost::Memory ? int64_t(net.blocks[k].W.size() + net.blocks[k].b.size()) : int64_t(1));
    return total;
}

SynthResult synthesize(const BlockNet& net, std::vector<BoxProperty> props, double divisor, const SynthOptions& o) {
    for (BoxProperty& p : props) p.divisor = divisor;
    return synthesize(net, static_cast<const std::vector<BoxProperty>&>(props), o);
}

SynthResult synthesize(const BlockNet& net, const std::vector<BoxProperty>& props, const SynthOptions& o) {
    check_options(net, props, o);
    const auto t0 = std::chrono::steady_clock::now();
    Searcher s(net, o);
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
                                            ? "the float network reaches the unsafe set on an input of the box (counterexample found)"
                                            : "not proved on the float network: " + c.reason});
    }
    const size_t layers = net.blocks.size();
    std::vector<int> bits(layers, o.max_bits);
    std::vector<BoxProperty> required;
    int64_t preimage_required = -1;  // --method preimage: kept properties the linear bounds prove at the root
    std::vector<std::vector<PropertyCheck>> answer_checks;
    if (!o.fixed_bits.empty()) {
        bits = o.fixed_bits;
        required = r.kept;
        r.method = "bits";
    } else if (!r.kept.empty()) {
        // The method hook: each method proposes bits, each proposal is certified on every
        // kept property by the general checker (check_property), the better certified answer
        // wins: more kept properties proved, then the lower cost under o.cost (docs/SYNTH.md).
        if (o.method != "preimage") {
            const auto ts = std::chrono::steady_clock::now();
            const std::vector<int> b = search_bits(s, net, r.kept, o, required);
            r.answers.push_back({"search", b, 0, std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count(),
                                 fmt::format("{} required properties (proved at max-bits)", required.size())});
        }
        if (o.method != "search") {
            // Every kind of property: the preimage works on the property's unsafe set (for
            // robustness, the label margins), each property with its own divisor.
            const synth::PreimageAnswer a = synth::preimage_bits(net, r.kept, o);
            r.answers.push_back({"preimage", a.bits, 0, a.time_s, a.summary()});
            if (o.method == "preimage") preimage_required = a.linear;
        }
        answer_checks.resize(r.answers.size());
        size_t best = 0;
        for (size_t m = 0; m < r.answers.size(); ++m) {
            MethodAnswer& a = r.answers[m];
            s.certify("b" + bits_str(a.bits), quadapter_twin(net, a.bits), r.kept, true, answer_checks[m]);
            for (const PropertyCheck& c : answer_checks[m]) a.proved += c.verdict == CheckVerdict::Proved;
            a.cost = synth_cost(net, a.bits, o.cost);
            const MethodAnswer& b = r.answers[best];
            if (a.proved > b.proved || (a.proved == b.proved && a.cost < b.cost)) best = m;
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
    r.cost = synth_cost(net, bits, o.cost);
    r.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace qcert
