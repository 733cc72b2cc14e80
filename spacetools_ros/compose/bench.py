"""``spacetools bench``: a policy answers the spatial questions of a ``data gen`` dataset through the
toolshed, and each answer is scored against the row's ground truth (``core.rewards``).

Frames: each scene is rebuilt once from its row's ground truth (``learning.frames``) and rendered as
RGB-D; the policy sees exactly the dataset's images, the tools get the sensor's depth. The offline
pointing tool reads side words in the frame the question states (its frame note), as a pointing model
prompted with that note would.

Scores (``score_task``): the category's function in ``REWARDS`` on the final assistant message:
pointing = ``pointing`` on the target mask; yes/no, fit = ``binary_answer``; relative depth =
``binary_answer`` with the two options; box corners = ``pose_corners_iou`` on the normalised corners;
grasp = ``grasp_contact`` on the two projected fingertips (pixels, z = 0) with scale = 10 x the true
gripper width in the image (SpaceTools' R_NNCE, delta_max = 10, d = gripper width); multi view =
``binary_answer`` on the camera named times ``pointing`` on that camera's mask. A task succeeds when
its reward is above ``KEEP_THRESHOLDS[category]``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.orchestrator import ToolResult
from ..core.qa_loop import QAConfig, QAOutcome, run_question
from ..core.rewards import KEEP_THRESHOLDS, REWARDS, answer_text, pointing

PROGRESS_EVERY = 10
GRASP_LABELS = ("Grasp center", "Left finger base", "Right finger base", "Left finger tip", "Right finger tip")
GRASP_DELTA_MAX = 10.0
_NUM = r"(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)"
_GRASP_ITEM = re.compile(rf"([A-Za-z ]{{1,40}}):\s*\[\s*{_NUM}\s*,\s*{_NUM}\s*\]")
_MULTI = re.compile(r"^camera:\s*([A-Za-z0-9_\-]{1,64})\s*,\s*point:\s*(.{1,200})$", re.S)
ROBOT_FRAME_NOTE = "meant from the robot's view"
MAX_ANSWER_CHARS = 4096
BENCH_POLICIES = ("scripted", "openai", "local")


# ----------------------------------------------------------------------------- scoring

def _grasp_points(text: str) -> np.ndarray | None:
    """The five labelled gripper points of a grasp answer (5, 2), or None unless each label appears once."""
    body = answer_text(text) if "<answer>" in text else text.strip()
    if not body or len(body) > MAX_ANSWER_CHARS:
        return None
    found: dict[str, tuple[float, float]] = {}
    for label, x, y in _GRASP_ITEM.findall(body):
        label = label.strip()
        if label in found or label not in GRASP_LABELS:
            return None
        found[label] = (float(x), float(y))
    if set(found) != set(GRASP_LABELS):
        return None
    pts = np.array([found[k] for k in GRASP_LABELS], float)
    return pts if np.all(np.isfinite(pts)) and np.all((pts >= 0) & (pts <= 1)) else None


def score_task(category: str, final_text: str | None, truth: dict) -> float:
    """The reward of a final assistant message (0 without one or when it does not parse); see the module text.

    Raises:
        KeyError / ValueError: an unknown category or a malformed ground truth.
    """
    from ..learning.truths import rle_decode

    reward = REWARDS[category]
    if not isinstance(final_text, str) or not final_text.strip():
        return 0.0
    if category in ("pointing_object", "pointing_free_space"):
        return reward(final_text, rle_decode(truth["mask_rle"]))
    if category in ("yes_no", "fit"):
        return reward(final_text, truth["answer"])
    if category == "relative_depth":
        return reward(final_text, truth["answer"], {k: v["phrase"] for k, v in truth["options"].items()})
    if category == "box3d_corners":
        return reward(final_text, truth["corners_norm"])
    w, h = truth["image_size"]
    if category == "grasp":
        pred = _grasp_points(final_text)
        if pred is None:
            return 0.0
        true = np.asarray(truth["gripper_points_norm"], float) * [w, h]
        width_px = float(np.linalg.norm(true[1] - true[2]))
        tips = lambda p: np.c_[p[3:5], np.zeros(2)]  # noqa: E731 - fingertips in pixels, on the image plane
        return reward(tips(pred * [w, h]), tips(true), GRASP_DELTA_MAX * max(width_px, 1.0))
    if category == "multi_view":
        body = answer_text(final_text) if "<answer>" in final_text else final_text.strip()
        m = _MULTI.match(body or "")
        if m is None:
            return 0.0
        return reward(m.group(1), truth["camera"]) * pointing(m.group(2).strip(), rle_decode(truth["mask_rle"]))
    raise KeyError(f"no scoring for category {category!r}")


# ----------------------------------------------------------------------------- dataset

def load_tasks(tasks_dir: str | Path, limit: int | None = None) -> list[dict]:
    """Rows of a ``data gen`` dataset (every ``data/*.parquet`` shard, in id order), ground truth decoded.

    Raises:
        ConfigError: no such folder, no parquet shard in it, or rows without the dataset's columns.
    """
    root = Path(tasks_dir)
    if not root.is_dir():
        raise ConfigError(f"--tasks: {tasks_dir} is not a folder")
    shards = sorted((root / "data").glob("*.parquet"))
    if not shards:
        raise ConfigError(f"--tasks: no parquet shards under {root / 'data'} (make one with spacetools data gen)")
    import pyarrow.parquet as pq

    rows: list[dict] = []
    need = {"id", "category", "scene_id", "question", "images", "ground_truth"}
    for shard in shards:
        table = pq.read_table(shard)
        if not need <= set(table.column_names):
            raise ConfigError(f"--tasks: {shard.name} lacks columns {sorted(need - set(table.column_names))}")
        rows.extend(table.to_pylist())
    rows.sort(key=lambda r: r["id"])
    rows = rows[:limit] if limit is not None else rows
    for r in rows:
        if r["category"] not in REWARDS:
            raise ConfigError(f"--tasks: row {r['id']} has an unknown category {r['category']!r}")
        r["truth"] = json.loads(r["ground_truth"])
    return rows


def task_cameras(row: dict) -> list[str]:
    """The cameras of a row's images, in order (``images/<scene_id>_<camera>.png``)."""
    prefix = f"images/{row['scene_id']}_"
    cams = []
    for path in row["images"]:
        if not (path.startswith(prefix) and path.endswith(".png")):
            raise ConfigError(f"row {row['id']}: unexpected image path {path!r}")
        cams.append(path[len(prefix):-4])
    return cams


def _by_scene(rows: list[dict]) -> Iterator[tuple[str, list[dict]]]:
    order: dict[str, list[dict]] = {}
    for r in rows:
        order.setdefault(r["scene_id"], []).append(r)
    yield from order.items()


# ----------------------------------------------------------------------------- running

@dataclass
class TaskResult:
    """One scored task."""

    id: str
    category: str
    reward: float
    success: bool
    tool_calls: int
    seconds: float
    outcome: QAOutcome

    def to_dict(self, question: str, reference: str) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "question": question, "reference_answer": reference,
                "reward": round(self.reward, 6), "success": self.success, "seconds": round(self.seconds, 4),
                **self.outcome.to_dict()}


def _toolsheds() -> dict[str, Any]:
    """One vision-only toolshed per side-word frame (the perception caches stay warm within a scene)."""
    from ..backends.tools.factory import build_toolshed

    return {frame: build_toolshed(None, options={"pointing": {"spatial_frame": frame}}) for frame in ("camera", "robot")}


def _vision_tools(shed) -> list[str]:
    return [n for n in shed.tool_names if not n.startswith(("robot.", "view_selection."))]


def _offered_only(execute: Callable, names: list[str]) -> Callable:
    """``execute`` for the tools in ``names``; a call to another tool gets the unknown-tool error text."""
    from ..core.tools.protocol import ToolCallError

    def run(call) -> ToolResult:
        if call.name not in names:
            err = ToolCallError("ValueError", f"Unknown tool '{str(call.name)[:100]}'. Available tools: "
                                f"{', '.join(sorted(names))}", unknown_tool=True)
            return ToolResult(err.text, False, {})
        return execute(call)

    return run


def run_bench(policy, tasks_dir: str | Path, *, tools: bool = True, limit: int | None = None,
              config: QAConfig | None = None, on_task: Callable[[TaskResult, dict], None] | None = None,
              progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
              categories: tuple[str, ...] | None = None, tool_names: list[str] | None = None) -> dict:
    """Ask a policy every task of a dataset and score the answers.

    Args:
        policy: a ``PolicyBackend``.
        tasks_dir: a ``data gen`` output folder.
        tools: offer and execute the vision tools (False: answer from the images alone).
        limit: the first N tasks (by id) only (counted before ``categories`` selects).
        categories: only the tasks of these categories (None: all).
        tool_names: offer and execute only these tools (None: every vision tool).
        config: the loop's limits (``tools`` is taken from the argument above).
        on_task: sees every scored task with its row (for transcripts).
        progress: a line every ``PROGRESS_EVERY`` tasks.

    Returns:
        ``{"policy", "tools", "tasks", "n", "wall_s", "time_split_s", "categories": {name: stats},
        "overall": stats}``, stats = n, success_rate, mean_reward, tool_calls_per_task,
        seconds_per_task, threshold (categories); ``time_split_s``: seconds rendering the scenes, in
        the policy, in the tools, and the rest (scoring, bookkeeping).

    Raises:
        ConfigError: an unusable dataset or a tool name that is not a vision tool.
    """
    from ..backends.tools.toolshed import Episode
    from ..learning.frames import scene_frames

    rows = load_tasks(tasks_dir, limit)
    if categories is not None:
        rows = [r for r in rows if r["category"] in categories]
    cfg = QAConfig(**{**(config.__dict__ if config else {}), "tools": tools})
    sheds = _toolsheds()
    names = _vision_tools(sheds["camera"])
    if tool_names is not None:
        unknown = [n for n in tool_names if n not in names]
        if unknown:
            raise ConfigError(f"not vision tools of the toolshed: {', '.join(unknown)[:200]}")
        names = list(tool_names)
    results: list[TaskResult] = []
    split = {"render": 0.0, "policy": 0.0, "tools": 0.0}
    t_start = time.perf_counter()
    for _scene_id, scene_rows in _by_scene(rows):
        t_render = time.perf_counter()
        frames = scene_frames(scene_rows[0]["truth"])
        split["render"] += time.perf_counter() - t_render
        for row in scene_rows:
            t0 = time.perf_counter()
            episode = Episode()
            for cam in task_cameras(row):
                if cam not in frames:
                    raise ConfigError(f"row {row['id']}: the scene has no camera {cam!r}")
                episode.images.append(frames[cam])
            shed = sheds["robot" if ROBOT_FRAME_NOTE in row["question"] else "camera"]

            def execute(call, shed=shed, episode=episode) -> ToolResult:
                r = shed.execute(call, episode)
                return ToolResult(r.text, r.ok, r.data)

            outcome = run_question(policy, row["question"], len(episode.images), _offered_only(execute, names),
                                   shed.schemas, names, images=lambda episode=episode: [f.rgb for f in episode.images],
                                   config=cfg)
            episode.close()
            split["policy"] += outcome.seconds.get("policy", 0.0)
            split["tools"] += outcome.seconds.get("tools", 0.0)
            reward = score_task(row["category"], outcome.final_text if outcome.answer is not None else None, row["truth"])
            res = TaskResult(row["id"], row["category"], reward, reward > KEEP_THRESHOLDS[row["category"]],
                             len(outcome.tool_calls), time.perf_counter() - t0, outcome)
            results.append(res)
            if on_task is not None:
                on_task(res, row)
            if len(results) % PROGRESS_EVERY == 0 or len(results) == len(rows):
                rate = sum(r.success for r in results) / len(results)
                progress(f"[bench] {len(results)}/{len(rows)} tasks, success {rate:.1%}, "
                         f"{time.perf_counter() - t_start:.0f} s")
    wall = time.perf_counter() - t_start
    doc = summarise(results, getattr(policy, "name", type(policy).__name__), tools, str(tasks_dir), wall)
    doc["time_split_s"] = {**{k: round(v, 3) for k, v in split.items()},
                           "other": round(max(wall - sum(split.values()), 0.0), 3)}
    doc["tasks_per_min"] = round(len(results) / max(wall, 1e-9) * 60, 2)
    return doc


def _stats(results: list[TaskResult]) -> dict[str, Any]:
    n = len(results)
    mean = lambda xs: float(np.mean(xs)) if n else 0.0  # noqa: E731
    return {"n": n, "success_rate": round(mean([r.success for r in results]), 4),
            "mean_reward": round(mean([r.reward for r in results]), 4),
            "tool_calls_per_task": round(mean([r.tool_calls for r in results]), 3),
            "seconds_per_task": round(mean([r.seconds for r in results]), 4)}


def summarise(results: list[TaskResult], policy: str, tools: bool, tasks: str, wall_s: float) -> dict[str, Any]:
    """The bench document: per category (every category of ``REWARDS``, n = 0 when absent) and overall."""
    cats = {c: {**_stats([r for r in results if r.category == c]), "threshold": KEEP_THRESHOLDS[c]} for c in REWARDS}
    return {"policy": policy, "tools": tools, "tasks": tasks, "n": len(results), "wall_s": round(wall_s, 3),
            "success": "reward > threshold (core.rewards.KEEP_THRESHOLDS)", "categories": cats,
            "overall": _stats(results)}


def table(doc: dict) -> str:
    """The bench document as a Markdown table."""
    lines = ["| category | n | success | mean reward | tool calls / task | s / task |", "|---|---|---|---|---|---|"]
    for name, s in [*doc["categories"].items(), ("overall", doc["overall"])]:
        lines.append(f"| {name} | {s['n']} | {s['success_rate']:.1%} | {s['mean_reward']:.3f} | "
                     f"{s['tool_calls_per_task']:.1f} | {s['seconds_per_task']:.2f} |")
    return "\n".join(lines)


def make_bench_policy(name: str, url: str | None = None, model: str | None = None):
    """The policy a bench runs: ``scripted`` = the offline spatial-question teacher
    (``backends.policy.scripted_qa``); ``openai`` / ``local`` as ``compose.policy.make_policy`` builds them.

    Raises:
        ConfigError: an unknown name or a backend that cannot start.
    """
    if name == "scripted":
        from ..backends.policy.scripted_qa import ScriptedQAPolicy

        return ScriptedQAPolicy()
    if name not in BENCH_POLICIES:
        raise ConfigError(f"unknown policy {name!r} (one of: {', '.join(BENCH_POLICIES)})")
    from .policy import make_policy

    return make_policy(name, url, model)
