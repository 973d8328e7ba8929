#!/usr/bin/env python3
"""The minimal external trainer ssr's tests use: no GPU, no dependencies beyond Python 3.

    python3 minimal_trainer.py --batch BATCH.jsonl --out OUT_DIR [--fail-first]

It reads the step's batch (one trajectory per line: OpenAI chat `messages`, `role`, `reward`, `group`), checks that
every line is a trajectory a real trainer could use, computes the group-relative advantages a policy-gradient
trainer would weight each trajectory with, writes them with a summary to OUT_DIR/checkpoint.json, and prints the
checkpoint's path as its last stdout line (what ssr records and hands to the inference server). A real trainer
(see reference_trainer.py) does the same and takes a gradient step where this one writes the advantages down.
"""
import argparse
import json
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail-first", action="store_true", help="crash on the first call for this out dir (tests a retried trainer)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    marker = os.path.join(a.out, ".attempted")
    if a.fail_first and not os.path.exists(marker):
        open(marker, "w").close()
        print("minimal_trainer: simulated crash before finishing", file=sys.stderr)
        return 3
    rows = []
    with open(a.batch) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            t = json.loads(line)
            for key in ("messages", "role", "reward", "group"):
                if key not in t:
                    print(f"minimal_trainer: line {n} has no '{key}'", file=sys.stderr)
                    return 2
            if not isinstance(t["messages"], list) or not all(isinstance(m, dict) and "role" in m for m in t["messages"]):
                print(f"minimal_trainer: line {n}: messages are not OpenAI chat messages", file=sys.stderr)
                return 2
            rows.append(t)
    groups = {}
    for t in rows:
        key = (t["role"], t["group"] if t["role"] == "solver" else "*")
        groups.setdefault(key, []).append(float(t["reward"]))
    advantages = []
    for t in rows:
        g = groups[(t["role"], t["group"] if t["role"] == "solver" else "*")]
        advantages.append(float(t["reward"]) - sum(g) / len(g))
    summary = {
        "trajectories": len(rows),
        "by_role": {r: sum(1 for t in rows if t["role"] == r) for r in ("injector", "solver")},
        "assistant_turns": sum(1 for t in rows for m in t["messages"] if m.get("role") == "assistant"),
        "advantages": advantages,
    }
    path = os.path.join(a.out, "checkpoint.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, path)
    with open(os.path.join(a.out, "trained.count"), "a") as f:
        f.write("1\n")
    print(os.path.abspath(a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
