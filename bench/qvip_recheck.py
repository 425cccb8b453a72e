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

  qvip_recheck.py holds NETWORK Q SAMPLE EPS
      tries to prove the query robust with DeepPoly-style linear bounds on the integer network
      (floor rounding and clamps relaxed; float64 with a 1e-6 margin on integer outputs).
      Exit code 0 when proved, 1 when not (not proved says nothing).

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


def clamp_relaxation(zl, zu, lo, hi):
    """Sound linear bounds a*z + b of clamp(z, lo, hi) for z in [zl, zu] (elementwise):
    returns (lower slope, lower offset, upper slope, upper offset)."""
    n = len(zl)
    la, lb, ua, ub = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        l, u = zl[i], zu[i]
        cl, cu = min(max(l, lo), hi), min(max(u, lo), hi)
        if u <= lo or l >= hi or cl == cu:  # constant on the range
            lb[i], ub[i] = cl, cu
        elif l >= lo and u <= hi:  # identity
            la[i], ua[i] = 1.0, 1.0
        elif l < lo and u <= hi:  # max(z, lo): convex
            s = (cu - lo) / (u - l)
            ua[i], ub[i] = s, lo - s * l
            if u - lo > lo - l:
                la[i] = 1.0
            else:
                lb[i] = lo
        elif l >= lo:  # min(z, hi): concave, u > hi
            s = (hi - cl) / (u - l)
            la[i], lb[i] = s, cl - s * l
            if hi - l > u - hi:
                ua[i] = 1.0
            else:
                ub[i] = hi
        else:  # both kinks: l < lo, u > hi
            su = (hi - lo) / (hi - l)
            ua[i], ub[i] = su, lo - su * l
            sl = (hi - lo) / (u - lo)
            la[i], lb[i] = sl, lo - sl * lo
    return la, lb, ua, ub


def symbolic_holds(layers, x, eps, y, q):
    """DeepPoly-style bounds on the integer network (floor rounding and clamps relaxed), in
    float64 with a 1e-6 margin: True when they prove every input of the box keeps label y."""
    box_lo, box_hi = np.clip(x - eps, 0, 255).astype(float), np.clip(x + eps, 0, 255).astype(float)
    rel = []  # per layer: (W, c, k, la, lb, ua, ub) with z = (a_prev @ W + c) / 2^k, a in [la z + lb, ua z + ub]

    def bound(coef, const, upper):
        """Bound coef . a_last + const over the box, back-substituting through rel."""
        coef, const = coef.astype(float), float(const)
        for W, c, k, la, lb, ua, ub in reversed(rel):
            pos, neg = np.maximum(coef, 0), np.minimum(coef, 0)
            a_sl = pos * (ua if upper else la) + neg * (la if upper else ua)
            const += pos @ (ub if upper else lb) + neg @ (lb if upper else ub)
            zc = a_sl / 2.0 ** k  # coefficients on a_prev @ W + c
            const += zc @ c
            coef = W @ zc
        pos, neg = np.maximum(coef, 0), np.minimum(coef, 0)
        return const + (pos @ (box_hi if upper else box_lo) + neg @ (box_lo if upper else box_hi))

    f_in = 8
    for i, (w, b) in enumerate(layers):
        k = f_in + 1
        c = (b * 2 ** (f_in + 1) + 2 ** (k - 1)).astype(float)
        W = w.astype(float)
        n = W.shape[1]
        zl, zu = np.zeros(n), np.zeros(n)
        for j in range(n):
            e = np.zeros(n); e[j] = 1.0
            # z_j = (a_prev @ W[:, j] + c_j) / 2^k, bounded through the layers below
            prev = W[:, j] / 2.0 ** k
            zl[j] = bound(prev, c[j] / 2.0 ** k, False) if rel else prev @ np.where(prev > 0, box_lo, box_hi) + c[j] / 2.0 ** k
            zu[j] = bound(prev, c[j] / 2.0 ** k, True) if rel else prev @ np.where(prev > 0, box_hi, box_lo) + c[j] / 2.0 ** k
        last = i + 1 == len(layers)
        lo, hi = (-2 ** (q - 1), 2 ** (q - 1) - 1) if last else (0, 2 ** q - 1)
        # a = clamp(floor(z)): floor(z) in [z - 1 + 2^-k, z] (z is a multiple of 2^-k)
        _, _, ua, ub = clamp_relaxation(zl, zu, lo, hi)
        shift = -1 + 2.0 ** -k
        la, lb, _, _ = clamp_relaxation(zl + shift, zu + shift, lo, hi)
        lb = lb + la * shift
        rel.append((W, c, k, la, lb, ua, ub))
        f_in = q - 2
    n_out = layers[-1][0].shape[1]
    for j in range(n_out):
        if j == y:
            continue
        coef = np.zeros(n_out); coef[y], coef[j] = 1.0, -1.0
        low = bound(coef, 0.0, False)  # lower bound of out_y - out_j
        need = 0.0 if j > y else 1.0  # ties go to the lowest index
        if not low > need - 1 + 1e-6:
            return False
    return True


def holds(network, q, sample, eps):
    layers, (images, labels) = load_layers(network, q), mnist()
    x, y = images[sample], int(labels[sample])
    proved = symbolic_holds(layers, x, eps, y, q)
    print(f"{network} Q{q} sample {sample} r={eps}: " + ("robust, proved by independent symbolic bounds" if proved
                                                        else "not proved by independent symbolic bounds"))
    return proved


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "cex":
        sys.exit(0 if check_cex(sys.argv[2], int(sys.argv[3]), sys.argv[4]) else 1)
    if len(sys.argv) == 6 and sys.argv[1] == "holds":
        sys.exit(0 if holds(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])) else 1)
    if len(sys.argv) == 4 and sys.argv[1] == "lb50":
        lb50(sys.argv[2], int(sys.argv[3]))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
