#!/usr/bin/env bash
# Benchmark: load the AAAI 2021 MNIST network and data, exact integer inference of
# the 10,000 test images. Writes bench/results/inference.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=bench_inference bash scripts/build.sh >/dev/null
mkdir -p bench/results
./build/bench_inference --benchmark_out=bench/results/inference.json --benchmark_out_format=json \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true | tee bench/results/inference.txt
