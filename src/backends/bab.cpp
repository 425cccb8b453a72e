// Branch and bound over the integer input box (see bab.hpp).
#include "backends/bab.hpp"

#include "qcert/bounds.hpp"
#include "qcert/error.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

namespace qcert {

namespace {

using i128 = __int128;

struct Box {
    std::vector<int64_t> lo, hi;
    bool point() const {
        for (size_t j = 0; j < lo.size(); ++j)
            if (lo[j] != hi[j]) return false;
        return true;
    }
};

// The search of one query; threads share its stack.
class Search {
public:
    Search(const IntQuery& q, const Budget& budget, const BabOptions& opt) : q_(q), budget_(budget), opt_(opt) {}

    Outcome run() {
        stack_.push_back(Box{q_.lo, q_.hi});
        const unsigned threads = opt_.threads ? opt_.threads : std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
        if (threads <= 1) {
            worker();
        } else {
            std::vector<std::thread> pool;
            for (unsigned t = 0; t < threads; ++t) pool.emplace_back([this] { worker(); });
            for (auto& th : pool) th.join();
        }
        if (error_) std::rethrow_exception(error_);
        Outcome out;
        if (!cex_.empty()) {
            out.verdict = Verdict::Violated;
            out.counterexample = cex_;
        } else if (!stop_reason_.empty()) {
            out.verdict = Verdict::Unknown;
            out.reason = stop_reason_;
        } else {
            out.verdict = Verdict::Holds;
        }
        return out;
    }

    int64_t nodes() const { return nodes_.load(); }

private:
    void worker() {
        for (;;) {
            Box box;
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_.wait(lk, [&] { return stopped_ || !stack_.empty() || active_ == 0; });
                if (stopped_ || stack_.empty()) return;  // stopped, or nothing left anywhere
                box = std::move(stack_.back());
                stack_.pop_back();
                ++active_;
            }
            std::vector<Box> children;
            try {
                children = process(box);
            } catch (...) {
                std::lock_guard<std::mutex> g(m_);
                if (!error_) error_ = std::current_exception();
                stopped_ = true;
            }
            {
                std::lock_guard<std::mutex> g(m_);
                for (Box& c : children) stack_.push_back(std::move(c));
                --active_;
            }
            cv_.notify_all();
        }
    }

    void stop(const std::string& reason) {
        std::lock_guard<std::mutex> g(m_);
        if (!stopped_) stop_reason_ = reason;
        stopped_ = true;
    }

    // Records a counterexample when the exact semantics confirms it.
    bool try_point(const std::vector<int64_t>& x) {
        if (!confirms(q_, x)) return false;
        std::lock_guard<std::mutex> g(m_);
        if (cex_.empty()) cex_ = x;
        stopped_ = true;
        return true;
    }

