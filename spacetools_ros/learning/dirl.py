"""``spacetools train dirl``: SpaceTools' Double Interactive RL as resumable stages.

    base         the starting checkpoint (a local folder, or a tiny model built from a config)
    pointing_rl  GRPO with the pointing tool only on the pointing tasks; its successful greedy
                 rollouts on the training tasks become single-tool demos
    teach        a teacher answers the training tasks with all the offered tools; conversations
                 above the category's threshold are kept
    sft          SFT of the base model on single-tool demos + teacher demos (mixed by repeats)
    grpo         GRPO with all the offered tools from the SFT checkpoint

Every stage writes into ``output_dir/<stage>/`` (checkpoint, metrics CSV, curves PNG, statistics)
and a ``done.json`` when it finished; a stage with ``done.json`` is skipped when the run is started
again. After base, pointing_rl, sft and grpo the checkpoint is evaluated on held-out tasks (another
split and seed than the training tasks; ``learning.evaluate``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from .train_config import _check_value, _resolve, grpo_settings, read_yaml, sft_settings

STAGES = ("base", "pointing_rl", "teach", "sft", "grpo")
EVALUATED = ("base", "pointing_rl", "sft", "grpo")
POINTING_CATEGORIES = ("pointing_object", "pointing_free_space")
POINTING_TOOLS = ["roborefer.detect_one"]
KEYS = {"output_dir", "seed", "base", "categories", "tools", "tasks", "pixels", "eval", "pointing_rl", "teach", "sft",
        "grpo"}


def _done(stage_dir: Path) -> dict | None:
    f = stage_dir / "done.json"
    return json.loads(f.read_text()) if f.is_file() else None


def _finish(stage_dir: Path, doc: dict) -> dict:
    (stage_dir / "done.json").write_text(json.dumps(doc, indent=2, default=str))
    return doc


class DIRL:
    """One DIRL run from a config mapping (paths relative to ``base_dir``).

    Raises:
        ConfigError: unknown keys, missing sections or bad values (checked before anything runs).
    """

    def __init__(self, doc: dict, base_dir: Path, overrides: dict | None = None,
                 progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> None:
        from ..core.rewards import REWARDS

        doc = {**doc, **(overrides or {})}
        unknown = sorted(set(doc) - KEYS)
        if unknown:
            raise ConfigError(f"unknown DIRL settings: {', '.join(unknown)[:200]} (known: {', '.join(sorted(KEYS))})")
        for key in ("output_dir", "base", "tasks"):
            if key not in doc:
                raise ConfigError(f"DIRL settings need {key}")
        self.doc = doc
        self.base_dir = base_dir
        self.out = Path(_resolve(base_dir, _check_value("output_dir", doc["output_dir"], "str")))
        self.seed = _check_value("seed", doc.get("seed", 0), "int")
        self.categories = tuple(doc.get("categories") or REWARDS)
        bad = [c for c in self.categories if c not in REWARDS]
        if bad:
            raise ConfigError(f"categories: unknown {', '.join(bad)[:200]}")
        self.tools = doc.get("tools")
        pixels = doc.get("pixels") or {}
        self.min_pixels = _check_value("min_pixels", pixels.get("min_pixels", 56 * 56), "int")
        self.max_pixels = _check_value("max_pixels", pixels.get("max_pixels", 512 * 512), "int")
        self.progress = progress
        tasks = doc["tasks"]
        if not isinstance(tasks, dict) or set(tasks) - {"train", "heldout"} or "train" not in tasks:
            raise ConfigError("tasks: {train: {n, seed}, heldout: {n, seed}} (data gen runs) or {train: {path}, ...}")
        self.tasks = tasks
        for section in ("pointing_rl", "teach", "sft", "grpo", "eval"):
            if not isinstance(doc.get(section, {}), dict):
                raise ConfigError(f"{section} must be a mapping of settings")
        # settings of the training stages are checked now, not after an hour of earlier stages
        self._grpo("pointing_rl", "check", "check")
        self._grpo("grpo", "check", "check")
        self._sft(["check"])

    # ------------------------------------------------------------------ settings
    def _pixels(self) -> dict:
        return {"min_pixels": self.min_pixels, "max_pixels": self.max_pixels}

    def _grpo(self, section: str, model: str, out: str):
        doc = dict(self.doc.get(section) or {})
        base = {"model": model, "output_dir": out, "tasks": str(self.tasks_path("train")), "seed": self.seed,
                **self._pixels()}
        if section == "pointing_rl":
            base.update(categories=[c for c in self.categories if c in POINTING_CATEGORIES] or list(POINTING_CATEGORIES),
                        tools=POINTING_TOOLS)
        else:
            base.update(categories=list(self.categories), **({"tools": self.tools} if self.tools else {}))
        return grpo_settings({**base, **doc}, self.base_dir)

    def _sft(self, data: list) -> Any:
        doc = dict(self.doc.get("sft") or {})
        doc.pop("pointing_repeat", None)
        doc.pop("teacher_repeat", None)
        base = {"model": str(self.out / "base" / "checkpoint"), "output_dir": str(self.out / "sft"), "data": data,
                "seed": self.seed, **self._pixels()}
        return sft_settings({**base, **doc}, self.base_dir)

    def _eval_settings(self):
        from .rollout import RolloutSettings

        e = self.doc.get("eval") or {}
        return RolloutSettings(max_turns=_check_value("max_turns", e.get("max_turns", 8), "int"),
                               max_new_tokens=_check_value("max_new_tokens", e.get("max_new_tokens", 256), "int"),
                               tools=tuple(self.tools) if self.tools else None)

    # ------------------------------------------------------------------ stages
    def tasks_path(self, name: str) -> Path:
        """Where ``tasks/<name>`` is (the configured folder, or the run's own)."""
        spec = self.tasks.get(name) or {}
        return Path(_resolve(self.base_dir, spec["path"])) if "path" in spec else self.out / "tasks" / name

    def tasks_dir(self, name: str) -> Path:
        """``tasks/<name>``: made with ``data gen`` (train: the train split; heldout: the val split), or
        the configured folder."""
        from .dataset import generate

        spec = self.tasks.get(name)
        if spec is None:
            raise ConfigError(f"tasks.{name} is not configured")
        d = self.tasks_path(name)
        if "path" not in spec and not (d / "README.md").is_file():
            if d.exists():
                shutil.rmtree(d)  # a generation that did not finish
            n = _check_value("limit", spec.get("n", 200), "int")
            seed = _check_value("seed", spec.get("seed", 0 if name == "train" else 1), "int")
            self.progress(f"[dirl] generating {n} {name} tasks")
            generate(n, "train" if name == "train" else "val", d, seed, self.categories, progress=self.progress,
                     workers=int(spec.get("workers", 1)))
        return d

    def heldout_rows(self) -> list[dict]:
        from ..compose.bench import load_tasks

        rows = load_tasks(self.tasks_dir("heldout"))
        return [r for r in rows if r["category"] in self.categories]

    def evaluate(self, stage: str, model_dir: Path) -> dict:
        from .evaluate import evaluate

        self.progress(f"[dirl] evaluating {stage} on held-out tasks")
        doc = evaluate(str(model_dir), self.heldout_rows(), self._eval_settings(), self.min_pixels, self.max_pixels,
                       self.progress)
        (self.out / stage / "eval.json").write_text(json.dumps(doc, indent=2))
        o = doc["overall"]
        self.progress(f"[dirl] {stage}: valid calls {o['valid_tool_call_rate']:.0%}, mean reward "
                      f"{o['mean_reward']:.3f}, success {o['success_rate']:.0%} ({o['n']} held-out tasks)")
        return doc

    def stage_base(self, d: Path) -> dict:
        spec = self.doc["base"]
        ckpt = d / "checkpoint"
        if isinstance(spec, dict) and "tiny" in spec:
            from .tiny_model import build

            t = spec["tiny"] or {}
            build(ckpt, vocab_size=int(t.get("vocab_size", 2000)), hidden_size=int(t.get("hidden_size", 128)),
                  layers=int(t.get("layers", 2)), seed=self.seed)
        elif isinstance(spec, dict) and "path" in spec:
            src = Path(_resolve(self.base_dir, spec["path"]))
            if not (src / "config.json").is_file():
                raise ConfigError(f"base.path: {src} is not a checkpoint folder")
            shutil.copytree(src, ckpt)
            from .processor import load_processor

            load_processor(ckpt).tokenizer.save_pretrained(ckpt)  # the package's chat template with it
        else:
            raise ConfigError("base: {tiny: {vocab_size, hidden_size, layers}} or {path: DIR}")
        return {"checkpoint": str(ckpt), "eval": self.evaluate("base", ckpt)}

    def stage_pointing_rl(self, d: Path) -> dict:
        from .grpo import run_grpo

        self.tasks_dir("train")
        summary = run_grpo(self._grpo("pointing_rl", str(self.out / "base" / "checkpoint"), str(d)), self.progress)
        demos = self._demos(d / "checkpoint", d / "demos")
        return {"summary": {k: v for k, v in summary.items() if k != "settings"}, "demos": demos,
                "eval": self.evaluate("pointing_rl", d / "checkpoint")}

    def _demos(self, ckpt: Path, out: Path) -> dict:
        """Greedy rollouts of the pointing-RL checkpoint on the training pointing tasks; the successful
        ones as a teaching dataset (source ``pointing_rl``)."""
        from collections import Counter
        from dataclasses import replace

        from ..compose.bench import load_tasks
        from ..core.chat_markup import MarkupError
        from .teach import _finish as write_teach
        from .teach import conversation_row, copy_images
        from .workers import RolloutWorker

        src = self.tasks_dir("train")
        rows = [r for r in load_tasks(src) if r["category"] in POINTING_CATEGORIES]
        worker = RolloutWorker(str(ckpt), replace(self._eval_settings(), temperature=0.0, tools=tuple(POINTING_TOOLS)),
                               self.min_pixels, self.max_pixels)
        kept, per_cat = [], {}
        for r, row in zip(worker.run(rows), rows):
            c = per_cat.setdefault(r.category, Counter())
            c["tasks"] += 1
            if not r.success:
                c["dropped_below_threshold"] += 1
                continue
            try:
                kept.append(conversation_row(r.messages, row["images"], id=f"pointing_rl-{row['id']}",
                                             task_id=row["id"], category=r.category, source="pointing_rl",
                                             teacher="self", reward=r.reward, tool_calls=r.valid_calls + r.invalid_calls,
                                             tools_used=POINTING_TOOLS, answer=r.answer))
            except MarkupError:
                c["dropped_unsafe_text"] += 1
                continue
            c["kept"] += 1
        copy_images(src, out, kept)
        return write_teach(out, kept, per_cat, "pointing", "pointing_rl", "self", "pointing RL rollouts", {"n": len(rows)})

    def stage_teach(self, d: Path) -> dict:
        from ..compose.bench import make_bench_policy
        from .teach import teach

        spec = self.doc.get("teach") or {}
        teacher = spec.get("teacher", "scripted")
        tasks = self.tasks_dir("train")
        made = {}
        variants = [("all", d / "all")]
        if spec.get("pointing_teacher_demos", True):
            variants.append(("pointing", d / "pointing"))
        for variant, out in variants:
            if out.exists():
                shutil.rmtree(out)  # a teach run that did not finish
            policy = make_bench_policy(teacher, spec.get("policy_url"), spec.get("model"))
            made[variant] = teach(policy, tasks, out, variant=variant, progress=self.progress,
                                  categories=self.categories, tools=self.tools)
        return {k: {"kept": v["kept"], "tasks": v["tasks"]} for k, v in made.items()}

    def stage_sft(self, d: Path) -> dict:
        from .sft import run_sft

        spec = self.doc.get("sft") or {}
        p_rep = int(spec.get("pointing_repeat", 1))
        t_rep = int(spec.get("teacher_repeat", 1))
        data = [{"path": str(self.out / "teach" / "all"), "repeat": t_rep}]
        pointing = [self.out / "pointing_rl" / "demos", self.out / "teach" / "pointing"]
        data += [{"path": str(p), "repeat": p_rep} for p in pointing if (p / "data").is_dir() and _rows(p) > 0]
        summary = run_sft(self._sft(data), self.progress)
        return {"summary": {k: v for k, v in summary.items() if k != "settings"}, "data": data,
                "eval": self.evaluate("sft", d / "checkpoint")}

    def stage_grpo(self, d: Path) -> dict:
        from .grpo import run_grpo

        summary = run_grpo(self._grpo("grpo", str(self.out / "sft" / "checkpoint"), str(d)), self.progress)
        return {"summary": {k: v for k, v in summary.items() if k != "settings"},
                "eval": self.evaluate("grpo", d / "checkpoint")}

    def run(self, stages: tuple[str, ...] = STAGES) -> dict:
        """Run the stages in order, skipping those already done; ``{stage: done document}``."""
        self.out.mkdir(parents=True, exist_ok=True)
        results = {}
        for i, stage in enumerate(stages):
            d = self.out / stage
            done = _done(d)
            if done is not None:
                self.progress(f"[dirl] stage {i + 1}/{len(stages)} {stage}: already done, skipped")
                results[stage] = done
                continue
            if d.exists():
                shutil.rmtree(d)  # a stage that did not finish starts again
            d.mkdir(parents=True)
            self.progress(f"[dirl] stage {i + 1}/{len(stages)} {stage}")
            t = time.perf_counter()
            doc = getattr(self, f"stage_{stage}")(d)
            results[stage] = _finish(d, {**doc, "stage": stage, "seconds": round(time.perf_counter() - t, 1)})
        summary = {s: results[s]["eval"]["overall"] for s in EVALUATED if s in results and "eval" in results[s]}
        (self.out / "stages.json").write_text(json.dumps({"stages": summary}, indent=2))
        return results


def _rows(folder: Path) -> int:
    stats = folder / "stats.json"
    return json.loads(stats.read_text()).get("kept", 0) if stats.is_file() else 0


def run_dirl(config: str | Path, overrides: dict | None = None,
             progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    """``spacetools train dirl``: read the config and run (or resume) its stages."""
    path = Path(config)
    return DIRL(read_yaml(path), path.resolve().parent, overrides, progress).run()
