#!/usr/bin/env python3
"""The QVIP bit-sweep table from the JSON-lines results of bench/qvip_sweep.sh."""
import collections
import glob
import json
import os
import re
import statistics
import sys


def main():
    folder = sys.argv[1]
    nets = {}  # (arch, Q) -> {(sample, eps): verdict}
    times = []
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        m = re.match(r"qu_mnist_(.+)_in_8_qu_(\d+)\.jsonl", os.path.basename(path))
        if not m:
            continue
        rows = {}
        with open(path) as f:
            for line in f:
                if line.strip():
                    j = json.loads(line)
                    rows[(j["sample"], j["eps"])] = j["verdict"]
                    if j["verdict"] != "misclassified":
                        times.append(j["time_s"])
        nets[(m.group(1), int(m.group(2)))] = rows
    radii = sorted({e for rows in nets.values() for (_, e) in rows})
    out = ["# QVIP bit sweep", "", "robust / non-robust / unknown (misclassified samples in brackets)", "",
           "| network | Q | " + " | ".join(f"r={r}" for r in radii) + " |", "|---|---|" + "---|" * len(radii)]
    for (arch, q), rows in sorted(nets.items()):
        cells = []
        for r in radii:
            c = collections.Counter(v for (_, e), v in rows.items() if e == r)
            cells.append(f"{c['holds']} / {c['violated']} / {c['unknown']} ({c['misclassified']})")
        out.append(f"| {arch} | {q} | " + " | ".join(cells) + " |")
    out += ["", "## Robustness not monotone in the bits", "",
            "A sample is listed when it is robust at some Q and not robust (violated or misclassified) at a larger Q.", ""]
    archs = sorted({a for a, _ in nets})
    for arch in archs:
        qs = sorted(q for a, q in nets if a == arch)
        keys = set().union(*(nets[(arch, q)].keys() for q in qs))
        bad = []
        for key in sorted(keys):
            seq = [(q, nets[(arch, q)].get(key)) for q in qs]
            robust_q = [q for q, v in seq if v == "holds"]
            broken_q = [q for q, v in seq if v in ("violated", "misclassified")]
            if robust_q and broken_q and min(robust_q) < max(broken_q):
                bad.append(f"{key[0]}@r{key[1]} (" + ", ".join(f"Q{q}:{(v or '-')[0]}" for q, v in seq) + ")")
        out.append(f"- {arch} (Q = {', '.join(map(str, qs))}): {len(bad)} samples" + (": " + "; ".join(bad) if bad else ""))
    if times:
        out += ["", f"Time per query: median {statistics.median(times):.3f} s, total {sum(times):.0f} s over {len(times)} queries."]
    print("\n".join(out))


if __name__ == "__main__":
    main()
