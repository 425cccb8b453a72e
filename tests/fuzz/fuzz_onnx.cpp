// libFuzzer target for the ONNX reader: the input bytes are parsed as a model in
// memory (the same path as read_onnx after the file is read). InputError is the
// expected answer to bad input; any other exception or crash is a finding.
//
// A useful seed corpus: the model.onnx files of Debian's libonnx-testdata and
// models written by write_onnx, e.g.
//   fuzz_onnx corpus/ /usr/share/libonnx-testdata/data/node/test_gemm_*/
#include "../../src/io/onnx_reader.hpp"
#include "qcert/error.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        qcert::LoadedModel m = qcert::onnxio::read_model_bytes(bytes, "fuzz.onnx");
        // Use the result: run both networks once on a zero input.
        (void)m.net.forward(qcert::Vec::Zero(m.net.input_size()));
        if (m.qdq) (void)m.qdq->eval(std::vector<int64_t>(size_t(m.qdq->input_size()), m.qdq->input.lo));
    } catch (const qcert::InputError&) {
    }
    return 0;
}
