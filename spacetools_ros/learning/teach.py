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
}
SOURCE = {"all": "teacher", "pointing": "pointing"}


def features():
    """The teaching dataset's column types."""
    from datasets import Features, Value

    text = Value("string")
    return Features({"id": text, "task_id": text, "category": text, "source": text, "teacher": text,
                     "messages": [{"role": text, "content": [{"type": text, "text": text}]}],
                     "images": [text], "reward": Value("float64"), "turns": Value("int64"),
                     "tool_calls": Value("int64"), "tools_used": [text], "answer": text})


def trace_row(result, row: dict, source: str, teacher: str) -> dict[str, Any]:
    """A kept conversation as a dataset row (images: the task's image paths in the order shown).

    Raises:
        MarkupError: a message that cannot be laid out (text spelling a control token, an image index
            the task does not have).
    """
    messages = result.outcome.messages
    render(messages)  # the conversation must lay out unambiguously
    shown = [i for m in messages for i in m.images]
    if any(not 0 <= i < len(row["images"]) for i in shown):
        raise MarkupError("a message shows an image the task does not have")
    calls = result.outcome.tool_calls
    return {"id": f"{source}-{row['id']}", "task_id": row["id"], "category": row["category"], "source": source,
            "teacher": teacher, "messages": to_structured(messages), "images": [row["images"][i] for i in shown],
            "reward": float(result.reward), "turns": int(result.outcome.turns), "tool_calls": len(calls),
            "tools_used": sorted({c["name"] for c in calls}), "answer": result.outcome.answer or ""}


def teach(policy, tasks_dir: str | Path, out: str | Path, *, variant: str = "all", limit: int | None = None,
          progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict[str, Any]:
    """Run ``policy`` over the tasks and write the kept conversations to ``out``
    (``data/train-00000-of-00001.parquet``, ``images/``, ``README.md``, ``stats.json``).

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
    out = Path(out)
    check_output_dir(out)
    categories, tool_names = VARIANTS[variant]
    source, teacher = SOURCE[variant], getattr(policy, "name", type(policy).__name__)
    kept: list[dict] = []
    per_cat: dict[str, Counter] = {}
    tools_used: Counter = Counter()
    turns: Counter = Counter()

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
        tools_used.update(call["name"] for call in result.outcome.tool_calls)
        turns[result.outcome.turns] += 1

    bench = run_bench(policy, tasks_dir, limit=limit, on_task=on_task, progress=progress,
                      categories=categories, tool_names=tool_names)
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    src = Path(tasks_dir)
    for path in sorted({p for r in kept for p in r["images"]}):
        shutil.copyfile(src / path, out / path)
    _write(kept, out / "data" / "train-00000-of-00001.parquet")
    stats = {"variant": variant, "source": source, "teacher": teacher, "tasks": bench["n"], "kept": len(kept),
             "thresholds": {c: KEEP_THRESHOLDS[c] for c in per_cat},
             "categories": {c: dict(sorted(v.items())) for c, v in sorted(per_cat.items())},
             "tools_used": dict(tools_used.most_common()), "turns": {str(k): v for k, v in sorted(turns.items())},
             "bench": {k: bench[k] for k in ("overall", "wall_s", "time_split_s", "tasks_per_min")}}
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    _write_card(out, stats, str(tasks_dir))
    return stats


def _write(rows: list[dict], path: Path) -> None:
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    Dataset.from_list(rows, features=features()).to_parquet(str(path))


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

Conversations of the `{stats['teacher']}` teacher on the tasks in `{tasks}`, kept when the task's
reward (`core/rewards.py`, scored as `spacetools bench` does) is above the category's threshold.
Each row is the conversation the question loop held: the system prompt with the tools block, the user
turn with the task's images, assistant turns with `<think>`/`<tool_call>`/`<answer>`, tool results as
`<tool_response>` user turns. `messages` holds them structured (image parts, then the text);
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


def load(out: str | Path):
    """A teaching dataset as a ``datasets.Dataset`` (image paths absolute)."""
    from datasets import load_dataset

    root = Path(out).resolve()
    ds = load_dataset("parquet", data_files=str(root / "data" / "*.parquet"), split="train")
    return ds.map(lambda r: {"images": [str(root / p) for p in r["images"]]})
