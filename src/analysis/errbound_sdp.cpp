// The SDP bound on max s * (g - f)_k over a box (Li, Drummond, Duncan 2021; the ReLU
// encoding of Raghunathan et al. 2018 and Fazlyab et al. 2020), made rigorous from the
// solver's multipliers. docs/BOUND.md ("The SDP bound") gives the argument in full.
//
// Variables v: v_0 = 1, the inputs x = u / D, then every neuron (post-activation) of f,
// then of g. M = E[v v^T] (in scaled variables t_i = v_i / sigma_i, sigma_i a power of two
// near max |v_i|, so that every scaled coefficient stays exact). For every neuron
// y = relu(z), z = w . x + b, with sound pre-activation bounds [zl, zh] from the
// differential bound of the box:
//   unstable:  y >= 0, y >= z, y (y - z) = 0, zl <= z <= zh,
//              triangle zh z - (zh - zl) y >= zh zl;
//   zh <= 0:   the constant 0 (no variable);  zl >= 0: y = z;  a linear neuron: y = z;
//   always:    yl <= y <= yh and (y - yl)(yh - y) >= 0 (so M_yy <= max(yl^2, yh^2)).
// Inputs: xl <= x <= xh, (x - xl)(xh - x) >= 0. Same-shape pairs: the differential bounds
// of every hidden zg - zf and xg - xf as constraints. Every real trajectory's rank-one M is
// feasible; the objective s (yg_k - yf_k) is linear in M.
//
// Constraint coefficients are kept as intervals around the exact reals (products such
// as zh * w_j are rounded); SDPA gets their midpoints, the proof uses the intervals.
#include "analysis/errbound_sdp.hpp"
#include "backends/sdp_sdpa.hpp"
#include "bounds/min_eigenvalue.hpp"
#include "bounds/outward.hpp"
#include "qcert/error.hpp"
#include "qcert/interval.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert::errbound {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kDead = -1;  // a neuron that is 0 on the whole box: no variable

bool is_relu(const PairLayer& L) { return L.lo == 0 && L.hi == kInf; }
bool is_linear(const PairLayer& L) { return L.lo == -kInf && L.hi == kInf; }

int64_t sdp_variables(const ErrPair& p) {
    int64_t n = p.input_size();
    for (const auto* layers : {&p.f_layers, &p.g_layers})
        for (const PairLayer& L : *layers) n += L.W.rows();
    return n;
}

// c * E[v_i v_j] (v_0 = 1), c an interval around the exact coefficient.
struct Term {
    int i, j;
    Interval c;
};

// c * v (a linear term), none for a dead neuron.
void add_linear(std::vector<Term>& t, int v, Interval c) {
    if (v != kDead) t.push_back({0, v, c});
}

struct Row {
    std::vector<Term> terms;
    Interval b;
    bool inequality;
};

class Relaxation {
public:
    // A variable with sound bounds [l, h] on its real value; returns its index.
    int var(double l, double h) {
        lo_.push_back(l), hi_.push_back(h);
        const double m = std::max(std::fabs(l), std::fabs(h));
        int e = 0;
        if (m > 0 && std::isfinite(m)) std::frexp(m, &e);  // m < 2^e
        sigma_.push_back(std::ldexp(1.0, e));
        const int v = int(lo_.size());  // index 0 is the constant
        row({{0, v, Interval::point(1)}}, Interval::point(l), true);
        row({{0, v, Interval::point(-1)}}, Interval::point(-h), true);
        // (v - l)(h - v) >= 0:  -v^2 + (l + h) v >= l h.
        row({{v, v, Interval::point(-1)}, {0, v, Interval::point(l) + Interval::point(h)}}, Interval::point(l) * Interval::point(h), true);
        return v;
    }
    void row(std::vector<Term> t, Interval b, bool inequality) { rows_.push_back({std::move(t), b, inequality}); }
    void objective(int v, double c) { objective_.push_back({0, v, Interval::point(c)}); }
    int size() const { return int(lo_.size()) + 1; }
    double lo(int v) const { return lo_[size_t(v - 1)]; }
    double hi(int v) const { return hi_[size_t(v - 1)]; }
    double sigma(int v) const { return v == 0 ? 1.0 : sigma_[size_t(v - 1)]; }
    int64_t constraints() const { return int64_t(rows_.size()) + 1; }

