#!/usr/bin/env python3
"""Independent checks for the QVIP comparison (bench/qvip_table.py), written from the integer
semantics of ../shared/benchmarks/README.md with numpy, sharing no code with qcert.

  qvip_recheck.py cex NETWORK Q FILE.jsonl
      re-checks every verdict of a qcert JSON-lines file on qu_mnist_NETWORK_in_8_qu_Q.h5:
      `violated` needs its counterexample inside the clipped box and beating the label,
      `misclassified` needs the clean prediction to differ from the label, and every other
      verdict needs it equal. Also prints how many counterexamples have an output below -50.
  qvip_recheck.py lb50 NETWORK Q
      for each of QVIP's published queries on that network: does the clean image have an
      output below -50, and does some output stay below -50 over the whole input box (interval
      arithmetic, sound)? QVIP's gurobi_encoding.py (S3L-official/QVIP at commit 587d31a) gives
      the output-layer variables the lower bound -50; such a box has no feasible point in its
      MILP, whose answer is then "robust" whatever the network does.

Exit code 1 when a qcert verdict fails the re-check. Needs numpy and h5py (Debian:
python3-numpy, python3-h5py)."""
import csv
import gzip
import json
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "shared", "benchmarks")
PUBLISHED = os.path.join(HERE, "published", "qvip_ase2022_table3.csv")


def round_half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def load_layers(network, q):
    """Integer weights (Q-1 fractional bits) and biases (Q-2 fractional bits) per layer."""
    layers = []
    with h5py.File(os.path.join(BENCH, "qvip", f"qu_mnist_{network}_in_8_qu_{q}.h5"), "r") as f:
        names = sorted((n for n in f if n.startswith("quantized_dense")), key=lambda n: (len(n), n))
        for name in names:
            g = f[name][name]
            w = np.array(g["kernel:0"], dtype=np.float64)
            b = np.array(g["bias:0"], dtype=np.float64)
            wq = round_half_away(np.clip(w, -1, 1 - 2.0 ** -(q - 1)) * 2 ** (q - 1)).astype(np.int64)
            bq = round_half_away(np.clip(b, -2, 2 - 2.0 ** -(q - 2)) * 2 ** (q - 2)).astype(np.int64)
            layers.append((wq, bq))
    return layers


def rescale_clamp(acc, f_in, last, q):
    k = f_in + 1
    out = (acc + 2 ** (k - 1)) // 2 ** k  # floor division: round half up
    return np.clip(out, -2 ** (q - 1), 2 ** (q - 1) - 1) if last else np.clip(out, 0, 2 ** q - 1)


def infer(layers, x, q):
    a, f_in = np.asarray(x, dtype=np.int64), 8
    for i, (w, b) in enumerate(layers):
        a = rescale_clamp(a @ w + b * 2 ** (f_in + 1), f_in, i + 1 == len(layers), q)
        f_in = q - 2
    return a


def interval(layers, lo, hi, q):
    f_in = 8
    for i, (w, b) in enumerate(layers):
        wp, wn = np.maximum(w, 0), np.minimum(w, 0)
        bias = b * 2 ** (f_in + 1)
        last = i + 1 == len(layers)
        lo, hi = (rescale_clamp(lo @ wp + hi @ wn + bias, f_in, last, q),
                  rescale_clamp(hi @ wp + lo @ wn + bias, f_in, last, q))
        f_in = q - 2
    return lo, hi


def label_beaten(out, y):
    return any((j > y and out[j] > out[y]) or (j < y and out[j] >= out[y]) for j in range(len(out)) if j != y)


def mnist():
    with gzip.open(os.path.join(BENCH, "mnist", "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 784).astype(np.int64)
    with gzip.open(os.path.join(BENCH, "mnist", "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read()[8:], np.uint8)
    return images, labels


def check_cex(network, q, path):
    layers, (images, labels) = load_layers(network, q), mnist()
    confirmed, failed, lowest = 0, 0, []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            j = json.loads(line)
            s, eps, verdict = j["sample"], j["eps"], j["verdict"]
            x, y = images[s], int(labels[s])
            predicted = int(np.argmax(infer(layers, x, q)))  # argmax: ties to the lowest index
            good = (predicted != y) if verdict == "misclassified" else (predicted == y)
            if good and verdict == "violated":
                c = np.array(j["counterexample"], dtype=np.int64)
                out = infer(layers, c, q)
                good = bool(np.all(np.abs(c - x) <= eps) and c.min() >= 0 and c.max() <= 255 and label_beaten(out, y))
                lowest.append(int(out.min()))
            confirmed += good
            failed += not good
            if not good:
                print(f"FAILS: sample {s} eps {eps} verdict {verdict}")
    print(f"{path}: {confirmed} verdicts confirmed, {failed} not; {len(lowest)} counterexamples, "
          f"{sum(v < -50 for v in lowest)} of them with an output below -50")
    return failed == 0


def lb50(network, q):
    layers, (images, _) = load_layers(network, q), mnist()
    cells = {}
    with open(PUBLISHED, newline="") as f:
        for r in csv.DictReader(f):
            if r["network"] != network or int(r["Q"]) != q:
                continue
            s, eps = int(r["id"]), int(r["radius"])
            x = images[s]
            _, hi = interval(layers, np.clip(x - eps, 0, 255), np.clip(x + eps, 0, 255), q)
            c = cells.setdefault(eps, [0, 0, 0, 0])
            c[0] += 1
            c[1] += int(infer(layers, x, q).min() < -50)
            c[2] += int(hi.min() < -50)
            c[3] += int(hi.min() < -50 and r["result"] == "Robust")
    for eps, c in sorted(cells.items()):
        print(f"{network} Q{q} r={eps}: {c[0]} queries; clean image with an output < -50: {c[1]}; "
              f"an output < -50 on the whole box: {c[2]} (QVIP answered Robust on {c[3]} of them)")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "cex":
        sys.exit(0 if check_cex(sys.argv[2], int(sys.argv[3]), sys.argv[4]) else 1)
    if len(sys.argv) == 4 and sys.argv[1] == "lb50":
        lb50(sys.argv[2], int(sys.argv[3]))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
