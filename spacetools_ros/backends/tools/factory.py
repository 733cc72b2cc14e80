"""Builds a toolshed from backend names (offline CPU defaults; real models lazily imported)."""

from __future__ import annotations

from typing import Any

from ...core.errors import ConfigError
from ...core.safety import SafetyEnvelope
from .base import ToolWorld
from .grasp_sampler import GeometricGraspSampler
from .offline import OfflinePointing, OfflineSegmentation, PerceptionCache, SensorDepth
from .toolshed import Toolshed
from .views import ViewScorer

POINTING = ("offline", "openai")
SEGMENTATION = ("offline", "sam2")
DEPTH = ("sensor", "transformers")
GRASP = ("geometric", "graspgen")


def build_toolshed(world: ToolWorld | None = None, *, pointing: str = "offline", segmentation: str = "offline",
                   depth: str = "sensor", grasp: str = "geometric", options: dict[str, Any] | None = None,
                   safety: SafetyEnvelope | None = None) -> Toolshed:
    """A Toolshed with the chosen backends.

    Raises:
        ConfigError: unknown backend names.
    """
    opts = options or {}
    for kind, value, allowed in (("pointing", pointing, POINTING), ("segmentation", segmentation, SEGMENTATION),
                                 ("depth", depth, DEPTH), ("grasp", grasp, GRASP)):
        if value not in allowed:
            raise ConfigError(f"unknown {kind} backend {value!r} (one of: {', '.join(allowed)})")
    cache = PerceptionCache()
    if pointing == "openai":
        from .vlm_pointer import OpenAIPointer

        point_backend = OpenAIPointer(**opts.get("pointing", {}))
    else:
        point_backend = OfflinePointing(cache)
    if segmentation == "sam2":
        from .sam2_backend import Sam2Segmentation

        seg_backend = Sam2Segmentation(**opts.get("segmentation", {}))
    else:
        seg_backend = OfflineSegmentation(cache)
    if depth == "transformers":
        from .depth_model import TransformersDepth

        depth_backend = TransformersDepth(**opts.get("depth", {}))
    else:
        depth_backend = SensorDepth()
    if grasp == "graspgen":
        from .graspgen_backend import GraspGenBackend

        grasp_backend = GraspGenBackend(**opts.get("grasp", {}))
    else:
        grasp_backend = GeometricGraspSampler()
    return Toolshed(point_backend, seg_backend, depth_backend, grasp_backend, world=world,
                    view_scorer=ViewScorer(cache), safety=safety)
