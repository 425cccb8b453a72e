// NNet reader (the ACAS Xu format of Kyle Julian, Stanford 2016).
//
// Layout, after optional "//" comment lines (blank lines are ignored anywhere):
//   numLayers, inputSize, outputSize, maxLayerSize
//   numLayers + 1 layer sizes (the first is inputSize, the last outputSize)
//   the "symmetric" flag (only 0 is supported: 1 asks for an input reflection
//     that is not a layer)
//   input minimums, input maximums
//   means, ranges: one per input, then one for all outputs
//   for each layer: one line per weight row (inputs of the layer, comma
//     separated), then one line per bias
//
// Two details that the published readers disagree on, and what we do:
// - The ACAS Xu files carry 7 values on the min/max lines and 8 on the
//   mean/range lines (the full 7-dimensional ACAS state, of which the 5-input
//   networks use the first 5). Reluplex's C reader takes mean/range index
//   inputSize (here 35.11 / 100, the mean and range of the unused tau input)
//   for the outputs; sisl's NNet Python reference takes the LAST value of the
//   line (7.5189 / 373.95), which is the one the ACAS Xu properties are
//   written against (property 1: 1500 ft/s -> (1500 - 7.5189) / 373.95 =
//   3.9911). We take the first inputSize values for the inputs and the last
//   value of the line for the outputs; on a file with exactly inputSize + 1
//   values the two readings agree.
// - The reference evaluation clips every input to [min, max] before it
//   normalises. A clip to per-input bounds is not a layer of our IR, so we do
//   not clip: the network is exact on the box [min, max], which we store as
//   Network::input_lo / input_hi so that every analysis stays inside it.
//
// read_nnet gives the network over raw inputs: an Affine layer (x - mean) /
// range, the Dense layers (ReLU after every hidden one, the last one linear),
// and an Affine de-normalisation y * range_out + mean_out. read_nnet_normalised
// gives the stored network alone, in the normalised units of its inputs and
// outputs (the form ReluVal, ReluDiff, Marabou and VNN-COMP use).
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace qcert {
namespace {

// The parsed contents of a .nnet file.
struct NNetFile {
    std::vector<int64_t> sizes;  // numLayers + 1 entries
    std::vector<double> mins, maxes;  // inputSize each
    std::vector<double> in_means, in_ranges;  // inputSize each
    double out_mean = 0, out_range = 1;
    std::vector<Mat> weights;  // out x in
    std::vector<Vec> biases;

    int64_t input_size() const { return sizes.front(); }
    int64_t output_size() const { return sizes.back(); }
};

// Hands out the data lines of the file one at a time, with their numbers, and
// turns every problem into an InputError naming the file and the line.
class LineReader {
public:
    LineReader(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw InputError(path_, fmt::format("line {}: {}", line_no_, what));
    }

    // The numbers on the next data line; `what` names it for messages.
    std::vector<double> numbers(const char* what) {
        if (!next_line()) {
            ++line_no_;  // the line that is missing
            fail(fmt::format("unexpected end of file, expected {}", what));
        }
        std::vector<double> v;
        size_t i = 0;
        while (i < line_.size()) {
            while (i < line_.size() && is_separator(line_[i])) ++i;
            size_t j = i;
            while (j < line_.size() && !is_separator(line_[j])) ++j;
            if (j > i) v.push_back(parse(line_.substr(i, j - i), what));
            i = j;
        }
        return v;
    }

    // Exactly n numbers (a line may end with a comma).
    std::vector<double> exactly(size_t n, const char* what) {
        std::vector<double> v = numbers(what);
        if (v.size() != n) fail(fmt::format("expected {} value{} for {}, found {}", n, n == 1 ? "" : "s", what, v.size()));
        return v;
    }

    // At least n numbers; the extra ones are returned too.
    std::vector<double> at_least(size_t n, const char* what) {
        std::vector<double> v = numbers(what);
        if (v.size() < n) fail(fmt::format("expected at least {} values for {}, found {}", n, what, v.size()));
        return v;
    }

    // Positive integers (sizes and counts).
    std::vector<int64_t> counts(size_t n, const char* what, bool allow_zero = false) {
        std::vector<double> v = exactly(n, what);
        std::vector<int64_t> r;
        for (double d : v) {
            if (d != std::floor(d) || d < (allow_zero ? 0 : 1) || d > 1e7)
                fail(fmt::format("{} must be {} integers, found {}", what, allow_zero ? "non-negative" : "positive",
                                 fmt::format("{}", d)));
            r.push_back(int64_t(d));
        }
        return r;
    }

    // True when only blank lines and comments remain.
    bool at_end() { return !next_line(); }

    size_t text_size() const { return text_.size(); }

private:
    static bool is_separator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == ';'; }

    // A token as it may appear in a one-line message: short, printable.
    static std::string printable(std::string_view tok) {
        std::string s(tok.substr(0, 40));
        for (char& c : s)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
        return s;
    }

    double parse(std::string_view tok, const char* what) const {
        std::string_view t = tok;
        if (!t.empty() && t.front() == '+') t.remove_prefix(1);
        double d = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
        if (t.empty() || ec != std::errc() || end != t.data() + t.size())
            fail(fmt::format("'{}' is not a number (reading {})", printable(tok), what));
        if (!std::isfinite(d)) fail(fmt::format("'{}' is not a finite number (reading {})", printable(tok), what));
        return d;
    }

    // Advances to the next line that is neither blank nor a "//" comment.
    bool next_line() {
        while (pos_ < text_.size()) {
            size_t nl = text_.find('\n', pos_);
            if (nl == std::string::npos) nl = text_.size();
            line_ = std::string_view(text_).substr(pos_, nl - pos_);
            pos_ = nl + 1;
            ++line_no_;
            size_t k = line_.find_first_not_of(" \t\r,");
            if (k == std::string_view::npos) continue;
            if (line_.substr(k, 2) == "//") continue;
            return true;
        }
        return false;
    }

    std::string path_, text_;
    size_t pos_ = 0;
    int64_t line_no_ = 0;
    std::string_view line_;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw InputError(path, "cannot read the file");
    return ss.str();
}

NNetFile parse_nnet(const std::string& path) {
    LineReader r(path, slurp(path));
    NNetFile f;

    const std::vector<int64_t> header = r.counts(4, "the header (numLayers, inputSize, outputSize, maxLayerSize)");
    const int64_t num_layers = header[0], in_size = header[1], out_size = header[2], max_size = header[3];
    f.sizes = r.counts(size_t(num_layers) + 1, "the layer sizes");
    if (f.sizes.front() != in_size)
        r.fail(fmt::format("the first layer size {} differs from inputSize {}", f.sizes.front(), in_size));
    if (f.sizes.back() != out_size)
        r.fail(fmt::format("the last layer size {} differs from outputSize {}", f.sizes.back(), out_size));
    for (int64_t s : f.sizes)
        if (s > max_size) r.fail(fmt::format("layer size {} exceeds maxLayerSize {}", s, max_size));

    // Refuse sizes that the file cannot hold before allocating for them: every
    // value takes at least two bytes (a digit and a separator).
    double values = 0;
    for (int64_t k = 0; k < num_layers; ++k) values += double(f.sizes[k] + 1) * double(f.sizes[k + 1]);
    if (values * 2 > double(r.text_size()))
        r.fail(fmt::format("the layer sizes call for {:.0f} parameters, more than the file can hold (truncated?)", values));

    const int64_t symmetric = r.counts(1, "the symmetric flag", true)[0];
    if (symmetric != 0) r.fail("symmetric networks (flag 1) are not supported: their input reflection is not a layer");

    const size_t n = size_t(in_size);
    auto first_n = [n](std::vector<double> v) { v.resize(n); return v; };
    f.mins = first_n(r.at_least(n, "the input minimums"));
    f.maxes = first_n(r.at_least(n, "the input maximums"));
    for (size_t i = 0; i < n; ++i)
        if (!(f.mins[i] <= f.maxes[i]))
            r.fail(fmt::format("input {} has minimum {} above its maximum {}", i, f.mins[i], f.maxes[i]));
    const std::vector<double> means = r.at_least(n + 1, "the means (one per input, then the outputs')");
    f.in_means = first_n(means);
    f.out_mean = means.back();  // see the note at the top of the file
    const std::vector<double> ranges = r.at_least(n + 1, "the ranges (one per input, then the outputs')");
    for (size_t i = 0; i < n; ++i)
        if (!(ranges[i] > 0)) r.fail(fmt::format("the range of input {} is {}; it must be positive", i, ranges[i]));
    f.in_ranges = first_n(ranges);
    f.out_range = ranges.back();

    for (int64_t k = 0; k < num_layers; ++k) {
        const int64_t rows = f.sizes[k + 1], cols = f.sizes[k];
        const std::string wname = fmt::format("a weight row of layer {}", k + 1);
        const std::string bname = fmt::format("a bias of layer {}", k + 1);
        Mat W(rows, cols);
        for (int64_t i = 0; i < rows; ++i) {
            std::vector<double> row = r.exactly(size_t(cols), wname.c_str());
            for (int64_t j = 0; j < cols; ++j) W(i, j) = row[j];
        }
        Vec b(rows);
        for (int64_t i = 0; i < rows; ++i) b[i] = r.exactly(1, bname.c_str())[0];
        f.weights.push_back(std::move(W));
        f.biases.push_back(std::move(b));
    }
    if (!r.at_end()) r.fail("unexpected data after the last layer");
    return f;
}

Layer make_affine(Vec scale, Vec shift, std::string name) {
    Layer l;
    l.op = Op::Affine;
    l.name = std::move(name);
    l.in_shape = l.out_shape = {int64_t(scale.size())};
    l.scale = std::move(scale);
    l.shift = std::move(shift);
    return l;
}

// The Dense/ReLU stack of the file, in its normalised units.
void append_layers(const NNetFile& f, Network& net) {
    const size_t L = f.weights.size();
    for (size_t k = 0; k < L; ++k) {
        const int64_t out = f.weights[k].rows();
        net.layers.push_back(make_dense(f.weights[k], f.biases[k], fmt::format("dense_{}", k + 1)));
        if (k + 1 < L) net.layers.push_back(make_activation(Op::ReLU, out, fmt::format("relu_{}", k + 1)));
    }
}

}  // namespace

