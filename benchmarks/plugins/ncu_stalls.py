"""Warp-stall summary of one kernel from Nsight Compute's per-SASS source page, without a GPU.

Reads the csv that `ncu --import REPORT.ncu-rep --page source --csv --print-source sass` writes (its first kernel) and
prints the total warp-stall samples, the share of each stall reason, and the instructions holding the most samples
with their three largest reasons:

    python3 benchmarks/plugins/ncu_stalls.py wgmma-m64.source.csv --top 16
"""

from __future__ import annotations

import argparse
import collections
import csv


def first_kernel(path: str) -> list[dict[str, str]]:
    """The rows of the first kernel of a source-page csv (a "Kernel Name" line opens each kernel)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[1]
    found = []
    for row in rows[2:]:
        if row and row[0] == "Kernel Name":
            break
        if len(row) == len(header):
            found.append(dict(zip(header, row)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="ncu --page source --csv --print-source sass output")
    parser.add_argument("--top", type=int, default=16, help="instructions to list")
    args = parser.parse_args()
    rows = first_kernel(args.csv)
    samples = "Warp Stall Sampling (All Samples)"
    total = sum(int(r[samples]) for r in rows)
    reasons = [h for h in rows[0] if h.startswith("stall_") and "Not Issued" not in h]
    by_reason = collections.Counter({h: sum(int(r[h]) for r in rows) for h in reasons})
    print("total samples", total)
    print(", ".join(f"{k[len('stall_') :]} {100 * v / total:.1f}%" for k, v in by_reason.most_common(10)))
    for r in sorted(rows, key=lambda r: -int(r[samples]))[: args.top]:
        top = sorted(((int(r[h]), h[len("stall_") :]) for h in reasons), reverse=True)[:3]
        print(
            f"{r['Address'][-5:]} {100 * int(r[samples]) / total:5.1f}% {r['Source'].strip()[:60]:60s} "
            + " ".join(f"{name}:{n}" for n, name in top if n)
        )


if __name__ == "__main__":
    main()
