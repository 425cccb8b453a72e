// VNN-LIB reader and VNN-COMP result writer: ACAS Xu style properties, robustness
// disjunctions, mixed input/output disjunctions, the meaning of the parsed unsafe set
// on concrete outputs, every kind of bad input, and the exact result-file text.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace qcert {
namespace {

std::string write_text(const test::TempDir& t, const std::string& name, const std::string& text) {
    std::string path = t.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string declare(int inputs, int outputs) {
    std::string s;
    for (int i = 0; i < inputs; ++i) s += "(declare-const X_" + std::to_string(i) + " Real)\n";
    for (int j = 0; j < outputs; ++j) s += "(declare-const Y_" + std::to_string(j) + " Real)\n";
    return s;
}

Vec vec(std::initializer_list<double> v) {
    Vec r(v.size());
    int i = 0;
    for (double d : v) r[i++] = d;
    return r;
}

using Box = std::vector<std::pair<double, double>>;

// ---- ACAS Xu properties 1..4 (as in the VNN-COMP 2021-2023 acasxu benchmark) --------

const char* kAcasInputs1 =
    "(assert (<= X_0 0.679857769))\n(assert (>= X_0 0.6))\n"
    "(assert (<= X_1 0.5))\n(assert (>= X_1 -0.5))\n"
    "(assert (<= X_2 0.5))\n(assert (>= X_2 -0.5))\n"
    "(assert (<= X_3 0.5))\n(assert (>= X_3 0.45))\n"
    "(assert (<= X_4 -0.45))\n(assert (>= X_4 -0.5))\n";

const Box kAcasBox1 = {{0.6, 0.679857769}, {-0.5, 0.5}, {-0.5, 0.5}, {0.45, 0.5}, {-0.5, -0.45}};

TEST(Vnnlib, AcasXuProperty1) {
    test::TempDir t;
    auto p = write_text(t, "prop_1.vnnlib",
                        "; ACAS Xu property 1\n" + declare(5, 5) + "\n; Unscaled Input 0: (55947.691, 60760)\n" +
                            kAcasInputs1 +
                            "\n; unsafe if COC >= 1500 (scaled: (1500 - 7.518884) / 373.94992)\n"
                            "(assert (>= Y_0 3.991125645861615))\n");
    VnnlibProperty v = read_vnnlib(p);
    EXPECT_EQ(v.inputs, 5);
    EXPECT_EQ(v.outputs, 5);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    EXPECT_EQ(v.input_boxes[0], kAcasBox1);
    EXPECT_TRUE(v.per_box_unsafe.empty());
    ASSERT_EQ(v.unsafe.unsafe.size(), 1u);
    ASSERT_EQ(v.unsafe.unsafe[0].size(), 1u);
    const LinearConstraint& c = v.unsafe.unsafe[0][0];  // -Y_0 <= -3.99...
    ASSERT_EQ(c.terms.size(), 1u);
    EXPECT_EQ(c.terms[0].first, 0);
    EXPECT_EQ(c.terms[0].second, -1.0);
    EXPECT_EQ(c.rhs, -3.991125645861615);
    EXPECT_FALSE(c.strict);
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({4.0, 0, 0, 0, 0})));
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({3.991125645861615, 9, 9, 9, 9})));  // >= includes equality
    EXPECT_FALSE(v.unsafe.is_unsafe(vec({3.99, 9, 9, 9, 9})));
}

TEST(Vnnlib, AcasXuProperty2CocMaximal) {
    test::TempDir t;
    auto p = write_text(t, "prop_2.vnnlib",
                        declare(5, 5) + kAcasInputs1 +
                            "; unsafe if COC is maximal\n"
                            "(assert (<= Y_1 Y_0))\n(assert (<= Y_2 Y_0))\n(assert (<= Y_3 Y_0))\n(assert (<= Y_4 Y_0))\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    ASSERT_EQ(v.unsafe.unsafe.size(), 1u);  // one conjunction of four constraints
    EXPECT_EQ(v.unsafe.unsafe[0].size(), 4u);
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({1, 0, 0, 0, 0})));
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({1, 1, 1, 1, 1})));  // ties count
    EXPECT_FALSE(v.unsafe.is_unsafe(vec({1, 0, 0, 2, 0})));
}

const char* kAcasMinimal =
    "; unsafe if COC is minimal\n"
    "(assert (<= Y_0 Y_1))\n(assert (<= Y_0 Y_2))\n(assert (<= Y_0 Y_3))\n(assert (<= Y_0 Y_4))\n";

