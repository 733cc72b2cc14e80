"""Which tool backends: the four backend names and the model backends' settings, from parameters
(config/tool_server.yaml, or keyword arguments), turned into a Toolshed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backends.tools.factory import DEFAULTS, REGISTRIES, build_toolshed
from ..backends.tools.toolshed import Toolshed
from ..core.errors import ConfigError
from ..core.safety import SafetyEnvelope

# parameter -> (capability, backend it configures, that backend's keyword, default; "" = unset)
MODEL_PARAMETERS: dict[str, tuple[str, str, str, str]] = {
    "spatial_frame": ("pointing", "offline", "spatial_frame", ""),
    "pointing_url": ("pointing", "openai", "base_url", ""),
    "pointing_model": ("pointing", "openai", "model", ""),
    "sam2_checkpoint": ("segmentation", "sam2", "checkpoint", ""),
    "sam2_model_cfg": ("segmentation", "sam2", "model_cfg", "configs/sam2.1/sam2.1_hiera_s.yaml"),
    "sam2_device": ("segmentation", "sam2", "device", "cpu"),
    "depth_model_path": ("depth", "transformers", "model_path", ""),
    "depth_device": ("depth", "transformers", "device", "cpu"),
    "graspgen_gripper_config": ("grasp", "graspgen", "gripper_config", ""),
}


def toolshed_parameters() -> dict[str, str]:
    """Every toolshed parameter with its default (``<capability>_backend`` and ``MODEL_PARAMETERS``)."""
    return {**{f"{kind}_backend": name for kind, name in DEFAULTS.items()},
            **{p: spec[3] for p, spec in MODEL_PARAMETERS.items()}}


@dataclass(frozen=True)
class ToolshedConfig:
    """The chosen tool backends and the options of each.

    Attributes:
        pointing / segmentation / depth / grasp: backend names (registries in backends/tools/factory.py).
        options: capability -> keyword options of its chosen backend.
    """

    pointing: str = DEFAULTS["pointing"]
    segmentation: str = DEFAULTS["segmentation"]
    depth: str = DEFAULTS["depth"]
    grasp: str = DEFAULTS["grasp"]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @staticmethod
    def from_params(params: Mapping[str, Any]) -> ToolshedConfig:
        """The config from parameters named as in ``toolshed_parameters()`` (missing ones take their
        defaults; a model setting goes to its backend only when that backend is chosen).

        Raises:
            ConfigError: an unknown parameter or backend name, or a setting that is not a string.
        """
        known = toolshed_parameters()
        unknown = sorted(str(k) for k in params if k not in known)
        if unknown:
            raise ConfigError(f"unknown toolshed parameter(s): {', '.join(unknown)[:120]}")
        values = {**known, **params}
        for key, value in values.items():
            if not isinstance(value, str):
                raise ConfigError(f"toolshed parameter {key} must be a string, got {type(value).__name__}")
        chosen = {kind: REGISTRIES[kind].check(values[f"{kind}_backend"]) for kind in REGISTRIES}
        options: dict[str, dict[str, Any]] = {kind: {} for kind in REGISTRIES}
        for param, (kind, backend, keyword, _default) in MODEL_PARAMETERS.items():
            if chosen[kind] == backend and values[param]:
                options[kind][keyword] = values[param]
        return ToolshedConfig(**chosen, options={k: v for k, v in options.items() if v})

    def build(self, world: Any = None, safety: SafetyEnvelope | None = None) -> Toolshed:
        """The Toolshed (each backend carries its registry name as ``name``).

        Raises:
            ConfigError: a backend that cannot start (missing weights, checkpoint or endpoint).
        """
        return build_toolshed(world, pointing=self.pointing, segmentation=self.segmentation, depth=self.depth,
                              grasp=self.grasp, options={k: dict(v) for k, v in self.options.items()}, safety=safety)
