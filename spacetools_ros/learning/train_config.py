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


@dataclass(frozen=True)
class SFTSettings:
    """``spacetools train sft``: supervised fine-tuning on teaching conversations (TRL ``SFTTrainer``,
    loss on the assistant's tokens only, images included).

    Defaults are SpaceTools' SFT: lr 2e-5, cosine schedule, warmup 0.1, global batch 8 (per-device
    batch x gradient accumulation), vision tower and projector frozen.
    """

    model: str
    output_dir: str
    data: tuple[DataSource, ...]
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 8
    max_steps: int = 3000
    num_train_epochs: float = 1.0
    max_length: int | None = 8192
    freeze_vision: bool = True
    min_pixels: int = 56 * 56
    max_pixels: int = 512 * 512
    seed: int = 0
    logging_steps: int = 10
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool = False
    gradient_checkpointing: bool = False
    lora_r: int = 0  # > 0: train a LoRA adapter (peft) on the language model instead of all of it


_BOUNDS: dict[str, tuple[float, float]] = {
    "learning_rate": (1e-9, 1.0), "warmup_ratio": (0.0, 1.0), "per_device_train_batch_size": (1, 1024),
    "gradient_accumulation_steps": (1, 4096), "max_steps": (-1, 10_000_000), "num_train_epochs": (0.0, 10_000.0),
    "max_length": (16, 1_000_000), "min_pixels": (28 * 28, 16_000_000), "max_pixels": (28 * 28, 16_000_000),
    "seed": (0, 2**31 - 1), "logging_steps": (1, 1_000_000), "lora_r": (0, 1024), "repeat": (1, 1000),
}
_CHOICES = {"lr_scheduler_type": ("cosine", "linear", "constant", "constant_with_warmup"),
            "device": ("auto", "cpu", "cuda")}


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


def sft_settings(doc: dict, base: Path, overrides: dict | None = None) -> SFTSettings:
    """``SFTSettings`` from a mapping (paths relative to ``base``).

    Raises:
        ConfigError: an unknown or missing key, a value of the wrong type or out of bounds.
    """
    doc = {**doc, **(overrides or {})}
    fields = {f.name: f for f in dataclasses.fields(SFTSettings)}
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise ConfigError(f"unknown SFT settings: {', '.join(unknown)[:200]} (known: {', '.join(fields)})")
    missing = [n for n in ("model", "output_dir", "data") if n not in doc]
    if missing:
        raise ConfigError(f"SFT settings need {', '.join(missing)}")
    data = doc["data"]
    if not isinstance(data, list) or not 1 <= len(data) <= 64:
        raise ConfigError("data must be a list of 1..64 teaching datasets ({path: DIR, repeat: N})")
    sources = []
    for item in data:
        item = {"path": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or set(item) - {"path", "repeat"} or "path" not in item:
            raise ConfigError("each data entry is a folder or {path: DIR, repeat: N}")
        sources.append(DataSource(_resolve(base, _check_value("data.path", item["path"], "str")),
                                  _check_value("repeat", item.get("repeat", 1), "int")))
    values: dict[str, Any] = {"data": tuple(sources)}
    for name, value in doc.items():
        if name == "data":
            continue
        values[name] = _check_value(name, value, fields[name].type)
    values["model"] = _resolve(base, values["model"])
    values["output_dir"] = _resolve(base, values["output_dir"])
    if values.get("min_pixels", SFTSettings.min_pixels) > values.get("max_pixels", SFTSettings.max_pixels):
        raise ConfigError("min_pixels must not exceed max_pixels")
    return SFTSettings(**values)


def as_dict(settings: Any) -> dict[str, Any]:
    """Settings as plain data (for the run's record)."""
    return dataclasses.asdict(settings)


__all__ = ["DataSource", "SFTSettings", "as_dict", "read_yaml", "sft_settings"]
