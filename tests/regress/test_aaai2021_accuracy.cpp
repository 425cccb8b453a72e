// The AAAI 2021 benchmark networks under their published integer semantics:
// accuracy and misclassified samples as given in ../shared/benchmarks/README.md.
#include "qcert/inspect.hpp"
#include "qcert/model.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <set>

using namespace qcert;

namespace {

std::string bench(const std::string& rel) {
    const std::string root = test::shared_benchmarks();
    return root.empty() ? "/nonexistent/" + rel : root + "/" + rel;
}

}  // namespace

TEST(RegressAaai2021, MnistQuantizedAccuracy) {
    const std::string model = bench("aaai2021/mnist_mlp.h5");
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(bench("mnist/t10k-images-idx3-ubyte.gz"));
    const Subject s = load_subject(model, "aaai2021:6");
    const Dataset d = read_idx(bench("mnist/t10k-images-idx3-ubyte.gz"), bench("mnist/t10k-labels-idx1-ubyte.gz"));
    const Accuracy a = accuracy(d, -1, [&](int64_t i) { return s.quantized_class(d, i); });
    EXPECT_EQ(a.total, 10000);
    EXPECT_EQ(a.correct, 9708);  // 97.08 %
    // The AAAI MNIST benchmark has 391 queries over samples 0..399: 9 are misclassified.
    EXPECT_EQ(std::count_if(a.misclassified.begin(), a.misclassified.end(), [](int64_t i) { return i < 400; }), 9);
}

TEST(RegressAaai2021, FashionQuantizedAccuracyAndMisclassified) {
    const std::string model = bench("aaai2021/fashion-mnist_mlp.h5");
    const std::string images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(images);
    const Subject s = load_subject(model, "aaai2021:6");
    const Dataset d = read_idx(images, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    const Accuracy a = accuracy(d, -1, [&](int64_t i) { return s.quantized_class(d, i); });
    EXPECT_EQ(a.correct, 8560);  // 85.60 %
    const std::set<int64_t> expected = {12,  17,  23,  25,  26,  29,  40,  48,  51,  66,  68,  89,  98,  107, 127, 145,
                                        147, 150, 153, 163, 183, 192, 193, 222, 226, 239, 241, 244, 247, 249, 316, 322,
                                        324, 325, 332, 344};
    std::set<int64_t> got;
    for (int64_t i : a.misclassified)
        if (i < 250 || (i >= 300 && i < 350)) got.insert(i);
    EXPECT_EQ(got, expected);
}

TEST(RegressAaai2021, InspectCliReportsTheSameAccuracy) {
    const std::string model = bench("aaai2021/mnist_mlp.h5");
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(bench("mnist/t10k-images-idx3-ubyte.gz"));
    std::string out, err;
    const int rc = test::run_cli("inspect " + model + " --scheme aaai2021:6 --images " + bench("mnist/t10k-images-idx3-ubyte.gz") +
                                     " --labels " + bench("mnist/t10k-labels-idx1-ubyte.gz") + " --json",
                                 &out, &err);
    ASSERT_EQ(rc, 0) << err;
    const auto j = nlohmann::json::parse(out);
    EXPECT_DOUBLE_EQ(j["quantized_accuracy"].get<double>(), 0.9708);
    EXPECT_EQ(j["misclassified"].size(), 292u);
    EXPECT_EQ(j["parameters"].get<int64_t>(), 784 * 64 + 64 + 64 * 32 + 32);
}
