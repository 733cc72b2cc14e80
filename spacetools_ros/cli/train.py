"""``spacetools train sft|grpo|dirl --config C``: train a policy (TRL, transformers, peft)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.errors import ConfigError

def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train`` subcommand's own subcommands and options."""
    sub = p.add_subparsers(dest="train_command", required=True)
    sft = sub.add_parser("sft", help="supervised fine-tuning on teaching conversations (spacetools data teach output), "
                                     "loss on the assistant's tokens only, vision tower frozen")
    grpo = sub.add_parser("grpo", help="GRPO with live tools on data gen tasks (multi-turn rollouts through the "
                                       "toolshed, tool tokens masked; rollout workers in process or as Ray actors)")
    dirl = sub.add_parser("dirl", help="the whole recipe as resumable stages: base, pointing-only RL, teacher demos, "
                                       "SFT on the mix, GRPO with all tools; held-out evaluation after each")
    for q in (sft, grpo, dirl):
        q.add_argument("--config", required=True, help="training YAML (see config/train/)")
        q.add_argument("--output-dir", help="override the config's output_dir")
    for q in (sft, grpo):
        q.add_argument("--max-steps", type=int, help="override the config's max_steps")
    dirl.add_argument("--seed", type=int, help="override the config's seed (model init, sampling, training)")


def _overrides(args: argparse.Namespace) -> dict:
    out = {}
    if args.output_dir:
        out["output_dir"] = str(Path(args.output_dir).resolve())
    if getattr(args, "max_steps", None) is not None:
        out["max_steps"] = args.max_steps
    if getattr(args, "seed", None) is not None:
        out["seed"] = args.seed
    return out


def cmd_train(args: argparse.Namespace) -> int:
    """Run one training stage; prints its summary JSON; exit 0 when it finished.

    Raises:
        ConfigError: an unreadable or invalid config, a missing model or dataset (exit 2).
    """
    from ..learning.train_config import read_yaml, sft_settings

    if args.train_command == "dirl":
        from ..learning.dirl import run_dirl

        results = run_dirl(args.config, _overrides(args))
        print(json.dumps({s: r.get("eval", {}).get("overall") for s, r in results.items()}, indent=2))
        return 0
    doc = read_yaml(args.config)
    base = Path(args.config).resolve().parent
    if args.train_command == "sft":
        from ..learning.sft import run_sft

        summary = run_sft(sft_settings(doc, base, _overrides(args)))
    elif args.train_command == "grpo":
        from ..learning.grpo import run_grpo
        from ..learning.train_config import grpo_settings

        summary = run_grpo(grpo_settings(doc, base, _overrides(args)))
    else:  # argparse allows only the stages above
        raise ConfigError(f"unknown training stage {args.train_command!r}")
    print(json.dumps({k: v for k, v in summary.items() if k != "settings"}, indent=2, default=str))
    return 0
