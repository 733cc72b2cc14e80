"""``spacetools train dirl``: the whole recipe (base, pointing-only RL, teacher demos, SFT on the mix,
GRPO with all offered tools) runs on a tiny model in a few steps, evaluates after each training stage
on held-out tasks, writes each stage's checkpoint, metrics and curves, and resumes: finished stages
are skipped, an unfinished one runs again; bad configs exit 2 before anything runs."""

from __future__ import annotations

import json

import pytest
import yaml

from spacetools_ros.cli.main import main

pytest.importorskip("trl")

CONFIG = {
    "output_dir": "run", "seed": 0, "base": {"tiny": {"vocab_size": 600, "hidden_size": 64, "layers": 1}},
    "categories": ["pointing_object", "relative_depth"],
    "tools": ["roborefer.detect_one", "depth_estimator.estimate_depth", "vision_ops.index_at"],
    "tasks": {"train": {"n": 8, "seed": 0}, "heldout": {"n": 3, "seed": 1}},
    "pixels": {"min_pixels": 3136, "max_pixels": 12544}, "eval": {"max_turns": 2, "max_new_tokens": 12},
    "pointing_rl": {"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 2, "max_turns": 1,
                    "max_new_tokens": 8, "device": "cpu"},
    "teach": {"teacher": "scripted"},
    "sft": {"max_steps": 2, "gradient_accumulation_steps": 1, "logging_steps": 1, "learning_rate": 1e-3, "device": "cpu"},
    "grpo": {"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 2, "max_turns": 1,
             "max_new_tokens": 8, "device": "cpu"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl

    ensure_headless_gl()
    root = tmp_path_factory.mktemp("dirl")
    cfg = root / "dirl.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    assert main(["train", "dirl", "--config", str(cfg)]) == 0
    return root, cfg


def test_every_stage_writes_its_outputs_and_held_out_figures(run):
    root, _ = run
    out = root / "run"
    for stage in ("base", "pointing_rl", "teach", "sft", "grpo"):
        assert (out / stage / "done.json").is_file(), stage
    for stage in ("base", "pointing_rl", "sft", "grpo"):
        assert (out / stage / "checkpoint" / "config.json").is_file()
        ev = json.loads((out / stage / "eval.json").read_text())
        assert ev["overall"]["n"] == 3 and set(ev["categories"]) <= {"pointing_object", "relative_depth"}
        for k in ("valid_tool_call_rate", "mean_reward", "success_rate"):
            assert 0.0 <= ev["overall"][k] <= 1.0
    for stage in ("pointing_rl", "sft", "grpo"):
        assert (out / stage / "metrics.csv").is_file() and (out / stage / "curves.png").is_file()
    stages = json.loads((out / "stages.json").read_text())["stages"]
    assert list(stages) == ["base", "pointing_rl", "sft", "grpo"]
    # the pointing stage offered only the pointing tool, the teacher's demos were kept above their thresholds
    rl = json.loads((out / "pointing_rl" / "summary.json").read_text())
    assert rl["settings"]["tools"] == ["roborefer.detect_one"]
    teach = json.loads((out / "teach" / "done.json").read_text())
    assert teach["all"]["kept"] > 0
    sft = json.loads((out / "sft" / "done.json").read_text())
    assert any(d["path"].endswith("teach/all") for d in sft["data"])
    system = json.loads((out / "teach" / "all" / "stats.json").read_text())
    assert set(system["tools_used"]) <= set(CONFIG["tools"])


def test_a_second_run_skips_finished_stages_and_redoes_an_unfinished_one(run, capsys):
    root, cfg = run
    out = root / "run"
    before = (out / "sft" / "done.json").stat().st_mtime_ns
    (out / "grpo" / "done.json").unlink()  # as if the run had stopped inside the last stage
    assert main(["train", "dirl", "--config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert err.count("already done, skipped") == 4 and "stage 5/5 grpo" in err
    assert (out / "sft" / "done.json").stat().st_mtime_ns == before and (out / "grpo" / "done.json").is_file()


@pytest.mark.parametrize("change,why", [({"colour": 1}, "unknown"), ({"categories": ["cooking"]}, "cooking"),
                                        ({"grpo": {"num_generations": 3, "per_device_train_batch_size": 2}}, "groups"),
                                        ({"sft": {"learning_rate": "high"}}, "learning_rate"),
                                        ({"base": {"path": "nowhere"}}, "base")])
def test_bad_configs_exit_2_before_anything_runs(tmp_path, change, why, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**CONFIG, **change}))
    assert main(["train", "dirl", "--config", str(cfg)]) == 2
    assert why in capsys.readouterr().err
    assert not (tmp_path / "run" / "tasks").exists()
