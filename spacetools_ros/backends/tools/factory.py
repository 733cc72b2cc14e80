"""The tool backends' registries (pointing, segmentation, depth, grasp) and ``build_toolshed``.

Offline CPU backends are the defaults; model backends are imported only when chosen, and refuse to
start without their weights, checkpoint or endpoint. Every tool factory is called with the toolshed's
shared ``cache`` (the offline perception cache; model backends do not use it) plus the chosen
backend's own keyword options.
"""

from __future__ import annotations

import importlib
from typing import Any

from ...core.errors import ConfigError
from ...core.safety import SafetyEnvelope
from ..registry import Factory, Registry, check_options
from .base import DepthBackend, GraspBackend, PointingBackend, SegmentationBackend, ToolWorld
from .grasp_sampler import GeometricGraspSampler, GraspSamplerConfig
from .offline import OfflinePointing, OfflineSegmentation, PerceptionCache, SensorDepth
from .toolshed import Toolshed
from .views import ViewScorer


def _model(target: str) -> Factory:
    """A factory of a model backend ``"module:Class"`` relative to this package, imported when it is built."""
    module, _, attr = target.partition(":")

    def build(*, cache: PerceptionCache | None = None, **options: Any) -> Any:
        cls = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        check_options(cls, options, attr)
        return cls(**options)

    build.__doc__ = f"{attr} (imported from {module} when chosen) with its keyword options."
    return build


def _offline_pointing(*, cache: PerceptionCache, spatial_frame: str = "camera") -> OfflinePointing:
    return OfflinePointing(cache, spatial_frame)


def _offline_segmentation(*, cache: PerceptionCache) -> OfflineSegmentation:
    return OfflineSegmentation(cache)


def _sensor_depth(*, cache: PerceptionCache | None = None) -> SensorDepth:
    return SensorDepth()


def _geometric_grasp(*, cache: PerceptionCache | None = None, config: GraspSamplerConfig | None = None,
                     seed: int = 0) -> GeometricGraspSampler:
    return GeometricGraspSampler(config, seed)


POINTING: Registry[PointingBackend] = Registry("pointing", {
    "offline": _offline_pointing,
    "openai": _model("vlm_pointer:OpenAIPointer"),
})
SEGMENTATION: Registry[SegmentationBackend] = Registry("segmentation", {
    "offline": _offline_segmentation,
    "sam2": _model("sam2_backend:Sam2Segmentation"),
})
DEPTH: Registry[DepthBackend] = Registry("depth", {
    "sensor": _sensor_depth,
    "transformers": _model("depth_model:TransformersDepth"),
})
GRASP: Registry[GraspBackend] = Registry("grasp", {
    "geometric": _geometric_grasp,
    "graspgen": _model("graspgen_backend:GraspGenBackend"),
})
REGISTRIES: dict[str, Registry] = {"pointing": POINTING, "segmentation": SEGMENTATION, "depth": DEPTH,
                                   "grasp": GRASP}
DEFAULTS: dict[str, str] = {"pointing": "offline", "segmentation": "offline", "depth": "sensor", "grasp": "geometric"}


def build_toolshed(world: ToolWorld | None = None, *, pointing: str = "offline", segmentation: str = "offline",
                   depth: str = "sensor", grasp: str = "geometric", options: dict[str, dict[str, Any]] | None = None,
                   safety: SafetyEnvelope | None = None) -> Toolshed:
    """A Toolshed with the chosen backends (each carries its registry name as ``name``).

    Args:
        world: what the robot tools act on (None: vision tools only).
        pointing / segmentation / depth / grasp: backend names in ``POINTING`` ... ``GRASP``.
        options: capability -> keyword options of the chosen backend (e.g.
            ``{"segmentation": {"checkpoint": "sam2.pt"}}``).
        safety: the envelope the robot tools enforce.

    Raises:
        ConfigError: an unknown backend name (all are checked before any is built), options for an
            unknown capability, or a backend that cannot start (missing weights, checkpoint or endpoint).
    """
    chosen = {"pointing": pointing, "segmentation": segmentation, "depth": depth, "grasp": grasp}
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(REGISTRIES))
    if unknown:
        raise ConfigError(f"options for unknown tool capabilities: {', '.join(map(str, unknown))[:120]} "
                          f"(one of: {', '.join(REGISTRIES)})")
    for kind, name in chosen.items():
        REGISTRIES[kind].check(name)
    cache = PerceptionCache()
    built = {kind: REGISTRIES[kind].create(name, cache=cache, **opts.get(kind, {})) for kind, name in chosen.items()}
    return Toolshed(built["pointing"], built["segmentation"], built["depth"], built["grasp"], world=world,
                    view_scorer=ViewScorer(cache), safety=safety)
