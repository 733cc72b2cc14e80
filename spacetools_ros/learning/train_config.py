"""Training configuration files (YAML): read with bounds, unknown keys refused, relative paths taken
from the file's folder."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError

MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True)
class DataSource:
    """A teaching dataset (``spacetools data teach`` output) and how many times its rows are repeated
    in the mix (SpaceTools mixed single-tool : teacher demos about 1 : 3)."""

    path: str
    repeat: int = 1


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """What every training stage takes: the checkpoint, where to write, the optimiser's schedule and
    batch, the images' size, the device."""

    model: str
    output_dir: str
    learning_rate: float
    lr_scheduler_type: str
    warmup_ratio: float
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    max_steps: int
    num_train_epochs: float = 1.0
    freeze_vision: bool = True
    min_pixels: int = 56 * 56
    max_pixels: int = 512 * 512
    seed: int = 0
    logging_steps: int = 10
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool = False
    lora_r: int = 0  # > 0: train a LoRA adapter (peft) on the language model instead of all of it


@dataclass(frozen=True, kw_only=True)
class SFTSettings(TrainSettings):
    """``spacetools train sft``: supervised fine-tuning on teaching conversations (TRL ``SFTTrainer``,
    loss on the assistant's tokens only, images included).

    Defaults are SpaceTools' SFT: lr 2e-5, cosine schedule, warmup 0.1, global batch 8 (per-device
    batch x gradient accumulation), vision tower and projector frozen.
    """

    data: tuple[DataSource, ...]
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 8
    max_steps: int = 3000
    max_length: int | None = 8192
    gradient_checkpointing: bool = False


@dataclass(frozen=True, kw_only=True)
class GRPOSettings(TrainSettings):
    """``spacetools train grpo``: GRPO with live tools (TRL ``GRPOTrainer`` with this package's
    multi-turn rollouts, ``learning.rollout``).

    Defaults are SpaceTools' RL settings: group size 5, lr 1e-6, KL loss 0.01 (TRL's KL term is the
    low-variance k3 estimator), entropy 0, vision frozen, 8 assistant turns, tool responses cut to
    2048 characters, 8192 tokens.
    """

    tasks: str
    categories: tuple[str, ...] | None = None
    tools: tuple[str, ...] | None = None
    limit: int | None = None
    learning_rate: float = 1e-6
    lr_scheduler_type: str = "constant"
    warmup_ratio: float = 0.0
    num_generations: int = 5
    per_device_train_batch_size: int = 5
    gradient_accumulation_steps: int = 1
    max_steps: int = 100
    beta: float = 0.01
    loss_type: str = "grpo"
    temperature: float = 1.0
    top_p: float = 1.0
    max_turns: int = 8
    max_new_tokens: int = 256
    max_tool_response_chars: int = 2048
    max_tool_calls: int = 16
    max_total_tokens: int = 8192
    reward: str = "spacetools"
    reward_by_category: tuple[tuple[str, str], ...] = ()
    workers: int = 0
    ray_address: str | None = None
    logging_steps: int = 1
    generation: str = "transformers"  # transformers (each worker's model copy) | vllm (TRL's vLLM engine, GPU)
    vllm_mode: str = "colocate"  # colocate (in the trainer's process) | server (`trl vllm-serve`)
    vllm_server_base_url: str | None = None
    vllm_gpu_memory_utilization: float = 0.3


_BOUNDS: dict[str, tuple[float, float]] = {
    "learning_rate": (1e-9, 1.0), "warmup_ratio": (0.0, 1.0), "per_device_train_batch_size": (1, 1024),
    "gradient_accumulation_steps": (1, 4096), "max_steps": (-1, 10_000_000), "num_train_epochs": (0.0, 10_000.0),
    "max_length": (16, 1_000_000), "min_pixels": (28 * 28, 16_000_000), "max_pixels": (28 * 28, 16_000_000),
    "seed": (0, 2**31 - 1), "logging_steps": (1, 1_000_000), "lora_r": (0, 1024), "repeat": (1, 1000),
    "limit": (1, 10_000_000), "num_generations": (2, 256), "beta": (0.0, 10.0), "temperature": (0.0, 10.0),
    "top_p": (0.01, 1.0), "max_turns": (1, 64), "max_new_tokens": (1, 32768), "max_tool_response_chars": (16, 1_000_000),
    "max_tool_calls": (1, 1024), "max_total_tokens": (64, 1_000_000), "workers": (0, 1024),
    "vllm_gpu_memory_utilization": (0.05, 0.95),
}
_CHOICES = {"lr_scheduler_type": ("cosine", "linear", "constant", "constant_with_warmup"),
            "device": ("auto", "cpu", "cuda"), "loss_type": ("grpo", "dapo", "dr_grpo", "bnpo"),
            "reward": ("spacetools", "r1"), "generation": ("transformers", "vllm"),
            "vllm_mode": ("colocate", "server")}


def _check_value(name: str, value: Any, kind: Any) -> Any:
    """One setting against its annotation and bounds."""
    kind = str(kind)
    if value is None and "None" in kind:
        return None
    if kind.startswith("bool"):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r:.40}")
        return value
    if kind.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r:.40}")
    elif kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r:.40}")
        value = float(value)
    elif kind.startswith("str"):
        if not isinstance(value, str) or not value or len(value) > 4096:
            raise ConfigError(f"{name} must be a non-empty text, got {value!r:.40}")
    if name in _BOUNDS:
        lo, hi = _BOUNDS[name]
        if not lo <= value <= hi:
            raise ConfigError(f"{name} must be in [{lo}, {hi}], got {value}")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ConfigError(f"{name} must be one of {', '.join(_CHOICES[name])}, got {value!r:.40}")
    return value


