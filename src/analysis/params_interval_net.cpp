// Interval forward and backward passes of the network over a box (see the header).
#include "params_interval_net.hpp"

namespace qcert::params_detail {

namespace {

Interval activate(const Block& b, Interval z) {
    switch (b.act) {
        case Act::None: return z;
        case Act::ReLU: return relu(z);
        case Act::LeakyReLU: return leaky_relu(z, b.alpha);
        case Act::Sigmoid: return sigmoid(z);
        case Act::Tanh: return tanh(z);
        case Act::Softmax: return z;  // only as the confidence's own: never reached (make_setup)
    }
    return z;
}

Interval act_derivative(const Block& b, Interval z) {
    switch (b.act) {
        case Act::None: return Interval::point(1.0);
        case Act::ReLU: return z.lo > 0 ? Interval::point(1.0) : z.hi < 0 ? Interval::point(0.0) : Interval{0.0, 1.0};
        case Act::LeakyReLU: {
            const double a = b.alpha;
            return z.lo > 0 ? Interval::point(1.0) : z.hi < 0 ? Interval::point(a) : Interval{std::min(a, 1.0), std::max(a, 1.0)};
        }
        case Act::Sigmoid: return sigmoid_derivative(z);
        case Act::Tanh: return tanh_derivative(z);
        case Act::Softmax: return Interval::point(1.0);
    }
    return Interval::entire();
}

}  // namespace

Interval block_output(const Block& b, Interval z) { return clamp(activate(b, z), b.lo, b.hi); }

Interval block_derivative(const Block& b, Interval z) {
    const Interval d = act_derivative(b, z);
    if (!std::isfinite(b.lo) && !std::isfinite(b.hi)) return d;
    // The clamp passes the derivative inside (lo, hi), blocks it outside, and at its
    // kinks contributes [0, 1].
    const Interval a = activate(b, z);
    if (a.lo > b.lo && a.hi < b.hi) return d;
    if (a.lo > b.hi || a.hi < b.lo) return Interval::point(0.0);
    return Interval{0.0, 1.0} * d;
}

// The confidence of the margins u and its gradient enclosure with respect to them.
Interval confidence(const Setup& s, const std::vector<Interval>& u, std::vector<Interval>& du) {
    du.assign(u.size(), Interval::point(0.0));
    if (s.conf == Confidence::Margin) {
        // min_i u_i: gradient 1 on the certain minimum, [0, 1] on each possible one.
        Interval m = u[0];
        for (size_t i = 1; i < u.size(); ++i) m = min(m, u[i]);
        for (size_t i = 0; i < u.size(); ++i) {
            if (u[i].lo > m.hi) continue;  // certainly not the minimum
            bool sure = true;
            for (size_t k = 0; k < u.size() && sure; ++k) sure = k == i || u[i].hi < u[k].lo;
            du[i] = sure ? Interval::point(1.0) : Interval{0.0, 1.0};
        }
        return m;
    }
    if (u.size() == 1) {  // softmax of two classes, or sigmoid: sigma(u)
        du[0] = sigmoid_derivative(u[0]);
        return sigmoid(u[0]);
    }
    // softmax: c = 1 / (1 + sum_i exp(-u_i)), dc/du_i = exp(-u_i) c^2.
    std::vector<Interval> e(u.size());
    Interval sum = Interval::point(1.0);
    for (size_t i = 0; i < u.size(); ++i) {
        e[i] = exp(-u[i]);
        sum += e[i];
    }
    const Interval c = clamp(1.0 / sum, 0.0, 1.0);
    const Interval c2 = sqr(c);
    for (size_t i = 0; i < u.size(); ++i) du[i] = e[i] * c2;
    return c;
}

IntervalNet::IntervalNet(const Setup& s) : s_(s), grad_(s.vars.size()) {
    const BlockNet& net = *s.net;
    const size_t L = net.blocks.size();
    nominal_W_.resize(L); nominal_b_.resize(L);
    x_.resize(L + 1); z_.resize(L);
    x_[0].resize(size_t(net.input_size()));
    for (size_t k = 0; k < L; ++k) {
        const Block& b = net.blocks[k];
        for (int64_t i = 0; i < b.out_size(); ++i) {
            for (int64_t j = 0; j < b.in_size(); ++j) nominal_W_[k].push_back(Interval::point(b.W(i, j)));
            nominal_b_[k].push_back(Interval::point(b.b[i]));
        }
        z_[k].resize(size_t(b.out_size()));
        x_[k + 1].resize(size_t(b.out_size()));
    }
    // The perturbed parameters start from the fixed part (variables are overwritten per pass).
    W_.resize(L);
    b_.resize(L);
    for (size_t k = 0; k < L; ++k) {
        const Block& b = s.base.blocks[k];
        for (int64_t i = 0; i < b.out_size(); ++i) {
            for (int64_t j = 0; j < b.in_size(); ++j) W_[k].push_back(Interval::point(b.W(i, j)));
            b_[k].push_back(Interval::point(b.b[i]));
        }
    }
}

void IntervalNet::load_params(const Box& box, bool nominal) {
    nominal_ = nominal;
    if (nominal) return;
    // Only free parameters differ from theta, and they are rewritten on every pass.
    for (size_t k = 0; k < W_.size(); ++k) {
        const int64_t cols = s_.net->blocks[k].in_size();
        for (int v : s_.layer_vars[k]) {
            const Var& var = s_.vars[size_t(v)];
            if (var.col < 0) b_[k][size_t(var.row)] = box[size_t(v)];
            else W_[k][size_t(var.row * cols + var.col)] = box[size_t(v)];
        }
    }
}

void IntervalNet::forward(const Box& box, bool nominal) {
    load_params(box, nominal);
    const BlockNet& net = *s_.net;
    for (size_t i = 0; i < x_[0].size(); ++i) {
        const int v = s_.input_vars[i];
        x_[0][i] = v >= 0 ? box[size_t(v)] : Interval::point(s_.input_fixed[i]);
    }
    const size_t L = net.blocks.size();
    for (size_t k = 0; k < L; ++k) {
        const Block& b = net.blocks[k];
        const auto& W = nominal ? nominal_W_[k] : W_[k];
        const auto& bias = nominal ? nominal_b_[k] : b_[k];
        const size_t rows = size_t(b.out_size()), cols = size_t(b.in_size());
        const std::vector<Interval>& in = x_[k];
        for (size_t i = 0; i < rows; ++i) {
            Interval z = bias[i];
            const Interval* w = &W[i * cols];
            for (size_t j = 0; j < cols; ++j) z += w[j] * in[j];
            z_[k][i] = z;
            if (!(k + 1 == L && s_.direct_last)) x_[k + 1][i] = block_output(b, z);
        }
    }
}

std::vector<Interval> IntervalNet::logits() const {
    const size_t L = z_.size();
    return s_.direct_last ? z_[L - 1] : x_[L];
}

const std::vector<Interval>& IntervalNet::margins(int j) {
    ref_ = j;
    const size_t L = z_.size();
    const size_t K = size_t(s_.outputs);
    u_.clear();
    if (K == 1) {
        const Interval y = s_.direct_last ? z_[L - 1][0] : x_[L][0];
        u_.push_back(j == 1 ? y : -y);
        return u_;
    }
    if (!s_.direct_last) {
        for (size_t i = 0; i < K; ++i)
            if (int(i) != j) u_.push_back(x_[L][size_t(j)] - x_[L][i]);
        return u_;
    }
    // Row against row: (b_j - b_i) + sum_c (W_jc - W_ic) x_c keeps the shared x_c once.
    const auto& W = nominal_ ? nominal_W_[L - 1] : W_[L - 1];
    const auto& bias = nominal_ ? nominal_b_[L - 1] : b_[L - 1];
    const std::vector<Interval>& in = x_[L - 1];
    const size_t cols = in.size();
    for (size_t i = 0; i < K; ++i) {
        if (int(i) == j) continue;
        Interval u = bias[size_t(j)] - bias[i];
        for (size_t c = 0; c < cols; ++c) u += (W[size_t(j) * cols + c] - W[i * cols + c]) * in[c];
        u_.push_back(u);
    }
    return u_;
}

Interval IntervalNet::derivative(size_t k, size_t i) const { return block_derivative(s_.net->blocks[k], z_[k][i]); }

const std::vector<Interval>& IntervalNet::backward(const std::vector<Interval>& du) {
    const BlockNet& net = *s_.net;
    const size_t L = net.blocks.size();
    const size_t K = size_t(s_.outputs);
    std::fill(grad_.begin(), grad_.end(), Interval::point(0.0));
    // gy_: the gradient with respect to the logits, as a per-row multiplier.
    gy_.assign(K, Interval::point(0.0));
    if (K == 1) {
        gy_[0] = ref_ == 1 ? du[0] : -du[0];
    } else {
        Interval sum = Interval::point(0.0);
        size_t m = 0;
        for (size_t i = 0; i < K; ++i) {
            if (int(i) == ref_) continue;
            gy_[i] = -du[m];
            sum += du[m];
            ++m;
        }
        gy_[size_t(ref_)] = sum;
    }
    size_t k = L;
    std::vector<Interval>* gout = &gy_;
    while (k-- > 0) {
        const Block& b = net.blocks[k];
        const size_t rows = size_t(b.out_size()), cols = size_t(b.in_size());
        const auto& W = nominal_ ? nominal_W_[k] : W_[k];
        const std::vector<Interval>& in = x_[k];
        const bool direct = k + 1 == L && s_.direct_last;
        gz_.resize(rows);
        for (size_t i = 0; i < rows; ++i) gz_[i] = direct ? (*gout)[i] : (*gout)[i] * derivative(k, i);
        if (!nominal_) {
            for (int v : s_.layer_vars[k]) {
                const Var& var = s_.vars[size_t(v)];
                grad_[size_t(v)] = var.col < 0 ? gz_[size_t(var.row)] : gz_[size_t(var.row)] * in[size_t(var.col)];
            }
        }
        gx_.assign(cols, Interval::point(0.0));
        if (direct && K > 1) {
            // d u_i / d x_c = W_jc - W_ic: use the differences, as margins() did.
            size_t m = 0;
            for (size_t i = 0; i < K; ++i) {
                if (int(i) == ref_) continue;
                for (size_t c = 0; c < cols; ++c)
                    gx_[c] += du[m] * (W[size_t(ref_) * cols + c] - W[i * cols + c]);
                ++m;
            }
        } else {
            for (size_t i = 0; i < rows; ++i) {
                if (gz_[i].lo == 0 && gz_[i].hi == 0) continue;
                const Interval* w = &W[i * cols];
                for (size_t c = 0; c < cols; ++c) gx_[c] += w[c] * gz_[i];
            }
        }
        std::swap(gx_, gy_);  // gy_ now holds the gradient with respect to this block's input
        gout = &gy_;
    }
    for (size_t c = 0; c < s_.input_vars.size(); ++c)
        if (s_.input_vars[c] >= 0) grad_[size_t(s_.input_vars[c])] = gy_[c];
    return grad_;
}

}  // namespace qcert::params_detail
