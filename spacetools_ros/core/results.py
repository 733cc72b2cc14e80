"""Structured results of motion primitives and episodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


class FailureReason(str, Enum):
    """Stable failure reasons reported by the motion layer and the primitives."""

    IK_FAILED = "ik_failed"
    NO_PATH = "no_path"
    COLLISION = "collision"
    GRASP_MISSED = "grasp_missed"
    OBJECT_DROPPED = "object_dropped"
    RELEASE_FAILED = "release_failed"
    TIMEOUT = "timeout"
    TRACKING_ERROR = "tracking_error"
    INVALID_TARGET = "invalid_target"
    NOT_HOLDING = "not_holding"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ActionResult:
    """Outcome of one primitive (``execute_grasp`` or ``place_at``).

    Attributes:
        action: ``"grasp"`` or ``"place"``.
        success: whether the primitive achieved its goal (object held / released).
        reason: ``None`` on success, else a ``FailureReason`` value.
        message: human-readable detail.
        execution_time_s: wall-clock or simulated seconds the primitive took.
        phase_times_s: seconds per phase (plan, approach, close, lift, ...).
        plan_times_s: planning time of each planner call, seconds.
        image: RGB image (H, W, 3) uint8 from the scene camera after the action, or None.
        point_base: for a place, the point (base frame, m) its object was put at, which the world
            may have moved from the one asked for (the middle of a dish, a free spot beside a
            crowd); None where the backend does not report it.
    """

    action: str
    success: bool
    reason: str | None = None
    message: str = ""
    execution_time_s: float = 0.0
    phase_times_s: dict[str, float] = field(default_factory=dict)
    plan_times_s: tuple[float, ...] = ()
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    point_base: tuple[float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the image is left out)."""
        return {
            "action": self.action,
            "success": self.success,
            "reason": self.reason,
            "message": self.message,
            "execution_time_s": round(self.execution_time_s, 4),
            "phase_times_s": {k: round(v, 4) for k, v in self.phase_times_s.items()},
            "plan_times_s": [round(t, 4) for t in self.plan_times_s],
            **({} if self.point_base is None else {"point_base": [round(float(v), 4) for v in self.point_base]}),
        }
