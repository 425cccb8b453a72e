// NNet reader: the ACAS Xu networks against a naive evaluator written here,
// a hand-made file with known weights, and bad input.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace qcert {
namespace {

// acas("1_1") or acas("1_1", "_16bit").
std::string acas(const std::string& name, const std::string& suffix = "") {
    return test::shared_benchmarks() + "/acasxu/ACASXU_run2a_" + name + "_batch_2000" + suffix + ".nnet";
}

std::string write_text(const test::TempDir& t, const std::string& name, const std::string& text) {
    std::string path = t.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// An independent NNet evaluator in the style of Reluplex's nnet.cpp: every
// non-comment line split on commas with strtod; inputs clipped to [min, max]
// and normalised; ReLU on hidden layers; outputs de-normalised with the last
// value of the mean and range lines (see src/io/nnet_reader.cpp).
struct NaiveNNet {
    std::vector<int> sizes;
    std::vector<double> mins, maxes, means, ranges;
    std::vector<std::vector<std::vector<double>>> W;  // [layer][row][col]
    std::vector<std::vector<double>> b;

    explicit NaiveNNet(const std::string& path) {
        std::ifstream in(path);
        std::string line;
        std::vector<std::vector<double>> rows;
        while (std::getline(in, line)) {
            if (line.rfind("//", 0) == 0) continue;
            std::vector<double> v;
            const char* p = line.c_str();
            while (*p) {
                char* end;
                double d = std::strtod(p, &end);
                if (end == p) { ++p; continue; }
                v.push_back(d);
                p = end;
            }
            if (!v.empty()) rows.push_back(v);
        }
        size_t r = 0;
        const int L = int(rows[r++][0]);
        for (double s : rows[r++]) sizes.push_back(int(s));
        ++r;  // symmetric
        // The ACAS Xu lines carry extra values (the full 7-input ACAS state).
        mins = rows[r++]; maxes = rows[r++]; means = rows[r++]; ranges = rows[r++];
        mins.resize(sizes[0]);
        maxes.resize(sizes[0]);
        for (int k = 0; k < L; ++k) {
            W.emplace_back();
            for (int i = 0; i < sizes[k + 1]; ++i) W.back().push_back(rows[r++]);
            b.emplace_back();
            for (int i = 0; i < sizes[k + 1]; ++i) b.back().push_back(rows[r++][0]);
        }
    }

    // normalise = false: x is already normalised and the output stays normalised.
    std::vector<double> eval(std::vector<double> x, bool normalise = true) const {
        if (normalise)
            for (size_t i = 0; i < x.size(); ++i)
                x[i] = (std::clamp(x[i], mins[i], maxes[i]) - means[i]) / ranges[i];
        for (size_t k = 0; k < W.size(); ++k) {
            std::vector<double> y(W[k].size());
            for (size_t i = 0; i < y.size(); ++i) {
                double s = 0;
                for (size_t j = 0; j < x.size(); ++j) s += W[k][i][j] * x[j];
                s += b[k][i];
                y[i] = (k + 1 < W.size()) ? std::max(s, 0.0) : s;
            }
            x = y;
        }
        if (normalise)
            for (double& v : x) v = v * ranges.back() + means.back();
        return x;
    }
};

std::vector<std::vector<double>> random_points(const NaiveNNet& ref, int n, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<double>> pts;
    for (int k = 0; k < n; ++k) {
        std::vector<double> x;
        for (size_t i = 0; i < ref.mins.size(); ++i)
            x.push_back(std::uniform_real_distribution<double>(ref.mins[i], ref.maxes[i])(rng));
        pts.push_back(x);
    }
    return pts;
}

Vec to_vec(const std::vector<double>& v) { return Eigen::Map<const Vec>(v.data(), Eigen::Index(v.size())); }

void expect_near_rel(const Vec& got, const std::vector<double>& want, double tol) {
    ASSERT_EQ(got.size(), Eigen::Index(want.size()));
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << "output " << i;
}

template <class F>
void expect_input_error(F&& f, const std::string& path, const std::string& part) {
    try {
        f();
        ADD_FAILURE() << "no InputError for " << path << " (expected '" << part << "')";
    } catch (const InputError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    }
}

void expect_nnet_error(const std::string& path, const std::string& part) {
    expect_input_error([&] { read_nnet(path); }, path, part);
    expect_input_error([&] { read_nnet_normalised(path); }, path, part);
}

TEST(NNet, AcasShapeAndDomain) {
    const std::string p = acas("1_1");
    QCERT_REQUIRE_FILE(p);
    Network net = read_nnet(p);
    EXPECT_EQ(net.source, p);
    EXPECT_EQ(net.input_shape, Shape{5});
    EXPECT_EQ(net.output_size(), 5);
    // Affine, 6 x (Dense, ReLU), Dense, Affine.
    ASSERT_EQ(net.layers.size(), 15u);
    EXPECT_EQ(net.layers.front().op, Op::Affine);
    EXPECT_EQ(net.layers.back().op, Op::Affine);
    int dense = 0;
    for (size_t i = 1; i + 1 < net.layers.size(); ++i) {
        const Layer& l = net.layers[i];
        if (i % 2 == 1) {
            ASSERT_EQ(l.op, Op::Dense);
            ++dense;
            EXPECT_EQ(l.weight.rows(), dense == 7 ? 5 : 50);
            EXPECT_EQ(l.weight.cols(), dense == 1 ? 5 : 50);
        } else {
            EXPECT_EQ(l.op, Op::ReLU);
        }
    }
    EXPECT_EQ(dense, 7);
    EXPECT_EQ(net.parameter_count(), 5 * 50 + 50 + 5 * (50 * 50 + 50) + 50 * 5 + 5 + 2 * 5 + 2 * 5);
    EXPECT_EQ(net.input_lo, (std::vector<double>{0.0, -3.141593, -3.141593, 100.0, 0.0}));
    EXPECT_EQ(net.input_hi, (std::vector<double>{60760.0, 3.141593, 3.141593, 1200.0, 1200.0}));
    // The output de-normalisation takes the last value of the mean/range lines.
    EXPECT_EQ(net.layers.back().shift[0], 7.5188840201005975);
    EXPECT_EQ(net.layers.back().scale[0], 373.94992);
}

TEST(NNet, AcasRawInputsMatchNaiveEvaluator) {
    for (const std::string& p : {acas("1_1"), acas("1_5"), acas("1_9", "_16bit")}) {
        QCERT_REQUIRE_FILE(p);
        Network net = read_nnet(p);
        NaiveNNet ref(p);
        for (const auto& x : random_points(ref, 25, 7))
            expect_near_rel(net.forward(to_vec(x)), ref.eval(x), 1e-9);
        // The corners of the domain too, where clipping is still the identity.
        expect_near_rel(net.forward(to_vec(ref.mins)), ref.eval(ref.mins), 1e-9);
        expect_near_rel(net.forward(to_vec(ref.maxes)), ref.eval(ref.maxes), 1e-9);
    }
}

TEST(NNet, AcasNormalisedForm) {
    const std::string p = acas("1_1");
    QCERT_REQUIRE_FILE(p);
    Network raw = read_nnet(p), norm = read_nnet_normalised(p);
    NaiveNNet ref(p);
    ASSERT_EQ(norm.layers.size(), 13u);
    EXPECT_EQ(norm.layers.front().op, Op::Dense);
    EXPECT_EQ(norm.layers.back().op, Op::Dense);
    for (int i = 0; i < 5; ++i) {
        EXPECT_DOUBLE_EQ(norm.input_lo[i], (ref.mins[i] - ref.means[i]) / ref.ranges[i]);
        EXPECT_DOUBLE_EQ(norm.input_hi[i], (ref.maxes[i] - ref.means[i]) / ref.ranges[i]);
    }
    for (const auto& x : random_points(ref, 10, 11)) {
        std::vector<double> xn(5);
        for (int i = 0; i < 5; ++i) xn[i] = (x[i] - ref.means[i]) / ref.ranges[i];
        expect_near_rel(norm.forward(to_vec(xn)), ref.eval(xn, false), 1e-12);
        Vec yraw = raw.forward(to_vec(x));
        Vec ynorm = norm.forward(to_vec(xn));
        for (int i = 0; i < 5; ++i)
            EXPECT_NEAR(yraw[i], ynorm[i] * 373.94992 + 7.5188840201005975, 1e-9 * (1 + std::abs(yraw[i])));
    }
}

TEST(NNet, SixteenBitTwinDiffersSlightly) {
    const std::string p = acas("1_1"), q = acas("1_1", "_16bit");
    QCERT_REQUIRE_FILE(p);
    QCERT_REQUIRE_FILE(q);
    Network a = read_nnet(p), b = read_nnet(q);
    NaiveNNet ref(p);
    double max_diff = 0, max_abs = 0;
    for (const auto& x : random_points(ref, 50, 3)) {
        Vec ya = a.forward(to_vec(x)), yb = b.forward(to_vec(x));
        max_diff = std::max(max_diff, (ya - yb).cwiseAbs().maxCoeff());
        max_abs = std::max(max_abs, ya.cwiseAbs().maxCoeff());
    }
    EXPECT_GT(max_diff, 0.0);
    EXPECT_LT(max_diff, 0.01 * max_abs) << "half precision should move the outputs by little";
    // Same architecture and weights within half precision.
    for (size_t i = 0; i < a.layers.size(); ++i) {
        if (a.layers[i].op != Op::Dense) continue;
        const Mat& wa = a.layers[i].weight;
        const Mat& wb = b.layers[i].weight;
        ASSERT_EQ(wa.rows(), wb.rows());
        ASSERT_EQ(wa.cols(), wb.cols());
        EXPECT_LE((wa - wb).cwiseAbs().maxCoeff(), 1e-3 * std::max(1.0, wa.cwiseAbs().maxCoeff()));
    }
}

// 2 inputs -> 2 hidden (ReLU) -> 1 output, with comments, trailing commas,
// one value per bias line, and exactly inputSize + 1 means/ranges.
const char* kTiny =
    "// a tiny network\n"
    "// second comment line\n"
    "2,2,1,2,\n"
    "2,2,1,\n"
    "0,\n"
    "-1,-2,\n"
    "1,2,\n"
    "0.5,0,10,\n"
    "2,4,3,\n"
    "1,-1,\n"
    "0.5,2,\n"
    "0.25,\n"
    "-1,\n"
    "1,-2,\n"
    "0.5,\n";

TEST(NNet, TinyNetworkExact) {
    test::TempDir t;
    const std::string p = write_text(t, "tiny.nnet", kTiny);
    Network net = read_nnet(p);
    EXPECT_EQ(net.input_lo, (std::vector<double>{-1, -2}));
    EXPECT_EQ(net.input_hi, (std::vector<double>{1, 2}));
    ASSERT_EQ(net.layers.size(), 5u);  // Affine, Dense, ReLU, Dense, Affine
    EXPECT_EQ(net.layers[1].weight, (Mat(2, 2) << 1, -1, 0.5, 2).finished());
    EXPECT_EQ(net.layers[1].bias, (Vec(2) << 0.25, -1).finished());
    EXPECT_EQ(net.layers[3].weight, (Mat(1, 2) << 1, -2).finished());
    EXPECT_EQ(net.layers[4].shift, Vec::Constant(1, 10));
    EXPECT_EQ(net.layers[4].scale, Vec::Constant(1, 3));
    // x = (0.5, 2): normalised (0, 0.5); hidden relu(0 - 0.5 + 0.25) = 0,
    // relu(0 + 1 - 1) = 0; output 0.5; raw 0.5 * 3 + 10 = 11.5.
    EXPECT_EQ(net.forward((Vec(2) << 0.5, 2).finished())[0], 11.5);
    // x = (1, -2): normalised (0.25, -0.5); hidden relu(0.25 + 0.5 + 0.25) = 1,
    // relu(0.125 - 1 - 1) = 0; output 1 + 0.5 = 1.5; raw 14.5.
    EXPECT_EQ(net.forward((Vec(2) << 1, -2).finished())[0], 14.5);

    Network norm = read_nnet_normalised(p);
    ASSERT_EQ(norm.layers.size(), 3u);
    EXPECT_EQ(norm.input_lo, (std::vector<double>{-0.75, -0.5}));
    EXPECT_EQ(norm.input_hi, (std::vector<double>{0.25, 0.5}));
    EXPECT_EQ(norm.forward((Vec(2) << 2, -0.5).finished())[0], 3.25);
}

TEST(NNet, MissingFile) {
    expect_nnet_error("/nonexistent/dir/net.nnet", "cannot open");
}

TEST(NNet, TruncatedFiles) {
    test::TempDir t;
    // Cut the tiny file inside its last layer: the missing bias is reported.
    std::string tiny = kTiny;
    const std::string p = write_text(t, "cut.nnet", tiny.substr(0, tiny.rfind("0.5,")));
    expect_nnet_error(p, "line 15: unexpected end of file");
    // Cut inside the header.
    expect_nnet_error(write_text(t, "head.nnet", "// c\n2,2,1,2,\n2,2,1,\n"), "line 4: unexpected end of file");
    const std::string a = acas("1_1");
    if (!std::filesystem::exists(a)) return;
    const std::string text = test::read_file(a);
    expect_nnet_error(write_text(t, "half.nnet", text.substr(0, text.rfind('\n', text.size() / 2) + 1)),
                      "unexpected end of file");
    // Cut inside a number.
    expect_nnet_error(write_text(t, "mid.nnet", text.substr(0, text.find('e', text.size() / 2) + 1)), "is not a number");
}

TEST(NNet, Garbage) {
    test::TempDir t;
    expect_nnet_error(write_text(t, "g1.nnet", std::string("\x7f" "ELF\x01\x02\x00\x00 binary", 15)), "line 1");
    expect_nnet_error(write_text(t, "g2.nnet", ""), "unexpected end of file");
    std::string tiny = kTiny;
    tiny.replace(tiny.find("0.5,2,"), 6, "0.5,zz,");
    expect_nnet_error(write_text(t, "g3.nnet", tiny), "line 11: 'zz' is not a number");
    expect_nnet_error(write_text(t, "g4.nnet", "2,2,1,2,\n2,2,1,\n0,\n-1,-2,\n1,2,\n0,0,nan,\n"), "not a finite number");
}

TEST(NNet, WrongCounts) {
    test::TempDir t;
    auto variant = [&](const std::string& from, const std::string& to) {
        std::string s = kTiny;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    expect_nnet_error(write_text(t, "c1.nnet", variant("2,2,1,\n", "2,2,\n")), "line 4: expected 3 values for the layer sizes, found 2");
    expect_nnet_error(write_text(t, "c2.nnet", variant("2,2,1,\n", "3,2,1,\n")), "differs from inputSize");
    expect_nnet_error(write_text(t, "c3.nnet", variant("2,2,1,\n", "2,2,2,\n")), "differs from outputSize");
    expect_nnet_error(write_text(t, "c4.nnet", variant("1,-1,\n", "1,-1,7,\n")), "line 10: expected 2 values");
    expect_nnet_error(write_text(t, "c5.nnet", variant("0,\n", "1,\n")), "symmetric");
    expect_nnet_error(write_text(t, "c6.nnet", variant("2,4,3,\n", "2,4,\n")), "expected at least 3 values for the ranges");
    expect_nnet_error(write_text(t, "c7.nnet", variant("2,4,3,\n", "2,0,3,\n")), "range of input 1");
    expect_nnet_error(write_text(t, "c8.nnet", variant("2,2,1,2,\n", "2,2,1,1,\n")), "exceeds maxLayerSize");
    expect_nnet_error(write_text(t, "c9.nnet", variant("2,2,1,2,\n", "2,2.5,1,2,\n")), "positive integers");
    expect_nnet_error(write_text(t, "c10.nnet", std::string(kTiny) + "1,2,3\n"), "line 16: unexpected data after the last layer");
    expect_nnet_error(write_text(t, "c11.nnet", variant("-1,-2,\n", "3,-2,\n")), "minimum 3 above its maximum 1");
    // Sizes far larger than the file: refused before allocating.
    expect_nnet_error(write_text(t, "c12.nnet", variant("2,2,1,2,\n2,2,1,\n", "2,2,1,9000000,\n2,9000000,1,\n")),
                      "more than the file can hold");
}

}  // namespace
}  // namespace qcert
