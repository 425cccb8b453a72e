#!/usr/bin/env bash
# The main job on the bundled example: how many bits does the Fashion-MNIST MLP need?
# A sweep over bit-widths 2..10 of three scheme families: accuracy on the 10,000 test
# images (or the 100 bundled ones), exact robustness of the first 20 test images at
# L-inf radii 1 and 3 pixels, the certified error bound over the radius-3 balls of the
# first 5 of them (one differential bound each, no input splitting), and the per-layer
# strategy qcert synth finds for those 20 samples at both radii as one more point.
# Writes the report to $REPORT (default sweep-report/);
# a re-run reuses the decided queries there. Then, in a second, a sweep of the two-input
# ReLU network that is small enough for parameter robustness at each width
# (report in $REPORT-two-input/).
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-./build/qcert}
REPORT=${REPORT:-sweep-report}
DATA=/usr/share/datasets/fashion-mnist
if [ -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  IMAGES=$DATA/t10k-images-idx3-ubyte.gz LABELS=$DATA/t10k-labels-idx1-ubyte.gz
else  # the first 100 test images, bundled
  IMAGES=examples/fashion_test_100-images-idx3-ubyte.gz LABELS=examples/fashion_test_100-labels-idx1-ubyte.gz
fi
ARGS=(examples/fashion_mlp.onnx --images "$IMAGES" --labels "$LABELS" --schemes aaai2021,qebverif,fixed
      --bits 2:10 --samples 0:20 --eps 1,3 --timeout 5 --bound-samples 5 --bound-splits 0 --synth --synth-timeout 2
      --report "$REPORT")
echo "\$ qcert sweep ${ARGS[*]}"
"$QCERT" sweep "${ARGS[@]}"
echo
ARGS=(examples/two_input_relu.onnx --inputs examples/two_input_data.csv --labels examples/two_input_labels.csv
      --schemes fixed --bits 2:12 --samples 0:20 --params-timeout 5 --report "$REPORT-two-input")
echo "\$ qcert sweep ${ARGS[*]}"
"$QCERT" sweep "${ARGS[@]}"
