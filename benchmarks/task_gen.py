"""Throughput of ``spacetools data gen``: tasks per minute and where the time goes (scene draw +
world build + settling, rendering, computing the truths, writing images and parquet), into a
temporary folder. Prints figures; asserts nothing.

    python benchmarks/task_gen.py [--n 200] [--categories a,b,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.learning import CATEGORIES  # noqa: E402
from spacetools_ros.learning.dataset import generate  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="tasks to generate (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--categories", default=",".join(CATEGORIES))
    p.add_argument("--workers", type=int, default=1, help="scene-making processes")
    args = p.parse_args()
    cats = tuple(c for c in args.categories.split(",") if c)
    with tempfile.TemporaryDirectory(prefix="task_gen_") as tmp:
        t0 = time.perf_counter()
        s = generate(args.n, "train", os.path.join(tmp, "out"), args.seed, cats, progress=lambda line: None,
                     workers=args.workers)
        wall = time.perf_counter() - t0
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)
    print(f"{s['tasks']} tasks from {s['scenes']} scenes ({s['tasks_per_scene']} a scene, {s['extra_draws']} draws "
          f"redone, {s['extra_builds']} after building), {args.workers} worker(s), in {wall:.1f} s: "
          f"{s['tasks'] / wall * 60:.0f} tasks/min, "
          f"{wall / s['scenes'] * 1000:.0f} ms a scene, {size / s['tasks'] / 1024:.1f} KiB a task on disk")
    total = sum(s["seconds"].values())
    if args.workers > 1:
        print("  (stage seconds are summed over the workers)")
    labels = {"scene": "scene draw + world build + settle", "render": "rendering (all cameras, multi-view extras)",
              "truths": "questions and truths", "write": "images, parquet, card"}
    for k, v in s["seconds"].items():
        print(f"  {labels[k]:<44} {v:7.2f} s  {100 * v / max(total, 1e-9):5.1f} %")
    if args.workers == 1:
        print(f"  {'(imports and start-up outside these)':<44} {wall - total:7.2f} s")
    print("per category:", ", ".join(f"{c} {n}" for c, n in s["counts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
