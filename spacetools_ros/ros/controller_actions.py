"""The stock ros2_control controllers through their actions: joint_trajectory_controller's
``FollowJointTrajectory`` and a gripper action controller's ``GripperCommand`` (``control_msgs``, or
another installed package of the same interface shapes, ``controller_action_package``).

The trajectory goal carries this package's tracking limits as the controller's path and goal
tolerances and goal time tolerance, so the controller judges the motion and says why it failed
(``error_code``, ``error_string``); a cancel cancels the goal (the controller holds the arm where it
is). Blocking calls wait on the action futures with events: they must run outside the executor
that serves the node (the agent's worker thread does).
"""

from __future__ import annotations

import importlib
import re
import threading
import time
from collections.abc import Callable

from rclpy.action import ActionClient
from rclpy.node import Node

from ..core.errors import MotionFailure
from ..core.monitor import MonitorConfig
from ..core.results import FailureReason
from . import conversions as conv

_PACKAGE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_STATUS_SUCCEEDED, _STATUS_CANCELED = 4, 5  # action_msgs/GoalStatus
# FollowJointTrajectory.Result error codes -> this package's failure reasons
TRAJECTORY_ERRORS = {-1: FailureReason.INVALID_TARGET, -2: FailureReason.INVALID_TARGET,
                     -3: FailureReason.TIMEOUT, -4: FailureReason.TRACKING_ERROR, -5: FailureReason.TRACKING_ERROR}


def interface_types(package: str):
    """(FollowJointTrajectory, GripperCommand, JointTolerance) of ``package``.

    Raises:
        ValueError: not a package name, or the package (or one of the three) is not installed.
    """
    if not isinstance(package, str) or not _PACKAGE.match(package):
        raise ValueError(f"controller_action_package must be a ROS package name, got {str(package)[:40]!r}")
    try:
        action = importlib.import_module(f"{package}.action")
        msg = importlib.import_module(f"{package}.msg")
        return action.FollowJointTrajectory, action.GripperCommand, msg.JointTolerance
    except (ImportError, AttributeError) as e:
        raise ValueError(f"controller_interface 'action' needs the {package} interfaces (on a ROS install: "
                         f"apt install ros-$ROS_DISTRO-{package.replace('_', '-')}), or use "
                         f"controller_interface: topic ({str(e)[:120]})") from None


