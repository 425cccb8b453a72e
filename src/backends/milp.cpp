// The MILP method: encode (milp_encoding), solve (milp_cbc), re-check.
//
// A robustness query's unsafe set is one disjunct per competing class. By default
// each disjunct gets its own MILP in which only the two outputs it reads (and the
// neurons they depend on) are encoded; disjuncts that the bounds rule out are never
// solved, and the one closest to violation at the box centre is tried first.
#include "backends/milp.hpp"

#include "backends/milp_cbc.hpp"
#include "backends/milp_encoding.hpp"
#include "backends/milp_realise.hpp"
#include "backends/milp_tighten.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <fmt/format.h>
#include <numeric>
#include <stdexcept>

namespace qcert {

namespace {

using milp::i128;

class Milp : public Method {
public:
    explicit Milp(const MilpOptions& o) : options_(o) {}
    std::string name() const override {
        return options_.tighten_rounds > 0 ? "milp-obbt" : options_.relax_inputs ? "milp-relax" : "milp";
    }
    bool complete() const override { return true; }
    Outcome run(const IntQuery& q, const Budget& budget) override {
        // Symbolic bounds are far tighter than intervals past the first layer: fewer
        // unstable neurons, and big-M constants that make the LP relaxation useful.
        const auto t0 = std::chrono::steady_clock::now();
        const SymbolicBounds sb = symbolic_bounds(*q.net, q.lo, q.hi, &budget);
        Outcome res = run_milp(q, budget, sb, options_);
        res.method = name();
        res.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return res;
    }

private:
    MilpOptions options_;
};

// How far the centre's outputs are from meeting a disjunct (<= 0: met).
i128 distance(const std::vector<IntConstraint>& conj, const std::vector<int64_t>& y) {
    i128 worst = std::numeric_limits<int64_t>::min();
    for (const IntConstraint& c : conj) {
        i128 s = -i128(c.rhs);
        for (const auto& [i, a] : c.terms) s += i128(a) * y[i];
        worst = std::max(worst, s);
    }
    return worst;
}

// What one MILP said about a part of the unsafe set.
struct PartResult {
    enum Kind { Empty, Found, Unknown, Unsupported } kind = Unknown;
    std::vector<int64_t> x;  // Found: re-checked
    std::string reason;      // Unknown, Unsupported
};

// The model with the input variables continuous: every point of the exact model is one of it.
milp::Model with_real_inputs(const milp::NetworkEncoding& enc) {
    milp::Model m = enc.model;
    for (int v : enc.input_var)
        if (v >= 0) m.vars[size_t(v)].integer = false;
    return m;
}

// The first layer's outputs at a solution of the relaxation (integers up to tolerance), and
// its input (real).
void first_layer_at(const milp::NetworkEncoding& enc, const std::vector<double>& values, std::vector<milp::NeuronTarget>& targets,
                    std::vector<double>& input) {
    targets.clear();
    for (size_t i = 0; i < enc.out.front().size(); ++i) {
        const auto& out = enc.out.front()[i];
        if (!out || out->is_constant()) continue;
        double v = double(out->constant);
        for (const milp::Term& t : out->terms) v += double(t.coef) * values[size_t(t.var)];
        targets.push_back({int64_t(i), std::llround(v)});
    }
    input.resize(enc.input_var.size());
    for (size_t j = 0; j < input.size(); ++j)
        input[j] = enc.input_var[j] >= 0 ? values[size_t(enc.input_var[j])] : double(enc.input_value[j]);
}

// The relaxation with every first-layer rounding remainder kept an eighth of its band away
// from the band's ends: room for rounding the inputs of a solution. A restriction of the
// relaxation, not a relaxation: it only serves to find counterexamples.
milp::Model with_interior_first_layer(const milp::NetworkEncoding& enc) {
    milp::Model m = with_real_inputs(enc);
    for (const auto& rem : enc.remainder.front()) {
        if (!rem) continue;
        const i128 margin = (rem->hi - rem->lo + 1) / 8;
        if (margin > 0) m.add_row(rem->s, rem->lo + margin, rem->hi - margin);
    }
    return m;
}

// At most `seconds` of the budget.
Budget slice(const Budget& budget, double seconds) {
    using Clock = std::chrono::steady_clock;
    Budget b = budget;  // (Budget::seconds would read a slice of 0 as no limit)
    b.deadline = std::min(budget.deadline,
                          Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
    return b;
}

// An integer input with the first-layer outputs of a relaxation's solution, re-checked.
std::optional<std::vector<int64_t>> realise(const IntQuery& q, const milp::NetworkEncoding& enc, const std::vector<double>& values,
                                            const Budget& budget) {
    std::vector<milp::NeuronTarget> targets;
    std::vector<double> start;
    first_layer_at(enc, values, targets, start);
    std::optional<std::vector<int64_t>> x = milp::realise_first_layer(*q.net, q.lo, q.hi, targets, start, budget);
    if (x && !confirms(q, *x)) x.reset();
    return x;
}

// MilpOptions::relax_inputs: the relaxation, then the first layer of its solution realised
// by an integer input. Unknown when neither decides (the exact model comes next). The
// relaxation's "infeasible" is trusted as far as the exact model's (same numbers): every
// integer solution of the exact model is one of it, and milp_cbc.cpp's argument is about
// such integer points.
PartResult solve_relaxed(const IntQuery& q, const milp::NetworkEncoding& enc, const Budget& budget, milp::SolveOptions so,
                         const std::vector<int64_t>& candidate, bool exact) {
    PartResult out;
    const milp::SolveResult r = milp::solve_with_cbc(with_real_inputs(enc), budget, so);
    if (r.status == milp::SolveStatus::Candidate) {
        out.kind = PartResult::Found;
        out.x = candidate;
        return out;
    }
    if (r.status == milp::SolveStatus::Infeasible && exact) {  // a relaxation: the exact model is empty too
        out.kind = PartResult::Empty;
        return out;
    }
    out.reason = r.status == milp::SolveStatus::Stopped ? "timeout" : "relaxation undecided";
    if (r.status != milp::SolveStatus::Feasible) return out;
    std::optional<std::vector<int64_t>> x = realise(q, enc, r.values, budget);
    if (!x) {  // the solution sits at band ends where no integer input is: one from the interior
        const milp::SolveResult i = milp::solve_with_cbc(with_interior_first_layer(enc), slice(budget, budget.seconds_left() / 2), so);
        if (i.status == milp::SolveStatus::Candidate) x = candidate;
        else if (i.status == milp::SolveStatus::Feasible) x = realise(q, enc, i.values, budget);
    }
    if (x) {
        out.kind = PartResult::Found;
        out.x = std::move(*x);
    }
    return out;
}

PartResult solve_part(const IntQuery& q, milp::NetworkEncoding enc, const Budget& budget, const MilpOptions& o) {
    PartResult out;
    const bool exact = milp::infeasible_trusted(enc.model);  // CBC's "infeasible" is a proof (milp_cbc.cpp)
    milp::SolveOptions so;
    so.full_solver = o.full_solver;
    std::vector<int64_t> candidate;
    // Node LP points with their inputs rounded, run on the exact network.
    so.candidate = [&](const std::vector<double>& values) {
        std::vector<int64_t> x = enc.input_from(values);
        if (!confirms(q, x)) return false;
        candidate = std::move(x);
        return true;
    };
    if (o.relax_inputs) {
        PartResult p = solve_relaxed(q, enc, budget, so, candidate, exact);
        if (p.kind != PartResult::Unknown || budget.expired()) return p;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
        const milp::SolveResult r = milp::solve_with_cbc(enc.model, budget, so);
        switch (r.status) {
            case milp::SolveStatus::Infeasible:
                if (exact) out.kind = PartResult::Empty;
                else out.reason = "milp model numbers too large to trust an infeasible answer (limits in milp_cbc.hpp)";
                return out;
            case milp::SolveStatus::Stopped:
                out.reason = "timeout";
                return out;
            case milp::SolveStatus::Failed:
                out.reason = "milp solver failed: " + r.detail;
                return out;
            case milp::SolveStatus::Candidate:
                out.kind = PartResult::Found;
                out.x = std::move(candidate);
                return out;
            case milp::SolveStatus::Feasible: {
                std::vector<int64_t> x = enc.input_from(r.values);
                if (confirms(q, x)) {
                    out.kind = PartResult::Found;
                    out.x = std::move(x);
                    return out;
                }
                // Tolerances let a slightly fractional point through: once more, stricter.
                so.integer_tolerance = 1e-12;
                so.primal_tolerance = 1e-10;
                out.reason = "solver solution did not re-check";
                break;
            }
        }
    }
    return out;
}

// The query's box centre, for ordering disjuncts.
std::vector<int64_t> centre(const IntQuery& q) {
    std::vector<int64_t> c(q.lo.size());
    for (size_t i = 0; i < c.size(); ++i) c[i] = q.lo[i] + (q.hi[i] - q.lo[i]) / 2;
    return c;
}

// One disjunct: its MILP over the bounds B for a first slice of the budget; when
// that runs out, the bounds are narrowed to the inputs that meet the disjunct
// (milp_tighten.hpp) and the MILP is solved again on them with the rest. The
// narrowing costs a few hundred LPs, too much for the many disjuncts the first
// try settles at once (on the AAAI queries it was slower overall, bench/RESULTS.md).
PartResult solve_disjunct(const IntQuery& q, const std::vector<IntConstraint>& conj, const IntBounds& B,
                          const Budget& budget, const MilpOptions& o) {
    const std::vector<bool> wanted = milp::outputs_read({conj}, q.net->output_size());
    auto attempt = [&](const IntBounds& bounds, const std::vector<std::vector<bool>>* enforced, const Budget& b) {
        PartResult p;
        milp::NetworkEncoding enc = milp::encode_network(q, bounds, wanted, enforced);
        if (!enc.unsupported.empty()) {
            p.kind = PartResult::Unsupported;
            p.reason = enc.unsupported;
            return p;
        }
        if (enc.empty || !milp::add_conjunction(enc, conj)) {  // the bounds rule this disjunct out
            p.kind = PartResult::Empty;
            return p;
        }
        // Guidance only: the search stops at the first solution or candidate.
        enc.model.objective = milp::steering_objective(enc, conj);
        return solve_part(q, std::move(enc), b, o);
    };
    if (o.tighten_rounds <= 0) return attempt(B, nullptr, budget);
    using Clock = std::chrono::steady_clock;
    Budget first = budget;  // (Budget::seconds would read a slice of 0 as no limit)
    first.deadline = std::min(budget.deadline,
                              Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.first_slice_s)));
    PartResult p = attempt(B, nullptr, first);
    if (p.kind != PartResult::Unknown || p.reason != "timeout" || budget.expired()) return p;
    IntBounds narrowed = B;
    const milp::Tightening t = milp::tighten_for_disjunct(q, narrowed, conj, wanted, budget, o.tighten_rounds);
    if (t.empty) {
        p.kind = PartResult::Empty;
        return p;
    }
    return attempt(narrowed, &t.narrowed_mask, budget);
}

// `sb` (optional) rules out disjuncts whose constraints its back-substituted
// bounds refute: cheaper than any MILP, and tighter than the per-output bounds in B.
Outcome decide(const IntQuery& q, const Budget& budget, const IntBounds& B, const SymbolicBounds* sb, const MilpOptions& o) {
    Outcome res;
    const int64_t outs = q.net->output_size();
    if (q.unsafe.empty()) { res.verdict = Verdict::Holds; return res; }
    for (const auto& conj : q.unsafe)
        if (conj.empty() && confirms(q, q.lo)) {  // the whole box is unsafe
            res.verdict = Verdict::Violated;
            res.counterexample = q.lo;
            return res;
        }

    std::vector<std::string> unknown;
    auto conclude = [&](const PartResult& p) {
        if (p.kind == PartResult::Found) {
            res.verdict = Verdict::Violated;
            res.counterexample = p.x;
            return true;
        }
        if (p.kind == PartResult::Unknown) unknown.push_back(p.reason);
        return false;
    };

    if (!o.per_disjunct) {
        milp::NetworkEncoding enc = milp::encode_network(q, B, milp::outputs_read(q.unsafe, outs));
        if (!enc.unsupported.empty()) { res.reason = enc.unsupported; return res; }
        if (milp::add_disjunction(enc, q.unsafe) && conclude(solve_part(q, std::move(enc), budget, o))) return res;
    } else {
        const std::vector<int64_t> y = q.net->eval(centre(q)).out;
        std::vector<size_t> order(q.unsafe.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return distance(q.unsafe[a], y) < distance(q.unsafe[b], y); });
        for (size_t k : order) {
            const auto& conj = q.unsafe[k];
            if (sb && std::any_of(conj.begin(), conj.end(), [&](const IntConstraint& c) { return infeasible(*sb, c); })) continue;
            const PartResult p = solve_disjunct(q, conj, B, budget, o);
            if (p.kind == PartResult::Unsupported) { res.reason = p.reason; return res; }
            if (conclude(p)) return res;
            if (!unknown.empty() && unknown.back() == "timeout") break;
        }
    }
    if (unknown.empty()) res.verdict = Verdict::Holds;
    else res.reason = unknown.back();
    return res;
}

}  // namespace

std::unique_ptr<Method> make_milp_method(const MilpOptions& options) { return std::make_unique<Milp>(options); }

namespace {

Outcome run_timed(const std::function<Outcome()>& body) {
    const auto t0 = std::chrono::steady_clock::now();
    Outcome res;
    try {
        res = body();
    } catch (const std::overflow_error& e) {
        res = Outcome{};
        res.reason = std::string("numbers too large for milp: ") + e.what();
    }
    if (res.verdict == Verdict::Unknown && res.reason.empty()) res.reason = "unknown";
    res.method = "milp";
    res.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace

Outcome run_milp(const IntQuery& q, const Budget& budget, const IntBounds& bounds, const MilpOptions& options) {
    return run_timed([&] { return decide(q, budget, bounds, nullptr, options); });
}

Outcome run_milp(const IntQuery& q, const Budget& budget, const SymbolicBounds& sb, const MilpOptions& options) {
    return run_timed([&] { return decide(q, budget, sb.bounds, &sb, options); });
}

}  // namespace qcert
