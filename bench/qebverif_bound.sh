#!/usr/bin/env bash
# qcert bound on the QEBVerif networks: |f_q(x) - f(x/255)| on the predicted class, integer
# input box of radius 3 around MNIST test samples, Q in 4 6 8 10, eps 1 2 4.
# By default the 30 test samples of QEBVerif's own evaluation (its README: ids 3236 ... 3986),
# so that the published per-cell counts (QEBVerif/Data README, Table 2) stand beside ours.
# Writes OUT_DIR/NET_qQ_eE.jsonl (resumable: a re-run retries only the unknown queries) and
# OUT_DIR/table.md.
# Env: QCERT, NETS (default "1blk_100"), QS (default "4 6 8 10"), EPS (default "1 2 4"),
# SAMPLES (default QEBVerif's 30 ids; e.g. 0:30), OUT_DIR (default bench/results/qebverif, or
# bench/results/qebverif_s0_29 for SAMPLES=0:30), TIMEOUT (seconds per query, default 60),
# THREADS (per query, default 1), METHOD (default auto; milp for the pair MILP),
# TABLE_ONLY=1 (only rebuild the table from the JSONL files).
set -euo pipefail
cd "$(dirname "$0")/.."
QCERT=${QCERT:-build/qcert}
B=${BENCH_DIR:-../shared/benchmarks}
NETS=${NETS:-"1blk_100"}
QS=${QS:-"4 6 8 10"}
EPS=${EPS:-"1 2 4"}
QEB_IDS="3236,5656,7219,7098,3825,521,9886,7389,3064,4544,7773,1340,7894,8463,6930,2898,2190,1866,914,5574,3770,3016,6395,2897,8541,5082,3712,150,2486,3986"
SAMPLES=${SAMPLES:-$QEB_IDS}
if [ "$SAMPLES" = "0:30" ]; then DEFAULT_DIR=bench/results/qebverif_s0_29; else DEFAULT_DIR=bench/results/qebverif; fi
OUT_DIR=${OUT_DIR:-$DEFAULT_DIR}
TIMEOUT=${TIMEOUT:-60}
THREADS=${THREADS:-1}
METHOD=${METHOD:-auto}
mkdir -p "$OUT_DIR"
for net in $NETS; do
  [ -n "${TABLE_ONLY:-}" ] && break
  for q in $QS; do
    for e in $EPS; do
      "$QCERT" bound "$B/qebverif/PTQ_mnist_${net}_in_8_relu_0.h5" --scheme "qebverif:$q" \
        --images "$B/mnist/t10k-images-idx3-ubyte.gz" --labels "$B/mnist/t10k-labels-idx1-ubyte.gz" \
        --samples "$SAMPLES" --radius 3 --output target --eps "$e" --timeout "$TIMEOUT" --threads "$THREADS" --method "$METHOD" --json \
        --out "$OUT_DIR/${net}_q${q}_e${e}.jsonl" >/dev/null
    done
  done
done
python3 - "$OUT_DIR" <<'PY'
import glob, json, os, sys
out_dir = sys.argv[1]
# QEBVerif/Data README, Table 2 (raw data of the CAV 2023 paper): tasks "proved" per cell by DRA alone
# and by DRA+MILP (Gurobi), of 30; the MILP column counts every task it decided, held or refuted
# (proved + UK/TO = 30). P1 = 1blk_100, P2 = 2blk_100_100, P3 = 2blk_512_512 (Q = 4, 8 only);
# P4 = 3blk_100_100_100 is not in that table.
published = {
    "1blk_100": {4: {1: (0, 30), 2: (2, 30), 4: (26, 30)}, 6: {1: (15, 28), 2: (26, 30), 4: (29, 30)},
                 8: {1: (21, 30), 2: (26, 30), 4: (29, 30)}, 10: {1: (24, 30), 2: (26, 30), 4: (29, 30)}},
    "2blk_100_100": {4: {1: (0, 30), 2: (0, 22), 4: (2, 21)}, 6: {1: (0, 18), 2: (4, 30), 4: (24, 30)},
                     8: {1: (2, 25), 2: (18, 30), 4: (28, 30)}, 10: {1: (4, 27), 2: (20, 28), 4: (28, 30)}},
    "2blk_512_512": {4: {1: (0, 30), 2: (0, 29), 4: (0, 15)}, 8: {1: (0, 17), 2: (4, 17), 4: (23, 28)}},
}
order = ["1blk_100", "2blk_100_100", "3blk_100_100_100", "2blk_512_512"]
cells = []
for p in glob.glob(os.path.join(out_dir, "*_q*_e*.jsonl")):
    name = os.path.basename(p)[:-len(".jsonl")]
    net, q, e = name.rsplit("_", 2)
    cells.append((order.index(net) if net in order else 99, net, int(q[1:]), int(e[1:]), p))
out = ["| net | Q | eps | holds | violated | unknown | decided | total time (s) | max time (s) | QEBVerif DRA proved | QEBVerif DRA+MILP decided |",
       "|---|---|---|---|---|---|---|---|---|---|---|"]
for _, net, q, e, p in sorted(cells):
    last = {}
    for l in open(p):  # a resumed run appends: the last line of a query wins; skip the identity record
        if l.strip():
            j = json.loads(l)
            if "query" in j:
                last[j["query"]] = j
    rows = list(last.values())
    if not rows:
        continue
    c = {v: sum(r["verdict"] == v for r in rows) for v in ("holds", "violated", "unknown")}
    t = [r["time_s"] for r in rows]
    pub = published.get(net, {}).get(q, {}).get(e)
    dra, milp = (str(pub[0]), str(pub[1])) if pub else ("—", "—")
    out.append(f"| {net} | {q} | {e} | {c['holds']} | {c['violated']} | {c['unknown']} | {c['holds'] + c['violated']}/{len(rows)} "
               f"| {sum(t):.1f} | {max(t):.2f} | {dra} | {milp} |")
open(os.path.join(out_dir, "table.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
