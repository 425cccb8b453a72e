// libFuzzer target for the VNN-LIB reader: any bytes must give a property or an
// InputError, never a crash, a hang or another exception.
//   cmake -DQCERT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ... && ./fuzz_vnnlib corpus/
// Seed corpus: the VNN-COMP acasxu and mnist_fc .vnnlib files, or the files
// written by tests/unit/io/test_vnnlib.cpp.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The reader takes a path: write the bytes to a per-process file.
    static const std::string path = "/tmp/qcert-fuzz-vnnlib-" + std::to_string(getpid()) + ".vnnlib";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        qcert::VnnlibProperty p = qcert::read_vnnlib(path);
        // Exercise the result: the centre of the first box against zero outputs.
        std::vector<double> x;
        for (const auto& [lo, hi] : p.input_boxes.at(0)) x.push_back(lo / 2 + hi / 2);
        p.is_unsafe(x, qcert::Vec::Zero(p.outputs));
    } catch (const qcert::InputError&) {
    }
    return 0;
}
