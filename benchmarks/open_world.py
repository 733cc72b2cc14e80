"""Open-world evaluation: per split (dev / held-out) and category, the agent's success judged by the
simulator, the agreement of its own word with the world, and collateral.

Usage: python benchmarks/open_world.py [PER_CATEGORY] [--first N] [--split dev|heldout|both] [--category NAME ...]
       [--sensor structured_light|ideal] [--spatial-frame camera|robot] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.evaluation.openworld import CATEGORIES, make_case  # noqa: E402
from spacetools_ros.evaluation.run import run_case, summarize  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("per_category", type=int, nargs="?", default=6)
    ap.add_argument("--first", type=int, default=0,
                    help="index of the first case in each category (to draw cases not looked at before)")
    ap.add_argument("--split", choices=("dev", "heldout", "both"), default="heldout")
    ap.add_argument("--category", nargs="*", choices=CATEGORIES, default=list(CATEGORIES))
    ap.add_argument("--sensor", choices=("structured_light", "ideal"), default="structured_light",
                    help="the cameras' sensor model (default: the modelled RGB-D camera, varied lighting)")
    ap.add_argument("--spatial-frame", choices=("camera", "robot"), default="camera",
                    help="read side words in the camera's view (default) or the robot base's frame, "
                         "for the agent and the judge alike")
    ap.add_argument("--json", help="write every row here")
    args = ap.parse_args()
    splits = ("dev", "heldout") if args.split == "both" else (args.split,)
    rows = []
    for split in splits:
        for cat in args.category:
            for i in range(args.first, args.first + args.per_category):
                case = make_case(split, cat, i, args.sensor, args.spatial_frame)
                row = run_case(case, spatial_frame=args.spatial_frame)
                rows.append(row)
                mark = "ok  " if row["success"] else "FAIL"
                said = "" if row["agrees"] else f" [agent said {'success' if row['agent_success'] else 'failure'}]"
                print(f"{mark} {split:7s} {cat:14s} {case.seed:6d} {case.command[:72]:72s} "
                      f"{'' if row['success'] else str(row['why'])[:90]}{said}", file=sys.stderr, flush=True)
    print(summarize(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=str)


if __name__ == "__main__":
    main()
