"""Robot specifics (joint names, limits, home pose, TCP), loaded from one YAML data file."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .paths import config_dir
from .safe_yaml import YamlReadError, clip, read_yaml

MAX_ROBOT_FILE_BYTES = 1024 * 1024
MAX_JOINTS = 32


@dataclass(frozen=True)
class RobotSpec:
    """Kinematic and dynamic limits of the arm and gripper.

    Angles in rad, velocities rad/s, accelerations rad/s^2, jerks rad/s^3, lengths m.
    """

    name: str
    base_frame: str
    flange_frame: str
    tcp_frame: str
    arm_joints: tuple[str, ...]
    finger_joints: tuple[str, ...]
    position_lower_rad: np.ndarray
    position_upper_rad: np.ndarray
    velocity_limit_rad_s: np.ndarray
    acceleration_limit_rad_s2: np.ndarray
    jerk_limit_rad_s3: np.ndarray
    home_rad: np.ndarray
    hand_yaw_on_flange_rad: float
    tcp_offset_from_hand_m: float
    gripper_max_width_m: float
    gripper_force_n: float

    @property
    def dof(self) -> int:
        """Number of arm joints."""
        return len(self.arm_joints)

    def within_limits(self, q: np.ndarray, tol: float = 1e-6) -> bool:
        """Whether a configuration is inside the position limits."""
        q = np.asarray(q, dtype=float)
        return bool(np.all(q >= self.position_lower_rad - tol) and np.all(q <= self.position_upper_rad + tol))


_ARRAYS = ("position_lower_rad", "position_upper_rad", "velocity_limit_rad_s", "acceleration_limit_rad_s2",
           "jerk_limit_rad_s3", "home_rad")
_POSITIVE = ("jerk_limit_rad_s3",)


def _text(data: dict, key: str, where: str) -> str:
    v = data[key]
    if not isinstance(v, str) or not 1 <= len(v) <= 128:
        raise ConfigError(f"{where}: {key} must be a name of 1..128 characters")
    return v


def _names(data: dict, key: str, where: str) -> tuple[str, ...]:
    v = data[key]
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_JOINTS:
        raise ConfigError(f"{where}: {key} must be a list of 1..{MAX_JOINTS} joint names")
    for x in v:
        if not isinstance(x, str) or not 1 <= len(x) <= 128:
            raise ConfigError(f"{where}: {key} must hold names of 1..128 characters")
    return tuple(v)


def _finite(v: Any, key: str, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: {key} must be a number")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ConfigError(f"{where}: {key} must be finite")
    return x


def load_robot_spec(path: str | Path | None = None) -> RobotSpec:
    """Load a robot description (default: the packaged Panda), read by ``core.safe_yaml``.

    Raises:
        ConfigError: on a missing, oversized or unsafe file, a missing field, a wrong type, a non-finite
            number, a jerk limit that is not positive or inconsistent lengths.
    """
    p = Path(path) if path else config_dir() / "robot_panda.yaml"
    where = clip(str(p))
    try:
        data = read_yaml(p, MAX_ROBOT_FILE_BYTES, "robot spec")
    except YamlReadError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    try:
        arm_joints = _names(data, "arm_joints", where)
        n = len(arm_joints)
        kw = {}
        for k in _ARRAYS:
            v = data[k]
            if not isinstance(v, list) or len(v) != n:
                raise ConfigError(f"{where}: {k} must have {n} values")
            kw[k] = np.array([_finite(x, k, where) for x in v], dtype=float)
            if k in _POSITIVE and np.any(kw[k] <= 0):
                raise ConfigError(f"{where}: {k} must be positive")
        return RobotSpec(
            name=_text(data, "name", where), base_frame=_text(data, "base_frame", where),
            flange_frame=_text(data, "flange_frame", where), tcp_frame=_text(data, "tcp_frame", where),
            arm_joints=arm_joints, finger_joints=_names(data, "finger_joints", where),
            hand_yaw_on_flange_rad=_finite(data["hand_yaw_on_flange_rad"], "hand_yaw_on_flange_rad", where),
            tcp_offset_from_hand_m=_finite(data["tcp_offset_from_hand_m"], "tcp_offset_from_hand_m", where),
            gripper_max_width_m=_finite(data["gripper_max_width_m"], "gripper_max_width_m", where),
            gripper_force_n=_finite(data["gripper_force_n"], "gripper_force_n", where),
            **kw,
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing field {clip(str(exc), 60)}") from None
