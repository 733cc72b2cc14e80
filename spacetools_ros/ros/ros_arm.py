"""ArmBackend over a robot's standard ROS 2 interfaces: the arm of a real cell, of Gazebo/Isaac,
or of the embedded sim node.

Reads sensor_msgs/JointState (arm and finger joints) and the RGB-D camera topics. With
``controller_interface: topic`` (default) it sends trajectory_msgs/JointTrajectory to a
joint_trajectory_controller topic (stamp 0: it starts when it arrives; an empty trajectory stops the
arm) and finger widths (std_msgs/Float64MultiArray) to a gripper controller, and monitors execution
from the joint states against the trajectory, on the clock of their stamps. With ``action`` it uses
the stock controllers' actions (``controller_actions``: FollowJointTrajectory with this package's
tolerances, GripperCommand), and the controllers judge the motion. Blocking calls must run outside
the executor that serves this node (the agent's worker thread does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg

from ..backends.motion.base import ExecutionReport
from ..core import gripper_command
from ..core.camera import CameraFrame
from ..core.errors import MotionFailure
from ..core.monitor import MonitorConfig, TrajectoryMonitor
from ..core.results import FailureReason
from ..core.robot_spec import RobotSpec
from ..core.trajectory import JointTrajectory
from . import conversions as conv
from . import topics
from .camera_buffer import CameraConfig, CameraFrameBuffer


@dataclass(frozen=True)
class RosArmConfig:
    """Topics and timing of the ROS arm (topic names relative to the node's namespace).

    Attributes:
        camera: the camera's topics, QoS and pairing tolerance.
        max_start_lag_s: a trajectory may start up to this long after it was sent (the monitor
            compares against the best start in that window).
        state_timeout_s: no joint state for this long (wall) = the robot is gone.
        frame_timeout_s: how long to wait for a camera frame newer than the last motion.
        gripper_settle_s: the fingers count as stopped after this long without moving (robot clock).
        gripper_timeout_s: longest gripper motion (robot clock).
        gripper_unit: what a gripper command carries: ``width`` ([opening m]) or
            ``finger_position`` (one position per finger joint, m; the GripperCommand goal's
            position is then one finger's).
        controller_interface: ``topic`` (command topics) or ``action`` (the stock controllers'
            FollowJointTrajectory and GripperCommand actions).
        controller_action_package: the package of those actions (``control_msgs``).
        arm_action / gripper_action: the action names (relative to the node's namespace).
        gripper_max_effort: the GripperCommand goal's max_effort (N).
    """

    joint_states_topic: str = topics.JOINT_STATES
    trajectory_topic: str = topics.ARM_TRAJECTORY
    gripper_topic: str = topics.GRIPPER_COMMAND
    gripper_unit: str = "width"
    max_start_lag_s: float = 0.5
    state_timeout_s: float = 3.0
    frame_timeout_s: float = 2.0
    gripper_settle_s: float = 0.1
    gripper_timeout_s: float = 2.0
    camera: CameraConfig = CameraConfig()
    controller_interface: str = "topic"
    controller_action_package: str = "control_msgs"
    arm_action: str = topics.ARM_ACTION
    gripper_action: str = topics.GRIPPER_ACTION
    gripper_max_effort: float = 20.0

    def __post_init__(self) -> None:
        for name in ("joint_states_topic", "trajectory_topic", "gripper_topic", "arm_action", "gripper_action"):
            topics.check_name(getattr(self, name), name.replace("_", " "))
        gripper_command.check_unit(self.gripper_unit)
        if self.controller_interface not in ("topic", "action"):
            raise ValueError(f"controller_interface must be topic or action, got {str(self.controller_interface)[:40]!r}")
        if not (isinstance(self.gripper_max_effort, (int, float)) and 0.0 <= self.gripper_max_effort <= 1000.0):
            raise ValueError("gripper_max_effort must be a number of newtons in 0..1000")

    @staticmethod
    def declare(node: Node) -> "RosArmConfig":
        """Declare the robot's topic parameters (and the camera's) on ``node`` and read them.

        Raises:
            ValueError: an invalid topic name, camera QoS or tolerance.
        """
        d = node.declare_parameter
        return RosArmConfig(joint_states_topic=d("joint_states_topic", topics.JOINT_STATES).value,
                            trajectory_topic=d("arm_trajectory_topic", topics.ARM_TRAJECTORY).value,
                            gripper_topic=d("gripper_command_topic", topics.GRIPPER_COMMAND).value,
                            gripper_unit=d("gripper_command_unit", "width").value,
                            controller_interface=d("controller_interface", "topic").value,
                            controller_action_package=d("controller_action_package", "control_msgs").value,
                            arm_action=d("arm_action", topics.ARM_ACTION).value,
                            gripper_action=d("gripper_action", topics.GRIPPER_ACTION).value,
                            gripper_max_effort=float(d("gripper_max_effort", 20.0).value),
                            camera=CameraConfig.declare(node))


class RosArm:
    """The arm, gripper and camera of a robot reached through topics."""

    def __init__(self, node: Node, robot: RobotSpec, camera_extrinsics: np.ndarray,
                 monitor: MonitorConfig | None = None, config: RosArmConfig | None = None) -> None:
        self.node = node
        self.robot = robot
        self.joint_names = robot.arm_joints
        self.monitor_config = monitor or MonitorConfig()
        self.config = cfg = config or RosArmConfig()
        self.cancel_requested = False
        self._cond = threading.Condition()
        self._q: np.ndarray | None = None
        self._fingers = np.zeros(len(robot.finger_joints))
        self._stamp_s = 0.0
        self._seq = 0
        self._wall_last = 0.0
        self.actions = None
        if cfg.controller_interface == "action":
            from .controller_actions import ControllerActions

            self.actions = ControllerActions(node, cfg.controller_action_package, cfg.arm_action, cfg.gripper_action)
        else:
            self.pub_traj = node.create_publisher(JointTrajectoryMsg, cfg.trajectory_topic, 10)
            self.pub_gripper = node.create_publisher(Float64MultiArray, cfg.gripper_topic, 10)
        node.create_subscription(JointState, cfg.joint_states_topic, self._on_joint_state, 50)
        self.camera = CameraFrameBuffer(node, camera_extrinsics, config=cfg.camera)

    # ------------------------------------------------------------------ state
    def _on_joint_state(self, msg: JointState) -> None:
        index = {n: i for i, n in enumerate(msg.name)}
        if not all(n in index for n in self.joint_names) or len(msg.position) != len(msg.name):
            return  # another group's states (a real robot may publish several)
        q = np.array([msg.position[index[n]] for n in self.joint_names], dtype=float)
        stamp = conv.from_time(msg.header.stamp)
        with self._cond:
            self._q = q
            for i, n in enumerate(self.robot.finger_joints):
                if n in index:
                    self._fingers[i] = msg.position[index[n]]
            # drivers that leave stamps empty: fall back to this node's clock
            self._stamp_s = stamp if stamp > 0 else self.node.get_clock().now().nanoseconds * 1e-9
            self._seq += 1
            self._wall_last = time.monotonic()
            self._cond.notify_all()

    def wait_ready(self, timeout_s: float = 10.0) -> bool:
        """Whether joint states arrived within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._q is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=left)
        return True

    def ready(self, timeout_s: float = 10.0) -> str | None:
        """None when joint states and a camera frame arrive and the arm and gripper controllers
        subscribe to their command topics within ``timeout_s``; else what is missing."""
        deadline = time.monotonic() + timeout_s
        if not self.wait_ready(timeout_s):
            return f"no joint states on {self.config.joint_states_topic}"
        if self.camera.wait_for_frame(0.0, max(deadline - time.monotonic(), 0.1)) is None:
            cam = self.config.camera
            return (f"no camera frames (colour, depth and camera info within {cam.sync_tolerance_s} s on "
                    f"{cam.color_topic}, {cam.depth_topic}, {cam.info_topic})")
        if self.actions is not None:
            return self.actions.ready(deadline)
        for pub, topic in ((self.pub_traj, self.config.trajectory_topic), (self.pub_gripper, self.config.gripper_topic)):
            while pub.get_subscription_count() == 0:
                if time.monotonic() > deadline:
                    return f"no controller subscribes to {topic}"
                time.sleep(0.05)
        return None

    def _state(self) -> tuple[np.ndarray, float, int]:
        if not self.wait_ready(self.config.state_timeout_s):
            raise MotionFailure(FailureReason.TIMEOUT.value,
                                f"no joint states on {self.config.joint_states_topic} "
                                f"within {self.config.state_timeout_s:.0f} s")
        with self._cond:
            return self._q.copy(), self._stamp_s, self._seq

    def _next_state(self, seq: int) -> tuple[np.ndarray, float, int]:
        """The first joint state after number ``seq`` (raises MotionFailure when they stop)."""
        deadline = time.monotonic() + self.config.state_timeout_s
        with self._cond:
            while self._seq == seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MotionFailure(FailureReason.TIMEOUT.value, "joint states stopped arriving")
                self._cond.wait(timeout=min(left, 0.2))
            return self._q.copy(), self._stamp_s, self._seq

    def joint_positions(self) -> np.ndarray:
        """Measured arm joint positions, rad."""
        return self._state()[0]

    def gripper_width(self) -> float:
        """Finger opening, m (the sum of the two finger joints)."""
        self._state()
        with self._cond:
            return float(self._fingers.sum())

    def now_s(self) -> float:
        """The robot's clock: the stamp of the latest joint state."""
        return self._state()[1]

    # ------------------------------------------------------------------ commands
    def stop(self) -> None:
        """Stop the arm where it is (an empty trajectory, as joint_trajectory_controller reads it;
        with actions: the running goal cancelled)."""
        if self.actions is not None:
            self.actions.stop()
            return
        self.pub_traj.publish(JointTrajectoryMsg(joint_names=list(self.joint_names)))

    def execute(self, traj: JointTrajectory) -> ExecutionReport:
        """Send a trajectory and monitor it until it ends (raises MotionFailure)."""
        if self.cancel_requested:
            raise MotionFailure(FailureReason.CANCELLED.value, "motion cancelled")
        traj = traj.reordered(self.joint_names)
        _, start, seq = self._state()
        if self.actions is not None:
            worst = self.actions.follow(conv.trajectory_msg(traj, 0.0), self.monitor_config, traj.duration_s,
                                        lambda: self.cancel_requested)
            return ExecutionReport(self._next_state(seq)[1] - start, worst)
        # stamp 0 = start on arrival: a stamp in the future could arrive late and make the
        # controller jump ahead along the path
        self.pub_traj.publish(conv.trajectory_msg(traj, 0.0))
        mon = TrajectoryMonitor(traj, start, self.monitor_config, start_lag_s=self.config.max_start_lag_s)
        # robot-clock limits are the monitor's; this wall-clock cap only guards against a frozen clock
        wall_cap = time.monotonic() + 20.0 * (traj.duration_s + self.config.max_start_lag_s
                                               + self.monitor_config.timeout_margin_s) + 10.0
        while True:
            if self.cancel_requested:
                self.stop()
                raise MotionFailure(FailureReason.CANCELLED.value, "motion cancelled")
            try:
                q, t, seq = self._next_state(seq)
            except MotionFailure:
                self.stop()
                raise
            done, reason = mon.update(t, q)
            if not done and time.monotonic() > wall_cap:
                done, reason = True, FailureReason.TIMEOUT.value
            if done:
                if reason is not None:
                    self.stop()
                    raise MotionFailure(reason, f"max tracking error {mon.max_error_rad:.3f} rad")
                return ExecutionReport(t - start, mon.max_error_rad)

    def set_gripper(self, width_m: float) -> float:
        """Command the finger opening and wait until the fingers stop (on the object or at the goal)."""
        cfg = self.config
        width = float(np.clip(width_m, 0.0, self.robot.gripper_max_width_m))
        _, t0, seq = self._state()
        command = gripper_command.encode(width, cfg.gripper_unit, len(self.robot.finger_joints))
        if self.actions is not None:  # the controller says when the fingers stopped
            self.actions.grip(command[0], cfg.gripper_max_effort, 5.0 * cfg.gripper_timeout_s)
            _, t, seq = self._next_state(seq)
            return self._hold(t, seq)
        self.pub_gripper.publish(Float64MultiArray(data=command))
        last, still_since = self.gripper_width(), None
        while True:
            _, t, seq = self._next_state(seq)
            w = self.gripper_width()
            if t - t0 > cfg.gripper_timeout_s:
                break
            if abs(w - last) < 2e-5:
                still_since = t if still_since is None else still_since
                if t - t0 >= 0.15 and t - still_since > cfg.gripper_settle_s:
                    break
            else:
                still_since = None
            last = w
        return self._hold(t, seq)

    def _hold(self, t: float, seq: int) -> float:
        """The opening after 0.2 s more of robot time from ``t`` (the grip force builds up)."""
        t_hold = t + 0.2
        while t < t_hold:
            _, t, seq = self._next_state(seq)
        return self.gripper_width()

    def capture(self) -> CameraFrame | None:
        """A camera frame taken after the latest joint state (so after the last motion); the newest
        one if none comes in time; None if the camera has sent nothing."""
        try:
            now = self.now_s()
        except MotionFailure:
            now = 0.0
        frame = self.camera.wait_for_frame(now, self.config.frame_timeout_s)
        if frame is None and self.camera.has_frame():
            frame = self.camera.frame("latest")
        return frame
