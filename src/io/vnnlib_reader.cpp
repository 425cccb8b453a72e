// VNN-LIB reader: the SMT-LIB subset of the VNN-COMP 2021-2024 benchmarks.
//
//   (declare-const X_0 Real)  ...  (declare-const Y_0 Real)  ...
//   (assert (<= X_0 0.5))  (assert (>= X_0 -0.5))
//   (assert (or (and (>= Y_0 Y_1) (<= (+ Y_0 (* -1.0 Y_2)) 0)) (and ...)))
//
// Inputs are X_0 .. X_{n-1}, outputs Y_0 .. Y_{m-1}, all declared before use.
// The asserts are a conjunction of formulas built from and, or and the comparisons
// <= >= < > = (chainable, as in SMT-LIB) between linear terms: numbers, variables,
// (+ t ...), (- t), (- t u ...), (* c t) with at most one non-constant factor.
// Every atom is either an input atom, a bound on one X_i, or an output atom, a
// linear constraint over the Y's; an atom over both is rejected. The formula is put
// in disjunctive normal form; each disjunct gives an input box (all X bounded, lo <=
// hi) and a conjunction of output constraints: the UNSAFE region. Disjuncts with the
// same box share it (the usual file: one box, an OR of ANDs over Y), different boxes
// give several (VNN-COMP files that OR together (input box AND output) pairs).
//
// Numbers: decimal and scientific notation, with an optional sign. A decimal
// constant is read as the nearest double, and the arithmetic that folds a term
// into sum c_i v_i + c (sums, products, moving the right side to the left) is
// done in double precision. A strict input bound X < c becomes X <= the largest
// double below c (exact for double-valued inputs); strict output comparisons stay
// strict. Also accepted and ignored: set-logic, set-info, set-option, check-sat,
// get-model, exit; (declare-fun X_0 () Real) as a synonym of declare-const.
//
// The file may be gzip-compressed. Bad input throws InputError("<file>", "line N: what is wrong").
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <fmt/format.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qcert {
namespace {

constexpr size_t kMaxDepth = 200;          // parenthesis nesting
constexpr size_t kMaxDisjuncts = 100000;   // after distributing and over or
constexpr size_t kMaxAtoms = 5000000;      // constraints summed over the disjuncts of one expansion
constexpr size_t kMaxBytes = size_t(1) << 30;  // file contents, after gzip decompression
constexpr int64_t kMaxIndex = 100000000;   // X_i / Y_i

// One s-expression: a leaf (symbol or number) or a list.
struct Node {
    bool list = false;
    std::string_view text;  // leaf text; points into the file contents
    std::vector<Node> kids;
    int line = 0;
};

// A leaf shown in a message: at most 40 characters, non-printable ones as '?'.
std::string show(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > 40) out += "...";
    return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Leaves that start like a number ("1", "-2", "+.5", ".5e3", but not the lone
// symbols "-", "+", ".") must be one: variables are X_i and Y_i.
bool looks_numeric(std::string_view s) {
    return is_digit(s[0]) || (s.size() > 1 && (s[0] == '-' || s[0] == '+' || s[0] == '.'));
}

// [+-]? digits [. digits]? ([eE] [+-]? digits)?, digits on at least one side of '.'.
bool well_formed_number(std::string_view s) {
    size_t i = 0, n = s.size();
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t digits = 0;
    while (i < n && is_digit(s[i])) ++i, ++digits;
    if (i < n && s[i] == '.') {
        ++i;
        while (i < n && is_digit(s[i])) ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < n && is_digit(s[i])) ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    return i == n;
}

// A linear term sum x_i a_i + sum y_j b_j + c.
struct Linear {
    std::map<int64_t, double> x, y;
    double c = 0.0;

    void add(const Linear& o, double k) {
        for (const auto& [i, a] : o.x) x[i] += k * a;
        for (const auto& [j, b] : o.y) y[j] += k * b;
        c += k * o.c;
    }
    bool constant() const { return x.empty() && y.empty(); }
};

// x_i <= value (upper) or x_i >= value (lower).
struct Bound {
    int64_t index = 0;
    bool upper = false;
    double value = 0.0;
    int line = 0;
};

// One conjunction: input bounds and output constraints, `line` where it starts.
struct Conj {
    std::vector<Bound> bounds;
    std::vector<LinearConstraint> outputs;
    bool infeasible = false;  // holds a constant false atom
    int line = 0;
    size_t atoms() const { return bounds.size() + outputs.size(); }
};
using Dnf = std::vector<Conj>;

struct Decl {
    bool output = false;
    int64_t index = 0;
};

class Reader {
public:
    Reader(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

    VnnlibProperty read() {
        parse_forms();
        return result();
    }

private:
    std::string path_;
    std::string text_;
    int last_line_ = 1;
    std::map<std::string, Decl, std::less<>> decls_;
    std::map<int64_t, int> x_lines_, y_lines_;  // declared index -> line
    Conj global_;                                // top-level atoms
    std::vector<Dnf> ors_;                       // top-level disjunctions

    [[noreturn]] void fail(int line, const std::string& what) const {
        throw InputError(path_, fmt::format("line {}: {}", line, what));
    }

    // ---- s-expressions ------------------------------------------------------

    // Reads the file form by form, handing each complete top-level form to command().
    void parse_forms() {
        std::vector<Node> stack;
        const std::string_view t = text_;
        int line = 1;
        size_t i = 0;
        while (i < t.size()) {
            const char ch = t[i];
            if (ch == '\n') { ++line; ++i; continue; }
            if (is_space(ch)) { ++i; continue; }
            if (ch == ';') {
                while (i < t.size() && t[i] != '\n') ++i;
                continue;
            }
            if (ch == '(') {
                if (stack.size() >= kMaxDepth) fail(line, fmt::format("parentheses nested deeper than {}", kMaxDepth));
                Node n;
                n.list = true;
                n.line = line;
                stack.push_back(std::move(n));
                ++i;
                continue;
            }
            if (ch == ')') {
                if (stack.empty()) fail(line, "unbalanced ')' without a matching '('");
                Node n = std::move(stack.back());
                stack.pop_back();
                ++i;
                if (stack.empty()) command(n);
                else stack.back().kids.push_back(std::move(n));
                continue;
            }
            size_t j = i;
            while (j < t.size() && !is_space(t[j]) && t[j] != '(' && t[j] != ')' && t[j] != ';') ++j;
            Node leaf;
            leaf.text = t.substr(i, j - i);
            leaf.line = line;
            if (stack.empty()) fail(line, fmt::format("'{}' outside parentheses", show(leaf.text)));
            stack.back().kids.push_back(leaf);
            i = j;
        }
        last_line_ = (line > 1 && t.back() == '\n') ? line - 1 : line;
        if (!stack.empty()) fail(stack.back().line, "unbalanced '(' never closed");
    }

    std::string_view head(const Node& n) const {
        if (n.kids.empty()) fail(n.line, "empty expression '()'");
        if (n.kids[0].list) fail(n.line, "expected an operator or command name after '('");
        return n.kids[0].text;
    }

    // ---- commands -----------------------------------------------------------

    void command(const Node& n) {
        const std::string_view h = head(n);
        if (h == "declare-const") {
            if (n.kids.size() != 3) fail(n.line, "expected (declare-const NAME Real)");
            declare(n.kids[1], n.kids[2], n.line);
        } else if (h == "declare-fun") {
            if (n.kids.size() != 4 || !n.kids[2].list || !n.kids[2].kids.empty())
                fail(n.line, "expected (declare-fun NAME () Real)");
            declare(n.kids[1], n.kids[3], n.line);
        } else if (h == "assert") {
            if (n.kids.size() != 2) fail(n.line, "expected (assert FORMULA)");
            top_level(n.kids[1]);
        } else if (h == "set-logic" || h == "set-info" || h == "set-option" || h == "check-sat" ||
                   h == "get-model" || h == "exit") {
            // no meaning for the property
        } else {
            fail(n.line, fmt::format("unsupported command '{}'", show(h)));
        }
    }

    void declare(const Node& name, const Node& sort, int line) {
        if (name.list) fail(line, "expected a variable name after declare-const");
        if (sort.list || sort.text != "Real")
            fail(line, fmt::format("variable '{}' must have sort Real", show(name.text)));
        const std::string_view s = name.text;
        const bool ok_prefix = s.size() > 2 && (s[0] == 'X' || s[0] == 'Y') && s[1] == '_';
        int64_t index = -1;
        if (ok_prefix) {
            auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), index);
            if (ec != std::errc() || p != s.data() + s.size() || !is_digit(s[2])) index = -1;
        }
        if (index < 0) fail(line, fmt::format("variable '{}' must be named X_i (input) or Y_i (output)", show(s)));
        if (index > kMaxIndex) fail(line, fmt::format("variable index in '{}' is too large", show(s)));
        auto& lines = s[0] == 'X' ? x_lines_ : y_lines_;
        if (decls_.count(s) || lines.count(index)) fail(line, fmt::format("variable '{}' declared twice", show(s)));
        decls_.emplace(std::string(s), Decl{s[0] == 'Y', index});
        lines.emplace(index, line);
    }

    // ---- formulas -----------------------------------------------------------

    static bool is_comparison(std::string_view h) {
        return h == "<=" || h == ">=" || h == "<" || h == ">" || h == "=";
    }

    // Top-level conjunctions are flattened: atoms go to global_, disjunctions to ors_.
    void top_level(const Node& f) {
        if (!f.list) fail(f.line, fmt::format("expected a formula, got '{}'", show(f.text)));
        const std::string_view h = head(f);
        if (h == "and") {
            for (size_t k = 1; k < f.kids.size(); ++k) top_level(f.kids[k]);
        } else if (h == "or") {
            Dnf d = dnf(f);
            if (d.size() == 1) merge(global_, d[0]);  // a one-way 'or' is a conjunction
            else ors_.push_back(std::move(d));
        } else if (is_comparison(h)) {
            atom(f, global_);
        } else {
            unsupported_formula(f, h);
        }
    }

    [[noreturn]] void unsupported_formula(const Node& f, std::string_view h) const {
        fail(f.line, fmt::format("unsupported operator '{}' in a formula (expected and, or, <=, >=, <, >, =)", show(h)));
    }

    Dnf dnf(const Node& f) {
        if (!f.list) fail(f.line, fmt::format("expected a formula, got '{}'", show(f.text)));
        const std::string_view h = head(f);
        if (h == "or") {
            if (f.kids.size() < 2) fail(f.line, "'or' without operands");
            Dnf out;
            for (size_t k = 1; k < f.kids.size(); ++k) {
                Dnf d = dnf(f.kids[k]);
                if (out.size() + d.size() > kMaxDisjuncts) too_many(f.line);
                for (Conj& c : d) out.push_back(std::move(c));
            }
            return out;
        }
        if (h == "and") {
            if (f.kids.size() < 2) fail(f.line, "'and' without operands");
            Conj start;
            start.line = f.line;
            Dnf out{start};
            for (size_t k = 1; k < f.kids.size(); ++k) out = product(out, dnf(f.kids[k]), f.line);
            return out;
        }
        if (is_comparison(h)) {
            Conj c;
            c.line = f.line;
            atom(f, c);
            return {c};
        }
        unsupported_formula(f, h);
    }

    [[noreturn]] void too_many(int line) const {
        fail(line, fmt::format("more than {} disjuncts after distributing 'and' over 'or'", kMaxDisjuncts));
    }

    static void merge(Conj& into, const Conj& c) {
        into.bounds.insert(into.bounds.end(), c.bounds.begin(), c.bounds.end());
        into.outputs.insert(into.outputs.end(), c.outputs.begin(), c.outputs.end());
        into.infeasible = into.infeasible || c.infeasible;
    }

    // Every conjunction of a with every conjunction of b; infeasible ones dropped.
    Dnf product(const Dnf& a, const Dnf& b, int line) {
        if (a.size() * b.size() > kMaxDisjuncts && !a.empty() && !b.empty()) too_many(line);
        Dnf out;
        size_t atoms = 0;
        for (const Conj& p : a) {
            for (const Conj& q : b) {
                if (p.infeasible || q.infeasible) continue;
                atoms += p.atoms() + q.atoms();
                if (atoms > kMaxAtoms)
                    fail(line, fmt::format("more than {} constraints after distributing 'and' over 'or'", kMaxAtoms));
                Conj c = p;
                if (c.line == 0) c.line = q.line;
                merge(c, q);
                out.push_back(std::move(c));
            }
        }
        return out;
    }

    // ---- atoms --------------------------------------------------------------

    Linear term(const Node& n) {
        Linear r;
        if (!n.list) {
            const std::string_view s = n.text;
            if (looks_numeric(s)) {
                r.c = number(n);
                return r;
            }
            auto it = decls_.find(s);
            if (it == decls_.end()) fail(n.line, fmt::format("unknown variable '{}' (not declared)", show(s)));
            (it->second.output ? r.y : r.x)[it->second.index] = 1.0;
            return r;
        }
        const std::string_view h = head(n);
        const size_t args = n.kids.size() - 1;
        if (h == "+") {
            if (args < 1) fail(n.line, "'+' without operands");
            for (size_t k = 1; k < n.kids.size(); ++k) r.add(term(n.kids[k]), 1.0);
        } else if (h == "-") {
            if (args < 1) fail(n.line, "'-' without operands");
            if (args == 1) {
                r.add(term(n.kids[1]), -1.0);
            } else {
                r = term(n.kids[1]);
                for (size_t k = 2; k < n.kids.size(); ++k) r.add(term(n.kids[k]), -1.0);
            }
        } else if (h == "*") {
            if (args < 1) fail(n.line, "'*' without operands");
            double k = 1.0;
            bool have_var = false;
            Linear var;
            for (size_t i = 1; i < n.kids.size(); ++i) {
                Linear f = term(n.kids[i]);
                if (f.constant()) {
                    k *= f.c;
                } else {
                    if (have_var) fail(n.line, "non-linear term: a product of two variable terms");
                    have_var = true;
                    var = std::move(f);
                }
            }
            if (have_var) r.add(var, k);
            else r.c = k;
        } else {
            fail(n.line, fmt::format("unsupported operator '{}' in a term (expected +, -, *)", show(h)));
        }
        return r;
    }

    double number(const Node& n) const {
        std::string_view s = n.text;
        if (!well_formed_number(s)) fail(n.line, fmt::format("malformed number '{}'", show(s)));
        if (s[0] == '+') s.remove_prefix(1);
        double v = 0.0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);  // nearest double
        if (ec == std::errc::result_out_of_range || !std::isfinite(v))
            fail(n.line, fmt::format("number '{}' is out of the double range", show(n.text)));
        if (ec != std::errc() || p != s.data() + s.size()) fail(n.line, fmt::format("malformed number '{}'", show(n.text)));
        return v;
    }

    // A comparison (op a b ...) as constraints e <= 0 / e < 0 added to `into`.
    void atom(const Node& f, Conj& into) {
        const std::string_view op = head(f);
        if (f.kids.size() < 3) fail(f.line, fmt::format("'{}' needs two operands", op));
        std::vector<Linear> t;
        for (size_t k = 1; k < f.kids.size(); ++k) t.push_back(term(f.kids[k]));
        for (size_t k = 0; k + 1 < t.size(); ++k) {
            Linear d = t[k];  // d = lhs - rhs
            d.add(t[k + 1], -1.0);
            Linear neg;
            neg.add(d, -1.0);
            if (op == "<=") constrain(d, false, f.line, into);
            else if (op == "<") constrain(d, true, f.line, into);
            else if (op == ">=") constrain(neg, false, f.line, into);
            else if (op == ">") constrain(neg, true, f.line, into);
            else constrain(d, false, f.line, into), constrain(neg, false, f.line, into);  // "="
        }
    }

    // e <= 0 (e < 0 when strict).
    void constrain(const Linear& e, bool strict, int line, Conj& into) {
        std::vector<std::pair<int64_t, double>> xs, ys;
        for (const auto& [i, a] : e.x) if (a != 0.0) xs.push_back({i, a});
        for (const auto& [j, b] : e.y) if (b != 0.0) ys.push_back({j, b});
        bool finite = std::isfinite(e.c);
        for (const auto& [i, a] : xs) finite = finite && std::isfinite(a);
        for (const auto& [j, b] : ys) finite = finite && std::isfinite(b);
        if (!finite) fail(line, "a coefficient or constant overflows the double range");
        if (!xs.empty() && !ys.empty())
            fail(line, "a constraint mixes input (X) and output (Y) variables; not supported");
        if (!ys.empty()) {
            LinearConstraint c;
            c.terms = std::move(ys);
            c.rhs = -e.c;
            c.strict = strict;
            into.outputs.push_back(std::move(c));
            return;
        }
        if (!xs.empty()) {
            if (xs.size() > 1)
                fail(line, fmt::format("an input constraint must bound one variable; X_{} and X_{} appear together",
                                       xs[0].first, xs[1].first));
            const auto [i, a] = xs[0];
            Bound b;
            b.index = i;
            b.upper = a > 0;  // a x + c <= 0: x <= -c/a when a > 0, x >= -c/a when a < 0
            b.value = -e.c / a;
            if (strict) b.value = std::nextafter(b.value, b.upper ? -HUGE_VAL : HUGE_VAL);
            if (!std::isfinite(b.value)) fail(line, fmt::format("the bound on X_{} overflows the double range", i));
            b.line = line;
            into.bounds.push_back(b);
            return;
        }
        if (!(strict ? e.c < 0 : e.c <= 0)) into.infeasible = true;  // a false constant comparison
    }

    // ---- the property -------------------------------------------------------

    // Indices must be exactly 0 .. n-1.
    int64_t count_vars(const std::map<int64_t, int>& lines, char prefix) const {
        if (lines.empty())
            fail(last_line_, fmt::format("no {} variables declared (expected (declare-const {}_0 Real) ...)",
                                         prefix == 'X' ? "input" : "output", prefix));
        int64_t expect = 0;
        for (const auto& [i, line] : lines) {
            if (i != expect) fail(line, fmt::format("{}_{} is declared but {}_{} is not", prefix, i, prefix, expect));
            ++expect;
        }
        return expect;
    }

    // The box of one disjunct: the tightest of the global and its own bounds.
    std::vector<std::pair<double, double>> box(const Conj& c, int64_t n, bool own_line) const {
        std::vector<std::pair<double, double>> b(n, {-HUGE_VAL, HUGE_VAL});
        std::vector<std::pair<int, int>> lines(n, {0, 0});
        for (const std::vector<Bound>* list : {&global_.bounds, &c.bounds}) {
            for (const Bound& bd : *list) {
                if (bd.index >= n) fail(bd.line, fmt::format("X_{} is not declared", bd.index));
                if (bd.upper && bd.value < b[bd.index].second) b[bd.index].second = bd.value, lines[bd.index].second = bd.line;
                if (!bd.upper && bd.value > b[bd.index].first) b[bd.index].first = bd.value, lines[bd.index].first = bd.line;
            }
        }
        for (int64_t i = 0; i < n; ++i) {
            const int where = own_line && c.line > 0 ? c.line : x_lines_.at(i);
            const char* in = own_line ? " in this disjunct" : "";
            if (b[i].first == -HUGE_VAL) fail(where, fmt::format("X_{} has no lower bound{}", i, in));
            if (b[i].second == HUGE_VAL) fail(where, fmt::format("X_{} has no upper bound{}", i, in));
            if (b[i].first > b[i].second)
                fail(std::max(lines[i].first, lines[i].second),
                     fmt::format("X_{}: lower bound {} exceeds upper bound {}", i, b[i].first, b[i].second));
        }
        return b;
    }

    // The output constraints of a disjunct, with the global ones first.
    std::vector<LinearConstraint> conjunction(const Conj& c) const {
        std::vector<LinearConstraint> conj = global_.outputs;
        conj.insert(conj.end(), c.outputs.begin(), c.outputs.end());
        return conj;
    }

    VnnlibProperty result() {
        VnnlibProperty p;
        p.inputs = count_vars(x_lines_, 'X');
        p.outputs = count_vars(y_lines_, 'Y');

        // Distribute the top-level conjunction over its disjunctions.
        Dnf all{Conj{}};
        for (const Dnf& d : ors_) all = product(all, d, d.empty() ? last_line_ : d.front().line);
        if (global_.infeasible) all.clear();
        std::erase_if(all, [](const Conj& c) { return c.infeasible; });
        const bool disjuncts_have_bounds = std::any_of(all.begin(), all.end(), [](const Conj& c) { return !c.bounds.empty(); });

        // The usual file: every disjunct has the global box. Also when nothing is unsafe.
        if (!disjuncts_have_bounds || all.empty()) {
            p.input_boxes.push_back(box(Conj{}, p.inputs, false));
            for (const Conj& c : all) p.unsafe.unsafe.push_back(conjunction(c));
            return p;
        }
        // Disjuncts with their own bounds: those with equal boxes share one.
        std::map<std::vector<std::pair<double, double>>, size_t> box_index;
        std::vector<OutputProperty> per_box;
        for (const Conj& c : all) {
            auto b = box(c, p.inputs, true);
            auto [it, fresh] = box_index.emplace(b, p.input_boxes.size());
            if (fresh) {
                p.input_boxes.push_back(std::move(b));
                per_box.emplace_back();
            }
            per_box[it->second].unsafe.push_back(conjunction(c));
            p.unsafe.unsafe.push_back(conjunction(c));
        }
        if (p.input_boxes.size() > 1) p.per_box_unsafe = std::move(per_box);
        return p;
    }
};

}  // namespace

