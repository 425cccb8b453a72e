#!/usr/bin/env bash
# qcert bound on ACAS Xu 1_1..1_9 against their float16 twins (ReluDiff / NeuroDiff benchmark):
# property 1's input region (rho >= 55947.691, v_own >= 1145, v_int <= 60, every other input at
# the network's own bounds; given in raw units and converted outward to the normalised units the
# networks were trained in), output 0 in normalised units, eps 0.05 and 0.01.
# Writes bench/results/acasxu_bound.jsonl (resumable) and bench/results/acasxu_bound.md.
# Env: QCERT (binary, default build/qcert), NETS (default "1 2 3 4 5 6 7 8 9"), EPS (default
# "0.05 0.01"), TIMEOUT (seconds per case, default 300), OUTPUT (default 0; "all" bounds all five
# outputs, as NeuroDiff's ACAS Xu runs do), THREADS (default 1; other values write to files suffixed
# _tN). Each line also records cpu_s,
# the process's user CPU time (the wall time time_s depends on the machine's load).
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
DIR=${ACAS_DIR:-../shared/benchmarks/acasxu}
NETS=${NETS:-"1 2 3 4 5 6 7 8 9"}
EPS=${EPS:-"0.05 0.01"}
TIMEOUT=${TIMEOUT:-300}
OUTPUT=${OUTPUT:-0}
THREADS=${THREADS:-1}
SUFFIX=$([ "$OUTPUT" = 0 ] && echo "" || echo "_out$OUTPUT")$([ "$THREADS" = 1 ] && echo "" || echo "_t$THREADS")
OUT=bench/results/acasxu_bound$SUFFIX.jsonl
MD=bench/results/acasxu_bound$SUFFIX.md
CPU=$(mktemp)
trap 'rm -f "$CPU"' EXIT
mkdir -p bench/results
for e in $EPS; do
  for n in $NETS; do
    f=$DIR/ACASXU_run2a_1_${n}_batch_2000.nnet
    g=$DIR/ACASXU_run2a_1_${n}_batch_2000_16bit.nnet
    key="1_${n}@${e}"
    if [ -f "$OUT" ] && grep -q "\"case\":\"$key\"" "$OUT"; then continue; fi
    line=$(/usr/bin/time -f %U -o "$CPU" "$QCERT" bound "$f" --against "$g" --units normalised --region-units raw \
      --box "55947.691:,:,:,1145:,:60" --output "$OUTPUT" --eps "$e" --timeout "$TIMEOUT" --threads "$THREADS" --json)
    echo "$line" | python3 -c "import json,sys; j=json.loads(sys.stdin.read()); j['case']='$key'; j['cpu_s']=float(open('$CPU').read().split()[-1]); j['threads']=$THREADS; print(json.dumps(j, separators=(',',':')))" >> "$OUT"
    echo "$key: $line" >&2
  done
done
python3 - "$OUT" "$MD" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as f:
    f.write("| net | eps | verdict | upper | lower | splits | time (s) | cpu (s) |\n|---|---|---|---|---|---|---|---|\n")
    for j in rows:
        net, eps = j["case"].split("@")
        f.write(f"| {net} | {eps} | {j['verdict']} | {j['upper']:.6g} | {j['lower']:.6g} | {j['splits']} | {j['time_s']:.2f} | {j.get('cpu_s', float('nan')):.2f} |\n")
print(open(sys.argv[2]).read())
PY
