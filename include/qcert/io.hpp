// Readers and writers, one per format. Every reader throws InputError naming
// the file and the problem on bad input; none leaves partial state behind.
#pragma once

#include "qcert/network.hpp"
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

// Writes a float network as an ONNX model (Gemm/Conv/activations), opset 13.
void write_onnx(const Network& net, const std::string& path);  // src/io/onnx_writer.cpp

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

}  // namespace qcert
