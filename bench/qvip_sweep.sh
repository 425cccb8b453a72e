#!/usr/bin/env bash
# The QVIP bit sweep (ASE 2022): the qvip/* networks (Q bits in the name) on MNIST test ids
# 100-199 at r=2, 300-399 at r=4, 500-599 at r=6, 900-999 at r=10, 1900-1999 at r=20,
# 2900-2999 at r=30, under the AAAI/QVIP integer semantics. Writes one JSON-lines file per
# network in bench/results/qvip/ (resumable), then bench/results/qvip_sweep.md: robust /
# non-robust / unknown per cell and the samples whose robustness is not monotone in the bits.
# Usage: bench/qvip_sweep.sh [PER_BLOCK (default 100)] [TIMEOUT_SECONDS (default 30)]
# Env: QCERT (a built qcert; default: build it), NETS (a glob on the network names, default *).
# Queries left unknown are retried by a re-run (with a longer timeout, say).
set -euo pipefail
cd "$(dirname "$0")/.."
PER_BLOCK=${1:-100}
TIMEOUT=${2:-30}
B=../shared/benchmarks
if [ ! -d "$B/qvip" ]; then echo "skipped: $B/qvip not present"; exit 0; fi
if [ -z "${QCERT:-}" ]; then TARGETS=qcert bash scripts/build.sh >/dev/null; QCERT=build/qcert; fi
mkdir -p bench/results/qvip
I=$B/mnist/t10k-images-idx3-ubyte.gz L=$B/mnist/t10k-labels-idx1-ubyte.gz
for model in "$B"/qvip/qu_mnist_${NETS:-*}.h5; do
  name=$(basename "$model" .h5)
  Q=${name##*_qu_}
  for block in 100:2 300:4 500:6 900:10 1900:20 2900:30; do
    start=${block%%:*} r=${block##*:}
    "$QCERT" verify "$model" --scheme aaai2021:"$Q" --images "$I" --labels "$L" \
      --samples "$start:$((start + PER_BLOCK))" --eps "$r" --timeout "$TIMEOUT" \
      --out "bench/results/qvip/$name.jsonl" --json > /dev/null
  done
  echo "done $name"
done
python3 bench/qvip_table.py bench/results/qvip > bench/results/qvip_sweep.md
cat bench/results/qvip_sweep.md
