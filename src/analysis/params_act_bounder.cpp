// Branch and bound over hidden activations (see the header).
#include "params_act_bounder.hpp"

namespace qcert::params_detail {

namespace {

// sup over d in (b - m) of g * d, rounded up: the mean-value form's term for one variable.
double mvf_term(Interval g, Interval b, double m) {
    if (b.is_point() || (g.lo == 0 && g.hi == 0)) return 0.0;
    return (g * (b - m)).hi;
}

// The centre c in b that makes sup over d in (b - c) of g * d smallest (Baumann 1988):
// where g changes sign, the point that balances g.hi (hi - c) against g.lo (lo - c).
double baumann_centre(Interval g, Interval b) {
    if (b.is_point()) return b.lo;
    if (g.lo >= 0) return b.hi;  // monotone: the whole term vanishes at the top
    if (g.hi <= 0) return b.lo;
    const double c = (g.hi * b.hi - g.lo * b.lo) / (g.hi - g.lo);
    return std::isfinite(c) ? std::clamp(c, b.lo, b.hi) : b.mid();
}

// The direction in which a tag wants the margin u to move: Up maximises the confidence,
// which grows with u; Down and ClassChange minimise u.
double tag_sign(int tag) { return tag == Up ? 1.0 : -1.0; }

}  // namespace

bool ActBounder::applicable(const Setup& s) { return s.outputs <= 2 && s.direct_last; }

ActBounder::ActBounder(const Setup& s, double skip_margin) : s_(s), param_(s, skip_margin), skip_margin_(skip_margin) {
    const BlockNet& net = *s.net;
    L_ = net.blocks.size();
    for (int v : s.input_vars) inputs_ += v >= 0;
    size_t off = inputs_;
    for (size_t k = 0; k + 2 < L_; ++k) {
        z_offset_.push_back(off);
        off += size_t(net.blocks[k].out_size());
    }
    for (size_t k = 0; k < L_; ++k) {
        const Block& b = net.blocks[k];
        W_.emplace_back(); b_.emplace_back(); nW_.emplace_back(); nb_.emplace_back();
        for (int64_t i = 0; i < b.out_size(); ++i) {
            for (int64_t j = 0; j < b.in_size(); ++j) {
                W_[k].push_back({s.pert->outer.w_lo[k](i, j), s.pert->outer.w_hi[k](i, j)});
                nW_[k].push_back(Interval::point(b.W(i, j)));
            }
            b_[k].push_back({s.pert->outer.b_lo[k][i], s.pert->outer.b_hi[k][i]});
            nb_[k].push_back(Interval::point(b.b[i]));
        }
        // The offsets theta' - theta, rounded outward.
        dW_.emplace_back(); db_.emplace_back();
        index_.emplace_back(size_t(b.out_size() * (b.in_size() + 1)), -1);
        for (size_t i = 0; i < W_[k].size(); ++i) dW_[k].push_back(W_[k][i] - nW_[k][i]);
        for (size_t i = 0; i < b_[k].size(); ++i) db_[k].push_back(b_[k][i] - nb_[k][i]);
    }
    // Where each parameter variable sits (fixed parameters have lo == hi and are never written).
    for (int v = 0; v < s.param_vars; ++v) {
        const Var& var = s.vars[size_t(v)];
        const int64_t cols = net.blocks[size_t(var.layer)].in_size();
        index_[size_t(var.layer)][size_t(var.row * (cols + 1) + var.col + 1)] = v;
    }
}

std::vector<Interval> ActBounder::inputs_of(const Box& box) const {
    std::vector<Interval> x(s_.input_vars.size());
    size_t a = 0;
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = s_.input_vars[i] >= 0 ? box[a++] : Interval::point(s_.input_fixed[i]);
    return x;
}

void ActBounder::block_pre(size_t k, const std::vector<Interval>& in, std::vector<Interval>& out, bool nominal) const {
    const auto& W = nominal ? nW_[k] : W_[k];
    const auto& b = nominal ? nb_[k] : b_[k];
    const size_t rows = b.size(), cols = in.size();
    out.resize(rows);
    for (size_t i = 0; i < rows; ++i) {
        Interval z = b[i];
        for (size_t j = 0; j < cols; ++j) z += W[i * cols + j] * in[j];
        out[i] = z;
    }
}

void ActBounder::offset_image(size_t k, const std::vector<Interval>& in, std::vector<Interval>& out) const {
    const size_t rows = db_[k].size(), cols = in.size();
    out.resize(rows);
    for (size_t i = 0; i < rows; ++i) {
        Interval e = db_[k][i];
        for (size_t j = 0; j < cols; ++j) e += dW_[k][i * cols + j] * in[j];
        out[i] = e;
    }
}

std::vector<Interval> ActBounder::chain(const Box& box, std::vector<std::vector<Interval>>* zs) const {
    std::vector<Interval> h = inputs_of(box), z;
    if (zs) zs->clear();
    for (size_t k = 0; k < z_offset_.size(); ++k) {
        block_pre(k, h, z, true);
        for (size_t i = 0; i < z.size(); ++i) z[i] += box[z_offset_[k] + i];
        if (zs) zs->push_back(z);
        h.resize(z.size());
        for (size_t i = 0; i < z.size(); ++i) h[i] = block_output(s_.net->blocks[k], z[i]);
    }
    return h;
}

Box ActBounder::root(const Setup& s) {
    ActBounder a(s, 0);
    Box box;
    for (size_t i = 0; i < s.input_vars.size(); ++i)
        if (s.input_vars[i] >= 0) box.push_back(s.root[size_t(s.input_vars[i])]);
    // Each layer's offsets over the image of the one before.
    std::vector<Interval> h = a.inputs_of(box), e, z;
    for (size_t k = 0; k < a.z_offset_.size(); ++k) {
        a.offset_image(k, h, e);
        box.insert(box.end(), e.begin(), e.end());
        a.block_pre(k, h, z, true);
        for (size_t i = 0; i < z.size(); ++i) z[i] = block_output(s.net->blocks[k], z[i] + e[i]);
        h = z;
    }
    return box;
}

bool ActBounder::tighten(Box& box) const {
    std::vector<Interval> h = inputs_of(box), img, z;
    for (size_t k = 0; k < z_offset_.size(); ++k) {
        offset_image(k, h, img);
        block_pre(k, h, z, true);
        const Block& b = s_.net->blocks[k];
        for (size_t i = 0; i < img.size(); ++i) {
            Interval& e = box[z_offset_[k] + i];
            e = intersect(e, img[i]);
            if (!(e.lo <= e.hi)) return false;
            z[i] = block_output(b, z[i] + e);
        }
        h = z;
    }
    return true;
}

// The margin of reference j from the last block's input a: y_j - y_other (two
// classes) or +-y (one output), with the coefficient of each a_c kept for the gradient.
Interval ActBounder::margin(const std::vector<Interval>& a, int j, bool nominal, std::vector<Interval>* grad_a,
                            Interval du) const {
    const size_t last = L_ - 1, cols = a.size();
    const auto& W = nominal ? nW_[last] : W_[last];
    const auto& b = nominal ? nb_[last] : b_[last];
    if (grad_a) grad_a->resize(cols);
    if (s_.outputs == 1) {
        const double sgn = j == 1 ? 1.0 : -1.0;
        Interval u = b[0];
        for (size_t c = 0; c < cols; ++c) {
            u += W[c] * a[c];
            if (grad_a) (*grad_a)[c] = du * (sgn * W[c]);
        }
        return sgn * u;
    }
    const size_t o = j == 0 ? 1 : 0;
    Interval u = b[size_t(j)] - b[o];
    for (size_t c = 0; c < cols; ++c) {
        const Interval d = W[size_t(j) * cols + c] - W[o * cols + c];
        u += d * a[c];
        if (grad_a) (*grad_a)[c] = du * d;
    }
    return u;
}

Interval ActBounder::scalar_confidence(Interval u, Interval* du) const {
    if (s_.conf == Confidence::Margin) {
        *du = Interval::point(1.0);
        return u;
    }
    *du = sigmoid_derivative(u);  // softmax of two classes and sigmoid alike: sigma(u)
    return sigmoid(u);
}

void ActBounder::evaluate(const Box& box, int tag, int j, Eval& out) {
    const BlockNet& net = *s_.net;
    out.grad.assign(box.size(), Interval::point(0.0));
    const std::vector<Interval> x = inputs_of(box);
    // h: the input of block L-2 (of the last block when there is only one).
    std::vector<std::vector<Interval>> zs;
    const std::vector<Interval> h = chain(box, &zs);
    std::vector<Interval> zA, a;
    if (L_ >= 2) {
        block_pre(L_ - 2, h, zA, false);
        a.resize(zA.size());
        for (size_t i = 0; i < a.size(); ++i) a[i] = block_output(net.blocks[L_ - 2], zA[i]);
    } else {
        a = h;
    }
    const Interval u = margin(a, j, false, nullptr, {});
    Interval c1, dc1;
    if (tag == ClassChange) {
        c1 = -u;
        dc1 = Interval::point(-1.0);
    } else {
        c1 = scalar_confidence(u, &dc1);
        if (tag == Down) { c1 = -c1; dc1 = -dc1; }
    }
    // Back to h: through the last block, then block L-2.
    std::vector<Interval> ga, gh;
    margin(a, j, false, &ga, dc1);
    if (L_ >= 2) {
        const size_t k = L_ - 2, rows = zA.size(), cols = h.size();
        gh.assign(cols, Interval::point(0.0));
        for (size_t r = 0; r < rows; ++r) {
            const Interval gz = ga[r] * block_derivative(net.blocks[k], zA[r]);
            if (gz.lo == 0 && gz.hi == 0) continue;
            for (size_t c = 0; c < cols; ++c) gh[c] += W_[k][r * cols + c] * gz;
        }
    } else {
        gh = ga;
    }
    // Down the chain: z_k = theta_k h_k + e_k, so d/de_k = d/dz_k, and on to the inputs.
    for (size_t k = zs.size(); k-- > 0;) {
        const size_t rows = zs[k].size(), cols = size_t(net.blocks[k].in_size());
        std::vector<Interval> gin(cols, Interval::point(0.0));
        for (size_t r = 0; r < rows; ++r) {
            const Interval gz = gh[r] * block_derivative(net.blocks[k], zs[k][r]);
            out.grad[z_offset_[k] + r] = gz;
            if (gz.lo == 0 && gz.hi == 0) continue;
            for (size_t c = 0; c < cols; ++c) gin[c] += nW_[k][r * cols + c] * gz;
        }
        gh = std::move(gin);
    }
    {
        size_t v = 0;
        for (size_t i = 0; i < x.size(); ++i)
            if (s_.input_vars[i] >= 0) out.grad[v++] = gh[i];
    }
    if (tag == ClassChange) {
        out.g = c1;
        return;
    }
    // The nominal confidence c(x; theta): a constant locally (computed once), a function of x globally.
    std::vector<std::vector<Interval>> nz;
    std::vector<Interval> cur = x;
    Interval c0, dc0;
    if (s_.local && local_c0_set_[size_t(j)]) {
        c0 = local_c0_[size_t(j)];
    } else {
        for (size_t k = 0; k + 1 < L_; ++k) {
            nz.emplace_back();
            block_pre(k, cur, nz.back(), true);
            cur.resize(nz.back().size());
            for (size_t i = 0; i < cur.size(); ++i) cur[i] = block_output(net.blocks[k], nz.back()[i]);
        }
        c0 = scalar_confidence(margin(cur, j, true, nullptr, {}), &dc0);
        if (s_.local) {
            local_c0_[size_t(j)] = c0;
            local_c0_set_[size_t(j)] = true;
        }
    }
    if (tag == Down) { c0 = -c0; dc0 = -dc0; }
    out.g = c1 - c0;
    if (inputs_ == 0) return;
    std::vector<Interval> g;
    margin(cur, j, true, &g, dc0);
    for (size_t k = L_ - 1; k-- > 0;) {
        const size_t rows = nz[k].size(), cols = net.blocks[k].in_size();
        std::vector<Interval> gin(cols, Interval::point(0.0));
        for (size_t r = 0; r < rows; ++r) {
            const Interval gz = g[r] * block_derivative(net.blocks[k], nz[k][r]);
            if (gz.lo == 0 && gz.hi == 0) continue;
            for (size_t c = 0; c < cols; ++c) gin[c] += nW_[k][r * cols + c] * gz;
        }
        g = std::move(gin);
    }
    size_t v = 0;
    for (size_t i = 0; i < x.size(); ++i)
        if (s_.input_vars[i] >= 0) out.grad[v] = out.grad[v] - g[i], ++v;
}

std::vector<double> ActBounder::realise(const std::vector<double>& act, int j, double sign) const {
    const BlockNet& net = *s_.net;
    const Perturbation& p = *s_.pert;
    // Start from theta, moved into the set where saturation requires it.
    std::vector<double> point(s_.vars.size());
    for (size_t v = 0; v < point.size(); ++v) {
        const Var& var = s_.vars[v];
        double w;
        if (var.is_input()) w = s_.root[v].mid();
        else w = var.col < 0 ? net.blocks[size_t(var.layer)].b[var.row] : net.blocks[size_t(var.layer)].W(var.row, var.col);
        point[v] = std::clamp(w, s_.inner_lo[v], s_.inner_hi[v]);
    }
    auto set = [&](size_t k, int64_t r, int64_t c, double w) {
        const int v = index_[k][size_t(r * (net.blocks[k].in_size() + 1) + c + 1)];
        if (v >= 0) point[size_t(v)] = std::clamp(w, s_.inner_lo[size_t(v)], s_.inner_hi[size_t(v)]);
    };
    auto lo = [&](size_t k, int64_t r, int64_t c) { return c < 0 ? p.inner.b_lo[k][r] : p.inner.w_lo[k](r, c); };
    auto hi = [&](size_t k, int64_t r, int64_t c) { return c < 0 ? p.inner.b_hi[k][r] : p.inner.w_hi[k](r, c); };
    // Row r of block k at the vertex that minimises (or maximises) its pre-activation for input h.
    auto vertex_value = [&](size_t k, int64_t r, const Vec& h, bool maximise) {
        double z = maximise ? hi(k, r, -1) : lo(k, r, -1);
        for (int64_t c = 0; c < h.size(); ++c) z += ((h[c] >= 0) == maximise ? hi(k, r, c) : lo(k, r, c)) * h[c];
        return z;
    };
    // The input.
    Vec h(int64_t(s_.input_vars.size()));
    {
        size_t a = 0;
        for (size_t i = 0; i < s_.input_vars.size(); ++i) {
            const int v = s_.input_vars[i];
            h[int64_t(i)] = v >= 0 ? std::clamp(act[a++], s_.inner_lo[size_t(v)], s_.inner_hi[size_t(v)]) : s_.input_fixed[i];
            if (v >= 0) point[size_t(v)] = h[int64_t(i)];
        }
    }
    // Hidden layers but the last: each row on the segment between its two extreme
    // vertices, where the pre-activation is affine, at the target (clamped to reach).
    for (size_t k = 0; k < z_offset_.size(); ++k) {
        const Block& b = net.blocks[k];
        Vec z(b.out_size());
        for (int64_t r = 0; r < b.out_size(); ++r) {
            const double zmin = vertex_value(k, r, h, false), zmax = vertex_value(k, r, h, true);
            const double znom = b.b[r] + b.W.row(r).dot(h);
            const double t = std::clamp(znom + act[z_offset_[k] + size_t(r)], zmin, zmax);
            const double lam = zmax > zmin ? (t - zmin) / (zmax - zmin) : 0.0;
            double zr = 0;
            for (int64_t c = -1; c < b.in_size(); ++c) {
                const bool up = c < 0 || h[c] >= 0;  // the maximising end of this parameter
                const double from = up ? lo(k, r, c) : hi(k, r, c), to = up ? hi(k, r, c) : lo(k, r, c);
                const double w = std::clamp(from + lam * (to - from), std::min(from, to), std::max(from, to));
                set(k, r, c, w);
                zr += c < 0 ? w : w * h[c];
            }
            z[r] = zr;
        }
        h = b.activate(z);
    }
    // The last two blocks in closed form: per row of block L-2, the best of its two
    // extreme vertices combined with the best end of its margin coefficient.
    const size_t last = L_ - 1;
    const int64_t K = s_.outputs;
    const int64_t o = K == 1 ? 0 : (j == 0 ? 1 : 0);
    const double sgn = K == 1 ? (j == 1 ? 1.0 : -1.0) : 1.0;
    // The margin coefficient's ends for column c, and the parameter choice that gives each.
    auto coef = [&](int64_t c, bool high) {
        if (K == 1) return sgn * ((sgn > 0) == high ? hi(last, 0, c) : lo(last, 0, c));
        return high ? hi(last, j, c) - lo(last, o, c) : lo(last, j, c) - hi(last, o, c);
    };
    auto set_coef = [&](int64_t c, bool high) {
        if (K == 1) set(last, 0, c, (sgn > 0) == high ? hi(last, 0, c) : lo(last, 0, c));
        else {
            set(last, j, c, high ? hi(last, j, c) : lo(last, j, c));
            set(last, o, c, high ? lo(last, o, c) : hi(last, o, c));
        }
    };
    if (L_ >= 2) {
        const size_t k = L_ - 2;
        const Block& b = net.blocks[k];
        Vec zmin(b.out_size()), zmax(b.out_size());
        for (int64_t r = 0; r < b.out_size(); ++r) {
            zmin[r] = vertex_value(k, r, h, false);
            zmax[r] = vertex_value(k, r, h, true);
        }
        const Vec amin = b.activate(zmin), amax = b.activate(zmax);
        for (int64_t r = 0; r < b.out_size(); ++r) {
            double best = -kInf;
            bool best_amax = false, best_high = false;
            for (bool use_max : {false, true})
                for (bool high : {false, true}) {
                    const double v = sign * coef(r, high) * (use_max ? amax[r] : amin[r]);
                    if (v > best) { best = v; best_amax = use_max; best_high = high; }
                }
            for (int64_t c = -1; c < b.in_size(); ++c) {
                const bool up = c < 0 || h[c] >= 0;
                set(k, r, c, up == best_amax ? hi(k, r, c) : lo(k, r, c));
            }
            set_coef(r, best_high);
        }
    } else {
        for (int64_t c = 0; c < h.size(); ++c) set_coef(c, sign * h[c] >= 0);
    }
    // The bias difference.
    if (K == 1) set(last, 0, -1, sign * sgn > 0 ? hi(last, 0, -1) : lo(last, 0, -1));
    else {
        set(last, j, -1, sign > 0 ? hi(last, j, -1) : lo(last, j, -1));
        set(last, o, -1, sign > 0 ? lo(last, o, -1) : hi(last, o, -1));
    }
    return point;
}

Bounded ActBounder::bound(Box box, int tag, double lower) {
    const size_t n = box.size();
    Bounded out;
    out.score.assign(n, 0.0);
    if (!tighten(box)) {  // no parameter set reaches these activations
        out.ub = -kInf;
        out.box = std::move(box);
        return out;
    }
    // Reference classes: fixed, or those the nominal network may predict in the input box.
    std::vector<int> refs;
    const int fixed = tag == ClassChange ? s_.local_class : s_.conf_reference;
    if (fixed >= 0) {
        refs.push_back(fixed);
    } else {
        std::vector<Interval> cur = inputs_of(box), z;
        for (size_t k = 0; k + 1 < L_; ++k) {
            block_pre(k, cur, z, true);
            for (size_t i = 0; i < z.size(); ++i) z[i] = block_output(s_.net->blocks[k], z[i]);
            cur = z;
        }
        const Interval u = margin(cur, s_.outputs == 1 ? 1 : 0, true, nullptr, {});  // y, or y_0 - y_1
        if (s_.outputs == 1) {
            if (u.lo <= 0) refs.push_back(0);
            if (u.hi > 0) refs.push_back(1);
        } else {
            if (u.hi >= 0) refs.push_back(0);
            if (u.lo < 0) refs.push_back(1);
        }
    }
    // Where the objective is exact in the inputs (no offset layers), they may be fixed too.
    const bool inputs_in_r = z_offset_.empty();
    // Monotonicity: where the objective is monotone in a variable over the whole box,
    // its maximum over the box lies on that face, so the bound may be taken there (in
    // `work`). The box itself may be cut to the face only when the variable's range
    // does not depend on others: offsets of layer k whose inputs and earlier offsets
    // are single points. Otherwise consistent points with other values of it would be
    // lost, and with them the soundness of later bounds.
    std::vector<bool> fixable(z_offset_.size(), false);
    {
        bool points = true;
        for (size_t i = 0; i < inputs_; ++i) points = points && box[i].is_point();
        for (size_t k = 0; k < z_offset_.size(); ++k) {
            fixable[k] = points;
            const size_t end = k + 1 < z_offset_.size() ? z_offset_[k + 1] : n;
            for (size_t i = z_offset_[k]; i < end; ++i) points = points && box[i].is_point();
        }
    }
    auto layer_of = [&](size_t i) {
        size_t k = 0;
        while (k + 1 < z_offset_.size() && i >= z_offset_[k + 1]) ++k;
        return k;
    };
    Box work = box;
    std::vector<Eval> ev(refs.size()), ev0;
    for (int round = 0; round < 3; ++round) {
        for (size_t r = 0; r < refs.size(); ++r) evaluate(work, tag, refs[r], ev[r]);
        if (round == 0) ev0 = ev;
        bool moved = false;
        for (size_t i = 0; i < n; ++i) {
            const bool input = i < inputs_;
            if (work[i].is_point() || (input && (!inputs_in_r || refs.size() != 1))) continue;
            bool up = true, down = true;
            for (const Eval& e : ev) {
                up = up && e.grad[i].lo >= 0;
                down = down && e.grad[i].hi <= 0;
            }
            if (up) work[i] = Interval::point(work[i].hi);
            else if (down) work[i] = Interval::point(work[i].lo);
            if ((up || down) && (input || fixable[layer_of(i)])) box[i] = work[i];
            moved = moved || up || down;
        }
        if (!moved) break;
        if (round == 2) for (size_t r = 0; r < refs.size(); ++r) evaluate(work, tag, refs[r], ev[r]);
    }
    // Upper bound: min(natural, mean-value form) per reference, the largest over references.
    // The mean-value form is centred where it is tightest (Baumann's centre, per variable).
    std::vector<double> m(n);
    for (size_t i = 0; i < n; ++i) m[i] = work[i].mid();
    out.ub = -kInf;
    Eval at_c;
    size_t best_ref = 0;
    double best_c = -kInf;
    Box cbox(n);
    std::vector<double> c(n);
    for (size_t r = 0; r < refs.size(); ++r) {
        for (size_t i = 0; i < n; ++i) {
            c[i] = baumann_centre(ev[r].grad[i], work[i]);
            cbox[i] = Interval::point(c[i]);
        }
        evaluate(cbox, tag, refs[r], at_c);
        double mvf = at_c.g.hi;
        for (size_t i = 0; i < n; ++i) mvf = add_up(mvf, mvf_term(ev[r].grad[i], work[i], c[i]));
        out.ub = std::max(out.ub, std::min(ev[r].g.hi, mvf));
        if (at_c.g.mid() > best_c) { best_c = at_c.g.mid(); best_ref = r; }
        // Split scores for the returned box: a variable fixed only in `work` is scored
        // by its gradient over the whole box.
        for (size_t i = 0; i < n; ++i) {
            if (box[i].is_point()) continue;
            const Interval g = work[i].is_point() ? ev0[r].grad[i] : ev[r].grad[i];
            out.score[i] = std::max(out.score[i], box[i].width() * g.mag());
        }
    }
    if (std::isnan(out.ub)) out.ub = kInf;
    for (size_t i = 0; i < n; ++i)
        if (!box[i].is_point() && !std::isfinite(out.score[i])) out.score[i] = std::numeric_limits<double>::max();
    // Candidates: the middle of the box, and the vertex its gradient points to, each
    // realised by parameters in closed form, the better one certified.
    if (!refs.empty() && out.ub > lower + skip_margin_) {
        std::vector<double> best_point;
        double best = -kInf;
        for (int c = 0; c < 2; ++c) {
            std::vector<double> a = m;
            if (c == 1) {
                bool any = false;
                for (size_t i = 0; i < n; ++i) {
                    const double gi = ev[best_ref].grad[i].mid();
                    if (work[i].is_point() || gi == 0) continue;
                    a[i] = gi > 0 ? work[i].hi : work[i].lo;
                    any = true;
                }
                if (!any) break;
            }
            std::vector<double> full = realise(a, 0, tag_sign(tag));
            const int j = param_.point_reference(full, tag);
            if (j != 0) full = realise(a, j, tag_sign(tag));
            const double v = param_.estimate(full, tag, nullptr);
            if (v > best) { best = v; best_point = std::move(full); }
        }
        if (!best_point.empty()) param_.certify(std::move(best_point), best, tag, lower, out);
    }
    out.box = std::move(box);
    return out;
}

}  // namespace qcert::params_detail
