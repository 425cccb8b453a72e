// Bounds, monotonicity test and candidate points for the parameter-robustness
// objectives (see the header).
#include "params_objective.hpp"

#include "params_mpfr.hpp"

namespace qcert::params_detail {

namespace {

// sup over d in (b - m) of g * d, rounded up: the mean-value form's term for one variable.
double mvf_term(Interval g, Interval b, double m) {
    if (b.is_point()) return 0.0;
    return (g * (b - m)).hi;
}

}  // namespace

ParamsBounder::ParamsBounder(const Setup& s, double skip_margin) : s_(s), pert_(s), nom_(s), skip_margin_(skip_margin) {
    if (s.local) {
        std::vector<Interval> du;
        nom_.forward(s.root, true);
        c0_ = confidence(s, nom_.margins(s.local_class), du);
    }
}

void ParamsBounder::evaluate(const Box& box, int tag, int j, Eval& out, bool gradient) {
    const size_t n = s_.vars.size();
    std::vector<Interval>& du = du_;
    pert_.forward(box, false);
    const std::vector<Interval>& u1 = pert_.margins(j);
    if (tag == ClassChange) {
        // -min_i u_i: the margin rule of confidence(), negated.
        Interval m = u1[0];
        for (size_t i = 1; i < u1.size(); ++i) m = min(m, u1[i]);
        du.assign(u1.size(), Interval::point(0.0));
        for (size_t i = 0; i < u1.size(); ++i) {
            if (u1[i].lo > m.hi) continue;
            bool sure = true;
            for (size_t k = 0; k < u1.size() && sure; ++k) sure = k == i || u1[i].hi < u1[k].lo;
            du[i] = sure ? Interval::point(-1.0) : Interval{-1.0, 0.0};
        }
        out.g = -m;
        if (gradient) out.grad = pert_.backward(du);
        return;
    }
    const Interval c1 = confidence(s_, u1, du);
    if (s_.local) {
        out.g = tag == Up ? c1 - c0_ : c0_ - c1;
        if (!gradient) return;
        const std::vector<Interval>& g1 = pert_.backward(du);
        out.grad.resize(n);
        for (size_t i = 0; i < n; ++i) out.grad[i] = tag == Up ? g1[i] : -g1[i];
        return;
    }
    nom_.forward(box, true);
    const Interval c0 = confidence(s_, nom_.margins(j), du0_);
    out.g = tag == Up ? c1 - c0 : c0 - c1;
    if (!gradient) return;
    const std::vector<Interval>& g1 = pert_.backward(du);
    out.grad.resize(n);
    const std::vector<Interval>& g0 = nom_.backward(du0_);
    for (size_t i = 0; i < n; ++i) out.grad[i] = tag == Up ? g1[i] - g0[i] : g0[i] - g1[i];
}

std::vector<int> ParamsBounder::references(const Box& box, int tag) {
    const int fixed = tag == ClassChange ? s_.local_class : s_.conf_reference;
    if (fixed >= 0) return {fixed};
    nom_.forward(box, true);
    std::vector<int> refs;
    if (s_.outputs == 1) {
        const Interval y = nom_.logits()[0];
        if (y.lo <= 0) refs.push_back(0);  // class 0 when y <= 0
        if (y.hi > 0) refs.push_back(1);
        return refs;
    }
    for (int j = 0; j < s_.outputs; ++j) {
        const std::vector<Interval>& u = nom_.margins(j);
        bool possible = true;
        for (const Interval& ui : u) possible = possible && ui.hi >= 0;
        if (possible) refs.push_back(j);
    }
    return refs;
}

int ParamsBounder::point_reference(const std::vector<double>& p, int tag) {
    const int fixed = tag == ClassChange ? s_.local_class : s_.conf_reference;
    if (fixed >= 0) return fixed;
    point_.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) point_[i] = Interval::point(p[i]);
    nom_.forward(point_, true);
    const std::vector<Interval> y = nom_.logits();
    if (y.size() == 1) return y[0].mid() > 0 ? 1 : 0;
    int best = 0;
    for (size_t i = 1; i < y.size(); ++i)
        if (y[i].mid() > y[size_t(best)].mid()) best = int(i);
    return best;
}

double ParamsBounder::estimate(const std::vector<double>& p, int tag, std::vector<double>* grad) {
    const int j = point_reference(p, tag);
    point_.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) point_[i] = Interval::point(p[i]);
    evaluate(point_, tag, j, scratch_, grad != nullptr);
    if (grad) {
        grad->resize(p.size());
        for (size_t i = 0; i < p.size(); ++i) (*grad)[i] = scratch_.grad[i].mid();
    }
    return scratch_.g.mid();
}

