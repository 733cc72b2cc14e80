"""The arm through the stock controllers' actions (controller_interface: action): FollowJointTrajectory
goals carry the package's tolerances and the controller's verdict (success, path tolerance violated,
a rejected goal) becomes the motion's outcome; a cancel cancels the goal and the arm stops;
GripperCommand closes on an object and reports the opening. The stock interface package has no
wheel here, so the test builds a fixture package of the same interface shapes
(test/fixtures/spacetools_test_controllers) and runs a fake controller (named as such) that moves
simulated joints the way a joint_trajectory_controller does."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from rclpy.action import ActionServer, CancelResponse, GoalResponse  # noqa: E402
from rclpy.callback_groups import ReentrantCallbackGroup  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402

from spacetools_ros.core.errors import MotionFailure  # noqa: E402
from spacetools_ros.core.monitor import MonitorConfig  # noqa: E402
from spacetools_ros.core.robot_spec import load_robot_spec  # noqa: E402
from spacetools_ros.core.trajectory import JointTrajectory  # noqa: E402
from spacetools_ros.ros import conversions as conv  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "spacetools_test_controllers"


@pytest.fixture(scope="module")
def types():
    """The fixture interface package, built into the venv (once; skipped when up to date)."""
    run = subprocess.run(["bash", str(ROOT / "scripts" / "build_interfaces.sh"), str(ROOT / "test" / "fixtures" / FIXTURE)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    import importlib

    action = importlib.import_module(f"{FIXTURE}.action")
    return action.FollowJointTrajectory, action.GripperCommand


class FakeController:
    """A fake joint_trajectory_controller + gripper action controller + joint state broadcaster on
    one node: follows accepted trajectories by interpolating their points in time (or stays blocked
    where it is when ``blocked``), aborts with PATH_TOLERANCE_VIOLATED when a joint strays past the
    goal's path tolerance, holds on cancel; the fingers move at 0.1 m/s and stall on an object of
    ``object_width``."""

    def __init__(self, node, fjt, gc, robot) -> None:
        self.node, self.fjt, self.gc = node, fjt, gc
        self.arm_joints, self.finger_joints = list(robot.arm_joints), list(robot.finger_joints)
        self.q = np.zeros(len(self.arm_joints))
        self.width = 0.08
        self.object_width: float | None = None
        self.blocked = False
        self.goals: list = []
        self.grip_goals: list = []
        self.cancelled = 0
        self.lock = threading.Lock()
        group = ReentrantCallbackGroup()
        self.pub = node.create_publisher(JointState, "joint_states", 50)
        node.create_timer(0.01, self._publish, callback_group=group)
        ActionServer(node, fjt, "arm_controller/follow_joint_trajectory", self._follow, callback_group=group,
                     goal_callback=self._check, cancel_callback=lambda _g: CancelResponse.ACCEPT)
        ActionServer(node, gc, "gripper_controller/gripper_cmd", self._grip, callback_group=group)

    def _publish(self) -> None:
        with self.lock:
            pos = list(self.q) + [self.width / 2.0] * len(self.finger_joints)
        msg = JointState(name=self.arm_joints + self.finger_joints, position=[float(v) for v in pos])
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.pub.publish(msg)

    def _check(self, goal) -> GoalResponse:
        ok = sorted(goal.trajectory.joint_names) == sorted(self.arm_joints) and goal.trajectory.points
        return GoalResponse.ACCEPT if ok else GoalResponse.REJECT

    def _follow(self, handle):
        goal = handle.request
        self.goals.append(goal)
        names = list(goal.trajectory.joint_names)
        order = [names.index(n) for n in self.arm_joints]
        times = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in goal.trajectory.points])
        pos = np.array([[p.positions[i] for i in order] for p in goal.trajectory.points])
        tol = {t.name: t.position for t in goal.path_tolerance}
        with self.lock:
            q0 = self.q.copy()
        t0 = time.monotonic()
        result = self.fjt.Result()
        while True:
            t = time.monotonic() - t0
            if handle.is_cancel_requested:
                self.cancelled += 1
                handle.canceled()
                return result
            want = np.array([np.interp(t, np.r_[0.0, times], np.r_[q0[j], pos[:, j]]) for j in range(len(order))])
            with self.lock:
                if not self.blocked:
                    self.q = want
                err = np.abs(want - self.q)
            fb = self.fjt.Feedback(joint_names=self.arm_joints)
            fb.error.positions = [float(e) for e in err]
            handle.publish_feedback(fb)
            over = [n for n, e in zip(self.arm_joints, err) if e > tol.get(n, np.inf)]
            if over:
                result.error_code = self.fjt.Result.PATH_TOLERANCE_VIOLATED
                result.error_string = f"fake controller: {over[0]} beyond its path tolerance"
                handle.abort()
                return result
            if t >= times[-1]:
                result.error_code = self.fjt.Result.SUCCESSFUL
                handle.succeed()
                return result
            time.sleep(0.01)

    def _grip(self, handle):
        goal = handle.request
        self.grip_goals.append(goal)
        target = float(goal.command.position)
        result = self.gc.Result()
        while True:
            with self.lock:
                step = np.clip(target - self.width, -0.001, 0.001)
                stop_at = self.object_width if self.object_width is not None and step < 0 else None
                if stop_at is not None and self.width + step <= stop_at:
                    self.width = stop_at
                    result.stalled = True
                    break
                self.width += step
                if abs(self.width - target) < 1e-6:
                    result.reached_goal = True
                    break
            time.sleep(0.01)
        result.position = self.width
        handle.succeed()
        return result


@pytest.fixture(scope="module")
def rig(types):
    from spacetools_ros.ros.ros_arm import RosArm, RosArmConfig

    fjt, gc = types
    rclpy.init()
    robot = load_robot_spec()
    node = rclpy.create_node("fake_controllers")
    fake = FakeController(node, fjt, gc, robot)
    arm_node = rclpy.create_node("arm_under_test")
    arm = RosArm(arm_node, robot, np.eye(4), MonitorConfig(max_tracking_error_rad=0.08, goal_tolerance_rad=0.01),
                 RosArmConfig(controller_interface="action", controller_action_package=FIXTURE))
    ex = MultiThreadedExecutor(num_threads=4)
    ex.add_node(node)
    ex.add_node(arm_node)
    threading.Thread(target=ex.spin, daemon=True).start()
    assert arm.actions.ready(time.monotonic() + 15.0) is None
    assert arm.wait_ready(10.0)
    yield arm, fake
    ex.shutdown(timeout_sec=2)
    rclpy.shutdown()


def _move(arm, to, duration: float = 1.0) -> JointTrajectory:
    q0 = arm.joint_positions()
    times = np.linspace(0.0, duration, 11)
    pos = np.array([q0 + (np.asarray(to) - q0) * s for s in times / duration])
    return JointTrajectory(tuple(arm.joint_names), times, pos)


def test_a_trajectory_runs_through_the_controller_with_the_packages_tolerances(rig):
    arm, fake = rig
    fake.blocked = False
    target = np.linspace(0.1, 0.4, 7)
    report = arm.execute(_move(arm, target, 1.0))
    assert np.allclose(arm.joint_positions(), target, atol=0.02)
    assert 0.9 <= report.duration_s <= 3.0 and report.max_tracking_error_rad < 0.08
    goal = fake.goals[-1]
    assert [t.name for t in goal.path_tolerance] == list(arm.joint_names)
    assert all(t.position == 0.08 for t in goal.path_tolerance) and all(t.position == 0.01 for t in goal.goal_tolerance)
    assert goal.goal_time_tolerance.sec + goal.goal_time_tolerance.nanosec * 1e-9 == pytest.approx(1.5)


def test_the_controllers_error_is_the_motions_failure(rig):
    arm, fake = rig
    fake.blocked = True  # something holds the arm: the controller aborts on its path tolerance
    try:
        with pytest.raises(MotionFailure) as e:
            arm.execute(_move(arm, np.zeros(7), 1.0))
    finally:
        fake.blocked = False
    assert e.value.reason == "tracking_error" and "beyond its path tolerance" in str(e.value)
    # a trajectory for joints the controller does not drive is rejected before anything moves
    bad = JointTrajectory(tuple(f"other_joint{i}" for i in range(7)), np.array([0.0, 1.0]), np.zeros((2, 7)))
    before = arm.joint_positions()
    with pytest.raises(MotionFailure) as e:
        arm.actions.follow(conv.trajectory_msg(bad, 0.0), arm.monitor_config, 1.0, lambda: False)
    assert e.value.reason == "invalid_target" and "rejected" in str(e.value)
    assert np.allclose(arm.joint_positions(), before)


def test_a_cancel_cancels_the_goal_and_the_arm_stops(rig):
    arm, fake = rig
    start = arm.joint_positions()
    n = fake.cancelled

    def cancel_once_moving():
        # once the arm is well under way (not after a fixed time: a loaded machine starts it later)
        deadline = time.monotonic() + 10.0
        while np.max(np.abs(arm.joint_positions() - start)) < 0.05 and time.monotonic() < deadline:
            time.sleep(0.01)
        arm.cancel_requested = True

    threading.Thread(target=cancel_once_moving, daemon=True).start()
    try:
        with pytest.raises(MotionFailure) as e:
            arm.execute(_move(arm, start + 0.5, 2.0))
    finally:
        arm.cancel_requested = False
    assert e.value.reason == "cancelled"
    deadline = time.monotonic() + 10.0  # the controller sees the cancel request (later on a loaded machine)
    while fake.cancelled < n + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.cancelled == n + 1
    stopped = arm.joint_positions()
    time.sleep(0.5)
    assert np.allclose(arm.joint_positions(), stopped, atol=1e-9)  # held where it was
    assert 0.02 < np.max(np.abs(stopped - start)) < 0.45  # it had moved, not all the way


def test_the_gripper_closes_on_an_object_through_its_action(rig):
    arm, fake = rig
    assert arm.set_gripper(0.08) == pytest.approx(0.08, abs=1e-3)
    fake.object_width = 0.04
    try:
        width = arm.set_gripper(0.0)
    finally:
        fake.object_width = None
    assert width == pytest.approx(0.04, abs=1e-3)  # stalled on the object
    goal = fake.grip_goals[-1]
    assert goal.command.position == 0.0 and goal.command.max_effort == 20.0


def test_without_the_interfaces_or_with_a_bad_package_name_it_says_so():
    from spacetools_ros.ros.controller_actions import interface_types
    from spacetools_ros.ros.ros_arm import RosArmConfig

    with pytest.raises(ValueError, match="ROS package name"):
        interface_types("control_msgs; rm -rf /")
    with pytest.raises(ValueError, match="apt install ros-\\$ROS_DISTRO-no-such-msgs"):
        interface_types("no_such_msgs")
    with pytest.raises(ValueError, match="topic or action"):
        RosArmConfig(controller_interface="service")
