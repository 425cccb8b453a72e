#include "two_input.hpp"

#include "qcert/error.hpp"

#include <cmath>
#include <cstdio>
#include <numbers>

namespace qcert::train {
namespace {

double round6(double v) { return std::round(v * 1e6) / 1e6; }

// Writes text through a temporary file, renamed into place when complete.
template <class Body>
void write_text_file(const std::string& path, Body body) {
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw InputError(path, "cannot write");
    body(f);
    bool ok = !std::ferror(f);
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw InputError(path, "cannot write");
    }
}

}  // namespace

int two_input_class(double x1, double x2) {
    return x2 > 0.5 + 0.25 * std::sin(2 * std::numbers::pi * x1) ? 1 : 0;
}

Samples two_input_points(int64_t count, uint64_t seed) {
    Rng rng(seed);
    Samples s;
    s.X.resize(2, count);
    s.y.resize(count);
    for (int64_t j = 0; j < count; ++j) {
        s.X(0, j) = round6(rng.uniform());
        s.X(1, j) = round6(rng.uniform());
        s.y[j] = two_input_class(s.X(0, j), s.X(1, j));
    }
    return s;
}

void write_points_csv(const Samples& s, const std::string& path, const std::string& comment) {
    write_text_file(path, [&](FILE* f) {
        std::fprintf(f, "# %s\nx1,x2\n", comment.c_str());
        for (int64_t j = 0; j < s.count(); ++j) std::fprintf(f, "%.6f,%.6f\n", s.X(0, j), s.X(1, j));
    });
}

void write_labels_csv(const Samples& s, const std::string& path, const std::string& comment) {
    write_text_file(path, [&](FILE* f) {
        std::fprintf(f, "# %s\nlabel\n", comment.c_str());
        for (int y : s.y) std::fprintf(f, "%d\n", y);
    });
}

}  // namespace qcert::train
