"""One place that turns motion parameters (YAML / ROS parameters) into config dataclasses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import ConfigError
from ...core.envelope import Workspace
from ...core.manipulation import PrimitiveConfig
from ...core.monitor import MonitorConfig
from ...core.paths import config_dir
from ...core.safe_yaml import YamlReadError, clip, read_yaml
from ...core.tools.decode import short
from .embedded_planner import PlannerConfig
from .registry import MOTION

MAX_PARAM_FILE_BYTES = 1024 * 1024

# key: (default, lowest, highest, lowest excluded). Every motion number is finite and inside its range.
_RANGES: dict[str, tuple[float, float, float, bool]] = {
    "velocity_scaling": (0.5, 0.0, 1.0, True),
    "acceleration_scaling": (0.5, 0.0, 1.0, True),
    "jerk_scaling": (0.5, 0.0, 1.0, True),
    "transport_speed_scale": (0.7, 0.0, 1.0, True),
    "slender_speed_factor": (0.6, 0.0, 1.0, True),
    "planning_time_s": (2.0, 0.0, 60.0, True),
    "max_replans": (3, 1, 20, False),
    "check_step_m": (0.005, 0.0005, 0.005, False),
    "cartesian_step_m": (0.005, 0.0005, 0.05, False),
    "max_tracking_error_rad": (0.08, 0.0, 1.0, True),
    "goal_tolerance_rad": (0.01, 0.0, 0.5, True),
    "timeout_margin_s": (1.5, 0.0, 60.0, False),
    "approach_distance_m": (0.10, 0.0, 0.5, False),
    "lift_height_m": (0.12, 0.0, 0.5, False),
    "retreat_height_m": (0.10, 0.0, 0.5, False),
    "place_drop_m": (0.008, 0.0, 0.1, False),
    "min_hold_width_m": (0.004, 0.0, 0.08, False),
    "min_downward_approach": (0.5, 0.0, 1.0, False),  # cos of the largest grasp tilt from straight down
    "min_tcp_height_m": (0.011, 0.0, 0.2, False),     # a grasp TCP's clearance above the table
}
_WORKSPACE_LIMIT_M = 5.0


@dataclass(frozen=True)
class MotionSettings:
    """Everything the motion layer is configured with."""

    backend: str
    planner: PlannerConfig
    monitor: MonitorConfig
    primitives: PrimitiveConfig


def load_params(path: str | Path, node: str) -> dict[str, Any]:
    """``ros__parameters`` of one node from a ROS 2 parameter YAML file (read by ``core.safe_yaml``).

    Raises:
        ConfigError: when the file is missing, too large, not safe YAML, or has no section for the node.
    """
    p = Path(path)
    try:
        data = read_yaml(p, MAX_PARAM_FILE_BYTES, "parameter")
    except YamlReadError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"parameter file {clip(str(p))}: expected a mapping at the top level")
    for key in (node, f"/{node}", "/**"):
        section = data.get(key)
        if isinstance(section, dict) and "ros__parameters" in section:
            params = section["ros__parameters"]
            if not isinstance(params, dict):
                raise ConfigError(f"parameter file {clip(str(p))}: {key}.ros__parameters must be a mapping")
            return dict(params)
    raise ConfigError(f"{clip(str(p))} has no '{clip(node, 40)}: ros__parameters:' section")


def _number(params: dict, key: str) -> float:
    """A finite number inside its range (``_RANGES``); ``max_replans`` must be an integer."""
    default, lo, hi, lo_open = _RANGES[key]
    v = params.get(key, default)
    integer = isinstance(default, int)
    if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{key} must be {kind}, got {short(v, 40)} ({type(v).__name__})")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo):
        shown = f"{x:.6g}" if math.isfinite(x) else ("a huge integer" if isinstance(v, int) else repr(x))
        raise ConfigError(f"{key} must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {shown}")
    return x


def _pair(params: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    v = params.get(key, list(default))
    if (not isinstance(v, (list, tuple)) or len(v) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
        raise ConfigError(f"{key} must be a list of two numbers, got {short(v, 40)}")
    try:
        lo, hi = float(v[0]), float(v[1])
    except OverflowError:
        raise ConfigError(f"{key} must be two finite numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"{key} must be two finite numbers, got {short(v, 40)}")
    if not -_WORKSPACE_LIMIT_M <= lo < hi <= _WORKSPACE_LIMIT_M:
        raise ConfigError(f"{key} must be [low, high] with low < high within +-{_WORKSPACE_LIMIT_M:g} m, "
                          f"got [{lo:.6g}, {hi:.6g}]")
    return lo, hi


def _flag(params: dict[str, Any], key: str, default: bool) -> bool:
    """A true/false parameter (no numbers or strings standing in for it)."""
    v = params.get(key, default)
    if not isinstance(v, bool):
        raise ConfigError(f"{key} must be true or false, got {short(v, 40)} ({type(v).__name__})")
    return v


def motion_settings(params: dict[str, Any] | None = None) -> MotionSettings:
    """Motion settings from parameters (defaults: config/motion.yaml).

    Raises:
        ConfigError: on unknown keys, wrong types, non-finite or out-of-range values (see ``_RANGES``).
    """
    if params is None:
        params = load_params(config_dir() / "motion.yaml", "spacetools_motion")
    known = {"backend", "velocity_scaling", "acceleration_scaling", "jerk_scaling", "planning_time_s", "max_replans",
             "check_step_m", "cartesian_step_m", "max_tracking_error_rad", "goal_tolerance_rad", "timeout_margin_s",
             "approach_distance_m", "lift_height_m", "retreat_height_m", "place_drop_m", "min_hold_width_m", "recentre_round_grasps",
             "transport_speed_scale", "slender_speed_factor", "workspace_x_m", "workspace_y_m", "workspace_z_m", "use_sim_time",
             "min_downward_approach", "min_tcp_height_m"}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ConfigError("motion parameters must be a mapping with string keys")
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"unknown motion parameter(s): {short(', '.join(unknown), 120)}")
    num = {key: _number(params, key) for key in _RANGES}
    planner = PlannerConfig(
        velocity_scaling=num["velocity_scaling"],
        acceleration_scaling=num["acceleration_scaling"],
        jerk_scaling=num["jerk_scaling"],
        planning_time_s=num["planning_time_s"],
        max_replans=int(num["max_replans"]),
        check_step_m=num["check_step_m"],
        cartesian_step_m=num["cartesian_step_m"],
    )
    monitor = MonitorConfig(
        max_tracking_error_rad=num["max_tracking_error_rad"],
        goal_tolerance_rad=num["goal_tolerance_rad"],
        timeout_margin_s=num["timeout_margin_s"],
    )
    prim = PrimitiveConfig(
        approach_distance_m=num["approach_distance_m"],
        lift_height_m=num["lift_height_m"],
        retreat_height_m=num["retreat_height_m"],
        place_drop_m=num["place_drop_m"],
        min_hold_width_m=num["min_hold_width_m"],
        recentre_round_grasps=_flag(params, "recentre_round_grasps", True),
        transport_speed_scale=num["transport_speed_scale"],
        slender_speed_factor=num["slender_speed_factor"],
        workspace=Workspace(_pair(params, "workspace_x_m", (0.15, 0.9)), _pair(params, "workspace_y_m", (-0.6, 0.6)),
                            _pair(params, "workspace_z_m", (0.0, 0.7)), num["min_downward_approach"],
                            num["min_tcp_height_m"]),
    )
    backend = MOTION.check(params.get("backend", "embedded"))
    return MotionSettings(backend, planner, monitor, prim)
