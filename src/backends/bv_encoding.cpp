// The bit-vector encoding of an IntQuery (see bv_encoding.hpp).
//
// Every bit-vector node keeps the exact range of its value over the input box and
// has the smallest width that holds that range. Additions and multiplications
// work modulo 2^width: since the exact result fits the result's width, their
// operands may be cut to that width too (the low bits of a sum or product depend
// only on the low bits of the operands). Comparisons, divisions and ite take
// operands at a width that holds both ranges, so no value is ever cut there.
#include "backends/bv_encoding.hpp"

#include "qcert/error.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

namespace qcert::bv {

namespace {

constexpr int kMaxWidth = 126;

// The smallest two's complement width that holds [lo, hi].
int width_for(i128 lo, i128 hi) {
    int w = 1;
    while (!(lo >= -(i128(1) << (w - 1)) && hi <= (i128(1) << (w - 1)) - 1)) {
        if (++w > kMaxWidth) throw std::overflow_error("a value of the encoding needs more than 126 bits");
    }
    return w;
}

// v as a signed number of `width` bits (two's complement wrap-around).
i128 wrap(i128 v, int width) {
    const i128 mod = i128(1) << width;
    i128 r = v % mod;
    if (r < 0) r += mod;
    return r >= (mod >> 1) ? r - mod : r;
}

i128 floor_div(i128 n, i128 d) { return round_div(n, d, Rounding::Floor); }

// A bit-vector value with its exact range over the box; constants have no node.
struct Val {
    int id = -1;
    i128 lo = 0, hi = 0;
    bool is_const() const { return lo == hi; }
};

Val constant(i128 v) { return Val{-1, v, v}; }

class Builder {
public:
    explicit Builder(Encoding& e) : e_(e) {}

    int node(Op op, int width, std::vector<int> args, int a = 0, int b = 0, i128 value = 0) {
        Node n;
        n.op = op;
        n.width = width;
        n.args = std::move(args);
        n.a = a;
        n.b = b;
        n.value = value;
        e_.nodes.push_back(std::move(n));
        return int(e_.nodes.size()) - 1;
    }

    int width(const Val& v) const { return v.is_const() ? width_for(v.lo, v.hi) : e_.nodes[v.id].width; }

    // ---- Booleans, folded when constant ----
    int boolean(bool v) {
        int& id = v ? true_ : false_;
        if (id < 0) id = node(Op::BoolConst, 0, {}, 0, 0, v ? 1 : 0);
        return id;
    }
    bool is_bool_const(int b, bool v) const {
        return e_.nodes[b].op == Op::BoolConst && e_.nodes[b].value == (v ? 1 : 0);
    }
    int not_(int x) {
        if (e_.nodes[x].op == Op::BoolConst) return boolean(e_.nodes[x].value == 0);
        return node(Op::Not, 0, {x});
    }
    int junction(Op op, const std::vector<int>& xs) {  // And / Or
        const bool absorbing = op == Op::Or;           // true absorbs Or, false absorbs And
        std::vector<int> keep;
        for (int x : xs) {
            if (is_bool_const(x, absorbing)) return boolean(absorbing);
            if (!is_bool_const(x, !absorbing)) keep.push_back(x);
        }
        if (keep.empty()) return boolean(!absorbing);
        if (keep.size() == 1) return keep[0];
        return node(op, 0, keep);
    }
    int and_(const std::vector<int>& xs) { return junction(Op::And, xs); }
    int or_(const std::vector<int>& xs) { return junction(Op::Or, xs); }

    // ---- bit-vectors ----
    int bv_const(i128 v, int w) {
        v = wrap(v, w);
        auto [it, fresh] = consts_.try_emplace({w, v}, -1);
        if (fresh) it->second = node(Op::BvConst, w, {}, 0, 0, v);
        return it->second;
    }

