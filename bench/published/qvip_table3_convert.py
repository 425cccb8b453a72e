#!/usr/bin/env python3
"""Turns QVIP's published bit-sweep results (repository QVIP22/Data, file
`Experimental Results/sec_5_2_Table_3.csv`: one block per network P<n>-<Q>, each row six
(ID, result, QVIP-time) triples for r = 2, 4, 6, 10, 20, 30) into one row per query:
network,Q,id,radius,result,time_s (values copied as published; NA stays NA).
Usage: qvip_table3_convert.py SOURCE.csv > qvip_ase2022_table3.csv"""
import re
import sys

# P1-6 is mnist_1blk_64_in_8_qu_6 and P3-8 is mnist_2blk_64_32_in_8_qu_8 (README of QVIP22/Data);
# P2 is the remaining architecture of QVIP's benchmark folder, 1blk_100.
NETWORKS = {1: "1blk_64", 2: "1blk_100", 3: "2blk_64_32"}
RADII = (2, 4, 6, 10, 20, 30)


def convert(lines):
    block = None
    rows = []
    for line in lines:
        fields = [f.strip() for f in line.rstrip("\r\n").split(",")]
        name = re.fullmatch(r"P(\d+)-(\d+):", fields[1]) if len(fields) > 1 else None
        if name:
            block = (NETWORKS[int(name.group(1))], int(name.group(2)))
        elif len(fields) == 19 and fields[1].isdigit():
            for k, radius in enumerate(RADII):
                sample, result, time_s = fields[1 + 3 * k: 4 + 3 * k]
                if result not in ("Robust", "Non-robust", "NA") or (result == "NA") != (time_s == "NA"):
                    raise ValueError(f"unexpected cell in block {block}: {line!r}")
                rows.append((block[0], block[1], int(sample), radius, result, time_s))
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
    return rows


def main():
    with open(sys.argv[1], newline="") as f:
        rows = convert(f)
    print("network,Q,id,radius,result,time_s")
    for r in rows:
        print(",".join(map(str, r)))


if __name__ == "__main__":
    main()
