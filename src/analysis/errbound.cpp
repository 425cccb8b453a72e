// qcert bound: sound upper bounds on max |g - f| over a box, by differential linear
// bounds and input splitting, with the counterexample search for the lower bound.
//
// Branch and bound: the box is split until every leaf's sound bound is at most the
// target (eps, or the best difference found plus the tolerance), a witness beats eps,
// or time runs out. The leaves always cover the region, so the maximum of their
// bounds is a sound upper bound whenever the search stops. Two threads share a
// best-first queue (largest bound first).
#include "analysis/errbound_anneal.hpp"
#include "analysis/errbound_milp.hpp"
#include "analysis/errbound_sdp.hpp"
#include "analysis/errbound_pair_milp.hpp"
#include "analysis/errbound_phase.hpp"
#include "analysis/errbound_search.hpp"
#include "qcert/errbound.hpp"
#include "qcert/error.hpp"
#include "bounds/outward.hpp"
#include "run/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <fmt/format.h>
#include <mutex>
#include <queue>
#include <thread>

namespace qcert {

const char* bound_verdict_name(BoundVerdict v) {
    switch (v) {
        case BoundVerdict::Holds: return "holds";
        case BoundVerdict::Violated: return "violated";
        case BoundVerdict::Unknown: return "unknown";
        case BoundVerdict::None: return "none";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
using errbound::BestInputs;

struct Node {
    std::vector<double> lo, hi;
    double upper = 0;                 // over the chosen outputs
    std::vector<double> per_output;   // aligned with the outputs
    int64_t split_dim = -1;           // the input to split; -1: a single point
    std::optional<errbound::PhaseSplit> phase;  // else the neuron to split (phase splitting)
    std::shared_ptr<const PreActivationRanges> ranges;  // the box's, for its children (diff_bound's `within`)
    bool operator<(const Node& o) const { return upper < o.upper; }  // max-heap on upper
};

// Pseudo-costs, as in MILP branch and bound: per input, the mean gain of the splits made along
// it so far, a gain being log(parent bound / child bound) (0 when the child is no better). The
// smear of an input (its coefficient times its width in the worst bound) says how much the bound
// varies along it, not how much splitting it removes of the relaxations' slack; weighting it by
// the gains measured so far cut the ACAS Xu splits by 40 % (bench/RESULTS.md). Thread-safe.
class SplitGains {
public:
    explicit SplitGains(size_t inputs) : sum_(inputs, 0.0), count_(inputs, 0) {}

    void record(size_t input, double parent_bound, double child_bound) {
        if (!(parent_bound > 0)) return;
        // A child closed at 0 counts as a thousandfold gain.
        const double gain = std::log(parent_bound / std::max(child_bound, 1e-3 * parent_bound));
        std::lock_guard<std::mutex> g(mu_);
        sum_[input] += std::max(gain, 0.0);
        ++count_[input];
    }

    // Per input its mean gain; an input not split yet has the mean of the others (1 before any split).
    std::vector<double> means() const {
        std::lock_guard<std::mutex> g(mu_);
        std::vector<double> m(sum_.size(), -1.0);
        double total = 0;
        int64_t seen = 0;
        for (size_t j = 0; j < m.size(); ++j)
            if (count_[j] > 0) m[j] = sum_[j] / double(count_[j]), total += m[j], ++seen;
        for (double& v : m)
            if (v < 0) v = seen ? total / double(seen) : 1.0;
        return m;
    }

private:
    mutable std::mutex mu_;
    std::vector<double> sum_;
    std::vector<int64_t> count_;
};

// Regions with more inputs than this are split by neuron phases, not by inputs (split "auto").
constexpr size_t kMaxInputSplitDims = 16;
constexpr size_t kNoInput = size_t(-1);

class Solver {
public:
    Solver(const ErrPair& p, const std::vector<int64_t>& outputs, const ErrBoundOptions& o, DiffMode mode)
        : p_(p), outputs_(outputs), o_(o), mode_(mode), best_(outputs), start_(Clock::now()), gains_(size_t(p.input_size())) {}

    // The region's widths, against which the split choice measures how narrow a box has become,
    // and what to split: neurons (phase splitting) on regions of more than kMaxInputSplitDims
    // inputs, whose box splits barely move the bound, or when asked; else inputs.
    void set_region(const std::vector<double>& lo, const std::vector<double>& hi) {
        root_width_.resize(lo.size());
        size_t free = 0;
        for (size_t j = 0; j < lo.size(); ++j) root_width_[j] = std::max(hi[j] - lo[j], 1e-300), free += hi[j] > lo[j];
        split_neurons_ = mode_ == DiffMode::Differential && (o_.split == "neurons" || (o_.split == "auto" && free > kMaxInputSplitDims));
    }

    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    bool out_of_time() const { return elapsed() >= o_.timeout_s; }
    BestInputs& best() { return best_; }

    // The sound bound of one box, candidate inputs offered to the search, the split choice.
    // With bound_out: the box's DiffBound too. `within`: the parent's ranges (a split's child).
    Node evaluate(std::vector<double> lo, std::vector<double> hi, DiffBound* bound_out = nullptr,
                  const PreActivationRanges* within = nullptr) {
        Node n;
        DiffBound local;
        DiffBound& db = bound_out ? *bound_out : local;
        db = diff_bound(p_, lo, hi, mode_, outputs_, within);
        if (within && errbound::empty_ranges(db)) {  // a phase split's side that no input reaches
            n.per_output.assign(outputs_.size(), 0.0);
            n.lo = std::move(lo), n.hi = std::move(hi);
            return n;
        }
        // The ranges for the box's children: moved out of a local bound (only its outputs' fields are read below).
        PreActivationRanges& ranges = db;
        n.ranges = bound_out ? std::make_shared<const PreActivationRanges>(ranges)
                             : std::make_shared<const PreActivationRanges>(std::move(ranges));
        size_t worst = 0;
        bool worst_hi = true;
        for (size_t k = 0; k < outputs_.size(); ++k) {
            const size_t o = size_t(outputs_[k]);
            const double v = std::max(db.hi[o], -db.lo[o]);
            n.per_output.push_back(v);
            if (v > n.upper || k == 0) {
                n.upper = v;
                worst = k;
                worst_hi = db.hi[o] >= -db.lo[o];
            }
        }
        const size_t wo = size_t(outputs_[worst]);
        if (is_point(lo, hi) && p_.integer_region()) point_bound(lo, db, n);
        best_.offer(p_, worst_hi ? db.argmax[wo] : db.argmin[wo]);
        best_.offer(p_, centre(lo, hi));
        // The split guide: the sensitivities of every output still above the target (each on its
        // worse side), summed, so that with several outputs one split serves all that are open.
        std::vector<double> sens = worst_hi ? db.sensitivity_hi[wo] : db.sensitivity_lo[wo];
        if (outputs_.size() > 1) {
            const double t = threshold();
            std::vector<double> sum(lo.size(), 0.0);
            bool any = false;
            for (size_t k = 0; k < outputs_.size(); ++k) {
                if (!(n.per_output[k] > t)) continue;
                const size_t o = size_t(outputs_[k]);
                const std::vector<double>& s = db.hi[o] >= -db.lo[o] ? db.sensitivity_hi[o] : db.sensitivity_lo[o];
                for (size_t j = 0; j < sum.size(); ++j) sum[j] += s[j];
                any = true;
            }
            if (any) sens = std::move(sum);
        }
        n.split_dim = choose_split(lo, hi, sens);
        // Phase splits follow the bound's guide with an integer twin (QEBVerif MNIST, 3blk_100_100_100
        // Q = 8 and 10: six of nine queries left unknown after 15 s held in 1 to 55 splits), the
        // earliest-layer rule with a real one (random networks: the rule's first split took twice as
        // much off the bound; the guide does not see how a split narrows the later layers' ranges).
        if (split_neurons_) {
            const std::vector<PhaseScores>& guide = worst_hi ? db.phase_hi : db.phase_lo;
            const bool guided = p_.integer_region() && wo < guide.size();
            n.phase = errbound::choose_phase_split(p_, *n.ranges, guided ? &guide[wo] : nullptr);
        }
        n.lo = std::move(lo);
        n.hi = std::move(hi);
        return n;
    }

    // Splits until done on every thread; returns the leaves' bound over the outputs (per output in
    // `per_output`). `side`: a job (the counterexample search) that the last worker runs before it
    // joins the splitting, so that with two threads the first boxes are split meanwhile.
    void branch_and_bound(Node root, std::vector<double>& per_output, double& upper, std::string& reason,
                          const std::function<void()>& side = {}) {
        if (!started()) start(std::move(root));
        run(o_.threads ? o_.threads : worker_count(), o_.timeout_s, side);
        result(per_output, upper, reason);
    }

    // The same in steps: start once, run (each run goes on from where the last one stopped), result.
    void start(Node root) {
        closed_ = std::vector<double>(outputs_.size(), 0.0);
        close_or_push(std::move(root));
        started_ = true;
    }
    bool started() const { return started_; }

    // Splits on `threads` workers until done or `until_s` seconds after the solver's start.
    void run(unsigned threads, double until_s, const std::function<void()>& side = {}) {
        done_ = false;
        until_ = until_s;
        // The calling thread is the first worker (its caches and scratch buffers are warm from the
        // root's bound); the last one runs the side job first.
        std::vector<std::thread> pool;
        for (unsigned t = 1; t < threads; ++t) pool.emplace_back([this, &side, last = t + 1 == threads] { work(last ? side : nullptr); });
        work(threads == 1 ? side : nullptr);
        for (auto& th : pool) th.join();
        if (error_) std::rethrow_exception(error_);
    }

    // Every leaf closed (with eps: every leaf within eps).
    bool closed() {
        std::lock_guard<std::mutex> g(mu_);
        return started_ && open_.empty() && pending_.empty();
    }

    void result(std::vector<double>& per_output, double& upper, std::string& reason) {
        per_output = closed_;
        // A child not evaluated when the search stopped: its parent's bound covers it.
        for (const Pending& c : pending_)
            for (size_t k = 0; k < per_output.size(); ++k) per_output[k] = std::max(per_output[k], c.parent_per_output[k]);
        while (!open_.empty()) {
            const Node& n = open_.top();
            for (size_t k = 0; k < per_output.size(); ++k) per_output[k] = std::max(per_output[k], n.per_output[k]);
            open_.pop();
        }
        upper = *std::max_element(per_output.begin(), per_output.end());
        reason = reason_;
    }

    int64_t splits() const { return splits_; }
    bool splits_neurons() const { return split_neurons_; }

private:
    static bool is_point(const std::vector<double>& lo, const std::vector<double>& hi) { return lo == hi; }

    static std::vector<double> centre(const std::vector<double>& lo, const std::vector<double>& hi) {
        std::vector<double> c(lo.size());
        for (size_t j = 0; j < lo.size(); ++j) c[j] = lo[j] + 0.5 * (hi[j] - lo[j]);
        return c;
    }

    // An integer point: g is known exactly, f within its own sound bounds.
    void point_bound(const std::vector<double>& u, const DiffBound& db, Node& n) const {
        const Vec g = p_.g_int->dequantize_output(p_.g_int->eval(to_ints(u)).out);
        n.upper = 0;
        for (size_t k = 0; k < outputs_.size(); ++k) {
            const size_t o = size_t(outputs_[k]);
            const double v = std::max(outward::up(g[int64_t(o)] - db.f_lo[o]), outward::up(db.f_hi[o] - g[int64_t(o)]));
            n.per_output[k] = std::min(n.per_output[k], v);
            n.upper = std::max(n.upper, n.per_output[k]);
        }
    }

    static std::vector<int64_t> to_ints(const std::vector<double>& u) {
        std::vector<int64_t> q(u.size());
        for (size_t j = 0; j < u.size(); ++j) q[j] = int64_t(std::llround(u[j]));
        return q;
    }

    // The input whose smear (coefficient times width in the worst bound) times its mean split
    // gain is largest (SplitGains; a floor of 0.001 on the gain keeps the smear's order among
    // inputs whose splits never gained), unless the widest input (relative to the region) has
    // coefficient 0 and is much wider: a bound that ignores an input must still see that input
    // split, or it may never converge.
    int64_t choose_split(const std::vector<double>& lo, const std::vector<double>& hi, const std::vector<double>& sens) const {
        int64_t best = -1, widest = -1;
        double best_score = 0;
        std::vector<double> rel(lo.size(), 0.0);
        const std::vector<double> gain = gains_.means();
        for (size_t j = 0; j < lo.size(); ++j) {
            const double w = hi[j] - lo[j];
            if (w <= 0 || (p_.integer_region() && w < 1)) continue;
            rel[j] = w / root_width_[j];
            const double score = sens[j] * (gain[j] + 1e-3);
            if (widest < 0 || rel[j] > rel[size_t(widest)]) widest = int64_t(j);
            if (score > best_score) best = int64_t(j), best_score = score;
        }
        if (best < 0) return widest;
        // An input the bound does not depend on is split once the chosen one is 16 times narrower.
        if (sens[size_t(widest)] == 0 && rel[size_t(best)] < rel[size_t(widest)] / 16) return widest;
        return best;
    }

    double threshold() const {
        if (o_.eps) return *o_.eps;
        const double b = std::max(0.0, best_.value());
        return b + o_.tolerance * std::max(1.0, b);
    }

    // Under the lock: a node whose bound meets the target, or that cannot be split, is a closed leaf.
    void close_or_push(Node n) {
        if (n.upper <= threshold() || (n.split_dim < 0 && !n.phase)) {
            for (size_t k = 0; k < closed_.size(); ++k) closed_[k] = std::max(closed_[k], n.per_output[k]);
            return;
        }
        open_.push(std::move(n));
    }

    // Under the lock: a box worth splitting is waiting.
    bool has_work() const { return !open_.empty() && (o_.eps || open_.top().upper > threshold()); }

    // Under the lock: nothing more to do. Boxes still being evaluated count: they may need
    // splitting too. A child left pending is evaluated unless eps is refuted or time is up.
    bool finished_locked() {
        if (o_.eps && best_.value() > *o_.eps) return true;
        if (out_of_time()) {
            if (reason_.empty()) reason_ = fmt::format("timeout after {:.1f} s", o_.timeout_s);
            return true;
        }
        if (elapsed() >= until_) return true;  // this run's time is up; a later run goes on
        if (!pending_.empty()) return false;
        if (o_.max_splits >= 0 && splits_ >= o_.max_splits) {
            if (reason_.empty()) reason_ = fmt::format("split limit {} reached", o_.max_splits);
            return true;
        }
        return !has_work() && active_ == 0;
    }

    // One child box still to evaluate, with its parent's bounds (a child never needs a looser one).
    struct Pending {
        std::vector<double> lo, hi;
        std::vector<double> parent_per_output;
        double parent_upper = 0;
        size_t split_dim = kNoInput;  // the input split to make it (kNoInput: a phase split)
        std::shared_ptr<const PreActivationRanges> parent_ranges;
    };

    // Under the lock, when a child is pending or has_work(): the next box to evaluate. A pending
    // child first; else the open box with the largest bound is split, its second child left
    // pending for the other thread (so that the two children of a box are evaluated at once: the
    // trees are often chains, one child closing at once and the other split again).
    void take_locked(Pending& job) {
        if (!pending_.empty()) {
            job = std::move(pending_.front());
            pending_.pop_front();
            return;
        }
        Node n = open_.top();
        open_.pop();
        ++splits_;
        if (n.phase) {  // the same box, the neuron's range cut at its breakpoint
            auto side = [&](bool below) { return std::make_shared<const PreActivationRanges>(errbound::split_ranges(*n.ranges, *n.phase, below)); };
            pending_.push_back({n.lo, n.hi, n.per_output, n.upper, kNoInput, side(false)});
            job = {std::move(n.lo), std::move(n.hi), std::move(n.per_output), n.upper, kNoInput, side(true)};
            return;
        }
        const size_t d = size_t(n.split_dim);
        const double mid = p_.integer_region() ? std::floor(n.lo[d] + 0.5 * (n.hi[d] - n.lo[d]))
                                               : n.lo[d] + 0.5 * (n.hi[d] - n.lo[d]);
        std::vector<double> lhi = n.hi, rlo = n.lo;
        lhi[d] = mid;
        rlo[d] = p_.integer_region() ? mid + 1 : mid;
        pending_.push_back({std::move(rlo), std::move(n.hi), n.per_output, n.upper, d, n.ranges});
        job = {std::move(n.lo), std::move(lhi), std::move(n.per_output), n.upper, d, std::move(n.ranges)};
    }

    // One worker: the side job first (if any), then boxes until finished. An exception stops
    // every worker and is rethrown by branch_and_bound.
    void work(const std::function<void()>& side) {
        bool active = false;  // this worker holds a box (counted in active_)
        try {
            if (side) side();
            while (true) {
                Pending job;
                {
                    std::unique_lock<std::mutex> g(mu_);
                    cv_.wait(g, [&] { return done_ || finished_locked() || !pending_.empty() || has_work(); });
                    if (done_ || finished_locked()) {
                        done_ = true;
                        cv_.notify_all();
                        return;
                    }
                    take_locked(job);
                    ++active_, active = true;
                    cv_.notify_all();  // a child may be pending for the other thread
                }
                Node c = evaluate(std::move(job.lo), std::move(job.hi), nullptr, job.parent_ranges.get());
                if (job.split_dim != kNoInput) gains_.record(job.split_dim, job.parent_upper, c.upper);
                std::lock_guard<std::mutex> g(mu_);
                for (size_t k = 0; k < c.per_output.size(); ++k) c.per_output[k] = std::min(c.per_output[k], job.parent_per_output[k]);
                c.upper = std::min(c.upper, job.parent_upper);
                close_or_push(std::move(c));
                --active_, active = false;
                cv_.notify_all();
            }
        } catch (...) {
            std::lock_guard<std::mutex> g(mu_);
            if (!error_) error_ = std::current_exception();
            done_ = true;
            if (active) --active_;
            cv_.notify_all();
        }
    }

    const ErrPair& p_;
    const std::vector<int64_t>& outputs_;
    const ErrBoundOptions& o_;
    DiffMode mode_;
    BestInputs best_;
    Clock::time_point start_;
    std::vector<double> root_width_;
    bool split_neurons_ = false;
    bool started_ = false;
    double until_ = 0;  // this run's end, in seconds since the start
    SplitGains gains_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::priority_queue<Node> open_;
    std::deque<Pending> pending_;  // children split off but not evaluated yet
    std::vector<double> closed_;
    int64_t active_ = 0, splits_ = 0;
    bool done_ = false;
    std::string reason_;
    std::exception_ptr error_;
};

void check_region(const ErrPair& p, std::vector<double>& lo, std::vector<double>& hi, const std::vector<int64_t>& outputs) {
    if (int64_t(lo.size()) != p.input_size() || int64_t(hi.size()) != p.input_size())
        throw InputError("region", fmt::format("has {} dimensions, the network has {} inputs", lo.size(), p.input_size()));
    for (size_t j = 0; j < lo.size(); ++j) {
        if (!std::isfinite(lo[j]) || !std::isfinite(hi[j])) throw InputError("region", fmt::format("input {} is unbounded", j));
        if (lo[j] > hi[j]) throw InputError("region", fmt::format("input {} is empty: {} > {}", j, lo[j], hi[j]));
        if (p.integer_region()) {
            // The integers of the box, inside the twin's input range.
            lo[j] = std::max(std::ceil(lo[j]), double(p.g_int->input.lo));
            hi[j] = std::min(std::floor(hi[j]), double(p.g_int->input.hi));
            if (lo[j] > hi[j]) throw InputError("region", fmt::format("input {} contains no integer input of the twin", j));
        }
    }
    if (outputs.empty()) throw InputError("--output", "no output chosen");
    for (int64_t k : outputs)
        if (k < 0 || k >= p.output_size())
            throw InputError("--output", fmt::format("output {} does not exist (the network has {})", k, p.output_size()));
}

// Method sdp: per output, min(differential bound, rigorous SDP bound of both signs).
void sdp_upper(const ErrPair& p, const DiffBound& db, const std::vector<double>& lo, const std::vector<double>& hi,
               const std::vector<int64_t>& outputs, const Node& root, BestInputs& best, ErrBoundResult& r) {
    r.sdp_optimal = true;
    r.upper = 0;
    for (size_t k = 0; k < outputs.size(); ++k) {
        double proved = 0;
        for (double sign : {1.0, -1.0}) {
            const errbound::SdpResult sr = errbound::sdp_max_difference(p, db, lo, hi, outputs[k], sign);
            r.sdp_optimal = r.sdp_optimal && sr.optimal;
            r.sdp_value = std::max(r.sdp_value.value_or(-std::numeric_limits<double>::infinity()), sr.value);
            proved = std::max(proved, sr.bound);
            best.offer(p, sr.input);
        }
        r.sdp_bound = std::max(r.sdp_bound.value_or(0.0), proved);
        r.upper_per_output.push_back(std::min(root.per_output[k], proved));
        r.upper = std::max(r.upper, r.upper_per_output.back());
    }
}

// One output (index into the chosen outputs) and sign of g - f.
struct OpenSide {
    size_t k;
    double sign;
};

// The time left of `seconds` since `start`, shared evenly among the `total - done` jobs left.
double fair_share(Clock::time_point start, double seconds, size_t done, size_t total) {
    const double used = std::chrono::duration<double>(Clock::now() - start).count();
    return (seconds - used) / double(total - done);
}

// Every output and sign whose root bound exceeds eps (every one without eps).
std::vector<OpenSide> open_sides(const std::vector<int64_t>& outputs, const DiffBound& db, const ErrBoundOptions& o) {
    std::vector<OpenSide> sides;
    for (size_t k = 0; k < outputs.size(); ++k) {
        const size_t ok = size_t(outputs[k]);
        if (!o.eps || db.hi[ok] > *o.eps) sides.push_back({k, 1.0});
        if (!o.eps || -db.lo[ok] > *o.eps) sides.push_back({k, -1.0});
    }
    return sides;
}

// What the pair MILPs of an integer twin decided.
struct PairMilpOutcome {
    bool all_proved = false;               // every output and sign is within eps
    std::vector<double> upper_per_output;  // then: the proved bounds
    std::string reason;                    // the last MILP's reason when not all were proved
};

// With eps: one decision per output and sign whose root bound exceeds eps (the time shared
// among them); without eps: one maximisation each (CBC's estimate in r.milp_max). Inputs the
// MILPs find are offered to the search, which re-evaluates them.
PairMilpOutcome run_pair_milps(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                               const std::vector<int64_t>& outputs, const DiffBound& db, const ErrBoundOptions& o,
                               double seconds, BestInputs& best, ErrBoundResult& r) {
    PairMilpOutcome out;
    const std::vector<OpenSide> jobs = open_sides(outputs, db, o);
    if (jobs.empty() || !(seconds > 0)) return out;
    const auto start = Clock::now();
    bool proved_all = true;
    r.milp_optimal = !o.eps;
    for (size_t t = 0; t < jobs.size(); ++t) {
        if (o.eps && best.value() > *o.eps) return out;  // violated: nothing more to prove
        const double each = fair_share(start, seconds, t, jobs.size());
        const errbound::PairMilpResult m = errbound::pair_milp(p, lo, hi, outputs[jobs[t].k], jobs[t].sign, o.eps, each);
        if (!m.input.empty()) best.offer(p, m.input);
        if (m.kind == errbound::PairMilpResult::Kind::Optimum) {
            r.milp_max = std::max(r.milp_max.value_or(0.0), m.value);
            r.milp_optimal = r.milp_optimal && m.optimal;
        } else if (!o.eps) {
            r.milp_optimal = false;
        }
        if (m.kind != errbound::PairMilpResult::Kind::Proved) {
            proved_all = false;
            if (!m.reason.empty()) out.reason = m.reason;
        }
    }
    if (!o.eps || !proved_all) return out;
    out.all_proved = true;
    for (int64_t k : outputs) {
        const double up = std::min(db.hi[size_t(k)], *o.eps), dn = std::min(-db.lo[size_t(k)], *o.eps);
        out.upper_per_output.push_back(std::max(up, dn));
    }
    return out;
}

// log2 of the number of integer points of the box.
double integer_points_log2(const std::vector<double>& lo, const std::vector<double>& hi) {
    double bits = 0;
    for (size_t j = 0; j < lo.size(); ++j) bits += std::log2(std::max(1.0, std::floor(hi[j]) - std::ceil(lo[j]) + 1));
    return bits;
}

// An integer twin: the rigorous LP bound of the pair model, coupled neuron by neuron through db
// (errbound_pair_milp.hpp), with eps its LP branch and bound until the side is within eps, for
// each output and sign whose root bound is above eps (every one without eps). With eps the trees
// are kept: a later run continues them. Each run shares its time evenly among the sides it runs;
// db's bounds and the root's are tightened where the LP's are lower, the LP points offered to
// `best`.
class LpSides {
public:
    LpSides(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi, const std::vector<int64_t>& outputs,
            const ErrBoundOptions& o, DiffBound& db, Node& root, BestInputs& best)
        : p_(p), lo_(lo), hi_(hi), outputs_(outputs), o_(o), db_(db), root_(root), best_(best) {}

    // The first run: every side open (root_only: the root's LP alone). True when a bound was tightened.
    bool start(double seconds, bool root_only = false) {
        for (const OpenSide& side : open_sides(outputs_, db_, o_)) {
            Side s{side, nullptr, false};
            if (o_.eps)
                s.bab = std::make_unique<errbound::PairLpBab>(p_, lo_, hi_, outputs_[side.k], side.sign, &db_, *o_.eps,
                                                              [this](const std::vector<double>& u) { offer(u); });
            sides_.push_back(std::move(s));
        }
        std::vector<Side*> all;
        for (Side& s : sides_) all.push_back(&s);
        return run(seconds, all, root_only ? 0 : -1);
    }

    // A later run (with eps): the trees of the sides still above eps whose LP bound was below the
    // differential bound (the others are not worth the time). True when a bound was tightened.
    bool resume(double seconds) { return run(seconds, trees_above_eps(true)); }
    // A later run of every tree still above eps, promising or not. True when a bound was tightened.
    bool resume_all(double seconds) { return run(seconds, trees_above_eps(false)); }
    // How far above eps the sides a resume would run are, relative to eps (the largest; 0: none).
    double excess() {
        double most = 0;
        for (const Side* s : trees_above_eps(true)) most = std::max(most, (side_value(s->side) - *o_.eps) / *o_.eps);
        return most;
    }
    // Stops the trees' current and later runs (from another thread: an input above eps was found).
    void stop() { stop_ = true; }

private:
    struct Side {
        OpenSide side;
        std::unique_ptr<errbound::PairLpBab> bab;  // with eps
        bool lower = false;                        // its LP bound went below the differential bound
    };

    // An LP point's input to the search; one above eps stops the trees.
    void offer(const std::vector<double>& u) {
        if (best_.offer(p_, u) > *o_.eps) stop_ = true;
    }

    // The trees (with eps) of the sides still above eps; promising: only those whose LP bound went
    // below the differential bound.
    std::vector<Side*> trees_above_eps(bool promising) {
        std::vector<Side*> open;
        for (Side& s : sides_)
            if (s.bab && (s.lower || !promising) && side_value(s.side) > *o_.eps) open.push_back(&s);
        return open;
    }

    double side_value(const OpenSide& side) const {
        const size_t out = size_t(outputs_[side.k]);
        return side.sign > 0 ? db_.hi[out] : -db_.lo[out];
    }

    bool run(double seconds, const std::vector<Side*>& sides, int64_t max_splits = -1) {
        const auto start = Clock::now();
        bool tightened = false;
        for (size_t t = 0; t < sides.size(); ++t) {
            Side& s = *sides[t];
            const auto [k, sign] = s.side;
            const double each = fair_share(start, seconds, t, sides.size());
            const std::optional<double> b =
                s.bab ? s.bab->run(each, &stop_, max_splits)
                      : errbound::pair_lp_bound(p_, lo_, hi_, outputs_[k], sign, each, &db_, std::nullopt,
                                                [this](const std::vector<double>& u) { best_.offer(p_, u); });
            if (!b || side_value(s.side) <= *b) continue;
            const size_t out = size_t(outputs_[k]);
            (sign > 0 ? db_.hi[out] : db_.lo[out]) = sign * *b;
            root_.per_output[k] = std::min(root_.per_output[k], std::max(db_.hi[out], -db_.lo[out]));
            s.lower = tightened = true;
        }
        root_.upper = *std::max_element(root_.per_output.begin(), root_.per_output.end());
        return tightened;
    }

    const ErrPair& p_;
    const std::vector<double>&lo_, &hi_;
    const std::vector<int64_t>& outputs_;
    const ErrBoundOptions& o_;
    DiffBound& db_;
    Node& root_;
    BestInputs& best_;
    std::vector<Side> sides_;
    std::atomic<bool> stop_ = false;
};

// Simulated annealing (errbound_anneal.hpp) for each of `jobs` (the outputs and signs whose root
// bound is above eps: open_sides), from the best input for that output: a third of `seconds`
// shared evenly, then the rest for the output with the largest |g - f| found, in the sign of its
// best input (rather than for sides that stay behind); `cancel` stops it.
void anneal_open(const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                 const std::vector<int64_t>& outputs, const std::vector<OpenSide>& jobs, const ErrBoundOptions& o,
                 double seconds, std::mt19937_64& rng, BestInputs& best, const std::atomic<bool>* cancel = nullptr) {
    const auto start = Clock::now();
    auto run = [&](const OpenSide& job, double share) {
        const std::vector<double> from = best.per_output_witness()[job.k];
        errbound::AnnealOptions a;
        a.seconds = share;
        a.stop_above = o.eps.value_or(-1.0);
        a.cancel = cancel;
        std::vector<double> centre;
        for (size_t j = 0; j < lo.size(); ++j) centre.push_back(0.5 * (lo[j] + hi[j]));
        errbound::anneal(p, lo, hi, outputs[job.k], job.sign, from.empty() ? centre : from, a, rng, best);
        return (o.eps && best.value() > *o.eps) || (cancel && *cancel);
    };
    const double first = jobs.size() > 1 ? seconds / 3 : seconds;
    for (size_t t = 0; t < jobs.size(); ++t)
        if (run(jobs[t], fair_share(start, first, t, jobs.size()))) return;
    if (jobs.size() < 2) return;
    const std::vector<double> found = best.per_output();
    const std::vector<std::vector<double>> witnesses = best.per_output_witness();
    const OpenSide* lead = nullptr;
    for (const OpenSide& job : jobs) {
        if (witnesses[job.k].empty()) continue;
        const double sign = exact_difference(p, witnesses[job.k])[outputs[job.k]] >= 0 ? 1.0 : -1.0;
        if (job.sign == sign && (!lead || found[job.k] > found[lead->k])) lead = &job;
    }
    if (lead) run(*lead, fair_share(start, seconds, 0, 1));
}

// With eps, on two threads: the LP trees (on this thread; half of `seconds` for every side, then
// the rest for the sides whose LP went below the differential bound) and the annealing of
// the sides open in db (on another) side by side for `seconds`. An input above eps stops the
// trees; the trees closing every side (root within eps) stop the annealing. When the trees stop
// early, `instead` runs on this thread for half of the time left (its true: eps proved, which
// stops the annealing), then every tree still open goes on; without it, or when the root LPs
// leave a bound above kHopeless * eps, a second annealing chain runs until the end. True when an
// LP bound was tightened. `instead` asks between its steps whether the annealing still runs:
// the annealing gives its thread up when it has not raised the best input for kStaleSeconds
// (every violation of the QEBVerif bench at Q >= 6 but one was found within 3 s, the median in
// 0.3 s; the later ones at Q = 4 all had bounds above kHopeless * eps, where `instead` does not run).
constexpr double kHopeless = 1.5, kStaleSeconds = 3;
bool lp_beside_annealing(LpSides& lps, const ErrPair& p, const std::vector<double>& lo, const std::vector<double>& hi,
                         const std::vector<int64_t>& outputs, const DiffBound& db, const ErrBoundOptions& o,
                         double seconds, std::mt19937_64& rng, BestInputs& best, const Node& root,
                         const std::function<bool(double, const std::function<bool()>&)>& instead) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    const std::vector<OpenSide> jobs = open_sides(outputs, db, o);
    std::atomic<bool> stop_search = false, searching = true;
    std::exception_ptr anneal_error;
    std::mt19937_64 anneal_rng(rng());
    std::thread annealer([&] {
        try {
            anneal_open(p, lo, hi, outputs, jobs, o, seconds, anneal_rng, best, &stop_search);
            if (best.value() > *o.eps) lps.stop();
        } catch (...) {
            anneal_error = std::current_exception();
        }
        searching = false;
    });
    // Whether the annealing still runs; it is told to stop once stale.
    double last_best = best.value();
    auto last_change = Clock::now();
    auto still_searching = [&] {
        if (const double v = best.value(); v > last_best) last_best = v, last_change = Clock::now();
        if (std::chrono::duration<double>(Clock::now() - last_change).count() > kStaleSeconds) stop_search = true;
        return bool(searching);
    };
    auto open = [&] { return root.upper > *o.eps && !(best.value() > *o.eps); };  // eps still undecided
    bool tightened = false;
    try {
        // With `instead`, the trees whose root LP is not below the differential bound stop there.
        tightened = lps.start(0.5 * seconds, bool(instead));
        // Bounds more than half as large again as eps after the root LPs: the trees and the
        // splitting give way to a second annealing chain. Every hold in the QEBVerif bench had its
        // bound within 1.21 eps at this point (2blk_100_100 Q = 6 eps 2 sample 8541, 43 s, 1.11).
        const bool hopeless = root.upper > kHopeless * *o.eps;
        if (open() && !hopeless) lps.resume(std::chrono::duration<double>(until - Clock::now()).count());
        // The trees stopped early (no side left whose LP went below the differential bound).
        const double left = std::chrono::duration<double>(until - Clock::now()).count();
        if (open() && left > 0.1) {
            if (instead && !hopeless) {
                // Half of what is left; then every tree still open goes on (some go below the
                // differential bound only after their root: 2blk_100_100 Q = 6 eps 2 sample 8541).
                const bool closed = instead(0.5 * left, still_searching);
                if (closed) stop_search = true;
                else if (open()) tightened = lps.resume_all(std::chrono::duration<double>(until - Clock::now()).count()) || tightened;
            } else {
                std::mt19937_64 second(rng());
                anneal_open(p, lo, hi, outputs, open_sides(outputs, db, o), o, left, second, best);
            }
        }
    } catch (...) {
        stop_search = true;
        annealer.join();
        throw;
    }
    if (root.upper <= *o.eps) stop_search = true;
    annealer.join();
    if (anneal_error) std::rethrow_exception(anneal_error);
    return tightened;
}

}  // namespace

ErrBoundResult error_bound(const ErrPair& p, const std::vector<double>& lo_in, const std::vector<double>& hi_in,
                           const std::vector<int64_t>& outputs, const ErrBoundOptions& o) {
    std::vector<double> lo = lo_in, hi = hi_in;
    check_region(p, lo, hi, outputs);
    if (o.eps && !(*o.eps >= 0)) throw InputError("--eps", "must be >= 0");
    if (!(o.timeout_s > 0)) throw InputError("--timeout", "must be > 0");
    const std::string method = o.method == "auto" ? "split" : o.method;
    if (method != "split" && method != "diff" && method != "naive" && method != "milp" && method != "sdp")
        throw InputError("--method", fmt::format("unknown method '{}' (auto, split, diff, naive, milp, sdp)", o.method));
    if (method == "sdp") errbound::check_sdp_supported(p);
    if (o.split != "auto" && o.split != "inputs" && o.split != "neurons")
        throw InputError("--split", fmt::format("unknown choice '{}' (auto, inputs, neurons)", o.split));
    if (o.split == "neurons" && !p.same_shape())
        throw InputError("--split", "neurons needs two networks of the same shape (their neurons are split together)");
    const DiffMode mode = method == "naive" || !p.same_shape() ? DiffMode::Naive : DiffMode::Differential;

    Solver s(p, outputs, o, mode);
    s.set_region(lo, hi);
    ErrBoundResult r;
    r.outputs = outputs;
    r.method = method != "split" ? method : s.splits_neurons() ? "phase+diff" : mode == DiffMode::Differential ? "split+diff" : "split+naive";
    if (method == "milp" && !p.integer_region()) {
        // Half the time for the MILPs, one per output and sign; their points feed the search.
        const double each = 0.5 * o.timeout_s / double(2 * outputs.size());
        r.milp_optimal = true;
        for (int64_t k : outputs)
            for (double sign : {1.0, -1.0}) {
                const errbound::MilpResult m = errbound::milp_max_difference(p, lo, hi, k, sign, each);
                r.milp_optimal = r.milp_optimal && m.optimal;
                if (!m.found) continue;
                r.milp_max = std::max(r.milp_max.value_or(0.0), m.value);
                s.best().offer(p, m.input);
            }
    }
    // The search: the centre and the root bound's extreme vertices (offered by evaluate), then
    // gradients from those vertices, a coordinate search and random points.
    DiffBound db;
    Node root = s.evaluate(lo, hi, &db);
    std::mt19937_64 rng(o.seed);
    // eps is decided by the root bound (as tightened so far) or by an input found.
    auto eps_decided = [&] { return o.eps && (root.upper <= *o.eps || s.best().value() > *o.eps); };
    auto gradients = [&] {
        for (int64_t k : outputs) {
            errbound::gradient_ascent(p, lo, hi, k, 1.0, db.argmax[size_t(k)], 20, s.best());
            errbound::gradient_ascent(p, lo, hi, k, -1.0, db.argmin[size_t(k)], 20, s.best());
            if (s.elapsed() > 0.2 * o.timeout_s) break;
        }
    };
    // Coordinate search from the best input so far, in the direction it points to, unless eps is
    // already decided (or the search had its 20 % of the time, `other_time` not counted), then random points.
    auto local_search = [&](bool decided, double other_time) {
        if (const std::vector<double> w = s.best().witness(); !w.empty() && !decided && s.elapsed() - other_time < 0.2 * o.timeout_s) {
            const int64_t k = s.best().witness_output();
            errbound::coordinate_search(p, lo, hi, k, exact_difference(p, w)[k] >= 0 ? 1.0 : -1.0, w, s.best(), 4);
        }
        errbound::random_inputs(p, lo, hi, 64, rng, s.best());
    };
    // A real box split by the branch and bound: the search runs beside the first splits (Solver::
    // branch_and_bound's side job), which stop as soon as it finds an input above eps.
    const bool beside = !p.integer_region() && (method == "split" || method == "milp");
    std::function<void()> side;
    PairMilpOutcome pm;
    if (beside) {
        side = [&, decided_by_root = o.eps && root.upper <= *o.eps] {
            gradients();
            local_search(o.eps && (decided_by_root || s.best().value() > *o.eps), 0.0);
        };
    } else {
        gradients();
        // An integer twin: the exact pair MILP (errbound_pair_milp.hpp) on the whole box, for every
        // output and sign the root bound leaves open; what it proves is closed, what it finds is
        // offered. Before the coordinate search, which can take most of a short timeout on 784 inputs.
        // Not in auto. It never proves a bound from CBC's "infeasible" (CBC has answered infeasible at
        // box points the model contains, errbound_pair_milp.cpp): it finds witnesses and estimates the
        // maximum; all_proved only when every open difference is a constant below eps - delta.
        const bool int_milp = p.integer_region() && method == "milp";
        const double before_milp = s.elapsed();
        if (int_milp && !eps_decided())
            pm = run_pair_milps(p, lo, hi, outputs, db, o, 0.5 * (o.timeout_s - s.elapsed()), s.best(), r);
        local_search(pm.all_proved || eps_decided(), s.elapsed() - before_milp);
        // An integer twin: the pair model's LP bound (with eps, its branch and bound) for every
        // output and sign still open, with a quarter of the time left (on two threads with eps:
        // beside the annealing, below); not under a split budget (its answer depends on the time).
        const bool with_lp = p.integer_region() && (method == "split" || method == "milp") && !pm.all_proved && o.max_splits < 0;
        const bool lp_again = with_lp && o.eps && *o.eps > 0;
        // An integer twin: simulated annealing on the box's integers, for every output and sign the
        // root bound leaves open (it stops at the first input above eps). Not on boxes of fewer than
        // 2^20 integers, which the branch and bound splits down to points, nor under a split budget
        // (max_splits: the caller wants a deterministic answer, e.g. the sweep).
        const bool with_anneal = p.integer_region() && !pm.all_proved && o.max_splits < 0 && integer_points_log2(lo, hi) >= 20;
        LpSides lps(p, lo, hi, outputs, o, db, root, s.best());
        const unsigned threads = o.threads ? o.threads : worker_count();
        // Phase splitting (regions of many inputs) takes the trees' thread when they stop early
        // (the LP was never below the differential bound): the branch and bound starts there from
        // the root as tightened so far, on one thread beside the annealing, and goes on below.
        // In steps of half a second on one thread while the annealing runs beside it, then on every
        // thread; a step that ends early has ended the splitting (closed, refuted or out of time).
        std::function<bool(double, const std::function<bool()>&)> instead;
        if (s.splits_neurons()) instead = [&](double seconds, const std::function<bool()>& searching) {
            s.start(root);
            for (const double until = s.elapsed() + seconds; s.elapsed() < until;) {
                const bool alone = !searching();
                const double step_end = alone ? until : std::min(until, s.elapsed() + 0.5);
                s.run(alone ? threads : 1, step_end);
                if (s.closed() || s.elapsed() < step_end - 0.05) break;
            }
            return s.closed();
        };
        if (with_lp && with_anneal && lp_again && threads > 1 && !eps_decided()) {
            // Two threads: the LP trees and the annealing side by side with 85 % of the time left.
            if (lp_beside_annealing(lps, p, lo, hi, outputs, db, o, 0.85 * (o.timeout_s - s.elapsed()), rng, s.best(), root, instead))
                r.method += "+lp";
        } else {
            if (with_lp && !eps_decided() && lps.start(0.25 * (o.timeout_s - s.elapsed()))) r.method += "+lp";
            // The LP trees that brought a side below the differential bound (they already gave "+lp")
            // go on: here with half of the time left when their bound is nearer to eps than the best
            // input (relative to eps), and after the annealing with three quarters of the time left.
            if (lp_again && !eps_decided())
                if (const double excess = lps.excess(); excess > 0 && excess < (*o.eps - s.best().value()) / *o.eps)
                    lps.resume(0.5 * (o.timeout_s - s.elapsed()));
            // The annealing with half of the time left.
            if (with_anneal && !eps_decided())
                anneal_open(p, lo, hi, outputs, open_sides(outputs, db, o), o, 0.5 * (o.timeout_s - s.elapsed()), rng, s.best());
            // Splitting the input box, which gets the rest, decided 3 of the 1,260 QEBVerif queries.
            if (lp_again && !eps_decided()) lps.resume(0.75 * (o.timeout_s - s.elapsed()));
        }
    }

    if (pm.all_proved) {
        r.method = "milp+diff";
        r.upper_per_output = pm.upper_per_output;
        r.upper = *std::max_element(r.upper_per_output.begin(), r.upper_per_output.end());
    } else if (method == "split" || method == "milp") {
        // The LP trees may have tightened the root after the splitting started from it (phase
        // splitting beside them): both bounds hold on the whole region, so each output takes the lower.
        // When they proved eps there, the splitting does not go on.
        const std::vector<double> root_per_output = root.per_output;
        if (s.started() && eps_decided()) r.upper_per_output = root_per_output;
        else s.branch_and_bound(std::move(root), r.upper_per_output, r.upper, r.reason, side);
        r.splits = s.splits();
        for (size_t k = 0; k < outputs.size(); ++k) r.upper_per_output[k] = std::min(r.upper_per_output[k], root_per_output[k]);
        r.upper = *std::max_element(r.upper_per_output.begin(), r.upper_per_output.end());
        if (!pm.reason.empty()) r.reason = r.reason.empty() ? pm.reason : r.reason + "; " + pm.reason;
    } else if (method == "sdp") {
        sdp_upper(p, db, lo, hi, outputs, root, s.best(), r);
    } else {
        r.upper_per_output = root.per_output;
        r.upper = root.upper;
    }
    // The lower bound: |g - f| at the best inputs, re-evaluated in outward interval
    // arithmetic (the real difference there is at least the interval's distance from 0).
    const std::vector<std::vector<double>> witnesses = s.best().per_output_witness();
    r.lower_per_output.assign(outputs.size(), 0.0);
    for (size_t k = 0; k < outputs.size(); ++k) {
        if (witnesses[k].empty()) continue;
        r.lower_per_output[k] = difference_enclosure(p, witnesses[k])[size_t(outputs[k])].mig();
        if (r.lower_per_output[k] > r.lower || r.witness.empty()) {
            r.lower = r.lower_per_output[k];
            r.witness = witnesses[k];
            r.witness_output = outputs[k];
        }
    }
    if (r.lower > r.upper)
        throw std::logic_error(fmt::format("bound: the witness reaches {} above the proved upper bound {} (a bug)", r.lower, r.upper));
    if (o.eps) {
        if (r.lower > *o.eps) r.verdict = BoundVerdict::Violated;
        else if (r.upper <= *o.eps) r.verdict = BoundVerdict::Holds;
        else {
            r.verdict = BoundVerdict::Unknown;
            if (r.reason.empty()) r.reason = method == "split" || method == "milp" ? "incomplete" : "the bound alone does not decide; try --method split";
        }
    }
    r.time_s = s.elapsed();
    return r;
}

}  // namespace qcert
