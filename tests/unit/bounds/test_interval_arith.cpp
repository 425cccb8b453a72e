// Outward-rounded interval arithmetic (include/qcert/interval.hpp) against MPFR:
// for random intervals and random points inside them, the exact result (bracketed by
// MPFR at 256 bits, rounded down and up) must lie inside the computed interval.
#include "qcert/interval.hpp"

#include <gtest/gtest.h>
#include <mpfr.h>

#include <cmath>
#include <functional>
#include <random>

using qcert::Interval;

namespace {

// One MPFR number at 256 bits.
struct Mp {
    mpfr_t v;
    Mp() { mpfr_init2(v, 256); }
    explicit Mp(double d) { mpfr_init2(v, 256); mpfr_set_d(v, d, MPFR_RNDN); }
    Mp(const Mp&) = delete;
    Mp& operator=(const Mp&) = delete;
    ~Mp() { mpfr_clear(v); }
};

// The exact value f(args) is in [lo, hi] when both MPFR roundings of it are.
using MpFn = std::function<void(mpfr_t, const std::vector<double>&, mpfr_rnd_t)>;

::testing::AssertionResult encloses(const Interval& iv, const MpFn& f, const std::vector<double>& args) {
    Mp down, up;
    f(down.v, args, MPFR_RNDD);
    f(up.v, args, MPFR_RNDU);
    if (mpfr_cmp_d(down.v, iv.lo) >= 0 && mpfr_cmp_d(up.v, iv.hi) <= 0) return ::testing::AssertionSuccess();
    std::string a;
    for (double x : args) a += std::to_string(x) + " ";
    return ::testing::AssertionFailure() << "exact value " << mpfr_get_d(down.v, MPFR_RNDN) << " outside " << iv.str()
                                         << " for args " << a;
}

struct Rng {
    std::mt19937_64 g{20190101};
    double uniform(double lo, double hi) { return lo + (hi - lo) * std::uniform_real_distribution<double>(0, 1)(g); }
    // Values over many magnitudes and both signs, sometimes exact small integers.
    double any(double max_exp = 30) {
        const int kind = int(g() % 8);
        if (kind == 0) return double(int(g() % 11) - 5);
        const double m = uniform(-1, 1);
        return std::ldexp(m, int(uniform(-max_exp, max_exp)));
    }
    Interval interval(double max_exp = 30) {
        double a = any(max_exp), b = g() % 4 == 0 ? a : any(max_exp);
        if (a > b) std::swap(a, b);
        return {a, b};
    }
    double inside(const Interval& iv) {
        switch (g() % 4) {
            case 0: return iv.lo;
            case 1: return iv.hi;
            default: return std::clamp(uniform(iv.lo, iv.hi), iv.lo, iv.hi);
        }
    }
};

constexpr int kTrials = 20000;

void check_binary(const std::function<Interval(Interval, Interval)>& op, const MpFn& exact, bool nonzero_b = false) {
    Rng r;
    for (int t = 0; t < kTrials; ++t) {
        const Interval a = r.interval();
        Interval b = r.interval();
        if (nonzero_b && b.lo <= 0 && b.hi >= 0) b = b.lo == 0 && b.hi == 0 ? Interval{1, 2} : Interval{b.hi > 0 ? b.hi : 1, b.hi > 0 ? 2 * b.hi : 2};
        const Interval c = op(a, b);
        ASSERT_LE(c.lo, c.hi);
        for (int k = 0; k < 4; ++k) {
            const double x = r.inside(a), y = r.inside(b);
            ASSERT_TRUE(encloses(c, exact, {x, y})) << a.str() << " op " << b.str() << " = " << c.str();
        }
    }
}

void check_unary(const std::function<Interval(Interval)>& op, const MpFn& exact, double lo, double hi,
                 int trials = kTrials / 5) {  // MPFR's transcendental functions take microseconds
    Rng r;
    for (int t = 0; t < trials; ++t) {
        double a = r.uniform(lo, hi), b = t % 5 == 0 ? a : r.uniform(lo, hi);
        if (a > b) std::swap(a, b);
        const Interval iv{a, b};
        const Interval c = op(iv);
        ASSERT_LE(c.lo, c.hi);
        for (int k = 0; k < 4; ++k) ASSERT_TRUE(encloses(c, exact, {r.inside(iv)})) << iv.str() << " -> " << c.str();
    }
}

// MPFR versions of the functions, in the direction given.
void mp_sigmoid(mpfr_t r, double x, mpfr_rnd_t rnd) {
    // 1 / (1 + exp(-x)) is increasing in x: round every step the same way as the result.
    Mp e, d;
    const mpfr_rnd_t inv = rnd == MPFR_RNDD ? MPFR_RNDU : MPFR_RNDD;
    mpfr_set_d(e.v, -x, MPFR_RNDN);
    mpfr_exp(e.v, e.v, inv);
    mpfr_add_ui(d.v, e.v, 1, inv);
    mpfr_ui_div(r, 1, d.v, rnd);
}

// sigmoid'(x) = e / (1 + e)^2, e = exp(-|x|). At 256 bits the rounding error is far below
// one double ulp, so a widening by 2^-200 (relative) makes a safe bracket.
void mp_sigmoid_derivative(mpfr_t r, double x, mpfr_rnd_t rnd) {
    Mp e, d;
    mpfr_set_d(e.v, -std::fabs(x), MPFR_RNDN);
    mpfr_exp(e.v, e.v, MPFR_RNDN);
    mpfr_add_ui(d.v, e.v, 1, MPFR_RNDN);
    mpfr_sqr(d.v, d.v, MPFR_RNDN);
    mpfr_div(r, e.v, d.v, MPFR_RNDN);
    Mp eps;
    mpfr_mul_2si(eps.v, r, -200, MPFR_RNDN);
    if (rnd == MPFR_RNDD) mpfr_sub(r, r, eps.v, MPFR_RNDD);
    else mpfr_add(r, r, eps.v, MPFR_RNDU);
}

void mp_tanh_derivative(mpfr_t r, double x, mpfr_rnd_t rnd) {
    Mp c;
    mpfr_set_d(c.v, x, MPFR_RNDN);
    mpfr_cosh(c.v, c.v, MPFR_RNDN);
    mpfr_sqr(c.v, c.v, MPFR_RNDN);
    mpfr_ui_div(r, 1, c.v, MPFR_RNDN);
    Mp eps;
    mpfr_mul_2si(eps.v, r, -200, MPFR_RNDN);
    if (rnd == MPFR_RNDD) mpfr_sub(r, r, eps.v, MPFR_RNDD);
    else mpfr_add(r, r, eps.v, MPFR_RNDU);
}

}  // namespace

