#!/usr/bin/env bash
# The readers under AddressSanitizer + UBSan, then each libFuzzer target for a
# short run from a seed corpus made of the project's own example files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# cvc5's libcln leaks a few bytes at load time in every process that links it (the test
# binary at test discovery, each qcert the CLI tests start): suppressed, and the
# suppression report kept off stderr, which the CLI tests read.
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQCERT_SANITIZE=ON -DQCERT_BENCH=OFF >/dev/null
cmake --build build-asan -j "$(nproc)" --target unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ./build-asan/unit_tests --gtest_filter='Onnx*:Keras*:NNet*:Idx*:Csv*:Cli*' --gtest_brief=1
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQCERT_FUZZ=ON \
  -DQCERT_BENCH=OFF >/dev/null
for src in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  cmake --build build-fuzz -j "$(nproc)" --target "$name"
  corpus=$(mktemp -d)
  case "$name" in
    fuzz_onnx) cp examples/*.onnx "$corpus"/ 2>/dev/null || true ;;
    fuzz_keras_h5) cp tests/data/*.h5 "$corpus"/ 2>/dev/null || true ;;
    fuzz_nnet) cp tests/data/*.nnet "$corpus"/ 2>/dev/null || true ;;
    fuzz_idx) cp examples/*ubyte* "$corpus"/ 2>/dev/null || true ;;
    fuzz_csv) cp examples/*.csv "$corpus"/ 2>/dev/null || true ;;
  esac
  echo "fuzzing $name for ${FUZZ_SECONDS}s"
  LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp ./build-fuzz/"$name" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -max_len=65536 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done
