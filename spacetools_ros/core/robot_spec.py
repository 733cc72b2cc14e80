"""Robot specifics (joint names, limits, home pose, TCP), loaded from one YAML data file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import ConfigError
from .paths import config_dir


@dataclass(frozen=True)
class RobotSpec:
    """Kinematic and dynamic limits of the arm and gripper.

    Angles in rad, velocities rad/s, accelerations rad/s^2, lengths m.
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


_ARRAYS = ("position_lower_rad", "position_upper_rad", "velocity_limit_rad_s", "acceleration_limit_rad_s2", "home_rad")


def load_robot_spec(path: str | Path | None = None) -> RobotSpec:
    """Load a robot description (default: the packaged Panda).

    Raises:
        ConfigError: on a missing file, missing field or inconsistent lengths.
    """
    p = Path(path) if path else config_dir() / "robot_panda.yaml"
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read robot spec {p}: {exc}") from exc
    try:
        n = len(data["arm_joints"])
        kw = {k: np.asarray(data[k], dtype=float) for k in _ARRAYS}
        for k, v in kw.items():
            if v.shape != (n,):
                raise ConfigError(f"{p}: {k} must have {n} values")
        return RobotSpec(
            name=str(data["name"]), base_frame=str(data["base_frame"]), flange_frame=str(data["flange_frame"]),
            tcp_frame=str(data["tcp_frame"]), arm_joints=tuple(data["arm_joints"]),
            finger_joints=tuple(data["finger_joints"]), hand_yaw_on_flange_rad=float(data["hand_yaw_on_flange_rad"]),
            tcp_offset_from_hand_m=float(data["tcp_offset_from_hand_m"]),
            gripper_max_width_m=float(data["gripper_max_width_m"]), gripper_force_n=float(data["gripper_force_n"]),
            **kw,
        )
    except KeyError as exc:
        raise ConfigError(f"{p}: missing field {exc}") from exc