    // The node of v at width w: sign-extended, or its low w bits (exact when w holds
    // the range, and right modulo 2^w for additions and multiplications).
    int at(const Val& v, int w) {
        if (v.is_const()) return bv_const(v.lo, w);
        const int cw = e_.nodes[v.id].width;
        if (w == cw) return v.id;
        if (w > cw) return node(Op::SignExt, w, {v.id}, w - cw);
        return node(Op::Extract, w, {v.id}, w - 1, 0);
    }

    // A value known to lie in [lo, hi] (a sound bound): intersect and cut the width.
    Val narrow(const Val& v, i128 lo, i128 hi) {
        lo = std::max(lo, v.lo);
        hi = std::min(hi, v.hi);
        if (lo >= hi) return constant(lo);  // lo > hi cannot happen with sound bounds
        return make(v.id, lo, hi);
    }

    // Wraps a node as a Val, cutting it to the width its range needs.
    Val make(int id, i128 lo, i128 hi) {
        if (lo == hi) return constant(lo);
        Val v{id, lo, hi};
        const int w = width_for(lo, hi);
        if (w < e_.nodes[id].width) v.id = at(v, w);
        return v;
    }

    Val add(const Val& x, const Val& y) {
        if (x.is_const() && y.is_const()) return constant(x.lo + y.lo);
        if (x.is_const() && x.lo == 0) return y;
        if (y.is_const() && y.lo == 0) return x;
        const i128 lo = x.lo + y.lo, hi = x.hi + y.hi;
        const int w = width_for(lo, hi);
        return make(node(Op::Add, w, {at(x, w), at(y, w)}), lo, hi);
    }

    Val mul(const Val& x, i128 c) {
        if (c == 0) return constant(0);
        const i128 limit = (i128(1) << 125) / (c < 0 ? -c : c);  // keeps the products inside i128
        if (x.lo < -limit || x.hi > limit) throw std::overflow_error("a product of the encoding needs more than 126 bits");
        if (x.is_const()) return constant(x.lo * c);
        if (c == 1) return x;
        const i128 lo = std::min(x.lo * c, x.hi * c), hi = std::max(x.lo * c, x.hi * c);
        const int w = width_for(lo, hi);
        return make(node(Op::Mul, w, {at(x, w), bv_const(c, w)}), lo, hi);
    }

    // A balanced tree of additions (AAAI 2021): every partial sum has the width of
    // its own range, so the adders near the leaves stay narrow.
    Val sum(std::vector<Val> terms) {
        if (terms.empty()) return constant(0);
        while (terms.size() > 1) {
            std::vector<Val> next;
            for (size_t i = 0; i + 1 < terms.size(); i += 2) next.push_back(add(terms[i], terms[i + 1]));
            if (terms.size() % 2) next.push_back(terms.back());
            terms.swap(next);
        }
        return terms[0];
    }

    int common_width(const Val& x, const Val& y) const { return std::max(width_for(x.lo, x.hi), width_for(y.lo, y.hi)); }

    int slt(const Val& x, const Val& y) {
        if (x.hi < y.lo) return boolean(true);
        if (x.lo >= y.hi) return boolean(false);
        const int w = common_width(x, y);
        return node(Op::Slt, 0, {at(x, w), at(y, w)});
    }
    int sle(const Val& x, const Val& y) {
        if (x.hi <= y.lo) return boolean(true);
        if (x.lo > y.hi) return boolean(false);
        const int w = common_width(x, y);
        return node(Op::Sle, 0, {at(x, w), at(y, w)});
    }
    int eq(const Val& x, const Val& y) {
        if (x.hi < y.lo || y.hi < x.lo) return boolean(false);
        if (x.is_const() && y.is_const()) return boolean(true);
        const int w = common_width(x, y);
        return node(Op::Eq, 0, {at(x, w), at(y, w)});
    }

    Val ite(int cond, const Val& t, const Val& f) {
        if (is_bool_const(cond, true)) return t;
        if (is_bool_const(cond, false)) return f;
        const i128 lo = std::min(t.lo, f.lo), hi = std::max(t.hi, f.hi);
        const int w = width_for(lo, hi);
        return make(node(Op::Ite, w, {cond, at(t, w), at(f, w)}), lo, hi);
    }

