// Readers and writers, one per format. Every reader throws InputError naming
// the file and the problem on bad input; none leaves partial state behind.
#pragma once

#include "qcert/network.hpp"
#include "qcert/property.hpp"
#include "qcert/quant.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qcert {

// ---- models ---------------------------------------------------------------

// A model as read from a file: the float network, and for quantized (QDQ) ONNX
// models the exact integer semantics they encode.
struct LoadedModel {
    Network net;
    std::optional<IntNetwork> qdq;
};

LoadedModel read_onnx(const std::string& path);     // src/io/onnx_reader.cpp
Network read_nnet(const std::string& path);         // src/io/nnet_reader.cpp
// The NNet network without its input normalisation and output de-normalisation:
// inputs and outputs in the normalised units it was trained in (as ReluVal,
// ReluDiff, Marabou and VNN-COMP use it); input_lo/hi converted to those units.
Network read_nnet_normalised(const std::string& path);
Network read_keras_h5(const std::string& path);     // src/io/keras_h5_reader.cpp

// Chooses the reader by file extension (.onnx, .nnet, .h5/.hdf5/.keras).
LoadedModel load_model(const std::string& path);    // src/io/model_loader.cpp

// A pruning mask (src/io/prune_mask_reader.cpp): JSON {"layers": [M0, M1, ...]}, one
// matrix per affine block (rows = outputs, columns = inputs, as the block's W), each
// entry 1 (kept) or 0 (pruned).
PruneMask read_prune_mask(const std::string& path);

// Writes a float network as an ONNX model (Gemm/Conv/activations), opset 13.
void write_onnx(const Network& net, const std::string& path);  // src/io/onnx_writer.cpp
// Writes a network with fixed-point weights and biases (e.g. a quadapter twin: `net` holds the
// quantized values, `scheme` their per-layer formats) as a QDQ ONNX model, opset 13: integer
// initializers (int8 / int16 / int32 by bits) + DequantizeLinear (scale 2^-frac, zero point 0),
// Gemm, activation, Clip; activations float32, not quantized. Reading it back gives `net`
// exactly. Throws InputError when a parameter is not on its format's grid.
void write_onnx_qdq(const BlockNet& net, const Scheme& scheme, const std::string& path);  // src/io/onnx_qdq_writer.cpp

// ---- data -----------------------------------------------------------------

// Samples as stored in the file ("raw": pixel values 0..255 for images), with
// optional labels. The float network sees raw * float_scale.
struct Dataset {
    std::string source;
    Shape sample_shape;
    std::vector<double> raw;  // count() * sample_size(), row-major
    std::vector<int> labels;  // empty when there are none
    double float_scale = 1.0; // 1/255 for IDX images
    bool integral = false;    // raw values are integers (IDX)

    int64_t sample_size() const { return shape_size(sample_shape); }
    int64_t count() const { return sample_size() == 0 ? 0 : int64_t(raw.size()) / sample_size(); }
    Vec raw_sample(int64_t i) const;
    Vec float_sample(int64_t i) const;  // raw * float_scale
};

// IDX (MNIST / Fashion-MNIST), gzip-compressed or not.
Dataset read_idx_images(const std::string& path);    // src/io/idx_reader.cpp
std::vector<int> read_idx_labels(const std::string& path);
// Images plus labels; checks the counts agree.
Dataset read_idx(const std::string& images, const std::string& labels);

// Writes IDX files, gzip-compressed when the path ends in ".gz" (byte-identical
// output for identical input). Images need sample shape {1, rows, cols} or
// {rows, cols} and integer raw values in 0..255; labels must lie in 0..255.
// Throws InputError naming the path; leaves no partial file behind.
void write_idx_images(const Dataset& images, const std::string& path);  // src/io/idx_writer.cpp
void write_idx_labels(const std::vector<int>& labels, const std::string& path);

// CSV: one sample per row, numbers separated by commas (or whitespace); '#' comments
// and an optional non-numeric header row are skipped. All rows must have the same length.
Dataset read_csv(const std::string& path);           // src/io/csv_reader.cpp

// ---- properties (VNN-LIB) and VNN-COMP results -------------------------------

// A VNN-LIB property: the region of inputs and the UNSAFE outputs (the file asserts
// the counterexample region; the property holds, "unsat", when no input of the
// region reaches it). The unsafe region is the union over boxes b of
//   { x in input_boxes[b] and y = f(x) in unsafe_for(b) }.
// Usually there is one box and `unsafe` applies to it (per_box_unsafe empty).
// Files written as an OR of (input box AND output constraints) pairs give several
// boxes: then per_box_unsafe[b] belongs to input_boxes[b], and `unsafe` is the union
// of all of them (checking every box against `unsafe` is sound but may find
// spurious counterexamples: re-check them with is_unsafe).
struct VnnlibProperty {
    std::vector<std::vector<std::pair<double, double>>> input_boxes;  // [box][X_i] = {lo, hi}, closed, finite
    OutputProperty unsafe;                                           // over Y_0 .. Y_{outputs-1}
    int64_t inputs = 0, outputs = 0;
    std::vector<OutputProperty> per_box_unsafe;  // empty, or one per input box

    const OutputProperty& unsafe_for(size_t box) const {
        return per_box_unsafe.empty() ? unsafe : per_box_unsafe.at(box);
    }
    // x in some input box b and y in unsafe_for(b): x and y are a counterexample.
    bool is_unsafe(const std::vector<double>& x, const Vec& y) const;
};

// The SMT-LIB subset used by VNN-COMP 2021-2024 (see src/io/vnnlib_reader.cpp).
VnnlibProperty read_vnnlib(const std::string& path);  // src/io/vnnlib_reader.cpp

// The first line of a VNN-COMP result file.
enum class VnncompStatus { Sat, Unsat, Unknown, Timeout, Error };
const char* vnncomp_status_name(VnncompStatus s);  // "sat", "unsat", ...
// Holds -> unsat, Violated -> sat, Unknown -> timeout when the reason starts with
// "timeout", else unknown. Misclassified is no VNN-LIB answer: unknown.
VnncompStatus vnncomp_status(Verdict v, const std::string& reason = "");

// The result file text as the VNN-COMP 2022+ scripts read it: the status on the first
// line; for sat, the counterexample after it,
//   ((X_0 0.1)\n (X_1 0.2)\n (Y_0 1.5)\n (Y_1 -3))\n
// with numbers printed to round-trip exactly. Sat needs a non-empty, finite x and y.
std::string vnncomp_result(VnncompStatus s, const std::vector<double>& x = {}, const Vec& y = Vec());
// Writes that text through a temporary file (no partial file on failure).
void write_vnncomp_result(const std::string& path, VnncompStatus s, const std::vector<double>& x = {},
                          const Vec& y = Vec());  // src/io/vnnlib_writer.cpp

}  // namespace qcert
