#!/usr/bin/env python3
"""Builds the NAS-Bench-201 table that ships with SwiftNAS from the full table.

    python3 scripts/make_compact_nb201.py [FULL_CSV] [OUT]

FULL_CSV defaults to ../shared/data/nasbench201/nasbench201.csv (the merged NAS-Bench-201 /
NATS-Bench-TSS table, see docs/nasbench201_table.md for where each column comes from); OUT to
Sources/NASBench/Resources/nasbench201-compact.csv.gz.

The compact table keeps every row and every numeric column with the full table's exact text
(so every value parses to the same double and every figure computed from it is identical),
and drops `arch_str`, which `op_codes` encodes one-to-one. The gzip stream is written with a
zero timestamp and no file name, so the same input gives the same bytes.
"""
import csv
import gzip
import io
import sys
from pathlib import Path

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def arch_str_of(op_codes: str) -> str:
    ops = [OPS[int(c)] for c in op_codes]
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/nasbench201/nasbench201.csv"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "Sources/NASBench/Resources/nasbench201-compact.csv.gz"
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if header[:4] != ["arch_index", "arch_str", "op_codes", "nats_unique_str"] or len(body) != 15625:
        print(f"{src}: not the full NAS-Bench-201 table", file=sys.stderr)
        return 1
    text = io.StringIO()
    text.write(",".join(header[:1] + header[2:]) + "\n")
    for i, row in enumerate(body):
        # The dropped column must be recoverable exactly from the kept one.
        if int(row[0]) != i or arch_str_of(row[2]) != row[1]:
            print(f"{src}: row {i}: arch_str does not match op_codes", file=sys.stderr)
            return 1
        text.write(",".join(row[:1] + row[2:]) + "\n")
    data = gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"wrote {out}: {len(body)} rows, {len(header) - 1} columns, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
