#!/usr/bin/env bash
# Is "no more bits per layer than Quadapter" reachable on MNIST 1blk_100? Checks every
# quadapter:A,B with A <= 6 and B <= 3 (bits 2..) on Quadapter's 50 samples x radius 1..5
# (qcert synth --bits A,B) and prints, per pair, how many of the properties the float network
# keeps are proved / refuted / unknown and the first refuted property.
# Env: QCERT (build/qcert), TIMEOUT (seconds per property, 5), THREADS (1), MAX_A (6), MAX_B (3).
# One shared results.jsonl (its keys carry the bits) in bench/results/quadapter_grid_mnist_1blk_100_tT;
# each pair's synth.json is kept as synth_A,B.json there.
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
B=${BENCH_DIR:-../shared/benchmarks}
TIMEOUT=${TIMEOUT:-5}
SAMPLES=5346,8564,7059,371,6984,5782,2127,8517,4520,8685,3877,463,5446,7775,9623,5739,5010,7668,892,8825,3523,7997,8561,1613,6934,6781,5554,6301,6220,9873,9384,130,9033,8620,6066,4973,8870,5032,8911,5224,5369,1451,7766,5126,9498,1382,3932,8302,9566,5750
out=bench/results/quadapter_grid_mnist_1blk_100_t${TIMEOUT}
mkdir -p "$out"
echo "| bits | proved / kept | refuted | unknown | first refuted property | accuracy % | time (s) |"
echo "|---|---|---|---|---|---|---|"
for a in $(seq 2 "${MAX_A:-6}"); do
  for b in $(seq 2 "${MAX_B:-3}"); do
    "$QCERT" synth "$B/quadapter/mnist_1blk_100_weight.h5" --images "$B/mnist/t10k-images-idx3-ubyte.gz" \
      --labels "$B/mnist/t10k-labels-idx1-ubyte.gz" --samples "$SAMPLES" --radius 1,2,3,4,5 --bits "$a,$b" \
      --timeout "$TIMEOUT" --threads "${THREADS:-1}" --out "$out" --json >/dev/null
    cp "$out/synth.json" "$out/synth_$a,$b.json"
    python3 - "$out/synth_$a,$b.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
refuted = [c["property"] for c in j["certificates"] if c["verdict"] == "refuted"]
print(f"| ({','.join(map(str, j['bits']))}) | {j['proved']} / {j['kept']} | {j['refuted']} | {j['unknown']} | "
      f"{refuted[0] if refuted else '-'} | {j['accuracy']:.2f} | {j['time_s']:.0f} |")
PY
  done
done
