// The threaded best-first branch and bound (see the header).
#include "params_search.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace qcert::params_detail {

namespace {

struct Node {
    double ub;
    int tag;
    Box box;
    std::vector<double> score;  // from the bounder: which dimension to split
};

bool lower_ub(const Node& a, const Node& b) { return a.ub < b.ub; }  // max-heap on ub

class Search {
public:
    Search(const std::function<std::unique_ptr<Bounder>()>& make, const SearchOptions& opt) : make_(make), opt_(opt) {}

    SearchResult run(const std::vector<std::pair<Box, int>>& roots) {
        std::unique_ptr<Bounder> first = make_();
        for (const auto& [point, tag] : opt_.seeds) offer(first->seed(point, tag, r_.lower), tag);
        for (const auto& [box, tag] : roots) {
            Bounded b = first->bound(box, tag, r_.lower);
            ++r_.nodes;
            offer(b, tag);
            keep(std::move(b), tag, kInf);
        }
        const unsigned n = std::max(1u, opt_.threads);
        inflight_.assign(n, -kInf);
        std::vector<std::thread> pool;
        for (unsigned w = 1; w < n; ++w) pool.emplace_back([this, w] { work(w); });
        work(0);
        for (auto& t : pool) t.join();
        if (error_) std::rethrow_exception(error_);
        r_.upper = std::max({r_.lower, closed_ub_, heap_.empty() ? -kInf : heap_.front().ub});
        if (r_.stop.empty()) r_.stop = "exhausted";
        return r_;
    }

private:
    // A certified point better than the best so far becomes the witness. Caller holds m_ (or is alone).
    void offer(const Bounded& b, int tag) {
        if (!b.point.empty() && b.value > r_.lower) {
            r_.lower = b.value;
            r_.witness = b.point;
            r_.witness_tag = tag;
        }
    }

    // Queues a bounded box unless it cannot matter. Caller holds m_ (or is alone).
    void keep(Bounded&& b, int tag, double parent_ub) {
        const double ub = std::min(b.ub, parent_ub);  // a sub-box cannot exceed its parent's bound
        if (ub <= r_.lower || ub < opt_.target) return;
        const bool splittable = std::any_of(b.score.begin(), b.score.end(), [](double s) { return s > 0; });
        if (!splittable) {
            closed_ub_ = std::max(closed_ub_, ub);
            return;
        }
        heap_.push_back(Node{ub, tag, std::move(b.box), std::move(b.score)});
        std::push_heap(heap_.begin(), heap_.end(), lower_ub);
    }

    void work(unsigned w) {
        std::unique_ptr<Bounder> bounder;
        try {
            bounder = make_();
        } catch (...) {
            std::lock_guard<std::mutex> g(m_);
            if (!error_) error_ = std::current_exception();
            stop_ = true;
            cv_.notify_all();
            return;
        }
        std::unique_lock<std::mutex> lk(m_);
        for (;;) {
            cv_.wait(lk, [&] { return stop_ || !heap_.empty() || busy_ == 0; });
            if (stop_ || (heap_.empty() && busy_ == 0)) break;
            // The global bound: the best queued box, the boxes being split, and the closed ones.
            const double ub = std::max({heap_.front().ub, closed_ub_, *std::max_element(inflight_.begin(), inflight_.end())});
            if (opt_.target > -kInf && r_.lower > opt_.target) { finish("found"); break; }
            if (ub - r_.lower <= opt_.precision) { finish("precision"); break; }
            if (std::chrono::steady_clock::now() >= opt_.deadline) { finish("timeout"); break; }
            if (int64_t(heap_.size()) >= opt_.max_open) { finish("memory"); break; }
            std::pop_heap(heap_.begin(), heap_.end(), lower_ub);
            Node node = std::move(heap_.back());
            heap_.pop_back();
            inflight_[w] = node.ub;
            ++busy_;
            const double lower = r_.lower;
            lk.unlock();

            Bounded kids[2];
            int made = 0;
            try {
                made = split_and_bound(*bounder, node, lower, kids);
            } catch (...) {
                lk.lock();
                if (!error_) error_ = std::current_exception();
                stop_ = true;
                --busy_;
                cv_.notify_all();
                break;
            }

            lk.lock();
            r_.nodes += made;
            for (int c = 0; c < made; ++c) offer(kids[c], node.tag);
            if (made == 0) closed_ub_ = std::max(closed_ub_, node.ub);
            for (int c = 0; c < made; ++c) keep(std::move(kids[c]), node.tag, node.ub);
            inflight_[w] = -kInf;
            --busy_;
            cv_.notify_all();
        }
        cv_.notify_all();
    }

    void finish(const char* why) {
        if (r_.stop.empty()) r_.stop = why;
        stop_ = true;
        cv_.notify_all();
    }

    // Splits the node's box in the middle of the dimension with the largest score.
    int split_and_bound(Bounder& bounder, const Node& node, double lower, Bounded* kids) {
        const std::vector<double>& score = node.score;
        size_t d = 0;
        for (size_t i = 1; i < score.size(); ++i)
            if (score[i] > score[d]) d = i;
        const Interval iv = node.box[d];
        const double m = iv.mid();
        if (!(score[d] > 0) || !(m > iv.lo && m < iv.hi)) return 0;  // cannot split any further
        Box left = node.box, right = node.box;
        left[d].hi = m;
        right[d].lo = m;
        kids[0] = bounder.bound(std::move(left), node.tag, lower);
        kids[1] = bounder.bound(std::move(right), node.tag, lower);
        return 2;
    }

    const std::function<std::unique_ptr<Bounder>()>& make_;
    SearchOptions opt_;
    SearchResult r_;
    std::vector<Node> heap_;
    double closed_ub_ = -kInf;
    std::vector<double> inflight_;
    int busy_ = 0;
    bool stop_ = false;
    std::exception_ptr error_;
    std::mutex m_;
    std::condition_variable cv_;
};

}  // namespace

SearchResult branch_and_bound(const std::vector<std::pair<Box, int>>& roots,
                              const std::function<std::unique_ptr<Bounder>()>& make_bounder,
                              const SearchOptions& opt) {
    Search s(make_bounder, opt);
    return s.run(roots);
}

}  // namespace qcert::params_detail
