// IDX files (MNIST, Fashion-MNIST), gzip-compressed or not.
//
// An IDX file is a 4-byte magic (0, 0, element type, number of dimensions), one
// big-endian uint32 per dimension, then the elements in row-major order, big-endian.
// zlib's gz* functions read gzip files and plain files alike (a plain file is
// passed through), so one code path serves both.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace qcert {
namespace {

enum IdxType : uint8_t {
    U8 = 0x08, I8 = 0x09, I16 = 0x0B, I32 = 0x0C, F32 = 0x0D, F64 = 0x0E,
};

int element_bytes(uint8_t type) {
    switch (type) {
    case U8: case I8: return 1;
    case I16: return 2;
    case I32: case F32: return 4;
    case F64: return 8;
    default: return 0;
    }
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// A gzFile that closes itself; reads report errors as InputError.
class GzReader {
public:
    explicit GzReader(const std::string& path) : path_(path) {
        errno = 0;
        f_ = gzopen(path.c_str(), "rb");
        if (!f_)
            throw InputError(path, std::string("cannot open: ") +
                                       (errno ? std::strerror(errno) : "out of memory"));
    }
    ~GzReader() { if (f_) gzclose(f_); }
    GzReader(const GzReader&) = delete;
    GzReader& operator=(const GzReader&) = delete;

    // Reads up to n bytes; returns how many were read (less only at end of data).
    size_t read(uint8_t* dst, size_t n) {
        size_t done = 0;
        while (done < n) {
            unsigned chunk = unsigned(std::min<size_t>(n - done, size_t(1) << 20));
            int got = gzread(f_, dst + done, chunk);
            if (got < 0) fail();
            if (got == 0) break;
            done += size_t(got);
        }
        // A truncated gzip stream is reported only through gzerror.
        if (done < n) {
            int err = Z_OK;
            gzerror(f_, &err);
            if (err != Z_OK) fail();
        }
        return done;
    }

private:
    [[noreturn]] void fail() {
        int err = Z_OK;
        const char* msg = gzerror(f_, &err);
        if (err == Z_ERRNO) msg = std::strerror(errno);
        throw InputError(path_, std::string("cannot read (corrupt or truncated gzip data?): ") +
                                    (msg ? msg : "unknown error"));
    }

    std::string path_;
    gzFile f_ = nullptr;
};

struct IdxArray {
    uint8_t type = 0;
    std::vector<uint32_t> dims;
    std::vector<uint8_t> data;  // the elements, still big-endian
    uint64_t count = 0;         // number of elements
};

// Elements beyond this are refused: 2^36 bytes is far past any data set qcert reads.
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 36;

IdxArray read_idx_array(const std::string& path) {
    GzReader in(path);
    uint8_t head[4];
    size_t got = in.read(head, 4);
    if (got < 4) throw InputError(path, "truncated: the 4-byte IDX magic number is missing");
    uint32_t magic = be32(head);
    IdxArray a;
    a.type = head[2];
    int ndims = head[3];
    if (head[0] != 0 || head[1] != 0 || element_bytes(a.type) == 0 || ndims == 0)
        throw InputError(path, "not an IDX file: bad magic number " + hex32(magic));

    std::vector<uint8_t> dimbytes(size_t(ndims) * 4);
    if (in.read(dimbytes.data(), dimbytes.size()) < dimbytes.size())
        throw InputError(path, "truncated: the header should hold " + std::to_string(ndims) +
                                   " dimensions");
    uint64_t count = 1;
    std::string dims_text;
    for (int i = 0; i < ndims; ++i) {
        uint32_t d = be32(&dimbytes[size_t(i) * 4]);
        a.dims.push_back(d);
        dims_text += (i ? " x " : "") + std::to_string(d);
        if (d != 0 && count > kMaxDataBytes / d)
            throw InputError(path, "dimensions " + dims_text + "... are too large (overflow)");
        count *= d;
    }
    uint64_t bytes = count * uint64_t(element_bytes(a.type));
    if (bytes > kMaxDataBytes)
        throw InputError(path, "dimensions " + dims_text + " are too large (overflow)");
    a.count = count;

    // Read in chunks, growing with the data actually present, so that a header
    // that lies about its size cannot make us allocate more than the file holds.
    size_t have = 0;
    while (have < bytes) {
        size_t want = size_t(std::min<uint64_t>(bytes - have, uint64_t(1) << 24));
        a.data.resize(have + want);
        size_t n = in.read(a.data.data() + have, want);
        have += n;
        if (n < want) break;
    }
    if (have < bytes)
        throw InputError(path, "truncated: dimensions " + dims_text + " need " +
                                   std::to_string(bytes) + " bytes of data, the file has " +
                                   std::to_string(have));
    uint8_t extra;
    if (in.read(&extra, 1) != 0)
        throw InputError(path, "unexpected data after the " + std::to_string(bytes) +
                                   " bytes that dimensions " + dims_text + " call for");
    return a;
}

// Integer element i of an integer-typed array.
int64_t int_element(const IdxArray& a, uint64_t i) {
    const uint8_t* p = a.data.data();
    switch (a.type) {
    case U8: return p[i];
    case I8: return int8_t(p[i]);
    case I16: return int16_t(uint16_t(p[2 * i] << 8 | p[2 * i + 1]));
    case I32: return int32_t(be32(p + 4 * i));
    default: return 0;
    }
}

}  // namespace

Dataset read_idx_images(const std::string& path) {
    IdxArray a = read_idx_array(path);
    if (a.type != U8 || a.dims.size() != 3)
        throw InputError(path, "expected IDX images (magic 0x00000803: unsigned bytes, 3 dimensions), "
                               "found magic " + hex32(uint32_t(a.type) << 8 | uint32_t(a.dims.size())));
    if (a.dims[1] == 0 || a.dims[2] == 0)
        throw InputError(path, "image size " + std::to_string(a.dims[1]) + " x " +
                                   std::to_string(a.dims[2]) + " is empty");
    Dataset d;
    d.source = path;
    d.sample_shape = {1, int64_t(a.dims[1]), int64_t(a.dims[2])};
    d.raw.assign(a.data.begin(), a.data.end());
    d.float_scale = 1.0 / 255.0;
    d.integral = true;
    return d;
}

std::vector<int> read_idx_labels(const std::string& path) {
    IdxArray a = read_idx_array(path);
    if (a.dims.size() != 1 || !(a.type == U8 || a.type == I8 || a.type == I16 || a.type == I32))
        throw InputError(path, "expected IDX labels (magic 0x00000801: unsigned bytes, 1 dimension), "
                               "found magic " + hex32(uint32_t(a.type) << 8 | uint32_t(a.dims.size())));
    std::vector<int> labels(a.count);
    for (uint64_t i = 0; i < a.count; ++i) {
        int64_t v = int_element(a, i);
        if (v < 0 || v > 255)
            throw InputError(path, "label " + std::to_string(v) + " at index " + std::to_string(i) +
                                       " is outside 0..255");
        labels[i] = int(v);
    }
    return labels;
}

Dataset read_idx(const std::string& images, const std::string& labels) {
    Dataset d = read_idx_images(images);
    d.labels = read_idx_labels(labels);
    if (int64_t(d.labels.size()) != d.count())
        throw InputError(labels, "has " + std::to_string(d.labels.size()) + " labels but " + images +
                                     " has " + std::to_string(d.count()) + " images");
    return d;
}

}  // namespace qcert