    // Bit `bit` of v (v's width must exceed `bit`) is 1.
    int bit_set(const Val& v, int bit) {
        const int b = node(Op::Extract, 1, {v.id}, bit, bit);
        return node(Op::Eq, 0, {b, bv_const(-1, 1)});
    }

    // The offset d_j of input j, created on first use, with its box constraint.
    Val input(int j, int64_t range) {
        int& id = e_.input_node[j];
        if (id < 0) {
            int u = 1;  // unsigned width of range
            while (u < 63 && (int64_t(1) << u) <= range) ++u;
            id = node(Op::Input, u, {}, j);
            if (u < 63 && range != (int64_t(1) << u) - 1)
                box_.push_back(node(Op::Ule, 0, {id, bv_const(range, u)}));
            // As a signed value d_j needs one more bit.
            inputs_[j] = node(Op::ZeroExt, u + 1, {id}, 1);
        }
        return make(inputs_[j], 0, range);
    }

    void reserve_inputs(size_t n) { inputs_.assign(n, -1); }
    const std::vector<int>& box_constraints() const { return box_; }

private:
    Encoding& e_;
    int true_ = -1, false_ = -1;
    std::map<std::pair<int, i128>, int> consts_;
    std::vector<int> inputs_;  // the zero-extended input nodes
    std::vector<int> box_;
};

// round(t / 2^k), t = s + c, as floor((t + offset) / 2^k): the high bits of one
// sum. For floor, ceil, half_up and half_down the offset is a constant that joins
// the bias, so rounding costs no adder at all (AAAI 2021); the other modes add a
// term chosen by the sign of t or by bit k of t (the parity of the floor).
Val round_pow2(Builder& B, const Val& s, i128 c, int k, Rounding mode) {
    const i128 half = i128(1) << (k - 1), full = (i128(1) << k) - 1;
    Val u;
    switch (mode) {
        case Rounding::Floor: u = B.add(s, constant(c)); break;
        case Rounding::Ceil: u = B.add(s, constant(c + full)); break;
        case Rounding::HalfUp: u = B.add(s, constant(c + half)); break;
        case Rounding::HalfDown: u = B.add(s, constant(c + half - 1)); break;
        case Rounding::HalfEven: {  // + half - 1, and + 1 more when the floor is odd
            const Val t = B.add(s, constant(c));
            const int w = std::max(B.width(t), k + 1);
            const int odd = B.bit_set(Val{B.at(t, w), t.lo, t.hi}, k);
            u = B.add(t, B.ite(odd, constant(half), constant(half - 1)));
            break;
        }
        case Rounding::TowardZero: {  // floor for t >= 0, ceil below
            const Val t = B.add(s, constant(c));
            u = B.add(t, B.ite(B.slt(t, constant(0)), constant(full), constant(0)));
            break;
        }
        case Rounding::HalfAway: {  // half_up for t >= 0, half_down below
            const Val t = B.add(s, constant(c));
            u = B.add(t, B.ite(B.slt(t, constant(0)), constant(half - 1), constant(half)));
            break;
        }
    }
    const i128 lo = floor_div(u.lo, i128(1) << k), hi = floor_div(u.hi, i128(1) << k);
    if (u.is_const() || lo == hi) return constant(lo);
    const int w = std::max(B.width(u), k + 1);
    return B.make(B.node(Op::Extract, w - k, {B.at(u, w)}, w - 1, k), lo, hi);
}

// round(t / den) for den not a power of two: bvsdiv and bvsrem truncate toward
// zero, so a negative remainder means the floor is one less and the remainder den
// more; then an increment of 0 or 1 from the remainder, as round_div does.
Val round_general(Builder& B, const Val& t, i128 den, Rounding mode) {
    const int w = std::max(B.width(t), width_for(0, den));
    const int tw = B.at(t, w), d = B.bv_const(den, w);
    const Val q = B.make(B.node(Op::Sdiv, w, {tw, d}), t.lo / den, t.hi / den);  // truncation is monotone
    const Val r = B.make(B.node(Op::Srem, w, {tw, d}), -(den - 1), den - 1);
    const int neg = B.slt(r, constant(0));
    const Val fl = B.narrow(B.add(q, B.ite(neg, constant(-1), constant(0))), floor_div(t.lo, den), floor_div(t.hi, den));
    const Val rem = B.narrow(B.add(r, B.ite(neg, constant(den), constant(0))), 0, den - 1);
    const Val twice = B.mul(rem, 2), D = constant(den);
    const int nonzero = B.not_(B.eq(rem, constant(0)));
    auto tie_and = [&](int cond) { return B.or_({B.slt(D, twice), B.and_({B.eq(twice, D), cond})}); };
    int inc = -1;
    switch (mode) {
        case Rounding::Floor: inc = B.boolean(false); break;
        case Rounding::Ceil: inc = nonzero; break;
        case Rounding::TowardZero: inc = B.and_({nonzero, B.slt(fl, constant(0))}); break;
        case Rounding::HalfUp: inc = B.sle(D, twice); break;
        case Rounding::HalfDown: inc = B.slt(D, twice); break;
        case Rounding::HalfEven: inc = tie_and(fl.is_const() ? B.boolean(fl.lo % 2 != 0) : B.bit_set(fl, 0)); break;
        case Rounding::HalfAway: inc = tie_and(B.sle(constant(0), fl)); break;
    }
    return B.add(fl, B.ite(inc, constant(1), constant(0)));
}

// round((s + c) / den) under a rounding mode, exactly as round_div.
Val rescale_round(Builder& B, const Val& s, i128 c, i128 den, Rounding mode) {
    const i128 rlo = round_div(s.lo + c, den, mode), rhi = round_div(s.hi + c, den, mode);
    if (rlo == rhi) return constant(rlo);
    if (den == 1) return B.add(s, constant(c));
    int k = 0;
    while ((i128(1) << k) < den) ++k;
    const Val r = (i128(1) << k) == den ? round_pow2(B, s, c, k, mode) : round_general(B, B.add(s, constant(c)), den, mode);
    return B.narrow(r, rlo, rhi);
}

// x_j = base + v: the first layer's inputs are lo_j + d_j, later layers' base is 0.
struct InputTerm {
    i128 base = 0;
    Val v;
};

struct LayerEncoder {
    Builder& B;
    Encoding& e;
    const IntBounds& bounds;

