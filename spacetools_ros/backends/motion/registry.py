"""The motion backends' registry: ``embedded`` (the embedded planner on any ArmBackend) and ``moveit``
(MoveItPy on a MoveIt 2 install), each imported only when chosen.

Every factory takes the same keywords: ``robot`` (RobotSpec), ``arm`` (an ArmBackend), ``settings``
(MotionSettings) and ``moveit_group`` (the MoveIt planning group; used by ``moveit`` only).
"""

from __future__ import annotations

from typing import Any

from ...core.errors import ConfigError
from ...core.motion_api import MotionBackend
from ..registry import Registry


def _embedded(*, robot: Any, arm: Any, settings: Any, moveit_group: str | None = None) -> MotionBackend:
    from .embedded import EmbeddedMotion

    return EmbeddedMotion(robot, arm, settings.planner)


def _moveit(*, robot: Any, arm: Any, settings: Any, moveit_group: str | None = "panda_arm") -> MotionBackend:
    if not moveit_group:
        raise ConfigError("motion backend 'moveit' needs a planning group: set moveit_group")
    try:
        from .moveit import MoveItMotion

        return MoveItMotion(robot, moveit_group, arm.set_gripper, arm.gripper_width, arm.capture)
    except ImportError as exc:
        raise ConfigError(f"motion backend 'moveit' needs MoveIt 2 with moveit_py in this environment ({exc})") from exc


MOTION: Registry[MotionBackend] = Registry("motion", {"embedded": _embedded, "moveit": _moveit})
