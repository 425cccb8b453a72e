// Internal entry points of the ONNX reader (the public one is read_onnx in
// qcert/io.hpp): parsing from memory serves the fuzz target.
#pragma once

#include "qcert/io.hpp"

#include <onnx/onnx_pb.h>

#include <string>

namespace qcert::onnxio {

// Reads a parsed model; `name` names it in messages and becomes Network::source.
LoadedModel read_model(const onnx::ModelProto& model, const std::string& name);
// Parses serialized bytes, then read_model.
LoadedModel read_model_bytes(const std::string& bytes, const std::string& name);

}  // namespace qcert::onnxio
