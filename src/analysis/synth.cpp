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
#include "qcert/errbound.hpp"
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

std::string quadapter_spec(const std::vector<int>& bits, const std::vector<FixedFormat>& act_formats) {
    std::string s = "quadapter:" + bits_str(bits);
    for (size_t k = 0; k < act_formats.size(); ++k) s += (k ? "," : ",a=") + act_formats[k].str();
    return s;
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

// The strategies searched: a vector of the n layers' weight bits, then, with quantized
// activations, the n - 1 hidden layers' activation bits.
class Space {
public:
    Space(const BlockNet& net, const SynthOptions& o, const std::vector<BoxProperty>& kept) : net_(net) {
        if (!o.quantize_activations()) return;
        hidden_ = net.blocks.size() - 1;
        act_bits_ = o.act_bits;
        if (act_bits_.size() == 1) act_bits_.assign(hidden_, act_bits_[0]);
        ranges(kept);
    }
    size_t layers() const { return net_.blocks.size(); }
    size_t size() const { return layers() + hidden_; }
    bool searched(size_t pos) const { return pos < layers() || act_bits_.empty(); }
    // The strategy with every searched position at `b` (given activation widths as given).
    std::vector<int> uniform(int b) const {
        std::vector<int> v(size(), b);
        for (size_t k = 0; k < act_bits_.size(); ++k) v[layers() + k] = act_bits_[k];
        return v;
    }
    std::vector<int> weights(const std::vector<int>& v) const { return {v.begin(), v.begin() + long(layers())}; }
    std::vector<int> acts(const std::vector<int>& v) const { return {v.begin() + long(layers()), v.end()}; }
    std::vector<int> join(const std::vector<int>& w, const std::vector<int>& a) const {
        std::vector<int> v = w;
        v.insert(v.end(), a.begin(), a.end());
        return v;
    }
    // The activation format of hidden layer k at A bits: unsigned when the layer's float outputs
    // are >= 0 on every box, integer bits I with 2^I above the largest magnitude.
    FixedFormat act_format(size_t k, int A) const {
        const double lo = lo_[k], hi = hi_[k];
        const double m = lo >= 0 ? hi : std::max(-lo, hi);
        const int I = m > 0 && std::isfinite(m) ? std::clamp(int(std::floor(std::log2(m))) + 1, -24, 30) : 0;
        return lo >= 0 ? FixedFormat{false, A, A - I} : FixedFormat{true, A, A - 1 - I};
    }
    std::vector<FixedFormat> formats(const std::vector<int>& v) const {
        std::vector<FixedFormat> f;
        for (size_t k = 0; k < hidden_; ++k) f.push_back(act_format(k, v[layers() + k]));
        return f;
    }
    std::string spec(const std::vector<int>& v) const { return quadapter_spec(weights(v), formats(v)); }
    Scheme scheme(const std::vector<int>& v) const { return parse_scheme(spec(v), net_); }
    BlockNet twin(const std::vector<int>& v) const { return quantize(net_, scheme(v)).real; }
    // The log's candidate key: "b6,3", with activations "b6,3,a=u8.5" (the formats, which depend
    // on the properties' boxes too).
    std::string key(const std::vector<int>& v) const {
        std::string k = "b" + bits_str(weights(v));
        const std::vector<FixedFormat> f = formats(v);
        for (size_t i = 0; i < f.size(); ++i) k += (i ? "," : ",a=") + f[i].str();
        return k;
    }
    int64_t cost(const std::vector<int>& v, SynthCost c) const { return synth_cost(net_, weights(v), c, acts(v)); }
    // The parameters (weights) or outputs (activations) a position stands for (the memory order).
    int64_t weight_of(size_t pos) const {
        if (pos < layers()) return net_.blocks[pos].W.size() + net_.blocks[pos].b.size();
        return net_.blocks[pos - layers()].out_size();
    }

private:
    // The float network's output range of every hidden layer over the boxes (sound bounds).
    void ranges(const std::vector<BoxProperty>& kept) {
        lo_.assign(hidden_, 0.0), hi_.assign(hidden_, 0.0);
        for (const BoxProperty& p : kept) {
            const DiffBound d = diff_bound(make_err_pair(net_, net_, p.divisor), p.lo, p.hi, DiffMode::Differential);
            for (size_t k = 0; k < hidden_; ++k) {
                const Block& b = net_.blocks[k];
                for (int64_t i = 0; i < b.out_size(); ++i) {
                    double l = d.zf_lo[k][i], h = d.zf_hi[k][i];
                    if (b.act == Act::ReLU) l = std::max(l, 0.0), h = std::max(h, 0.0);
                    l = std::clamp(l, b.lo, b.hi), h = std::clamp(h, b.lo, b.hi);
                    lo_[k] = std::min(lo_[k], l), hi_[k] = std::max(hi_[k], h);
                }
            }
        }
    }

    const BlockNet& net_;
    size_t hidden_ = 0;
    std::vector<int> act_bits_;  // given widths (empty: searched)
    std::vector<double> lo_, hi_;
};

// What a log record was decided for: the float network (its layers, parameters, clamps) and,
// per record, the property (its box, divisor and unsafe set).
std::string network_fingerprint(const BlockNet& net) {
    uint64_t h = fingerprint_bytes(net.input_shape.data(), net.input_shape.size() * sizeof(int64_t));
    for (const Block& b : net.blocks) {
        const int64_t dims[3] = {b.W.rows(), b.W.cols(), int64_t(b.act)};
        const double v[5] = {b.alpha, b.lo, b.hi, b.out_step, b.out_max};
        h = fingerprint_bytes(dims, sizeof dims, h);
        h = fingerprint_bytes(v, sizeof v, h);
        h = fingerprint_bytes(b.W.data(), size_t(b.W.size()) * sizeof(double), h);
        h = fingerprint_bytes(b.b.data(), size_t(b.b.size()) * sizeof(double), h);
    }
    return fingerprint_hex(h);
}

std::string property_fingerprint(const BoxProperty& p, int64_t outputs) {
    uint64_t h = fingerprint_bytes(p.lo.data(), p.lo.size() * sizeof(double));
    h = fingerprint_bytes(p.hi.data(), p.hi.size() * sizeof(double), h);
    h = fingerprint_bytes(&p.divisor, sizeof p.divisor, h);
    for (const auto& d : p.unsafe_set(outputs).unsafe) {
        const std::string sep = "|";
        h = fingerprint_bytes(sep.data(), sep.size(), h);
        for (const LinearConstraint& c : d) {
            for (const auto& [i, a] : c.terms) {
                h = fingerprint_bytes(&i, sizeof i, h);
                h = fingerprint_bytes(&a, sizeof a, h);
            }
            h = fingerprint_bytes(&c.rhs, sizeof c.rhs, h);
            h = fingerprint_bytes(&c.strict, sizeof c.strict, h);
        }
    }
    return fingerprint_hex(h);
}

class Searcher {
public:
    // Refuses a log written for another float network (one error line naming the file).
    Searcher(const BlockNet& net, const SynthOptions& o) : o_(o), log_(o.log_path), outputs_(net.output_size()) {
        log_.check_identity({{"kind", "synth"}, {"network", network_fingerprint(net)}},
                            "another model: use another --out");
    }

    // The check of one property on one network, from the log when it is there. A record of the
    // same key made for another box or unsafe set (other data, radius, trigger) is refused.
    PropertyCheck check(const std::string& candidate, const BlockNet& q, const BoxProperty& p) {
        const std::string key = candidate + "|" + p.key();
        const std::string pfp = property_fingerprint(p, outputs_);
        const nlohmann::json* j = log_.find(key);
        if (j && j->contains("property_fingerprint") && (*j)["property_fingerprint"] != pfp)
            throw InputError(o_.log_path, fmt::format("holds property {} for another box or unsafe set (other data, radius or "
                                                      "trigger): use another --out", p.key()));
        // An unknown from a shorter time limit is checked again.
        if (j && ((*j)["verdict"] != "unknown" || j->value("timeout_s", 0.0) >= o_.timeout_s)) return check_from_json(*j);
        const PropertyCheck c = check_property(q, p, o_.timeout_s);
        nlohmann::json line = check_json(c);
        line["property_fingerprint"] = pfp;
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

    bool certify_bits(const Space& space, const std::vector<int>& bits, const std::vector<BoxProperty>& props) {
        auto it = memo_.find(bits);
        if (it != memo_.end()) return it->second;
        std::vector<PropertyCheck> checks;
        const bool ok = certify(space.key(bits), space.twin(bits), props, false, checks);
        memo_[bits] = ok;
        return ok;
    }

    int64_t candidates() const { return candidates_; }
    ResultLog& log() { return log_; }
    int64_t outputs() const { return outputs_; }

private:
    SynthOptions o_;
    ResultLog log_;
    int64_t outputs_ = 0;
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
    const size_t hidden = net.blocks.empty() ? 0 : net.blocks.size() - 1;
    if (!o.act_bits.empty() && o.act_bits.size() != 1 && o.act_bits.size() != hidden)
        throw InputError("--act-bits", fmt::format("{} widths given, the network has {} hidden layers", o.act_bits.size(), hidden));
    for (int b : o.act_bits)
        if (b < 2 || b > 16) throw InputError("--act-bits", "activation bits must lie in 2..16");
    if (o.quantize_activations()) {
        if (hidden == 0) throw InputError("--activations", "the network has no hidden layer");
        if (o.method == "preimage")
            throw InputError("--method", "the preimage method chooses weight bits only: use search or best with activations");
        if (!o.fixed_bits.empty() && o.act_bits.empty())
            throw InputError("--bits", "with quantized activations and --bits, give the activation widths too (--act-bits)");
        if (o.activations && o.max_bits > 16) throw InputError("--max-bits", "activation bits must lie in 2..16");
        for (const Block& b : net.blocks)
            if (b.act != Act::None && b.act != Act::ReLU)
                throw InputError(net.source, "quantized activations need linear or ReLU layers");
    }
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

// The preimage method's choice, from the log when it is there (a resumed run does not choose
// again). The record's key names the kept properties (their fingerprints) and the bit range.
synth::PreimageAnswer logged_preimage_bits(Searcher& s, const BlockNet& net, const std::vector<BoxProperty>& kept,
                                           const SynthOptions& o) {
    uint64_t h = fingerprint_bytes(&o.min_bits, sizeof o.min_bits);
    h = fingerprint_bytes(&o.max_bits, sizeof o.max_bits, h);
    for (const BoxProperty& p : kept) {
        const std::string f = p.key() + property_fingerprint(p, s.outputs());
        h = fingerprint_bytes(f.data(), f.size(), h);
    }
    const std::string key = "preimage|" + fingerprint_hex(h);
    if (const nlohmann::json* j = s.log().find(key)) {
        synth::PreimageAnswer a;
        a.bits = (*j)["bits"].get<std::vector<int>>();
        a.constrained = (*j)["constrained"].get<std::vector<int64_t>>();
        a.dropped = (*j)["dropped"].get<std::vector<int64_t>>();
        a.binding = (*j)["binding"].get<std::vector<std::string>>();
        a.split_lowered = j->value("split_lowered", std::vector<int>{});  // missing: chosen again below
        a.split_budget_hit = j->value("split_budget_hit", std::vector<int>{});
        a.with_preimage = (*j)["with_preimage"].get<int64_t>();
        a.linear = (*j)["linear"].get<int64_t>();
        a.time_s = (*j)["time_s"].get<double>();
        const size_t n = net.blocks.size();
        if (a.bits.size() == n && a.constrained.size() == n && a.dropped.size() == n && a.binding.size() == n &&
            a.split_lowered.size() == n && a.split_budget_hit.size() == n)
            return a;
    }
    const synth::PreimageAnswer a = synth::preimage_bits(net, kept, o);
    s.log().append(key, {{"bits", a.bits}, {"constrained", a.constrained}, {"dropped", a.dropped}, {"binding", a.binding},
                         {"split_lowered", a.split_lowered}, {"split_budget_hit", a.split_budget_hit},
                         {"with_preimage", a.with_preimage}, {"linear", a.linear}, {"time_s", a.time_s},
                         {"properties", int64_t(kept.size())}});
    return a;
}

// The order in which the search lowers the positions: the layers' weights last to first, then the
// hidden activations last to first, for the bit count; for memory, the positions with the most
// parameters (weights) or outputs (activations) first (a bit saved there saves the most).
std::vector<size_t> layer_order(const Space& space, SynthCost cost) {
    std::vector<size_t> order;
    for (size_t k = space.layers(); k-- > 0;) order.push_back(k);
    for (size_t k = space.size(); k-- > space.layers();)
        if (space.searched(k)) order.push_back(k);
    if (cost == SynthCost::Memory)
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return space.weight_of(a) > space.weight_of(b); });
    return order;
}

// Steps 2-4 of the search: the required set (what the all-max twin keeps), then the two passes.
std::vector<int> search_bits(Searcher& s, const Space& space, const std::vector<BoxProperty>& kept, const SynthOptions& o,
                             std::vector<BoxProperty>& required) {
    std::vector<int> bits = space.uniform(o.max_bits);
    std::vector<PropertyCheck> max_checks;
    s.certify(space.key(bits), space.twin(bits), kept, true, max_checks);
    for (size_t i = 0; i < kept.size(); ++i)
        if (max_checks[i].verdict == CheckVerdict::Proved) required.push_back(kept[i]);
    if (required.empty()) return bits;
    // Pass 1: binary search per layer, in layer_order (bits: last to first).
    const std::vector<size_t> order = layer_order(space, o.cost);
    for (size_t k : order) {
        int good = bits[k], lo = o.min_bits;  // good certifies; below lo is not tried
        while (lo < good) {
            const int mid = lo + (good - lo) / 2;
            std::vector<int> cand = bits;
            cand[k] = mid;
            if (s.certify_bits(space, cand, required)) good = mid;
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
                if (!s.certify_bits(space, cand, required)) break;
                bits = cand;
                changed = true;
            }
        }
    }
    return bits;
}

}  // namespace

