// libFuzzer target for the CSV reader: the input is written to a temporary file and read.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    char name[] = "/tmp/qcert-fuzz-csv-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) std::abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) std::abort();
        done += size_t(n);
    }
    close(fd);
    try {
        qcert::Dataset d = qcert::read_csv(name);
        if (d.count() > 0) (void)d.float_sample(d.count() - 1);
    } catch (const qcert::InputError&) {
    }
    std::remove(name);
    return 0;
}
