// libFuzzer target for the NNet reader: any bytes must give a Network or an
// InputError, never a crash, a hang or another exception.
//   cmake -DQCERT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ... && ./fuzz_nnet corpus/
// Seed corpus: ../shared/benchmarks/acasxu/*.nnet.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The reader takes a path: write the bytes to a per-process file.
    static const std::string path = "/tmp/qcert-fuzz-nnet-" + std::to_string(getpid()) + ".nnet";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        qcert::Network net = qcert::read_nnet(path);
        if (net.input_size() > 0) net.forward(qcert::Vec::Zero(net.input_size()));
        qcert::read_nnet_normalised(path);
    } catch (const qcert::InputError&) {
    }
    return 0;
}
