"""The policy backends' registry: ``scripted`` (offline), ``openai`` (an OpenAI-compatible server,
settings from config/policy_openai.yaml) and ``local`` (a Qwen2.5-VL checkpoint folder in-process),
each imported only when chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import ConfigError
from ..registry import Registry, check_options
from .base import PolicyBackend


def _local(*, model_dir: str | None = None, **options: Any) -> PolicyBackend:
    """LocalVLMPolicy from a checkpoint folder (``options``: its other keyword arguments)."""
    if not model_dir:
        raise ConfigError("policy backend 'local' needs a checkpoint: set model (a local Qwen2.5-VL checkpoint "
                          "folder)")
    if not Path(model_dir).is_dir():
        raise ConfigError(f"policy backend 'local': the checkpoint {str(model_dir)[:200]!r} is not a folder (model)")
    from .local_vlm import LocalVLMPolicy

    check_options(LocalVLMPolicy, options, "policy backend 'local'")
    try:
        return LocalVLMPolicy(model_dir, **options)
    except (OSError, ValueError) as exc:  # no model or tokenizer in the folder, or not one transformers loads
        raise ConfigError(f"policy backend 'local' could not load {str(model_dir)[:200]!r}: "
                          f"{type(exc).__name__}: {str(exc)[:300]}") from exc


POLICIES: Registry[PolicyBackend] = Registry("policy", {
    "scripted": f"{__package__}.scripted:ScriptedPolicy",
    "openai": f"{__package__}.openai_policy:OpenAIPolicy.from_config",  # path=, then setting overrides
    "local": _local,
})
