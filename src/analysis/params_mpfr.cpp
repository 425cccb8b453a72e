// 256-bit MPFR interval evaluation of the network and the objectives at a point.
//
// Each value is a pair [lo, hi] of MPFR numbers with lo rounded down and hi rounded
// up by MPFR (which rounds every operation, exp and tanh included, correctly in the
// requested direction), so the exact real value always lies inside; the pair is
// rounded outward to doubles at the end. At a point the pairs are some 2^-250 wide:
// the doubles are then the two neighbours of the exact value, or the value itself.
#include "params_mpfr.hpp"

#include <mpfr.h>

namespace qcert::params_detail {

namespace {

constexpr mpfr_prec_t kBits = 256;

// MPFR caches constants (those exp and tanh use) per thread; a search worker's
// would outlive it (LeakSanitizer). The first number a thread makes arms this, and
// the thread's end frees its caches.
struct ThreadCaches {
    ~ThreadCaches() { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); }
};
void init(mpfr_t v) {
    static thread_local ThreadCaches caches;
    (void)caches;
    mpfr_init2(v, kBits);
}

// One MPFR number at kBits, owned.
class Mp {
public:
    Mp() { init(v); mpfr_set_zero(v, 1); }
    explicit Mp(double d) { init(v); mpfr_set_d(v, d, MPFR_RNDN); }  // exact
    Mp(const Mp& o) { init(v); mpfr_set(v, o.v, MPFR_RNDN); }      // exact: same precision
    Mp& operator=(const Mp& o) { mpfr_set(v, o.v, MPFR_RNDN); return *this; }
    ~Mp() { mpfr_clear(v); }
    mpfr_t v;
};

struct MpIv {
    Mp lo, hi;
    MpIv() = default;
    explicit MpIv(double d) : lo(d), hi(d) {}
};

MpIv add(const MpIv& a, const MpIv& b) {
    MpIv r;
    mpfr_add(r.lo.v, a.lo.v, b.lo.v, MPFR_RNDD);
    mpfr_add(r.hi.v, a.hi.v, b.hi.v, MPFR_RNDU);
    return r;
}

MpIv sub(const MpIv& a, const MpIv& b) {
    MpIv r;
    mpfr_sub(r.lo.v, a.lo.v, b.hi.v, MPFR_RNDD);
    mpfr_sub(r.hi.v, a.hi.v, b.lo.v, MPFR_RNDU);
    return r;
}

MpIv neg(const MpIv& a) {
    MpIv r;
    mpfr_neg(r.lo.v, a.hi.v, MPFR_RNDN);  // exact
    mpfr_neg(r.hi.v, a.lo.v, MPFR_RNDN);
    return r;
}

// a * w for a double w.
MpIv scale(const MpIv& a, double w) {
    MpIv r;
    const Mp& from_lo = w >= 0 ? a.lo : a.hi;
    const Mp& from_hi = w >= 0 ? a.hi : a.lo;
    mpfr_mul_d(r.lo.v, from_lo.v, w, MPFR_RNDD);
    mpfr_mul_d(r.hi.v, from_hi.v, w, MPFR_RNDU);
    return r;
}

// 1 / a for a > 0.
MpIv reciprocal_positive(const MpIv& a) {
    MpIv r;
    mpfr_ui_div(r.lo.v, 1, a.hi.v, MPFR_RNDD);
    mpfr_ui_div(r.hi.v, 1, a.lo.v, MPFR_RNDU);
    return r;
}

MpIv exp(const MpIv& a) {
    MpIv r;
    mpfr_exp(r.lo.v, a.lo.v, MPFR_RNDD);
    mpfr_exp(r.hi.v, a.hi.v, MPFR_RNDU);
    return r;
}

MpIv tanh(const MpIv& a) {
    MpIv r;
    mpfr_tanh(r.lo.v, a.lo.v, MPFR_RNDD);
    mpfr_tanh(r.hi.v, a.hi.v, MPFR_RNDU);
    return r;
}

MpIv sigmoid(const MpIv& a) {  // 1 / (1 + exp(-a)): monotone pieces, no dependency loss
    MpIv one(1.0);
    return reciprocal_positive(add(one, exp(neg(a))));
}

// Monotone maps applied endpoint-wise (exact: max, min, and scaling by alpha rounded outward).
MpIv clamp(const MpIv& a, double lo, double hi) {
    MpIv r = a;
    for (Mp* m : {&r.lo, &r.hi}) {
        if (mpfr_cmp_d(m->v, lo) < 0) mpfr_set_d(m->v, lo, MPFR_RNDN);
        if (mpfr_cmp_d(m->v, hi) > 0) mpfr_set_d(m->v, hi, MPFR_RNDN);
    }
    return r;
}

MpIv leaky_relu(const MpIv& a, double alpha) {
    MpIv r = a;
    if (mpfr_sgn(a.lo.v) < 0) mpfr_mul_d(r.lo.v, a.lo.v, alpha, MPFR_RNDD);
    if (mpfr_sgn(a.hi.v) < 0) mpfr_mul_d(r.hi.v, a.hi.v, alpha, MPFR_RNDU);
    return r;
}

MpIv minimum(const MpIv& a, const MpIv& b) {
    MpIv r;
    mpfr_min(r.lo.v, a.lo.v, b.lo.v, MPFR_RNDN);
    mpfr_min(r.hi.v, a.hi.v, b.hi.v, MPFR_RNDN);
    return r;
}

Interval to_interval(const MpIv& a) { return {mpfr_get_d(a.lo.v, MPFR_RNDD), mpfr_get_d(a.hi.v, MPFR_RNDU)}; }

MpIv activate(const Block& b, const MpIv& z) {
    MpIv y = z;
    switch (b.act) {
        case Act::None: break;
        case Act::ReLU: y = leaky_relu(z, 0.0); break;
        case Act::LeakyReLU: y = leaky_relu(z, b.alpha); break;
        case Act::Sigmoid: y = sigmoid(z); break;
        case Act::Tanh: y = tanh(z); break;
        case Act::Softmax: break;  // only as the confidence's own (make_setup refuses others)
    }
    return clamp(y, b.lo, b.hi);
}

std::vector<MpIv> logits(const Setup& s, const BlockNet& net, const std::vector<double>& x) {
    std::vector<MpIv> cur;
    cur.reserve(x.size());
    for (double v : x) cur.emplace_back(v);
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& b = net.blocks[k];
        std::vector<MpIv> next;
        next.reserve(size_t(b.out_size()));
        for (int64_t i = 0; i < b.out_size(); ++i) {
            MpIv z(b.b[i]);
            for (int64_t j = 0; j < b.in_size(); ++j)
                if (b.W(i, j) != 0) z = add(z, scale(cur[size_t(j)], b.W(i, j)));
            const bool last = k + 1 == net.blocks.size();
            next.push_back(last && s.direct_last ? z : activate(b, z));
        }
        cur = std::move(next);
    }
    return cur;
}

