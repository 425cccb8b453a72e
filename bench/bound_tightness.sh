#!/usr/bin/env bash
# Tightness of `qcert bound` on small networks where the MILP (CBC) finds the maximum:
# upper / exact for the naive bound (separate bounds of f and g, subtracted), the
# differential bound alone (no splitting), after branch and bound (default 10 s), and the
# rigorous SDP bound (Li et al., through SDPA; `sdp_bound`, before the min with diff) next to
# SDPA's own floating-point optimum (`sdp_value`, not a proof).
# Writes bench/results/bound_tightness.md.
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
TIMEOUT=${TIMEOUT:-10}
OUT=bench/results/bound_tightness.md
mkdir -p bench/results
{
  echo "| model | twin | region | exact (MILP) | naive | naive/exact | diff | diff/exact | split | split/exact | split time (s) | sdp | sdp/exact | SDPA value | sdp time (s) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for model in examples/two_input_relu.onnx examples/two_input_linear.onnx; do
    for twin in "--prune 0.3" "--prune 0.6" "--scheme fp16" "--scheme fixed:4" "--scheme fixed:6" "--scheme fixed:8"; do
      run() { "$QCERT" bound "$model" $twin --box 0:1,0:1 --output all --timeout "$TIMEOUT" --json "$@"; }
      exact=$(run --method milp | python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print(j['milp_max'] if j.get('milp_optimal') else 'nan')")
      naive=$(run --method naive | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['upper'])")
      diff=$(run --method diff | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['upper'])")
      split=$(run --method split | python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print(j['upper'], j['time_s'])")
      sdp=$(run --method sdp | python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print(j['sdp_bound'], j['sdp_value'], j['time_s'])")
      python3 - "$model" "$twin" "$exact" "$naive" "$diff" $split $sdp <<'PY'
import sys
m, t = sys.argv[1], sys.argv[2]
e, n, d, s, st, sb, sv, sdt = map(float, sys.argv[3:11])
r = lambda x: f"{x / e:.3f}" if e == e and e > 0 else "-"
print(f"| {m.split('/')[-1]} | `{t}` | [0,1]^2 | {e:.6g} | {n:.6g} | {r(n)} | {d:.6g} | {r(d)} | {s:.6g} | {r(s)} | {st:.2f} "
      f"| {sb:.6g} | {r(sb)} | {sv:.6g} | {sdt:.2f} |")
PY
    done
  done
} > "$OUT"
cat "$OUT"
