"""GRPO's vLLM generation path without a GPU: rollouts go through TRL's ``VLLMGeneration`` contract
(a fake engine that answers from a script, named as such), one batched generate call per turn for
every running rollout, the worlds on two Ray actors; the token layout and masks are the inference
layout's; configs that cannot work with vLLM are refused with a clear error."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from spacetools_ros.cli.main import main

pytest.importorskip("trl")

CALL = ('<think>Look first.</think>\n<tool_call>\n{"name": "roborefer.detect_one", "arguments": '
        '{"obj_name": "red block", "image_index": 0}}\n</tool_call>')
ANSWER = "<think>So.</think>\n<answer>Yes</answer>"


class FakeVLLMGeneration:
    """TRL ``VLLMGeneration``'s contract — ``generate(prompts, images, num_generations)`` -> (prompt
    ids, completion ids, per-token [logprob] lists, token ids), reading ``max_completion_length``,
    ``temperature``, ``top_p`` and ``generation_kwargs`` at each call — with a script instead of a
    model. It checks what vLLM's processor would: every image is a PIL image and has one run of
    <|image_pad|> as long as the checkpoint's image processor makes it."""

    def __init__(self, processor, merge: int, generation_kwargs: dict) -> None:
        self.processor, self.merge, self.generation_kwargs = processor, merge, generation_kwargs
        self.max_completion_length, self.temperature, self.top_p = 16, 1.0, 1.0
        self.batches: list[int] = []

    def _runs(self, ids: list[int]) -> list[int]:
        pad = self.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        runs, n = [], 0
        for t in ids + [-1]:
            if t == pad:
                n += 1
            elif n:
                runs.append(n)
                n = 0
        return runs

    def generate(self, prompts, images, num_generations):
        from PIL import Image

        from spacetools_ros.backends.policy.local_vlm import image_inputs

        assert num_generations == 1 and images is not None and len(images) == len(prompts)
        tok = self.processor.tokenizer
        stop = self.generation_kwargs["stop_token_ids"][0]
        completions = []
        for ids, imgs in zip(prompts, images):
            assert all(isinstance(im, Image.Image) for im in imgs)
            _, pads = image_inputs(self.processor.image_processor, [np.asarray(im) for im in imgs], self.merge)
            assert self._runs(ids) == pads
            text = ANSWER if "<tool_response>" in tok.decode(ids) else CALL
            new = tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"] + [stop]
            completions.append(new[: self.max_completion_length])
        self.batches.append(len(prompts))
        return prompts, completions, [[[-0.5]] * len(c) for c in completions], None


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl
    from spacetools_ros.learning.dataset import generate
    from spacetools_ros.learning.tiny_model import build

    ensure_headless_gl()
    root = tmp_path_factory.mktemp("vllm")
    generate(8, "train", root / "tasks", seed=3, categories=("yes_no",), progress=lambda line: None)
    return root, build(root / "base", vocab_size=1000)


def test_vllm_rollouts_batch_each_turn_and_run_tools_on_ray_actors(inputs):
    from transformers import AutoModelForImageTextToText

    from spacetools_ros.compose.bench import load_tasks
    from spacetools_ros.learning.rollout import RolloutSettings
    from spacetools_ros.learning.workers import VLLMPool, vllm_generation_kwargs

    root, base = inputs
    rows = load_tasks(root / "tasks")[:4]
    pool = VLLMPool(2, str(base), RolloutSettings(max_new_tokens=96, max_turns=3), 56 * 56, 448 * 448)
    try:
        model = AutoModelForImageTextToText.from_pretrained(base)
        fake = FakeVLLMGeneration(pool.processor, 4, vllm_generation_kwargs(pool.processor.tokenizer))
        trainer = SimpleNamespace(vllm_generation=fake, model=model,
                                  accelerator=SimpleNamespace(unwrap_model=lambda m: m))
        rollouts, _ = pool.run(rows, trainer)
    finally:
        pool.close()
    assert fake.batches == [4, 4]  # one generate call per turn for all running rollouts
    assert fake.max_completion_length == 96
    lay = pool.sampler.layout
    for r, row in zip(rollouts, rows):
        assert r.task_id == row["id"] and r.turns == 2 and r.valid_calls == 1 and r.answer is not None
        assert r.reward == (1.0 if row["truth"]["answer"] == "yes" else 0.0)
        tool_turn = r.messages[3].content
        assert "<tool_response>" in tool_turn and "red block" in tool_turn.lower()  # the actor's toolshed answered
        assert len(r.completion_ids) == len(r.env_mask) == len(r.logprobs)
        # model tokens carry the engine's log-probabilities and mask 1; tool tokens 0 and 0
        assert all((m == 1) == (lp == -0.5) for m, lp in zip(r.env_mask, r.logprobs))
        tok = pool.processor.tokenizer
        assert tok.decode([t for t, m in zip(r.completion_ids, r.env_mask) if m]) == \
            CALL + "<|im_end|>" + ANSWER + "<|im_end|>"
        _, pads = pool.sampler.images([np.zeros((240, 320, 3), np.uint8)] * len(row["images"]))
        assert r.prompt_ids + r.completion_ids + lay.text_ids("\n") + lay.assistant_header() == \
            lay.prompt_ids(r.messages, pads)