    // The problem in scaled variables, for SDPA (midpoints of the coefficients).
    sdp::Problem problem() const {
        sdp::Problem P;
        P.n = size();
        P.objective = entries(objective_);
        P.constraints.push_back({{{0, 0, 1.0}}, 1.0, false});  // M_00 = 1
        for (const Row& r : rows_) P.constraints.push_back({entries(r.terms), r.b.mid(), r.inequality});
        return P;
    }

    // A proved upper bound on max C . M over the relaxation, from any multipliers y
    // (one per constraint of problem(), in its order). See docs/BOUND.md.
    double rigorous_bound(const std::vector<double>& y_in) const {
        const int n = size();
        std::vector<Interval> Z(size_t(n) * size_t(n), Interval::point(0));
        auto at = [&](int i, int j) -> Interval& { return Z[size_t(i) * size_t(n) + size_t(j)]; };
        // Adds s * (scaled term) to Z; a term off the diagonal is split evenly between (i, j) and (j, i).
        auto add = [&](const Term& t, Interval s) {
            const Interval c = s * scaled(t);
            if (t.i == t.j) {
                at(t.i, t.i) += c;
            } else {
                const Interval h = c * 0.5;  // exact
                at(t.i, t.j) += h;
                at(t.j, t.i) += h;
            }
        };
        for (const Term& t : objective_) add(t, Interval::point(-1));
        Interval dual = Interval::point(y_in[0]);  // M_00 = 1
        at(0, 0) += Interval::point(y_in[0]);
        for (size_t r = 0; r < rows_.size(); ++r) {
            double y = y_in[r + 1];
            if (rows_[r].inequality) y = std::min(y, 0.0);  // any y <= 0 is a valid multiplier of a >= row
            if (y == 0) continue;
            dual += Interval::point(y) * rows_[r].b;
            for (const Term& t : rows_[r].terms) add(t, Interval::point(y));
        }
        Mat mid(n, n), rad(n, n);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                const Interval& z = at(i, j);
                const double m = z.lo + 0.5 * (z.hi - z.lo);
                mid(i, j) = m;
                rad(i, j) = std::max(outward::up(z.hi - m), outward::up(m - z.lo));
            }
        const double lmin = min_eigenvalue_lower_bound(mid, rad);
        if (!(lmin > -kInf) || !std::isfinite(dual.hi)) return kInf;
        if (lmin >= 0) return dual.hi;
        return outward::up(dual.hi + outward::up(-lmin * trace_bound()));
    }

private:
    // The coefficient on the scaled moment M_ij = E[t_i t_j]: c sigma_i sigma_j (powers of two).
    Interval scaled(const Term& t) const { return t.c * sigma(t.i) * sigma(t.j); }

    std::vector<sdp::Entry> entries(const std::vector<Term>& terms) const {
        std::vector<sdp::Entry> e;
        for (const Term& t : terms) {
            const double c = scaled(t).mid();
            e.push_back({t.i, t.j, t.i == t.j ? c : 0.5 * c});
        }
        return e;
    }

    // tr(M) <= 1 + sum_i max(l_i^2, h_i^2) / sigma_i^2 on the feasible set (the product rows).
    double trace_bound() const {
        double s = 1;
        for (size_t i = 0; i < lo_.size(); ++i) {
            const double m = std::max(std::fabs(lo_[i]), std::fabs(hi_[i])) / sigma_[i];  // exact
            s += m * m;
        }
        return outward::inflate(s, double(lo_.size() + 1));
    }

    std::vector<double> lo_, hi_, sigma_;
    std::vector<Row> rows_;
    std::vector<Term> objective_;
};

