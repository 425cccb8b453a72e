// The cvc5 back end: the encoding's nodes become cvc5 terms one by one.
#include "backends/smt_cvc5.hpp"

#include "backends/bv_encoding.hpp"

#include <cvc5/cvc5.h>

#include <cmath>
#include <sstream>

namespace qcert {

namespace {

using bv::Node;
using bv::Op;

cvc5::Kind kind_of(Op op) {
    switch (op) {
        case Op::Add: return cvc5::BITVECTOR_ADD;
        case Op::Mul: return cvc5::BITVECTOR_MULT;
        case Op::Sdiv: return cvc5::BITVECTOR_SDIV;
        case Op::Srem: return cvc5::BITVECTOR_SREM;
        case Op::Ite: return cvc5::ITE;
        case Op::Slt: return cvc5::BITVECTOR_SLT;
        case Op::Sle: return cvc5::BITVECTOR_SLE;
        case Op::Ule: return cvc5::BITVECTOR_ULE;
        case Op::Eq: return cvc5::EQUAL;
        case Op::And: return cvc5::AND;
        case Op::Or: return cvc5::OR;
        case Op::Not: return cvc5::NOT;
        default: return cvc5::UNDEFINED_KIND;
    }
}

cvc5::Term make_term(cvc5::Solver& s, const Node& n, const std::vector<cvc5::Term>& args) {
    switch (n.op) {
        case Op::BoolConst: return s.mkBoolean(n.value != 0);
        case Op::BvConst: return s.mkBitVector(uint32_t(n.width), bv::unsigned_decimal(n.value, n.width), 10);
        case Op::Input: return s.mkConst(s.mkBitVectorSort(uint32_t(n.width)), "x" + std::to_string(n.a));
        case Op::ZeroExt: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_ZERO_EXTEND, {uint32_t(n.a)}), args);
        case Op::SignExt: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_SIGN_EXTEND, {uint32_t(n.a)}), args);
        case Op::Extract: return s.mkTerm(s.mkOp(cvc5::BITVECTOR_EXTRACT, {uint32_t(n.a), uint32_t(n.b)}), args);
        default: return s.mkTerm(kind_of(n.op), args);
    }
}

// The unsigned value of a bit-vector constant (widths of inputs stay below 64).
uint64_t value_of(const cvc5::Term& t) {
    uint64_t v = 0;
    for (char c : t.getBitVectorValue(2)) v = 2 * v + uint64_t(c == '1');
    return v;
}

bv::SolverAnswer solve(const bv::Encoding& e, const Budget& budget) {
    bv::SolverAnswer ans;
    cvc5::Solver s;
    s.setLogic("QF_BV");
    s.setOption("produce-models", "true");
    // Eager bit-blasting: one SAT problem up front. On these encodings (adders,
    // constant multiplications, comparisons) it is several times faster than the
    // default lazy mode.
    s.setOption("bitblast", "eager");
    const double left = budget.seconds_left();
    if (left < 1e9) s.setOption("tlimit-per", std::to_string(std::max<int64_t>(1, int64_t(std::ceil(left * 1000)))));
    const std::vector<cvc5::Term> terms =
        bv::lower<cvc5::Term>(e, cvc5::Term(), [&](const Node& n, const std::vector<cvc5::Term>& args) { return make_term(s, n, args); });
    for (int a : e.assertions) s.assertFormula(terms[a]);
    const cvc5::Result r = s.checkSat();
    if (r.isUnsat()) {
        ans.status = bv::SolverAnswer::Unsat;
    } else if (r.isSat()) {
        ans.status = bv::SolverAnswer::Sat;
        ans.input = e.decode([&](int j) { return value_of(s.getValue(terms[e.input_node[j]])); });
    } else if (r.getUnknownExplanation() == cvc5::TIMEOUT || budget.expired()) {
        ans.reason = "timeout";
    } else {
        std::ostringstream os;
        os << "cvc5: " << r.getUnknownExplanation();
        ans.reason = os.str();
    }
    return ans;
}

class Cvc5Method : public Method {
public:
    explicit Cvc5Method(bv::SmtOptions options) : options_(options) {}
    std::string name() const override { return "cvc5"; }
    bool complete() const override { return true; }
    Outcome run(const IntQuery& q, const Budget& budget) override {
        return bv::run_smt(name(), q, budget, options_, [](const bv::Encoding& e, const Budget& b) {
            try {
                return solve(e, b);
            } catch (const cvc5::CVC5ApiException& ex) {
                bv::SolverAnswer a;
                a.reason = std::string("cvc5: ") + ex.what();
                return a;
            }
        });
    }

private:
    bv::SmtOptions options_;
};

}  // namespace

std::unique_ptr<Method> make_cvc5_method(const bv::SmtOptions& options) { return std::make_unique<Cvc5Method>(options); }

}  // namespace qcert
