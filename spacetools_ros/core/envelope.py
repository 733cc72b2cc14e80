"""The safety envelope's rules, in one place: the tool-level check (core/safety.py) and the motion
layer's last-line check (core/manipulation.py) both call these functions, so they cannot disagree.

Frames: base frame (x forward, y left, z up; the table top is z = 0), metres. A TCP pose's z axis
is the approach direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Pose


@dataclass(frozen=True)
class Workspace:
    """Safety envelope for TCP targets and place points, base frame, metres.

    Attributes:
        min_downward_approach: cos of the largest tilt of a grasp's approach from straight down.
        min_tcp_height_m: table clearance of a grasp TCP (the finger tips reach 9 mm below it).
    """

    x_m: tuple[float, float] = (0.15, 0.90)
    y_m: tuple[float, float] = (-0.60, 0.60)
    z_m: tuple[float, float] = (0.0, 0.70)
    min_downward_approach: float = 0.5
    min_tcp_height_m: float = 0.011

    def contains(self, p: np.ndarray) -> bool:
        """Whether a point lies inside the box."""
        return (self.x_m[0] <= p[0] <= self.x_m[1] and self.y_m[0] <= p[1] <= self.y_m[1]
                and self.z_m[0] <= p[2] <= self.z_m[1])

    def describe(self) -> str:
        """The box, for messages."""
        return f"x {list(self.x_m)}, y {list(self.y_m)}, z {list(self.z_m)}"


def _rounded(p: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in p]


def _is_rotation(r: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(r)) and abs(np.linalg.det(r) - 1.0) < 1e-3
                and np.abs(r.T @ r - np.eye(3)).max() < 1e-3)


def grasp_violation(tcp: Pose, ws: Workspace) -> str | None:
    """Why a grasp TCP pose (base frame) is outside the envelope, or None when it is inside.

    Checks: finite, a proper rotation, inside the box, table clearance, approach within the
    cone around straight down.
    """
    p = np.asarray(tcp.position, dtype=float)
    if p.shape != (3,) or not np.all(np.isfinite(p)) or not _is_rotation(np.asarray(tcp.rotation, dtype=float)):
        return "grasp pose is not a finite rigid transform"
    if not ws.contains(p):
        return f"grasp at {_rounded(p)} m is outside the safety envelope ({ws.describe()})"
    if p[2] < ws.z_m[0] + ws.min_tcp_height_m:
        return f"grasp at {_rounded(p)} m is too close to the table (TCP at least {ws.min_tcp_height_m} m above it)"
    if -float(tcp.rotation[2, 2]) < ws.min_downward_approach:
        return "grasps must approach from above"
    return None


def place_violation(point: np.ndarray, ws: Workspace, surface_tol_m: float = 0.02) -> str | None:
    """Why a place point (where the object's bottom goes, base frame) is outside the envelope.

    Table points measured by a camera may sit up to ``surface_tol_m`` below z = 0.
    """
    p = np.asarray(point, dtype=float)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        return "placement point is not a finite 3D point"
    on_surface = np.array([p[0], p[1], max(p[2], ws.z_m[0])])
    if p[2] < ws.z_m[0] - surface_tol_m or not ws.contains(on_surface):
        return f"placement at {_rounded(p)} m is outside the safety envelope ({ws.describe()})"
    return None


def approach_violation(tcp: Pose, ws: Workspace) -> str | None:
    """Why a TCP pose that lowers or places an object tilts too far from straight down."""
    if not _is_rotation(np.asarray(tcp.rotation, dtype=float)):
        return "pose rotation is not a proper rotation"
    if -float(tcp.rotation[2, 2]) < ws.min_downward_approach:
        return "the hand would not point downwards"
    return None


def trajectory_violation(positions: np.ndarray, limit_ratios: tuple[float, float], lower_rad: np.ndarray,
                         upper_rad: np.ndarray, q_now: np.ndarray, *, position_tol_rad: float = 0.02,
                         start_tol_rad: float = 0.05, ratio_tol: float = 0.02) -> str | None:
    """Why a timed joint trajectory must not be sent to the arm, or None.

    Args:
        positions: (N, J) waypoints, rad.
        limit_ratios: its largest |v|/vmax and |a|/amax against the configured (scaled) limits.
        lower_rad, upper_rad: joint position limits.
        q_now: the measured configuration: the trajectory must start there (no jumps).
    """
    q = np.asarray(positions, dtype=float)
    if q.ndim != 2 or not np.all(np.isfinite(q)):
        return "trajectory positions are not finite"
    if np.any(q < lower_rad - position_tol_rad) or np.any(q > upper_rad + position_tol_rad):
        return "trajectory leaves the joint position limits"
    if np.abs(q[0] - np.asarray(q_now, dtype=float)).max() > start_tol_rad:
        return "trajectory does not start at the measured configuration"
    rv, ra = limit_ratios
    if not (np.isfinite(rv) and np.isfinite(ra)) or rv > 1.0 + ratio_tol or ra > 1.0 + ratio_tol:
        return f"trajectory exceeds the joint speed/acceleration limits ({rv:.2f}x, {ra:.2f}x of motion.yaml's)"
    return None
