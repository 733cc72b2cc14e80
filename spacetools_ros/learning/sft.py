"""``spacetools train sft``: supervised fine-tuning of a Qwen2.5-VL-family checkpoint on teaching
conversations with TRL's ``SFTTrainer``.

The conversations are rendered by the package's chat template (``core.chat_markup``), the layout the
policy is prompted with at inference; the loss covers the assistant's tokens only (the template's
``{% generation %}`` span: what the assistant wrote and its ``<|im_end|>``), never the system
prompt, the user's words, tool results or image tokens. The vision tower and its projector
(``model.visual``) are frozen by default, as SpaceTools did. The checkpoint written is a plain
transformers folder (model, tokenizer with the chat template, image processor) that
``--policy local`` and an OpenAI-compatible server load.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from .train_config import SFTSettings, as_dict

CHECKPOINT = "checkpoint"


def mixed_dataset(settings: SFTSettings):
    """The teaching datasets of the settings, each repeated ``repeat`` times, shuffled with the seed;
    columns ``messages`` and ``images`` (opened as images).

    Raises:
        ConfigError: a folder that is not a teaching dataset.
    """
    from datasets import Image, Sequence, concatenate_datasets

    from .teach import load

    parts = []
    for src in settings.data:
        if not (Path(src.path) / "data").is_dir():
            raise ConfigError(f"data: {src.path} is not a spacetools data teach folder (no data/ inside)")
        ds = load(src.path).select_columns(["messages", "images"])
        parts += [ds] * src.repeat
    mixed = concatenate_datasets(parts).shuffle(seed=settings.seed)
    if len(mixed) == 0:
        raise ConfigError("data: the teaching datasets hold no conversations")
    return mixed.cast_column("images", Sequence(Image()))


def token_length(processor, row: dict) -> int:
    """Tokens of one conversation as the trainer lays it out (image tokens included)."""
    from trl.data_utils import prepare_multimodal_messages

    msgs = prepare_multimodal_messages(row["messages"], images=list(row["images"]))
    out = processor.apply_chat_template(msgs, tokenize=True, return_dict=True)
    ids = out["input_ids"]
    return len(ids[0]) if ids and isinstance(ids[0], list) else len(ids)


def drop_too_long(data, processor, max_length: int):
    """Leave out conversations longer than ``max_length`` tokens (cut, they would lose image tokens
    or the answer); (kept dataset, number left out)."""
    keep = [i for i, row in enumerate(data) if token_length(processor, row) <= max_length]
    return data.select(keep), len(data) - len(keep)


def freeze_vision(model) -> int:
    """Freeze the vision tower and projector (``model.model.visual``); the number of frozen parameters."""
    visual = getattr(getattr(model, "model", model), "visual", None)
    if visual is None:
        raise ConfigError("freeze_vision: the model has no vision tower (model.visual)")
    n = 0
    for p in visual.parameters():
        p.requires_grad_(False)
        n += p.numel()
    return n


def save_checkpoint(model, processor, out: Path) -> Path:
    """A plain transformers checkpoint: model weights and config, tokenizer with the chat template,
    image processor settings (and the images-only processor for servers without torchvision)."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.tokenizer.save_pretrained(out)
    processor.image_processor.save_pretrained(out)
    from .processor import write_remote_processor

    write_remote_processor(out)
    return out


def write_metrics(history: list[dict], path: Path) -> list[dict]:
    """The trainer's log history as a CSV (one row per logged step); the rows."""
    rows = [h for h in history if "loss" in h or "train_loss" in h]
    keys = sorted({k for h in rows for k in h})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return rows


