"""Tool calls executed by toolshed replicas over ROS 2, for the agent's orchestrator.

An episode's variables and images live on the replica that serves it (ToolClient keeps the
episode there), robot tools included: that replica acts on the robot, enforces the safety
envelope itself and serves robot tools only to requests signed with the agent's session key
(ToolClient signs them). The images the policy sees are taken here from the camera topics,
matched by the stamp each image-producing response reports.
"""

from __future__ import annotations

import uuid

from ..core.camera import CameraFrame
from ..core.orchestrator import ToolResult
from ..core.tools.protocol import ToolCall, load_schemas
from .camera_buffer import CameraFrameBuffer
from .tool_client import ToolClient


class RemoteTools:
    """One episode's tool execution on the replicas."""

    def __init__(self, client: ToolClient, camera: CameraFrameBuffer, robot_timeout_s: float = 120.0,
                 log=lambda s: None) -> None:
        self.client = client
        self.robot_timeout_s = robot_timeout_s
        self.camera = camera
        self.schemas = load_schemas()
        self.episode_id = f"agent-{uuid.uuid4().hex[:12]}"
        self.frames: dict[int, CameraFrame] = {}
        self.log = log

    def execute(self, call: ToolCall) -> ToolResult:
        """Send the call (no frames attached: the replica's own episode images are used)."""
        robot = call.name.startswith("robot.")
        # a motion is never retried on another replica; it may take a while on a real arm
        doc = self.client.call(call.name, call.arguments, episode=self.episode_id, images=(),
                               timeout_s=self.robot_timeout_s if robot else None, retries=0 if robot else None)
        data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
        idx, stamp = data.get("image_index"), data.get("stamp_s")
        if isinstance(idx, int) and isinstance(stamp, (int, float)):
            try:
                self.frames[idx] = self.camera.frame(int(round(stamp * 1e9)))
            except RuntimeError:
                if self.camera.has_frame():  # gone from the buffer already: the newest is close in time
                    self.log(f"image {idx} (stamp {stamp:.3f}) is no longer buffered; using the newest frame")
                    self.frames[idx] = self.camera.frame("latest")
        return ToolResult(str(doc.get("text", "")), bool(doc.get("ok")), data)

    def latest_frame(self) -> CameraFrame | None:
        """The newest image of the episode."""
        return self.frames[max(self.frames)] if self.frames else None

    def images(self) -> list:
        """RGB images of the episode in image_index order (a missing one: the one before it)."""
        out, last = [], None
        for i in range(max(self.frames) + 1 if self.frames else 0):
            last = self.frames.get(i, last) or next(iter(self.frames.values()))
            out.append(last.rgb)
        return out

    def close(self) -> None:
        """Free the episode on its replica."""
        self.client.end_episode(self.episode_id)