def _resolve(base: Path, path: str) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def read_yaml(path: str | Path) -> dict:
    """A bounded YAML mapping.

    Raises:
        ConfigError: missing, too large, not YAML, or not a mapping.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config: no such file {path}")
    if p.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"--config: {path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config: {path} is not valid YAML ({str(exc)[:200]})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config: {path} must hold a mapping of settings")
    return doc


def _names(name: str, value: Any, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 64 or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of 1..64 names")
    bad = [v for v in value if allowed is not None and v not in allowed]
    if bad:
        raise ConfigError(f"{name}: unknown {', '.join(bad)[:200]} (known: {', '.join(allowed or ())})")
    return tuple(value)


def _settings(cls, what: str, doc: dict, base: Path, overrides: dict | None, required: tuple[str, ...],
              paths: tuple[str, ...], special: dict[str, Any]) -> Any:
    """``cls`` from a mapping: unknown and missing keys refused, every value checked (``special``:
    name -> parser for values that are not plain numbers, flags or text), ``paths`` resolved
    against ``base``."""
    doc = {**doc, **(overrides or {})}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {what} settings: {', '.join(unknown)[:200]} (known: {', '.join(fields)})")
    missing = [n for n in required if n not in doc]
    if missing:
        raise ConfigError(f"{what} settings need {', '.join(missing)}")
    values = {name: special[name](value) if name in special else _check_value(name, value, fields[name].type)
              for name, value in doc.items()}
    for name in paths:
        values[name] = _resolve(base, values[name])
    if values.get("min_pixels", fields["min_pixels"].default) > values.get("max_pixels", fields["max_pixels"].default):
        raise ConfigError("min_pixels must not exceed max_pixels")
    return cls(**values)


def _data_sources(base: Path):
    def parse(data: Any) -> tuple[DataSource, ...]:
        if not isinstance(data, list) or not 1 <= len(data) <= 64:
            raise ConfigError("data must be a list of 1..64 teaching datasets ({path: DIR, repeat: N})")
        sources = []
        for item in data:
            item = {"path": item} if isinstance(item, str) else item
            if not isinstance(item, dict) or set(item) - {"path", "repeat"} or "path" not in item:
                raise ConfigError("each data entry is a folder or {path: DIR, repeat: N}")
            sources.append(DataSource(_resolve(base, _check_value("data.path", item["path"], "str")),
                                      _check_value("repeat", item.get("repeat", 1), "int")))
        return tuple(sources)

    return parse


def _reward_map(value: Any) -> tuple[tuple[str, str], ...]:
    from ..core.rewards import REWARDS

    if not isinstance(value, dict) or len(value) > 64:
        raise ConfigError("reward_by_category maps categories to spacetools | r1")
    for cat, mode in value.items():
        if cat not in REWARDS or mode not in _CHOICES["reward"]:
            raise ConfigError(f"reward_by_category: {cat!r:.40} -> {mode!r:.40} (categories: "
                              f"{', '.join(REWARDS)}; rewards: spacetools, r1)")
    return tuple(sorted(value.items()))


def grpo_settings(doc: dict, base: Path, overrides: dict | None = None) -> GRPOSettings:
    """``GRPOSettings`` from a mapping (paths relative to ``base``).

    Raises:
        ConfigError: an unknown or missing key, a value of the wrong type or out of bounds, a batch
            that does not hold whole groups.
    """
    from ..core.rewards import REWARDS

    s = _settings(GRPOSettings, "GRPO", doc, base, overrides, ("model", "output_dir", "tasks"),
                  ("model", "output_dir", "tasks"),
                  {"categories": lambda v: None if v is None else _names("categories", v, tuple(REWARDS)),
                   "tools": lambda v: None if v is None else _names("tools", v),
                   "reward_by_category": _reward_map,
                   "ray_address": lambda v: None if v is None else _check_value("ray_address", v, "str"),
                   "vllm_server_base_url": lambda v: None if v is None else _check_value("vllm_server_base_url", v,
                                                                                         "str")})
    if s.generation == "vllm" and s.device == "cpu":
        raise ConfigError("generation: vllm needs a GPU (device: cuda or auto); on a CPU use generation: transformers")
    batch = s.per_device_train_batch_size * s.gradient_accumulation_steps
    if batch % s.num_generations:
        raise ConfigError(f"per_device_train_batch_size x gradient_accumulation_steps ({batch}) must be a multiple "
                          f"of num_generations ({s.num_generations}): a batch holds whole groups")
    return s


def sft_settings(doc: dict, base: Path, overrides: dict | None = None) -> SFTSettings:
    """``SFTSettings`` from a mapping (paths relative to ``base``).

    Raises:
        ConfigError: an unknown or missing key, a value of the wrong type or out of bounds.
    """
    return _settings(SFTSettings, "SFT", doc, base, overrides, ("model", "output_dir", "data"),
                     ("model", "output_dir"), {"data": _data_sources(base)})


def as_dict(settings: Any) -> dict[str, Any]:
    """Settings as plain data (for the run's record)."""
    return dataclasses.asdict(settings)


__all__ = ["DataSource", "GRPOSettings", "SFTSettings", "TrainSettings", "as_dict", "grpo_settings", "read_yaml",
           "sft_settings"]
