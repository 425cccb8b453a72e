// Perturbation sets: the range of values every weight and bias may take, from a
// quantization scheme, a relative or an absolute radius (docs/PARAMS.md).
//
// An endpoint such as w - h/2 need not be a double. We compute it exactly as a
// bracket [down, up] (an error-free transformation: TwoSum for sums, FMA for
// products), and keep two boxes: `outer` takes the outside end of each bracket (so it
// contains the exact set: bounds over it are sound) and `inner` the inside end (so it
// lies in the exact set: a witness drawn from it is a genuine member).
#include "qcert/error.hpp"
#include "qcert/interval.hpp"
#include "qcert/params.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

namespace {

// The doubles around the exact a + b: lo <= a + b <= hi, lo == hi when exact.
Interval exact_sum(double a, double b) {
    const double r = a + b;
    if (!std::isfinite(r)) throw InputError("perturbation", "a parameter range overflows double");
    // TwoSum (Knuth): a + b = r + err exactly in round-to-nearest.
    const double bb = r - a;
    const double err = (a - (r - bb)) + (b - bb);
    if (err > 0) return {r, next_up(r)};
    if (err < 0) return {next_down(r), r};
    return {r, r};
}

// The doubles around the exact a * b (a, b >= 0 here).
Interval exact_product(double a, double b) {
    const double p = a * b;
    if (!std::isfinite(p)) throw InputError("perturbation", "a parameter range overflows double");
    if (std::fabs(p) < 0x1p-900) return {next_down(p), next_up(p)};  // FMA's error may underflow
    const double err = std::fma(a, b, -p);
    if (err > 0) return {p, next_up(p)};
    if (err < 0) return {next_down(p), p};
    return {p, p};
}

// One parameter's range: [w + d_lo, w + d_hi] with the offsets given as brackets
// (the lower end may use any value of d_lo's bracket: outer takes its smallest).
struct Range {
    double outer_lo, outer_hi, inner_lo, inner_hi;
};

Range offset_range(double w, Interval d_lo, Interval d_hi) {
    const Interval lo_out = exact_sum(w, d_lo.lo), lo_in = exact_sum(w, d_lo.hi);
    const Interval hi_out = exact_sum(w, d_hi.hi), hi_in = exact_sum(w, d_hi.lo);
    return {lo_out.lo, hi_out.hi, lo_in.hi, hi_in.lo};
}

Range clip(Range r, double lo, double hi) {
    auto c = [&](double v) { return std::clamp(v, lo, hi); };
    return {c(r.outer_lo), c(r.outer_hi), c(r.inner_lo), c(r.inner_hi)};
}

Range fixed_range(double w, const FixedFormat& f, Rounding mode) {
    const double h = f.step(), half = 0.5 * h;  // powers of two: exact
    Interval dl{-half, -half}, dh{half, half};
    switch (mode) {
        case Rounding::Floor: dl = {-h, -h}; dh = {0, 0}; break;
        case Rounding::Ceil: dl = {0, 0}; dh = {h, h}; break;
        case Rounding::TowardZero:
            if (w >= 0) { dl = {-h, -h}; dh = {0, 0}; }
            else { dl = {0, 0}; dh = {h, h}; }
            break;
        default: break;  // the half-* modes: round to nearest
    }
    return clip(offset_range(w, dl, dh), f.min_value(), f.max_value());
}

Range fp16_range(double w) {
    constexpr double kMax = 65504.0;  // the largest finite half
    if (!(std::fabs(w) < 65520.0)) throw InputError("--scheme fp16", fmt::format("parameter {} overflows IEEE half", w));
    int ex = 0;
    std::frexp(w, &ex);                                  // |w| in [2^(ex-1), 2^ex)
    const int binade = w == 0 ? -14 : std::max(ex - 1, -14);
    const double half_ulp = std::ldexp(1.0, binade - 11);  // half of 2^(binade - 10)
    return clip(offset_range(w, {-half_ulp, -half_ulp}, {half_ulp, half_ulp}), -kMax, kMax);
}

Range radius_range(double w, Interval d) {
    return offset_range(w, -d, d);
}

void set(ParamRange& outer, ParamRange& inner, size_t k, int64_t i, int64_t j, const Range& r) {
    if (j < 0) {
        outer.b_lo[k][i] = r.outer_lo; outer.b_hi[k][i] = r.outer_hi;
        inner.b_lo[k][i] = r.inner_lo; inner.b_hi[k][i] = r.inner_hi;
    } else {
        outer.w_lo[k](i, j) = r.outer_lo; outer.w_hi[k](i, j) = r.outer_hi;
        inner.w_lo[k](i, j) = r.inner_lo; inner.w_hi[k](i, j) = r.inner_hi;
    }
}

// A perturbation with every parameter at its nominal value, to fill in.
Perturbation nominal(const BlockNet& net, std::string name) {
    Perturbation p;
    p.name = std::move(name);
    for (const Block& b : net.blocks) {
        for (ParamRange* r : {&p.outer, &p.inner}) {
            r->w_lo.push_back(b.W); r->w_hi.push_back(b.W);
            r->b_lo.push_back(b.b); r->b_hi.push_back(b.b);
        }
    }
    return p;
}

// Calls f(k, i, j, w) for every parameter: j = -1 for biases.
template <class F>
void for_each_param(const BlockNet& net, F f) {
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        for (int64_t i = 0; i < b.W.rows(); ++i) {
            for (int64_t j = 0; j < b.W.cols(); ++j) f(k, i, j, b.W(i, j));
            f(k, i, int64_t(-1), b.b[i]);
        }
    }
}

