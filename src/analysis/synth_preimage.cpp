// qcert synth --method preimage: Quadapter's backward preimage under-approximation
// (polytopes from outward-rounded linear relaxations and boxes from interval arithmetic,
// instead of Gurobi's MILP) and the forward choice of the fewest bits per layer. See
// synth_preimage.hpp and docs/SYNTH.md.
#include "analysis/synth_preimage.hpp"

#include "analysis/synth_margin.hpp"
#include "qcert/errbound.hpp"
#include "qcert/interval.hpp"
#include "run/parallel.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace qcert::synth {

namespace {

constexpr double kMaxScale = 100;     // the largest relaxation tried (Quadapter's bound on its scale)
constexpr double kMinSpread = 1e-3;   // alpha, beta at least this (Quadapter's 1e-3)
constexpr int kBisections = 40;
// The input-splitting stage of the forward choice gets at most this many --timeout per layer.
constexpr double kSplitBudget = 20;
// The relaxations t of the polytopes' domains when a ReLU lies above the layer: a wider domain
// admits more quantization error but relaxes the ReLUs above over wider ranges.
constexpr std::array<double, 3> kPolytopeScales = {0.1, 0.5, 2.0};

BlockNet prefix(const BlockNet& net, size_t k) {
    BlockNet p = net;
    p.blocks.resize(k);
    return p;
}

// The interval of output i of block b over the box `in` (activation and clamp applied; a
// softmax is left out: argmax does not change).
Interval block_output(const Block& b, int64_t i, const LayerBox& in) {
    Interval s = Interval::point(b.b[i]);
    for (int64_t j = 0; j < b.in_size(); ++j)
        if (b.W(i, j) != 0) s += Interval{in.lo[size_t(j)], in.hi[size_t(j)]} * b.W(i, j);
    if (b.act == Act::ReLU) s = relu(s);
    else if (b.act == Act::LeakyReLU) s = leaky_relu(s, b.alpha);
    else if (b.act != Act::None && b.act != Act::Softmax) return Interval::entire();
    return clamp(s, b.lo, b.hi);
}

bool plain_affine(const Block& b) {
    return (b.act == Act::None || b.act == Act::Softmax) && b.lo == -Interval::kInf && b.hi == Interval::kInf;
}

}  // namespace

LayerBox prefix_bounds(const BlockNet& net, size_t k, const RobustProperty& p, double divisor) {
    const BlockNet pre = prefix(net, k);
    const ErrPair pair = make_err_pair(pre, pre, divisor);
    const DiffBound d = diff_bound(pair, p.lo, p.hi, DiffMode::Differential);
    return LayerBox{d.f_lo, d.f_hi};
}

bool block_maps_into(const Block& b, const LayerBox& in, const LayerBox& target) {
    for (int64_t i = 0; i < b.out_size(); ++i) {
        const Interval y = block_output(b, i, in);
        if (!(y.lo >= target.lo[size_t(i)] && y.hi <= target.hi[size_t(i)])) return false;
    }
    return true;
}

bool block_keeps_label(const Block& b, int64_t label, const LayerBox& in) {
    if (plain_affine(b)) {
        // y_label - y_j is affine in h: one interval sum per margin, no dependency loss.
        for (int64_t j = 0; j < b.out_size(); ++j) {
            if (j == label) continue;
            Interval s = Interval::point(b.b[label]) - Interval::point(b.b[j]);
            for (int64_t i = 0; i < b.in_size(); ++i) {
                const Interval c = Interval::point(b.W(label, i)) - Interval::point(b.W(j, i));
                if (c.lo == 0 && c.hi == 0) continue;
                s += c * Interval{in.lo[size_t(i)], in.hi[size_t(i)]};
            }
            if (!(s.lo > 0)) return false;
        }
        return true;
    }
    const Interval yl = block_output(b, label, in);
    for (int64_t j = 0; j < b.out_size(); ++j)
        if (j != label && !((yl - block_output(b, j, in)).lo > 0)) return false;
    return true;
}