TEST(IntervalArith, NextUpDown) {
    EXPECT_EQ(qcert::next_up(1.0), std::nextafter(1.0, 2.0));
    EXPECT_EQ(qcert::next_down(1.0), std::nextafter(1.0, 0.0));
    EXPECT_EQ(qcert::next_up(-1.0), std::nextafter(-1.0, 0.0));
    EXPECT_EQ(qcert::next_up(0.0), std::numeric_limits<double>::denorm_min());
    EXPECT_EQ(qcert::next_up(-0.0), std::numeric_limits<double>::denorm_min());
    EXPECT_EQ(qcert::next_down(0.0), -std::numeric_limits<double>::denorm_min());
    EXPECT_EQ(qcert::next_up(Interval::kInf), Interval::kInf);
    EXPECT_EQ(qcert::next_down(-Interval::kInf), -Interval::kInf);
    EXPECT_EQ(qcert::next_up(std::numeric_limits<double>::max()), Interval::kInf);
    EXPECT_TRUE(std::isnan(qcert::next_up(std::nan(""))));
    Rng r;
    for (int t = 0; t < kTrials; ++t) {
        const double x = r.any(300);
        EXPECT_EQ(qcert::next_up(x), std::nextafter(x, Interval::kInf));
        EXPECT_EQ(qcert::next_down(x), std::nextafter(x, -Interval::kInf));
    }
}

