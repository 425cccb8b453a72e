// CSV reader: separators, comments, header rows, integrality, and bad input.
#include "qcert/error.hpp"
#include "qcert/io.hpp"
#include "test_util.hpp"

#include <fstream>
#include <string>

namespace qcert {
namespace {

std::string write_text(const test::TempDir& t, const std::string& name, const std::string& text) {
    std::string path = t.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

void expect_error(const std::string& path, const std::string& part) {
    try {
        read_csv(path);
        ADD_FAILURE() << "no InputError for " << path << " (expected '" << part << "')";
    } catch (const InputError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
}

TEST(Csv, CommasCommentsHeaderAndBlankLines) {
    test::TempDir t;
    auto p = write_text(t, "a.csv",
                        "# produced by a test\n"
                        "\n"
                        "x1, x2 ,x3\n"
                        "1,2,3   # trailing comment\n"
                        "  # indented comment\n"
                        "-4.5, +5e-1 ,6\r\n"
                        "\n");
    Dataset d = read_csv(p);
    EXPECT_EQ(d.source, p);
    EXPECT_EQ(d.sample_shape, Shape{3});
    EXPECT_EQ(d.count(), 2);
    EXPECT_EQ(d.raw, (std::vector<double>{1, 2, 3, -4.5, 0.5, 6}));
    EXPECT_TRUE(d.labels.empty());
    EXPECT_EQ(d.float_scale, 1.0);
    EXPECT_FALSE(d.integral);
    EXPECT_EQ(d.float_sample(1)[1], 0.5);
}

TEST(Csv, WhitespaceSeparatedIntegers) {
    test::TempDir t;
    auto p = write_text(t, "b.txt", "0 255\t17\n3   4 5\n");
    Dataset d = read_csv(p);
    EXPECT_EQ(d.sample_shape, Shape{3});
    EXPECT_EQ(d.raw, (std::vector<double>{0, 255, 17, 3, 4, 5}));
    EXPECT_TRUE(d.integral);
    EXPECT_EQ(d.raw_sample(1)[2], 5);
}

TEST(Csv, SingleColumnQuotedAndNoFinalNewline) {
    test::TempDir t;
    auto p = write_text(t, "c.csv", "\"label\"\n\"1\"\n2");
    Dataset d = read_csv(p);
    EXPECT_EQ(d.sample_shape, Shape{1});
    EXPECT_EQ(d.raw, (std::vector<double>{1, 2}));
}

TEST(Csv, ExactDecimalParsing) {
    test::TempDir t;
    auto p = write_text(t, "d.csv", "0.1,0.30000000000000004,1e-300\n");
    Dataset d = read_csv(p);
    EXPECT_EQ(d.raw[0], 0.1);
    EXPECT_EQ(d.raw[1], 0.30000000000000004);
    EXPECT_EQ(d.raw[2], 1e-300);
}

// The bundled two-input data set: 500 points in [0,1]^2 and their 0/1 labels.
TEST(Csv, BundledTwoInputData) {
    std::string ex = test::source_dir() + "/examples/";
    Dataset x = read_csv(ex + "two_input_data.csv");
    Dataset y = read_csv(ex + "two_input_labels.csv");
    EXPECT_EQ(x.sample_shape, Shape{2});
    EXPECT_EQ(x.count(), 500);
    EXPECT_FALSE(x.integral);
    for (double v : x.raw) EXPECT_TRUE(v >= 0 && v <= 1) << v;
    EXPECT_EQ(y.sample_shape, Shape{1});
    EXPECT_EQ(y.count(), 500);
    EXPECT_TRUE(y.integral);
    for (double v : y.raw) EXPECT_TRUE(v == 0 || v == 1) << v;
}

TEST(CsvBad, MissingFile) { expect_error("/nonexistent/data.csv", "cannot open"); }

TEST(CsvBad, RaggedRows) {
    test::TempDir t;
    expect_error(write_text(t, "r.csv", "1,2\n3,4\n# c\n5,6,7\n"), "line 4: 3 values, but earlier rows have 2");
    expect_error(write_text(t, "h.csv", "a,b,c\n1,2\n"), "line 2: 2 values, but the header on line 1 has 3");
}

TEST(CsvBad, NonNumericCell) {
    test::TempDir t;
    expect_error(write_text(t, "n.csv", "1,2\n3,abc\n"), "line 2, column 2: 'abc' is not a finite number");
    // A first row that mixes numbers and text is not a header.
    expect_error(write_text(t, "m.csv", "1,x\n3,4\n"), "line 1, column 2");
    // A second non-numeric row is not skipped.
    expect_error(write_text(t, "hh.csv", "a,b\nc,d\n1,2\n"), "line 2, column 1");
    expect_error(write_text(t, "e.csv", "1,,2\n"), "line 1, column 2: empty cell");
    expect_error(write_text(t, "nan.csv", "1,nan\n"), "line 1, column 2: 'nan'");
    expect_error(write_text(t, "inf.csv", "1\n-inf\n"), "line 2, column 1");
    expect_error(write_text(t, "big.csv", "1\n1e999\n"), "line 2, column 1");
    expect_error(write_text(t, "pm.csv", "1\n+-1\n"), "line 2, column 1");
    expect_error(write_text(t, "hex.csv", "1\n0x10\n"), "line 2, column 1");
}

TEST(CsvBad, NoData) {
    test::TempDir t;
    expect_error(write_text(t, "empty.csv", ""), "no rows");
    expect_error(write_text(t, "only.csv", "# nothing\n\nx,y\n"), "no rows of numbers (line 3 was taken for a header)");
}

}  // namespace
}  // namespace qcert
