"""``spacetools bench``: score a policy on a ``data gen`` dataset, per category (with or without tools)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.errors import ConfigError


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """The ``bench`` subcommand's options."""
    from ..compose.bench import BENCH_POLICIES

    p.add_argument("--policy", required=True, help=f"{' | '.join(BENCH_POLICIES)} (scripted = the offline spatial-"
                                                   "question teacher)")
    p.add_argument("--policy-url", help="OpenAI-compatible endpoint for --policy openai")
    p.add_argument("--model", help="model name (--policy openai) or checkpoint folder (--policy local)")
    p.add_argument("--tasks", required=True, help="a spacetools data gen output folder")
    p.add_argument("--no-tools", action="store_true", help="no tools block; the answer is due in the first turn")
    p.add_argument("--limit", type=int, help="only the first N tasks (by id)")
    p.add_argument("--json", required=True, help="write the scores here")
    p.add_argument("--transcripts", help="write one JSON line per task here (messages, tool calls, answer, reward)")


def _check_output(path: str, flag: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise ConfigError(f"{flag}: folder {parent} does not exist")


def cmd_bench(args: argparse.Namespace) -> int:
    """Run ``bench``; prints the table, writes the JSON; exit 0 when every task was asked and scored.

    Raises:
        ConfigError: bad arguments, an unknown policy or an unusable dataset (exit 2).
    """
    from ..compose.bench import BENCH_POLICIES, load_tasks, make_bench_policy, run_bench, table

    if args.policy not in BENCH_POLICIES:
        raise ConfigError(f"--policy: unknown policy {args.policy!r} (one of: {', '.join(BENCH_POLICIES)})")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    _check_output(args.json, "--json")
    if args.transcripts:
        _check_output(args.transcripts, "--transcripts")
    load_tasks(args.tasks, 1)  # an unusable dataset is refused before any policy starts
    policy = make_bench_policy(args.policy, args.policy_url, args.model)

    from ..backends.sim.mujoco_sim import ensure_headless_gl

    ensure_headless_gl()
    out = open(args.transcripts, "w") if args.transcripts else None
    try:
        def on_task(res, row) -> None:
            if out is not None:
                out.write(json.dumps(res.to_dict(row["question"], row["answer"])) + "\n")

        doc = run_bench(policy, args.tasks, tools=not args.no_tools, limit=args.limit, on_task=on_task)
    finally:
        if out is not None:
            out.close()
    doc["policy"] = args.policy
    Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    print(table(doc))
    print(f"[bench] {doc['n']} tasks in {doc['wall_s']:.1f} s, policy {args.policy}, tools {'on' if doc['tools'] else 'off'}; "
          f"scores in {args.json}", file=sys.stderr)
    return 0
