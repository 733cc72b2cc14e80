"""Generate a split of spatial tasks: scenes, renders and exact truths, written as a Hugging Face
dataset (parquet shards, PNG images, a dataset card).

Determinism: task ``i`` of a run is question slot ``i % T`` of scene ``i // T`` (``T`` = tasks per
scene, see ``slot_pattern``); scene ``k`` has the scene seed ``SPLIT_BASE[split] + seed *
SCENES_PER_SEED + k`` and everything about it (drawing, physics, renders, questions) follows from
that seed and the categories, so the same command writes byte-identical rows, and a longer run
starts with the rows of a shorter one. The splits' seed ranges are disjoint.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import CATEGORIES
from .context import build_context, render_alone, render_views
from .scenes import FIT_MARGIN_M, IMAGE_H, IMAGE_W, draw_scene, fit_slack_m
from .tasks import BUILDERS, Task

SPLITS = ("train", "val", "test")
SPLIT_BASE = {"train": 0, "val": 700_000_000, "test": 1_400_000_000}  # scene seeds: [base, base + 7e8)
SCENES_PER_SEED = 1_000_000  # scene seeds one --seed value owns inside its split
MAX_SEED = 699
MAX_TASKS = 1_000_000
TASKS_PER_SCENE = 8
PER_SCENE_CAP = {"multi_view": 1}  # others: DEFAULT_CAP questions of one category per scene
DEFAULT_CAP = 3
MAX_ATTEMPTS = 40
SHARD_ROWS = 10_000
MAX_WORKERS = 64
PROGRESS_EVERY = 50


def slot_pattern(categories: tuple[str, ...]) -> list[str]:
    """Categories of a scene's question slots: round robin over ``categories`` (in ``CATEGORIES``
    order), each at most its per-scene cap, up to ``TASKS_PER_SCENE`` slots."""
    cats = [c for c in CATEGORIES if c in categories]
    total = min(TASKS_PER_SCENE, sum(PER_SCENE_CAP.get(c, DEFAULT_CAP) for c in cats))
    out: list[str] = []
    while len(out) < total:
        for c in cats:
            if len(out) < total and out.count(c) < PER_SCENE_CAP.get(c, DEFAULT_CAP):
                out.append(c)
    return out


def scene_seed(split: str, seed: int, k: int) -> int:
    """Seed of scene ``k`` of a run."""
    return SPLIT_BASE[split] + seed * SCENES_PER_SEED + k


def slot_wants(pattern: list[str], k: int) -> list:
    """The answer each slot of scene ``k`` must have, so yes/no and A/B answers alternate across the
    run (exactly balanced over every two scenes): yes/no for ``yes_no`` and ``fit``, the letter of
    the closer object for ``relative_depth``; None for the other categories."""
    wants = []
    for s, c in enumerate(pattern):
        ordinal = k * pattern.count(c) + pattern[:s].count(c)
        if c in ("yes_no", "fit"):
            wants.append("yes" if ordinal % 2 == 0 else "no")
        elif c == "relative_depth":
            wants.append("A" if ordinal % 2 == 0 else "B")
        else:
            wants.append(None)
    return wants


@dataclass
class SceneResult:
    """A scene's questions and what its rows need."""

    seed: int
    attempt: int
    builds: int
    tasks: list[Task]
    images: dict[str, np.ndarray]
    record: dict


