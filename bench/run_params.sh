#!/usr/bin/env bash
# The experiment of Murthy, Das, Islam, "Robustness of Neural Networks to Parameter
# Quantization" (2019), on the bundled two-input MLPs (examples/two_input_{relu,linear}.onnx,
# input domain [0,1]^2): every weight and bias may take any value its rounding to a uniform
# B-bit fixed-point scheme may take (docs/PARAMS.md), B = 2..16, and qcert params bounds the
# largest change of the softmax confidence:
#   local:  at each point of the 5x5 grid {0, .25, .5, .75, 1}^2, to precision 1e-3 (timeout 10 s)
#   global: over the whole domain [0,1]^2, to precision 1e-2 (timeout 60 s)
# Two uniform schemes, both per layer signed B bits for weights and biases, rounding to nearest:
#   fixed:    qcert's fixed:B (docs/SCHEMES.md: integer bits from the rounded largest magnitude,
#             Quadapter's rule); it saturates the ReLU network's weight -8.32 to -8 at every B.
#   covering: in layer k, the fewest integer bits I_k (sign included) whose B-bit format rounds
#             every parameter inside its range: M_k <= 2^(I_k - 1) (1 - 2^-B), M_k the layer's largest
#             magnitude (ReLU 3.41126657, 3.5327738, 8.32418033; linear 1.2821186, 1.87920689,
#             0.956602525), so nothing saturates beyond rounding; written as JSON scheme files.
# Results go to bench/results/params_raw.jsonl as they come (one qcert JSON line per run),
# then bench/results/params.{csv,md,svg}.
# Usage: bench/run_params.sh [FIRST_BITS LAST_BITS]; QCERT=path/to/qcert skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
FIRST=${1:-2}
LAST=${2:-16}
if [ -z "${QCERT:-}" ]; then
  TARGETS=qcert bash scripts/build.sh >/dev/null
  QCERT=./build/qcert
fi
mkdir -p bench/results
RAW=bench/results/params_raw.jsonl
: > "$RAW"
GRID="0 0.25 0.5 0.75 1"
SCHEMES=bench/results/params_schemes
mkdir -p "$SCHEMES"
covering() {  # model bits -> JSON scheme file
  local mags
  if [ "$1" = relu ]; then mags="3.41126657 3.5327738 8.32418033"; else mags="1.2821186 1.87920689 0.956602525"; fi
  local layers="" sep="" i
  for m in $mags; do
    i=$(awk -v m="$m" -v b="$2" 'BEGIN { i = 1; while (m > 2^(i - 1) * (1 - 2^-b)) i++; print i }')
    layers="$layers$sep{\"weight\": \"s$2.$(( $2 - i ))\", \"bias\": \"s$2.$(( $2 - i ))\"}"
    sep=", "
  done
  printf '{"default": {"param_rounding": "half_away"}, "layers": [%s]}\n' "$layers" > "$SCHEMES/covering_$1_$2.json"
  echo "$SCHEMES/covering_$1_$2.json"
}
for model in relu linear; do
  for bits in $(seq "$FIRST" "$LAST"); do
    for scheme in "fixed:$bits" "$(covering $model $bits)"; do
      for x1 in $GRID; do
        for x2 in $GRID; do
          "$QCERT" params "examples/two_input_$model.onnx" --scheme "$scheme" --at "$x1,$x2" \
            --precision 1e-3 --timeout 10 --json >> "$RAW"
        done
      done
      "$QCERT" params "examples/two_input_$model.onnx" --scheme "$scheme" --region 0:1,0:1 \
        --precision 1e-2 --timeout 60 --json >> "$RAW"
    done
    echo "params: $model $bits bits done" >&2
  done
done
python3 bench/params_report.py "$RAW" bench/results/params
cat bench/results/params.md
