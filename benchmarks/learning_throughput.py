"""Throughput of the measuring half of the learning loop on this machine: ``data gen`` (tasks/min
with 1 and with N worker processes), ``bench`` with the scripted teacher (tasks/min and where the
time goes: rebuilding and rendering the scenes, the tools, the policy, the rest) and ``data teach``
(conversations kept per minute). Works in a temporary folder. Prints figures; asserts nothing.

    python benchmarks/learning_throughput.py [--n 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.backends.policy.scripted_qa import ScriptedQAPolicy  # noqa: E402
from spacetools_ros.compose.bench import run_bench  # noqa: E402
from spacetools_ros.learning.dataset import generate  # noqa: E402
from spacetools_ros.learning.teach import teach  # noqa: E402


def _split_line(split: dict, wall: float) -> str:
    labels = {"render": "scene rebuild + render", "tools": "tools", "policy": "policy", "other": "scoring, rest"}
    return ", ".join(f"{labels[k]} {v:.1f} s ({100 * v / max(wall, 1e-9):.0f} %)" for k, v in split.items())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="tasks (default 200)")
    p.add_argument("--workers", type=int, default=2, help="scene-making processes for the second gen run")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    args = p.parse_args()
    quiet = lambda line: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="learning_tp_") as tmp:
        tasks = os.path.join(tmp, "tasks")
        for workers, out in ((1, os.path.join(tmp, "gen1")), (args.workers, tasks)):
            t0 = time.perf_counter()
            generate(args.n, args.split, out, 0, progress=quiet, workers=workers)
            wall = time.perf_counter() - t0
            print(f"data gen  {args.n} tasks, {workers} worker(s): {wall:6.1f} s = {args.n / wall * 60:6.0f} tasks/min")
        doc = run_bench(ScriptedQAPolicy(), tasks, progress=quiet)
        print(f"bench     {doc['n']} tasks, scripted teacher, tools on: {doc['wall_s']:6.1f} s = "
              f"{doc['tasks_per_min']:6.0f} tasks/min (success {doc['overall']['success_rate']:.1%}, "
              f"mean reward {doc['overall']['mean_reward']:.3f})")
        print(f"          time split: {_split_line(doc['time_split_s'], doc['wall_s'])}")
        doc = run_bench(ScriptedQAPolicy(), tasks, tools=False, progress=quiet)
        print(f"bench     {doc['n']} tasks, no tools: {doc['wall_s']:6.1f} s = {doc['tasks_per_min']:6.0f} tasks/min "
              f"(success {doc['overall']['success_rate']:.1%})")
        t0 = time.perf_counter()
        stats = teach(ScriptedQAPolicy(), tasks, os.path.join(tmp, "teach"), progress=quiet)
        wall = time.perf_counter() - t0
        print(f"teach     {stats['tasks']} tasks -> {stats['kept']} conversations kept in {wall:6.1f} s = "
              f"{stats['kept'] / wall * 60:6.0f} kept/min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
