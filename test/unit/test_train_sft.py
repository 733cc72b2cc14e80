"""``spacetools train sft`` on a tiny Qwen2.5-VL (random weights, tokenizer trained on the package's
texts): the loss covers exactly the assistant's tokens (checked token by token against the layout),
the vision tower stays frozen while the language model learns, and the checkpoint loads with
transformers and drives ``--policy local``; bad configs exit 2."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml

from spacetools_ros.cli.main import main
from spacetools_ros.core.chat_markup import from_structured, render, to_structured

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from spacetools_ros.backends.policy.scripted_qa import ScriptedQAPolicy
    from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl
    from spacetools_ros.learning.dataset import generate
    from spacetools_ros.learning.teach import teach
    from spacetools_ros.learning.tiny_model import build

    ensure_headless_gl()
    root = tmp_path_factory.mktemp("sft")
    generate(16, "train", root / "tasks", seed=0, progress=lambda line: None)
    teach(ScriptedQAPolicy(), root / "tasks", root / "teach", progress=lambda line: None)
    return root, build(root / "base", vocab_size=1000)


def write_config(root, **extra):
    cfg = {"model": "base", "output_dir": "out", "data": ["teach"], "max_steps": 2, "gradient_accumulation_steps": 2,
           "logging_steps": 1, "learning_rate": 1e-2, "max_pixels": 112 * 112, "device": "cpu", **extra}
    path = root / f"cfg{len(list(root.glob('cfg*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_sft_trains_the_assistant_tokens_only_and_writes_a_loadable_checkpoint(inputs):
    import torch
    from transformers import AutoModelForImageTextToText

    from spacetools_ros.backends.policy.local_vlm import LocalVLMPolicy

    root, base = inputs
    assert main(["train", "sft", "--config", str(write_config(root))]) == 0
    out = root / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and np.isfinite(summary["first_loss"]) and np.isfinite(summary["last_loss"])
    assert summary["frozen_params"] > 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows if r.get("loss")] == [1, 2]
    assert (out / "curves.png").stat().st_size > 1000
    before = AutoModelForImageTextToText.from_pretrained(base)
    after = AutoModelForImageTextToText.from_pretrained(out / "checkpoint")
    b, a = dict(before.named_parameters()), dict(after.named_parameters())
    vision = [n for n in b if ".visual." in f".{n}"]
    language = [n for n in b if "language_model" in n]
    assert vision and language
    assert all(torch.equal(b[n], a[n]) for n in vision)  # frozen
    assert sum(not torch.equal(b[n], a[n]) for n in language) > len(language) // 2  # learned
    policy = LocalVLMPolicy(str(out / "checkpoint"), max_new_tokens=3, max_pixels=112 * 112)
    from spacetools_ros.core.conversation import Message

    img = np.zeros((112, 112, 3), np.uint8)
    assert isinstance(policy.next_turn([Message("system", "s"), Message("user", "q", [0])], [img]), str)


def test_the_collator_labels_exactly_the_assistant_tokens(inputs):
    """Token by token: label = token for the assistant's text and its <|im_end|> (model tokens), -100
    for every system, user, tool-response and image token."""
    from trl import SFTConfig, SFTTrainer
    from transformers import AutoModelForImageTextToText

    from spacetools_ros.learning.processor import load_processor
    from spacetools_ros.learning.sft import mixed_dataset
    from spacetools_ros.learning.train_config import sft_settings

    root, base = inputs
    settings = sft_settings({"model": str(base), "output_dir": str(root / "x"), "data": [str(root / "teach")]}, root)
    proc = load_processor(base, max_pixels=112 * 112)
    data = mixed_dataset(settings)
    trainer = SFTTrainer(model=AutoModelForImageTextToText.from_pretrained(base), processing_class=proc,
                         train_dataset=data, args=SFTConfig(output_dir=str(root / "x"), assistant_only_loss=True,
                                                            use_cpu=True, report_to=[], max_length=None))
    checked = 0
    for row in data.select(range(min(3, len(data)))):
        batch = trainer.data_collator([dict(row)])
        ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
        msgs = from_structured(row["messages"])
        # expected mask from the layout: tokens of each message's prefix, the processor expanding image pads
        expected = []
        for k, m in enumerate(msgs):
            start = len(_ids(proc, msgs[:k], row["images"]))
            header = len(_ids(proc, msgs[:k], row["images"], tail=f"<|im_start|>{m.role}\n", n_images=len(m.images)))
            end = len(_ids(proc, msgs[:k + 1], row["images"]))
            body_end = end - 1  # the newline after <|im_end|> is not the assistant's
            expected += [0] * (header - start) if m.role == "assistant" else [0] * (end - start)
            if m.role == "assistant":
                expected += [1] * (body_end - header) + [0]
        assert len(expected) == len(ids)
        got = [int(label != -100) for label in labels]
        assert got == expected
        assert all(label == tok for label, tok in zip(labels, ids) if label != -100)
        pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        assert all(label == -100 for label, tok in zip(labels, ids) if tok == pad)
        trained = proc.tokenizer.decode([t for t, g in zip(ids, got) if g])
        assert trained == "".join(m.content + "<|im_end|>" for m in msgs if m.role == "assistant")
        checked += 1
    assert checked > 0


def _ids(proc, msgs, images, tail: str = "", n_images: int = 0):
    """Token ids of the layout of ``msgs`` (+ ``tail`` text with ``n_images`` image blocks)."""
    from PIL import Image

    text = render(msgs) + tail + "<|vision_start|><|image_pad|><|vision_end|>" * n_images
    shown = sum(len(m.images) for m in msgs) + n_images
    pics = [Image.open(p).convert("RGB") if isinstance(p, str) else p for p in images[:shown]]
    enc = proc(text=[text], images=pics or None)
    return list(enc["input_ids"][0])


@pytest.mark.parametrize("extra,why", [({"nonsense": 1}, "unknown"), ({"model": "missing"}, "model"),
                                       ({"learning_rate": "fast"}, "learning_rate"), ({"max_steps": -5}, "max_steps"),
                                       ({"data": []}, "data")])
def test_bad_configs_exit_2(inputs, extra, why, capsys):
    root, _ = inputs
    assert main(["train", "sft", "--config", str(write_config(root, **extra))]) == 2
    assert why in capsys.readouterr().err


def test_structured_rows_are_what_the_trainer_renders(inputs):
    from spacetools_ros.learning.teach import load

    root, _ = inputs
    for row in load(root / "teach"):
        msgs = from_structured(row["messages"])
        assert to_structured(msgs) == row["messages"]
