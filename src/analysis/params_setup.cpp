// Checking a parameter-robustness query and laying out its search variables.
#include "params_setup.hpp"

#include "params_mpfr.hpp"
#include "qcert/error.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert::params_detail {

namespace {

void check_perturbation(const BlockNet& net, const Perturbation& p) {
    const ParamRange& r = p.outer;
    bool ok = r.w_lo.size() == net.blocks.size() && p.inner.w_lo.size() == net.blocks.size();
    for (size_t k = 0; ok && k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        for (const ParamRange* pr : {&p.outer, &p.inner}) {
            ok = ok && pr->w_lo[k].rows() == b.W.rows() && pr->w_lo[k].cols() == b.W.cols() &&
                 pr->w_hi[k].rows() == b.W.rows() && pr->w_hi[k].cols() == b.W.cols() &&
                 pr->b_lo[k].size() == b.b.size() && pr->b_hi[k].size() == b.b.size();
        }
    }
    if (!ok) throw InputError(p.name, "the perturbation set does not match the network's layers");
}

Confidence resolve(Confidence c, int outputs) {
    if (c == Confidence::Auto) return outputs == 1 ? Confidence::Sigmoid : Confidence::Softmax;
    if (c == Confidence::Softmax && outputs == 1)
        throw InputError("--confidence", "softmax needs two or more outputs; this network has one (use sigmoid or margin)");
    if (c == Confidence::Sigmoid && outputs != 1)
        throw InputError("--confidence", fmt::format("sigmoid is for one-output networks; this one has {} (use softmax or margin)", outputs));
    return c;
}

}  // namespace

Setup make_setup(const BlockNet& net, const Perturbation& p, const ParamsQuery& q) {
    check_params_query(net, q);
    check_perturbation(net, p);
    Setup s;
    s.net = &net;
    s.pert = &p;
    s.outputs = int(net.output_size());
    s.conf = resolve(q.confidence, s.outputs);
    const size_t L = net.blocks.size();
    for (size_t k = 0; k + 1 < L; ++k)
        if (net.blocks[k].act == Act::Softmax)
            throw InputError(net.source, fmt::format("layer {}: softmax is supported only as the last layer", k));
    const Block& last = net.blocks.back();
    const bool unclamped = !std::isfinite(last.lo) && !std::isfinite(last.hi);
    s.direct_last = unclamped && (last.act == Act::None || last.act == Act::Softmax ||
                                  (last.act == Act::Sigmoid && s.outputs == 1));
    if (last.act == Act::Softmax && !s.direct_last)
        throw InputError(net.source, "a clamped softmax output is not supported");

    // Parameters with a range of more than one value are variables; the others are fixed
    // at their single value.
    s.base = net;
    s.layer_vars.resize(L);
    for (size_t k = 0; k < L; ++k) {
        const Block& b = net.blocks[k];
        for (int64_t i = 0; i < b.out_size(); ++i) {
            auto add = [&](int64_t j, double lo, double hi, double ilo, double ihi) {
                if (!(lo < hi)) {
                    (j < 0 ? s.base.blocks[k].b[i] : s.base.blocks[k].W(i, j)) = lo;
                    return;
                }
                s.layer_vars[k].push_back(int(s.vars.size()));
                s.vars.push_back(Var{int(k), int(i), int(j)});
                s.root.push_back({lo, hi});
                s.inner_lo.push_back(ilo);
                s.inner_hi.push_back(ihi);
            };
            for (int64_t j = 0; j < b.in_size(); ++j)
                add(j, p.outer.w_lo[k](i, j), p.outer.w_hi[k](i, j), p.inner.w_lo[k](i, j), p.inner.w_hi[k](i, j));
            add(-1, p.outer.b_lo[k][i], p.outer.b_hi[k][i], p.inner.b_lo[k][i], p.inner.b_hi[k][i]);
        }
    }
    s.param_vars = int(s.vars.size());
    const size_t n = size_t(net.input_size());
    s.input_vars.assign(n, -1);
    s.input_fixed.assign(n, 0.0);
    for (size_t i = 0; i < n; ++i) {
        s.input_fixed[i] = q.input_lo[i];
        if (q.input_lo[i] < q.input_hi[i]) {
            s.input_vars[i] = int(s.vars.size());
            s.vars.push_back(Var{-1, int(i), -1});
            s.root.push_back({q.input_lo[i], q.input_hi[i]});
            s.inner_lo.push_back(q.input_lo[i]);
            s.inner_hi.push_back(q.input_hi[i]);
        }
    }
    s.local = q.local();
    if (s.local) {
        // The class f predicts at x, decided on exact logits; an exact tie goes to the
        // lowest index, as argmax does.
        const std::vector<Interval> y = mp_logits(s, net, q.input_lo);
        int c = certain_class(y);
        if (c < 0) {
            if (y.size() == 1) c = y[0].mid() > 0 ? 1 : 0;
            else {
                c = 0;
                for (size_t i = 1; i < y.size(); ++i)
                    if (y[i].mid() > y[size_t(c)].mid()) c = int(i);
            }
        }
        s.local_class = s.conf_reference = c;
        s.nominal_confidence = mp_confidence(s, net, q.input_lo, c).mid();
    } else {
        s.conf_reference = s.outputs == 1 ? 1 : s.outputs == 2 ? 0 : -1;
    }
    return s;
}

std::vector<double> input_at(const Setup& s, const std::vector<double>& point) {
    std::vector<double> x = s.input_fixed;
    for (size_t i = 0; i < x.size(); ++i)
        if (s.input_vars[i] >= 0) x[i] = point[size_t(s.input_vars[i])];
    return x;
}

BlockNet net_at(const Setup& s, const std::vector<double>& point) {
    BlockNet net = s.base;
    for (int v = 0; v < s.param_vars; ++v) {
        const Var& var = s.vars[size_t(v)];
        Block& b = net.blocks[size_t(var.layer)];
        if (var.col < 0) b.b[var.row] = point[size_t(v)];
        else b.W(var.row, var.col) = point[size_t(v)];
    }
    return net;
}

}  // namespace qcert::params_detail

namespace qcert {

void check_params_query(const BlockNet& net, const ParamsQuery& q) {
    const std::string where = q.local() ? "--at" : "--region";
    if (net.blocks.empty()) throw InputError(net.source, "the network has no layers");
    if (q.input_lo.size() != q.input_hi.size() || int64_t(q.input_lo.size()) != net.input_size())
        throw InputError(where, fmt::format("{} values given, the model takes {} inputs", q.input_lo.size(), net.input_size()));
    for (size_t i = 0; i < q.input_lo.size(); ++i) {
        if (!std::isfinite(q.input_lo[i]) || !std::isfinite(q.input_hi[i]))
            throw InputError(where, fmt::format("input {} is not a finite number", i + 1));
        if (q.input_lo[i] > q.input_hi[i])
            throw InputError(where, fmt::format("input {}: lower end {} above upper end {}", i + 1, q.input_lo[i], q.input_hi[i]));
    }
    if (!(q.precision > 0) || !std::isfinite(q.precision))
        throw InputError("--precision", fmt::format("must be a positive number, got {}", q.precision));
    if (!(q.timeout_s > 0)) throw InputError("--timeout", fmt::format("must be positive, got {}", q.timeout_s));
}

}  // namespace qcert