def run_sft(settings: SFTSettings, progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    """Train; writes ``output_dir/checkpoint``, ``metrics.csv``, ``curves.png`` and ``summary.json``.

    Returns:
        The summary: steps, examples, first and last logged loss, trainable and frozen parameters, seconds.

    Raises:
        ConfigError: an unusable model folder or dataset.
    """
    from trl import SFTConfig, SFTTrainer

    from .curves import plot_curves

    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, processor, frozen, peft_config, use_cpu = load_for_training(settings)
    data = mixed_dataset(settings)
    if settings.max_length is not None:
        data, dropped = drop_too_long(data, processor, settings.max_length)
        if dropped:
            progress(f"[sft] {dropped} conversations longer than max_length {settings.max_length} tokens left out")
        if len(data) == 0:
            raise ConfigError(f"every conversation is longer than max_length {settings.max_length} tokens")
    progress(f"[sft] {len(data)} conversations, model {settings.model}, "
             f"{'cpu' if use_cpu else 'gpu'}, vision {'frozen' if frozen else 'trained'}")
    args = SFTConfig(
        output_dir=str(out / "trainer"), learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler_type, warmup_steps=settings.warmup_ratio,  # a float < 1: a ratio
        per_device_train_batch_size=settings.per_device_train_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps, max_steps=settings.max_steps,
        num_train_epochs=settings.num_train_epochs, max_length=settings.max_length, seed=settings.seed,
        logging_steps=settings.logging_steps, assistant_only_loss=True, use_cpu=use_cpu, bf16=settings.bf16,
        gradient_checkpointing=settings.gradient_checkpointing, save_strategy="no", report_to=[],
        dataloader_num_workers=0, disable_tqdm=False)
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=processor,
                         peft_config=peft_config)
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    result = trainer.train()
    model_out = trainer.model.merge_and_unload() if peft_config is not None else trainer.model
    save_checkpoint(model_out, processor, out / CHECKPOINT)
    rows = write_metrics(trainer.state.log_history, out / "metrics.csv")
    plot_curves(rows, "step", ["loss", "learning_rate"], out / "curves.png", "SFT")
    losses = [r["loss"] for r in rows if "loss" in r]
    summary = {"stage": "sft", "steps": int(trainer.state.global_step), "examples": len(data),
               "left_out_too_long": dropped if settings.max_length is not None else 0,
               "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
               "train_loss": float(result.training_loss), "trainable_params": trainable, "frozen_params": frozen,
               "seconds": round(time.perf_counter() - t0, 2), "checkpoint": str(out / CHECKPOINT),
               "settings": as_dict(settings)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    progress(f"[sft] {summary['steps']} steps, loss {summary['first_loss']} -> {summary['last_loss']}, "
             f"{summary['seconds']:.0f} s; checkpoint in {out / CHECKPOINT}")
    return summary


def load_for_training(settings) -> tuple[Any, Any, int, Any, bool]:
    """(model, processor, frozen parameters, LoRA config or None, use the CPU) for a training stage's
    settings (``TrainSettings``): the checkpoint in float32 (bf16 on request), the vision tower frozen
    when asked.

    Raises:
        ConfigError: the model folder is not a checkpoint.
    """
    import torch
    from transformers import AutoModelForImageTextToText

    from .processor import load_processor

    if not (Path(settings.model) / "config.json").is_file():
        raise ConfigError(f"model: {settings.model} is not a checkpoint folder (no config.json)")
    torch.manual_seed(settings.seed)
    use_cpu = settings.device == "cpu" or (settings.device == "auto" and not torch.cuda.is_available())
    model = AutoModelForImageTextToText.from_pretrained(settings.model, local_files_only=True,
                                                        dtype=torch.bfloat16 if settings.bf16 else torch.float32)
    processor = load_processor(settings.model, settings.min_pixels, settings.max_pixels)
    frozen = freeze_vision(model) if settings.freeze_vision else 0
    peft_config = None
    if settings.lora_r:
        from peft import LoraConfig

        peft_config = LoraConfig(r=settings.lora_r, lora_alpha=2 * settings.lora_r, lora_dropout=0.0,
                                 target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)")
    return model, processor, frozen, peft_config, use_cpu
