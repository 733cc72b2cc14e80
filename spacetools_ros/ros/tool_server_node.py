"""spacetools_tool_server: one toolshed replica serving tool calls over ROS 2.

Frames come from the camera topics (colour + depth + camera info within ``sync_tolerance_s``);
requests name them by the colour stamp or "latest". Heavy outputs are also published as standard
messages (toolshed/mask, toolshed/depth, toolshed/points) and an annotated debug image
(toolshed/debug_image). See core/tools/wire.py for the request/response protocol; here its topics
are relative (toolshed/request, toolshed/response, toolshed/announce), so a namespace holds its own
toolshed.

Robot tools (robot.*, view_selection.*, the end-of-episode put-back) are served only with
``robot_tools:=true``, which needs the agent's session key in the environment, and only to
requests signed with it (core/tools/auth.py). Signed and unsigned calls never share an episode,
so unsigned vision calls cannot change the variables a robot call reads. No message, however
malformed, raises out of a callback or ends the worker.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import time
from collections import OrderedDict

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import String

from ..backends.tools.annotate import annotate
from ..backends.tools.toolshed import Episode, ToolResponse
from ..compose.toolshed import ToolshedConfig, toolshed_parameters
from ..core.camera import CameraFrame
from ..core.paths import config_dir
from ..core.scene import CameraSpec, load_scene
from ..core.tools.auth import KEY_ENV, AuthError, Verifier, is_robot_tool, session_key
from ..core.tools.protocol import ToolCall
from ..core.tools.wire import Announcement, LogLimiter, Request, WireError, decode_request, encode_response, is_token
from . import conversions as conv
from . import topics
from .camera_buffer import CameraFrameBuffer
from .ros_arm import RosArmConfig


class ToolServerNode(Node):
    """A toolshed replica."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spacetools_tool_server", **kwargs)
        d = self.declare_parameter
        self.replica = d("replica_id", "").value or f"{socket.gethostname()}-{os.getpid()}"
        if not is_token(self.replica):
            raise ValueError(f"parameter replica_id must be at most 128 characters of [A-Za-z0-9_.:@+/=-]: "
                             f"{self.replica[:40]!r}")
        wanted = list(d("tools", ["all"]).value)
        world_kind = d("world", "none").value
        self.robot_tools = bool(d("robot_tools", False).value)
        key = session_key()  # raises on a key too short to be one
        if self.robot_tools and key is None:
            raise RuntimeError(f"robot_tools is true but {KEY_ENV} is not set: a replica that serves robot tools "
                               "needs the agent's session key in its environment (spacetools_bringup sets one)")
        self._verifier = Verifier(key) if key is not None else None
        self._bad_log = LogLimiter()
        self._auth_log = LogLimiter()
        scene_path = d("scene", "").value
        tool_config = ToolshedConfig.from_params({k: d(k, v).value for k, v in toolshed_parameters().items()})
        self.announce_period = float(d("announce_period_s", 1.0).value)
        self.frame_buffer = int(d("frame_buffer", 10).value)
        self.max_episodes = int(d("max_episodes", 16).value)
        self.publish_debug = bool(d("publish_debug", True).value)
        self.delay_s = float(d("processing_delay_s", 0.0).value)
        arm_config = RosArmConfig.declare(self)  # the robot's and the camera's topics
        if world_kind not in ("none", "embedded", "ros"):
            raise ValueError("parameter world must be 'none', 'embedded' or 'ros'")
        if world_kind != "none" and not self.robot_tools:
            self.get_logger().warning(f"world={world_kind} is not used: robot_tools is false, so this replica "
                                      "serves vision tools only and never acts on a robot")
            world_kind = "none"
        elif self.robot_tools and world_kind == "none":
            self.get_logger().warning("robot_tools is true but world is none: there are no robot tools to serve")
        motion_kind = d("motion", "embedded").value
        scene = load_scene(scene_path) if scene_path else None
        if scene is None and world_kind == "ros":  # the cell: the camera pose in the base frame
            scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
        self.extrinsics = (scene.camera if scene else CameraSpec()).extrinsics()
        self.session = None
        world = None
        if world_kind == "embedded":
            from ..compose.session import EmbeddedSession

            if scene is None:
                raise ValueError("world=embedded needs the 'scene' parameter")
            self.session = EmbeddedSession.create(scene)
            world = self.session.tool_world()
        elif world_kind == "ros":  # robot tools act on a robot through its topics
            from .robot_session import RobotSession

            self.session = RobotSession.create(self, scene, motion_kind, arm_config=arm_config)
            world = self.session.tool_world()
        from ..core.safety import SafetyEnvelope

        safety = SafetyEnvelope(self.session.settings.primitives.workspace) if self.session is not None else None
        self.shed = tool_config.build(world, safety=safety)
        if tool_config.pointing == "offline":
            from ..backends.pointing.referring import warm_up

            warm_up()  # its word model, loaded before the first request's timeout runs
        names = self.shed.tool_names
        if "all" not in wanted:
            names = [n for n in names if n in wanted or n.split(".")[0] in wanted]
        if world is None:
            names = [n for n in names if not is_robot_tool(n)]
        self.tools = tuple(names)
        self._episodes: OrderedDict[tuple[bool, str], Episode] = OrderedDict()  # (signed, episode id)
        self._queue: queue.Queue = queue.Queue(maxsize=100)
        self._inflight = 0
        self._stop = threading.Event()
        self.pub_resp = self.create_publisher(String, topics.TOOLSHED_RESPONSE, 50)
        self.pub_ann = self.create_publisher(String, topics.TOOLSHED_ANNOUNCE, 10)
        self.pub_mask = self.create_publisher(Image, topics.TOOLSHED_MASK, 5)
        self.pub_depth = self.create_publisher(Image, topics.TOOLSHED_DEPTH, 5)
        self.pub_points = self.create_publisher(PointCloud2, topics.TOOLSHED_POINTS, 5)
        self.pub_debug = self.create_publisher(Image, topics.TOOLSHED_DEBUG_IMAGE, 5)
        self.create_subscription(String, topics.TOOLSHED_REQUEST, self._on_request, 50)
        self.camera = CameraFrameBuffer(self, self.extrinsics, self.frame_buffer, config=arm_config.camera)
        self.create_timer(self.announce_period, self._announce)
        self._worker = threading.Thread(target=self._work, name="tool-worker", daemon=True)
        self._worker.start()
        self._announce()
        robot = " (robot tools for signed requests only)" if world is not None else ""
        self.get_logger().info(f"replica {self.replica} serving {len(self.tools)} tools{robot}: "
                               f"{', '.join(self.tools)}")

    # ------------------------------------------------------------------ inputs
    def _announce(self) -> None:
        self.pub_ann.publish(String(data=Announcement(self.replica, self.tools, self._inflight).encode()))

    def _frame(self, ref) -> CameraFrame:
        return self.camera.frame(ref)

    def _on_request(self, msg: String) -> None:
        try:
            self._take(msg.data)
        except Exception as exc:  # noqa: BLE001 - no message may end the replica
            self._bad_log(self.get_logger().error, f"request not handled: {type(exc).__name__}: {exc}")

    def _take(self, text: str) -> None:
        """Decode, authorise and queue one request (answering at once when it is refused)."""
        try:
            req = decode_request(text)
        except WireError as exc:
            if exc.replica is not None and exc.replica != self.replica:
                return  # another replica's business
            self._bad_log(self.get_logger().warning, f"ignored malformed request: {exc}")
            if exc.replica == self.replica and exc.id is not None:
                self._send(exc.id, exc.name or "", f"Error: ValueError: malformed request: {exc}", "ValueError")
            return
        if req.replica != self.replica:
            return
        signed = False
        if req.sig is not None and self._verifier is not None:
            try:
                self._verifier.verify(req)
                signed = True
            except AuthError as exc:
                self._refuse(req, str(exc))
                return
        if is_robot_tool(req.name) and not req.end_episode:
            if not self.robot_tools:
                self._refuse(req, f"robot tools are not enabled on replica {self.replica} (parameter robot_tools)")
                return
            if not signed:
                self._refuse(req, "robot tools are served only to requests signed with the agent's session key")
                return
        try:
            self._queue.put_nowait((req, signed))
            self._inflight += 1
        except queue.Full:
            self._respond(req, ToolResponse(req.name, "Error: RuntimeError: tool server is overloaded", False))

    def _refuse(self, req: Request, reason: str) -> None:
        self._auth_log(self.get_logger().warning, f"refused {req.name} (id {req.id}, episode {req.episode}): {reason}")
        self._send(req.id, req.name, f"Error: PermissionError: {reason}", "PermissionError")

    # ------------------------------------------------------------------ work
    def _episode(self, req: Request, signed: bool) -> Episode:
        key = (signed, req.episode)
        ep = self._episodes.get(key)
        if ep is None:
            ep = Episode(episode_id=req.episode)
            self._episodes[key] = ep
            while len(self._episodes) > self.max_episodes:
                _, old = self._episodes.popitem(last=False)
                old.close()
        self._episodes.move_to_end(key)
        return ep

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                req, signed = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._serve(req, signed)
            except Exception as exc:  # noqa: BLE001 - the worker outlives any call
                self._bad_log(self.get_logger().error, f"call {req.id} not answered: {type(exc).__name__}: {exc}")
        if self.session is not None:  # its renderers belong to this thread's GL context
            self.session.close()
            self.session = None

    def _serve(self, req: Request, signed: bool) -> None:
        try:
            if self.delay_s > 0:
                time.sleep(self.delay_s)
            resp = self._execute(req, signed)
        except Exception as exc:  # noqa: BLE001 - the server stays up, the caller gets the error
            resp = ToolResponse(req.name, f"Error: {type(exc).__name__}: {str(exc)[:2000]}", False)
        finally:
            self._inflight = max(0, self._inflight - 1)
        self._respond(req, resp)

    def _execute(self, req: Request, signed: bool) -> ToolResponse:
        if req.end_episode:
            ep = self._episodes.pop((signed, req.episode), None)
            if ep is not None:
                ep.close()
            world = self.shed.world
            if signed and self.robot_tools and world is not None and \
                    getattr(world, "manipulator", None) is not None and world.manipulator.holding:
                res = world.return_held()  # never leave an object in the hand after an episode
                self.get_logger().warning(f"episode {req.episode} ended holding an object: put back "
                                          f"({'ok' if res is not None and res.success else 'failed'})")
            return ToolResponse(req.name, "Episode closed.", True)
        if req.name not in self.tools:
            return ToolResponse(req.name, f"Error when executing tool: Unknown tool '{req.name}' on replica "
                                          f"{self.replica}", False)
        ep = self._episode(req, signed)
        needs_images = not req.name.startswith("robot.")
        if needs_images and req.images:
            frames = [self._frame(ref) for ref in req.images]
            if len(ep.images) < len(frames) or any(a is not b for a, b in zip(ep.images, frames)):
                ep.images[: len(frames)] = frames
        resp = self.shed.execute(ToolCall(req.name, req.arguments, req.id), ep)
        try:
            self._publish_outputs(req, ep, resp)
        except Exception as exc:  # noqa: BLE001 - the call's answer does not depend on the extra topics
            self._bad_log(self.get_logger().warning,
                          f"outputs of {req.name} not published: {type(exc).__name__}: {exc}")
        return resp

    def _publish_outputs(self, req: Request, ep: Episode, resp: ToolResponse) -> None:
        if not resp.ok or not ep.images:
            return
        frame = ep.images[min(int(req.arguments.get("image_index", 0) or 0), len(ep.images) - 1)]
        t, fid = frame.stamp_s, frame.camera
        if req.name.startswith("sam2.") and "segmentation_mask" in ep.variables:
            m = ep.variables.get("segmentation_mask").astype(np.uint8) * 255
            self.pub_mask.publish(Image(header=conv.header(t, fid), height=m.shape[0], width=m.shape[1],
                                        encoding="mono8", step=m.shape[1], data=m.tobytes()))
        if req.name.startswith(("depth_estimator.", "robot.get_depth")) and "depth_map" in ep.variables:
            self.pub_depth.publish(conv.depth_image_msg(ep.variables.get("depth_map"), t, fid))
            if "point_cloud" in ep.variables and self.pub_points.get_subscription_count() > 0:
                self.pub_points.publish(conv.pointcloud_msg(ep.variables.get("point_cloud"), None, t, fid))
        if self.publish_debug and self.pub_debug.get_subscription_count() > 0:
            img = annotate(frame.rgb, [resp], ep.variables)
            self.pub_debug.publish(conv.rgb_image_msg(img, t, fid))

    def _respond(self, req: Request, resp: ToolResponse) -> None:
        self.pub_resp.publish(String(data=encode_response(req.id, self.replica, resp.to_dict())))

    def _send(self, rid: str, name: str, text: str, error: str) -> None:
        body = {"name": name, "text": text, "ok": False, "data": {"error": error}, "elapsed_s": 0.0}
        self.pub_resp.publish(String(data=encode_response(rid, self.replica, body)))

    def shutdown(self) -> None:
        """Stop the worker and release the embedded world (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._worker.join(timeout=30.0)  # a call in progress finishes (a thread left inside torch aborts the exit)
        for ep in self._episodes.values():
            ep.close()


def main(args: list[str] | None = None) -> None:
    """Run one replica until SIGINT/SIGTERM."""
    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [ToolServerNode()], args))


if __name__ == "__main__":
    main()