// The margins u of reference class j: y_j - y_i for i != j, or +-y for one output.
std::vector<MpIv> margins(const std::vector<MpIv>& y, int j) {
    std::vector<MpIv> u;
    if (y.size() == 1) {
        u.push_back(j == 1 ? y[0] : neg(y[0]));
        return u;
    }
    for (size_t i = 0; i < y.size(); ++i)
        if (int(i) != j) u.push_back(sub(y[size_t(j)], y[i]));
    return u;
}

MpIv confidence(const Setup& s, const std::vector<MpIv>& u) {
    switch (s.conf) {
        case Confidence::Margin: {
            MpIv m = u[0];
            for (size_t i = 1; i < u.size(); ++i) m = minimum(m, u[i]);
            return m;
        }
        case Confidence::Sigmoid: return sigmoid(u[0]);
        default: {  // softmax: 1 / (1 + sum_i exp(-u_i))
            MpIv sum(1.0);
            for (const MpIv& ui : u) sum = add(sum, exp(neg(ui)));
            return reciprocal_positive(sum);
        }
    }
}

int certain(const std::vector<MpIv>& y) {
    std::vector<Interval> iv;
    for (const MpIv& v : y) iv.push_back(to_interval(v));
    return certain_class(iv);
}

}  // namespace

std::vector<Interval> mp_logits(const Setup& s, const BlockNet& net, const std::vector<double>& x) {
    std::vector<Interval> r;
    for (const MpIv& v : logits(s, net, x)) r.push_back(to_interval(v));
    return r;
}

int certain_class(const std::vector<Interval>& y) {
    if (y.size() == 1) return y[0].lo > 0 ? 1 : y[0].hi < 0 ? 0 : -1;
    for (size_t j = 0; j < y.size(); ++j) {
        bool wins = true;
        for (size_t i = 0; i < y.size() && wins; ++i) wins = i == j || y[j].lo > y[i].hi;
        if (wins) return int(j);
    }
    return -1;
}

Interval mp_confidence(const Setup& s, const BlockNet& net, const std::vector<double>& x, int j) {
    return to_interval(confidence(s, margins(logits(s, net, x), j)));
}

std::optional<PointValue> mp_objective(const Setup& s, const std::vector<double>& point, Tag tag) {
    const std::vector<double> x = input_at(s, point);
    const BlockNet perturbed = net_at(s, point);
    const std::vector<MpIv> y1 = logits(s, perturbed, x);
    int j = tag == ClassChange ? s.local_class : s.conf_reference;
    std::vector<MpIv> y0;
    if (tag != ClassChange || j < 0) y0 = logits(s, *s.net, x);
    if (j < 0) j = certain(y0);
    if (j < 0) return std::nullopt;
    const std::vector<MpIv> u1 = margins(y1, j);
    MpIv g;
    if (tag == ClassChange) {
        MpIv m = u1[0];
        for (size_t i = 1; i < u1.size(); ++i) m = minimum(m, u1[i]);
        g = neg(m);
    } else {
        const MpIv c1 = confidence(s, u1), c0 = confidence(s, margins(y0, j));
        g = tag == Up ? sub(c1, c0) : sub(c0, c1);
    }
    return PointValue{to_interval(g), j};
}

}  // namespace qcert::params_detail