Network read_nnet(const std::string& path) {
    const NNetFile f = parse_nnet(path);
    const int64_t n = f.input_size(), m = f.output_size();
    Network net;
    net.source = path;
    net.input_shape = {n};
    net.input_lo = f.mins;
    net.input_hi = f.maxes;
    // (x - mean) / range as scale * x + shift; differs from the division by at
    // most a rounding of the last bit.
    Vec scale(n), shift(n);
    for (int64_t i = 0; i < n; ++i) {
        scale[i] = 1.0 / f.in_ranges[i];
        shift[i] = -f.in_means[i] / f.in_ranges[i];
    }
    net.layers.push_back(make_affine(scale, shift, "input_normalisation"));
    append_layers(f, net);
    net.layers.push_back(make_affine(Vec::Constant(m, f.out_range), Vec::Constant(m, f.out_mean), "output_denormalisation"));
    net.validate();
    return net;
}

Network read_nnet_normalised(const std::string& path) {
    const NNetFile f = parse_nnet(path);
    const int64_t n = f.input_size();
    Network net;
    net.source = path;
    net.input_shape = {n};
    for (int64_t i = 0; i < n; ++i) {
        net.input_lo.push_back((f.mins[i] - f.in_means[i]) / f.in_ranges[i]);
        net.input_hi.push_back((f.maxes[i] - f.in_means[i]) / f.in_ranges[i]);
    }
    append_layers(f, net);
    net.validate();
    return net;
}

}  // namespace qcert
