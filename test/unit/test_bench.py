"""``spacetools bench``: the frames rebuilt from a row's ground truth are the dataset's images, the
scripted teacher answers through the tools and is scored per category, the answer alone (no tools)
scores lower, a served model is asked with the images and the question and scored on its answer,
malformed answers score 0, and bad arguments exit 2."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from spacetools_ros.backends.policy.scripted_qa import ScriptedQAPolicy
from spacetools_ros.cli.main import main
from spacetools_ros.compose.bench import load_tasks, run_bench, score_task, task_cameras
from spacetools_ros.core.rewards import KEEP_THRESHOLDS, REWARDS
from spacetools_ros.learning import CATEGORIES
from spacetools_ros.learning.frames import scene_frames
from spacetools_ros.testing.scripted_chat_server import ScriptedChatServer, completion

N_TASKS = 16  # two scenes, two questions of every category (seed 0, val)


@pytest.fixture(scope="module")
def tasks(task_set):
    return task_set("bench", N_TASKS)


@pytest.fixture(scope="module")
def scripted_doc(tasks, tmp_path_factory):
    d = tmp_path_factory.mktemp("scripted")
    code = main(["bench", "--policy", "scripted", "--tasks", str(tasks), "--json", str(d / "s.json"),
                 "--transcripts", str(d / "t.jsonl")])
    assert code == 0
    return json.loads((d / "s.json").read_text()), [json.loads(x) for x in (d / "t.jsonl").read_text().splitlines()]


def test_rebuilt_frames_are_the_stored_images(tasks):
    rows = load_tasks(tasks)
    scenes = {r["scene_id"]: r for r in rows}
    assert len(scenes) == 2
    for scene_id, row in scenes.items():
        frames = scene_frames(row["truth"])
        assert set(frames) == set(row["truth"]["cameras"])
        for cam, frame in frames.items():
            stored = cv2.imread(str(tasks / "images" / f"{scene_id}_{cam}.png"), cv2.IMREAD_COLOR)[..., ::-1]
            assert frame.rgb.shape == stored.shape == (240, 320, 3)
            assert np.array_equal(frame.rgb, stored), f"{scene_id} {cam}: the rebuilt image differs"
            assert frame.depth_m is not None and np.isfinite(frame.depth_m).mean() > 0.9
            assert np.allclose(frame.intrinsics, row["truth"]["cameras"][cam]["intrinsics"], atol=1e-5)
    assert task_cameras(next(r for r in rows if r["category"] == "multi_view")) == ["scene", "side", "overhead"]


def test_scripted_teacher_is_scored_per_category(scripted_doc):
    doc, lines = scripted_doc
    assert doc["policy"] == "scripted" and doc["tools"] is True and doc["n"] == N_TASKS
    assert set(doc["categories"]) == set(CATEGORIES) == set(REWARDS)
    for name, s in [*doc["categories"].items(), ("overall", doc["overall"])]:
        assert s["n"] == (N_TASKS if name == "overall" else 2)
        assert 0.0 <= s["success_rate"] <= 1.0 and 0.0 <= s["mean_reward"] <= 1.0
        assert 0.0 <= s["tool_calls_per_task"] <= 16 and 0.0 <= s["seconds_per_task"] < 60
    # measured on these two scenes (the offline pointer does not find a black block in one of them)
    for name in ("pointing_free_space", "yes_no", "fit", "relative_depth"):
        assert doc["categories"][name]["success_rate"] == 1.0, name
    assert doc["overall"]["success_rate"] >= 0.7
    assert doc["categories"]["fit"]["tool_calls_per_task"] >= 5  # measured with boxes, not guessed
    assert len(lines) == N_TASKS
    for line in lines:
        assert line["success"] == (line["reward"] > KEEP_THRESHOLDS[line["category"]])
        assert 0.0 <= line["seconds"] < 60 and set(line["timings_s"]) == {"policy", "tools", "total"}
        assert line["transcript"][0]["role"] == "system" and "<tools>" in line["transcript"][0]["content"]
        assert line["transcript"][1]["images"] == list(range(3 if line["category"] == "multi_view" else 1))
        assert len(line["tool_calls"]) <= 16 and line["turns"] <= 8
        assert all(set(c) >= {"name", "arguments", "response"} for c in line["tool_calls"])


def test_without_tools_the_teacher_scores_lower(tasks, scripted_doc):
    captured: list = []
    doc = run_bench(ScriptedQAPolicy(), tasks, tools=False, progress=lambda s: None,
                    on_task=lambda res, row: captured.append(res))
    assert doc["tools"] is False
    assert doc["overall"]["mean_reward"] < scripted_doc[0]["overall"]["mean_reward"]
    assert doc["overall"]["tool_calls_per_task"] == 0
    for res in captured:
        assert res.outcome.reason == "tools_disabled" and res.outcome.turns == 1
        assert "<tools>" not in res.outcome.messages[0].content


def _question(req) -> str:
    user = [m for m in req.json["messages"] if m["role"] == "user"][0]
    content = user["content"]
    return content if isinstance(content, str) else next(p["text"] for p in content if p["type"] == "text")


def test_a_served_model_is_asked_with_the_images_and_question_and_scored(tasks, tmp_path):
    rows = load_tasks(tasks)
    reference = {r["question"]: r["answer"] for r in rows}
    depth_q = next(r["question"] for r in rows if r["category"] == "relative_depth")
    asked: dict[str, int] = {}

    def reply(req):
        q = _question(req)
        asked[q] = asked.get(q, 0) + 1
        if q == depth_q and asked[q] == 1:  # one task: a tool call first, then the answer
            call = {"name": "depth_estimator.estimate_depth", "arguments": {"image_index": 0}}
            return completion(f"<think>depth first</think>\n<tool_call>\n{json.dumps(call)}\n</tool_call>")
        return completion(f"<think>I know this one.</think><answer>{reference[q]}</answer>")

    out = tmp_path / "o.json"
    with ScriptedChatServer(reply) as srv:
        code = main(["bench", "--policy", "openai", "--policy-url", srv.base_url, "--model", "m", "--tasks", str(tasks),
                     "--json", str(out), "--transcripts", str(tmp_path / "o.jsonl")])
        requests = srv.requests
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["policy"] == "openai" and doc["n"] == N_TASKS
    assert doc["overall"]["success_rate"] == 1.0 and doc["overall"]["mean_reward"] > 0.95  # the reference answers
    assert doc["categories"]["relative_depth"]["tool_calls_per_task"] == 0.5
    assert len(requests) == N_TASKS + 1
    for req in requests:
        q = _question(req)
        user = [m for m in req.json["messages"] if m["role"] == "user"][0]
        n_images = sum(p["type"] == "image_url" for p in user["content"])
        row = next(r for r in rows if r["question"] == q)
        assert n_images == len(row["images"])
        assert req.json["messages"][0]["role"] == "system"
    second = [r for r in requests if _question(r) == depth_q][1]
    tool_turn = second.json["messages"][-1]
    text = tool_turn["content"] if isinstance(tool_turn["content"], str) else tool_turn["content"][-1]["text"]
    assert "<tool_response>\nEstimated depth map for 320x240 image." in text
    line = next(json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()
                if json.loads(x)["question"] == depth_q)
    assert line["reward"] == 1.0 and line["tool_calls"][0]["name"] == "depth_estimator.estimate_depth"


@pytest.mark.parametrize("category", CATEGORIES)
def test_malformed_answers_score_zero(tasks, category):
    row = next(r for r in load_tasks(tasks) if r["category"] == category)
    truth = row["truth"]
    assert score_task(category, f"<answer>{row['answer']}</answer>", truth) > KEEP_THRESHOLDS[category]
    for bad in (None, "", "<answer></answer>", "<answer>unknown</answer>", "<answer>[(nan, 0.5)]</answer>",
                "<answer>" + "[(0.5, 0.5)], " * 5000 + "</answer>", "<answer>camera: side, point: [(2, 2)]</answer>",
                "<answer>Grasp center: [0.5, 0.5]</answer>", "<answer>__import__('os')</answer>"):
        assert score_task(category, bad, truth) == 0.0, bad


def test_bad_arguments_exit_2(tasks, tmp_path, capsys):
    out = str(tmp_path / "x.json")
    assert main(["bench", "--policy", "scripted", "--tasks", str(tmp_path / "nope"), "--json", out]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["bench", "--policy", "telepathy", "--tasks", str(tasks), "--json", out]) == 2
    assert "unknown policy 'telepathy'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["bench", "--policy", "scripted", "--tasks", str(tmp_path / "empty"), "--json", out]) == 2
    assert "no parquet shards" in capsys.readouterr().err
    assert main(["bench", "--policy", "scripted", "--tasks", str(tasks), "--limit", "0", "--json", out]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--tasks", str(tasks), "--json", out])
    assert exc.value.code == 2


class _ToolLoopPolicy:
    """A policy that never answers: ``per_turn`` calls of one tool every turn."""

    name = "tool_loop"

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn

    def start(self, command: str) -> None:
        pass

    def next_turn(self, messages, images) -> str:
        call = json.dumps({"name": "depth_estimator.estimate_depth", "arguments": {"image_index": 0}})
        return "<think>again</think>" + f"<tool_call>\n{call}\n</tool_call>" * self.per_turn


@pytest.mark.parametrize("per_turn, reason, calls, turns", [(1, "turn_limit", 8, 8), (3, "tool_call_limit", 16, 6)])
def test_the_question_loop_is_bounded(per_turn, reason, calls, turns):
    from spacetools_ros.core.orchestrator import ToolResult
    from spacetools_ros.core.qa_loop import run_question
    from spacetools_ros.core.tools.protocol import load_schemas

    executed = []

    def record(call):  # a named fake executor: counts what would run
        executed.append(call.name)
        return ToolResult("Estimated depth map for 320x240 image.", True, {})

    out = run_question(_ToolLoopPolicy(per_turn), "Which is closer?", 1, record, load_schemas(),
                       ["depth_estimator.estimate_depth"])
    assert (out.answer, out.reason, len(out.tool_calls), out.turns) == (None, reason, calls, turns)
    assert len(executed) == calls
    assert score_task("relative_depth", out.final_text if out.answer is not None else None,
                      {"answer": "A", "options": {"A": {"phrase": "x"}, "B": {"phrase": "y"}}}) == 0.0
