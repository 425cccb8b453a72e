// libFuzzer target for the IDX reader: the input is written to a temporary file
// and read as images, as labels, and as an image/label pair.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string temp_file(const uint8_t* data, size_t size) {
    char name[] = "/tmp/qcert-fuzz-idx-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) std::abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) std::abort();
        done += size_t(n);
    }
    close(fd);
    return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = temp_file(data, size);
    try { qcert::read_idx_images(path); } catch (const qcert::InputError&) {}
    try { qcert::read_idx_labels(path); } catch (const qcert::InputError&) {}
    try { qcert::read_idx(path, path); } catch (const qcert::InputError&) {}
    std::remove(path.c_str());
    return 0;
}
