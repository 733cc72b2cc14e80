"""``spacetools data gen``: spatial tasks with exact ground truth from the embedded simulator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.errors import ConfigError


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """The ``data`` subcommand's own subcommands and options."""
    from ..learning import CATEGORIES

    sub = p.add_subparsers(dest="data_command", required=True)
    gen = sub.add_parser("gen", help="random scenes with questions whose answers come from the simulator, written as "
                                     "a Hugging Face dataset (parquet + PNG images + dataset card)")
    gen.add_argument("--n", type=int, required=True, help="number of tasks (1..1000000)")
    gen.add_argument("--split", required=True, choices=("train", "val", "test"),
                     help="which split (each draws its scene seeds from its own range)")
    gen.add_argument("--out", required=True, help="output folder (new or empty)")
    gen.add_argument("--seed", type=int, default=0, help="run seed 0..699 (scene seeds disjoint from other seeds)")
    gen.add_argument("--categories", default=",".join(CATEGORIES),
                     help=f"comma-separated subset of: {', '.join(CATEGORIES)} (default: all)")
    gen.add_argument("--workers", type=int, default=1,
                     help="processes making scenes (default 1; the rows do not depend on it)")


def _categories(text: str) -> tuple[str, ...]:
    from ..learning import CATEGORIES

    cats = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise ConfigError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)[:200]} "
                          f"(known: {', '.join(CATEGORIES)})")
    if not cats:
        raise ConfigError("--categories names no category")
    return cats


def cmd_data(args: argparse.Namespace) -> int:
    """Run ``data gen``; prints the summary JSON; exit 0 when every task was written.

    Raises:
        ConfigError: bad arguments or an output folder that is not empty (exit 2).
    """
    from ..learning.dataset import MAX_SEED, MAX_TASKS, MAX_WORKERS, check_output_dir

    if not 1 <= args.n <= MAX_TASKS:
        raise ConfigError(f"--n must be between 1 and {MAX_TASKS}, got {args.n}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ConfigError(f"--seed must be between 0 and {MAX_SEED}, got {args.seed}")
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, got {args.workers}")
    cats = _categories(args.categories)
    out = Path(args.out)
    try:
        check_output_dir(out)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not out.parent.is_dir():
        raise ConfigError(f"--out: parent folder {out.parent} does not exist")

    from ..backends.sim.mujoco_sim import ensure_headless_gl
    from ..learning.dataset import generate

    ensure_headless_gl()
    summary = generate(args.n, args.split, out, args.seed, cats, workers=args.workers)
    print(json.dumps(summary, indent=2))
    print(f"[data] {summary['tasks']} tasks in {summary['wall_s']:.1f} s ({summary['tasks_per_min']:.0f} tasks/min); "
          f"dataset in {out}", file=sys.stderr)
    return 0