    // Bounds a box; returns the two halves to explore (the more promising one last), or none.
    std::vector<Box> process(const Box& box) {
        const int64_t n = nodes_.fetch_add(1) + 1;
        if (budget_.expired()) { stop("timeout"); return {}; }
        if (opt_.max_nodes > 0 && n > opt_.max_nodes) { stop("node limit"); return {}; }
        if (box.point()) {  // decided exactly
            try_point(box.lo);
            return {};
        }
        const SymbolicBounds sb = symbolic_bounds(*q_.net, box.lo, box.hi, &budget_);
        if (!sb.symbolic && budget_.expired()) { stop("timeout"); return {}; }
        std::vector<LinearObjective> objs;
        for (const auto& conj : q_.unsafe)
            for (const IntConstraint& c : conj) objs.push_back(c.terms);
        const std::vector<ObjectiveBound> lb = objective_lower_bounds(sb, objs);

        // Per live disjunct: its constraint closest to infeasible (largest lower bound - rhs).
        struct Live { i128 margin; size_t row; };
        std::vector<Live> live;
        size_t r = 0;
        for (const auto& conj : q_.unsafe) {
            Live best{0, 0};
            bool have = false, dead = false;
            for (const IntConstraint& c : conj) {
                const i128 margin = lb[r].lower - c.rhs;
                if (margin > 0) dead = true;
                if (!have || margin > best.margin) best = {margin, r};
                have = true;
                ++r;
            }
            // An empty conjunction is always satisfied: any input is a counterexample.
            if (!have) best = {std::numeric_limits<int64_t>::min(), size_t(-1)};
            if (!dead) live.push_back(best);
        }
        if (live.empty()) return {};  // proved safe on this box

        // Candidates: the centre, and each live disjunct's minimising vertex.
        std::set<std::vector<int64_t>> tried;
        std::vector<int64_t> centre(box.lo.size());
        for (size_t j = 0; j < centre.size(); ++j) centre[j] = box.lo[j] + (box.hi[j] - box.lo[j]) / 2;
        tried.insert(centre);
        if (try_point(centre)) return {};
        for (const Live& l : live) {
            if (l.row == size_t(-1) || lb[l.row].argmin.empty()) continue;
            if (!tried.insert(lb[l.row].argmin).second) continue;
            if (try_point(lb[l.row].argmin)) return {};
        }

        // Split for the hardest live disjunct.
        const Live& hard = *std::min_element(live.begin(), live.end(), [](const Live& a, const Live& b) { return a.margin < b.margin; });
        const ObjectiveBound* guide = hard.row == size_t(-1) || lb[hard.row].input_coef.empty() ? nullptr : &lb[hard.row];
        size_t dim = 0;
        double best_score = -1;
        int64_t best_width = -1;
        for (size_t j = 0; j < box.lo.size(); ++j) {
            const int64_t w = box.hi[j] - box.lo[j];
            if (w <= 0) continue;
            const double score = guide ? std::fabs(guide->input_coef[j]) * double(w) : 0.0;
            if (score > best_score || (score == best_score && w > best_width)) {
                best_score = score;
                best_width = w;
                dim = j;
            }
        }
        const int64_t mid = box.lo[dim] + (box.hi[dim] - box.lo[dim]) / 2;
        Box left = box, right = box;
        left.hi[dim] = mid;
        right.lo[dim] = mid + 1;
        // Explore first (push last) the half holding the minimising vertex.
        const bool right_first = guide && guide->argmin[dim] > mid;
        std::vector<Box> children;
        children.push_back(right_first ? std::move(left) : std::move(right));
        children.push_back(right_first ? std::move(right) : std::move(left));
        return children;
    }

    const IntQuery& q_;
    const Budget& budget_;
    BabOptions opt_;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<Box> stack_;
    int active_ = 0;
    bool stopped_ = false;
    std::string stop_reason_;
    std::vector<int64_t> cex_;
    std::exception_ptr error_;
    std::atomic<int64_t> nodes_{0};
};

class BabMethod : public Method {
public:
    explicit BabMethod(const BabOptions& opt) : opt_(opt) {}
    std::string name() const override { return "bab"; }
    bool complete() const override { return opt_.max_nodes == 0; }

    Outcome run(const IntQuery& q, const Budget& budget) override {
        const auto start = std::chrono::steady_clock::now();
        if (!q.net) throw InputError("query", "no network");
        if (int64_t(q.lo.size()) != q.net->input_size() || q.hi.size() != q.lo.size())
            throw InputError(q.net->source, "the query's input box does not match the network's input size");
        Outcome out;
        bool empty = false;
        for (size_t j = 0; j < q.lo.size(); ++j) empty = empty || q.lo[j] > q.hi[j];
        if (empty) {
            out.verdict = Verdict::Holds;  // no input at all
        } else {
            Search s(q, budget, opt_);
            out = s.run();
        }
        out.method = name();
        out.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return out;
    }

private:
    BabOptions opt_;
};

}  // namespace

std::unique_ptr<Method> make_bab_method() { return std::make_unique<BabMethod>(BabOptions{}); }
std::unique_ptr<Method> make_bab_method(const BabOptions& options) { return std::make_unique<BabMethod>(options); }

}  // namespace qcert
