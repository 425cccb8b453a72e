#!/usr/bin/env python3
"""Tables (CSV, Markdown) and an SVG plot of bench/run_params.sh's qcert params runs.

Usage: params_report.py RAW.jsonl OUT_PREFIX   (writes OUT_PREFIX.csv, .md, .svg)
"""
import csv
import json
import math
import re
import statistics
import sys

NAMES = {"relu": "ReLU", "linear": "linear"}
COLOURS = {"relu": "#1f77b4", "linear": "#d62728"}


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            j = json.loads(line)
            model = "relu" if "relu" in j["model"] else "linear"
            name = j["perturbation"]
            kind = "fixed" if "fixed:" in name else "covering"
            bits = int(re.search(r"fixed:(\d+)$", name).group(1) if kind == "fixed" else re.search(r"_(\d+)\.json$", name).group(1))
            runs.append({
                "scheme": kind,
                "model": model,
                "bits": bits,
                "mode": j["mode"],
                "x1": j["input_lo"][0] if j["mode"] == "local" else "",
                "x2": j["input_lo"][1] if j["mode"] == "local" else "",
                "nominal_confidence": j.get("nominal_confidence", ""),
                "lower": j["lower"],
                "upper": j["upper"],
                "gap": j["upper"] - j["lower"],
                "precision": j["precision"],
                "complete": j["complete"],
                "class_can_change": j["class_can_change"],
                "time_s": j["time_s"],
                "nodes": j["nodes"],
            })
    return runs