TEST(Vnnlib, AcasXuProperty3And4CocMinimal) {
    test::TempDir t;
    auto p3 = write_text(t, "prop_3.vnnlib",
                         declare(5, 5) +
                             "(assert (<= X_0 -0.298552812))\n(assert (>= X_0 -0.303531156))\n"
                             "(assert (<= X_1 0.009549297))\n(assert (>= X_1 -0.009549297))\n"
                             "(assert (<= X_2 0.5))\n(assert (>= X_2 0.493380324))\n"
                             "(assert (<= X_3 0.5))\n(assert (>= X_3 0.3))\n"
                             "(assert (<= X_4 0.5))\n(assert (>= X_4 0.3))\n" +
                             kAcasMinimal);
    auto p4 = write_text(t, "prop_4.vnnlib",
                         declare(5, 5) +
                             "(assert (<= X_0 -0.298552812))\n(assert (>= X_0 -0.303531156))\n"
                             "(assert (<= X_1 0.009549297))\n(assert (>= X_1 -0.009549297))\n"
                             "(assert (<= X_2 0))\n(assert (>= X_2 0))\n"
                             "(assert (<= X_3 0.5))\n(assert (>= X_3 0.318181818))\n"
                             "(assert (<= X_4 0.166666667))\n(assert (>= X_4 0.083333333))\n" +
                             kAcasMinimal);
    VnnlibProperty v3 = read_vnnlib(p3), v4 = read_vnnlib(p4);
    EXPECT_EQ(v3.input_boxes[0][0], std::make_pair(-0.303531156, -0.298552812));
    EXPECT_EQ(v3.input_boxes[0][2], std::make_pair(0.493380324, 0.5));
    EXPECT_EQ(v4.input_boxes[0][2], std::make_pair(0.0, 0.0));  // a point is a box
    EXPECT_EQ(v4.input_boxes[0][4], std::make_pair(0.083333333, 0.166666667));
    for (const VnnlibProperty* v : {&v3, &v4}) {
        EXPECT_TRUE(v->unsafe.is_unsafe(vec({-1, 0, 0, 0, 0})));
        EXPECT_FALSE(v->unsafe.is_unsafe(vec({0, 1, 1, -1, 1})));
    }
}

// ---- robustness: OR of ANDs over Y --------------------------------------------------

