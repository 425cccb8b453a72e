// IDX writers: unsigned-byte images (magic 0x00000803) and labels (0x00000801),
// gzip-compressed when the file name ends in ".gz".
//
// The bytes go to a temporary file beside the target, renamed into place once
// complete, so that a failure leaves no partial file. zlib writes a gzip header
// with a zero time stamp, so equal input gives byte-identical files.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace qcert {
namespace {

bool ends_with_gz(const std::string& path) {
    return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

// Writes `bytes` to `path` (gzip-compressed or not) through a temporary file.
void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    const std::string tmp = path + ".tmp";
    bool ok = false;
    errno = 0;
    if (ends_with_gz(path)) {
        gzFile f = gzopen(tmp.c_str(), "wb9");
        if (f) {
            ok = true;
            size_t done = 0;
            while (ok && done < bytes.size()) {
                unsigned chunk = unsigned(std::min<size_t>(bytes.size() - done, size_t(1) << 20));
                ok = gzwrite(f, bytes.data() + done, chunk) == int(chunk);
                done += chunk;
            }
            ok = (gzclose(f) == Z_OK) && ok;
        }
    } else if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
        ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
        ok = (std::fclose(f) == 0) && ok;
    }
    std::error_code ec;
    if (ok) std::filesystem::rename(tmp, path, ec);
    if (!ok || ec) {
        std::string why = ec ? ec.message() : (errno ? std::strerror(errno) : "write failed");
        std::filesystem::remove(tmp, ec);
        throw InputError(path, "cannot write: " + why);
    }
}

}  // namespace

void write_idx_images(const Dataset& images, const std::string& path) {
    const Shape& s = images.sample_shape;
    int64_t rows = 0, cols = 0;
    if (s.size() == 3 && s[0] == 1) rows = s[1], cols = s[2];
    else if (s.size() == 2) rows = s[0], cols = s[1];
    if (rows <= 0 || cols <= 0 || rows > UINT32_MAX || cols > UINT32_MAX || images.count() > UINT32_MAX)
        throw InputError(path, "cannot write sample shape " + shape_str(s) + " (" +
                                   std::to_string(images.count()) + " samples) as IDX images");
    std::vector<uint8_t> out;
    out.reserve(16 + images.raw.size());
    put_be32(out, 0x00000803);
    put_be32(out, uint32_t(images.count()));
    put_be32(out, uint32_t(rows));
    put_be32(out, uint32_t(cols));
    for (size_t i = 0; i < size_t(images.count() * rows * cols); ++i) {
        double v = images.raw[i];
        if (!(v >= 0 && v <= 255 && v == std::floor(v)))
            throw InputError(path, "pixel " + std::to_string(i) + " = " + std::to_string(v) +
                                       " is not an integer in 0..255");
        out.push_back(uint8_t(v));
    }
    write_file(path, out);
}

void write_idx_labels(const std::vector<int>& labels, const std::string& path) {
    if (labels.size() > UINT32_MAX) throw InputError(path, "too many labels for IDX");
    std::vector<uint8_t> out;
    out.reserve(8 + labels.size());
    put_be32(out, 0x00000801);
    put_be32(out, uint32_t(labels.size()));
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] > 255)
            throw InputError(path, "label " + std::to_string(labels[i]) + " at index " +
                                       std::to_string(i) + " is outside 0..255");
        out.push_back(uint8_t(labels[i]));
    }
    write_file(path, out);
}

}  // namespace qcert