def _wait(future, timeout_s: float, stop: Callable[[], bool] | None = None) -> bool:
    """Whether ``future`` completed within ``timeout_s`` (False at once when ``stop()`` turns true)."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    deadline = time.monotonic() + timeout_s
    while not done.wait(0.02):
        if time.monotonic() > deadline or (stop is not None and stop()):
            return False
    return True


class ControllerActions:
    """Action clients of the arm's trajectory controller and the gripper controller."""

    def __init__(self, node: Node, package: str, arm_action: str, gripper_action: str,
                 server_timeout_s: float = 5.0) -> None:
        self.fjt, self.gripper_type, self.tolerance_type = interface_types(package)
        self.arm_action, self.gripper_action = arm_action, gripper_action
        self.arm = ActionClient(node, self.fjt, arm_action)
        self.gripper = ActionClient(node, self.gripper_type, gripper_action)
        self.server_timeout_s = server_timeout_s
        self._lock = threading.Lock()
        self._active = None  # the goal handle of the running trajectory

    def ready(self, deadline: float) -> str | None:
        """None when both action servers are up before ``deadline`` (monotonic), else which is not."""
        for client, name in ((self.arm, self.arm_action), (self.gripper, self.gripper_action)):
            if not client.wait_for_server(timeout_sec=max(deadline - time.monotonic(), 0.1)):
                return f"no action server at {name}"
        return None

    def _send(self, client, name: str, goal, what: str, feedback=None):
        """The accepted goal's handle.

        Raises:
            MotionFailure: no server, no answer in time, or the goal rejected.
        """
        if not client.wait_for_server(timeout_sec=self.server_timeout_s):
            raise MotionFailure(FailureReason.TIMEOUT.value, f"no action server at {name}")
        sent = client.send_goal_async(goal, feedback_callback=feedback)
        if not _wait(sent, self.server_timeout_s):
            raise MotionFailure(FailureReason.TIMEOUT.value, f"{name} did not answer the goal")
        handle = sent.result()
        if not handle.accepted:
            raise MotionFailure(FailureReason.INVALID_TARGET.value, f"{name} rejected the {what}")
        return handle

    def follow(self, msg, monitor: MonitorConfig, duration_s: float, stop: Callable[[], bool]) -> float:
        """Run a trajectory (trajectory_msgs/JointTrajectory) to its end; the largest joint error the
        controller reported in its feedback (rad).

        Raises:
            MotionFailure: no server, the goal rejected, the controller's error (its error string),
                cancelled (``stop()`` turned true: the goal is cancelled) or no result in time.
        """
        goal = self.fjt.Goal()
        goal.trajectory = msg
        goal.path_tolerance = [self.tolerance_type(name=n, position=monitor.max_tracking_error_rad)
                               for n in msg.joint_names]
        goal.goal_tolerance = [self.tolerance_type(name=n, position=monitor.goal_tolerance_rad)
                               for n in msg.joint_names]
        goal.goal_time_tolerance = conv.to_duration(monitor.timeout_margin_s)
        worst = [0.0]

        def feedback(fb) -> None:
            err = [abs(float(v)) for v in fb.feedback.error.positions]
            if err:
                worst[0] = max(worst[0], max(err))

        handle = self._send(self.arm, self.arm_action, goal, "trajectory", feedback)
        with self._lock:
            self._active = handle
        try:
            result = handle.get_result_async()
            cap = 20.0 * (duration_s + monitor.timeout_margin_s) + 10.0  # wall clock, against a frozen clock
            if not _wait(result, cap, stop):
                self._cancel(handle)
                if stop():
                    raise MotionFailure(FailureReason.CANCELLED.value, "motion cancelled")
                raise MotionFailure(FailureReason.TIMEOUT.value, f"no result from {self.arm_action} in {cap:.0f} s")
        finally:
            with self._lock:
                self._active = None
        res = result.result()
        code = int(res.result.error_code)
        if res.status == _STATUS_SUCCEEDED and code == 0:
            return worst[0]
        if res.status == _STATUS_CANCELED:
            raise MotionFailure(FailureReason.CANCELLED.value, f"{self.arm_action} cancelled the trajectory")
        reason = TRAJECTORY_ERRORS.get(code, FailureReason.TRACKING_ERROR)
        text = str(res.result.error_string)[:200] or f"error code {code}"
        raise MotionFailure(reason.value, f"the trajectory controller: {text}")

    def _cancel(self, handle) -> None:
        _wait(handle.cancel_goal_async(), 2.0)

    def stop(self) -> None:
        """Cancel the running trajectory, if any (the controller holds the arm)."""
        with self._lock:
            handle = self._active
        if handle is not None:
            handle.cancel_goal_async()

    def grip(self, position: float, max_effort: float, timeout_s: float) -> None:
        """Move the gripper to ``position`` (the controller's unit) with at most ``max_effort``, until the
        controller reports the fingers stopped (at the goal or stalled on an object).

        Raises:
            MotionFailure: no server, the goal rejected, or no result within ``timeout_s``.
        """
        goal = self.gripper_type.Goal()
        goal.command.position = float(position)
        goal.command.max_effort = float(max_effort)
        handle = self._send(self.gripper, self.gripper_action, goal, "command")
        if not _wait(handle.get_result_async(), timeout_s):
            self._cancel(handle)
            raise MotionFailure(FailureReason.TIMEOUT.value, f"no result from {self.gripper_action} in {timeout_s:.0f} s")
