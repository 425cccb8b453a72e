// The counterexample search of `qcert bound` on an integer twin: moves per second of the
// simulated annealing (errbound_anneal.hpp) on QEBVerif's networks under qebverif:4, radius 3
// around MNIST test sample 1866 (its largest output), and the best |g - f| it reaches in a fixed
// number of moves. Skips itself when ../shared is absent.
#include "analysis/errbound_anneal.hpp"
#include "qcert/blocks.hpp"
#include "qcert/errbound.hpp"
#include "qcert/io.hpp"
#include "qcert/quant.hpp"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <filesystem>
#include <string>

namespace {

const std::string kRoot = QCERT_SHARED_DIR "/benchmarks";

void BM_AnnealQ4(benchmark::State& state, const std::string& net) {
    const std::string model = kRoot + "/qebverif/PTQ_mnist_" + net + "_in_8_relu_0.h5";
    if (!std::filesystem::exists(model)) {
        state.SkipWithError("../shared/benchmarks absent");
        return;
    }
    using namespace qcert;
    const BlockNet f = to_blocks(load_model(model).net);
    const ErrPair p = make_err_pair(f, *quantize(f, parse_scheme("qebverif:4", f)).integer, 255.0);
    const Dataset d = read_idx(kRoot + "/mnist/t10k-images-idx3-ubyte.gz", kRoot + "/mnist/t10k-labels-idx1-ubyte.gz");
    const Vec x = d.raw_sample(1866);
    std::vector<double> lo, hi, centre;
    for (int64_t j = 0; j < x.size(); ++j) {
        lo.push_back(std::max(0.0, x[j] - 3)), hi.push_back(std::min(255.0, x[j] + 3));
        centre.push_back(x[j]);
    }
    int64_t k = 0;
    f.forward(x / 255.0).maxCoeff(&k);
    errbound::AnnealOptions o;
    o.seconds = 1e9;
    o.restarts = 1;
    o.moves_per_input = 30;
    int64_t moves = 0;
    double found = 0;
    for (auto _ : state) {
        std::mt19937_64 rng(1);
        errbound::BestInputs best({k});
        moves += errbound::anneal(p, lo, hi, k, 1.0, centre, o, rng, best);
        found = best.value();
    }
    state.SetItemsProcessed(moves);
    state.counters["best"] = found;
}
BENCHMARK_CAPTURE(BM_AnnealQ4, 3blk_100_100_100, std::string("3blk_100_100_100"))->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_AnnealQ4, 2blk_512_512, std::string("2blk_512_512"))->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
