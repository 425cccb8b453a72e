// The real-valued proxy of an integer network (see proxy.hpp).
#include "attack/proxy.hpp"

#include <algorithm>

namespace qcert::attack {

RealProxy::RealProxy(const IntNetwork& net) {
    for (const IntLayer& L : net.layers) {
        const double s = double(L.num) / double(L.den);
        Layer l;
        l.W = L.W.cast<double>() * s;
        Eigen::VectorXd b(L.out_size());
        for (int64_t i = 0; i < L.out_size(); ++i) b[i] = double(L.b[i]);
        l.c = (b - L.W.cast<double>().rowwise().sum() * double(L.in_zero)) * s + Eigen::VectorXd::Constant(L.out_size(), double(L.out_zero));
        l.lo = double(L.lo);
        l.hi = double(L.hi);
        layers_.push_back(std::move(l));
    }
    pre_.resize(layers_.size());
    post_.resize(layers_.size());
    trial_pre_.resize(layers_.size());
    trial_post_.resize(layers_.size());
}

void RealProxy::run(std::vector<Eigen::VectorXd>& pre, std::vector<Eigen::VectorXd>& post) const {
    for (size_t k = 0; k < layers_.size(); ++k) {
        const Layer& l = layers_[k];
        if (k > 0) pre[k].noalias() = l.W * post[k - 1] + l.c;
        if (k + 1 < layers_.size()) post[k] = pre[k].cwiseMax(l.lo).cwiseMin(l.hi);
    }
}

const Eigen::VectorXd& RealProxy::forward(const Eigen::VectorXd& x) {
    pre_[0].noalias() = layers_[0].W * x + layers_[0].c;
    run(pre_, post_);
    return pre_.back();
}

Eigen::VectorXd RealProxy::gradient(const Eigen::VectorXd& c, const OutputClamp& clamp) const {
    // Back-propagate through the neurons strictly inside their clamp range.
    Eigen::VectorXd g = c;
    for (size_t k = layers_.size(); k-- > 0;) {
        const Layer& l = layers_[k];
        const bool last = k + 1 == layers_.size();
        for (int64_t i = 0; i < g.size(); ++i) {
            const double z = pre_[k][i];
            g[i] *= last ? clamp.slope(size_t(i), z, g[i] > 0) : double(z > l.lo && z < l.hi);
        }
        g = l.W.transpose() * g;
    }
    return g;
}

const Eigen::VectorXd& RealProxy::try_move(int64_t j, double delta) {
    trial_pre_[0] = pre_[0] + layers_[0].W.col(j) * delta;
    run(trial_pre_, trial_post_);
    return trial_pre_.back();
}

void RealProxy::commit() {
    pre_.swap(trial_pre_);
    post_.swap(trial_post_);
}

}  // namespace qcert::attack
