"""``spacetools data teach``: the scripted teacher's conversations that pass the category's threshold
become a dataset that loads with ``datasets``, renders through a tiny Qwen2.5-VL processor's chat
template into the layout the policy sees, and reads back to the same conversation; the pointing
variant offers and uses only the pointing tool; bad arguments exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from spacetools_ros.cli.main import main
from spacetools_ros.core.chat_markup import IMAGE_BLOCK, from_structured, parse, render
from spacetools_ros.core.rewards import KEEP_THRESHOLDS
from spacetools_ros.learning.teach import load

N_TASKS = 16  # two scenes, two questions of every category (seed 0, val)


@pytest.fixture(scope="module")
def tasks(task_set):
    return task_set("teach", N_TASKS)


@pytest.fixture(scope="module")
def taught(tasks, tmp_path_factory):
    out = tmp_path_factory.mktemp("taught") / "all"
    assert main(["data", "teach", "--teacher", "scripted", "--tasks", str(tasks), "--out", str(out)]) == 0
    return out


def test_kept_rows_pass_their_threshold_and_the_card_counts_them(taught):
    stats = json.loads((taught / "stats.json").read_text())
    ds = load(taught)
    assert stats["tasks"] == N_TASKS and stats["kept"] == len(ds) > 0
    for cat, c in stats["categories"].items():
        assert c["tasks"] == c.get("kept", 0) + sum(v for k, v in c.items() if k.startswith("dropped_"))
        assert sum(r["category"] == cat for r in ds) == c.get("kept", 0)
    assert all(r["reward"] > KEEP_THRESHOLDS[r["category"]] for r in ds)
    assert sum(stats["tools_used"].values()) == sum(ds["tool_calls"])
    card = (taught / "README.md").read_text()
    assert f"({stats['kept']} of {N_TASKS} kept)" in card and "roborefer.detect_one" in card


@pytest.fixture(scope="module")
def processor(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    import tiny_vlm

    from spacetools_ros.learning.processor import load_processor

    return load_processor(tiny_vlm.build(tmp_path_factory.mktemp("vlm")), max_pixels=112 * 112)


def check_round_trip(folder: Path, proc) -> int:
    """Every row: the loop's conversation, rendered by the processor's template into the layout, read
    back to the same messages, its images expanded to the image tokens of their grids; the row count."""
    from PIL import Image

    ds = load(folder)
    for row in ds:
        msgs = from_structured(row["messages"])
        assert [m.role for m in msgs[:2]] == ["system", "user"] and msgs[-1].role == "assistant"
        assert "<tools>" in msgs[0].content and "</tools>" in msgs[0].content
        assert "<answer>" in msgs[-1].content and row["answer"] in msgs[-1].content
        assert sum(m.role == "assistant" for m in msgs) == row["turns"]
        assert sum(m.content.count("<tool_response>") for m in msgs) == row["tool_calls"]
        text = proc.apply_chat_template(row["messages"], tokenize=False)
        assert text == render(msgs) and parse(text) == msgs
        assert text.count(IMAGE_BLOCK) == len(row["images"]) == sum(len(m.images) for m in msgs)
        pics = [Image.open(p).convert("RGB") for p in row["images"]]
        enc = proc(text=[text], images=pics)
        pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        grid = enc["image_grid_thw"]
        assert len(grid) == len(pics)
        assert list(enc["input_ids"][0]).count(pad) == int(sum(int(g.prod()) for g in grid)) // 4
    return len(ds)


def test_rows_are_the_loops_conversation_and_round_trip_through_the_chat_template(taught, processor):
    assert check_round_trip(taught, processor) > 0


def test_agent_variant_keeps_world_judged_pick_and_place_episodes(tmp_path, processor):
    out = tmp_path / "agent"
    assert main(["data", "teach", "--teacher", "scripted", "--variant", "agent", "--episodes", "2",
                 "--out", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks"] == 2 and check_round_trip(out, processor) == stats["kept"] > 0
    ds = load(out)
    for row in ds:
        assert row["source"] == "agent" and row["category"].startswith("pick_place:")
        assert "robot.execute_grasp" in row["tools_used"] and len(row["images"]) >= 1
    assert main(["data", "teach", "--teacher", "scripted", "--variant", "agent", "--out", str(tmp_path / "x")]) == 2


def test_pointing_variant_offers_and_uses_only_the_pointing_tool(tasks, tmp_path):
    out = tmp_path / "pointing"
    assert main(["data", "teach", "--teacher", "scripted", "--tasks", str(tasks), "--out", str(out),
                 "--variant", "pointing"]) == 0
    ds = load(out)
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats["categories"]) <= {"pointing_object", "pointing_free_space"} and len(ds) > 0
    assert stats["tools_used"].keys() == {"roborefer.detect_one"}
    for row in ds:
        assert row["source"] == "pointing" and row["tools_used"] == ["roborefer.detect_one"]
        system = row["messages"][0]["content"][-1]["text"]
        assert '"roborefer.detect_one"' in system and "sam2" not in system


def test_bad_arguments_exit_2(tasks, taught, tmp_path):
    assert main(["data", "teach", "--teacher", "nobody", "--tasks", str(tasks), "--out", str(tmp_path / "a")]) == 2
    assert main(["data", "teach", "--teacher", "scripted", "--tasks", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert main(["data", "teach", "--teacher", "scripted", "--tasks", str(tasks), "--out", str(taught)]) == 2
    assert main(["data", "teach", "--teacher", "scripted", "--tasks", str(tasks), "--out", str(tmp_path / "c"),
                 "--limit", "0"]) == 2
    assert main(["data", "teach", "--teacher", "scripted", "--out", str(tmp_path / "d")]) == 2  # no --tasks
