"""spacetools_agent: natural-language pick-and-place commands over ROS 2.

Serves the spacetools/execute action (spacetools_interfaces/action/ExecuteCommand: feedback while it
works, per-goal cancel) and subscribes spacetools/command (std_msgs/String); publishes
spacetools/status (JSON progress), spacetools/transcript (JSON, one per command) and
spacetools/episode_result (JSON), spacetools/markers (visualization_msgs/MarkerArray in the base
frame: detections, mask boxes, grasps, place targets of the command running now) and its health
on /diagnostics (1 Hz); the ~/cancel service (std_srvs/Trigger) stops the motion. Every name but
/diagnostics is relative: under a namespace they all move with the node.
Episodes run one at a time in a worker thread, never in an executor callback; the action's
execute callback waits for the worker, so the node spins on a multi-threaded executor.

world=embedded (default) acts in an in-process simulated cell; world=ros acts on a robot through
its topics (joint states, camera, joint_trajectory_controller, gripper: a real arm, Gazebo/Isaac
or the spacetools_sim node), planning with the embedded planner or MoveItPy (motion=moveit).
"""

from __future__ import annotations

import json
import sys
import threading

from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from ..core.diagnostics import HealthReport, agent_health
from ..core.paths import config_dir
from ..core.scene import load_scene
from . import topics
from .agent_jobs import Job, JobBoard
from .agent_markers import EpisodeMarkerStream
from .diagnostics import DiagnosticsPublisher
from .markers import MarkerPublisher
from .ros_arm import RosArmConfig

COMMAND = topics.COMMAND
STATUS = topics.STATUS
TRANSCRIPT = topics.TRANSCRIPT


