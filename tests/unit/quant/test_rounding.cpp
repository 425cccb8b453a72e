#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <random>

using namespace qcert;

namespace {

// Reference: the mode applied to the exact value n/d given as a long double
// (exact for the small n and d used here) with the tie decided separately.
int64_t reference(int64_t n, int64_t d, Rounding r) {
    const long double v = (long double)n / (long double)d;
    const long double fl = std::floor(v);
    const bool tie = (long double)(2 * n) == (2 * fl + 1) * d;
    switch (r) {
        case Rounding::Floor: return int64_t(fl);
        case Rounding::Ceil: return int64_t(std::ceil(v));
        case Rounding::TowardZero: return int64_t(std::trunc(v));
        case Rounding::HalfUp: return tie ? int64_t(fl) + 1 : int64_t(std::llround(v));
        case Rounding::HalfDown: return tie ? int64_t(fl) : int64_t(std::llround(v));
        case Rounding::HalfAway: return int64_t(std::llround(v));  // llround is half away
        case Rounding::HalfEven: return tie ? (int64_t(fl) % 2 == 0 ? int64_t(fl) : int64_t(fl) + 1) : int64_t(std::llround(v));
    }
    return 0;
}

const Rounding kModes[] = {Rounding::HalfUp, Rounding::HalfAway, Rounding::HalfEven, Rounding::HalfDown,
                           Rounding::Floor,  Rounding::Ceil,     Rounding::TowardZero};

}  // namespace

TEST(Rounding, RoundDivMatchesReferenceOnAllSmallFractions) {
    for (Rounding r : kModes)
        for (int64_t d = 1; d <= 16; ++d)
            for (int64_t n = -70; n <= 70; ++n) ASSERT_EQ(int64_t(round_div(n, d, r)), reference(n, d, r)) << n << "/" << d << " " << rounding_name(r);
}

TEST(Rounding, NegativeDenominator) {
    EXPECT_EQ(int64_t(round_div(5, -2, Rounding::HalfEven)), -2);
    EXPECT_EQ(int64_t(round_div(5, -2, Rounding::Floor)), -3);
}

TEST(Rounding, KnownTies) {
    EXPECT_EQ(round_double(2.5, Rounding::HalfEven), 2);
    EXPECT_EQ(round_double(-2.5, Rounding::HalfEven), -2);
    EXPECT_EQ(round_double(-2.5, Rounding::HalfAway), -3);
    EXPECT_EQ(round_double(-2.5, Rounding::HalfUp), -2);
    EXPECT_EQ(round_double(0.49999999999999994, Rounding::HalfUp), 0);  // floor(x + 0.5) would give 1
    EXPECT_EQ(round_double(-1e-300, Rounding::Floor), -1);
    EXPECT_EQ(round_double(-1e-300, Rounding::HalfEven), 0);
    EXPECT_EQ(round_double(1e-300, Rounding::Ceil), 1);
}

TEST(Rounding, RoundDoubleMatchesRoundDivOnDyadics) {
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int64_t> num(-100000, 100000);
    for (int t = 0; t < 20000; ++t) {
        const int64_t n = num(rng);
        const int e = int(rng() % 12);
        for (Rounding r : kModes) ASSERT_EQ(round_double(std::ldexp(double(n), -e), r), int64_t(round_div(n, int64_t(1) << e, r)));
    }
}

// Every magnitude: fractions down to 2^-120 (the fast path below 2^52 and the exact one), ties,
// and integers up to 2^61.
TEST(Rounding, RoundDoubleMatchesRoundDivAtEveryScale) {
    std::mt19937_64 rng(5);
    for (int t = 0; t < 50000; ++t) {
        const int64_t n = int64_t(rng() >> (11 + rng() % 50)) * (rng() % 2 ? 1 : -1);  // |n| < 2^53
        const int e = int(rng() % 130) - 8;
        const double x = std::ldexp(double(n), -e);  // exact
        for (Rounding r : kModes) {
            const int64_t expected = e < 0 ? n * (int64_t(1) << -e) : int64_t(round_div(n, __int128(1) << e, r));
            ASSERT_EQ(round_double(x, r), expected) << n << " 2^-" << e;
        }
    }
}

TEST(Rounding, ParseNames) {
    for (Rounding r : kModes) EXPECT_EQ(parse_rounding(rounding_name(r)), r);
    EXPECT_THROW(parse_rounding("banker"), InputError);
}

TEST(Fp16, KnownValues) {
    EXPECT_EQ(to_fp16(1.0), 1.0);
    EXPECT_EQ(to_fp16(65504.0), 65504.0);
    EXPECT_TRUE(std::isinf(to_fp16(65520.0)));
    EXPECT_EQ(to_fp16(65519.0), 65504.0);
    EXPECT_EQ(to_fp16(1.0 + std::ldexp(1.0, -11)), 1.0);                       // tie to even
    EXPECT_EQ(to_fp16(1.0 + 3 * std::ldexp(1.0, -11)), 1.0 + std::ldexp(1.0, -9));  // tie to even, upward
    EXPECT_EQ(to_fp16(std::ldexp(1.0, -24)), std::ldexp(1.0, -24));             // smallest subnormal
    EXPECT_EQ(to_fp16(std::ldexp(1.0, -26)), 0.0);
    EXPECT_EQ(to_fp16(0.1), 0.0999755859375);
    EXPECT_EQ(to_fp16(-0.1), -0.0999755859375);
}

TEST(Fp16, IsIdempotentAndMonotone) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> U(-100, 100);
    for (int t = 0; t < 10000; ++t) {
        const double a = U(rng), b = U(rng);
        EXPECT_EQ(to_fp16(to_fp16(a)), to_fp16(a));
        if (a <= b) {
            EXPECT_LE(to_fp16(a), to_fp16(b));
        }
        EXPECT_LE(std::fabs(to_fp16(a) - a), std::ldexp(std::fabs(a), -11));
    }
}

TEST(FixedFormat, ParseAndRange) {
    const FixedFormat f = parse_fixed_format("s8.6");
    EXPECT_TRUE(f.is_signed);
    EXPECT_EQ(f.min_int(), -128);
    EXPECT_EQ(f.max_int(), 127);
    EXPECT_DOUBLE_EQ(f.max_value(), 127.0 / 64);
    EXPECT_EQ(parse_fixed_format("u8.8").max_int(), 255);
    EXPECT_THROW(parse_fixed_format("x8.1"), InputError);
    EXPECT_THROW(parse_fixed_format("s40.1"), InputError);
    EXPECT_THROW(parse_fixed_format("s8"), InputError);
    EXPECT_EQ(quantize_fixed(0.3, f, Rounding::HalfEven), 19);  // 0.3 * 64 = 19.2
    EXPECT_EQ(quantize_fixed(5.0, f, Rounding::HalfEven), 127); // saturates
    EXPECT_EQ(quantize_fixed(-5.0, f, Rounding::HalfEven), -128);
}