def write_csv(runs, path):
    keys = ["scheme", "model", "bits", "mode", "x1", "x2", "nominal_confidence", "lower", "upper", "gap", "precision",
            "complete", "class_can_change", "time_s", "nodes"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in runs:
            row = dict(r)
            row["class_can_change"] = {True: "yes", False: "no", None: "undecided"}[r["class_can_change"]]
            w.writerow(row)


def summary(runs, scheme):
    """Per (model, bits) of one scheme: the global run and the local grid's runs."""
    out = {}
    for r in runs:
        if r["scheme"] != scheme:
            continue
        s = out.setdefault((r["model"], r["bits"]), {"local": []})
        if r["mode"] == "global":
            s["global"] = r
        else:
            s["local"].append(r)
    return out


def mid(r):
    return 0.5 * (r["lower"] + r["upper"])


SCHEME_TITLES = {
    "fixed": "`fixed:B` (qcert's preset: per layer signed B bits, integer bits from the rounded largest "
             "magnitude; saturates the ReLU network's weight -8.32 to -8 at every B)",
    "covering": "range-covering B-bit fixed point (per layer the fewest integer bits that round every "
                "parameter inside the format; nothing saturates beyond rounding)",
}


def table(runs, scheme):
    s = summary(runs, scheme)
    bits = sorted({b for _, b in s})
    lines = [f"### {SCHEME_TITLES[scheme]}", "",
             "| bits | ReLU global | linear global | ReLU local mean / max | linear local mean / max "
             "| class can change (ReLU / linear, of 25) | slowest local (ReLU / linear) | global time (ReLU / linear) |",
             "|---|---|---|---|---|---|---|---|"]
    for b in bits:
        cells = [str(b)]
        for m in ("relu", "linear"):
            g = s.get((m, b), {}).get("global")
            cells.append(f"[{g['lower']:.4f}, {g['upper']:.4f}]" + ("" if g["complete"] else " (timeout)") if g else "-")
        for m in ("relu", "linear"):
            loc = s.get((m, b), {}).get("local", [])
            cells.append(f"{statistics.mean(mid(r) for r in loc):.4f} / {max(mid(r) for r in loc):.4f}" if loc else "-")
        cc = []
        for m in ("relu", "linear"):
            loc = s.get((m, b), {}).get("local", [])
            yes = sum(1 for r in loc if r["class_can_change"] is True)
            und = sum(1 for r in loc if r["class_can_change"] is None)
            cc.append(f"{yes}" + (f" (+{und} undecided)" if und else ""))
        cells.append(" / ".join(cc))
        cells.append(" / ".join(f"{max((r['time_s'] for r in s.get((m, b), {}).get('local', [])), default=0):.2f} s"
                                for m in ("relu", "linear")))
        cells.append(" / ".join(f"{s[(m, b)]['global']['time_s']:.2f} s" if "global" in s.get((m, b), {}) else "-"
                                for m in ("relu", "linear")))
        lines.append("| " + " | ".join(cells) + " |")
    # Which network is more robust, bit-width by bit-width (smaller change = more robust).
    g_relu = g_lin = l_relu = l_lin = 0
    for b in bits:
        gr, gl = s.get(("relu", b), {}).get("global"), s.get(("linear", b), {}).get("global")
        if gr and gl:
            g_relu += gr["upper"] < gl["lower"]
            g_lin += gl["upper"] < gr["lower"]
        lr, ll = s.get(("relu", b), {}).get("local"), s.get(("linear", b), {}).get("local")
        if lr and ll:
            a, c = statistics.mean(mid(r) for r in lr), statistics.mean(mid(r) for r in ll)
            l_relu += a < c
            l_lin += c < a
    lines += ["", f"Global: ReLU provably more robust (certified intervals disjoint) at {g_relu} of {len(bits)} "
              f"bit-widths, linear at {g_lin}. Local grid mean: ReLU smaller at {l_relu}, linear at {l_lin}.", ""]
    return lines


def write_md(runs, path):
    lines = ["# qcert params: the two-input MLPs under uniform B-bit parameter rounding", "",
             "Largest change of the softmax confidence when every weight and bias takes any value its "
             "rounding may take (docs/PARAMS.md). Global: over [0,1]^2, certified interval [lower, upper] "
             "to 1e-2. Local: the 5x5 grid {0, .25, .5, .75, 1}^2, each to 1e-3; mean and largest over the "
             "grid of the interval's midpoint, and how many grid points can change class.", ""]
    for scheme in ("fixed", "covering"):
        if any(r["scheme"] == scheme for r in runs):
            lines += table(runs, scheme)
    local = [r for r in runs if r["mode"] == "local"]
    glob = [r for r in runs if r["mode"] == "global"]
    if local:
        lines.append(f"Local runs: {len(local)}, complete (gap <= 1e-3): {sum(r['complete'] for r in local)}, "
                     f"under 1 s: {sum(r['time_s'] < 1 for r in local)}, median {statistics.median(r['time_s'] for r in local):.3f} s, "
                     f"slowest {max(r['time_s'] for r in local):.2f} s.")
    if glob:
        lines.append(f"Global runs: {len(glob)}, complete (gap <= 1e-2): {sum(r['complete'] for r in glob)}, "
                     f"under 60 s: {sum(r['time_s'] < 60 for r in glob)}, slowest {max(r['time_s'] for r in glob):.2f} s.")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_svg(runs, path):
    """One panel per scheme: the global certified intervals (solid, with the interval as a bar)
    and the local grid mean (dashed), ReLU against linear, on a log scale."""
    schemes = [sc for sc in ("fixed", "covering") if any(r["scheme"] == sc for r in runs)]
    PW, PH, L, T, B, GAP, LEG = 400, 320, 70, 50, 60, 40, 170
    W = L + len(schemes) * PW + (len(schemes) - 1) * GAP + LEG
    H = T + PH + B
    lo_exp, hi_exp = -5, 0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>',
           f'<text x="{(W - LEG) / 2}" y="20" text-anchor="middle" font-size="14">Largest softmax-confidence change '
           'when every parameter takes any value its B-bit rounding may take</text>']
    for p, scheme in enumerate(schemes):
        s = summary(runs, scheme)
        bits = sorted({b for _, b in s})
        b0, b1 = min(bits), max(bits)
        x0 = L + p * (PW + GAP)

        def X(b):
            return x0 + (b - b0) / max(1, b1 - b0) * PW

        def Y(v):
            e = math.log10(max(v, 10.0 ** lo_exp))
            return T + (hi_exp - e) / (hi_exp - lo_exp) * PH

        out.append(f'<text x="{x0 + PW / 2}" y="{T - 10}" text-anchor="middle">'
                   f'{"fixed:B (saturating preset)" if scheme == "fixed" else "range-covering B-bit"}</text>')
        for e in range(lo_exp, hi_exp + 1):
            out.append(f'<line x1="{x0}" y1="{Y(10.0 ** e):.1f}" x2="{x0 + PW}" y2="{Y(10.0 ** e):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 6}" y="{Y(10.0 ** e) + 4:.1f}" text-anchor="end">1e{e}</text>')
        for b in bits:
            out.append(f'<line x1="{X(b):.1f}" y1="{T + PH}" x2="{X(b):.1f}" y2="{T + PH + 5}" stroke="black"/>')
            out.append(f'<text x="{X(b):.1f}" y="{T + PH + 18}" text-anchor="middle">{b}</text>')
        out.append(f'<line x1="{x0}" y1="{T + PH}" x2="{x0 + PW}" y2="{T + PH}" stroke="black"/>')
        out.append(f'<line x1="{x0}" y1="{T}" x2="{x0}" y2="{T + PH}" stroke="black"/>')
        out.append(f'<text x="{x0 + PW / 2}" y="{H - 18}" text-anchor="middle">bits B</text>')
        if p == 0:
            out.append(f'<text x="16" y="{T + PH / 2}" text-anchor="middle" transform="rotate(-90 16 {T + PH / 2})">'
                       "max |c' - c| (log scale)</text>")
        for m in ("relu", "linear"):
            col = COLOURS[m]
            pts = [(b, s[(m, b)]["global"]) for b in bits if "global" in s.get((m, b), {})]
            if pts:
                out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                    col, " ".join(f"{X(b):.1f},{Y(mid(g)):.1f}" for b, g in pts)))
                for b, g in pts:  # the certified interval as a bar
                    out.append(f'<line x1="{X(b):.1f}" y1="{Y(g["lower"]):.1f}" x2="{X(b):.1f}" '
                               f'y2="{Y(g["upper"]):.1f}" stroke="{col}" stroke-width="4" opacity="0.5"/>')
                    out.append(f'<circle cx="{X(b):.1f}" cy="{Y(mid(g)):.1f}" r="2.5" fill="{col}"/>')
            loc = [(b, statistics.mean(mid(r) for r in s[(m, b)]["local"])) for b in bits if s.get((m, b), {}).get("local")]
            if loc:
                out.append('<polyline fill="none" stroke="{}" stroke-width="1.5" stroke-dasharray="5,4" '
                           'points="{}"/>'.format(col, " ".join(f"{X(b):.1f},{Y(v):.1f}" for b, v in loc)))
    lx, ly = W - LEG + 10, T + 10
    for m in ("relu", "linear"):
        for dash, label in (("", "global"), ("5,4", "local (grid mean)")):
            out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 28}" y2="{ly}" stroke="{COLOURS[m]}" stroke-width="2"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            out.append(f'<text x="{lx + 34}" y="{ly + 4}">{NAMES[m]} {label}</text>')
            ly += 20
    out.append(f'<text x="{lx}" y="{ly + 10}" font-size="11">bars: certified</text>')
    out.append(f'<text x="{lx}" y="{ly + 24}" font-size="11">[lower, upper]</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    raw, prefix = sys.argv[1], sys.argv[2]
    runs = load(raw)
    runs.sort(key=lambda r: (r["scheme"] != "fixed", r["model"] != "relu", r["bits"], r["mode"] != "global",
                             str(r["x1"]), str(r["x2"])))
    write_csv(runs, prefix + ".csv")
    write_md(runs, prefix + ".md")
    write_svg(runs, prefix + ".svg")


if __name__ == "__main__":
    main()