// The neurons of one network: y = act(W x + b) for every layer, x the previous layer's variables.
std::vector<std::vector<int>> encode(Relaxation& R, const std::vector<PairLayer>& layers, const std::vector<int>& inputs,
                                     const std::vector<Vec>& zlo, const std::vector<Vec>& zhi) {
    std::vector<std::vector<int>> vars;
    std::vector<int> x = inputs;
    for (size_t k = 0; k < layers.size(); ++k) {
        const PairLayer& L = layers[k];
        std::vector<int> y;
        for (int64_t i = 0; i < L.W.rows(); ++i) {
            const double zl = zlo[k][i], zh = zhi[k][i];
            const bool relu = is_relu(L);
            if (relu && zh <= 0) {  // dead: the constant 0, no variable (it would leave M no interior)
                y.push_back(kDead);
                continue;
            }
            const int v = relu ? R.var(std::max(zl, 0.0), std::max(zh, 0.0)) : R.var(zl, zh);
            const Interval b = Interval::point(L.b[i]);
            // z as terms (coefficient, variable) plus b.
            std::vector<Term> z;
            for (int64_t j = 0; j < L.W.cols(); ++j)
                if (L.W(i, j) != 0 && x[size_t(j)] != kDead) z.push_back({0, x[size_t(j)], Interval::point(L.W(i, j))});
            auto minus_z = [&](std::vector<Term> t) {
                for (Term s : z) t.push_back({s.i, s.j, -s.c});
                return t;
            };
            if (!relu || zl >= 0) {
                R.row(minus_z({{0, v, Interval::point(1)}}), b, false);  // y - w.x = b
            } else {
                R.row(minus_z({{0, v, Interval::point(1)}}), b, true);  // y >= z
                // y (y - z) = 0:  M_yy - sum w_j M_{y x_j} - b M_{0 y} = 0.
                std::vector<Term> q{{v, v, Interval::point(1)}, {0, v, -b}};
                for (const Term& s : z) q.push_back({v, s.j, -s.c});
                R.row(std::move(q), Interval::point(0), false);
                R.row(z, Interval::point(zl) - b, true);                      // z >= zl
                R.row(minus_z({}), b - Interval::point(zh), true);             // -z >= -zh
                // zh (z - zl) - (zh - zl) y >= 0:  zh w.x - (zh - zl) y >= zh zl - zh b.
                const Interval H = Interval::point(zh), Lw = Interval::point(zl);
                std::vector<Term> tri{{0, v, Lw - H}};
                for (const Term& s : z) tri.push_back({0, s.j, H * s.c});
                R.row(std::move(tri), H * Lw - H * b, true);
            }
            y.push_back(v);
        }
        vars.push_back(y);
        x = y;
    }
    return vars;
}

}  // namespace

void check_sdp_supported(const ErrPair& p) {
    if (p.integer_region())
        throw InputError("--method sdp", "the SDP bound handles real-valued twins only (fp16, fixed:B, pruning, --against)");
    for (const auto* layers : {&p.f_layers, &p.g_layers})
        for (const PairLayer& L : *layers)
            if (!(is_relu(L) || is_linear(L)) || L.noise_lo != 0 || L.noise_hi != 0)
                throw InputError("--method sdp", "the SDP bound handles ReLU and linear layers only (no clamps)");
    const int64_t n = sdp_variables(p);
    if (n > kMaxSdpVariables)
        throw InputError("--method sdp", fmt::format("the SDP bound handles small networks: {} variables (inputs + neurons of both "
                                                     "networks) here, at most {} (SDPA's dense moment matrix)",
                                                     n, kMaxSdpVariables));
}

