// Individual fairness as a query on the twin network (both copies side by side).
#include "qcert/error.hpp"
#include "qcert/verify.hpp"

#include <fmt/format.h>
#include <set>

namespace qcert {

IntNetwork twin_network(const IntNetwork& net, const std::vector<int64_t>& sensitive) {
    const int64_t n = net.input_size(), S = int64_t(sensitive.size());
    std::set<int64_t> seen;
    for (int64_t s : sensitive) {
        if (s < 0 || s >= n) throw InputError("--sensitive", fmt::format("input {} does not exist ({} inputs)", s, n));
        if (!seen.insert(s).second) throw InputError("--sensitive", fmt::format("input {} given twice", s));
    }
    if (S == 0) throw InputError("--sensitive", "name at least one sensitive input");
    IntNetwork t = net;
    for (size_t k = 0; k < net.layers.size(); ++k) {
        const IntLayer& L = net.layers[k];
        IntLayer& T = t.layers[k];
        const int64_t m = L.out_size(), in = L.in_size();
        if (k == 0) {
            // copy 1 reads x; copy 2 reads x with its sensitive columns taken from s'
            T.W.setZero(2 * m, n + S);
            T.W.topLeftCorner(m, n) = L.W;
            T.W.bottomLeftCorner(m, n) = L.W;
            for (int64_t s = 0; s < S; ++s) {
                T.W.block(m, sensitive[s], m, 1).setZero();
                T.W.block(m, n + s, m, 1) = L.W.col(sensitive[s]);
            }
        } else {
            T.W.setZero(2 * m, 2 * in);
            T.W.topLeftCorner(m, in) = L.W;
            T.W.bottomRightCorner(m, in) = L.W;
        }
        T.b = L.b;
        T.b.insert(T.b.end(), L.b.begin(), L.b.end());
    }
    t.prepare();
    return t;
}

Outcome verify_fairness(const IntNetwork& net, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                        const std::vector<int64_t>& sensitive, double delta, const VerifyOptions& opt) {
    if (!(delta >= 0)) throw InputError("--delta", fmt::format("must be >= 0, got {}", delta));
    if (int64_t(lo.size()) != net.input_size() || hi.size() != lo.size())
        throw InputError("input box", fmt::format("has {} dimensions, the network has {} inputs", lo.size(), net.input_size()));
    const IntNetwork twin = twin_network(net, sensitive);
    IntQuery q;
    q.net = &twin;
    q.lo = lo;
    q.hi = hi;
    for (int64_t s : sensitive) {
        q.lo.push_back(lo[s]);
        q.hi.push_back(hi[s]);
    }
    // Unsafe: some output differs by more than delta between the copies.
    const int64_t k = net.output_size();
    OutputProperty p;
    for (int64_t i = 0; i < k; ++i) {
        LinearConstraint up, down;  // y_i - y'_i > delta  and  y'_i - y_i > delta
        up.terms = {{i, -1.0}, {k + i, 1.0}};
        down.terms = {{i, 1.0}, {k + i, -1.0}};
        up.rhs = down.rhs = -delta;
        up.strict = down.strict = true;
        p.unsafe.push_back({up});
        p.unsafe.push_back({down});
    }
    q.unsafe = to_integer(p, twin);
    // A counterexample is the first input followed by the second copy's sensitive values.
    return decide(q, opt);
}

}  // namespace qcert
