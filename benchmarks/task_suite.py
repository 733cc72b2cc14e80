"""Runs the agent's task suite with the offline policy and prints a table.

Usage: python benchmarks/task_suite.py [N_TASKS] [N_FAULT_TASKS]
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.cli.suite import run_task, suite_tasks  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    nf = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    rows = []
    for scene, task in suite_tasks(n, nf):
        r = run_task(scene, task)
        rows.append(r)
        mark = "ok " if r["success"] else "FAIL"
        said = "" if r["agrees"] else f" [agent said {'success' if r['agent_success'] else 'failure'}]"
        print(f"{mark} seed {r['seed']:5d} {r['kind']:11s} {str(r['fault'] or ''):6s} {r['command'][:70]:70s} "
              f"{'' if r['success'] else r['why']}{said}", file=sys.stderr, flush=True)
    by = defaultdict(list)
    for r in rows:
        by[("fault: " + r["fault"]) if r["fault"] else r["kind"]].append(r)
    print(f"\nAgent task suite (offline scripted policy, embedded sim): {len(rows)} tasks")
    print(f"{'group':22s} {'n':>4s} {'success':>9s} {'attempts':>9s} {'first move s':>13s} {'total s':>8s}")
    for k in sorted(by):
        g = by[k]
        fm = [r["first_move_s"] for r in g if r["first_move_s"] is not None]
        print(f"{k:22s} {len(g):4d} {100 * np.mean([r['success'] for r in g]):8.1f}% {np.mean([r['attempts'] for r in g]):9.2f} "
              f"{(np.median(fm) if fm else float('nan')):13.2f} {np.median([r['total_s'] for r in g]):8.2f}")
    plain = [r for r in rows if not r["fault"]]
    faults = [r for r in rows if r["fault"]]
    print(f"{'all, no faults':22s} {len(plain):4d} {100 * np.mean([r['success'] for r in plain]):8.1f}%   (target >= 90%)")
    if faults:
        fired = [r for r in faults if r["fault_fired"]]
        print(f"{'recovered from faults':22s} {len(fired):4d} {100 * np.mean([r['success'] for r in fired]):8.1f}%   "
              f"(target >= 80%; {len(faults) - len(fired)} faults did not fire)")
    agree = np.mean([r["agrees"] for r in rows])
    print(f"agent's success agrees with the simulator's truth: {100 * agree:.1f}% of {len(rows)} episodes "
          f"(verified true {sum(r['verified'] is True for r in rows)}, false {sum(r['verified'] is False for r in rows)}, "
          f"not checkable {sum(r['verified'] is None for r in rows)}); collateral (other objects moved > 3 cm): "
          f"{sum(len(r['collateral']) for r in rows)}")
    t = defaultdict(list)
    for r in plain:
        for k, v in r["timings"].items():
            t[k].append(v)
    print("median time per episode: " + ", ".join(f"{k} {np.median(v):.2f} s" for k, v in t.items()))


if __name__ == "__main__":
    main()
