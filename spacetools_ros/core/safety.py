"""The safety envelope the policy cannot talk its way around: robot-tool arguments are decoded
once into typed targets in the base frame (using the camera of the image they were computed in),
checked here, and the very same targets are what the robot tools execute. What cannot be
decoded is refused (fail closed); speeds come from the motion config, never from the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .camera import CameraFrame, backproject, ray_point_base
from .envelope import Workspace, grasp_violation, place_violation
from .geometry import Pose
from .grasping import grasp_tcp_in_base
from .tools.arguments import GraspPoseArg, PointArg, decode_grasp_pose, decode_point_2d
from .tools.protocol import ToolCall, ToolCallError
from .tools.variables import VariableStore

GRASP_TOOL = "robot.execute_grasp"
PLACE_TOOL = "robot.place_object_at_2d_location"
MOTION_TOOLS = (GRASP_TOOL, PLACE_TOOL)
TABLE_NOISE_M = 0.02
TABLE_NEAR_M = 0.15      # the table is looked at this close around a grasp
TABLE_MIN_PIXELS = 50


def seen_table_height(frame: CameraFrame, xy_base: np.ndarray, stride: int = 4) -> float:
    """Height (base z, m) of the table as this frame sees it near ``xy_base``: the median of the
    pixels within TABLE_NOISE_M of z = 0 and TABLE_NEAR_M of the point, through the frame's own
    (calibrated, so slightly wrong) extrinsics; 0 when too few are seen."""
    if frame.depth_m is None:
        return 0.0
    depth = np.asarray(frame.depth_m, dtype=np.float32)[::stride, ::stride]
    k = np.asarray(frame.intrinsics, dtype=float).copy()
    k[:2] /= stride  # pixel (u, v) of the subsampled image is (stride u, stride v)
    pts = backproject(np.where(np.isfinite(depth) & (depth > 0), depth, 0.0), k).reshape(-1, 3)
    pts = pts[pts[:, 2] > 0]
    t = np.asarray(frame.extrinsics, dtype=float)
    base = pts @ t[:3, :3].T + t[:3, 3]
    near = (np.abs(base[:, 2]) < TABLE_NOISE_M) & (np.linalg.norm(base[:, :2] - np.asarray(xy_base)[:2], axis=1) < TABLE_NEAR_M)
    if near.sum() < TABLE_MIN_PIXELS:
        return 0.0
    return float(np.median(base[near, 2]))


@dataclass(frozen=True)
class GraspTarget:
    """A decoded grasp: the TCP pose in the base frame and the image/camera it came from."""

    tcp: Pose
    image_index: int
    camera: str
    source: str


@dataclass(frozen=True)
class PlaceTarget:
    """A decoded placement: where the object's bottom goes (base frame, m), and its image/camera."""

    point_base: np.ndarray = field(repr=False)
    image_index: int
    camera: str
    source: str


FrameLookup = Callable[[GraspPoseArg | PointArg], tuple[int, CameraFrame]]
"""A decoded argument -> (image index, frame) it refers to; raises ToolCallError when there is none."""


def decode_target(call: ToolCall, variables: VariableStore, frame_for: FrameLookup) -> GraspTarget | PlaceTarget:
    """Decode a motion tool's arguments into a typed base-frame target.

    Raises:
        ToolCallError: the arguments do not decode, or there is no image to locate them in.
    """
    if call.name == GRASP_TOOL:
        arg = decode_grasp_pose(call.arguments.get("grasp_pose"), variables)
        index, frame = frame_for(arg)
        try:
            tcp = grasp_tcp_in_base(frame.extrinsics, arg.matrix)
        except ValueError as exc:
            raise ToolCallError("ValueError", f"grasp_pose: {exc}") from None
        # a grasp is computed above the table this camera sees; a camera's small calibration error
        # tilts that table by millimetres in the base frame, where the real one is at z = 0
        table_z = seen_table_height(frame, tcp.position[:2])
        if table_z != 0.0:
            tcp = Pose(tcp.position - np.array([0.0, 0.0, table_z]), tcp.rotation, tcp.frame)
        return GraspTarget(tcp, index, frame.camera, arg.source)
    if call.name == PLACE_TOOL:
        arg = decode_point_2d(call.arguments.get("placement_point_2d"), variables)
        index, frame = frame_for(arg)
        if frame.depth_m is None:
            raise ToolCallError("ValueError", f"image {index} has no depth to locate the placement")
        point = ray_point_base(frame, arg.x, arg.y)
        if not np.all(np.isfinite(point)):
            raise ToolCallError("ValueError", "no depth at the placement point")
        if -TABLE_NOISE_M <= point[2] < 0.0:  # depth noise puts table points a hair below z = 0
            point[2] = 0.0
        return PlaceTarget(point, index, frame.camera, arg.source)
    raise ToolCallError("ValueError", f"{call.name} is not a motion tool")


@dataclass(frozen=True)
class SafetyEnvelope:
    """Workspace box, table clearance and approach cone for robot-tool targets."""

    workspace: Workspace = Workspace()

    def check(self, target: GraspTarget | PlaceTarget) -> str | None:
        """None when the target may run, else the refusal text shown to the policy."""
        if isinstance(target, GraspTarget):
            why = grasp_violation(target.tcp, self.workspace)
        else:
            why = place_violation(target.point_base, self.workspace)
        return None if why is None else f"Error: PermissionError: {why}"
