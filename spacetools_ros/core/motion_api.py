"""Protocols of the motion layer, with the primitives that call them: the arm (execution) and the
motion backend (plan + execute)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .camera import CameraFrame
from .geometry import Pose
from .planning_scene import PlanningScene
from .trajectory import JointTrajectory


@dataclass(frozen=True)
class ExecutionReport:
    """How a trajectory execution went (times in seconds of the arm's clock)."""

    duration_s: float
    max_tracking_error_rad: float


@runtime_checkable
class ArmBackend(Protocol):
    """The physical (or simulated) arm and gripper as seen by the motion layer."""

    joint_names: tuple[str, ...]

    def joint_positions(self) -> np.ndarray:
        """Measured arm joint positions, rad."""

    def gripper_width(self) -> float:
        """Measured finger opening, m."""

    def execute(self, traj: JointTrajectory) -> ExecutionReport:
        """Run a trajectory to its end, monitoring it.

        Raises:
            MotionFailure: ``tracking_error`` (the arm hit something or lags), ``timeout``,
                ``cancelled``.
        """

    def set_gripper(self, width_m: float) -> float:
        """Move the fingers to ``width_m`` (force-limited) and return the width reached."""

    def stop(self) -> None:
        """Stop the arm now, holding position."""

    def capture(self) -> CameraFrame | None:
        """An RGB-D frame from the scene camera, if the arm's world has one."""

    def now_s(self) -> float:
        """The arm's clock (simulated or ROS time), seconds."""


@runtime_checkable
class MotionBackend(Protocol):
    """Plan-and-execute interface used by the grasp/place primitives."""

    def set_planning_scene(self, scene: PlanningScene) -> None:
        """Replace the obstacles (and the attached object)."""

    def planning_scene(self) -> PlanningScene:
        """The current planning scene."""

    def current_joints(self) -> np.ndarray:
        """Measured arm joint positions, rad."""

    def tcp_pose(self, q: np.ndarray | None = None) -> Pose:
        """TCP pose in the base frame (at ``q``, default: measured)."""

    def gripper_width(self) -> float:
        """Measured finger opening, m."""

    def ik(self, pose: Pose, *, allowed: frozenset = frozenset(), finger_width_m: float | None = None) -> np.ndarray:
        """Collision-free IK solution (raises MotionFailure ``ik_failed``)."""

    def move_joints(self, q_goal: np.ndarray, *, allowed: frozenset = frozenset(), speed_scale: float = 1.0) -> MotionStep:
        """Plan a collision-free path to ``q_goal`` and execute it (``speed_scale`` slows it down)."""

    def move_linear(self, goal: Pose, *, allowed: frozenset = frozenset()) -> MotionStep:
        """Move the TCP along a straight line to ``goal``."""

    def set_gripper(self, width_m: float) -> float:
        """Move the fingers; returns the width reached, m."""

    def capture(self) -> CameraFrame | None:
        """A frame from the scene camera, if available."""

    def now_s(self) -> float:
        """The backend's clock, seconds."""


@dataclass(frozen=True)
class MotionStep:
    """Result of one planned-and-executed motion (seconds)."""

    plan_time_s: float
    trajectory_duration_s: float
    execution_time_s: float


MotionFactory = Callable[..., MotionBackend]
