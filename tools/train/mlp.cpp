#include "mlp.hpp"

#include <cmath>
#include <numeric>
#include <string>

namespace qcert::train {
namespace {

// Column-wise softmax cross-entropy: returns the summed loss and puts the
// probabilities in P.
double softmax_xent(const Mat& Z, const std::vector<int>& y, Mat& P) {
    P.resize(Z.rows(), Z.cols());
    double loss = 0;
    for (int64_t j = 0; j < Z.cols(); ++j) {
        const double m = Z.col(j).maxCoeff();
        P.col(j) = (Z.col(j).array() - m).exp().matrix();
        const double sum = P.col(j).sum();
        P.col(j) /= sum;
        loss += -(Z(y[j], j) - m - std::log(sum));
    }
    return loss;
}

}  // namespace

Mlp::Mlp(const std::vector<int64_t>& sizes, bool relu, Rng& rng) : relu_(relu) {
    for (size_t k = 0; k + 1 < sizes.size(); ++k) {
        const int64_t in = sizes[k], out = sizes[k + 1];
        const bool into_relu = relu && k + 2 < sizes.size();
        const double limit = into_relu ? std::sqrt(6.0 / double(in)) : std::sqrt(6.0 / double(in + out));
        Mat W(out, in);
        for (int64_t i = 0; i < out; ++i)
            for (int64_t j = 0; j < in; ++j) W(i, j) = rng.uniform(-limit, limit);
        W_.push_back(W);
        b_.push_back(Vec::Zero(out));
        mW_.push_back(Mat::Zero(out, in));
        vW_.push_back(Mat::Zero(out, in));
        mb_.push_back(Vec::Zero(out));
        vb_.push_back(Vec::Zero(out));
    }
}

Mat Mlp::logits(const Mat& X) const {
    Mat A = X;
    for (size_t k = 0; k < W_.size(); ++k) {
        Mat Z = (W_[k] * A).colwise() + b_[k];
        A = (relu_ && k + 1 < W_.size()) ? Mat(Z.cwiseMax(0.0)) : Z;
    }
    return A;
}

double Mlp::accuracy(const Samples& s) const {
    int64_t right = 0;
    for (int64_t start = 0; start < s.count(); start += 1000) {
        const int64_t n = std::min<int64_t>(1000, s.count() - start);
        Mat Z = logits(s.X.middleCols(start, n));
        for (int64_t j = 0; j < n; ++j) right += argmax(Z.col(j)) == s.y[start + j];
    }
    return s.count() ? double(right) / double(s.count()) : 0.0;
}

double Mlp::mean_loss(const Samples& s) const {
    Mat P;
    return s.count() ? softmax_xent(logits(s.X), s.y, P) / double(s.count()) : 0.0;
}

double Mlp::train_epoch(const Samples& s, int64_t batch, const AdamConfig& cfg, Rng& rng) {
    std::vector<int64_t> order(s.count());
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order);
    double loss = 0;
    for (int64_t start = 0; start < s.count(); start += batch) {
        const int64_t n = std::min<int64_t>(batch, s.count() - start);
        Mat X(s.X.rows(), n);
        std::vector<int> y(n);
        for (int64_t j = 0; j < n; ++j) {
            X.col(j) = s.X.col(order[start + j]);
            y[j] = s.y[order[start + j]];
        }
        loss += step(X, y, cfg);
    }
    return s.count() ? loss / double(s.count()) : 0.0;
}

double Mlp::step(const Mat& X, const std::vector<int>& y, const AdamConfig& cfg) {
    const size_t L = W_.size();
    std::vector<Mat> A{X}, Z;  // A[k] is the input of layer k
    for (size_t k = 0; k < L; ++k) {
        Z.push_back((W_[k] * A[k]).colwise() + b_[k]);
        if (k + 1 < L) A.push_back(relu_ ? Mat(Z[k].cwiseMax(0.0)) : Z[k]);
    }
    Mat P;
    const double loss = softmax_xent(Z[L - 1], y, P);
    const double n = double(X.cols());
    Mat dZ = P;
    for (int64_t j = 0; j < dZ.cols(); ++j) dZ(y[j], j) -= 1.0;
    dZ /= n;

    ++t_;
    const double c1 = 1.0 - std::pow(cfg.beta1, double(t_));
    const double c2 = 1.0 - std::pow(cfg.beta2, double(t_));
    auto adam = [&](auto& p, auto& m, auto& v, const auto& g) {
        m = cfg.beta1 * m + (1 - cfg.beta1) * g;
        v = cfg.beta2 * v + (1 - cfg.beta2) * g.cwiseProduct(g);
        p.array() -= cfg.lr * (m.array() / c1) / ((v.array() / c2).sqrt() + cfg.eps);
    };
    for (size_t k = L; k-- > 0;) {
        Mat dW = dZ * A[k].transpose();
        Vec db = dZ.rowwise().sum();
        if (k > 0) {
            Mat dA = W_[k].transpose() * dZ;
            dZ = relu_ ? Mat(dA.cwiseProduct((Z[k - 1].array() > 0.0).cast<double>().matrix())) : dA;
        }
        adam(W_[k], mW_[k], vW_[k], dW);
        adam(b_[k], mb_[k], vb_[k], db);
    }
    return loss;
}

Network Mlp::to_network(const Shape& input_shape) const {
    Network net;
    net.input_shape = input_shape;
    if (input_shape.size() != 1) {
        Layer flatten;
        flatten.op = Op::Reshape;
        flatten.name = "flatten";
        flatten.in_shape = input_shape;
        flatten.out_shape = {shape_size(input_shape)};
        net.layers.push_back(flatten);
    }
    for (size_t k = 0; k < W_.size(); ++k) {
        net.layers.push_back(make_dense(W_[k], b_[k], "dense" + std::to_string(k + 1)));
        if (relu_ && k + 1 < W_.size())
            net.layers.push_back(make_activation(Op::ReLU, W_[k].rows(), "relu" + std::to_string(k + 1)));
    }
    net.validate();
    return net;
}

}  // namespace qcert::train
