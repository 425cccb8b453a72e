#!/usr/bin/env bash
# The AAAI 2021 benchmark (Henzinger, Lechner, Zikelic): robustness of the Fashion-MNIST
# and MNIST 784-64-32 networks under their 6-bit integer semantics.
#   Fashion: samples 0-99 at eps 1, 100-199 at 2, 200-249 at 3, 300-349 at 4 (264 queries + 36 misclassified)
#   MNIST:   samples 0-399 at eps 1, 2, 3, 4 per block of 100 (391 queries + 9 misclassified)
# Results go to bench/results/aaai2021_{fashion,mnist}.jsonl as they are decided (a re-run
# resumes), then tables in bench/results/aaai2021_{fashion,mnist}.md.
# Usage: bench/aaai2021.sh [fashion|mnist|all] [TIMEOUT_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
TIMEOUT=${2:-60}
B=../shared/benchmarks
if [ ! -d "$B/aaai2021" ]; then echo "skipped: $B/aaai2021 not present"; exit 0; fi
TARGETS=qcert bash scripts/build.sh >/dev/null
mkdir -p bench/results
run() {  # name model images labels samples eps
  ./build/qcert verify "$2" --scheme aaai2021:6 --images "$3" --labels "$4" --samples "$5" --eps "$6" \
    --timeout "$TIMEOUT" --out "bench/results/aaai2021_$1.jsonl" --json > /dev/null
}
if [ "$WHICH" = fashion ] || [ "$WHICH" = all ]; then
  F=/usr/share/datasets/fashion-mnist
  M=$B/aaai2021/fashion-mnist_mlp.h5
  run fashion $M $F/t10k-images-idx3-ubyte.gz $F/t10k-labels-idx1-ubyte.gz 0:100 1
  run fashion $M $F/t10k-images-idx3-ubyte.gz $F/t10k-labels-idx1-ubyte.gz 100:200 2
  run fashion $M $F/t10k-images-idx3-ubyte.gz $F/t10k-labels-idx1-ubyte.gz 200:250 3
  run fashion $M $F/t10k-images-idx3-ubyte.gz $F/t10k-labels-idx1-ubyte.gz 300:350 4
  python3 bench/aaai2021_table.py fashion bench/results/aaai2021_fashion.jsonl > bench/results/aaai2021_fashion.md
  tail -n 12 bench/results/aaai2021_fashion.md
fi
if [ "$WHICH" = mnist ] || [ "$WHICH" = all ]; then
  I=$B/mnist/t10k-images-idx3-ubyte.gz L=$B/mnist/t10k-labels-idx1-ubyte.gz M=$B/aaai2021/mnist_mlp.h5
  for e in 1 2 3 4; do run mnist $M $I $L $(( (e-1)*100 )):$(( e*100 )) $e; done
  python3 bench/aaai2021_table.py mnist bench/results/aaai2021_mnist.jsonl > bench/results/aaai2021_mnist.md
  tail -n 12 bench/results/aaai2021_mnist.md
fi