TEST(Vnnlib, RobustnessDisjunctionMatchesItsMeaning) {
    test::TempDir t;
    // Label 3 of 5; MNIST-style linear form for some disjuncts, strict for others.
    auto p = write_text(t, "robust.vnnlib",
                        declare(2, 5) +
                            "(assert (<= X_0 1.0e0))(assert (>= X_0 -1E-1))\n"
                            "(assert (<= X_1 +.5)) (assert (>= X_1 -0.5))\n"
                            "(assert (or\n"
                            "    (and (>= Y_0 Y_3))\n"
                            "    (and (<= (+ Y_3 (* -1.0 Y_1)) 0))\n"
                            "    (and (> (- Y_2 Y_3) 0))\n"
                            "    (and (< (- Y_4) (- Y_3)) (>= Y_4 -2.5e+1))\n"
                            "))\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    EXPECT_EQ(v.input_boxes[0], (Box{{-0.1, 1.0}, {-0.5, 0.5}}));
    ASSERT_EQ(v.unsafe.unsafe.size(), 4u);
    EXPECT_EQ(v.unsafe.unsafe[3].size(), 2u);
    EXPECT_FALSE(v.unsafe.unsafe[0][0].strict);
    EXPECT_TRUE(v.unsafe.unsafe[2][0].strict);
    auto meaning = [](const Vec& y) {
        return y[0] >= y[3] || y[3] - y[1] <= 0 || y[2] - y[3] > 0 || (-y[4] < -y[3] && y[4] >= -25);
    };
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> small(-3, 3);  // small integers: many ties
    for (int k = 0; k < 2000; ++k) {
        Vec y(5);
        for (int j = 0; j < 5; ++j) y[j] = small(rng);
        if (k % 3 == 0) y[4] = -25 + small(rng) * 0.5;
        EXPECT_EQ(v.unsafe.is_unsafe(y), meaning(y)) << y.transpose();
    }
    EXPECT_TRUE(v.is_unsafe({0.0, 0.0}, vec({0, 6, 0, 5, 0})));   // Y_3 <= Y_1
    EXPECT_FALSE(v.is_unsafe({0.0, 0.0}, vec({0, 0, 0, 5, 0})));  // label 3 strictly wins
    EXPECT_FALSE(v.is_unsafe({2.0, 0.0}, vec({0, 6, 0, 5, 0})));  // X_0 outside the box
}

// ---- OR of (input box AND output constraints) ---------------------------------------

TEST(Vnnlib, MixedInputOutputDisjunctsGiveOneBoxEach) {
    test::TempDir t;
    auto p = write_text(t, "mixed.vnnlib",
                        declare(2, 2) +
                            "(assert (or\n"
                            "  (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) (<= Y_0 -1))\n"
                            "  (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1) (>= Y_1 5) (<= Y_0 Y_1))\n"
                            "  (and (<= X_0 1) (>= X_0 0) (<= X_1 1) (>= X_1 0) (>= Y_0 100))\n"
                            "))\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 2u);  // the first and third disjuncts share a box
    EXPECT_EQ(v.input_boxes[0], (Box{{0, 1}, {0, 1}}));
    EXPECT_EQ(v.input_boxes[1], (Box{{2, 3}, {0, 1}}));
    ASSERT_EQ(v.per_box_unsafe.size(), 2u);
    EXPECT_EQ(v.per_box_unsafe[0].unsafe.size(), 2u);
    EXPECT_EQ(v.per_box_unsafe[1].unsafe.size(), 1u);
    EXPECT_EQ(v.unsafe.unsafe.size(), 3u);  // the union
    EXPECT_TRUE(v.is_unsafe({0.5, 0.5}, vec({-2, 0})));
    EXPECT_TRUE(v.is_unsafe({0.5, 0.5}, vec({200, 0})));
    EXPECT_FALSE(v.is_unsafe({0.5, 0.5}, vec({0, 6})));  // the second box's constraint, wrong box
    EXPECT_TRUE(v.is_unsafe({2.5, 0.5}, vec({0, 6})));
    EXPECT_FALSE(v.is_unsafe({2.5, 0.5}, vec({-2, 0})));
    EXPECT_FALSE(v.is_unsafe({1.5, 0.5}, vec({-2, 6})));  // between the boxes
    EXPECT_EQ(&v.unsafe_for(1), &v.per_box_unsafe[1]);
}

TEST(Vnnlib, GlobalBoundsAndDisjunctsWithTheSameBoxGiveOneBox) {
    test::TempDir t;
    // Bounds at the top level plus an 'or' whose disjuncts repeat a tighter bound.
    auto p = write_text(t, "same.vnnlib",
                        declare(1, 2) +
                            "(assert (and (>= X_0 -1) (<= X_0 1)))\n"
                            "(assert (or (and (<= X_0 0.5) (>= Y_0 Y_1)) (and (<= X_0 0.5) (>= Y_1 3))))\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    EXPECT_EQ(v.input_boxes[0], (Box{{-1, 0.5}}));
    EXPECT_TRUE(v.per_box_unsafe.empty());
    EXPECT_EQ(v.unsafe.unsafe.size(), 2u);
}

// ---- syntax details -----------------------------------------------------------------

TEST(Vnnlib, SyntaxVariants) {
    test::TempDir t;
    auto p = write_text(t, "syntax.vnnlib",
                        "(set-logic QF_LRA) ; a comment after code\n"
                        "(declare-fun X_0 () Real)\n(declare-const X_1 Real)(declare-const X_2 Real)\n"
                        "(declare-const Y_0 Real)\n"
                        "(assert (<= -1 X_0 2.))             ; chained\n"
                        "(assert (= X_1 (- 0.25)))           ; equality, unary minus\n"
                        "(assert (and (> X_2 0) (< X_2 1)))  ; strict bounds\n"
                        "(assert (<= (* 2 Y_0 0.5) (+ 1 (* 3 -1))))\n"
                        "(check-sat)\n(get-model)\n(exit)\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    const Box& b = v.input_boxes[0];
    EXPECT_EQ(b[0], std::make_pair(-1.0, 2.0));
    EXPECT_EQ(b[1], std::make_pair(-0.25, -0.25));
    EXPECT_EQ(b[2].first, std::nextafter(0.0, 1.0));  // X > 0: the smallest double above 0
    EXPECT_EQ(b[2].second, std::nextafter(1.0, 0.0));
    ASSERT_EQ(v.unsafe.unsafe.size(), 1u);
    const LinearConstraint& c = v.unsafe.unsafe[0][0];  // Y_0 - (-2) <= 0
    ASSERT_EQ(c.terms.size(), 1u);
    EXPECT_EQ(c.terms[0].second, 1.0);
    EXPECT_EQ(c.rhs, -2.0);
}

TEST(Vnnlib, StrictInputBoundsOnIntegersExcludeTheBound) {
    test::TempDir t;
    auto p = write_text(t, "strict.vnnlib", declare(1, 1) + "(assert (< X_0 3))(assert (> X_0 -3))(assert (>= Y_0 0))\n");
    VnnlibProperty v = read_vnnlib(p);
    EXPECT_LT(v.input_boxes[0][0].second, 3.0);
    EXPECT_EQ(std::floor(v.input_boxes[0][0].second), 2.0);
    EXPECT_GT(v.input_boxes[0][0].first, -3.0);
    EXPECT_EQ(std::ceil(v.input_boxes[0][0].first), -2.0);
}

TEST(Vnnlib, NoOutputConstraintMeansEveryOutputIsUnsafe) {
    test::TempDir t;
    auto p = write_text(t, "none.vnnlib", declare(1, 1) + "(assert (<= 0 X_0 1))\n");
    VnnlibProperty v = read_vnnlib(p);
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({123.0})));
}

TEST(Vnnlib, ConstantFalseComparisonLeavesNothingUnsafe) {
    test::TempDir t;
    auto p = write_text(t, "false.vnnlib", declare(1, 1) + "(assert (<= 0 X_0 1))\n(assert (or (and (< 1 0) (>= Y_0 0)) (> Y_0 Y_0)))\n");
    VnnlibProperty v = read_vnnlib(p);
    ASSERT_EQ(v.input_boxes.size(), 1u);
    EXPECT_FALSE(v.unsafe.is_unsafe(vec({5.0})));
    EXPECT_FALSE(v.unsafe.is_unsafe(vec({-5.0})));
}

TEST(Vnnlib, GzipCompressedFile) {
    test::TempDir t;
    const std::string text = declare(1, 2) + "(assert (<= -1 X_0 1))\n(assert (> Y_1 Y_0))\n";
    const std::string p = t.file("prop.vnnlib.gz");
    gzFile f = gzopen(p.c_str(), "wb");
    ASSERT_TRUE(f);
    gzwrite(f, text.data(), unsigned(text.size()));
    gzclose(f);
    VnnlibProperty v = read_vnnlib(p);
    EXPECT_EQ(v.input_boxes[0], (Box{{-1, 1}}));
    EXPECT_TRUE(v.unsafe.is_unsafe(vec({0, 1})));
    EXPECT_FALSE(v.unsafe.is_unsafe(vec({1, 1})));
}

// An image-sized box (3072 inputs, one assert per bound) with a 9-way disjunction,
// and 2000 one-way 'or' asserts: both read quickly and in the expected shape.
TEST(Vnnlib, LargeFilesKeepTheirShape) {
    test::TempDir t;
    std::string text = declare(3072, 10);
    for (int i = 0; i < 3072; ++i)
        text += "(assert (<= X_" + std::to_string(i) + " 0.75))\n(assert (>= X_" + std::to_string(i) + " -0.25))\n";
    text += "(assert (or\n";
    for (int j = 1; j < 10; ++j) text += "  (and (>= Y_" + std::to_string(j) + " Y_0))\n";
    text += "))\n";
    for (int k = 0; k < 2000; ++k) text += "(assert (or (and (<= Y_0 " + std::to_string(k + 100) + "))))\n";
    VnnlibProperty v = read_vnnlib(write_text(t, "big.vnnlib", text));
    ASSERT_EQ(v.input_boxes.size(), 1u);
    EXPECT_EQ(v.input_boxes[0].size(), 3072u);
    EXPECT_EQ(v.input_boxes[0][3071], std::make_pair(-0.25, 0.75));
    ASSERT_EQ(v.unsafe.unsafe.size(), 9u);
    EXPECT_EQ(v.unsafe.unsafe[0].size(), 2001u);  // the global Y_0 bounds and its own constraint
    Vec y = Vec::Zero(10);
    y[5] = 1;
    EXPECT_TRUE(v.unsafe.is_unsafe(y));
    y[0] = 2;
    EXPECT_FALSE(v.unsafe.is_unsafe(y));
}

// ---- bad input ----------------------------------------------------------------------

// read_vnnlib(text) throws an InputError naming the file, "line <line>:" and `part`.
void expect_error(const std::string& text, int line, const std::string& part) {
    test::TempDir t;
    auto p = write_text(t, "bad.vnnlib", text);
    try {
        read_vnnlib(p);
        ADD_FAILURE() << "no InputError for:\n" << text;
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(p), std::string::npos) << msg;
        EXPECT_NE(msg.find("line " + std::to_string(line) + ":"), std::string::npos) << msg;
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
}

const std::string kDecl11 = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n";  // lines 1-2

TEST(Vnnlib, BadInputMissingBounds) {
    expect_error(kDecl11 + "(assert (>= X_0 0))\n(assert (<= Y_0 0))\n", 1, "X_0 has no upper bound");
    expect_error(kDecl11 + "(assert (<= X_0 0))\n", 1, "X_0 has no lower bound");
    expect_error(declare(2, 1) + "(assert (<= -1 X_0 1))\n(assert (<= X_1 1))\n", 2, "X_1 has no lower bound");
    expect_error(kDecl11 + "(assert (or\n (and (<= 0 X_0 1) (<= Y_0 0))\n (and (<= X_0 1) (>= Y_0 2))))\n", 5,
                 "X_0 has no lower bound in this disjunct");
}

TEST(Vnnlib, BadInputEmptyBox) {
    expect_error(kDecl11 + "(assert (<= X_0 0.2))\n(assert (>= X_0 0.3))\n", 4, "lower bound 0.3 exceeds upper bound 0.2");
    expect_error(kDecl11 + "\n(assert (< X_0 1))\n(assert (> X_0 1))\n", 5, "exceeds upper bound");
}

TEST(Vnnlib, BadInputVariables) {
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (<= X_7 1))\n", 4, "unknown variable 'X_7'");
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (>= Y_0 (+ 1 z)))\n", 4, "unknown variable 'z'");
    expect_error("(declare-const X_0 Real)\n(declare-const foo Real)\n", 2, "must be named X_i (input) or Y_i (output)");
    expect_error("(declare-const X_0 Real)\n(declare-const X_-1 Real)\n", 2, "must be named X_i");
    expect_error("(declare-const X_0 Int)\n", 1, "must have sort Real");
    expect_error(kDecl11 + "(declare-const X_0 Real)\n", 3, "declared twice");
    expect_error("(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)\n", 2,
                 "X_2 is declared but X_1 is not");
    expect_error("(declare-const Y_0 Real)\n", 1, "no input variables declared");
    expect_error("; nothing\n\n", 2, "no input variables declared");
    expect_error("(declare-const X_0 Real)\n(assert (<= 0 X_0 1))\n", 2, "no output variables declared");
}