TEST(IntervalArith, AddSubMulDivAgainstMpfr) {
    check_binary([](Interval a, Interval b) { return a + b; },
                 [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]), b(v[1]); mpfr_add(r, a.v, b.v, m); });
    check_binary([](Interval a, Interval b) { return a - b; },
                 [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]), b(v[1]); mpfr_sub(r, a.v, b.v, m); });
    check_binary([](Interval a, Interval b) { return a * b; },
                 [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]), b(v[1]); mpfr_mul(r, a.v, b.v, m); });
    check_binary([](Interval a, Interval b) { return a / b; },
                 [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]), b(v[1]); mpfr_div(r, a.v, b.v, m); },
                 true);
    check_unary([](Interval a) { return qcert::sqr(a); },
                [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]); mpfr_sqr(r, a.v, m); }, -1e6, 1e6);
}

TEST(IntervalArith, ElementaryFunctionsAgainstMpfr) {
    auto mp1 = [](int (*f)(mpfr_ptr, mpfr_srcptr, mpfr_rnd_t)) {
        return [f](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { Mp a(v[0]); f(r, a.v, m); };
    };
    check_unary([](Interval a) { return qcert::exp(a); }, mp1(mpfr_exp), -745, 709);
    check_unary([](Interval a) { return qcert::exp(a); }, mp1(mpfr_exp), -2, 2);
    check_unary([](Interval a) { return qcert::log(a); }, mp1(mpfr_log), 1e-300, 1e300);
    check_unary([](Interval a) { return qcert::log(a); }, mp1(mpfr_log), 0.5, 2);
    check_unary([](Interval a) { return qcert::tanh(a); }, mp1(mpfr_tanh), -30, 30);
    check_unary([](Interval a) { return qcert::tanh(a); }, mp1(mpfr_tanh), -1e-3, 1e-3);
    auto sig = [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { mp_sigmoid(r, v[0], m); };
    check_unary([](Interval a) { return qcert::sigmoid(a); }, sig, -800, 800);
    check_unary([](Interval a) { return qcert::sigmoid(a); }, sig, -5, 5);
    auto dsig = [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { mp_sigmoid_derivative(r, v[0], m); };
    check_unary([](Interval a) { return qcert::sigmoid_derivative(a); }, dsig, -50, 50);
    check_unary([](Interval a) { return qcert::sigmoid_derivative(a); }, dsig, -1, 1);
    auto dtanh = [](mpfr_t r, const std::vector<double>& v, mpfr_rnd_t m) { mp_tanh_derivative(r, v[0], m); };
    check_unary([](Interval a) { return qcert::tanh_derivative(a); }, dtanh, -20, 20);
    check_unary([](Interval a) { return qcert::tanh_derivative(a); }, dtanh, -0.5, 0.5);
}

TEST(IntervalArith, PointResultsStayTight) {
    // Outward rounding costs a few ulps, not more: the intervals stay useful.
    Rng r;
    for (int t = 0; t < 1000; ++t) {
        const double x = r.uniform(-20, 20);
        const Interval e = qcert::exp(Interval::point(x));
        EXPECT_LE(e.hi - e.lo, 16 * std::ldexp(std::numeric_limits<double>::epsilon(), std::ilogb(e.hi)));
        const Interval s = qcert::sigmoid(Interval::point(x));
        EXPECT_LE(s.hi - s.lo, 1e-15);
        const Interval p = Interval::point(x) * Interval::point(x + 1);
        EXPECT_LE(p.hi - p.lo, 4 * std::ldexp(std::numeric_limits<double>::epsilon(), std::ilogb(p.hi == 0 ? 1 : std::fabs(p.hi))));
    }
}

TEST(IntervalArith, SpecialValues) {
    const Interval inf{-Interval::kInf, Interval::kInf};
    const Interval sum = inf + Interval{1, 2};
    EXPECT_EQ(sum.lo, -Interval::kInf);
    EXPECT_EQ(sum.hi, Interval::kInf);
    const Interval nan_case = Interval{Interval::kInf, Interval::kInf} - Interval{Interval::kInf, Interval::kInf};
    EXPECT_EQ(nan_case.lo, -Interval::kInf);  // inf - inf: the whole line, never NaN
    EXPECT_EQ(nan_case.hi, Interval::kInf);
    const Interval zero_times_inf = Interval::point(0) * inf;
    EXPECT_LE(zero_times_inf.lo, 0);
    EXPECT_GE(zero_times_inf.hi, 0);
    EXPECT_FALSE(std::isnan(zero_times_inf.lo));
    const Interval div0 = Interval{1, 2} / Interval{-1, 1};
    EXPECT_EQ(div0.lo, -Interval::kInf);
    EXPECT_EQ(div0.hi, Interval::kInf);
    EXPECT_EQ(qcert::exp(Interval{-Interval::kInf, 0}).lo, 0.0);
    EXPECT_EQ(qcert::sigmoid(inf).lo, 0.0);
    EXPECT_EQ(qcert::sigmoid(inf).hi, 1.0);
    EXPECT_EQ(qcert::tanh(inf).lo, -1.0);
    EXPECT_EQ(qcert::log(Interval{-1, 0}).hi, Interval::kInf);
    EXPECT_EQ(qcert::sigmoid_derivative(inf).hi, 0.25);
    EXPECT_EQ(qcert::sigmoid_derivative(inf).lo, 0.0);
}

TEST(IntervalArith, ExactPiecewiseLinearMaps) {
    EXPECT_EQ(qcert::relu(Interval{-1, 2}).lo, 0.0);
    EXPECT_EQ(qcert::relu(Interval{-1, 2}).hi, 2.0);
    EXPECT_EQ(qcert::relu(Interval{-3, -1}).hi, 0.0);
    const Interval l = qcert::leaky_relu(Interval{-2, 3}, 0.5);
    EXPECT_LE(l.lo, -1.0);
    EXPECT_GE(l.lo, -1.0000001);
    EXPECT_EQ(l.hi, 3.0);
    const Interval c = qcert::clamp(Interval{-5, 0.5}, 0, 1);
    EXPECT_EQ(c.lo, 0.0);
    EXPECT_EQ(c.hi, 0.5);
    const Interval m = qcert::max(Interval{0, 1}, Interval{0.5, 0.7});
    EXPECT_EQ(m.lo, 0.5);
    EXPECT_EQ(m.hi, 1.0);
    Rng r;
    for (int t = 0; t < kTrials; ++t) {
        const Interval a = r.interval(), b = r.interval();
        const double x = r.inside(a), y = r.inside(b);
        EXPECT_TRUE(qcert::max(a, b).contains(std::max(x, y)));
        EXPECT_TRUE(qcert::min(a, b).contains(std::min(x, y)));
        EXPECT_TRUE(qcert::relu(a).contains(std::max(x, 0.0)));
    }
}

TEST(IntervalArith, ClampMatchesTheBlockActivation) {
    EXPECT_EQ(clamp(Interval{-2.0, 5.0}, 0.0, 3.0).lo, 0.0);
    EXPECT_EQ(clamp(Interval{-2.0, 5.0}, 0.0, 3.0).hi, 3.0);
    // An empty clamp range (lo > hi) is the constant hi, as min(max(x, lo), hi) gives.
    const Interval c = clamp(Interval{-2.0, 5.0}, 1.0, -1.0);
    EXPECT_EQ(c.lo, -1.0);
    EXPECT_EQ(c.hi, -1.0);
}