@dataclass
class Timer:
    """Seconds spent per stage."""

    seconds: dict[str, float] = field(default_factory=lambda: {"scene": 0.0, "render": 0.0, "truths": 0.0, "write": 0.0})

    def add(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now


def _fit_possible(draft, wants: list, pattern: list[str]) -> bool:
    """Whether the drawn objects allow every fit answer asked for (before building anything)."""
    need = {w for c, w in zip(pattern, wants) if c == "fit"}
    objs = draft.scene.objects
    found = set()
    for c in objs:
        if c.shape in ("bowl", "plate"):
            for o in objs:
                if o.name not in (c.name, draft.hidden):
                    s = fit_slack_m(o.shape, list(o.size), c.shape, list(c.size))
                    found |= {"yes"} if s >= FIT_MARGIN_M else {"no"} if s <= -FIT_MARGIN_M else set()
    return need <= found


def generate_scene(split: str, seed: int, k: int, pattern: list[str], timer: Timer | None = None) -> SceneResult:
    """All questions of scene ``k`` (drawn again with the next attempt number until every slot has one).

    Raises:
        RuntimeError: when no attempt works out (not seen in practice; the message names the scene).
    """
    timer = timer or Timer()
    sseed = scene_seed(split, seed, k)
    wants = slot_wants(pattern, k)
    multi = "multi_view" in pattern
    builds = 0
    for attempt in range(MAX_ATTEMPTS):
        t = time.perf_counter()
        draft = draw_scene(sseed, attempt, multi)
        if draft is None or not _fit_possible(draft, wants, pattern):
            timer.add("scene", t)
            continue
        ctx, sim = build_context(draft)
        builds += 1
        try:
            t = timer.add("scene", t)
            render_views(ctx, sim)
            if multi and draft.hidden:
                render_alone(ctx, sim, draft.hidden)
            t = timer.add("render", t)
            tasks = []
            for s, cat in enumerate(pattern):
                task = BUILDERS[cat](ctx, np.random.default_rng([sseed, attempt, s, 0x7A5C]), wants[s])
                if task is None:
                    break
                tasks.append(task)
            timer.add("truths", t)
        finally:
            sim.close()
        if len(tasks) == len(pattern):
            record = {"scene": draft.scene_dict, "placements": draft.placements, "hidden": draft.hidden,
                      "occluder": draft.occluder, "attempt": attempt, "cameras": ctx.camera_record(),
                      "object_poses": ctx.pose_record()}
            return SceneResult(sseed, attempt, builds, tasks, {v.spec.name: v.rgb for v in ctx.views}, record)
    raise RuntimeError(f"scene {sseed} ({split}, seed {seed}, scene {k}): no draw gave every question")


def task_rows(split: str, seed: int, k: int, result: SceneResult, slots: range) -> list[dict]:
    """The dataset rows of some slots of a scene."""
    rows = []
    t_per = len(result.tasks)
    scene_id = f"{split}-{seed:03d}-s{k:07d}"
    for s in slots:
        task = result.tasks[s]
        i = k * t_per + s
        images = [f"images/{scene_id}_{cam}.png" for cam in task.cameras]
        content = [{"type": "image", "text": None} for _ in images] + [{"type": "text", "text": task.question}]
        truth = {"category": task.category, **task.truth, "image_size": [IMAGE_W, IMAGE_H], **result.record}
        rows.append({"id": f"{split}-{seed:03d}-{i:07d}", "index": i, "category": task.category, "split": split,
                     "scene_id": scene_id, "scene_seed": result.seed, "question": task.question,
                     "messages": [{"role": "user", "content": content}], "images": images, "answer": task.answer,
                     "ground_truth": json.dumps(truth, sort_keys=True, separators=(",", ":"))})
    return rows


def features():
    """The dataset's column types."""
    from datasets import Features, Value

    text = Value("string")
    return Features({"id": text, "index": Value("int64"), "category": text, "split": text, "scene_id": text,
                     "scene_seed": Value("int64"), "question": text,
                     "messages": [{"role": text, "content": [{"type": text, "text": text}]}],
                     "images": [text], "answer": text, "ground_truth": text})


def _write_shard(rows: list[dict], path: Path) -> None:
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the generator reports its own progress
    Dataset.from_list(rows, features=features()).to_parquet(str(path))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f"could not write {path}")


