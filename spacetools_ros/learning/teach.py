"""Teaching data (``spacetools data teach``): a teacher answers the tasks of a ``data gen`` dataset
through the toolshed; the conversations whose reward passes the category's threshold become an
SFT dataset.

Each kept row is the exact conversation the question loop held (``core.qa_loop``: the system prompt
with the tools block, the user turn with the task's images, the assistant turns, the tool results
as ``<tool_response>`` user turns), stored as structured messages (``core.chat_markup.to_structured``:
images by position, ``{"type": "image"}`` parts before the text) with the image files they show, so
rendering a row with ``core.chat_markup.CHAT_TEMPLATE`` gives the text the policy is prompted with
at inference. Variants: ``all`` (every vision tool, every category) and ``pointing`` (only
``roborefer.detect_one`` offered, only the pointing categories: SpaceTools' single-tool demos).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.chat_markup import MarkupError, render, to_structured
from ..core.rewards import KEEP_THRESHOLDS

VARIANTS = {
    "all": (None, None),
    "pointing": (("pointing_object", "pointing_free_space"), ["roborefer.detect_one"]),
    "agent": (None, None),  # pick-and-place episodes in the embedded world, kept when the world shows success
}
SOURCE = {"all": "teacher", "pointing": "pointing", "agent": "agent"}
AGENT_SPLIT = "dev"  # the open-world cases' tuning split: the held-out split stays unseen by training
MAX_EPISODES = 10_000


def features():
    """The teaching dataset's column types."""
    from datasets import Features, Value

    text = Value("string")
    return Features({"id": text, "task_id": text, "category": text, "source": text, "teacher": text,
                     "messages": [{"role": text, "content": [{"type": text, "text": text}]}],
                     "images": [text], "reward": Value("float64"), "turns": Value("int64"),
                     "tool_calls": Value("int64"), "tools_used": [text], "answer": text})


class MissingImage(MarkupError):
    """A message shows an image the episode does not have."""


def conversation_row(messages: list, images: list[str], *, id: str, task_id: str, category: str, source: str,
                     teacher: str, reward: float, tool_calls: int, tools_used: list[str], answer: str | None
                     ) -> dict[str, Any]:
    """A kept conversation as a dataset row; ``images`` names the file of each image index of the
    episode, and the row lists those the messages show, in the order shown.

    Raises:
        MarkupError: a message that cannot be laid out (text spelling a control token);
            ``MissingImage``: an image index the episode does not have.
    """
    render(messages)  # the conversation must lay out unambiguously
    shown = [i for m in messages for i in m.images]
    if any(not 0 <= i < len(images) for i in shown):
        raise MissingImage("a message shows an image the episode does not have")
    return {"id": id, "task_id": task_id, "category": category, "source": source, "teacher": teacher,
            "messages": to_structured(messages), "images": [images[i] for i in shown], "reward": float(reward),
            "turns": sum(m.role == "assistant" for m in messages), "tool_calls": int(tool_calls),
            "tools_used": sorted(set(tools_used)), "answer": answer or ""}


def trace_row(result, row: dict, source: str, teacher: str) -> dict[str, Any]:
    """A teacher's kept conversation on a task as a dataset row (``conversation_row``)."""
    calls = result.outcome.tool_calls
    return conversation_row(result.outcome.messages, row["images"], id=f"{source}-{row['id']}", task_id=row["id"],
                            category=row["category"], source=source, teacher=teacher, reward=result.reward,
                            tool_calls=len(calls), tools_used=[c["name"] for c in calls],
                            answer=result.outcome.answer)


