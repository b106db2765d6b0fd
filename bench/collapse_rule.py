#!/usr/bin/env python3
"""Replays the collapse detector over the per-epoch health logs of plain DARTS runs
(`<store>.health.jsonl`, written by every weight-sharing search) for a grid of rules, and grades
what `on_collapse=rollback` would have returned with the NAS-Bench-201 table.

With rollback the run is plain DARTS up to the epoch the detector fires, so one plain run per
seed tells what every rule would do. Rules are chosen by the objective column
(nb201_c10valid_valid_12, the validation accuracy the searches store), on tuning seeds only;
the report column is printed beside it for the record, not for the choice.

Usage: bench/collapse_rule.py TABLE.csv RUN.health.jsonl [RUN.health.jsonl ...]
"""
import csv
import json
import sys


def load_table(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows[r["arch_str"]] = (float(r["nb201_c10valid_valid_12"]), float(r["nats_c10_test_200"]))
    return rows


def replay(epochs, share, patience):
    """(firing epoch or None, the cell rollback returns) — the rule of SupernetHealth.fires."""
    accs = []
    best = None
    for i, e in enumerate(epochs):
        accs.append(e["validation_accuracy"])
        b = max(range(len(accs)), key=lambda j: (accs[j], -j))
        if e["parameter_free_share"] >= share - 1e-6 and len(accs) - 1 - b >= patience:
            return i + 1, epochs[b]["cell"]
    return None, epochs[-1]["cell"]


def main():
    table = load_table(sys.argv[1])
    runs = []
    for path in sys.argv[2:]:
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        runs.append((path, [l for l in lines if l["stage"] == "main"]))
    print("share patience  fired  mean_valid_12  mean_test_200   (plain DARTS: %s)" % " ".join(
        "%.2f" % table[r[-1]["cell"]][0] for _, r in runs))
    for share in (4 / 6, 5 / 6, 1.0):
        for patience in (2, 3, 4, 6):
            out = [replay(r, share, patience) for _, r in runs]
            v = [table[c][0] for _, c in out]
            t = [table[c][1] for _, c in out]
            fired = sum(1 for e, _ in out if e is not None)
            print("%5.2f %8d  %5d  %13.2f  %13.2f   epochs %s" % (
                share, patience, fired, sum(v) / len(v), sum(t) / len(t), [e for e, _ in out]))


if __name__ == "__main__":
    main()
