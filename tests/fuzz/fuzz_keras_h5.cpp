// libFuzzer target for the Keras HDF5 reader: any bytes must give a Network or
// an InputError. Crashes inside libhdf5 itself on hostile files are possible
// (it is not hardened against them); report those upstream rather than here.
//   cmake -DQCERT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ... && ./fuzz_keras_h5 corpus/
// Seed corpus: ../shared/benchmarks/{aaai2021,qvip,qebverif,quadapter}/*.h5.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

// libhdf5 1.10 leaks a little internal memory on some damaged files (a plain C
// program that only opens the file and one group shows it too); LeakSanitizer
// should report leaks in our code, not in the library.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The reader takes a path: write the bytes to a per-process file.
    static const std::string path = "/tmp/qcert-fuzz-keras-" + std::to_string(getpid()) + ".h5";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        qcert::Network net = qcert::read_keras_h5(path);
        if (net.input_size() > 0 && net.input_size() < (1 << 20)) net.forward(qcert::Vec::Zero(net.input_size()));
    } catch (const qcert::InputError&) {
    }
    return 0;
}
