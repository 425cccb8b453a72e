// Output properties, their exact integer form, and queries.
#include "qcert/property.hpp"

#include "qcert/error.hpp"

#include <cmath>
#include <fmt/format.h>

namespace qcert {

bool LinearConstraint::satisfied(const Vec& y) const {
    long double s = 0;
    for (const auto& [i, c] : terms) s += (long double)c * y[i];
    return strict ? s < rhs : s <= rhs;
}

bool OutputProperty::is_unsafe(const Vec& y) const {
    for (const auto& conj : unsafe) {
        bool all = true;
        for (const LinearConstraint& c : conj) all = all && c.satisfied(y);
        if (all) return true;
    }
    return false;
}

OutputProperty OutputProperty::misclassified(int64_t outputs, int64_t label) {
    OutputProperty p;
    for (int64_t j = 0; j < outputs; ++j) {
        if (j == label) continue;
        LinearConstraint c;  // y_label - y_j < 0 (j > label) or <= 0 (j < label)
        c.terms = {{label, 1.0}, {j, -1.0}};
        c.strict = j > label;
        p.unsafe.push_back({c});
    }
    return p;
}

bool IntConstraint::satisfied(const std::vector<int64_t>& q) const {
    __int128 s = 0;
    for (const auto& [i, a] : terms) s += __int128(a) * q[i];
    return s <= rhs;
}

bool is_unsafe(const IntUnsafe& u, const std::vector<int64_t>& q) {
    for (const auto& conj : u) {
        bool all = true;
        for (const IntConstraint& c : conj) all = all && c.satisfied(q);
        if (all) return true;
    }
    return false;
}

namespace {

using i128 = __int128;

// x = m * 2^e exactly, m odd (or 0).
void dyadic(double x, i128& m, int& e) {
    if (!std::isfinite(x)) throw InputError("property", "a constraint coefficient is not finite");
    if (x == 0) { m = 0; e = 0; return; }
    int ex = 0;
    const double f = std::frexp(x, &ex);
    int64_t mm = int64_t(std::ldexp(f, 53));
    e = ex - 53;
    while ((mm & 1) == 0) { mm >>= 1; ++e; }
    m = mm;
}

i128 shl(i128 v, int s) {
    if (s > 60 || (v != 0 && (v > (i128(1) << 100) || v < -(i128(1) << 100))))
        throw InputError("property", "constraint coefficients span too many binary orders to be exact in integers");
    return v * (i128(1) << s);
}

}  // namespace

IntUnsafe to_integer(const OutputProperty& p, const IntNetwork& net) {
    const IntLayer& out = net.layers.back();
    i128 sm; int se;
    dyadic(out.out_scale, sm, se);
    IntUnsafe result;
    for (const auto& conj : p.unsafe) {
        std::vector<IntConstraint> ic;
        for (const LinearConstraint& c : conj) {
            // sum c_i s q_i <= rhs + sum c_i s z: every term is m * 2^e; scale all to the smallest e.
            std::vector<std::pair<int64_t, std::pair<i128, int>>> a;
            std::vector<std::pair<i128, int>> rhs_parts;
            i128 rm; int re;
            dyadic(c.rhs, rm, re);
            rhs_parts.push_back({rm, re});
            int emin = re;
            for (const auto& [i, coef] : c.terms) {
                if (i < 0 || i >= net.output_size())
                    throw InputError("property", fmt::format("output index {} out of range (the network has {})", i, net.output_size()));
                i128 cm; int ce;
                dyadic(coef, cm, ce);
                a.push_back({i, {cm * sm, ce + se}});
                rhs_parts.push_back({cm * sm * out.out_zero, ce + se});
                emin = std::min(emin, ce + se);
            }
            // Left side exact at 2^emin; the right side is floored there (ceil - 1 when strict).
            IntConstraint k;
            for (const auto& [i, me] : a) {
                const i128 v = shl(me.first, me.second - emin);
                if (v > INT64_MAX || v < INT64_MIN) throw InputError("property", "a coefficient does not fit int64");
                if (v != 0) k.terms.push_back({i, int64_t(v)});
            }
            // rhs at 2^emin: sum of parts (all exponents >= emin, exact).
            i128 r = 0;
            for (const auto& [m, e] : rhs_parts) r += shl(m, e - emin);
            // r is exact at scale 2^emin, so the bound is an integer: <= r, or <= r - 1 when strict.
            if (c.strict) r -= 1;
            if (r > INT64_MAX || r < INT64_MIN) throw InputError("property", "a bound does not fit int64");
            k.rhs = int64_t(r);
            ic.push_back(k);
        }
        result.push_back(ic);
    }
    return result;
}

IntQuery IntQuery::linf_ball(const IntNetwork& net, const std::vector<int64_t>& x, int64_t eps, IntUnsafe unsafe) {
    if (eps < 0) throw InputError("--eps", fmt::format("must be >= 0, got {}", eps));
    IntQuery q;
    q.net = &net;
    q.unsafe = std::move(unsafe);
    for (int64_t v : x) {
        q.lo.push_back(std::max(net.input.lo, v - eps));
        q.hi.push_back(std::min(net.input.hi, v + eps));
    }
    return q;
}

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Holds: return "holds";
        case Verdict::Violated: return "violated";
        case Verdict::Unknown: return "unknown";
        case Verdict::Misclassified: return "misclassified";
    }
    return "?";
}

bool Budget::expired() const {
    return (cancel && cancel->load(std::memory_order_relaxed)) || std::chrono::steady_clock::now() >= deadline;
}

double Budget::seconds_left() const {
    if (deadline == std::chrono::steady_clock::time_point::max()) return 1e18;
    return std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
}

Budget Budget::seconds(double s, const std::atomic<bool>* cancel) {
    Budget b;
    b.cancel = cancel;
    if (s > 0 && s < 1e12)
        b.deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(s * 1e6));
    return b;
}

bool confirms(const IntQuery& q, const std::vector<int64_t>& x) {
    if (x.size() != q.lo.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
        if (x[i] < q.lo[i] || x[i] > q.hi[i]) return false;
    return is_unsafe(q.unsafe, q.net->eval(x).out);
}

}  // namespace qcert
