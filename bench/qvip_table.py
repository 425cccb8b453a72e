#!/usr/bin/env python3
"""The QVIP bit-sweep table from the JSON-lines results of bench/qvip_sweep.sh, with QVIP's
published per-query results beside ours (bench/published/qvip_ase2022_table3.csv, when present).

Usage: qvip_table.py RESULTS_FOLDER [PUBLISHED.csv]
Prints Markdown: our robust / non-robust / unknown per cell; ours beside QVIP's on the queries
QVIP published; every query where both answered and disagree (robust against non-robust: a
soundness bug in one of the tools); the samples whose robustness is not monotone in the bits,
by our results and by QVIP's."""
import collections
import csv
import glob
import json
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PUBLISHED = os.path.join(HERE, "published", "qvip_ase2022_table3.csv")
MODELS = os.path.join(HERE, "..", "..", "shared", "benchmarks", "qvip")
QVIP_VERDICT = {"Robust": "holds", "Non-robust": "violated", "NA": "unknown"}


def read_ours(folder):
    """(arch, Q) -> {(sample, eps): verdict}; a decided verdict is never replaced by a later
    unknown (a resumed run re-tries unknown queries). Two different decided verdicts for one
    query are returned in `conflicts`."""
    nets, times, conflicts = {}, [], []
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        m = re.match(r"qu_mnist_(.+)_in_8_qu_(\d+)\.jsonl", os.path.basename(path))
        if not m:
            continue
        rows = {}
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                j = json.loads(line)
                key, verdict = (j["sample"], j["eps"]), j["verdict"]
                old = rows.get(key)
                if old not in (None, "unknown"):
                    if verdict not in ("unknown", old):
                        conflicts.append((m.group(1), int(m.group(2)), key, old, verdict))
                    continue
                rows[key] = verdict
                if verdict != "misclassified":
                    times.append(j["time_s"])
        nets[(m.group(1), int(m.group(2)))] = rows
    return nets, times, conflicts


def read_published(path):
    """(arch, Q) -> {(sample, eps): verdict in holds / violated / unknown}."""
    nets = collections.defaultdict(dict)
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            nets[(r["network"], int(r["Q"]))][(int(r["id"]), int(r["radius"]))] = QVIP_VERDICT[r["result"]]
    return dict(nets)


def non_monotone(nets, broken=("violated", "misclassified")):
    """Per architecture: samples robust at some Q and not robust at a larger Q."""
    out = []
    for arch in sorted({a for a, _ in nets}):
        qs = sorted(q for a, q in nets if a == arch)
        keys = set().union(*(nets[(arch, q)].keys() for q in qs))
        bad = []
        for key in sorted(keys):
            seq = [(q, nets[(arch, q)].get(key)) for q in qs]
            robust_q = [q for q, v in seq if v == "holds"]
            broken_q = [q for q, v in seq if v in broken]
            if robust_q and broken_q and min(robust_q) < max(broken_q):
                bad.append(f"{key[0]}@r{key[1]} (" + ", ".join(f"Q{q}:{(v or '-')[0]}" for q, v in seq) + ")")
        out.append(f"- {arch} (Q = {', '.join(map(str, qs))}): {len(bad)} samples" + (": " + "; ".join(bad) if bad else ""))
    return out


def our_table(nets):
    radii = sorted({e for rows in nets.values() for (_, e) in rows})
    out = ["| network | Q | " + " | ".join(f"r={r}" for r in radii) + " |", "|---|---|" + "---|" * len(radii)]
    for (arch, q), rows in sorted(nets.items()):
        cells = []
        for r in radii:
            c = collections.Counter(v for (_, e), v in rows.items() if e == r)
            cells.append(f"{c['holds']} / {c['violated']} / {c['unknown']} ({c['misclassified']})")
        out.append(f"| {arch} | {q} | " + " | ".join(cells) + " |")
    return out


