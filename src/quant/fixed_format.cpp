// Fixed-point formats: range, parsing ("s8.6" = signed, 8 bits, 6 fractional) and quantization.
#include "qcert/error.hpp"
#include "qcert/quant.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

double FixedFormat::step() const { return std::ldexp(1.0, -frac); }

std::string FixedFormat::str() const { return fmt::format("{}{}.{}", is_signed ? 's' : 'u', bits, frac); }

void FixedFormat::check(const std::string& where) const {
    if (bits < 1 || bits > 32 || (is_signed && bits < 2))
        throw InputError(where, fmt::format("format {}: bits must be {}..32", str(), is_signed ? 2 : 1));
    if (frac < -32 || frac > 64) throw InputError(where, fmt::format("format {}: fractional bits out of range", str()));
}

FixedFormat parse_fixed_format(const std::string& s) {
    // [s|u]BITS.FRAC
    FixedFormat f;
    if (s.size() < 4 || (s[0] != 's' && s[0] != 'u') || s.find('.') == std::string::npos)
        throw InputError("", "bad fixed-point format '" + s + "' (expected e.g. s8.6 or u8.8)");
    f.is_signed = s[0] == 's';
    const size_t dot = s.find('.');
    try {
        size_t used = 0;
        f.bits = std::stoi(s.substr(1, dot - 1), &used);
        if (used != dot - 1) throw std::invalid_argument(s);
        f.frac = std::stoi(s.substr(dot + 1), &used);
        if (used != s.size() - dot - 1) throw std::invalid_argument(s);
    } catch (const std::logic_error&) {
        throw InputError("", "bad fixed-point format '" + s + "' (expected e.g. s8.6 or u8.8)");
    }
    f.check("");
    return f;
}

int64_t quantize_fixed(double x, const FixedFormat& f, Rounding r) {
    double scaled = std::ldexp(x, f.frac);
    if (std::isnan(scaled)) throw InputError("", "cannot quantize NaN");
    scaled = std::clamp(scaled, -0x1p61, 0x1p61);
    return std::clamp(round_double(scaled, r), f.min_int(), f.max_int());
}

}  // namespace qcert
