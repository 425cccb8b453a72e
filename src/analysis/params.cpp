// qcert params: robustness to parameter perturbation, local and global, decided to
// a given precision by branch and bound (docs/PARAMS.md). Two searches share the
// time budget: first whether the class can change (a decision), then how far the
// confidence can move (an optimisation to `precision`).
#include "qcert/params.hpp"

#include "params_act_bounder.hpp"
#include "params_mpfr.hpp"
#include "params_objective.hpp"
#include "params_search.hpp"
#include "qcert/error.hpp"
#include "run/parallel.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace qcert {

using namespace params_detail;

const char* confidence_name(Confidence c) {
    switch (c) {
        case Confidence::Auto: return "auto";
        case Confidence::Softmax: return "softmax";
        case Confidence::Sigmoid: return "sigmoid";
        case Confidence::Margin: return "margin";
    }
    return "?";
}

Confidence parse_confidence(const std::string& s) {
    if (s == "auto") return Confidence::Auto;
    if (s == "softmax") return Confidence::Softmax;
    if (s == "sigmoid") return Confidence::Sigmoid;
    if (s == "margin") return Confidence::Margin;
    throw InputError("--confidence", "'" + s + "' is not one of softmax, sigmoid, margin");
}

namespace {

using Clock = std::chrono::steady_clock;

// The point nearest to theta in the set (theta itself unless saturation moved a
// parameter), with the input at the box's middle: a fallback witness.
std::vector<double> nominal_point(const Setup& s) {
    std::vector<double> p(s.vars.size());
    for (size_t i = 0; i < p.size(); ++i) {
        const Var& v = s.vars[i];
        if (v.is_input()) p[i] = s.root[i].mid();
        else {
            const Block& b = s.net->blocks[size_t(v.layer)];
            p[i] = v.col < 0 ? b.b[v.row] : b.W(v.row, v.col);
        }
        p[i] = std::clamp(p[i], s.inner_lo[i], s.inner_hi[i]);
    }
    return p;
}

// Starting points for local searches: theta (nearest member of the set) with the
// input at the centres of a grid over the input box (about 64 cells, at most 256).
std::vector<std::vector<double>> seed_points(const Setup& s) {
    const std::vector<double> base = nominal_point(s);
    std::vector<int> inputs;
    for (size_t i = 0; i < s.vars.size(); ++i)
        if (s.vars[i].is_input()) inputs.push_back(int(i));
    if (inputs.empty()) return {base};
    const int per = std::max(2, int(std::lround(std::pow(64.0, 1.0 / double(inputs.size())))));
    std::vector<std::vector<double>> seeds;
    std::vector<int> idx(inputs.size(), 0);
    for (;;) {
        std::vector<double> p = base;
        for (size_t d = 0; d < inputs.size(); ++d) {
            const Interval r = s.root[size_t(inputs[d])];
            p[size_t(inputs[d])] = r.lo + (r.hi - r.lo) * (idx[d] + 0.5) / per;
        }
        seeds.push_back(std::move(p));
        if (seeds.size() >= 256) break;
        size_t d = 0;
        while (d < idx.size() && ++idx[d] == per) idx[d++] = 0;
        if (d == idx.size()) break;
    }
    return seeds;
}

int64_t predicted(const Setup& s, const BlockNet& net, const std::vector<double>& x) {
    const std::vector<Interval> y = mp_logits(s, net, x);
    const int c = certain_class(y);
    if (c >= 0) return c;
    const Vec out = net.forward(Eigen::Map<const Vec>(x.data(), int64_t(x.size())));
    return out.size() == 1 ? (out[0] > 0 ? 1 : 0) : argmax(out);
}

ParamsWitness make_witness(const Setup& s, const std::vector<double>& point, int tag, double value) {
    ParamsWitness w;
    w.input = input_at(s, point);
    w.net = net_at(s, point);
    w.value = value;
    const std::optional<PointValue> pv = mp_objective(s, point, Tag(tag));
    const int j = pv ? pv->reference : std::max(s.local_class, 0);
    w.nominal_confidence = mp_confidence(s, *s.net, w.input, j).mid();
    w.confidence = mp_confidence(s, w.net, w.input, j).mid();
    w.nominal_class = predicted(s, *s.net, w.input);
    w.perturbed_class = predicted(s, w.net, w.input);
    return w;
}

}  // namespace

