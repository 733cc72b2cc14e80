"""The safety envelope the policy cannot talk its way around: robot-tool targets are checked
against the workspace before anything moves (speed limits live in the motion config)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .camera import CameraFrame, ray_point_base
from .grasping import grasp_tcp_in_base
from .manipulation import Workspace
from .tools.protocol import ToolCall


@dataclass(frozen=True)
class SafetyEnvelope:
    """Workspace box for TCP targets and place points; grasps must approach from above."""

    workspace: Workspace = Workspace()
    min_downward_approach: float = 0.5   # cos of the largest tilt of the approach from straight down

    def check(self, call: ToolCall, arguments: dict, frame: CameraFrame | None) -> str | None:
        """None when the call may run, else the refusal text shown to the policy."""
        if call.name == "robot.execute_grasp":
            return self._grasp(arguments.get("grasp_pose"), frame)
        if call.name == "robot.place_object_at_2d_location":
            return self._place(arguments.get("placement_point_2d"), frame)
        return None

    def _grasp(self, value, frame: CameraFrame | None) -> str | None:
        if frame is None:
            return "Error: PermissionError: no camera image to locate the grasp; call robot.capture_image first"
        try:
            if isinstance(value, str):
                value = json.loads(value)
            pose = grasp_tcp_in_base(frame.extrinsics, np.asarray(value, dtype=float).reshape(4, 4))
        except (ValueError, TypeError):
            return None  # malformed poses are the tool's to report
        tcp = pose.position
        if not self.workspace.contains(tcp):
            return (f"Error: PermissionError: grasp at {np.round(tcp, 3).tolist()} m is outside the safety envelope "
                    f"(x {self.workspace.x_m}, y {self.workspace.y_m}, z {self.workspace.z_m})")
        if -pose.rotation[2, 2] < self.min_downward_approach:
            return "Error: PermissionError: grasps must approach from above"
        return None

    def _place(self, value, frame: CameraFrame | None) -> str | None:
        if frame is None or frame.depth_m is None:
            return "Error: PermissionError: no camera image to locate the placement; call robot.capture_image first"
        try:
            if isinstance(value, str):
                value = json.loads(value)
            x, y = (float(v) for v in value)
        except (ValueError, TypeError):
            return None
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            return None
        p = ray_point_base(frame, x, y)
        on_surface = np.array([p[0], p[1], max(p[2], self.workspace.z_m[0])])  # table points sit at z ~ 0
        if not np.all(np.isfinite(p)) or p[2] < self.workspace.z_m[0] - 0.02 or not self.workspace.contains(on_surface):
            return (f"Error: PermissionError: placement at {np.round(p, 3).tolist()} m is outside the safety envelope")
        return None