bool block_safe(const Block& b, const BoxProperty& p, const LayerBox& in) {
    BlockNet one;
    one.blocks.push_back(b);
    const ConditionNet c = condition_net(one, p);
    const Block& rows = c.net.blocks.back();
    std::vector<double> lo(size_t(rows.out_size()));
    if (plain_affine(b)) {
        // s_k = (R_k W) h + (R_k . b + r_k) is affine in h: one interval sum per row, no dependency loss.
        for (int64_t k = 0; k < rows.out_size(); ++k) {
            Interval s = Interval::point(rows.b[k]);
            for (int64_t o = 0; o < rows.in_size(); ++o)
                if (rows.W(k, o) != 0) s += Interval::point(b.b[o]) * rows.W(k, o);
            for (int64_t i = 0; i < b.in_size(); ++i) {
                Interval coef = Interval::point(0);
                bool any = false;
                for (int64_t o = 0; o < rows.in_size(); ++o)
                    if (rows.W(k, o) != 0 && b.W(o, i) != 0) coef += Interval::point(b.W(o, i)) * rows.W(k, o), any = true;
                if (any) s += coef * Interval{in.lo[size_t(i)], in.hi[size_t(i)]};
            }
            lo[size_t(k)] = s.lo;
        }
    } else {
        std::vector<Interval> y;
        for (int64_t o = 0; o < b.out_size(); ++o) y.push_back(block_output(b, o, in));
        for (int64_t k = 0; k < rows.out_size(); ++k) {
            Interval s = Interval::point(rows.b[k]);
            for (int64_t o = 0; o < rows.in_size(); ++o)
                if (rows.W(k, o) != 0) s += y[size_t(o)] * rows.W(k, o);
            lo[size_t(k)] = s.lo;
        }
    }
    for (double& v : lo)
        if (std::isnan(v)) v = -std::numeric_limits<double>::infinity();
    return rows_prove(c, lo);
}

bool linear_bound_proves(const BlockNet& net, const RobustProperty& p, double divisor) {
    const ConditionNet c = condition_net(net, p);
    const ErrPair pair = make_err_pair(c.net, c.net, divisor);
    const DiffBound d = diff_bound(pair, p.lo, p.hi, DiffMode::Differential);
    std::vector<double> lo = d.f_lo;
    for (double& v : lo)
        if (std::isnan(v)) v = -std::numeric_limits<double>::infinity();
    return rows_prove(c, lo);
}

PropertyPreimage compute_preimage(const BlockNet& net, const RobustProperty& p, double divisor) {
    const size_t hidden = net.blocks.size() - 1;
    PropertyPreimage r;
    r.linear = linear_bound_proves(net, p, divisor);
    r.scale.assign(hidden, -1.0);
    r.preimage.resize(hidden);
    // The float values at the box centre, layer by layer.
    Vec x(net.input_size());
    for (int64_t j = 0; j < x.size(); ++j) x[j] = (p.lo[size_t(j)] + 0.5 * (p.hi[size_t(j)] - p.lo[size_t(j)])) / divisor;
    std::vector<Vec> centre;
    for (size_t k = 0; k < hidden; ++k) {
        const Block& b = net.blocks[k];
        x = b.activate(b.W * x + b.b);
        centre.push_back(x);
        r.reach.push_back(prefix_bounds(net, k + 1, p, divisor));
    }
    auto relaxed = [&](size_t k, double t) {
        const Block& b = net.blocks[k];
        const double floor = b.act == Act::ReLU ? std::max(0.0, b.lo) : b.lo;
        const LayerBox& R = r.reach[k];
        LayerBox box{R.lo, R.hi};
        for (size_t i = 0; i < box.lo.size(); ++i) {
            const double c = std::clamp(centre[k][int64_t(i)], R.lo[i], R.hi[i]);
            const double alpha = std::max(c - R.lo[i], kMinSpread), beta = std::max(R.hi[i] - c, kMinSpread);
            box.lo[i] = std::max(R.lo[i] - t * alpha, floor);
            box.hi[i] = std::min(R.hi[i] + t * beta, b.hi);
        }
        return box;
    };
    // Polytopes: over the reachable box widened by t * max(spread, s0) on each side, s0 half the
    // layer's mean reachable width (a neuron with a narrow float range still moves under
    // quantization); one exact polytope when the layers above are affine (no domain).
    r.polytopes.resize(hidden);
    for (size_t k = 0; k < hidden; ++k) {
        bool affine_above = true;
        for (size_t j = k + 1; j < net.blocks.size(); ++j) affine_above = affine_above && plain_affine(net.blocks[j]);
        const LayerBox& R = r.reach[k];
        double mean_width = 0;
        for (size_t i = 0; i < R.lo.size(); ++i) mean_width += (R.hi[i] - R.lo[i]) / double(R.lo.size());
        const double s0 = std::max(kMinSpread, 0.5 * mean_width);
        const Block& b = net.blocks[k];
        const double floor = b.act == Act::ReLU ? std::max(0.0, b.lo) : b.lo;
        for (double t : affine_above ? std::vector<double>{0.0} : std::vector<double>(kPolytopeScales.begin(), kPolytopeScales.end())) {
            LayerBox D = R;
            for (size_t i = 0; i < D.lo.size(); ++i) {
                const double c = std::clamp(centre[k][int64_t(i)], R.lo[i], R.hi[i]);
                D.lo[i] = std::max(R.lo[i] - t * std::max(c - R.lo[i], s0), floor);
                D.hi[i] = std::min(R.hi[i] + t * std::max(R.hi[i] - c, s0), b.hi);
            }
            r.polytopes[k].push_back(preimage_polytope(net, k, p, D));
        }
    }
    for (size_t k = hidden; k-- > 0;) {
        if (k + 1 < hidden && r.scale[k + 1] < 0) break;  // no preimage above: none here either
        auto safe = [&](double t) {
            const LayerBox box = relaxed(k, t);
            return k + 1 == hidden ? block_safe(net.blocks[k + 1], p, box)
                                   : block_maps_into(net.blocks[k + 1], box, r.preimage[k + 1]);
        };
        if (!safe(0)) break;  // the reachable box itself is not inside: the box abstraction is too coarse
        double good = 0, bad = kMaxScale;
        if (safe(kMaxScale)) good = kMaxScale;
        else
            for (int it = 0; it < kBisections; ++it) {
                const double mid = 0.5 * (good + bad);
                (safe(mid) ? good : bad) = mid;
            }
        r.scale[k] = good;
        r.preimage[k] = relaxed(k, good);
    }
    return r;
}

