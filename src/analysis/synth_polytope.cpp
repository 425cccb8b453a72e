// Polytope preimages of a property's safe set at a hidden layer, and the forward check of a
// quantized prefix against them. See synth_polytope.hpp and docs/SYNTH.md.
//
// Soundness. The back-substitution runs in outward-rounded interval arithmetic: every
// coefficient of the rows over the current level is an interval that contains the exact
// coefficient of a valid lower bound. A neuron x = clamp(act(z)) with coefficient A:
// A >= 0 uses a sound lower line x >= s z + t, A <= 0 a sound upper line (linear_forms.hpp,
// checked at the breakpoints in outward arithmetic), and an A interval that straddles 0 (only
// rounding makes one) is replaced by the constant A * [x range]. At the end the interval
// coefficients [A] are replaced by their midpoints a and the constant lowered by
// sum_i rad_i max|h_i| over D, which covers every A in [A].
#include "analysis/synth_polytope.hpp"

#include "bounds/linear_forms.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "qcert/interval.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace qcert::synth {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool plain_affine(const Block& b) { return b.act == Act::None && b.lo == -kInf && b.hi == kInf; }

// Every disjunct has a row whose lower bound closes it.
bool closes(const PreimagePolytope& P, const std::vector<double>& lo) {
    for (const auto& d : P.disjuncts) {
        bool closed = false;
        for (int64_t r : d) closed = closed || lo[size_t(r)] > 0 || (P.strict[size_t(r)] && lo[size_t(r)] >= 0);
        if (!closed) return false;
    }
    return true;
}

// Interval matrix, row-major.
struct IMat {
    int64_t rows = 0, cols = 0;
    std::vector<Interval> v;
    IMat(int64_t r, int64_t c) : rows(r), cols(c), v(size_t(r * c), Interval::point(0)) {}
    Interval& operator()(int64_t r, int64_t c) { return v[size_t(r * cols + c)]; }
    const Interval& operator()(int64_t r, int64_t c) const { return v[size_t(r * cols + c)]; }
};

}  // namespace

