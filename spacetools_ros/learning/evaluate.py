"""Held-out evaluation of a checkpoint with live tools: greedy rollouts (``learning.rollout``) of tasks
the training never saw, scored by the category's reward; per category and overall: valid tool-call
rate (calls that parse and pass their schema / calls attempted), mean reward, success rate (reward
above the keep threshold), tool calls and turns per task."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .rollout import Rollout, RolloutSettings


def stats(rollouts: list[Rollout]) -> dict:
    """The figures of a set of rollouts (unrounded)."""
    n = len(rollouts)
    calls = sum(r.valid_calls + r.invalid_calls for r in rollouts)
    mean = lambda xs: float(np.mean(xs)) if n else 0.0  # noqa: E731
    return {"n": n, "valid_tool_call_rate": sum(r.valid_calls for r in rollouts) / calls if calls else 0.0,
            "mean_reward": mean([r.reward for r in rollouts]), "success_rate": mean([r.success for r in rollouts]),
            "tool_calls_per_task": calls / n if n else 0.0, "turns_per_task": mean([r.turns for r in rollouts])}


def rounded(figures: dict) -> dict:
    """``stats`` for a report: rates and rewards to 4 places, per-task counts to 3."""
    return {k: v if isinstance(v, int) else round(v, 3 if k.endswith("_per_task") else 4) for k, v in figures.items()}


def evaluate(model_dir: str, rows: list[dict], settings: RolloutSettings, min_pixels: int, max_pixels: int,
             progress: Callable[[str], None] = lambda s: None) -> dict:
    """Greedy rollouts of ``rows`` with the checkpoint in ``model_dir``; ``{"overall": stats,
    "categories": {name: stats}}``."""
    from dataclasses import replace

    from .workers import RolloutWorker

    worker = RolloutWorker(model_dir, replace(settings, temperature=0.0), min_pixels, max_pixels)
    out: list[Rollout] = []
    for i in range(0, len(rows), 8):
        out += worker.run(rows[i:i + 8])
        progress(f"[eval] {len(out)}/{len(rows)} held-out tasks")
    cats = sorted({r.category for r in out})
    return {"overall": rounded(stats(out)), "categories": {c: rounded(stats([r for r in out if r.category == c]))
                                                           for c in cats}}