def comparison(ours, published):
    """The table of ours beside QVIP's on QVIP's queries, and the disagreements."""
    out = ["| network | Q | r | queries | qcert: robust / non-robust / unknown (misclassified), not run | "
           "QVIP: robust / non-robust / NA | both answered: agree / disagree |", "|---|---|---|---|---|---|---|"]
    disagree, class_differs, missing = collections.defaultdict(list), [], []
    for (arch, q), pub in sorted(published.items()):
        rows = ours.get((arch, q))
        if rows is None:
            model = os.path.join(MODELS, f"qu_mnist_{arch}_in_8_qu_{q}.h5")
            missing.append(f"{arch} Q{q}" + ("" if os.path.exists(model) else " (network not published: no "
                                                                              f"qu_mnist_{arch}_in_8_qu_{q}.h5)"))
            continue
        for r in sorted({e for _, e in pub}):
            keys = [k for k in pub if k[1] == r]
            c = collections.Counter(rows.get(k, "not run") for k in keys)
            p = collections.Counter(pub[k] for k in keys)
            agree = differ = 0
            for k in sorted(keys):
                a, b = rows.get(k), pub[k]
                if a in ("holds", "violated") and b in ("holds", "violated"):
                    if a == b:
                        agree += 1
                    else:
                        differ += 1
                        disagree[(arch, q, r, a, b)].append(k[0])
                elif a == "misclassified" and b != "unknown":
                    class_differs.append(f"{arch} Q{q} sample {k[0]} r={r}: qcert misclassified, QVIP {b}")
            out.append(f"| {arch} | {q} | {r} | {len(keys)} | {c['holds']} / {c['violated']} / {c['unknown']} "
                       f"({c['misclassified']}), {c['not run']} | {p['holds']} / {p['violated']} / {p['unknown']} "
                       f"| {agree} / {differ} |")
    grouped = [f"{arch} Q{q} r={r}, qcert {a} / QVIP {b} ({len(ids)}): " + ", ".join(map(str, ids))
               for (arch, q, r, a, b), ids in sorted(disagree.items())]
    return out, sum(map(len, disagree.values())), grouped, class_differs, missing


def main():
    folder = sys.argv[1]
    published_path = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_PUBLISHED
    if len(sys.argv) > 2 and not os.path.exists(published_path):
        print(f"qvip_table.py: {published_path}: no such file", file=sys.stderr)
        sys.exit(2)
    nets, times, conflicts = read_ours(folder)
    out = ["# QVIP bit sweep", "", "robust / non-robust / unknown (misclassified samples in brackets)", ""]
    out += our_table(nets)
    out += ["", "## Robustness not monotone in the bits", "",
            "A sample is listed when it is robust at some Q and not robust (violated or misclassified) at a larger Q.", ""]
    out += non_monotone(nets)
    if conflicts:
        out += ["", "## Two different verdicts for one query in our files (a bug to chase)", ""]
        out += [f"- {a} Q{q} sample {k[0]} r={k[1]}: {v1}, then {v2}" for a, q, k, v1, v2 in conflicts]
    if times:
        out += ["", f"Time per query: median {statistics.median(times):.3f} s, total {sum(times):.0f} s over {len(times)} queries."]
    if os.path.exists(published_path):
        published = read_published(published_path)
        table, n_disagree, disagree, class_differs, missing = comparison(nets, published)
        out += ["", "## Beside QVIP's published results", "",
                f"QVIP's per-query results ({os.path.relpath(published_path, os.getcwd())}; Gurobi, 28 threads, "
                "2 h limit; NA = misclassified or timeout) on the same queries as ours.", ""]
        out += table
        if missing:
            out += ["", "Not compared (no results of ours): " + "; ".join(missing) + "."]
        out += ["", f"### Both answered and disagree: {n_disagree} queries", ""]
        out += [f"- {d}" for d in disagree]
        if class_differs:
            out += ["", f"### qcert misclassified, QVIP answered: {len(class_differs)}", ""]
            out += [f"- {d}" for d in class_differs]
        out += ["", "### Robustness not monotone in the bits, by QVIP's results", "",
                "Same rule; QVIP's NA (misclassified or timeout) counts as no answer."]
        out += [""] + non_monotone(published, broken=("violated",))
    print("\n".join(out))


if __name__ == "__main__":
    main()