def copy_images(src: Path, out: Path, rows: list[dict]) -> None:
    """Copy every image file the rows name from the task set ``src`` into ``out`` (same relative paths)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    for path in sorted({p for r in rows for p in r["images"]}):
        shutil.copyfile(src / path, out / path)


def agent_episodes(policy, n: int, out: Path, source: str, teacher: str,
                   progress: Callable[[str], None]) -> tuple[list[dict], dict[str, Counter], dict]:
    """``n`` pick-and-place episodes of the agent in the embedded world (open-world cases of the
    ``dev`` split, round robin over the categories that ask for an action); an episode is kept when
    the simulator judges the command done and the agent said so too. Its images (every frame the
    conversation shows) are written to ``out/images``.

    Returns:
        (rows, per-category counters, time split).
    """
    import time

    from ..cli.suite import run_task
    from ..evaluation.openworld import CATEGORIES, make_case
    from .dataset import _write_png as write_png

    cats = [c for c in CATEGORIES if c != "refusals"]
    rows: list[dict] = []
    per_cat: dict[str, Counter] = {}
    t0 = time.perf_counter()
    for i in range(n):
        cat, index = cats[i % len(cats)], i // len(cats)
        case = make_case(AGENT_SPLIT, cat, index)
        name = f"pick_place:{cat}"
        c = per_cat.setdefault(name, Counter())
        c["tasks"] += 1

        def keep(outcome, episode, world_ok, cat=cat, index=index, name=name, c=c, case=case) -> None:
            if not world_ok or not outcome.success:
                c["dropped_" + ("world_says_not_done" if not world_ok else "agent_says_not_done")] += 1
                return
            paths = [f"images/agent-{AGENT_SPLIT}-{cat}-{index}-{k}.png" for k in range(len(episode.images))]
            calls = outcome.tool_calls
            try:
                row = conversation_row(outcome.messages, paths, id=f"{source}-{AGENT_SPLIT}-{cat}-{index}",
                                       task_id=f"{AGENT_SPLIT}/{cat}/{index}", category=name, source=source,
                                       teacher=teacher, reward=1.0, tool_calls=len(calls),
                                       tools_used=[x["name"] for x in calls], answer=outcome.answer)
            except MissingImage:
                c["dropped_missing_image"] += 1
                return
            except MarkupError:
                c["dropped_unsafe_text"] += 1
                return
            for k in dict.fromkeys(k for m in outcome.messages for k in m.images):
                if not (out / paths[k]).exists():
                    write_png(out / paths[k], episode.images[k].rgb)
            rows.append(row)
            c["kept"] += 1

        run_task(case.scene, case.task(), policy=policy(), on_episode=keep)
        progress(f"[teach] {i + 1}/{n} agent episodes, {len(rows)} kept, {time.perf_counter() - t0:.0f} s")
    return rows, per_cat, {"wall_s": round(time.perf_counter() - t0, 3)}


def teach(policy, tasks_dir: str | Path | None, out: str | Path, *, variant: str = "all", limit: int | None = None,
          episodes: int = 0, progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
          categories: tuple[str, ...] | None = None, tools: list[str] | None = None) -> dict[str, Any]:
    """Run ``policy`` over the tasks (or, for the ``agent`` variant, ``episodes`` pick-and-place
    episodes; ``policy`` is then a factory of pick-and-place policies) and write the kept
    conversations to ``out`` (``data/train-00000-of-00001.parquet``, ``images/``, ``README.md``,
    ``stats.json``).

    Returns:
        Statistics: per category tasks, kept, dropped by reason; tools used (calls per tool in kept
        traces); turn counts of kept traces; the bench summary of the run.

    Raises:
        ValueError: an unknown variant or an output folder that is not empty.
        ConfigError: an unusable task dataset.
    """
    from .dataset import check_output_dir
    from ..compose.bench import run_bench

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if variant == "agent" and not 1 <= episodes <= MAX_EPISODES:
        raise ValueError(f"the agent variant needs 1..{MAX_EPISODES} episodes, got {episodes}")
    out = Path(out)
    check_output_dir(out)
    categories_v, tool_names = VARIANTS[variant]
    if categories is not None:  # a subset of the variant's categories (all of them when it names none)
        categories = tuple(c for c in categories if categories_v is None or c in categories_v)
    else:
        categories = categories_v
    tool_names = list(tools) if tools is not None and tool_names is None else tool_names
    source = SOURCE[variant]
    if variant == "agent":
        teacher = getattr(policy(), "name", "policy")
        (out / "images").mkdir(parents=True, exist_ok=True)
        kept, per_cat, timing = agent_episodes(policy, episodes, out, source, teacher, progress)
        return _finish(out, kept, per_cat, variant, source, teacher, "embedded world (open-world dev cases)",
                       {"n": episodes, **timing})
    teacher = getattr(policy, "name", type(policy).__name__)
    kept: list[dict] = []
    per_cat: dict[str, Counter] = {}

    def on_task(result, row) -> None:
        c = per_cat.setdefault(row["category"], Counter())
        c["tasks"] += 1
        if not result.success:
            c["dropped_" + ("below_threshold" if result.outcome.answer is not None else
                            f"no_answer_{result.outcome.reason}")] += 1
            return
        try:
            kept.append(trace_row(result, row, source, teacher))
        except MarkupError:
            c["dropped_unsafe_text"] += 1
            return
        c["kept"] += 1

    bench = run_bench(policy, tasks_dir, limit=limit, on_task=on_task, progress=progress,
                      categories=categories, tool_names=tool_names)
    copy_images(Path(tasks_dir), out, kept)
    return _finish(out, kept, per_cat, variant, source, teacher, str(tasks_dir),
                   {k: bench[k] for k in ("n", "overall", "wall_s", "time_split_s", "tasks_per_min")})


def _finish(out: Path, kept: list[dict], per_cat: dict[str, Counter], variant: str, source: str, teacher: str,
            origin: str, run: dict) -> dict[str, Any]:
    """Write the rows, ``stats.json`` and the card; the statistics."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    _write(kept, out / "data" / "train-00000-of-00001.parquet")
    tools_used = Counter(name for r in kept for name in _call_names(r))
    turns = Counter(r["turns"] for r in kept)
    stats = {"variant": variant, "source": source, "teacher": teacher, "tasks": run["n"], "kept": len(kept),
             "thresholds": {c: KEEP_THRESHOLDS.get(c, "world-judged success") for c in per_cat},
             "categories": {c: dict(sorted(v.items())) for c, v in sorted(per_cat.items())},
             "tools_used": dict(tools_used.most_common()), "turns": {str(k): v for k, v in sorted(turns.items())},
             "run": run}
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    _write_card(out, stats, origin)
    return stats


