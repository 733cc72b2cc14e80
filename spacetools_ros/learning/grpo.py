"""``spacetools train grpo``: GRPO with live tools on the spatial tasks of a ``data gen`` dataset, with
TRL's ``GRPOTrainer`` and this package's rollouts (``rollout_func``).

Each prompt of the trainer's dataset is a task (system prompt with the tools block, user turn with
the task's images; the user message carries the task id). The trainer's sampler repeats each prompt
``num_generations`` times; ``rollout_func`` runs every copy through ``learning.rollout`` on the
rollout workers (in process, or Ray actors) and hands back prompt ids, completion ids (model turns
and tool results, token in / token out), the sampling log-probabilities and ``env_mask`` (1 for
the model's tokens, 0 for tool results and chat markup it did not write: no loss on them). The
reward of a rollout (the category's task reward, or 3D-R1's total) comes back with it and is what the
trainer's reward function returns. Groups whose rewards are all equal carry no learning signal:
they are counted every step (``rollout/all_equal_groups``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from .evaluate import stats as rollout_stats
from .rollout import RolloutSettings
from .train_config import GRPOSettings, as_dict

CHECKPOINT = "checkpoint"


def rollout_settings(s: GRPOSettings) -> RolloutSettings:
    """The rollout limits of a GRPO config."""
    return RolloutSettings(max_turns=s.max_turns, max_new_tokens=s.max_new_tokens, temperature=s.temperature,
                           top_p=s.top_p, max_tool_response_chars=s.max_tool_response_chars,
                           max_tool_calls=s.max_tool_calls, max_total_tokens=s.max_total_tokens, tools=s.tools,
                           reward=s.reward, reward_by_category=dict(s.reward_by_category))


def task_rows(s: GRPOSettings) -> list[dict]:
    """The tasks to train on (categories selected, first ``limit``).

    Raises:
        ConfigError: an unusable task dataset, or no task left.
    """
    from ..compose.bench import load_tasks

    rows = load_tasks(s.tasks)
    if s.categories is not None:
        rows = [r for r in rows if r["category"] in s.categories]
    rows = rows[: s.limit] if s.limit else rows
    if not rows:
        raise ConfigError(f"tasks: no task of the chosen categories in {s.tasks}")
    return rows


def prompt_dataset(rows: list[dict], tasks_dir: str, system: str):
    """The trainer's dataset: ``prompt`` (system + user turn with image parts; the user message has the
    task id), ``images`` (the task's image files), ``task_id``."""
    from datasets import Dataset, Image, Sequence

    root = Path(tasks_dir).resolve()
    data = [{"prompt": [{"role": "system", "content": [{"type": "text", "text": system}], "task_id": ""},
                        {"role": "user", "content": [*({"type": "image", "text": None} for _ in r["images"]),
                                                     {"type": "text", "text": r["question"]}], "task_id": r["id"]}],
             "images": [str(root / p) for p in r["images"]], "task_id": r["id"]} for r in rows]
    return Dataset.from_list(data).cast_column("images", Sequence(Image()))


class RolloutRecorder:
    """The rollout side of training: runs ``rollout_func`` and keeps per-step statistics."""

    def __init__(self, rows: list[dict], pool, num_generations: int, log: Callable[[str], None]) -> None:
        self.rows = {r["id"]: r for r in rows}
        self.pool = pool
        self.g = num_generations
        self.log = log
        self.steps: list[dict] = []

    def __call__(self, prompts: list, trainer) -> dict:
        ids = [next(m["task_id"] for m in p if m["role"] == "user") for p in prompts]
        rows = [self.rows[i] for i in ids]
        t0 = time.perf_counter()
        rollouts, timing = self.pool.run(rows, trainer)
        wall = time.perf_counter() - t0
        rewards = np.array([r.reward for r in rollouts])
        groups = [rewards[i:i + self.g] for i in range(0, len(rewards), self.g)]
        equal = sum(1 for grp in groups if len(grp) > 1 and np.ptp(grp) < 1e-9)
        figures = rollout_stats(rollouts)
        stats = {"rollouts": len(rollouts), "groups": len(groups), "all_equal_groups": equal,
                 "mean_reward": figures["mean_reward"], "success": figures["success_rate"],
                 "valid_tool_call_rate": figures["valid_tool_call_rate"], "turns": figures["turns_per_task"],
                 "truncated": float(np.mean([r.truncated for r in rollouts])),
                 "model_tokens": float(np.mean([sum(r.env_mask) for r in rollouts])),
                 "generation_s": sum(r.seconds["generation"] for r in rollouts),
                 "tools_s": sum(r.seconds["tools"] for r in rollouts),
                 "render_s": sum(r.seconds["render"] for r in rollouts), "sync_s": timing["sync"], "wall_s": wall}
        self.steps.append(stats)
        metrics = trainer._metrics["train"]  # logged and averaged with the trainer's own metrics
        for k in ("all_equal_groups", "mean_reward", "success", "valid_tool_call_rate", "turns", "truncated"):
            metrics[f"rollout/{k}"].append(stats[k])
        self.log(f"[grpo] {len(rollouts)} rollouts in {wall:.1f} s: reward {stats['mean_reward']:.3f}, "
                 f"{equal}/{len(groups)} groups all equal, valid calls {stats['valid_tool_call_rate']:.0%}")
        return {"prompt_ids": [r.prompt_ids for r in rollouts], "completion_ids": [r.completion_ids for r in rollouts],
                "logprobs": [r.logprobs for r in rollouts], "env_mask": [r.env_mask for r in rollouts],
                "task_reward": [r.reward for r in rollouts]}


def task_reward(prompts, completions, task_reward, **kwargs) -> list[float]:
    """The reward each rollout earned in its world (computed with the rollout)."""
    return [float(r) for r in task_reward]


def run_grpo(settings: GRPOSettings, progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
             pool_factory: Callable | None = None) -> dict:
    """Train; writes ``output_dir/checkpoint``, ``metrics.csv``, ``rollouts.csv``, ``curves.png`` and
    ``summary.json``. ``pool_factory``: builds the rollout pool (default ``workers.make_pool``; same
    arguments).

    Raises:
        ConfigError: an unusable model folder or task dataset.
    """
    import os

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl import GRPOConfig, GRPOTrainer

    from ..core.qa_loop import qa_system_prompt
    from .curves import plot_curves
    from .rollout import TaskWorld
    from .sft import load_for_training, save_checkpoint, write_metrics
    from .workers import engine_image_processor, make_pool, vllm_generation_kwargs

    vllm = settings.generation == "vllm"
    if vllm:
        from trl.import_utils import is_vllm_available

        if not is_vllm_available():
            raise ConfigError('generation: vllm needs vLLM: pip install "trl[vllm]==1.16.0" (on a GPU machine)')
        engine_image_processor(settings.model)
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = task_rows(settings)
    model, processor, frozen, peft_config, use_cpu = load_for_training(settings)
    world = TaskWorld(settings.tools)
    schemas = {n: world.sheds["camera"].schemas[n] for n in world.names}
    system = qa_system_prompt(schemas, list(schemas), None, True)
    data = prompt_dataset(rows, settings.tasks, system)
    args = GRPOConfig(
        output_dir=str(out / "trainer"), learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler_type, warmup_steps=settings.warmup_ratio,
        per_device_train_batch_size=settings.per_device_train_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps, max_steps=settings.max_steps,
        num_train_epochs=settings.num_train_epochs, num_generations=settings.num_generations, beta=settings.beta,
        loss_type=settings.loss_type, temperature=settings.temperature if settings.temperature > 0 else 1.0,
        top_p=settings.top_p, max_completion_length=settings.max_total_tokens, seed=settings.seed,
        logging_steps=settings.logging_steps, use_cpu=use_cpu, bf16=settings.bf16, save_strategy="no",
        report_to=[], dataloader_num_workers=0, remove_unused_columns=False, log_completions=False,
        **(_vllm_args(settings, vllm_generation_kwargs(processor.tokenizer)) if vllm else {}))
    pool = (pool_factory or make_pool)(settings.workers, settings.model, rollout_settings(settings), settings.min_pixels,
                                       settings.max_pixels, model, settings.ray_address, vllm)
    recorder = RolloutRecorder(rows, pool, settings.num_generations, progress)
    progress(f"[grpo] {len(rows)} tasks, groups of {settings.num_generations}, "
             f"{'in process' if settings.workers == 0 else f'{settings.workers} Ray workers'}, "
             f"generation {settings.generation}{f' ({settings.vllm_mode})' if vllm else ''}, "
             f"{'cpu' if use_cpu else 'gpu'}, vision {'frozen' if frozen else 'trained'}")
    try:
        trainer = GRPOTrainer(model=model, reward_funcs=[task_reward], args=args, train_dataset=data,
                              processing_class=processor, peft_config=peft_config, rollout_func=recorder)
        trainer.train()
    finally:
        pool.close()
    model_out = trainer.model.merge_and_unload() if peft_config is not None else trainer.model
    save_checkpoint(model_out, processor, out / CHECKPOINT)
    rows_logged = write_metrics(trainer.state.log_history, out / "metrics.csv")
    _write_rollouts(recorder.steps, out / "rollouts.csv")
    steps = [{"step": i + 1, **s} for i, s in enumerate(recorder.steps)]
    plot_curves(steps, "step", ["mean_reward", "valid_tool_call_rate", "all_equal_groups"], out / "curves.png", "GRPO")
    total = {k: sum(s[k] for s in recorder.steps) for k in ("generation_s", "tools_s", "render_s", "sync_s", "wall_s")}
    summary = {"stage": "grpo", "steps": int(trainer.state.global_step), "tasks": len(rows),
               "rollouts": sum(s["rollouts"] for s in recorder.steps),
               "groups": sum(s["groups"] for s in recorder.steps),
               "all_equal_groups": sum(s["all_equal_groups"] for s in recorder.steps),
               "first_mean_reward": recorder.steps[0]["mean_reward"] if recorder.steps else None,
               "last_mean_reward": recorder.steps[-1]["mean_reward"] if recorder.steps else None,
               "frozen_params": frozen, "workers": settings.workers, "rollout_time_s": total,
               "seconds": round(time.perf_counter() - t0, 2), "checkpoint": str(out / CHECKPOINT),
               "logged": len(rows_logged), "settings": as_dict(settings)}
    summary["optimisation_s"] = round(max(summary["seconds"] - total["wall_s"], 0.0), 2)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    progress(f"[grpo] {summary['steps']} steps, {summary['rollouts']} rollouts, "
             f"{summary['all_equal_groups']}/{summary['groups']} groups all equal; checkpoint in {out / CHECKPOINT}")
    return summary


def _vllm_args(s: GRPOSettings, generation_kwargs: dict) -> dict:
    """GRPOConfig's vLLM settings: TRL builds the engine (colocated, or a client of ``trl vllm-serve``)
    and loads the trainer's weights into it before every batch of rollouts; the rollouts set the
    per-turn token budget on each call."""
    return {"use_vllm": True, "vllm_mode": s.vllm_mode, "vllm_server_base_url": s.vllm_server_base_url,
            "vllm_gpu_memory_utilization": s.vllm_gpu_memory_utilization, "vllm_max_model_length": s.max_total_tokens,
            "generation_kwargs": generation_kwargs}


def _write_rollouts(steps: list[dict], path: Path) -> None:
    import csv

    if not steps:
        path.write_text("")
        return
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", *steps[0]])
        w.writeheader()
        for i, s in enumerate(steps):
            w.writerow({"step": i + 1, **s})