class AgentNode(Node):
    """Thin adapter: commands -> core orchestrator (with the policy built at start-up) -> results."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spacetools_agent", **kwargs)
        from ..backends.sim.mujoco_sim import ensure_headless_gl

        d = self.declare_parameter
        scene_path = d("scene", "").value or str(config_dir() / "scenes" / "box_in_bowl.yaml")
        self.policy_name = d("policy", "scripted").value
        self.policy_url = d("policy_url", "").value or None
        self.model = d("model", "").value or None
        self.rtf = float(d("real_time_factor", 0.0).value)
        self.world = d("world", "embedded").value
        motion = d("motion", "embedded").value
        moveit_group = d("moveit_group", "panda_arm").value
        self.ready_timeout_s = float(d("ready_timeout_s", 10.0).value)
        self.tools = d("tools", "local").value
        self.robot_call_timeout_s = float(d("robot_call_timeout_s", 120.0).value)
        self.spatial_frame = d("spatial_frame", "camera").value
        queue_goals = bool(d("queue_goals", False).value)
        marker_lifetime_s = float(d("marker_lifetime_s", 300.0).value)
        diagnostics_period_s = float(d("diagnostics_period_s", 1.0).value)
        self.arm_config = RosArmConfig.declare(self)  # the robot's and the camera's topics (world=ros, tools=ros)
        if self.spatial_frame not in ("camera", "robot"):
            raise ValueError("parameter spatial_frame must be 'camera' or 'robot'")
        if self.world not in ("embedded", "ros"):
            raise ValueError("parameter world must be 'embedded' or 'ros'")
        if self.tools not in ("local", "ros"):
            raise ValueError("parameter tools must be 'local' or 'ros'")
        if not (0.0 <= marker_lifetime_s <= 86400.0 and 0.0 <= diagnostics_period_s <= 3600.0):
            raise ValueError("parameters marker_lifetime_s (0..86400, 0 = until the next command) and "
                             "diagnostics_period_s (0..3600, 0 = off) are out of range")
        if self.arm_config.camera.pose_source == "tf" and "ros" in (self.world, self.tools):
            from .camera_pose import require_tf2

            require_tf2()  # before anything slow starts
        self.policy = self._make_policy()  # built once (a bad name fails here); start() resets each episode
        from ..backends.pointing.referring import warm_up

        warm_up()  # the command parser's word model, loaded before the first command's deadline runs
        self.scene = load_scene(scene_path)
        self._session = None
        self._perception = None  # tools=ros: the agent's own perception, for checking outcomes
        self._cancel = threading.Event()
        if self.tools == "ros":  # every tool, robot tools included, runs on toolshed replicas
            from trajectory_msgs.msg import JointTrajectory

            from ..core.robot_spec import load_robot_spec
            from ..core.tools.auth import KEY_ENV
            from .camera_buffer import CameraFrameBuffer
            from .tool_client import ToolClient

            self.client = ToolClient(self)  # signs with the session key from the environment
            if not self.client.signs:
                raise RuntimeError(f"tools=ros needs the session key in {KEY_ENV}: the replica that drives the robot "
                                   "serves robot tools only to signed requests (spacetools_bringup sets one)")
            self.camera = CameraFrameBuffer(self, self.scene.camera.extrinsics(), config=self.arm_config.camera)
            self.arm_joints = list(load_robot_spec().arm_joints)
            self.pub_stop = self.create_publisher(JointTrajectory, self.arm_config.trajectory_topic, 10)
            self.world = "toolshed"
        elif self.world == "ros":
            from .robot_session import RobotSession

            self._session = RobotSession.create(self, self.scene, motion, moveit_group, arm_config=self.arm_config)
        else:
            ensure_headless_gl()
        self.pub_status = self.create_publisher(String, STATUS, 10)
        self.pub_transcript = self.create_publisher(String, TRANSCRIPT, 10)
        self.pub_result = self.create_publisher(String, topics.EPISODE_RESULT, 10)
        self._markers = EpisodeMarkerStream(MarkerPublisher(self, lifetime_s=marker_lifetime_s),
                                            self.scene.camera.extrinsics(), log=self.get_logger().warning)
        self._last_doc: dict | None = None
        self._counts = [0, 0]  # commands run, succeeded
        self.create_subscription(String, COMMAND, self._on_command, 10)
        self.create_service(Trigger, "~/cancel", self._on_cancel)
        self._board = JobBoard()
        self._halt_lock = threading.Lock()  # the stop flags are set and reset as one
        self._stop = threading.Event()
        from .command_action import CommandActionServer

        self.action = CommandActionServer(
            self, self._board, self._stop_job, default_frame=self.spatial_frame, queue_goals=queue_goals,
            fixed_frame=self.spatial_frame if self.tools == "ros" else None,
            on_refused=lambda command, why: self._status("rejected", command=command, reason=why))
        self._worker = threading.Thread(target=self._work, name="agent-worker", daemon=True)
        self._worker.start()
        self.diagnostics = DiagnosticsPublisher.create(self, "agent", self._health, period_s=diagnostics_period_s)
        where = {"ros": f"robot over ROS ({motion} motion, cell {scene_path})", "embedded": f"embedded scene {scene_path}",
                 "toolshed": "tools and robot on toolshed replicas"}[self.world]
        self.get_logger().info(f"agent ready ({self.policy_name} policy, {where})")

    def _make_policy(self):
        from ..compose.policy import make_policy

        return make_policy(self.policy_name, self.policy_url, self.model)

    def _health(self) -> HealthReport:
        job = self._board.current
        return agent_health(alive=self._worker.is_alive(), busy=job is not None,
                            command=job.command if job is not None else None, last=self._last_doc,
                            policy=self.policy.name, world=self.world, commands_run=self._counts[0],
                            commands_succeeded=self._counts[1])

    def _status(self, state: str, **extra) -> None:
        self.pub_status.publish(String(data=json.dumps({"state": state, **extra})))

    def _on_command(self, msg: String) -> None:
        from ..core.command_guard import MAX_RAW_CHARS

        text = msg.data[:MAX_RAW_CHARS + 1]  # longer ones are refused by the command check anyway
        if not self._board.submit(Job(text, self.spatial_frame), limit=1):
            self._status("rejected", command=text, reason="busy with another command")

    def _on_cancel(self, _req, resp):
        job = self._board.current
        if job is not None and self._board.stop(job, "cancelled") == "running":
            self._halt()
            resp.success, resp.message = True, "cancelling: the arm stops now"
        else:
            resp.success, resp.message = False, "nothing to cancel"
        return resp

    def _stop_job(self, job: Job, reason: str) -> None:
        """Stop ``job`` (cancel, timeout): the arm stops now when it is the one running."""
        if self._board.stop(job, reason) == "running":
            self.get_logger().info(f"stopping the command ({reason}): the arm stops now")
            self._halt()

    def _halt(self) -> None:
        """The running episode stops: no further tool call, the motion in progress ends now."""
        with self._halt_lock:
            self._cancel.set()
            if self._session is not None:
                self._session.arm.cancel_requested = True
            elif self.tools == "ros":  # the replica's arm monitor sees the stop and fails its motion
                from trajectory_msgs.msg import JointTrajectory

                self.pub_stop.publish(JointTrajectory(joint_names=self.arm_joints))

    def _begin(self, job: Job) -> None:
        """Reset the stop flags for ``job`` (kept when it was stopped already)."""
        with self._halt_lock:
            stopped = job.stop_reason is not None
            if stopped:
                self._cancel.set()
            else:
                self._cancel.clear()
            if self._session is not None:
                self._session.arm.cancel_requested = stopped

    def _work(self) -> None:
        while not self._stop.is_set():
            job = self._board.take(timeout_s=0.2)
            if job is None:
                continue
            try:
                self._run_job(job)
            except Exception as exc:  # noqa: BLE001 - the worker outlives any one command
                self.get_logger().error(f"command failed: {exc!r}")
                if job.doc is None:
                    job.doc = {"command": job.command, "success": False, "reason": "error", "error": str(exc)}
            finally:
                self._board.finish(job)
                job.done.set()
        if self._session is not None and self.world == "embedded":  # renderers belong to this thread's GL context
            self._session.close()
            self._session = None

    def _run_job(self, job: Job) -> None:
        """Run one command and publish its transcript and result document (``job.doc``)."""
        command = job.command
        self._begin(job)
        self._markers.begin()  # the previous command's markers go
        if job.on_start is not None:
            job.on_start()
        if job.stop_reason is not None:  # stopped before it began: nothing moved
            self._publish_result(job, self._base_doc(job, {"success": False, "reason": job.stop_reason,
                                                           "error": "stopped before it began", "attempts": 0,
                                                           "tool_calls": []}))
            return
        timer = None
        if job.timeout_s > 0:
            timer = threading.Timer(job.timeout_s, self._stop_job, (job, "timeout"))
            timer.daemon = True
            timer.start()
        try:
            missing = self._not_ready()
            if missing is not None:  # nothing was sent to the robot
                self.get_logger().error(f"command not run: {missing}")
                self._publish_result(job, self._base_doc(job, {"success": False, "reason": "robot_unavailable",
                                                               "error": missing, "attempts": 0, "tool_calls": []}))
                return
            self._begin(job)  # the session may be new
            self._status("running", command=command)

            def progress(line: str) -> None:
                self._status("progress", line=line)
                if job.on_progress is not None:
                    try:
                        job.on_progress(line)
                    except Exception as exc:  # noqa: BLE001 - feedback never ends an episode
                        self.get_logger().warning(f"no feedback: {exc!r}")

            outcome = self._run_remote(job, progress) if self.tools == "ros" else self._run_local(job, progress)
            doc = outcome.to_dict()
            transcript = {"command": command, "transcript": doc.pop("transcript")}
            self.pub_transcript.publish(String(data=json.dumps(transcript)))
            doc = self._base_doc(job, doc)
            doc["final_object_poses"] = self._final_positions()
            if job.stop_reason is not None and not doc["success"]:
                doc["reason"] = job.stop_reason  # what stopped it, whatever the interrupted step reported
            self._publish_result(job, doc)
        except Exception as exc:  # noqa: BLE001 - a failed episode never kills the node
            self.get_logger().error(f"command failed: {exc!r}")
            self._publish_result(job, {"command": command, "success": False, "reason": job.stop_reason or "error",
                                       "error": str(exc)})
        finally:
            if timer is not None:
                timer.cancel()

    def _base_doc(self, job: Job, doc: dict) -> dict:
        """The result document's common fields: which command, world, policy and frame."""
        return {**doc, "command": job.command, "world": self.world, "policy": self.policy.name,
                "spatial_frame": job.spatial_frame}

    def _publish_result(self, job: Job, doc: dict) -> None:
        """The result document goes out on spacetools/episode_result and becomes ``job.doc``."""
        job.doc = doc
        self._last_doc = {"command": job.command, "success": doc.get("success") is True, "reason": doc.get("reason")}
        self._counts[0] += 1
        self._counts[1] += doc.get("success") is True
        self.pub_result.publish(String(data=json.dumps(doc, default=str)))
        self._status("done", command=job.command, success=bool(doc.get("success")), reason=doc.get("reason"))

    def _not_ready(self) -> str | None:
        """What is missing before a command may run (None: ready)."""
        from ..compose.session import EmbeddedSession

        if self.tools == "ros":
            for tool in ("robot.execute_grasp", "roborefer.detect_all"):
                if not self.client.wait_for_tool(tool, self.ready_timeout_s):
                    return f"no tool server in the ROS graph offers {tool}"
            return None
        if self._session is None:
            self._session = EmbeddedSession.create(self.scene, real_time_factor=self.rtf)
        return self._session.ready(self.ready_timeout_s) if self.world == "ros" else None

    def _run_local(self, job: Job, progress):
        from ..compose.episode import run_command

        outcome, episode = run_command(self._session, job.command, self.policy, progress=progress,
                                       spatial_frame=job.spatial_frame, on_response=self._markers.on_response)
        images = list(episode.images)
        self._markers.finish(outcome.tool_calls, lambda i: images[i] if 0 <= i < len(images) else None)
        episode.close()
        return outcome

    def _run_remote(self, job: Job, progress):
        from ..backends.perception.verify import PerceptionVerifier
        from ..backends.tools.offline import PerceptionCache
        from ..core.orchestrator import Orchestrator
        from .remote_tools import RemoteTools

        if self._perception is None:
            self._perception = PerceptionCache()
        remote = RemoteTools(self.client, self.camera, self.robot_call_timeout_s,
                             log=lambda s: self.get_logger().warning(s))
        # the replica that moves the robot decodes the targets and enforces the envelope with the
        # variables and images it holds
        # the agent's own check looks at the camera topics: the frame the replica took after its
        # last motion, or the newest one before anything moved
        verifier = PerceptionVerifier(lambda: remote.latest_frame() or self.camera.frame("latest"), self._perception,
                                      spatial_frame=job.spatial_frame)
        execute = self._markers.wrap(remote.execute, remote.frames.get)
        orch = Orchestrator(self.policy, execute, remote.schemas, progress=progress,
                            images=remote.images, is_cancelled=self._cancel.is_set, verifier=verifier)
        try:
            return orch.run(job.command)
        finally:
            remote.close()

    def _final_positions(self) -> dict[str, list[float]]:
        """The simulator's truth in the embedded world; what the camera sees on a robot."""
        if self.world == "embedded":
            return self._session.sim.object_positions()
        try:
            if self.tools == "ros":
                from ..backends.tools.offline import PerceptionCache
                from ..backends.tools.world import perceived_positions

                frame = self.camera.wait_for_frame(0.0, self.ready_timeout_s)
                return {} if frame is None else perceived_positions(PerceptionCache()(frame), self.scene.table)
            return self._session.tool_world().perceived_positions()
        except Exception as exc:  # noqa: BLE001 - the episode result still goes out
            self.get_logger().warning(f"no final object positions: {exc}")
            return {}

    def shutdown(self) -> None:
        """Stop the worker (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        current = self._board.current
        if current is not None:
            self._stop_job(current, "shutdown")
        self._worker.join(timeout=30)
        for job in self._board.drain():  # goals still waiting end now (aborted, reason shutdown)
            job.stop_reason = "shutdown"
            job.doc = self._base_doc(job, {"success": False, "reason": "shutdown", "error": "the agent stopped",
                                           "attempts": 0, "tool_calls": []})
            job.done.set()
            if job.on_start is not None:
                job.on_start()
        self.action.close()


def main(args: list[str] | None = None) -> None:
    """Run the agent until SIGINT/SIGTERM."""
    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [AgentNode()], args))


if __name__ == "__main__":
    main()
