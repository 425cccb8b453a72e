#!/usr/bin/env bash
# The main job on the bundled example: the Fashion-MNIST MLP, float against an
# 8-bit fixed-point integer implementation, on the 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-./build/qcert}
DATA=/usr/share/datasets/fashion-mnist
if [ -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  IMAGES=$DATA/t10k-images-idx3-ubyte.gz LABELS=$DATA/t10k-labels-idx1-ubyte.gz
else  # the first 100 test images, bundled
  IMAGES=examples/fashion_test_100-images-idx3-ubyte.gz LABELS=examples/fashion_test_100-labels-idx1-ubyte.gz
fi
SCHEME="fixed:w=s8.6,b=s16.10,a=u8.4,i=u8.8,raw"
echo "\$ qcert inspect examples/fashion_mlp.onnx --scheme $SCHEME --images $IMAGES --labels $LABELS"
"$QCERT" inspect examples/fashion_mlp.onnx --scheme "$SCHEME" --images "$IMAGES" --labels "$LABELS"
