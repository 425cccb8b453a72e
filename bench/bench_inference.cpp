// Loading and exact quantized inference of the MNIST test set on the AAAI 2021
// network (issue target: under 1 s). Skips itself when ../shared is absent.
#include "qcert/model.hpp"

#include <benchmark/benchmark.h>
#include <filesystem>
#include <string>

namespace {

const std::string kRoot = QCERT_SHARED_DIR "/benchmarks";

bool present() { return std::filesystem::exists(kRoot + "/aaai2021/mnist_mlp.h5"); }

void BM_LoadAndQuantizedAccuracy(benchmark::State& state) {
    if (!present()) {
        state.SkipWithError("../shared/benchmarks absent");
        return;
    }
    int64_t correct = 0;
    for (auto _ : state) {
        const qcert::Subject s = qcert::load_subject(kRoot + "/aaai2021/mnist_mlp.h5", "aaai2021:6");
        const qcert::Dataset d =
            qcert::read_idx(kRoot + "/mnist/t10k-images-idx3-ubyte.gz", kRoot + "/mnist/t10k-labels-idx1-ubyte.gz");
        correct = qcert::accuracy(d, -1, [&](int64_t i) { return s.quantized_class(d, i); }).correct;
        benchmark::DoNotOptimize(correct);
    }
    state.counters["correct"] = double(correct);
}
BENCHMARK(BM_LoadAndQuantizedAccuracy)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

void BM_QuantizedInferenceOnly(benchmark::State& state) {
    if (!present()) {
        state.SkipWithError("../shared/benchmarks absent");
        return;
    }
    const qcert::Subject s = qcert::load_subject(kRoot + "/aaai2021/mnist_mlp.h5", "aaai2021:6");
    const qcert::Dataset d = qcert::read_idx(kRoot + "/mnist/t10k-images-idx3-ubyte.gz", kRoot + "/mnist/t10k-labels-idx1-ubyte.gz");
    for (auto _ : state) {
        benchmark::DoNotOptimize(qcert::accuracy(d, -1, [&](int64_t i) { return s.quantized_class(d, i); }).correct);
    }
}
BENCHMARK(BM_QuantizedInferenceOnly)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
