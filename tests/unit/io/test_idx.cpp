// IDX reader and writer: the real MNIST / Fashion-MNIST test sets, round trips of
// small files written here (plain and gzip), and every kind of bad input.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace qcert {
namespace {

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// An IDX file: magic, dims, then `data` as given.
Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
    Bytes b;
    put_be32(b, magic);
    for (uint32_t d : dims) put_be32(b, d);
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

void write_plain(const std::string& path, const Bytes& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

void write_gzip(const std::string& path, const Bytes& b) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
}

Bytes slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Two 2x3 images with pixels 0..11 * 20, and their labels.
Bytes small_images() {
    Bytes px;
    for (int i = 0; i < 12; ++i) px.push_back(uint8_t(i * 20));
    return idx_bytes(0x803, {2, 2, 3}, px);
}
Bytes small_labels() { return idx_bytes(0x801, {2}, {3, 7}); }

// Expects `f` to throw an InputError whose message names `path` and contains `part`.
template <class F>
void expect_input_error(F f, const std::string& path, const std::string& part) {
    try {
        f();
        ADD_FAILURE() << "no InputError for " << path << " (expected '" << part << "')";
    } catch (const InputError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
}

TEST(Idx, MnistTestSet) {
    std::string dir = test::shared_benchmarks() + "/mnist/";
    QCERT_REQUIRE_FILE(dir + "t10k-images-idx3-ubyte.gz");
    Dataset d = read_idx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    EXPECT_EQ(d.count(), 10000);
    EXPECT_EQ(d.sample_shape, (Shape{1, 28, 28}));
    EXPECT_TRUE(d.integral);
    EXPECT_DOUBLE_EQ(d.float_scale, 1.0 / 255.0);
    ASSERT_EQ(d.labels.size(), 10000u);
    std::vector<int> first(d.labels.begin(), d.labels.begin() + 10);
    EXPECT_EQ(first, (std::vector<int>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
    double lo = 255, hi = 0;
    for (double v : d.raw) lo = std::min(lo, v), hi = std::max(hi, v);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 255);
    Vec x = d.float_sample(0);
    ASSERT_EQ(x.size(), 784);
    EXPECT_DOUBLE_EQ(x.maxCoeff(), d.raw_sample(0).maxCoeff() / 255.0);
}

TEST(Idx, FashionTestSet) {
    std::string dir = "/usr/share/datasets/fashion-mnist/";
    QCERT_REQUIRE_FILE(dir + "t10k-images-idx3-ubyte.gz");
    Dataset d = read_idx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    EXPECT_EQ(d.count(), 10000);
    EXPECT_EQ(d.sample_shape, (Shape{1, 28, 28}));
    std::vector<int> first(d.labels.begin(), d.labels.begin() + 10);
    EXPECT_EQ(first, (std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
    std::vector<int> per_class(10);
    for (int l : d.labels) {
        ASSERT_GE(l, 0);
        ASSERT_LE(l, 9);
        per_class[l]++;
    }
    for (int n : per_class) EXPECT_EQ(n, 1000);
}

// The 100 test images bundled in examples/ are the first 100 of Fashion-MNIST's test set.
TEST(Idx, BundledFashionSubset) {
    std::string ex = test::source_dir() + "/examples/";
    Dataset sub = read_idx(ex + "fashion_test_100-images-idx3-ubyte.gz", ex + "fashion_test_100-labels-idx1-ubyte.gz");
    EXPECT_EQ(sub.count(), 100);
    EXPECT_EQ(sub.sample_shape, (Shape{1, 28, 28}));
    std::string dir = "/usr/share/datasets/fashion-mnist/";
    QCERT_REQUIRE_FILE(dir + "t10k-images-idx3-ubyte.gz");
    Dataset full = read_idx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    EXPECT_TRUE(std::equal(sub.raw.begin(), sub.raw.end(), full.raw.begin()));
    EXPECT_TRUE(std::equal(sub.labels.begin(), sub.labels.end(), full.labels.begin()));
}

TEST(Idx, PlainAndGzipReadTheSame) {
    test::TempDir t;
    write_plain(t.file("img"), small_images());
    write_gzip(t.file("img.gz"), small_images());
    write_plain(t.file("lab"), small_labels());
    write_gzip(t.file("lab.gz"), small_labels());
    for (auto [img, lab] : {std::pair{"img", "lab"}, std::pair{"img.gz", "lab.gz"}}) {
        Dataset d = read_idx(t.file(img), t.file(lab));
        EXPECT_EQ(d.source, t.file(img));
        EXPECT_EQ(d.count(), 2);
        EXPECT_EQ(d.sample_shape, (Shape{1, 2, 3}));
        EXPECT_EQ(d.labels, (std::vector<int>{3, 7}));
        Vec s1 = d.raw_sample(1);
        for (int i = 0; i < 6; ++i) EXPECT_EQ(s1[i], (i + 6) * 20);
        EXPECT_DOUBLE_EQ(d.float_sample(1)[5], 220.0 / 255.0);
    }
}

TEST(Idx, WriterRoundTrip) {
    test::TempDir t;
    write_plain(t.file("img"), small_images());
    Dataset d = read_idx_images(t.file("img"));
    write_idx_images(d, t.file("copy"));
    EXPECT_EQ(slurp(t.file("copy")), small_images());
    write_idx_labels({3, 7}, t.file("lab"));
    EXPECT_EQ(slurp(t.file("lab")), small_labels());

    write_idx_images(d, t.file("copy.gz"));
    write_idx_images(d, t.file("again.gz"));
    EXPECT_EQ(slurp(t.file("copy.gz")), slurp(t.file("again.gz")));  // deterministic
    EXPECT_EQ(slurp(t.file("copy.gz"))[0], 0x1f);
    EXPECT_EQ(read_idx_images(t.file("copy.gz")).raw, d.raw);
    write_idx_labels({3, 7}, t.file("lab.gz"));
    EXPECT_EQ(read_idx_labels(t.file("lab.gz")), (std::vector<int>{3, 7}));
}

TEST(Idx, WriterRejectsBadValues) {
    test::TempDir t;
    Dataset d;
    d.sample_shape = {1, 1, 2};
    d.raw = {1, 2.5};
    expect_input_error([&] { write_idx_images(d, t.file("x")); }, t.file("x"), "0..255");
    d.raw = {1, 256};
    expect_input_error([&] { write_idx_images(d, t.file("x")); }, t.file("x"), "0..255");
    d.sample_shape = {3, 1, 2};
    d.raw = {0, 0, 0, 0, 0, 0};
    expect_input_error([&] { write_idx_images(d, t.file("x")); }, t.file("x"), "shape");
    expect_input_error([&] { write_idx_labels({1, 300}, t.file("y")); }, t.file("y"), "300");
    EXPECT_FALSE(std::filesystem::exists(t.file("x")));
    EXPECT_FALSE(std::filesystem::exists(t.file("y")));
    expect_input_error([&] { write_idx_labels({1}, t.file("no/such/dir")); }, t.file("no/such/dir"), "cannot write");
}

TEST(Idx, SampleIndexOutOfRange) {
    test::TempDir t;
    write_plain(t.file("img"), small_images());
    Dataset d = read_idx_images(t.file("img"));
    EXPECT_THROW(d.raw_sample(2), std::out_of_range);
    EXPECT_THROW(d.float_sample(-1), std::out_of_range);
}

TEST(IdxBad, MissingFile) {
    expect_input_error([] { read_idx_images("/nonexistent/images.idx"); }, "/nonexistent/images.idx", "cannot open");
}

TEST(IdxBad, EmptyFile) {
    test::TempDir t;
    write_plain(t.file("e"), {});
    expect_input_error([&] { read_idx_images(t.file("e")); }, t.file("e"), "truncated");
}

TEST(IdxBad, WrongMagic) {
    test::TempDir t;
    write_plain(t.file("text"), Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    expect_input_error([&] { read_idx_images(t.file("text")); }, t.file("text"), "bad magic");
    write_plain(t.file("lab"), small_labels());
    expect_input_error([&] { read_idx_images(t.file("lab")); }, t.file("lab"), "0x00000801");
    write_plain(t.file("img"), small_images());
    expect_input_error([&] { read_idx_labels(t.file("img")); }, t.file("img"), "0x00000803");
    write_plain(t.file("type"), idx_bytes(0x0701, {1}, {0}));  // 0x07 is no IDX type
    expect_input_error([&] { read_idx_labels(t.file("type")); }, t.file("type"), "bad magic");
}

TEST(IdxBad, TruncatedHeader) {
    test::TempDir t;
    Bytes b = small_images();
    b.resize(10);  // magic and half of the dims
    write_plain(t.file("h"), b);
    expect_input_error([&] { read_idx_images(t.file("h")); }, t.file("h"), "3 dimensions");
}

TEST(IdxBad, TruncatedData) {
    test::TempDir t;
    Bytes b = small_images();
    b.pop_back();
    write_plain(t.file("d"), b);
    expect_input_error([&] { read_idx_images(t.file("d")); }, t.file("d"), "truncated");
    write_gzip(t.file("d.gz"), b);
    expect_input_error([&] { read_idx_images(t.file("d.gz")); }, t.file("d.gz"), "truncated");
}

TEST(IdxBad, TruncatedGzipStream) {
    test::TempDir t;
    Bytes px(5000);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 7919 % 251);
    write_gzip(t.file("full.gz"), idx_bytes(0x803, {5, 25, 40}, px));
    Bytes gz = slurp(t.file("full.gz"));
    gz.resize(gz.size() / 2);
    write_plain(t.file("cut.gz"), gz);
    expect_input_error([&] { read_idx_images(t.file("cut.gz")); }, t.file("cut.gz"), "truncated");
}

TEST(IdxBad, GarbledGzip) {
    test::TempDir t;
    Bytes b = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    write_plain(t.file("g.gz"), b);
    expect_input_error([&] { read_idx_images(t.file("g.gz")); }, t.file("g.gz"), "gzip");
}

TEST(IdxBad, DimensionsOverflow) {
    test::TempDir t;
    write_plain(t.file("o"), idx_bytes(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    expect_input_error([&] { read_idx_images(t.file("o")); }, t.file("o"), "too large");
}

TEST(IdxBad, DimensionsExceedFile) {
    test::TempDir t;
    write_plain(t.file("x"), idx_bytes(0x803, {60000, 28, 28}, Bytes(100)));
    expect_input_error([&] { read_idx_images(t.file("x")); }, t.file("x"), "47040000 bytes");
    write_gzip(t.file("x.gz"), idx_bytes(0x803, {60000, 28, 28}, Bytes(100)));
    expect_input_error([&] { read_idx_images(t.file("x.gz")); }, t.file("x.gz"), "47040000 bytes");
}

TEST(IdxBad, TrailingData) {
    test::TempDir t;
    Bytes b = small_images();
    b.push_back(0);
    write_plain(t.file("t"), b);
    expect_input_error([&] { read_idx_images(t.file("t")); }, t.file("t"), "unexpected data");
}

TEST(IdxBad, EmptyImages) {
    test::TempDir t;
    write_plain(t.file("z"), idx_bytes(0x803, {5, 0, 28}, {}));
    expect_input_error([&] { read_idx_images(t.file("z")); }, t.file("z"), "empty");
}

TEST(IdxBad, CountsDiffer) {
    test::TempDir t;
    write_plain(t.file("img"), small_images());
    write_plain(t.file("lab"), idx_bytes(0x801, {3}, {1, 2, 3}));
    expect_input_error([&] { read_idx(t.file("img"), t.file("lab")); }, t.file("lab"), "3 labels");
    expect_input_error([&] { read_idx(t.file("img"), t.file("lab")); }, t.file("img"), "2 images");
}

TEST(IdxBad, LabelOutOfRange) {
    test::TempDir t;
    Bytes wide;  // int32 labels (type 0x0C): 5, 300
    put_be32(wide, 5);
    put_be32(wide, 300);
    write_plain(t.file("l"), idx_bytes(0x0C01, {2}, wide));
    expect_input_error([&] { read_idx_labels(t.file("l")); }, t.file("l"), "label 300 at index 1");
    write_plain(t.file("n"), idx_bytes(0x0901, {1}, {0xFF}));  // signed byte -1
    expect_input_error([&] { read_idx_labels(t.file("n")); }, t.file("n"), "label -1");
    Bytes ok;
    put_be32(ok, 255);
    write_plain(t.file("ok"), idx_bytes(0x0C01, {1}, ok));
    EXPECT_EQ(read_idx_labels(t.file("ok")), std::vector<int>{255});
}

}  // namespace
}  // namespace qcert