const char* synth_cost_name(SynthCost c) { return c == SynthCost::Memory ? "memory" : "bits"; }

int64_t synth_cost(const BlockNet& net, const std::vector<int>& bits, SynthCost c, const std::vector<int>& act_bits) {
    int64_t total = 0;
    for (size_t k = 0; k < bits.size() && k < net.blocks.size(); ++k)
        total += int64_t(bits[k]) *
                 (c == SynthCost::Memory ? int64_t(net.blocks[k].W.size() + net.blocks[k].b.size()) : int64_t(1));
    for (size_t k = 0; k < act_bits.size() && k < net.blocks.size(); ++k)
        total += int64_t(act_bits[k]) * (c == SynthCost::Memory ? int64_t(net.blocks[k].out_size()) : int64_t(1));
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
    const Space space(net, o, r.kept);
    std::vector<int> bits = space.uniform(o.max_bits);
    std::vector<BoxProperty> required;
    int64_t preimage_required = -1;  // --method preimage: kept properties the linear bounds prove at the root
    std::vector<std::vector<PropertyCheck>> answer_checks;
    if (!o.fixed_bits.empty()) {
        bits = space.join(o.fixed_bits, space.acts(bits));
        required = r.kept;
        r.method = "bits";
    } else if (!r.kept.empty()) {
        // The method hook: each method proposes bits, each proposal is certified on every
        // kept property by the general checker (check_property), the better certified answer
        // wins: more kept properties proved, then the lower cost under o.cost (docs/SYNTH.md).
        std::vector<std::vector<int>> proposals;
        if (o.method != "preimage") {
            const auto ts = std::chrono::steady_clock::now();
            proposals.push_back(search_bits(s, space, r.kept, o, required));
            r.answers.push_back({"search", space.weights(proposals.back()), space.acts(proposals.back()), 0,
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count(),
                                 fmt::format("{} required properties (proved at max-bits)", required.size())});
        }
        // The preimage method chooses weight bits only (not run with quantized activations).
        if (o.method != "search" && !o.quantize_activations()) {
            // Every kind of property: the preimage works on the property's unsafe set (for
            // robustness, the label margins), each property with its own divisor.
            const synth::PreimageAnswer a = logged_preimage_bits(s, net, r.kept, o);
            proposals.push_back(a.bits);
            r.answers.push_back({"preimage", a.bits, {}, 0, a.time_s, a.summary()});
            if (o.method == "preimage") preimage_required = a.linear;
        }
        answer_checks.resize(r.answers.size());
        size_t best = 0;
        for (size_t m = 0; m < r.answers.size(); ++m) {
            MethodAnswer& a = r.answers[m];
            s.certify(space.key(proposals[m]), space.twin(proposals[m]), r.kept, true, answer_checks[m]);
            for (const PropertyCheck& c : answer_checks[m]) a.proved += c.verdict == CheckVerdict::Proved;
            a.cost = space.cost(proposals[m], o.cost);
            const MethodAnswer& b = r.answers[best];
            if (a.proved > b.proved || (a.proved == b.proved && a.cost < b.cost)) best = m;
        }
        bits = proposals[best];
        r.method = r.answers[best].method;
        r.checks = answer_checks[best];
    }
    // The answer, with every kept property's check at it.
    r.bits = space.weights(bits);
    r.act_bits = space.acts(bits);
    r.act_formats = space.formats(bits);
    r.required = preimage_required >= 0 ? preimage_required : int64_t(required.size());
    r.scheme = space.scheme(bits);
    r.quantized = quantize(net, r.scheme).real;
    if (!r.kept.empty() && r.checks.empty()) s.certify(space.key(bits), r.quantized, r.kept, true, r.checks);
    for (const PropertyCheck& c : r.checks) r.proved += c.verdict == CheckVerdict::Proved;
    r.candidates = s.candidates();
    r.cost = space.cost(bits, o.cost);
    r.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace qcert
