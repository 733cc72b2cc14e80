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
    from ..compose.bench import BENCH_POLICIES
    from ..learning.teach import VARIANTS

    teach = sub.add_parser("teach", help="a teacher answers data gen tasks with the tools; conversations whose reward "
                                         "passes the category's threshold become an SFT dataset (chat markup)")
    teach.add_argument("--teacher", required=True, help=f"{' | '.join(BENCH_POLICIES)} (scripted = the offline "
                                                        "spatial-question teacher)")
    teach.add_argument("--policy-url", help="OpenAI-compatible endpoint for --teacher openai")
    teach.add_argument("--model", help="model name (--teacher openai) or checkpoint folder (--teacher local)")
    teach.add_argument("--tasks", help="a spacetools data gen output folder (variants all and pointing)")
    teach.add_argument("--out", required=True, help="output folder (new or empty)")
    teach.add_argument("--variant", default="all", choices=tuple(VARIANTS),
                       help="all: every vision tool and category; pointing: only the pointing tool on the pointing "
                            "categories (single-tool demos); agent: pick-and-place episodes in the embedded world, "
                            "kept when the world shows success")
    teach.add_argument("--limit", type=int, help="only the first N tasks (by id)")
    teach.add_argument("--episodes", type=int, default=0, help="agent episodes to run (variant agent)")


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


def cmd_teach(args: argparse.Namespace) -> int:
    """Run ``data teach``; prints the statistics JSON; exit 0 when every task was asked.

    Raises:
        ConfigError: bad arguments, an unknown teacher, an unusable task dataset or an output folder
            that is not empty (exit 2).
    """
    from ..compose.bench import BENCH_POLICIES, load_tasks, make_bench_policy
    from ..learning.dataset import check_output_dir
    from ..learning.teach import teach

    if args.teacher not in BENCH_POLICIES:
        raise ConfigError(f"--teacher: unknown teacher {args.teacher!r} (one of: {', '.join(BENCH_POLICIES)})")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    out = Path(args.out)
    try:
        check_output_dir(out)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not out.resolve().parent.is_dir():
        raise ConfigError(f"--out: parent folder {out.resolve().parent} does not exist")
    from ..learning.teach import MAX_EPISODES

    if args.variant == "agent":
        if not 1 <= args.episodes <= MAX_EPISODES:
            raise ConfigError(f"--variant agent needs --episodes between 1 and {MAX_EPISODES}, got {args.episodes}")
        if args.teacher == "scripted":
            from ..backends.policy.scripted import ScriptedPolicy as policy
        else:
            from ..compose.policy import make_policy

            shared = make_policy(args.teacher, args.policy_url, args.model)
            policy = lambda: shared  # noqa: E731 - one served model; start() begins each episode afresh
    else:
        if not args.tasks:
            raise ConfigError(f"--variant {args.variant} needs --tasks (a spacetools data gen output folder)")
        load_tasks(args.tasks, 1)  # an unusable dataset is refused before any teacher starts
        policy = make_bench_policy(args.teacher, args.policy_url, args.model)

    from ..backends.sim.mujoco_sim import ensure_headless_gl

    ensure_headless_gl()
    stats = teach(policy, args.tasks, out, variant=args.variant, limit=args.limit, episodes=args.episodes)
    print(json.dumps(stats, indent=2))
    print(f"[data] kept {stats['kept']} of {stats['tasks']} conversations ({args.variant}); dataset in {out}",
          file=sys.stderr)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """Run ``data gen`` or ``data teach``; prints the summary JSON; exit 0 when every task was written.

    Raises:
        ConfigError: bad arguments or an output folder that is not empty (exit 2).
    """
    if args.data_command == "teach":
        return cmd_teach(args)
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