def test_vllm_request_settings_stop_at_turn_end_and_never_sample_markers(inputs):
    from spacetools_ros.backends.policy.local_vlm import ChatTokens
    from spacetools_ros.learning.processor import load_processor
    from spacetools_ros.learning.workers import vllm_generation_kwargs

    _, base = inputs
    lay = ChatTokens(load_processor(base).tokenizer)
    kw = vllm_generation_kwargs(lay.tok)
    assert kw["stop_token_ids"] == [lay.im_end]
    assert set(kw["logit_bias"]) == set(lay.suppress_ids) and lay.im_end not in kw["logit_bias"]
    assert lay.tok.convert_tokens_to_ids("<|image_pad|>") in kw["logit_bias"]
    assert all(isinstance(k, int) and v == -100.0 for k, v in kw["logit_bias"].items())


def test_vllm_configs_that_cannot_work_are_refused(inputs, tmp_path, capsys):
    from spacetools_ros.core.errors import ConfigError
    from spacetools_ros.learning.processor import load_processor
    from spacetools_ros.learning.workers import VLLMSampler, engine_image_processor

    root, base = inputs
    frame = [np.zeros((240, 320, 3), np.uint8)]
    engine = engine_image_processor(str(base))  # max 448 x 448 pixels: a 320 x 240 image keeps its size
    same = VLLMSampler(None, load_processor(base, 56 * 56, 1024 * 1024), 4, engine)
    assert same.images(frame)[1] == [99]  # 252 x 308 pixels: 18 x 22 patches / 4, both sides agree
    with pytest.raises(ConfigError, match="image tokens"):
        VLLMSampler(None, load_processor(base, 56 * 56, 112 * 112), 4, engine).images(frame)
    with pytest.raises(ConfigError, match="preprocessor_config"):
        engine_image_processor(str(tmp_path))

    def run(**extra):
        cfg = {"model": "base", "output_dir": str(tmp_path / "out"), "tasks": "tasks", "max_steps": 1,
               "num_generations": 2, "per_device_train_batch_size": 2, "generation": "vllm", **extra}
        path = root / f"v{len(list(root.glob('v*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return main(["train", "grpo", "--config", str(path)]), capsys.readouterr().err

    code, err = run(device="cpu")
    assert code == 2 and "needs a GPU" in err
    code, err = run(vllm_mode="remote")
    assert code == 2 and "vllm_mode must be one of colocate, server" in err
    from trl.import_utils import is_vllm_available

    if not is_vllm_available():
        code, err = run(device="auto")
        assert code == 2 and 'pip install "trl[vllm]' in err
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written


def test_the_shipped_dirl_configs_validate_and_the_gpu_recipe_generates_with_vllm():
    from pathlib import Path

    from spacetools_ros.learning.dirl import DIRL
    from spacetools_ros.learning.train_config import read_yaml

    cfg_dir = Path(__file__).resolve().parents[2] / "config" / "train"
    gpu = DIRL(read_yaml(cfg_dir / "dirl_qwen2_5_vl_3b.yaml"), cfg_dir, None, lambda s: None)
    for section in ("pointing_rl", "grpo"):
        s = gpu._grpo(section, "m", "o")
        assert (s.generation, s.vllm_mode, s.workers, s.device) == ("vllm", "colocate", 8, "cuda")
    cpu = DIRL(read_yaml(cfg_dir / "dirl_tiny_cpu.yaml"), cfg_dir, None, lambda s: None)
    assert cpu._grpo("grpo", "m", "o").generation == "transformers"