ParamsResult analyse_params(const BlockNet& net, const Perturbation& p, const ParamsQuery& q) {
    const Clock::time_point start = Clock::now();
    const Setup s = make_setup(net, p, q);
    const Clock::time_point deadline =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(q.timeout_s));
    ParamsResult r;
    r.confidence = s.conf;
    r.local = s.local;
    r.perturbed_parameters = s.param_vars;
    if (s.local) {
        r.nominal_class = s.local_class;
        r.nominal_confidence = s.nominal_confidence;
    }
    // Candidate points only where the bound is a tenth of the precision above the best.
    double skip = 0;
    // Two classes (or one output): branch on activations; otherwise on parameters.
    const bool act = ActBounder::applicable(s) && !q.branch_on_parameters;
    const auto make = [&s, &skip, act]() -> std::unique_ptr<Bounder> {
        if (act) return std::make_unique<ActBounder>(s, skip);
        return std::make_unique<ParamsBounder>(s, skip);
    };
    const Box root = act ? ActBounder::root(s) : s.root;
    SearchOptions opt;
    opt.threads = q.threads ? q.threads : worker_count();
    // Open boxes cost 16 bytes per variable: keep them under about 2 GB.
    const double dims = double(std::max<size_t>(1, root.size()));
    opt.max_open = std::min<int64_t>(q.max_open_nodes, std::max<int64_t>(1000, int64_t(2e9 / (16 * dims))));

    if (q.decide_class_change) {
        // A decision: is max -(margin of the nominal class) > 0? A quarter of the time.
        SearchOptions o = opt;
        o.target = 0;
        o.precision = 1e-12;  // a maximum pinned this close to 0 is left undecided
        o.deadline = start + (deadline - start) / 4;
        for (auto& p : seed_points(s)) o.seeds.emplace_back(std::move(p), ClassChange);
        const SearchResult cc = branch_and_bound({{root, ClassChange}}, make, o);
        r.nodes += cc.nodes;
        if (cc.lower > 0) {
            r.class_can_change = true;
            r.class_witness = make_witness(s, cc.witness, ClassChange, cc.lower);
        } else if (cc.upper < 0) {
            r.class_can_change = false;
        }
    }

    opt.deadline = deadline;
    opt.precision = q.precision;
    skip = q.precision / 10;
    for (const auto& p : seed_points(s)) {
        opt.seeds.emplace_back(p, Up);
        opt.seeds.emplace_back(p, Down);
    }
    const SearchResult cf = branch_and_bound({{root, Up}, {root, Down}}, make, opt);
    r.nodes += cf.nodes;
    r.stop_reason = cf.stop == "exhausted" ? "precision" : cf.stop;
    if (!cf.witness.empty() && cf.lower >= 0) {
        r.lower = cf.lower;
        r.witness = make_witness(s, cf.witness, cf.witness_tag, cf.lower);
    } else {
        // |c' - c| >= 0 everywhere, so 0 is a sound lower bound; the witness is the
        // member of the set nearest to theta.
        const std::vector<double> point = nominal_point(s);
        const std::optional<PointValue> up = mp_objective(s, point, Up), down = mp_objective(s, point, Down);
        const double vu = up ? up->value.lo : -kInf, vd = down ? down->value.lo : -kInf;
        r.lower = std::max({0.0, cf.lower, vu, vd});
        r.witness = make_witness(s, point, vu >= vd ? Up : Down, std::max(vu, vd));
    }
    r.upper = std::max(cf.upper, r.lower);
    if (cf.upper < r.lower - 1e-9)
        throw std::logic_error("params: the certified lower bound exceeds the upper bound (a soundness bug)");
    r.complete = r.upper - r.lower <= q.precision;
    if (r.complete) r.stop_reason = "precision";
    r.time_s = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
}

}  // namespace qcert
