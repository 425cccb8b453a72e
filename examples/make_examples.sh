#!/usr/bin/env bash
# Rebuilds every model and data file in examples/ from scratch with qcert-train.
# Seeds are fixed, so the same build gives the same bytes every time.
#
#   examples/make_examples.sh [BUILD_DIR]          rebuild examples/ (default BUILD_DIR: build)
#   examples/make_examples.sh --check [BUILD_DIR]  rebuild into a temporary directory and
#                                                  compare with examples/SHA256SUMS
#
# Needs qcert-train (ninja -C BUILD_DIR qcert-train) and Debian's dataset-fashion-mnist
# (or FASHION_MNIST=DIR holding the four t*-ubyte.gz files).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
build=${1:-$(dirname "$here")/build}
train=${QCERT_TRAIN:-$build/qcert-train}
fashion=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

if [[ ! -x $train ]]; then
  echo "make_examples.sh: $train not found; build it first: ninja -C $build qcert-train" >&2
  exit 2
fi
if [[ ! -f $fashion/train-images-idx3-ubyte.gz ]]; then
  echo "make_examples.sh: Fashion-MNIST not found in $fashion (apt-get install dataset-fashion-mnist)" >&2
  exit 2
fi

out=$here
if (( check )); then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

files=(two_input_relu.onnx two_input_linear.onnx two_input_data.csv two_input_labels.csv
       fashion_mlp.onnx fashion_test_100-images-idx3-ubyte.gz fashion_test_100-labels-idx1-ubyte.gz)

# Two-input, two-class MLPs (2-8-8-2) on 500 synthetic points in [0,1]^2.
two_input=(two-input --hidden 8,8 --points 500 --data-seed 2019 --seed 1 --epochs 400 --batch 32 --lr 0.01)
"$train" "${two_input[@]}" --activation relu --out "$out/two_input_relu.onnx" \
  --data-out "$out/two_input_data.csv" --labels-out "$out/two_input_labels.csv"
"$train" "${two_input[@]}" --activation linear --out "$out/two_input_linear.onnx"

# Fashion-MNIST MLP 784-64-32-10 (ReLU), inputs pixel/255.
"$train" idx --hidden 64,32 --seed 1 --epochs 10 --batch 64 --lr 0.001 --min-accuracy 0.84 \
  --train-images "$fashion/train-images-idx3-ubyte.gz" --train-labels "$fashion/train-labels-idx1-ubyte.gz" \
  --test-images "$fashion/t10k-images-idx3-ubyte.gz" --test-labels "$fashion/t10k-labels-idx1-ubyte.gz" \
  --out "$out/fashion_mlp.onnx"

# The first 100 Fashion-MNIST test samples, so that the demo needs no data package.
"$train" idx-subset --count 100 \
  --images "$fashion/t10k-images-idx3-ubyte.gz" --labels "$fashion/t10k-labels-idx1-ubyte.gz" \
  --out-images "$out/fashion_test_100-images-idx3-ubyte.gz" \
  --out-labels "$out/fashion_test_100-labels-idx1-ubyte.gz"

if (( check )); then
  (cd "$out" && sha256sum -c "$here/SHA256SUMS")
else
  (cd "$out" && sha256sum "${files[@]}" > SHA256SUMS)
  echo "wrote ${files[*]} and SHA256SUMS in $out"
fi
