// The exact cross-check of `qcert params` for small piecewise-linear networks:
// "is there theta' in the box (and x in the input box) with |m(x; theta') - m(x; theta)| >= t?"
// in Z3's nonlinear real arithmetic. Every double becomes its exact rational value,
// ReLU an if-then-else, and the products of parameter and activation variables stay
// products: no relaxation, so sat / unsat is the exact answer for the outer box.
#include "qcert/error.hpp"
#include "qcert/params.hpp"

#include <cmath>
#include <fmt/format.h>
#include <z3++.h>

namespace qcert {

namespace {

// The decimal digits of 2^k.
std::string pow2_decimal(int k) {
    std::string d = "1";  // little-endian digits
    for (int i = 0; i < k; ++i) {
        int carry = 0;
        for (char& c : d) {
            const int v = (c - '0') * 2 + carry;
            c = char('0' + v % 10);
            carry = v / 10;
        }
        if (carry) d.push_back(char('0' + carry));
    }
    return std::string(d.rbegin(), d.rend());
}

// The exact rational value of a finite double.
z3::expr exact(z3::context& ctx, double v) {
    if (v == 0) return ctx.real_val(0);
    int e = 0;
    const double m = std::frexp(v, &e);                    // v = m 2^e, 0.5 <= |m| < 1
    const int64_t mant = int64_t(std::ldexp(m, 53));        // exact: 53 significant bits
    int shift = e - 53;                                     // v = mant 2^shift
    std::string num = std::to_string(mant);
    if (shift >= 0) return ctx.real_val(num.c_str()) * ctx.real_val(pow2_decimal(shift).c_str());
    return ctx.real_val((num + "/" + pow2_decimal(-shift)).c_str());
}

z3::expr activate(z3::context& ctx, const Block& b, const z3::expr& z) {
    z3::expr zero = ctx.real_val(0);
    z3::expr y = z;
    switch (b.act) {
        case Act::None: break;
        case Act::ReLU: y = z3::ite(z >= zero, z, zero); break;
        case Act::LeakyReLU: y = z3::ite(z >= zero, z, exact(ctx, b.alpha) * z); break;
        default: throw InputError("smt", std::string("not piecewise linear: ") + act_name(b.act));
    }
    if (std::isfinite(b.lo)) y = z3::ite(y < exact(ctx, b.lo), exact(ctx, b.lo), y);
    if (std::isfinite(b.hi)) y = z3::ite(y > exact(ctx, b.hi), exact(ctx, b.hi), y);
    return y;
}

// Logits: the last block's pre-activation when it has no activation (as the analysis
// takes them), else its output.
std::vector<z3::expr> logits(z3::context& ctx, const BlockNet& net, const std::vector<z3::expr>& x,
                             const std::vector<std::vector<z3::expr>>& W, const std::vector<std::vector<z3::expr>>& b) {
    std::vector<z3::expr> cur = x;
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& blk = net.blocks[k];
        std::vector<z3::expr> next;
        for (int64_t i = 0; i < blk.out_size(); ++i) {
            z3::expr z = b[k][size_t(i)];
            for (int64_t j = 0; j < blk.in_size(); ++j) z = z + W[k][size_t(i * blk.in_size() + j)] * cur[size_t(j)];
            const bool last = k + 1 == net.blocks.size();
            next.push_back(last && blk.act == Act::None ? z : activate(ctx, blk, z));
        }
        cur = std::move(next);
    }
    return cur;
}

}  // namespace

SmtAnswer smt_margin_change_at_least(const BlockNet& net, const Perturbation& p, const ParamsQuery& q, double t,
                                     double timeout_s) {
    check_params_query(net, q);
    if (!net.piecewise_linear()) throw InputError("smt", "the exact cross-check needs a piecewise-linear network");
    if (net.output_size() != 2) throw InputError("smt", "the exact cross-check needs two outputs");
    z3::context ctx;
    z3::solver s(ctx);
    z3::params prm(ctx);
    prm.set("timeout", unsigned(std::max(1.0, timeout_s * 1000)));
    s.set(prm);
    std::vector<z3::expr> x;
    for (size_t i = 0; i < q.input_lo.size(); ++i) {
        if (q.input_lo[i] == q.input_hi[i]) {
            x.push_back(exact(ctx, q.input_lo[i]));
            continue;
        }
        z3::expr v = ctx.real_const(fmt::format("x{}", i).c_str());
        s.add(v >= exact(ctx, q.input_lo[i]) && v <= exact(ctx, q.input_hi[i]));
        x.push_back(v);
    }
    std::vector<std::vector<z3::expr>> W1, b1, W0, b0;  // perturbed and nominal
    for (size_t k = 0; k < net.blocks.size(); ++k) {
        const Block& blk = net.blocks[k];
        W1.emplace_back(); b1.emplace_back(); W0.emplace_back(); b0.emplace_back();
        auto param = [&](double lo, double hi, const std::string& name) {
            if (!(lo < hi)) return exact(ctx, lo);
            z3::expr v = ctx.real_const(name.c_str());
            s.add(v >= exact(ctx, lo) && v <= exact(ctx, hi));
            return v;
        };
        for (int64_t i = 0; i < blk.out_size(); ++i) {
            for (int64_t j = 0; j < blk.in_size(); ++j) {
                W1[k].push_back(param(p.outer.w_lo[k](i, j), p.outer.w_hi[k](i, j), fmt::format("w{}_{}_{}", k, i, j)));
                W0[k].push_back(exact(ctx, blk.W(i, j)));
            }
            b1[k].push_back(param(p.outer.b_lo[k][i], p.outer.b_hi[k][i], fmt::format("b{}_{}", k, i)));
            b0[k].push_back(exact(ctx, blk.b[i]));
        }
    }
    const std::vector<z3::expr> y1 = logits(ctx, net, x, W1, b1), y0 = logits(ctx, net, x, W0, b0);
    const z3::expr m1 = y1[0] - y1[1], m0 = y0[0] - y0[1];
    const z3::expr th = exact(ctx, t);
    s.add(m1 - m0 >= th || m0 - m1 >= th);
    switch (s.check()) {
        case z3::sat: return SmtAnswer::Yes;
        case z3::unsat: return SmtAnswer::No;
        default: return SmtAnswer::Unknown;
    }
}

}  // namespace qcert
