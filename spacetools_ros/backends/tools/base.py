"""Protocols of the tool backends and of the world the robot tools act in."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ...core.camera import CameraFrame
from ...core.geometry import Pose
from ...core.results import ActionResult


@runtime_checkable
class PointingBackend(Protocol):
    """Referring expression -> normalized image points (x = column, y = row)."""

    def point(self, frame: CameraFrame, description: str, all_matches: bool) -> list[tuple[float, float]]:
        """Points of the matching objects, best first; [] when nothing matches."""


@runtime_checkable
class SegmentationBackend(Protocol):
    """Prompt points -> object mask."""

    def segment(self, frame: CameraFrame, points_px: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
        """(bool H x W mask, score in 0..1) of the object under the points."""


@runtime_checkable
class DepthBackend(Protocol):
    """Metric depth of a frame."""

    def depth(self, frame: CameraFrame) -> tuple[np.ndarray, float]:
        """(H x W float32 metres along the optical axis, focal length px)."""


@runtime_checkable
class GraspBackend(Protocol):
    """Parallel-jaw grasps for the masked part of a camera-frame cloud."""

    def grasps(self, cloud_cam: np.ndarray, object_idx: np.ndarray) -> tuple[list[tuple[np.ndarray, float]], int]:
        """([(4x4 gripper-base pose in the camera frame, confidence)] best first, candidates tried).

        Raises:
            RuntimeError: with the protocol's message when no grasp survives.
        """


@runtime_checkable
class ToolWorld(Protocol):
    """What the robot tools act on: cameras and the grasp/place primitives."""

    def cameras(self) -> list[str]:
        """Camera names; the first is the robot's (scene) camera."""

    def capture(self, camera: str | None = None) -> CameraFrame:
        """A fresh RGB-D frame."""

    def execute_grasp(self, tcp_pose_base: Pose) -> ActionResult:
        """Grasp primitive (TCP pose in the base frame)."""

    def place_at(self, point_base: np.ndarray, support: str | None) -> ActionResult:
        """Place primitive (bottom centre of the held object, base frame)."""


def weights_path(path: str | None, *, backend: str, what: str, setting: str, hint: str, folder: bool = False,
                 allow_random_weights: bool = False) -> str | None:
    """The weights (or config) a real model backend needs: the path when it exists, None only for
    random weights asked for explicitly (tests).

    Raises:
        ConfigError: naming the missing or wrong setting.
    """
    from ...core.errors import ConfigError

    if not path:
        if allow_random_weights is True:
            return None
        raise ConfigError(f"{backend} needs {what}: set {setting} ({hint})")
    kind, ok = ("folder", Path(path).is_dir()) if folder else ("file", Path(path).is_file())
    if not ok:
        raise ConfigError(f"{backend}: the {what.split(' ', 1)[-1]} {str(path)[:200]!r} is not a {kind} ({setting})")
    return str(path)