    Val neuron(const IntLayer& L, size_t k, int64_t i, const std::vector<InputTerm>& in) {
        if (bounds.stable(k, i)) {
            ++e.stable_neurons;
            return constant(bounds.out_lo[k][i]);
        }
        i128 bias = L.b[i];
        std::map<i128, std::vector<Val>> by_weight;
        for (int64_t j = 0; j < L.in_size(); ++j) {
            const i128 w = L.W(i, j);
            if (w == 0) continue;  // pruned or quantized to zero: no term at all
            // Constant parts (box corner, zero point, stable neurons) go to the bias.
            bias += w * (in[j].base - L.in_zero);
            if (in[j].v.is_const()) bias += w * in[j].v.lo;
            else by_weight[w].push_back(in[j].v);
        }
        // Inputs that share a weight are summed first and multiplied once: with
        // Q-bit weights a neuron needs at most 2^Q constant multipliers, however
        // many inputs it has, and the adders below them stay narrow.
        std::vector<Val> terms;
        for (auto& [w, vs] : by_weight) terms.push_back(B.mul(B.sum(vs), w));
        // The accumulator is sum + bias; the bias stays apart so that rounding can
        // fold its offset into it.
        Val sum = B.sum(terms);
        sum = B.narrow(sum, bounds.acc_lo[k][i] - bias, bounds.acc_hi[k][i] - bias);
        if (const std::optional<Val> acc = apply_overflow(L, sum, bias)) {
            sum = *acc;
            bias = 0;
        }
        Val v = B.add(rescale_round(B, B.mul(sum, L.num), bias * L.num, L.den, L.rounding), constant(L.out_zero));
        v = clamp(L, v);
        return B.narrow(v, bounds.out_lo[k][i], bounds.out_hi[k][i]);
    }