def check_output_dir(out: Path) -> None:
    """Refuse an output folder that exists and is not empty (datasets are never overwritten).

    Raises:
        ValueError: naming the folder.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"output folder {out} exists and is not empty (pick a new one)")


def _scene_job(job: tuple) -> tuple[SceneResult, dict[str, float]]:
    """One scene in a worker process: (result, seconds per stage)."""
    timer = Timer()
    split, seed, k, pattern = job
    return generate_scene(split, seed, k, pattern, timer), timer.seconds


def _scenes(split: str, seed: int, pattern: list[str], count: int, workers: int):
    """Scene results in scene order, made here or by ``workers`` processes (the order, and so the rows,
    do not depend on how many)."""
    jobs = ((split, seed, k, pattern) for k in range(count))
    if workers <= 1:
        yield from map(_scene_job, jobs)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:  # each worker its own GL contexts
        yield from pool.imap(_scene_job, jobs, chunksize=1)


def generate(n: int, split: str, out: str | Path, seed: int = 0, categories: tuple[str, ...] = CATEGORIES,
             progress=lambda line: print(line, file=sys.stderr), workers: int = 1) -> dict:
    """Generate ``n`` tasks of a split into ``out`` (``data/<split>-*.parquet``, ``images/``, ``README.md``),
    the scenes made by ``workers`` processes (1: in this one).

    Returns:
        A summary: counts per category, scenes, draws redone (``extra_draws``; ``extra_builds`` of them
        after building the world), seconds per stage (summed over workers), wall time, tasks per minute.

    Raises:
        ValueError: bad arguments or an output folder that is not empty.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if not 1 <= n <= MAX_TASKS:
        raise ValueError(f"n must be between 1 and {MAX_TASKS}, got {n}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, got {workers}")
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown or not categories:
        raise ValueError(f"unknown categories {unknown} (known: {', '.join(CATEGORIES)})" if unknown else "no categories")
    out = Path(out)
    check_output_dir(out)
    pattern = slot_pattern(tuple(categories))
    n_scenes = math.ceil(n / len(pattern))
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    n_shards = math.ceil(n / SHARD_ROWS)
    timer, counts = Timer(), {c: 0 for c in CATEGORIES if c in categories}
    extra_draws = extra_builds = 0
    buffer: list[dict] = []
    shard = done = 0
    t_start = time.perf_counter()
    for k, (result, seconds) in enumerate(_scenes(split, seed, pattern, n_scenes, workers)):
        for stage, v in seconds.items():
            timer.seconds[stage] += v
        extra_draws += result.attempt
        extra_builds += result.builds - 1
        t = time.perf_counter()
        slots = range(min(len(pattern), n - k * len(pattern)))
        rows = task_rows(split, seed, k, result, slots)
        for cam in sorted({c for s in slots for c in result.tasks[s].cameras}):
            _write_png(out / "images" / f"{rows[0]['scene_id']}_{cam}.png", result.images[cam])
        buffer.extend(rows)
        for r in rows:
            counts[r["category"]] += 1
        before, done = done, done + len(rows)
        while len(buffer) >= SHARD_ROWS or (buffer and done == n):
            _write_shard(buffer[:SHARD_ROWS], out / "data" / f"{split}-{shard:05d}-of-{n_shards:05d}.parquet")
            buffer = buffer[SHARD_ROWS:]
            shard += 1
        timer.add("write", t)
        if done // PROGRESS_EVERY > before // PROGRESS_EVERY or done == n:
            rate = done / max(time.perf_counter() - t_start, 1e-9) * 60
            progress(f"[data] {done}/{n} tasks, {k + 1}/{n_scenes} scenes, {rate:.0f} tasks/min")
    t = time.perf_counter()
    summary = {"split": split, "seed": seed, "tasks": n, "scenes": n_scenes, "tasks_per_scene": len(pattern),
               "extra_draws": extra_draws, "extra_builds": extra_builds, "counts": counts, "workers": workers}
    from .card import write_card

    write_card(out, summary, pattern)
    timer.add("write", t)
    wall = time.perf_counter() - t_start
    summary.update(seconds={k: round(v, 3) for k, v in timer.seconds.items()}, wall_s=round(wall, 3),
                   tasks_per_min=round(n / max(wall, 1e-9) * 60, 1))
    return summary
