#!/usr/bin/env python3
"""Table of a qcert verify run on the AAAI 2021 benchmark, checked against the expected
answers of ../shared/benchmarks/README.md (Fashion) where they are known."""
import json
import statistics
import sys

FASHION_MISCLASSIFIED = {12, 17, 23, 25, 26, 29, 40, 48, 51, 66, 68, 89, 98, 107, 127, 145, 147, 150, 153, 163,
                         183, 192, 193, 222, 226, 239, 241, 244, 247, 249, 316, 322, 324, 325, 332, 344}
FASHION_NONROBUST = {4, 28, 42, 73, 117, 135, 136, 151, 166, 219, 227, 248, 311, 312, 313, 315, 320, 337}
PUBLISHED = {
    "fashion": "AAAI 2021 (Boolector) decided 194 of 264; QVIP (Gurobi, 28 threads) 263 of 264 (338 at eps 4 timed out at 2 h)",
    "mnist": "AAAI 2021 decided 318 of 391; QVIP all 391",
}


def expected(bench, sample):
    if bench != "fashion" or sample == 338:  # 338 at eps 4: no published answer
        return None
    if sample in FASHION_MISCLASSIFIED:
        return "misclassified"
    return "violated" if sample in FASHION_NONROBUST else "holds"


def main():
    bench, path = sys.argv[1], sys.argv[2]
    rows = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                j = json.loads(line)
                rows[(j["sample"], j["eps"])] = j  # the last line of a query wins
    out = [f"# AAAI 2021 benchmark, {bench}", "", "| sample | eps | verdict | expected | correct | time (s) | method |",
           "|---|---|---|---|---|---|---|"]
    times, decided, queries, wrong = [], 0, 0, []
    for (s, e), j in sorted(rows.items()):
        v, exp = j["verdict"], expected(bench, s)
        ok = "" if exp is None else ("yes" if v == exp else ("-" if v == "unknown" else "NO"))
        if ok == "NO":
            wrong.append((s, e, v, exp))
        if v != "misclassified":
            queries += 1
            times.append(j["time_s"])
            decided += v in ("holds", "violated")
        out.append(f"| {s} | {e} | {v} | {exp or ''} | {ok} | {j['time_s']:.3f} | {j.get('method', '')} |")
    counts = {k: sum(1 for j in rows.values() if j["verdict"] == k) for k in ("holds", "violated", "unknown", "misclassified")}
    out += ["", "## Summary", "",
            f"- queries (correctly classified samples): {queries}; decided: {decided}; "
            f"holds {counts['holds']}, violated {counts['violated']}, unknown {counts['unknown']}; misclassified {counts['misclassified']}",
            f"- wrong answers: {len(wrong)} {wrong if wrong else ''}",
            f"- time per query: median {statistics.median(times) if times else 0:.3f} s, total {sum(times):.1f} s",
            f"- published: {PUBLISHED[bench]}"]
    print("\n".join(out))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