PreimageAnswer preimage_bits(const BlockNet& net, std::vector<BoxProperty> props, double divisor, const SynthOptions& o) {
    for (BoxProperty& p : props) p.divisor = divisor;
    return preimage_bits(net, static_cast<const std::vector<BoxProperty>&>(props), o);
}

PreimageAnswer preimage_bits(const BlockNet& net, const std::vector<BoxProperty>& props, const SynthOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t layers = net.blocks.size(), hidden = layers - 1;
    PreimageAnswer a;
    a.bits.assign(layers, o.max_bits);
    a.constrained.assign(layers, 0);
    a.dropped.assign(layers, 0);
    a.binding.assign(layers, "");
    a.split_lowered.assign(layers, 0);
    a.split_budget_hit.assign(layers, 0);
    // Backward, per property.
    std::vector<PropertyPreimage> pre(props.size());
    parallel_for(int64_t(props.size()), [&](int64_t i) { pre[size_t(i)] = compute_preimage(net, props[size_t(i)], props[size_t(i)].divisor); },
                 o.threads);
    std::vector<char> alive(props.size(), 1);
    for (size_t i = 0; i < props.size(); ++i) {
        a.linear += pre[i].linear;
        a.with_preimage += hidden == 0 || pre[i].scale[0] >= 0;
    }
    // Forward, per layer: the fewest bits that keep every participating property inside its preimage.
    for (size_t k = 0; k < layers; ++k) {
        const bool last = k + 1 == layers;
        // A property with a preimage at this layer is constrained by it; one without (the box
        // abstraction was too coarse) by the look-ahead: the linear bounds of the whole network,
        // this layer at the candidate bits and the layers above still at max-bits, prove it.
        std::vector<size_t> part;
        for (size_t i = 0; i < props.size(); ++i)
            if (last ? pre[i].linear : alive[i] && (pre[i].scale[k] >= 0 || pre[i].linear)) part.push_back(i);
        auto inside = [&](const BlockNet& twin, size_t i) {
            if (last) return linear_bound_proves(twin, props[i], props[i].divisor);
            for (const PreimagePolytope& P : pre[i].polytopes[k])
                if (prefix_inside_polytope(twin, k, props[i], P)) return true;
            if (pre[i].scale[k] < 0) return false;
            const LayerBox q = prefix_bounds(twin, k + 1, props[i], props[i].divisor);
            const LayerBox& P = pre[i].preimage[k];
            for (size_t j = 0; j < q.lo.size(); ++j)
                if (!(q.lo[j] >= P.lo[j] && q.hi[j] <= P.hi[j])) return false;
            return true;
        };
        auto twin_at = [&](int b) {
            std::vector<int> cand = a.bits;
            cand[k] = b;
            return quadapter_twin(net, cand);
        };
        // Properties whose inclusion fails even at max-bits are left to the final check.
        {
            const BlockNet twin = twin_at(o.max_bits);
            std::vector<char> ok(part.size(), 0);
            parallel_for(int64_t(part.size()), [&](int64_t t) { ok[size_t(t)] = inside(twin, part[size_t(t)]); }, o.threads);
            std::vector<size_t> kept;
            for (size_t t = 0; t < part.size(); ++t) {
                if (ok[t]) kept.push_back(part[t]);
                else alive[part[t]] = 0, ++a.dropped[k];
            }
            part = std::move(kept);
        }
        a.constrained[k] = int64_t(part.size());
        if (part.empty()) continue;  // nothing to go by: the layer keeps max-bits
        for (int b = o.min_bits; b < o.max_bits; ++b) {
            const BlockNet twin = twin_at(b);
            std::atomic<bool> fail{false};
            std::atomic<size_t> failed_at{0};
            parallel_for(int64_t(part.size()), [&](int64_t t) {
                if (!fail.load() && !inside(twin, part[size_t(t)])) failed_at = part[size_t(t)], fail = true;
            }, o.threads);
            if (fail.load()) a.binding[k] = props[failed_at.load()].key();
            if (!fail.load()) {
                a.bits[k] = b;
                break;
            }
        }
        // Then lower the layer further while input splitting (check_property, --timeout per
        // property) shows every constrained property inside (at the last layer: proved).
        auto inside_split = [&](const BlockNet& twin, size_t i) {
            if (inside(twin, i)) return true;
            if (last) return check_property(twin, props[i], o.timeout_s).verdict == CheckVerdict::Proved;
            for (const PreimagePolytope& P : pre[i].polytopes[k])
                if (prefix_inside_polytope(twin, k, props[i], P, o.timeout_s)) return true;
            return false;
        };
        // The stage has a time budget per layer (kSplitBudget x --timeout): past it, the
        // candidate counts as failed and the layer keeps the bits it has.
        const auto split_end = std::chrono::steady_clock::now() +
                               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(kSplitBudget * o.timeout_s));
        for (int b = a.bits[k] - 1; b >= o.min_bits; --b) {
            const BlockNet twin = twin_at(b);
            std::atomic<bool> fail{false}, out_of_time{false};
            std::atomic<size_t> failed_at{0};
            parallel_for(int64_t(part.size()), [&](int64_t t) {
                if (fail.load()) return;
                if (std::chrono::steady_clock::now() > split_end) out_of_time = true, fail = true;
                else if (!inside_split(twin, part[size_t(t)])) failed_at = part[size_t(t)], fail = true;
            }, o.threads);
            if (out_of_time.load()) {
                a.split_budget_hit[k] = 1;
                break;
            }
            if (fail.load()) {
                a.binding[k] = props[failed_at.load()].key();
                break;
            }
            a.bits[k] = b, ++a.split_lowered[k];
        }
    }
    a.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return a;
}

std::string PreimageAnswer::summary() const {
    std::string s = fmt::format("{} of the properties have a preimage at every hidden layer, {} are proved by linear bounds "
                                "on the float network", with_preimage, linear);
    for (size_t k = 0; k < bits.size(); ++k) {
        // (dropped: their inclusion failed at max-bits; at the last layer: not proved by linear bounds there)
        s += fmt::format("; layer {}: {} bits, {} constrained, {} dropped", k + 1, bits[k], constrained[k], dropped[k]);
        if (split_lowered[k] > 0) s += fmt::format(", {} bits fewer by input splitting", split_lowered[k]);
        if (split_budget_hit[k]) s += ", the input-splitting stage ran out of its time budget";
        if (!binding[k].empty()) s += fmt::format(", {} bits leave {} outside", bits[k] - 1, binding[k]);
    }
    return s;
}

}  // namespace qcert::synth
