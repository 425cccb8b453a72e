// qcert bound on QEBVerif's P1 network (1blk_100) under qebverif:10, radius 3, eps 1, on the 30
// test samples of QEBVerif's evaluation: QEBVerif's DRA+MILP decides all 30, 24 hold and 6 are
// violated (../shared/benchmarks/README.md; QEBVerif/Data, Table 2).
#include "qcert/blocks.hpp"
#include "qcert/errbound.hpp"
#include "qcert/io.hpp"
#include "qcert/quant.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <set>

using namespace qcert;

TEST(RegressQebverif, P1AtTenBitsEpsOneHoldsOn24AndIsViolatedOn6) {
    const std::string root = test::shared_benchmarks();
    const std::string model = root + "/qebverif/PTQ_mnist_1blk_100_in_8_relu_0.h5";
    const std::string images = root + "/mnist/t10k-images-idx3-ubyte.gz";
    QCERT_REQUIRE_FILE(model);
    QCERT_REQUIRE_FILE(images);
    const Dataset d = read_idx(images, root + "/mnist/t10k-labels-idx1-ubyte.gz");
    const BlockNet f = to_blocks(load_model(model).net);
    const QuantizedNet q = quantize(f, parse_scheme("qebverif:10", f));
    ASSERT_TRUE(q.integer.has_value());
    const ErrPair p = make_err_pair(f, *q.integer, 255.0);
    const std::vector<int64_t> ids = {3236, 5656, 7219, 7098, 3825, 521,  9886, 7389, 3064, 4544,
                                      7773, 1340, 7894, 8463, 6930, 2898, 2190, 1866, 914,  5574,
                                      3770, 3016, 6395, 2897, 8541, 5082, 3712, 150,  2486, 3986};
    std::set<int64_t> violated;
    int holds = 0;
    for (int64_t id : ids) {
        const Vec x = d.raw_sample(id);
        std::vector<double> lo, hi;
        for (int64_t j = 0; j < x.size(); ++j) lo.push_back(std::max(0.0, x[j] - 3)), hi.push_back(std::min(255.0, x[j] + 3));
        int64_t k = 0;
        p.f.forward(x / 255.0).maxCoeff(&k);
        ErrBoundOptions o;
        o.eps = 1.0;
        o.timeout_s = 20;
        const ErrBoundResult r = error_bound(p, lo, hi, {k}, o);
        if (r.verdict == BoundVerdict::Holds) ++holds;
        if (r.verdict == BoundVerdict::Violated) {
            violated.insert(id);
            // The witness is an integer point of the box where |g - f| > 1 in the exact semantics.
            ASSERT_EQ(r.witness.size(), lo.size());
            for (size_t j = 0; j < lo.size(); ++j) {
                ASSERT_EQ(r.witness[j], std::round(r.witness[j]));
                ASSERT_GE(r.witness[j], lo[j]);
                ASSERT_LE(r.witness[j], hi[j]);
            }
            EXPECT_GT(difference_enclosure(p, r.witness)[size_t(k)].mig(), 1.0) << id;
        }
    }
    EXPECT_EQ(holds, 24);
    EXPECT_EQ(violated, (std::set<int64_t>{7098, 7773, 5574, 3770, 3016, 3712}));
}