double ParamsBounder::ascent(const Box& box, int tag, std::vector<double>& p, double value, std::vector<double> grad,
                             int evaluations) {
    const size_t n = box.size();
    // Steps stay in the box and in the inner set (where witnesses must come from).
    auto lo = [&](size_t i) { return std::max(box[i].lo, s_.inner_lo[i]); };
    auto hi = [&](size_t i) { return std::min(box[i].hi, s_.inner_hi[i]); };
    std::vector<double> q(n), qgrad;
    double t = 0.5;  // the input step, as a fraction of the box's width
    for (int e = 0; e < evaluations; ++e) {
        // Parameters jump to the vertex the gradient points to (the objective is often
        // monotone in each parameter); inputs move along the gradient by t of the width,
        // scaled so that the steepest input moves the most.
        double gmax = 0;
        for (size_t i = 0; i < n; ++i)
            if (s_.vars[i].is_input()) gmax = std::max(gmax, std::fabs(grad[i]) * box[i].width());
        for (size_t i = 0; i < n; ++i) {
            if (lo(i) > hi(i)) { q[i] = std::clamp(p[i], s_.inner_lo[i], s_.inner_hi[i]); continue; }
            if (!s_.vars[i].is_input()) q[i] = grad[i] > 0 ? hi(i) : grad[i] < 0 ? lo(i) : p[i];
            else if (gmax > 0) q[i] = std::clamp(p[i] + t * box[i].width() * grad[i] * box[i].width() / gmax, lo(i), hi(i));
            else q[i] = p[i];
        }
        if (q == p) break;
        const double v = estimate(q, tag, &qgrad);
        if (v > value) {
            value = v;
            p = q;
            grad = qgrad;
            t = std::min(1.0, 2 * t);
        } else {
            t /= 4;
            if (gmax == 0 || t < 1.0 / 256) break;
        }
    }
    return value;
}

void ParamsBounder::certify(std::vector<double>&& p, double estimate_value, int tag, double lower, Bounded& out) {
    // Certify only what may improve the best value (a margin for the estimate's error).
    if (!(estimate_value > lower - 1e-9)) return;
    const std::optional<PointValue> pv = mp_objective(s_, p, Tag(tag));
    if (!pv) return;
    out.point = std::move(p);
    out.value = pv->value.lo;
}

void ParamsBounder::candidate(const Box& box, int tag, double lower, const std::vector<double>& m, const Eval* at_m,
                              Bounded& out) {
    const size_t n = box.size();
    std::vector<double> p = m, grad(n);
    // Witnesses come from the inner set: clamp there (any member of the set will do,
    // even one outside this box, since it bounds the maximum from below all the same).
    for (size_t i = 0; i < n; ++i) p[i] = std::clamp(p[i], s_.inner_lo[i], s_.inner_hi[i]);
    double value;
    if (at_m && p == m) {  // the bound's own evaluation at the midpoint
        value = at_m->g.mid();
        for (size_t i = 0; i < n; ++i) grad[i] = at_m->grad[i].mid();
    } else {
        value = estimate(p, tag, &grad);
    }
    value = ascent(box, tag, p, value, std::move(grad), 4);
    certify(std::move(p), value, tag, lower, out);
}

Bounded ParamsBounder::seed(std::vector<double> p, int tag, double lower) {
    Bounded out;
    std::vector<double> grad;
    for (size_t i = 0; i < p.size(); ++i) p[i] = std::clamp(p[i], s_.inner_lo[i], s_.inner_hi[i]);
    double value = estimate(p, tag, &grad);
    value = ascent(s_.root, tag, p, value, std::move(grad), 24);
    certify(std::move(p), value, tag, lower, out);
    return out;
}

Bounded ParamsBounder::bound(Box box, int tag, double lower) {
    const size_t n = box.size();
    Bounded out;
    const std::vector<int> refs = references(box, tag);
    std::vector<Eval> ev(refs.size());
    // The input variables may be fixed at a face only when the reference class does
    // not change inside the box (otherwise the objective jumps where it changes).
    const bool inputs_movable = refs.size() == 1;
    for (int round = 0; round < 3; ++round) {
        for (size_t r = 0; r < refs.size(); ++r) evaluate(box, tag, refs[r], ev[r]);
        bool moved = false;
        for (size_t i = 0; i < n; ++i) {
            if (box[i].is_point() || (s_.vars[i].is_input() && !inputs_movable)) continue;
            bool up = true, down = true;
            for (const Eval& e : ev) {
                up = up && e.grad[i].lo >= 0;
                down = down && e.grad[i].hi <= 0;
            }
            if (up) box[i] = Interval::point(box[i].hi);
            else if (down) box[i] = Interval::point(box[i].lo);
            moved = moved || up || down;
        }
        if (!moved) break;
        if (round == 2) for (size_t r = 0; r < refs.size(); ++r) evaluate(box, tag, refs[r], ev[r]);
    }
    // Upper bound: min(natural, mean-value form), per reference; the largest over references.
    std::vector<double> m(n);
    for (size_t i = 0; i < n; ++i) m[i] = box[i].mid();
    point_.resize(n);
    for (size_t i = 0; i < n; ++i) point_[i] = Interval::point(m[i]);
    out.ub = -kInf;  // no reference class at all: nothing to maximise here
    out.score.assign(n, 0.0);
    Eval& at_mid = mid_;
    for (size_t r = 0; r < refs.size(); ++r) {
        evaluate(point_, tag, refs[r], at_mid);
        double mvf = at_mid.g.hi;
        for (size_t i = 0; i < n; ++i) mvf = add_up(mvf, mvf_term(ev[r].grad[i], box[i], m[i]));
        out.ub = std::max(out.ub, std::min(ev[r].g.hi, mvf));
        for (size_t i = 0; i < n; ++i)
            if (!box[i].is_point()) out.score[i] = std::max(out.score[i], box[i].width() * ev[r].grad[i].mag());
    }
    if (std::isnan(out.ub)) out.ub = kInf;
    // A box whose gradient is not finite still splits: by width.
    for (size_t i = 0; i < n; ++i)
        if (!box[i].is_point() && !std::isfinite(out.score[i])) out.score[i] = std::numeric_limits<double>::max();
    // Points are worth looking for only where the bound leaves room above the best so far.
    if (out.ub > lower + skip_margin_) candidate(box, tag, lower, m, refs.size() == 1 ? &at_mid : nullptr, out);
    out.box = std::move(box);
    return out;
}

}  // namespace qcert::params_detail
