"""spacetools_agent: natural-language pick-and-place commands over ROS 2.

Subscribes /spacetools/command (std_msgs/String); publishes /spacetools/status (JSON progress),
/spacetools/transcript (JSON, one per command) and /spacetools/episode_result (JSON); the
~/cancel service (std_srvs/Trigger) stops the motion. Episodes run in a worker thread, never in
an executor callback.

world=embedded (default) acts in an in-process simulated cell; world=ros acts on a robot through
its topics (joint states, camera, joint_trajectory_controller, gripper: a real arm, Gazebo/Isaac
or the spacetools_sim node), planning with the embedded planner or MoveItPy (motion=moveit).
"""

from __future__ import annotations

import json
import queue
import sys
import threading

from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from ..core.paths import config_dir
from ..core.scene import load_scene
from . import topics

COMMAND = "/spacetools/command"
STATUS = "/spacetools/status"
TRANSCRIPT = "/spacetools/transcript"


class AgentNode(Node):
    """Thin adapter: commands -> core orchestrator (with the scripted policy) -> results."""

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
        if self.world not in ("embedded", "ros"):
            raise ValueError("parameter world must be 'embedded' or 'ros'")
        self._make_policy()  # fail at start-up on a bad name
        self.scene = load_scene(scene_path)
        self._session = None
        if self.world == "ros":
            from .robot_session import RobotSession

            self._session = RobotSession.create(self, self.scene, motion, moveit_group)
        else:
            ensure_headless_gl()
        self.pub_status = self.create_publisher(String, STATUS, 10)
        self.pub_transcript = self.create_publisher(String, TRANSCRIPT, 10)
        self.pub_result = self.create_publisher(String, topics.EPISODE_RESULT, 10)
        self.create_subscription(String, COMMAND, self._on_command, 10)
        self.create_service(Trigger, "~/cancel", self._on_cancel)
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._worker = threading.Thread(target=self._work, name="agent-worker", daemon=True)
        self._worker.start()
        where = f"robot over ROS ({motion} motion, cell {scene_path})" if self.world == "ros" else f"embedded scene {scene_path}"
        self.get_logger().info(f"agent ready ({self.policy_name} policy, {where})")

    def _make_policy(self):
        from ..cli.run import make_policy

        return make_policy(self.policy_name, self.policy_url, self.model)

    def _status(self, state: str, **extra) -> None:
        self.pub_status.publish(String(data=json.dumps({"state": state, **extra})))

    def _on_command(self, msg: String) -> None:
        if self._busy.is_set() or self._queue.full():
            self._status("rejected", command=msg.data, reason="busy with another command")
            return
        self._busy.set()
        self._queue.put(msg.data)

    def _on_cancel(self, _req, resp):
        s = self._session
        if s is not None and self._busy.is_set():
            s.arm.cancel_requested = True
            resp.success, resp.message = True, "cancelling: the arm stops now"
        else:
            resp.success, resp.message = False, "nothing to cancel"
        return resp

    def _work(self) -> None:
        from ..cli.run import run_command
        from ..cli.session import EmbeddedSession

        while not self._stop.is_set():
            try:
                command = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if self._session is None:
                    self._session = EmbeddedSession.create(self.scene, real_time_factor=self.rtf)
                if self.world == "ros":
                    missing = self._session.ready(self.ready_timeout_s)
                    if missing is not None:  # nothing was sent to the robot
                        self._refuse(command, "robot_unavailable", missing)
                        continue
                self._session.arm.cancel_requested = False
                self._status("running", command=command)
                outcome, episode = run_command(self._session, command, self._make_policy(),
                                               progress=lambda line: self._status("progress", line=line))
                doc = outcome.to_dict()
                self.pub_transcript.publish(String(data=json.dumps({"command": command, "transcript": doc["transcript"]})))
                doc.pop("transcript")
                doc["command"] = command
                doc["world"] = self.world
                doc["final_object_poses"] = self._final_positions()
                self.pub_result.publish(String(data=json.dumps(doc)))
                self._status("done", command=command, success=doc["success"], reason=doc["reason"])
                episode.close()
            except Exception as exc:  # noqa: BLE001 - a failed episode never kills the node
                self.get_logger().error(f"command failed: {exc!r}")
                self.pub_result.publish(String(data=json.dumps({"command": command, "success": False,
                                                                "reason": "error", "error": str(exc)})))
                self._status("done", command=command, success=False, reason="error")
            finally:
                self._busy.clear()
        if self._session is not None and self.world == "embedded":  # renderers belong to this thread's GL context
            self._session.close()
            self._session = None

    def _refuse(self, command: str, reason: str, error: str) -> None:
        self.get_logger().error(f"command not run: {error}")
        self.pub_result.publish(String(data=json.dumps({"command": command, "success": False, "reason": reason,
                                                        "error": error, "attempts": 0, "tool_calls": []})))
        self._status("done", command=command, success=False, reason=reason)

    def _final_positions(self) -> dict[str, list[float]]:
        """The simulator's truth in the embedded world; what the camera sees on a robot."""
        if self.world == "embedded":
            return {k: [round(float(v), 4) for v in p] for k, (p, _) in self._session.sim.object_poses().items()}
        try:
            return self._session.tool_world().perceived_positions()
        except Exception as exc:  # noqa: BLE001 - the episode result still goes out
            self.get_logger().warning(f"no final object positions: {exc}")
            return {}

    def shutdown(self) -> None:
        """Stop the worker (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._session is not None:
            self._session.arm.cancel_requested = True
        self._worker.join(timeout=30)


def main(args: list[str] | None = None) -> None:
    """Run the agent until SIGINT/SIGTERM."""
    from .spin import run_nodes

    sys.exit(run_nodes(lambda: [AgentNode()], args))


if __name__ == "__main__":
    main()