PreimagePolytope preimage_polytope(const BlockNet& net, size_t k, const BoxProperty& p, const LayerBox& domain) {
    const ConditionNet cn = condition_net(net, p);
    const size_t layers = net.blocks.size();
    if (k + 1 >= layers) throw InputError(net.source, fmt::format("block {} is not a hidden layer", k));
    const int64_t width = net.blocks[k].out_size();
    if (int64_t(domain.lo.size()) != width || int64_t(domain.hi.size()) != width)
        throw InputError(net.source, fmt::format("the domain box of layer {} has the wrong size", k + 1));
    for (size_t j = k + 1; j < layers; ++j) {
        const Act a = cn.net.blocks[j].act;
        if (a != Act::None && a != Act::ReLU)
            throw InputError(net.source, "synth preimages need affine or ReLU layers");
    }
    // Pre-activation bounds of the layers above k over the domain (only needed when one is not affine).
    DiffBound z;
    bool need_bounds = false;
    for (size_t j = k + 1; j < layers; ++j) need_bounds = need_bounds || !plain_affine(cn.net.blocks[j]);
    if (!need_bounds) {
        PreimagePolytope P;
        P.exact = true;
        P.above.assign(cn.net.blocks.begin() + int64_t(k) + 1, cn.net.blocks.end());
        P.domain.lo.assign(size_t(width), -kInf);
        P.domain.hi.assign(size_t(width), kInf);
        P.disjuncts = cn.disjuncts;
        P.strict = cn.strict;
        return P;
    }
    {
        BlockNet suffix;
        suffix.source = net.source;
        suffix.input_shape = {width};
        suffix.blocks.assign(cn.net.blocks.begin() + int64_t(k) + 1, cn.net.blocks.begin() + int64_t(layers));
        z = diff_bound(make_err_pair(suffix, suffix, 1.0), domain.lo, domain.hi, DiffMode::Differential);
    }
    // The rows: s = R y + r, exact coefficients.
    const Block& rows = cn.net.blocks.back();
    const int64_t m = rows.out_size();
    IMat A(m, rows.in_size());
    std::vector<Interval> C(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
        C[size_t(r)] = Interval::point(rows.b[r]);
        for (int64_t o = 0; o < rows.in_size(); ++o) A(r, o) = Interval::point(rows.W(r, o));
    }
    for (size_t j = layers; j-- > k + 1;) {
        const Block& b = cn.net.blocks[j];
        // Through the activation and clamp: coefficients over x_j become coefficients over z_j.
        if (!plain_affine(b)) {
            const Vec& zl = z.zf_lo[j - k - 1];
            const Vec& zu = z.zf_hi[j - k - 1];
            const double lo = b.act == Act::ReLU ? std::max(0.0, b.lo) : b.lo, hi = b.hi;
            for (int64_t i = 0; i < b.out_size(); ++i) {
                const double l = zl[i], u = zu[i];
                const bool finite = std::isfinite(l) && std::isfinite(u) && l <= u;
                linear::Line low{0, -kInf}, up{0, kInf};
                if (finite) low = linear::clamp_lower_line(l, u, lo, hi), up = linear::clamp_upper_line(l, u, lo, hi);
                const Interval xr = finite ? Interval{linear::clamp_value(l, lo, hi), linear::clamp_value(u, lo, hi)}
                                           : Interval{std::max(lo, -kInf), hi};
                for (int64_t r = 0; r < m; ++r) {
                    Interval& a = A(r, i);
                    if (a.lo == 0 && a.hi == 0) continue;
                    if (a.lo >= 0 && std::isfinite(low.t)) {
                        C[size_t(r)] += a * low.t;
                        a = a * low.s;
                    } else if (a.hi <= 0 && std::isfinite(up.t)) {
                        C[size_t(r)] += a * up.t;
                        a = a * up.s;
                    } else {
                        C[size_t(r)] += a * xr;
                        a = Interval::point(0);
                    }
                }
            }
        }
        // Through the affine map z_j = W x_{j-1} + b.
        IMat next(m, b.in_size());
        for (int64_t r = 0; r < m; ++r)
            for (int64_t i = 0; i < b.out_size(); ++i) {
                const Interval a = A(r, i);
                if (a.lo == 0 && a.hi == 0) continue;
                C[size_t(r)] += a * b.b[i];
                for (int64_t q = 0; q < b.in_size(); ++q)
                    if (b.W(i, q) != 0) next(r, q) += a * b.W(i, q);
            }
        A = std::move(next);
    }
    PreimagePolytope P;
    P.domain = domain;
    P.disjuncts = cn.disjuncts;
    P.strict = cn.strict;
    P.a = Mat::Zero(m, width);
    P.c = Vec::Zero(m);
    for (int64_t r = 0; r < m; ++r) {
        Interval c = Interval::point(C[size_t(r)].lo);
        for (int64_t i = 0; i < width; ++i) {
            const Interval a = A(r, i);
            const double mid = a.mid();
            P.a(r, i) = mid;
            const double rad = std::max(next_up(mid - a.lo), next_up(a.hi - mid));
            const double mag = std::max(std::fabs(domain.lo[size_t(i)]), std::fabs(domain.hi[size_t(i)]));
            if (rad > 0) c -= Interval::point(rad) * mag;
        }
        P.c[r] = std::isnan(c.lo) ? -kInf : c.lo;
    }
    return P;
}

bool polytope_contains(const PreimagePolytope& P, const std::vector<double>& h) {
    for (size_t i = 0; i < h.size(); ++i)
        if (!(h[i] >= P.domain.lo[i] && h[i] <= P.domain.hi[i])) return false;
    if (P.exact) {
        BlockNet above;
        above.input_shape = {int64_t(h.size())};
        above.blocks = P.above;
        std::vector<double> lo;
        for (const Interval& v : margin_enclosure(above, h, 1.0)) lo.push_back(std::isnan(v.lo) ? -kInf : v.lo);
        return closes(P, lo);
    }
    std::vector<double> lo(size_t(P.a.rows()));
    for (int64_t r = 0; r < P.a.rows(); ++r) {
        Interval s = Interval::point(P.c[r]);
        for (int64_t i = 0; i < P.a.cols(); ++i)
            if (P.a(r, i) != 0) s += Interval::point(P.a(r, i)) * h[size_t(i)];
        lo[size_t(r)] = std::isnan(s.lo) ? -kInf : s.lo;
    }
    return closes(P, lo);
}