TEST(Vnnlib, BadInputNonLinearOrMixedTerms) {
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (<= (* Y_0 Y_0) 0))\n", 4, "non-linear term");
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (<= (/ Y_0 2) 0))\n", 4, "unsupported operator '/'");
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (<= X_0 Y_0))\n", 4, "mixes input (X) and output (Y)");
    expect_error(declare(2, 1) + "(assert (<= X_0 X_1))\n", 4, "must bound one variable; X_0 and X_1");
    expect_error(kDecl11 + "(assert (not (<= Y_0 0)))\n", 3, "unsupported operator 'not'");
    expect_error(kDecl11 + "(assert (<= Y_0))\n", 3, "needs two operands");
    expect_error(kDecl11 + "(assert (or))\n", 3, "'or' without operands");
    expect_error(kDecl11 + "(assert true)\n", 3, "expected a formula");
    expect_error(kDecl11 + "(push 1)\n", 3, "unsupported command 'push'");
    expect_error(kDecl11 + "()\n", 3, "empty expression");
}

TEST(Vnnlib, BadInputParentheses) {
    expect_error(kDecl11 + "(assert (<= X_0 1)))\n", 3, "unbalanced ')'");
    expect_error(kDecl11 + "(assert (<= X_0 1))\n(assert (>= X_0\n 0)\n", 4, "unbalanced '(' never closed");
    expect_error(kDecl11 + "X_0\n", 3, "outside parentheses");
    expect_error(kDecl11 + "(assert " + std::string(300, '(') + std::string(300, ')') + ")\n", 3, "nested deeper");
}

