"""One place that turns motion parameters (YAML / ROS parameters) into config dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ...core.errors import ConfigError
from ...core.manipulation import PrimitiveConfig, Workspace
from ...core.monitor import MonitorConfig
from ...core.paths import config_dir
from .embedded_planner import PlannerConfig


@dataclass(frozen=True)
class MotionSettings:
    """Everything the motion layer is configured with."""

    backend: str
    planner: PlannerConfig
    monitor: MonitorConfig
    primitives: PrimitiveConfig


def load_params(path: str | Path, node: str) -> dict[str, Any]:
    """``ros__parameters`` of one node from a ROS 2 parameter YAML file.

    Raises:
        ConfigError: when the file or the node's section is missing.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {p}: {exc}") from exc
    for key in (node, f"/{node}", "/**"):
        if isinstance(data.get(key), dict) and "ros__parameters" in data[key]:
            return dict(data[key]["ros__parameters"])
    raise ConfigError(f"{p} has no '{node}: ros__parameters:' section")


def _pair(params: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    v = params.get(key, list(default))
    if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(isinstance(x, (int, float)) for x in v):
        raise ConfigError(f"{key} must be a list of two numbers, got {v!r}")
    return float(v[0]), float(v[1])


def motion_settings(params: dict[str, Any] | None = None) -> MotionSettings:
    """Motion settings from parameters (defaults: config/motion.yaml).

    Raises:
        ConfigError: on unknown keys or out-of-range values.
    """
    if params is None:
        params = load_params(config_dir() / "motion.yaml", "spacetools_motion")
    known = {"backend", "velocity_scaling", "acceleration_scaling", "planning_time_s", "max_replans",
             "check_step_m", "cartesian_step_m", "max_tracking_error_rad", "goal_tolerance_rad", "timeout_margin_s",
             "approach_distance_m", "lift_height_m", "retreat_height_m", "place_drop_m", "min_hold_width_m",
             "transport_speed_scale", "slender_speed_factor", "workspace_x_m", "workspace_y_m", "workspace_z_m", "use_sim_time"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"unknown motion parameter(s): {', '.join(unknown)}")
    for key in ("velocity_scaling", "acceleration_scaling", "transport_speed_scale", "slender_speed_factor"):
        if not 0.0 < float(params.get(key, 0.5)) <= 1.0:
            raise ConfigError(f"{key} must be in (0, 1]")
    if float(params.get("check_step_m", 0.005)) > 0.005:
        raise ConfigError("check_step_m must be <= 0.005 (dense path re-check)")
    planner = PlannerConfig(
        velocity_scaling=float(params.get("velocity_scaling", 0.5)),
        acceleration_scaling=float(params.get("acceleration_scaling", 0.5)),
        planning_time_s=float(params.get("planning_time_s", 2.0)),
        max_replans=int(params.get("max_replans", 3)),
        check_step_m=float(params.get("check_step_m", 0.005)),
        cartesian_step_m=float(params.get("cartesian_step_m", 0.005)),
    )
    monitor = MonitorConfig(
        max_tracking_error_rad=float(params.get("max_tracking_error_rad", 0.08)),
        goal_tolerance_rad=float(params.get("goal_tolerance_rad", 0.01)),
        timeout_margin_s=float(params.get("timeout_margin_s", 1.5)),
    )
    prim = PrimitiveConfig(
        approach_distance_m=float(params.get("approach_distance_m", 0.10)),
        lift_height_m=float(params.get("lift_height_m", 0.12)),
        retreat_height_m=float(params.get("retreat_height_m", 0.10)),
        place_drop_m=float(params.get("place_drop_m", 0.008)),
        min_hold_width_m=float(params.get("min_hold_width_m", 0.004)),
        transport_speed_scale=float(params.get("transport_speed_scale", 0.7)),
        slender_speed_factor=float(params.get("slender_speed_factor", 0.6)),
        workspace=Workspace(_pair(params, "workspace_x_m", (0.15, 0.9)), _pair(params, "workspace_y_m", (-0.6, 0.6)),
                            _pair(params, "workspace_z_m", (0.0, 0.7))),
    )
    backend = str(params.get("backend", "embedded"))
    if backend not in ("embedded", "moveit"):
        raise ConfigError(f"unknown motion backend {backend!r} (embedded | moveit)")
    return MotionSettings(backend, planner, monitor, prim)
