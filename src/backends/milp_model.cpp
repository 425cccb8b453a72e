// The solver-neutral integer linear model.
#include "backends/milp_model.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace qcert::milp {

namespace {

int64_t to_int64(i128 v, const char* what) {
    if (v < std::numeric_limits<int64_t>::min() || v > std::numeric_limits<int64_t>::max())
        throw std::overflow_error(std::string("milp: ") + what + " does not fit int64");
    return int64_t(v);
}

i128 magnitude(i128 v) { return v < 0 ? -v : v; }

}  // namespace

void Affine::add_scaled(const Affine& other, i128 k) {
    if (k == 0) return;
    constant += other.constant * k;
    for (const Term& t : other.terms) terms.push_back({t.var, to_int64(i128(t.coef) * k, "a coefficient")});
}

int Model::add_var(int64_t lo, int64_t hi, bool integer, int priority) {
    vars.push_back({lo, hi, integer, priority});
    return int(vars.size()) - 1;
}

bool Model::add_row(const Affine& e, std::optional<i128> lo, std::optional<i128> hi) {
    std::map<int, i128> merged;
    for (const Term& t : e.terms) merged[t.var] += t.coef;
    Row r;
    for (const auto& [v, c] : merged)
        if (c != 0) r.terms.push_back({v, to_int64(c, "a coefficient")});
    if (r.terms.empty()) return (!lo || e.constant >= *lo) && (!hi || e.constant <= *hi);
    if (lo) r.lo = to_int64(*lo - e.constant, "a row bound");
    if (hi) r.hi = to_int64(*hi - e.constant, "a row bound");
    rows.push_back(std::move(r));
    return true;
}

i128 Model::max_magnitude() const {
    i128 m = 0;
    for (const Var& v : vars) m = std::max({m, magnitude(v.lo), magnitude(v.hi)});
    for (const Row& r : rows) {
        for (const Term& t : r.terms) m = std::max(m, magnitude(t.coef));
        if (r.lo != kNoLower) m = std::max(m, magnitude(r.lo));
        if (r.hi != kNoUpper) m = std::max(m, magnitude(r.hi));
    }
    return m;
}

i128 Model::max_activity() const {
    i128 most = 0;
    for (const Row& r : rows) {
        i128 a = 0;
        for (const Term& t : r.terms) {
            const Var& v = vars[size_t(t.var)];
            // Each product is below 2^126; saturating at 2^100 keeps the sum in i128.
            a = std::min(a + magnitude(t.coef) * std::max(magnitude(v.lo), magnitude(v.hi)), i128(1) << 100);
        }
        most = std::max(most, a);
    }
    return most;
}

int Model::integer_count() const {
    return int(std::count_if(vars.begin(), vars.end(), [](const Var& v) { return v.integer; }));
}

void affine_range(const Model& m, const Affine& e, i128& lo, i128& hi) {
    lo = hi = e.constant;
    for (const Term& t : e.terms) {
        const Var& v = m.vars[t.var];
        const i128 a = i128(t.coef) * v.lo, b = i128(t.coef) * v.hi;
        lo += std::min(a, b);
        hi += std::max(a, b);
    }
}

}  // namespace qcert::milp