TEST(Vnnlib, BadInputNumbers) {
    for (const char* bad : {"0.5.3", "1e", "1.2x", "--1", "-", ".", "1e+", "+-2", "0x10", "1_0"}) {
        SCOPED_TRACE(bad);
        std::string expect = std::string(bad) == "-" || std::string(bad) == "." ? "unknown variable" : "malformed number";
        expect_error(kDecl11 + "\n(assert (<= X_0 " + bad + "))\n", 4, expect);
    }
    expect_error(kDecl11 + "(assert (<= X_0 1e999))\n", 3, "out of the double range");
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n(assert (<= (* 1e300 1e300 Y_0) 1))\n", 4, "overflows the double range");
}

TEST(Vnnlib, BadInputTooManyDisjuncts) {
    std::string orx = "(assert (or";
    for (int k = 0; k < 100; ++k) orx += " (<= Y_0 " + std::to_string(k) + ")";
    orx += "))\n";
    expect_error(kDecl11 + "(assert (<= 0 X_0 1))\n" + orx + orx + orx, 6, "more than 100000 disjuncts");
}

TEST(Vnnlib, BadInputMissingFile) {
    try {
        read_vnnlib("/nonexistent/p.vnnlib");
        ADD_FAILURE();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/p.vnnlib"), std::string::npos);
    }
}

