#!/usr/bin/env bash
# Benchmark: moves per second of the annealing (the counterexample search of `qcert bound` on an
# integer twin) on QEBVerif's 3blk_100_100_100 and 2blk_512_512 under qebverif:4, and the best
# |g - f| its fixed chain reaches. Writes bench/results/anneal.{json,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=bench_anneal bash scripts/build.sh >/dev/null
mkdir -p bench/results
./build/bench_anneal --benchmark_out=bench/results/anneal.json --benchmark_out_format=json \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true | tee bench/results/anneal.txt