void check_finite(const BlockNet& net) {
    for_each_param(net, [&](size_t k, int64_t, int64_t, double w) {
        if (!std::isfinite(w)) throw InputError(net.source, fmt::format("layer {} has a parameter that is not finite", k));
    });
}

}  // namespace

int64_t Perturbation::free_count() const {
    int64_t n = 0;
    for (size_t k = 0; k < outer.w_lo.size(); ++k) {
        n += (outer.w_lo[k].array() < outer.w_hi[k].array()).count();
        n += (outer.b_lo[k].array() < outer.b_hi[k].array()).count();
    }
    return n;
}

bool Perturbation::contains(const BlockNet& net) const {
    if (net.blocks.size() != inner.w_lo.size()) return false;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        if (b.W.rows() != inner.w_lo[k].rows() || b.W.cols() != inner.w_lo[k].cols()) return false;
        if ((b.W.array() < inner.w_lo[k].array()).any() || (b.W.array() > inner.w_hi[k].array()).any()) return false;
        if ((b.b.array() < inner.b_lo[k].array()).any() || (b.b.array() > inner.b_hi[k].array()).any()) return false;
    }
    return true;
}

Perturbation perturbation_from_scheme(const BlockNet& net, const Scheme& scheme) {
    check_finite(net);
    if (scheme.layers.size() != net.blocks.size())
        throw InputError("--scheme " + scheme.name, fmt::format("the scheme has {} layers, the network has {}",
                                                                scheme.layers.size(), net.blocks.size()));
    Perturbation p = nominal(net, "scheme " + scheme.name);
    for_each_param(net, [&](size_t k, int64_t i, int64_t j, double w) {
        const LayerScheme& l = scheme.layers[k];
        const bool fp16 = j < 0 ? l.bias_fp16 : l.weight_fp16;
        const std::optional<FixedFormat>& f = j < 0 ? l.bias : l.weight;
        if (fp16) set(p.outer, p.inner, k, i, j, fp16_range(w));
        else if (f) {
            f->check("--scheme " + scheme.name);
            set(p.outer, p.inner, k, i, j, fixed_range(w, *f, l.param_rounding));
        }
    });
    return p;
}

Perturbation perturbation_relative(const BlockNet& net, double r) {
    if (!(r >= 0) || !std::isfinite(r)) throw InputError("--rel", fmt::format("the relative radius must be >= 0, got {}", r));
    check_finite(net);
    Perturbation p = nominal(net, fmt::format("rel {}", r));
    for_each_param(net, [&](size_t k, int64_t i, int64_t j, double w) {
        set(p.outer, p.inner, k, i, j, radius_range(w, exact_product(r, std::fabs(w))));
    });
    return p;
}

Perturbation perturbation_absolute(const BlockNet& net, double a) {
    if (!(a >= 0) || !std::isfinite(a)) throw InputError("--abs", fmt::format("the absolute radius must be >= 0, got {}", a));
    check_finite(net);
    Perturbation p = nominal(net, fmt::format("abs {}", a));
    for_each_param(net, [&](size_t k, int64_t i, int64_t j, double w) {
        set(p.outer, p.inner, k, i, j, radius_range(w, Interval::point(a)));
    });
    return p;
}

}  // namespace qcert