VnnlibProperty read_vnnlib(const std::string& path) {
    // zlib reads plain files as they are and gzip files (.vnnlib.gz, as some VNN-COMP
    // benchmarks ship them) decompressed.
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw InputError(path, std::string("cannot open file: ") + std::strerror(errno));
    std::string text;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
        text.append(buf, size_t(n));
        if (text.size() > kMaxBytes) {
            gzclose(f);
            throw InputError(path, fmt::format("larger than {} MiB", kMaxBytes >> 20));
        }
    }
    const bool failed = n < 0;
    gzclose(f);
    if (failed) throw InputError(path, "cannot read file (corrupt gzip data?)");
    return Reader(path, std::move(text)).read();
}

bool VnnlibProperty::is_unsafe(const std::vector<double>& x, const Vec& y) const {
    if (int64_t(x.size()) != inputs || y.size() != outputs)
        throw std::invalid_argument(fmt::format("VnnlibProperty::is_unsafe: got {} inputs and {} outputs, expected {} and {}",
                                                x.size(), y.size(), inputs, outputs));
    for (size_t b = 0; b < input_boxes.size(); ++b) {
        bool inside = true;
        for (size_t i = 0; i < x.size() && inside; ++i)
            inside = input_boxes[b][i].first <= x[i] && x[i] <= input_boxes[b][i].second;
        if (inside && unsafe_for(b).is_unsafe(y)) return true;
    }
    return false;
}

}  // namespace qcert
