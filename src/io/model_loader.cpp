// Chooses a model reader by the file's extension.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <algorithm>
#include <filesystem>

namespace qcert {

LoadedModel load_model(const std::string& path) {
    if (!std::filesystem::exists(path)) throw InputError(path, "no such file");
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".onnx") return read_onnx(path);
    if (ext == ".nnet") return LoadedModel{read_nnet(path), std::nullopt};
    if (ext == ".h5" || ext == ".hdf5" || ext == ".keras") return LoadedModel{read_keras_h5(path), std::nullopt};
    throw InputError(path, "unknown model format '" + ext + "' (expected .onnx, .nnet, .h5, .hdf5 or .keras)");
}

}  // namespace qcert