    // The accumulator sum + bias after its width and overflow policy, as
    // IntNetwork::eval applies it; nothing when the policy cannot act on this box
    // (the exact sum always fits, or Detect, which goes on with the exact sum).
    std::optional<Val> apply_overflow(const IntLayer& L, const Val& sum, i128 bias) {
        const int bits = L.accumulator_bits > 0 ? L.accumulator_bits : 64;
        const i128 amin = -(i128(1) << (bits - 1)), amax = (i128(1) << (bits - 1)) - 1;
        if ((sum.lo + bias >= amin && sum.hi + bias <= amax) || L.overflow == Overflow::Detect) return std::nullopt;
        const Val acc = B.add(sum, constant(bias));
        if (L.overflow == Overflow::Saturate) {
            const Val low = B.ite(B.slt(acc, constant(amin)), constant(amin), acc);
            return B.narrow(B.ite(B.slt(constant(amax), low), constant(amax), low), amin, amax);
        }
        // Wrap: two's complement, keep the low `bits` bits.
        if (acc.is_const()) return constant(wrap(acc.lo, bits));
        return B.make(B.at(acc, bits), amin, amax);
    }

    // Saturation (and ReLU): each side only where it can trigger.
    Val clamp(const IntLayer& L, Val v) {
        if (v.lo < L.lo) {
            v = B.ite(B.slt(v, constant(L.lo)), constant(L.lo), v);
            v = B.narrow(v, L.lo, v.hi);
        } else if (L.lo != INT64_MIN) {
            ++e.dropped_clamps;
        }
        if (v.hi > L.hi) {
            v = B.ite(B.slt(constant(L.hi), v), constant(L.hi), v);
            v = B.narrow(v, v.lo, L.hi);
        } else if (L.hi != INT64_MAX) {
            ++e.dropped_clamps;
        }
        return v;
    }
};

// sum a_i q_i <= rhs, folded when the ranges decide it.
int constraint(Builder& B, const IntConstraint& c, const std::vector<Val>& out) {
    std::vector<Val> terms;
    for (const auto& [i, a] : c.terms) terms.push_back(B.mul(out[i], a));
    return B.sle(B.sum(terms), constant(c.rhs));
}

void mark_live(Encoding& e) {
    e.live.assign(e.nodes.size(), false);
    for (int a : e.assertions) e.live[a] = true;
    for (size_t i = e.nodes.size(); i-- > 0;)
        if (e.live[i])
            for (int a : e.nodes[i].args) e.live[a] = true;
    e.max_width = 0;
    for (size_t i = 0; i < e.nodes.size(); ++i)
        if (e.live[i]) e.max_width = std::max(e.max_width, e.nodes[i].width);
}

}  // namespace

Encoding encode(const IntQuery& q, const IntBounds* given) {
    const IntNetwork& net = *q.net;
    const size_t n = size_t(net.input_size());
    if (q.lo.size() != n || q.hi.size() != n) throw InputError(net.source, "the query's box does not match the network's input size");
    Encoding e;
    e.input_node.assign(n, -1);
    e.input_lo = q.lo;
    for (size_t j = 0; j < n; ++j)
        if (q.lo[j] > q.hi[j]) {  // an empty box: nothing is unsafe
            e.decided = false;
            mark_live(e);
            return e;
        }
    const IntBounds bounds = given ? *given : interval_bounds(net, q.lo, q.hi);
    Builder B(e);
    B.reserve_inputs(n);

    std::vector<InputTerm> in(n);
    for (size_t j = 0; j < n; ++j) {
        in[j].base = q.lo[j];
        in[j].v = q.hi[j] > q.lo[j] ? B.input(int(j), q.hi[j] - q.lo[j]) : constant(0);
    }
    LayerEncoder layer{B, e, bounds};
    for (size_t k = 0; k < net.layers.size(); ++k) {
        const IntLayer& L = net.layers[k];
        std::vector<InputTerm> out(L.out_size());
        for (int64_t i = 0; i < L.out_size(); ++i) out[i].v = layer.neuron(L, k, i, in);
        in.swap(out);
    }
    std::vector<Val> outputs;
    for (const InputTerm& t : in) outputs.push_back(t.v);

    std::vector<int> disjuncts;
    for (const auto& conj : q.unsafe) {
        std::vector<int> cs;
        for (const IntConstraint& c : conj) cs.push_back(constraint(B, c, outputs));
        disjuncts.push_back(B.and_(cs));
    }
    const int unsafe = B.or_(disjuncts);
    if (B.is_bool_const(unsafe, false)) e.decided = false;
    if (B.is_bool_const(unsafe, true)) e.decided = true;
    // Only the inputs the unsafe set depends on get a variable and a box
    // constraint; the others decode to the box's lower corner.
    e.assertions = {unsafe};
    mark_live(e);
    for (int c : B.box_constraints())
        if (e.live[e.nodes[c].args[0]]) e.assertions.insert(e.assertions.end() - 1, c);
    for (size_t j = 0; j < n; ++j)
        if (e.input_node[j] >= 0 && !e.live[e.input_node[j]]) e.input_node[j] = -1;
    mark_live(e);
    return e;
}

std::vector<int64_t> Encoding::decode(const std::function<uint64_t(int input)>& value) const {
    std::vector<int64_t> x(input_lo);
    for (size_t j = 0; j < x.size(); ++j)
        if (input_node[j] >= 0) x[j] += int64_t(value(int(j)));
    return x;
}

std::string unsigned_decimal(i128 v, int width) {
    unsigned __int128 u = (unsigned __int128)v;
    if (width < 128) u &= ((unsigned __int128)1 << width) - 1;
    if (u == 0) return "0";
    std::string s;
    while (u > 0) {
        s.push_back(char('0' + int(u % 10)));
        u /= 10;
    }
    return std::string(s.rbegin(), s.rend());
}

namespace {

const char* smt_op(Op op) {
    switch (op) {
        case Op::Add: return "bvadd";
        case Op::Mul: return "bvmul";
        case Op::Sdiv: return "bvsdiv";
        case Op::Srem: return "bvsrem";
        case Op::Ite: return "ite";
        case Op::Slt: return "bvslt";
        case Op::Sle: return "bvsle";
        case Op::Ule: return "bvule";
        case Op::Eq: return "=";
        case Op::And: return "and";
        case Op::Or: return "or";
        case Op::Not: return "not";
        default: return "?";
    }
}

std::string sort_of(const Node& n) { return n.width == 0 ? "Bool" : "(_ BitVec " + std::to_string(n.width) + ")"; }

}  // namespace

std::string to_smtlib2(const Encoding& e) {
    std::string out = "(set-logic QF_BV)\n";
    std::vector<int> uses(e.nodes.size(), 0);
    for (size_t i = 0; i < e.nodes.size(); ++i)
        if (e.live[i])
            for (int a : e.nodes[i].args) ++uses[a];
    for (int a : e.assertions) ++uses[a];
    std::vector<std::string> text(e.nodes.size());
    for (size_t i = 0; i < e.nodes.size(); ++i) {
        if (!e.live[i]) continue;
        const Node& n = e.nodes[i];
        std::string s;
        switch (n.op) {
            case Op::BoolConst: s = n.value ? "true" : "false"; break;
            case Op::BvConst: s = "(_ bv" + unsigned_decimal(n.value, n.width) + " " + std::to_string(n.width) + ")"; break;
            case Op::Input:
                s = "x" + std::to_string(n.a);
                out += "(declare-fun " + s + " () " + sort_of(n) + ")\n";
                break;
            case Op::ZeroExt: s = "((_ zero_extend " + std::to_string(n.a) + ") " + text[n.args[0]] + ")"; break;
            case Op::SignExt: s = "((_ sign_extend " + std::to_string(n.a) + ") " + text[n.args[0]] + ")"; break;
            case Op::Extract:
                s = "((_ extract " + std::to_string(n.a) + " " + std::to_string(n.b) + ") " + text[n.args[0]] + ")";
                break;
            default:
                s = std::string("(") + smt_op(n.op);
                for (int a : n.args) s += " " + text[a];
                s += ")";
        }
        // A subterm used more than once gets a name, so the text stays linear in the DAG.
        const bool leaf = n.op == Op::BoolConst || n.op == Op::BvConst || n.op == Op::Input;
        if (uses[i] > 1 && !leaf) {
            const std::string name = "n" + std::to_string(i);
            out += "(declare-fun " + name + " () " + sort_of(n) + ")\n(assert (= " + name + " " + s + "))\n";
            s = name;
        }
        text[i] = std::move(s);
        // Arguments used once are consumed now.
        for (int a : n.args)
            if (uses[a] == 1) std::string().swap(text[a]);
    }
    for (int a : e.assertions) out += "(assert " + text[a] + ")\n";
    out += "(check-sat)\n(exit)\n";
    return out;
}

Outcome run_smt(const std::string& method, const IntQuery& q, const Budget& budget, const SmtOptions& options,
                const std::function<SolverAnswer(const Encoding&, const Budget&)>& solve) {
    const auto start = std::chrono::steady_clock::now();
    Outcome out;
    out.method = method;
    auto finish = [&](Verdict v, std::string reason = "", std::vector<int64_t> cex = {}) {
        out.verdict = v;
        out.reason = std::move(reason);
        out.counterexample = std::move(cex);
        out.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return out;
    };
    // A claimed counterexample is only reported when the integer network confirms it.
    auto violated = [&](std::vector<int64_t> x) {
        if (!confirms(q, x)) return finish(Verdict::Unknown, "model did not re-check");
        return finish(Verdict::Violated, "", std::move(x));
    };
    if (budget.expired()) return finish(Verdict::Unknown, "timeout");
    for (size_t j = 0; j < q.lo.size(); ++j)
        if (q.lo[j] > q.hi[j]) return finish(Verdict::Holds);  // an empty box
    Encoding e;
    try {
        if (options.presolve) {
            // Symbolic bounds fix more neurons than intervals do, and a disjunct
            // they prove empty leaves the formula.
            const SymbolicBounds sb = symbolic_bounds(*q.net, q.lo, q.hi, &budget);
            IntQuery pruned = q;
            std::erase_if(pruned.unsafe, [&](const std::vector<IntConstraint>& conj) {
                return std::any_of(conj.begin(), conj.end(), [&](const IntConstraint& c) { return infeasible(sb, c); });
            });
            e = encode(pruned, &sb.bounds);
        } else {
            e = encode(q);
        }
    } catch (const std::overflow_error& ex) {
        return finish(Verdict::Unknown, std::string("encoding: ") + ex.what());
    }
    if (e.decided) {
        if (!*e.decided) return finish(Verdict::Holds);
        return violated(e.decode([](int) { return uint64_t(0); }));
    }
    const SolverAnswer a = solve(e, budget);
    switch (a.status) {
        case SolverAnswer::Unsat: return finish(Verdict::Holds);
        case SolverAnswer::Sat: return violated(a.input);
        case SolverAnswer::Unknown: break;
    }
    return finish(Verdict::Unknown, a.reason.empty() ? "unknown" : a.reason);
}

}  // namespace qcert::bv