def _call_names(row: dict) -> list[str]:
    """The tool names of every call in a row's assistant turns."""
    from ..core.conversation import parse_assistant

    return [c.name for m in row["messages"] if m["role"] == "assistant"
            for c in parse_assistant(m["content"][-1]["text"]).calls]


def _write(rows: list[dict], path: Path) -> None:
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    feats = features()
    data = Dataset.from_list(rows, features=feats) if rows else Dataset.from_dict({k: [] for k in feats}, features=feats)
    data.to_parquet(str(path))


def _write_card(out: Path, stats: dict, tasks: str) -> None:
    cats = "\n".join(f"| {c} | {v.get('tasks', 0)} | {v.get('kept', 0)} | "
                     + ", ".join(f"{k[len('dropped_'):]} {n}" for k, n in v.items() if k.startswith("dropped_"))
                     + f" | {stats['thresholds'][c]} |" for c, v in stats["categories"].items())
    tools = "\n".join(f"| `{t}` | {n} |" for t, n in stats["tools_used"].items()) or "| (none) | 0 |"
    turns = ", ".join(f"{k}: {v}" for k, v in stats["turns"].items()) or "none"
    (out / "README.md").write_text(f"""---
license: apache-2.0
language:
- en
pretty_name: spacetools teaching conversations ({stats['variant']})
task_categories:
- visual-question-answering
tags:
- spatial-reasoning
- tool-use
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---

# Teaching conversations: {stats['variant']}

{_ORIGIN[stats['variant'] == 'agent'].format(teacher=stats['teacher'], tasks=tasks)}
Tool results are `<tool_response>` user turns. `messages` holds them structured (image parts, then the text);
`images` lists the image files in the order they are shown. Render a row with the package's chat
template (`spacetools_ros.core.chat_markup.CHAT_TEMPLATE`, the layout the policy sees at inference).

Columns: `id`, `task_id`, `category`, `source` ({stats['source']}), `teacher`, `messages`, `images`,
`reward`, `turns`, `tool_calls`, `tools_used`, `answer`.

## Kept and dropped per category ({stats['kept']} of {stats['tasks']} kept)

| category | tasks | kept | dropped | threshold |
|---|---|---|---|---|
{cats}

## Tool calls in kept conversations

| tool | calls |
|---|---|
{tools}

Assistant turns per kept conversation: {turns}.
""")


_ORIGIN = (
    "Conversations of the `{teacher}` teacher on the tasks in `{tasks}`, kept when the task's reward\n"
    "(`core/rewards.py`, scored as `spacetools bench` does) is above the category's threshold. Each row is\n"
    "the conversation the question loop held: the system prompt with the tools block, the user turn with\n"
    "the task's images, assistant turns with `<think>`/`<tool_call>`/`<answer>`.",
    "Pick-and-place episodes of the agent with the `{teacher}` policy in the {tasks}, kept when the\n"
    "simulator judges the command carried out and the agent said so. Each row is the conversation the\n"
    "orchestrator held: the system prompt with the tools block (vision and robot tools), the command,\n"
    "assistant turns with `<think>`/`<tool_call>`/`<answer>`, captured images shown where they were taken.",
)


def load(out: str | Path):
    """A teaching dataset as a ``datasets.Dataset`` (image paths absolute)."""
    from datasets import load_dataset

    root = Path(out).resolve()
    ds = load_dataset("parquet", data_files=str(root / "data" / "*.parquet"), split="train")
    return ds.map(lambda r: {"images": [str(root / p) for p in r["images"]]})