namespace {

// The rows as the unsafe set of a property over the outputs of prefix + rows: row r <= 0
// (< 0 when strict) is what would leave the polytope; false when a disjunct has no finite row.
bool rows_property(const BoxProperty& p, const PreimagePolytope& P, BoxProperty& q) {
    q = BoxProperty{};
    q.kind = PropertyKind::Vnnlib;
    q.name = p.key();
    q.divisor = p.divisor;
    q.lo = p.lo, q.hi = p.hi;
    for (const auto& d : P.disjuncts) {
        q.unsafe.unsafe.emplace_back();
        for (int64_t r : d) {
            if (!std::isfinite(P.c[r])) continue;  // a row that proves nothing: dropping it enlarges the unsafe set
            LinearConstraint k;
            k.terms = {{r, 1.0}};
            k.rhs = 0;
            k.strict = P.strict[size_t(r)];
            q.unsafe.unsafe.back().push_back(k);
        }
        if (q.unsafe.unsafe.back().empty()) return false;
    }
    return true;
}

}  // namespace

bool prefix_inside_polytope(const BlockNet& twin, size_t k, const BoxProperty& p, const PreimagePolytope& P,
                            double split_timeout_s) {
    if (P.exact) {
        // The prefix followed by the float layers above and the rows: the property's own rows.
        BlockNet net = twin;
        net.blocks.resize(k + 1);
        net.blocks.insert(net.blocks.end(), P.above.begin(), P.above.end() - 1);
        const ConditionNet cn = condition_net(net, p);
        const DiffBound d = diff_bound(make_err_pair(cn.net, cn.net, p.divisor), p.lo, p.hi, DiffMode::Differential);
        std::vector<double> lo = d.f_lo;
        for (double& v : lo)
            if (std::isnan(v)) v = -kInf;
        if (closes(P, lo)) return true;
        if (!(split_timeout_s > 0)) return false;
        return check_property(net, p, split_timeout_s).verdict == CheckVerdict::Proved;
    }
    const int64_t width = P.a.cols(), m = P.a.rows();
    BlockNet net = twin;
    net.blocks.resize(k + 1);
    if (net.blocks.back().out_size() != width) throw InputError(twin.source, "the polytope does not fit the layer");
    if (net.blocks.back().act == Act::Softmax) return false;  // a hidden layer never has one
    // One block: the layer itself (the box check) and the rows (the polytope check).
    Block out;
    out.name = "preimage rows";
    out.W = Mat::Zero(width + m, width);
    out.b = Vec::Zero(width + m);
    out.W.topRows(width).setIdentity();
    out.W.bottomRows(m) = P.a;
    out.b.tail(m) = P.c;
    if (!P.c.allFinite()) {  // a row that proves nothing: keep the network finite, the check below ignores it
        for (int64_t r = 0; r < m; ++r)
            if (!std::isfinite(P.c[r])) out.W.row(width + r).setZero(), out.b[width + r] = 0;
    }
    net.blocks.push_back(std::move(out));
    const DiffBound d = diff_bound(make_err_pair(net, net, p.divisor), p.lo, p.hi, DiffMode::Differential);
    // The layer's outputs from its pre-activation bounds (the identity rows' own bounds do not
    // apply the ReLU to the concrete values).
    const Block& layer = twin.blocks[k];
    for (int64_t i = 0; i < width; ++i) {
        Interval h{d.zf_lo[k][i], d.zf_hi[k][i]};
        if (layer.act == Act::ReLU) h = relu(h);
        else if (layer.act != Act::None) return false;
        h = clamp(h, layer.lo, layer.hi);
        const Interval id{d.f_lo[size_t(i)], d.f_hi[size_t(i)]};
        h = intersect(h, id);
        if (!(h.lo >= P.domain.lo[size_t(i)] && h.hi <= P.domain.hi[size_t(i)])) return false;
    }
    std::vector<double> lo(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
        const double v = d.f_lo[size_t(width + r)];
        lo[size_t(r)] = std::isfinite(P.c[r]) && !std::isnan(v) ? v : -kInf;
    }
    if (closes(P, lo)) return true;
    if (!(split_timeout_s > 0)) return false;
    // Input splitting on the prefix followed by the rows alone (the box is already shown).
    BoxProperty q;
    if (!rows_property(p, P, q)) return false;
    BlockNet rows_net = twin;
    rows_net.blocks.resize(k + 1);
    Block rows;
    rows.name = "preimage rows";
    rows.W = P.a;
    rows.b = P.c;
    for (int64_t r = 0; r < m; ++r)
        if (!std::isfinite(P.c[r])) rows.W.row(r).setZero(), rows.b[r] = 0;  // not in q's unsafe set
    rows_net.blocks.push_back(std::move(rows));
    return check_property(rows_net, q, split_timeout_s).verdict == CheckVerdict::Proved;
}

}  // namespace qcert::synth