// ---- VNN-COMP result files ----------------------------------------------------------

TEST(VnnlibResult, StatusLines) {
    EXPECT_EQ(vnncomp_result(VnncompStatus::Unsat), "unsat\n");
    EXPECT_EQ(vnncomp_result(VnncompStatus::Unknown), "unknown\n");
    EXPECT_EQ(vnncomp_result(VnncompStatus::Timeout), "timeout\n");
    EXPECT_EQ(vnncomp_result(VnncompStatus::Error), "error\n");
    EXPECT_EQ(vnncomp_result(VnncompStatus::Unsat, {1.0}, vec({2.0})), "unsat\n");  // no counterexample
    EXPECT_EQ(vnncomp_status(Verdict::Holds), VnncompStatus::Unsat);
    EXPECT_EQ(vnncomp_status(Verdict::Violated), VnncompStatus::Sat);
    EXPECT_EQ(vnncomp_status(Verdict::Unknown, "timeout after 60 s"), VnncompStatus::Timeout);
    EXPECT_EQ(vnncomp_status(Verdict::Unknown, "incomplete method"), VnncompStatus::Unknown);
    EXPECT_EQ(vnncomp_status(Verdict::Misclassified), VnncompStatus::Unknown);
}

TEST(VnnlibResult, SatCounterexampleExactText) {
    const std::vector<double> x = {0.1, -0.5, 3.0};
    EXPECT_EQ(vnncomp_result(VnncompStatus::Sat, x, vec({1.5, -2e-7})),
              "sat\n"
              "((X_0 0.1)\n"
              " (X_1 -0.5)\n"
              " (X_2 3)\n"
              " (Y_0 1.5)\n"
              " (Y_1 -2e-07))\n");
}

TEST(VnnlibResult, NumbersReadBackExactly) {
    const std::vector<double> x = {0.1 + 0.2, 1.0 / 3.0, -1e-300, 123456789.125};
    const Vec y = vec({std::nextafter(1.0, 2.0)});
    const std::string s = vnncomp_result(VnncompStatus::Sat, x, y);
    std::vector<double> back;
    for (size_t at = s.find(' '); at != std::string::npos; at = s.find(' ', at + 1)) {
        if (s[at + 1] == '(') continue;  // the indentation before "(X_i"
        back.push_back(std::strtod(s.c_str() + at + 1, nullptr));
    }
    ASSERT_EQ(back.size(), 5u) << s;
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(back[i], x[i]) << s;
    EXPECT_EQ(back[4], y[0]) << s;
}

TEST(VnnlibResult, SatNeedsAFiniteCounterexample) {
    EXPECT_THROW(vnncomp_result(VnncompStatus::Sat), std::invalid_argument);
    EXPECT_THROW(vnncomp_result(VnncompStatus::Sat, {1.0}, Vec()), std::invalid_argument);
    EXPECT_THROW(vnncomp_result(VnncompStatus::Sat, {NAN}, vec({1.0})), std::invalid_argument);
}

TEST(VnnlibResult, WriteFileLeavesNoTemporary) {
    test::TempDir t;
    const std::string p = t.file("out.txt");
    write_vnncomp_result(p, VnncompStatus::Sat, {0.25}, vec({-1.0}));
    EXPECT_EQ(test::read_file(p), "sat\n((X_0 0.25)\n (Y_0 -1))\n");
    EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
    EXPECT_THROW(write_vnncomp_result(t.file("no/such/dir/out.txt"), VnncompStatus::Unsat), InputError);
}

}  // namespace
}  // namespace qcert