SdpResult sdp_max_difference(const ErrPair& p, const DiffBound& root, const std::vector<double>& lo, const std::vector<double>& hi,
                             int64_t output, double sign) {
    check_sdp_supported(p);
    Relaxation R;
    std::vector<int> inputs;
    for (size_t j = 0; j < lo.size(); ++j) {
        const Interval x = Interval{lo[j], hi[j]} / Interval::point(p.f_input_divisor);
        inputs.push_back(R.var(x.lo, x.hi));
    }
    const auto f = encode(R, p.f_layers, inputs, root.zf_lo, root.zf_hi);
    const auto g = encode(R, p.g_layers, inputs, root.zg_lo, root.zg_hi);
    // Same-shape pairs: the differential bounds of zg - zf on the hidden layers.
    for (size_t k = 0; k + 1 < root.zd_lo.size() && k < p.f_layers.size(); ++k) {
        const PairLayer &Lf = p.f_layers[k], &Lg = p.g_layers[k];
        const std::vector<int>& xf = k == 0 ? inputs : f[k - 1];
        const std::vector<int>& xg = k == 0 ? inputs : g[k - 1];
        for (int64_t i = 0; i < Lf.W.rows(); ++i) {
            std::vector<Term> d;
            for (int64_t j = 0; j < Lg.W.cols(); ++j)
                if (Lg.W(i, j) != 0) add_linear(d, xg[size_t(j)], Interval::point(Lg.W(i, j)));
            for (int64_t j = 0; j < Lf.W.cols(); ++j)
                if (Lf.W(i, j) != 0) add_linear(d, xf[size_t(j)], Interval::point(-Lf.W(i, j)));
            const Interval db = Interval::point(Lg.b[i]) - Interval::point(Lf.b[i]);
            if (std::isfinite(root.zd_lo[k][i])) R.row(d, Interval::point(root.zd_lo[k][i]) - db, true);
            if (std::isfinite(root.zd_hi[k][i])) {
                std::vector<Term> neg = d;
                for (Term& t : neg) t.c = -t.c;
                R.row(std::move(neg), db - Interval::point(root.zd_hi[k][i]), true);
            }
        }
    }
    // ... and of every hidden xg - xf: linear, and (d - l)(h - d) >= 0 for d = xg - xf.
    for (size_t k = 0; k + 1 < root.xd_lo.size() && k + 1 < f.size(); ++k)
        for (size_t i = 0; i < f[k].size(); ++i) {
            const double l = root.xd_lo[k][int64_t(i)], h = root.xd_hi[k][int64_t(i)];
            if (!std::isfinite(l) || !std::isfinite(h)) continue;
            const int vf = f[k][i], vg = g[k][i];
            if (vf == kDead && vg == kDead) continue;
            const Interval L = Interval::point(l), H = Interval::point(h), one = Interval::point(1);
            std::vector<Term> up, down, q;
            add_linear(up, vg, one), add_linear(up, vf, -one);
            add_linear(down, vg, -one), add_linear(down, vf, one);
            R.row(up, L, true);
            R.row(down, -H, true);
            // -(xg^2 - 2 xf xg + xf^2) + (l + h)(xg - xf) >= l h.
            if (vg != kDead) q.push_back({vg, vg, -one});
            if (vf != kDead) q.push_back({vf, vf, -one});
            if (vf != kDead && vg != kDead) q.push_back({vf, vg, Interval::point(2)});
            add_linear(q, vg, L + H), add_linear(q, vf, -(L + H));
            R.row(std::move(q), L * H, true);
        }
    const int yg = g.back()[size_t(output)], yf = f.back()[size_t(output)];
    if (yg != kDead) R.objective(yg, sign);
    if (yf != kDead) R.objective(yf, -sign);

    const sdp::Solution s = sdp::solve(R.problem());
    SdpResult r;
    r.value = s.value;
    r.optimal = s.optimal;
    r.phase = s.phase;
    r.variables = R.size() - 1;
    r.constraints = R.constraints();
    r.bound = R.rigorous_bound(s.y);
    r.input.resize(lo.size());
    for (size_t j = 0; j < lo.size(); ++j) {
        const double u = s.M(0, inputs[j]) * R.sigma(inputs[j]) * p.f_input_divisor;
        r.input[j] = std::isfinite(u) ? std::clamp(u, lo[j], hi[j]) : lo[j];
    }
    return r;
}

}  // namespace qcert::errbound
