#!/usr/bin/env bash
# VNN-COMP: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes the result (sat with the counterexample, unsat, unknown, timeout, error) to
# RESULTS_FILE through `qcert verify --vnnlib --cex`. The counterexample is re-checked on
# the exact integer semantics of the quantized network (QDQ model or QCERT_SCHEME).
set -uo pipefail
source "$(dirname "$0")/common.sh"
check_version "${1:-}"
CATEGORY=$2 ONNX=$3 VNNLIB=$4 RESULTS=$5 TIMEOUT=$6
echo "qcert: running $CATEGORY instance $ONNX $VNNLIB, timeout $TIMEOUT s, results to $RESULTS"
rm -f "$RESULTS"
# Leave a little of the budget for start-up and writing the result.
BUDGET=$(awk -v t="$TIMEOUT" 'BEGIN { b = t * 0.9 - 1; if (b < 0.5) b = 0.5; print b }')
# shellcheck disable=SC2046
timeout --kill-after=5 "$TIMEOUT" "$QCERT" verify "$(plain_path "$ONNX")" $(scheme_args) \
  --vnnlib "$(plain_path "$VNNLIB")" --timeout "$BUDGET" --cex "$RESULTS"
rc=$?
if [ ! -s "$RESULTS" ]; then
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo timeout >"$RESULTS"; else echo error >"$RESULTS"; fi
fi
exit 0
