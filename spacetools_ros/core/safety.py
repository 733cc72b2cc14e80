"""The safety envelope the policy cannot talk its way around: robot-tool arguments are decoded
once into typed targets in the base frame (using the camera of the image they were computed in),
checked here, and the very same targets are what the robot tools execute. What cannot be
decoded is refused (fail closed); speeds come from the motion config, never from the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .camera import CameraFrame, ray_point_base
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
