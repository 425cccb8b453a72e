// The annealing's objective, updated move by move (errbound_walk.hpp).
#include "analysis/errbound_walk.hpp"

#include <algorithm>
#include <stdexcept>

namespace qcert::errbound {

namespace {

double activate(const PairLayer& L, double z) {
    if (L.step != 0) z = double(round_double(z / L.step, L.rounding)) * L.step;
    return std::min(std::max(z, L.lo), L.hi);
}

// A real neuron's linear piece: 0 at or below lo, 2 at or above hi, 1 between (slope 1).
int8_t piece(const PairLayer& L, double z) { return z <= L.lo ? 0 : z >= L.hi ? 2 : 1; }

}  // namespace

DifferenceWalk::DifferenceWalk(const ErrPair& p, int64_t k, double sign)
    : p_(p), k_(k), sign_(sign), f0_(p.f_layers.at(0)), g0_(p.g_layers.at(0)) {
    if (p.f_layers.size() == 1) return;
    // Of the second layer, all rows or (when it is the last) row k only.
    const bool last = p.f_layers.size() == 2;
    const PairLayer &f1 = p.f_layers[1], &g1 = p.g_layers[1];
    W2f_ = last ? Mat(f1.W.row(k)) : f1.W, W2g_ = last ? Mat(g1.W.row(k)) : g1.W;
    b2f_ = last ? Vec::Constant(1, f1.b[k]) : f1.b, b2g_ = last ? Vec::Constant(1, g1.b[k]) : g1.b;
}

void DifferenceWalk::reset(const std::vector<double>& u) {
    Vec uf(int64_t(u.size())), ug(int64_t(u.size()));
    for (size_t j = 0; j < u.size(); ++j) {
        uf[int64_t(j)] = u[j] / p_.f_input_divisor;
        ug[int64_t(j)] = u[j] * p_.g_input_scale + p_.g_input_shift;
    }
    z1f_ = f0_.W * uf + f0_.b, z1g_ = g0_.W * ug + g0_.b;
    a1f_ = z1f_.unaryExpr([this](double z) { return activate(f0_, z); });
    a1g_ = z1g_.unaryExpr([this](double z) { return activate(g0_, z); });
    j_ = -1;
    update_map(true);
}

double DifferenceWalk::value() { return top(z2f_, z2g_); }

double DifferenceWalk::try_move(int64_t j, double delta) {
    j_ = j, delta_ = delta;
    const double df = delta / p_.f_input_divisor, dg = delta * p_.g_input_scale;
    if (p_.f_layers.size() == 1)
        return sign_ * (activate(g0_, z1g_[k_] + g0_.W(k_, j) * dg) - activate(f0_, z1f_[k_] + f0_.W(k_, j) * df));
    nf_ = z2f_ + M_.col(j) * delta, ng_ = z2g_;
    for (int64_t i = 0; i < z1f_.size(); ++i) {
        const double zf = z1f_[i] + f0_.W(i, j) * df;
        if (const int8_t r = ref_[size_t(i)]; pieces_[size_t(i)] != r || piece(f0_, zf) != r) {
            nf_ += W2f_.col(i) * ((activate(f0_, zf) - a1f_[i]) - (r == 1 ? zf - z1f_[i] : 0.0));
            corrections_ += double(nf_.size());
        }
        if (const double ag = activate(g0_, z1g_[i] + g0_.W(i, j) * dg); ag != a1g_[i]) ng_ += W2g_.col(i) * (ag - a1g_[i]);
    }
    return top(nf_, ng_);
}

void DifferenceWalk::accept() {
    if (j_ < 0) throw std::logic_error("DifferenceWalk::accept without a move tried");
    const double df = delta_ / p_.f_input_divisor, dg = delta_ * p_.g_input_scale;
    for (int64_t i = 0; i < z1f_.size(); ++i) {
        z1f_[i] += f0_.W(i, j_) * df, z1g_[i] += g0_.W(i, j_) * dg;
        a1f_[i] = activate(f0_, z1f_[i]), a1g_[i] = activate(g0_, z1g_[i]);
    }
    j_ = -1;
    if (p_.f_layers.size() == 1) return;
    for (int64_t i = 0; i < z1f_.size(); ++i) {
        const int8_t was = pieces_[size_t(i)], now = pieces_[size_t(i)] = piece(f0_, z1f_[i]);
        deviating_ += (now != ref_[size_t(i)]) - (was != ref_[size_t(i)]);
    }
    z2f_.swap(nf_), z2g_.swap(ng_);
    // The corrections have cost as much as bringing M to the current pattern would.
    if (corrections_ > double(M_.rows()) * double(M_.cols() + W2f_.cols()) * double(std::max<int64_t>(deviating_, 1)))
        update_map(false);
}

// M at the current pattern (from scratch, or through the columns of the neurons whose slope
// changed since the last time), and the second layer from the first layer's outputs.
void DifferenceWalk::update_map(bool scratch) {
    if (p_.f_layers.size() == 1) return;
    if (scratch) {
        pieces_.resize(size_t(z1f_.size()));
        std::vector<Eigen::Index> linear;
        for (int64_t i = 0; i < z1f_.size(); ++i)
            if ((pieces_[size_t(i)] = piece(f0_, z1f_[i])) == 1) linear.push_back(i);
        M_.noalias() = W2f_(Eigen::all, linear) * f0_.W(linear, Eigen::all);
        M_ /= p_.f_input_divisor;
    } else {
        std::vector<Eigen::Index> changed;
        std::vector<double> slope_change;
        for (int64_t i = 0; i < z1f_.size(); ++i)
            if (const int s = int(pieces_[size_t(i)] == 1) - int(ref_[size_t(i)] == 1); s != 0)
                changed.push_back(i), slope_change.push_back(s / p_.f_input_divisor);
        const Eigen::Map<const Vec> scale(slope_change.data(), Eigen::Index(slope_change.size()));
        if (!changed.empty()) M_.noalias() += (W2f_(Eigen::all, changed) * scale.asDiagonal()) * f0_.W(changed, Eigen::all);
    }
    ref_ = pieces_;
    deviating_ = 0;
    corrections_ = 0;
    // Recomputed rather than kept: the sums drift.
    z2f_.noalias() = W2f_ * a1f_, z2f_ += b2f_;
    z2g_.noalias() = W2g_ * a1g_, z2g_ += b2g_;
}

// The objective from the second layer's pre-activations (from the first layer when it is the last).
double DifferenceWalk::top(const Vec& zf, const Vec& zg) {
    if (p_.f_layers.size() == 1) return sign_ * (activate(g0_, z1g_[k_]) - activate(f0_, z1f_[k_]));
    if (p_.f_layers.size() == 2) return sign_ * (activate(p_.g_layers[1], zg[0]) - activate(p_.f_layers[1], zf[0]));
    xf_ = zf, xg_ = zg;
    for (size_t l = 1;; ++l) {
        const PairLayer &Lf = p_.f_layers[l], &Lg = p_.g_layers[l];
        for (int64_t i = 0; i < xf_.size(); ++i) xf_[i] = activate(Lf, xf_[i]), xg_[i] = activate(Lg, xg_[i]);
        const PairLayer &Nf = p_.f_layers[l + 1], &Ng = p_.g_layers[l + 1];
        if (l + 2 == p_.f_layers.size()) {  // only output k of the last layer is needed
            const double af = Nf.W.row(k_).dot(xf_) + Nf.b[k_], ag = Ng.W.row(k_).dot(xg_) + Ng.b[k_];
            return sign_ * (activate(Ng, ag) - activate(Nf, af));
        }
        yf_.noalias() = Nf.W * xf_, yg_.noalias() = Ng.W * xg_;
        xf_ = yf_ + Nf.b, xg_ = yg_ + Ng.b;
    }
}

}  // namespace qcert::errbound
