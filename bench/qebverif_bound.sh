#!/usr/bin/env bash
# qcert bound on the QEBVerif networks: |f_q(x) - f(x/255)| on the predicted class, integer
# input box of radius 3 around MNIST test samples, Q in 4 6 8 10, eps 1 2 4.
# Writes bench/results/qebverif_bound_NET_qQ_eE.jsonl (resumable) and bench/results/qebverif_bound.md.
# Env: QCERT, NETS (default "1blk_100"), QS (default "4 6 8 10"), EPS (default "1 2 4"),
# SAMPLES (default 0:30), TIMEOUT (seconds per query, default 60), THREADS (per query, default 1),
# METHOD (default auto; milp for the pair MILP), TABLE_ONLY=1 (only rebuild the table from the JSONL files).
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
B=${BENCH_DIR:-../shared/benchmarks}
NETS=${NETS:-"1blk_100"}
QS=${QS:-"4 6 8 10"}
EPS=${EPS:-"1 2 4"}
SAMPLES=${SAMPLES:-0:30}
TIMEOUT=${TIMEOUT:-60}
THREADS=${THREADS:-1}
METHOD=${METHOD:-auto}
mkdir -p bench/results
for net in $NETS; do
  [ -n "${TABLE_ONLY:-}" ] && break
  for q in $QS; do
    for e in $EPS; do
      "$QCERT" bound "$B/qebverif/PTQ_mnist_${net}_in_8_relu_0.h5" --scheme "qebverif:$q" \
        --images "$B/mnist/t10k-images-idx3-ubyte.gz" --labels "$B/mnist/t10k-labels-idx1-ubyte.gz" \
        --samples "$SAMPLES" --radius 3 --output target --eps "$e" --timeout "$TIMEOUT" --threads "$THREADS" --method "$METHOD" --json \
        --out "bench/results/qebverif_bound_${net}_q${q}_e${e}.jsonl" >/dev/null
    done
  done
done
python3 - "$NETS" "$QS" "$EPS" <<'PY'
import json, sys, os
nets, qs, eps = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3].split()
out = ["| net | Q | eps | holds | violated | unknown | holds by the pair MILP | total time (s) | max time (s) |", "|---|---|---|---|---|---|---|---|---|"]
for n in nets:
    for q in qs:
        for e in eps:
            p = f"bench/results/qebverif_bound_{n}_q{q}_e{e}.jsonl"
            if not os.path.exists(p): continue
            last = {}
            for l in open(p):  # a resumed run appends: the last line of a query wins
                if l.strip():
                    j = json.loads(l)
                    last[j["query"]] = j
            rows = list(last.values())
            c = {v: sum(r["verdict"] == v for r in rows) for v in ("holds", "violated", "unknown")}
            t = [r["time_s"] for r in rows]
            m = sum(r["verdict"] == "holds" and r["method"] == "milp+diff" for r in rows)
            out.append(f"| {n} | {q} | {e} | {c['holds']} | {c['violated']} | {c['unknown']} | {m} | {sum(t):.1f} | {max(t):.2f} |")
open("bench/results/qebverif_bound.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
