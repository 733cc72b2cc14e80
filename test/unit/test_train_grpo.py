"""``spacetools train grpo``: rollouts lay out tokens exactly as inference does and mask every token
the model did not write (token by token); TRL's GRPOTrainer learns from groups whose rewards differ
(language model changes, vision tower frozen), counts groups with equal rewards, writes a loadable
checkpoint; rollouts run on two Ray actors; bad configs exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from spacetools_ros.cli.main import main

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl
    from spacetools_ros.learning.dataset import generate
    from spacetools_ros.learning.tiny_model import build

    ensure_headless_gl()
    root = tmp_path_factory.mktemp("grpo")
    generate(16, "train", root / "tasks", seed=0, categories=("yes_no", "pointing_object"), progress=lambda line: None)
    return root, build(root / "base", vocab_size=1000)


@pytest.fixture(scope="module")
def sampler(inputs):
    from transformers import AutoModelForImageTextToText

    from spacetools_ros.learning.processor import load_processor
    from spacetools_ros.learning.rollout import Sampler

    _, base = inputs
    return Sampler(AutoModelForImageTextToText.from_pretrained(base).eval(), load_processor(base, max_pixels=112 * 112))


CALL = ('<think>I look first.</think>\n<tool_call>\n{"name": "roborefer.detect_one", "arguments": '
        '{"obj_name": "red block", "image_index": 0}}\n</tool_call>\n<tool_call>\n{"name": "nope", "arguments": {}}'
        '\n</tool_call>')


def test_rollout_tokens_are_the_inference_layout_and_only_model_tokens_are_trained(inputs, sampler):
    from spacetools_ros.compose.bench import load_tasks
    from spacetools_ros.learning.rollout import RolloutSettings, TaskWorld, rollout_task

    root, _ = inputs
    row = next(r for r in load_tasks(root / "tasks") if r["category"] == "yes_no")
    texts = [CALL, "<think>So.</think>\n<answer>" + ("Yes" if row["truth"]["answer"] == "yes" else "No") + "</answer>"]
    r = rollout_task(sampler, TaskWorld(), row, RolloutSettings(), turn_texts=texts)
    assert r.turns == 2 and r.answer is not None and r.reward == 1.0 and r.success
    assert r.valid_calls == 1 and r.invalid_calls == 1  # the unknown tool is counted as invalid
    assert len(r.completion_ids) == len(r.env_mask) == len(r.logprobs)
    lay = sampler.layout
    # token in / token out = the layout the policy is prompted with at inference
    _, pads = sampler.images([np.zeros((240, 320, 3), np.uint8)] * len(row["images"]))
    assert r.prompt_ids + r.completion_ids + lay.text_ids("\n") + lay.assistant_header() == \
        lay.prompt_ids(r.messages, pads)
    # token by token: 1 exactly on what each assistant turn wrote and its <|im_end|>
    expected: list[int] = []
    for k, m in enumerate(r.messages[2:]):
        if m.role == "assistant":
            expected += [1] * (len(lay.text_ids(m.content)) + 1)
        else:
            expected += [0] * (len(lay.text_ids("\n")) + len(lay.message_ids("user", m.content, []))
                               + len(lay.assistant_header()))
    assert r.env_mask == expected
    tok = sampler.processor.tokenizer
    assert tok.decode([t for t, m in zip(r.completion_ids, r.env_mask) if m]) == \
        "".join(t + "<|im_end|>" for t in texts)
    assert "<tool_response>" in tok.decode([t for t, m in zip(r.completion_ids, r.env_mask) if not m])


class FakeAlternatingSampler:
    """A sampler (``Sampler``'s interface) that writes given answers in turn instead of sampling: the
    copies of a task in a group answer differently, so their rewards differ."""

    def __init__(self, real, answers: list[str]) -> None:
        self.model, self.processor, self.layout, self.merge = real.model, real.processor, real.layout, real.merge
        self.images = real.images
        self.answers = answers
        self.calls = 0

    def sample_many(self, requests, temperature, top_p):
        out = []
        for _, _, max_new_tokens in requests:
            text = self.answers[self.calls % len(self.answers)]
            self.calls += 1
            new = (self.layout.text_ids(text) + [self.layout.im_end])[:max_new_tokens]
            out.append((new, [0.0] * len(new)))
        return out


def write_config(root, **extra):
    cfg = {"model": "base", "output_dir": "out", "tasks": "tasks", "categories": ["yes_no"], "max_steps": 2,
           "num_generations": 2, "per_device_train_batch_size": 4, "max_new_tokens": 24, "max_turns": 2,
           "max_pixels": 112 * 112, "learning_rate": 1e-3, "device": "cpu", "beta": 0.01, **extra}
    path = root / f"g{len(list(root.glob('g*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_grpo_learns_from_groups_whose_rewards_differ(inputs, tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText

    from spacetools_ros.learning.grpo import run_grpo
    from spacetools_ros.learning.train_config import grpo_settings, read_yaml
    from spacetools_ros.learning.workers import make_pool

    root, base = inputs
    cfg = write_config(root, output_dir=str(tmp_path / "out"))

    def pool_factory(*args, **kwargs):
        pool = make_pool(*args, **kwargs)
        pool.worker.sampler = FakeAlternatingSampler(pool.worker.sampler, ["<answer>Yes</answer>", "<answer>No</answer>"])
        return pool

    summary = run_grpo(grpo_settings(read_yaml(cfg), root), progress=lambda s: None, pool_factory=pool_factory)
    assert summary["steps"] == 2 and summary["rollouts"] == 8 and summary["groups"] == 4
    assert summary["all_equal_groups"] == 0 and summary["first_mean_reward"] == 0.5
    out = tmp_path / "out"
    b = dict(AutoModelForImageTextToText.from_pretrained(base).named_parameters())
    a = dict(AutoModelForImageTextToText.from_pretrained(out / "checkpoint").named_parameters())
    assert all(torch.equal(b[n], a[n]) for n in b if ".visual." in f".{n}")
    assert any(not torch.equal(b[n], a[n]) for n in b if "language_model" in n)
    assert (out / "rollouts.csv").read_text().count("\n") == 3 and (out / "curves.png").stat().st_size > 1000


def test_grpo_cli_with_two_ray_workers_counts_equal_groups(inputs):
    pytest.importorskip("ray")
    root, _ = inputs
    cfg = write_config(root, output_dir="ray_out", workers=2, max_steps=1, max_new_tokens=8, max_turns=1)
    assert main(["train", "grpo", "--config", str(cfg)]) == 0
    summary = json.loads((root / "ray_out" / "summary.json").read_text())
    assert summary["workers"] == 2 and summary["rollouts"] == 4 and summary["groups"] == 2
    # an untrained model writes no answer in 8 tokens: every reward 0, every group all equal
    assert summary["all_equal_groups"] == 2 and summary["last_mean_reward"] == 0.0


@pytest.mark.parametrize("extra,why", [({"per_device_train_batch_size": 3}, "whole groups"),
                                       ({"categories": ["cooking"]}, "cooking"), ({"reward": "vibes"}, "reward"),
                                       ({"tasks": "missing"}, "tasks")])
def test_bad_grpo_configs_exit_2(inputs, extra, why, capsys):
    root, _ = inputs
    assert main(["train", "grpo", "--config", str(write_config(root, **extra))]) == 2
    assert why in capsys.readouterr().err
