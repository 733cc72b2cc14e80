"""spacetools_tool_server: one toolshed replica serving tool calls as ROS 2 services.

It offers, under ``toolshed/<replica>/`` (relative: a namespace holds its own toolshed),
``call_tool`` (spacetools_interfaces/srv/CallTool), ``list_tools`` and ``end_episode``; clients find
replicas in the ROS graph. Frames come from the camera topics (colour + depth + camera info within
``sync_tolerance_s``); a call names them by the colour stamp or the newest (-1), and they stay on the
replica as the episode's images, as do the arrays tools make (masks, depth, point clouds): only
arguments and answers travel. Heavy outputs are also published as standard messages (toolshed/mask,
toolshed/depth, toolshed/points) and an annotated debug image (toolshed/debug_image).

Robot tools (robot.*, view_selection.*, the end-of-episode put-back) are served only with
``robot_tools:=true``, which needs the agent's session key in the environment, and only to
requests signed with it (core/tools/auth.py). Signed and unsigned calls never share an episode,
so unsigned vision calls cannot change the variables a robot call reads. Calls run one at a time
on one worker thread; at most ``max_pending_calls`` wait for it, more are answered "overloaded" at
once. No request, however malformed, raises out of a callback or ends the worker.

It is a lifecycle node: ``configure`` builds the world and loads the backends' models,
``activate`` offers the services (``deactivate`` withdraws them from the graph), ``cleanup``
frees the models. With ``autostart`` (default) it configures and activates itself at start, and a
configure that fails ends the process with the reason.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import Image, PointCloud2
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from spacetools_interfaces.srv import CallTool, EndEpisode, ListTools

from ..backends.tools.annotate import annotate
from ..backends.tools.toolshed import Episode, ToolResponse
from ..compose.toolshed import ToolshedConfig, toolshed_parameters
from ..core.camera import CameraFrame
from ..core.paths import config_dir
from ..core.scene import CameraSpec, load_scene
from ..core.tools.auth import KEY_ENV, AuthError, Verifier, is_robot_tool, session_key
from ..core.tools.protocol import ToolCall, load_schemas
from ..core.tools.wire import LogLimiter, Request, WireError, is_token, request_from_call, response_fields
from . import conversions as conv
from . import topics
from .camera_buffer import CameraFrameBuffer
from .ros_arm import RosArmConfig


@dataclass
class _Job:
    """Work for the worker thread; ``answer`` (or ``error``) is set when it has run."""

    run: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None
    error: BaseException | None = None


class ToolServerNode(LifecycleNode):
    """A toolshed replica (a lifecycle node: its models are loaded in the configure step, its services
    offered while it is active)."""

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
        self.frame_buffer = int(d("frame_buffer", 10).value)
        self.max_episodes = int(d("max_episodes", 16).value)
        self.max_pending = int(d("max_pending_calls", 4).value)
        if not 1 <= self.max_pending <= 64:
            raise ValueError(f"parameter max_pending_calls must be in [1, 64], got {self.max_pending}")
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
        self._motion_kind = d("motion", "embedded").value
        self._wanted, self._world_kind, self._tool_config, self._arm_config = wanted, world_kind, tool_config, arm_config
        self.autostart = bool(d("autostart", True).value)
        self._scene = load_scene(scene_path) if scene_path else None
        if self._scene is None and world_kind == "ros":  # the cell: the camera pose in the base frame
            self._scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
        if world_kind == "embedded" and self._scene is None:
            raise ValueError("world=embedded needs the 'scene' parameter")
        self.extrinsics = (self._scene.camera if self._scene else CameraSpec()).extrinsics()
        self.session = None
        self.shed = None  # built (models loaded) by the lifecycle configure step
        self.tools: tuple[str, ...] = ()
        self.configure_error = ""
        self._offered: list = []
        self._episodes: OrderedDict[tuple[bool, str], Episode] = OrderedDict()  # (signed, episode id)
        self._queue: queue.Queue = queue.Queue()
        self._slots = threading.BoundedSemaphore(self.max_pending)  # calls queued or running
        self._stop = threading.Event()
        self.pub_mask = self.create_publisher(Image, topics.TOOLSHED_MASK, 5)
        self.pub_depth = self.create_publisher(Image, topics.TOOLSHED_DEPTH, 5)
        self.pub_points = self.create_publisher(PointCloud2, topics.TOOLSHED_POINTS, 5)
        self.pub_debug = self.create_publisher(Image, topics.TOOLSHED_DEBUG_IMAGE, 5)
        self.camera = CameraFrameBuffer(self, self.extrinsics, self.frame_buffer, config=arm_config.camera)
        self._worker = threading.Thread(target=self._work, name="tool-worker", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ lifecycle
    def started(self) -> ToolServerNode:
        """With ``autostart`` (default): configured and activated now; else left unconfigured for a
        lifecycle manager (``ros2 lifecycle set <node> configure``, then ``activate``).

        Raises:
            RuntimeError: the configure step failed (a backend that cannot start).
        """
        if self.autostart:
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError(self.configure_error or "the tool server could not be configured")
            self.trigger_activate()
        return self

    def _configure(self) -> None:
        """Build the world and the toolshed, loading the backends' models (in the worker thread,
        where the tools will run)."""
        world = None
        if self._world_kind == "embedded":
            from ..compose.session import EmbeddedSession

            self.session = EmbeddedSession.create(self._scene)
            world = self.session.tool_world()
        elif self._world_kind == "ros":  # robot tools act on a robot through its topics
            from .robot_session import RobotSession

            self.session = RobotSession.create(self, self._scene, self._motion_kind, arm_config=self._arm_config)
            world = self.session.tool_world()
        from ..core.safety import SafetyEnvelope

        safety = SafetyEnvelope(self.session.settings.primitives.workspace) if self.session is not None else None
        self.shed = self._tool_config.build(world, safety=safety)
        if self._tool_config.pointing == "offline":
            from ..backends.pointing.referring import warm_up

            warm_up()  # its word model, loaded before the first request's timeout runs
        names = self.shed.tool_names
        if "all" not in self._wanted:
            names = [n for n in names if n in self._wanted or n.split(".")[0] in self._wanted]
        if world is None:
            names = [n for n in names if not is_robot_tool(n)]
        self.tools = tuple(names)
        schemas = load_schemas()
        self._schemas_json = json.dumps({n: schemas[n].parameters for n in self.tools if n in schemas})

    def _release(self) -> None:
        """Free the episodes, the world and the models (in the worker thread)."""
        for ep in self._episodes.values():
            ep.close()
        self._episodes.clear()
        if self.session is not None:  # its renderers belong to this thread's GL context
            self.session.close()
            self.session = None
        self.shed, self.tools = None, ()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        job = self._in_worker(self._configure)
        if job.error is not None:
            self.configure_error = f"{type(job.error).__name__}: {job.error}"
            self.get_logger().error(f"configure failed: {self.configure_error}")
            self._in_worker(self._release)
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"replica {self.replica} configured: {len(self.tools)} tools")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        base = topics.replica_services(self.replica)
        calls = ReentrantCallbackGroup()  # a waiting call must not hold up the next one's answer
        quick = MutuallyExclusiveCallbackGroup()
        self._offered = [
            self.create_service(CallTool, f"{base}/{topics.CALL_TOOL}", self._on_call, callback_group=calls),
            self.create_service(EndEpisode, f"{base}/{topics.END_EPISODE}", self._on_end, callback_group=calls),
            self.create_service(ListTools, f"{base}/{topics.LIST_TOOLS}", self._on_list, callback_group=quick)]
        robot = " (robot tools for signed requests only)" if self._world_kind != "none" else ""
        self.get_logger().info(f"replica {self.replica} at {self.resolve_service_name(base)}/ serving "
                               f"{len(self.tools)} tools{robot}: {', '.join(self.tools)}")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        for srv in self._offered:  # gone from the graph: clients stop choosing this replica
            self.destroy_service(srv)
        self._offered = []
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._in_worker(self._release)
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.on_deactivate(state)
        self._in_worker(self._release)
        return TransitionCallbackReturn.SUCCESS

    def _in_worker(self, fn) -> _Job:
        """Run ``fn`` in the worker thread (after the calls queued before it) and wait for it."""
        job = _Job(fn)
        self._queue.put(job)
        while not job.done.wait(0.5):
            if not self._worker.is_alive():
                job.error = RuntimeError("the tool worker has stopped")
                break
        return job

    @property
    def executor_threads(self) -> int:
        """Threads its executor needs: one per waiting call, and some for camera frames and listing."""
        return self.max_pending + 3

    # ------------------------------------------------------------------ inputs
    def _frame(self, ref) -> CameraFrame:
        return self.camera.frame(ref)

    def _on_list(self, _request, response):
        response.names = list(self.tools)
        response.schemas_json = self._schemas_json
        response.replica_id = self.replica
        return response

    def _on_call(self, request, response):
        try:
            try:
                req = request_from_call(request.request_id, self.replica, request.episode_id, request.tool,
                                        request.arguments_json, request.image_stamps_ns, request.signed_at,
                                        request.signature)
            except WireError as exc:
                self._bad_log(self.get_logger().warning, f"refused a malformed call: {exc}")
                return self._fill(response, _error(exc.name or "", f"malformed request: {exc}", "ValueError"))
            return self._fill(response, self._run(req))
        except Exception as exc:  # noqa: BLE001 - no request may end the replica
            self._bad_log(self.get_logger().error, f"call not handled: {type(exc).__name__}: {exc}")
            return self._fill(response, _error("", f"{type(exc).__name__}: {str(exc)[:200]}", "RuntimeError"))

    def _on_end(self, request, response):
        try:
            try:
                req = request_from_call(request.request_id, self.replica, request.episode_id, "episode.end", "{}",
                                        (), request.signed_at, request.signature, end_episode=True)
            except WireError as exc:
                response.ok, response.text = False, f"Error: ValueError: malformed request: {exc}"
                return response
            answer = self._run(req)
            response.ok, response.text = answer.ok, answer.text
        except Exception as exc:  # noqa: BLE001 - no request may end the replica
            self._bad_log(self.get_logger().error, f"end of episode not handled: {type(exc).__name__}: {exc}")
            response.ok, response.text = False, f"Error: {type(exc).__name__}"
        return response

    def _fill(self, response, answer: ToolResponse):
        for key, value in response_fields(answer.to_dict()).items():
            setattr(response, key, value)
        response.replica_id = self.replica
        return response

    def _run(self, req: Request) -> ToolResponse:
        """Authorise ``req``, queue it for the worker and wait for its answer."""
        signed = False
        if req.sig is not None and self._verifier is not None:
            try:
                self._verifier.verify(req)
                signed = True
            except AuthError as exc:
                return self._refuse(req, str(exc))
        if is_robot_tool(req.name) and not req.end_episode:
            if not self.robot_tools:
                return self._refuse(req, f"robot tools are not enabled on replica {self.replica} (parameter "
                                         "robot_tools)")
            if not signed:
                return self._refuse(req, "robot tools are served only to requests signed with the agent's session "
                                         "key")
        if not self._slots.acquire(blocking=False):
            return _error(req.name, f"tool server {self.replica} is overloaded ({self.max_pending} calls waiting)",
                          "RuntimeError")
        try:
            job = _Job(lambda: self._execute(req, signed))
            self._queue.put(job)
            while not job.done.wait(0.5):
                if self._stop.is_set():
                    return _error(req.name, f"tool server {self.replica} is shutting down", "RuntimeError")
            if job.error is not None:  # the server stays up, the caller gets the error
                return ToolResponse(req.name, f"Error: {type(job.error).__name__}: {str(job.error)[:2000]}", False,
                                    {"error": type(job.error).__name__})
            return job.answer
        finally:
            self._slots.release()

    def _refuse(self, req: Request, reason: str) -> ToolResponse:
        self._auth_log(self.get_logger().warning, f"refused {req.name} (id {req.id}, episode {req.episode}): {reason}")
        return _error(req.name, reason, "PermissionError")

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
                job = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                job.answer = job.run()
            except Exception as exc:  # noqa: BLE001 - the worker outlives any job; its caller gets the error
                job.error = exc
            finally:
                job.done.set()
        try:
            self._release()
        except Exception as exc:  # noqa: BLE001 - the process is ending
            self.get_logger().error(f"release failed: {type(exc).__name__}: {exc}")

    def _execute(self, req: Request, signed: bool) -> ToolResponse:
        if self.delay_s > 0:
            time.sleep(self.delay_s)
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

    def shutdown(self) -> None:
        """Stop the worker and release the embedded world (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._worker.join(timeout=30.0)  # a call in progress finishes (a thread left inside torch aborts the exit);
        # the worker releases the episodes, the world and the models on its way out


def _error(name: str, reason: str, kind: str) -> ToolResponse:
    return ToolResponse(name, f"Error: {kind}: {reason}", False, {"error": kind})


def main(args: list[str] | None = None) -> None:
    """Run one replica until SIGINT/SIGTERM."""
    from .spin import run_nodes

    # calls hop between threads (executor -> worker -> executor): a shorter switch interval than
    # Python's 5 ms lets a woken thread take the interpreter sooner (measured: ~8 -> ~6 ms a call)
    sys.setswitchinterval(0.0005)
    sys.exit(run_nodes(lambda: [ToolServerNode().started()], args, threads=lambda nodes: nodes[0].executor_threads))


if __name__ == "__main__":
    main()
