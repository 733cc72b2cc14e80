"""MotionBackend of the embedded planner executing on any ArmBackend (sim or ROS topics)."""

from __future__ import annotations

from collections import deque

import numpy as np

from ...core.camera import CameraFrame
from ...core.envelope import trajectory_violation
from ...core.errors import MotionFailure
from ...core.geometry import Pose
from ...core.planning_scene import PlanningScene
from ...core.robot_spec import RobotSpec
from ...core.results import FailureReason
from .base import ArmBackend, MotionStep
from .embedded_planner import EmbeddedPlanner, Plan, PlannerConfig

KEEP_PLANS = 8            # a robot session runs for days: keep the latest, not every plan
KEEP_PLAN_TIMES = 1000


class EmbeddedMotion:
    """Plans with ``EmbeddedPlanner`` and executes on an ``ArmBackend``.

    Attributes:
        plan_times_s: planning time of the latest plans made, seconds (for reports).
        plans: the latest executed plans (a long-lived session keeps only ``KEEP_PLANS``).
    """

    def __init__(self, robot: RobotSpec, arm: ArmBackend, config: PlannerConfig | None = None) -> None:
        self.robot = robot
        self.arm = arm
        self.planner = EmbeddedPlanner(robot, config)
        self._scene = PlanningScene()
        self.plan_times_s: deque[float] = deque(maxlen=KEEP_PLAN_TIMES)
        self.plans: deque[Plan] = deque(maxlen=KEEP_PLANS)

    def set_planning_scene(self, scene: PlanningScene) -> None:
        """Replace the planning scene."""
        self._scene = scene
        self.planner.set_scene(scene)

    def planning_scene(self) -> PlanningScene:
        """The current planning scene."""
        return self._scene

    def current_joints(self) -> np.ndarray:
        """Measured joint positions."""
        return self.arm.joint_positions()

    def tcp_pose(self, q: np.ndarray | None = None) -> Pose:
        """TCP pose from forward kinematics."""
        return self.planner.kin.fk(self.current_joints() if q is None else q)

    def gripper_width(self) -> float:
        """Measured finger opening."""
        return self.arm.gripper_width()

    def _width(self) -> float:
        # plan with the fingers as they are, never narrower than a closed grip on the held object
        return max(self.arm.gripper_width(), 0.0)

    def ik(self, pose: Pose, *, allowed: frozenset = frozenset(), finger_width_m: float | None = None) -> np.ndarray:
        """Collision-free IK near the current configuration."""
        width = self._width() if finger_width_m is None else finger_width_m
        return self.planner.ik(pose, self.current_joints(), finger_width_m=width, allowed=allowed)

    def _run(self, plan: Plan) -> MotionStep:
        traj = plan.trajectory
        why = trajectory_violation(traj.positions, traj.max_limit_ratios(self.planner.vmax, self.planner.amax),
                                   self.robot.position_lower_rad, self.robot.position_upper_rad, self.current_joints())
        if why is not None:  # the last line before the arm: whoever planned it, it does not run
            raise MotionFailure(FailureReason.INVALID_TARGET.value, why)
        self.plan_times_s.append(plan.plan_time_s)
        self.plans.append(plan)
        rep = self.arm.execute(plan.trajectory)
        return MotionStep(plan.plan_time_s, plan.trajectory.duration_s, rep.duration_s)

    def move_joints(self, q_goal: np.ndarray, *, allowed: frozenset = frozenset(), speed_scale: float = 1.0) -> MotionStep:
        """Plan (RRT-Connect if the straight line is blocked) and execute, optionally slower
        (``speed_scale`` in (0, 1]: never faster than motion.yaml allows)."""
        if not (isinstance(speed_scale, (int, float)) and 0.0 < float(speed_scale) <= 1.0):
            raise MotionFailure(FailureReason.INVALID_TARGET.value, f"speed_scale must be in (0, 1], got {speed_scale!r}")
        plan = self.planner.plan_joints(self.current_joints(), q_goal, finger_width_m=self._width(), allowed=allowed,
                                        speed_scale=speed_scale)
        return self._run(plan)

    def move_linear(self, goal: Pose, *, allowed: frozenset = frozenset()) -> MotionStep:
        """Straight-line TCP motion, then execute."""
        plan = self.planner.plan_cartesian(self.current_joints(), goal, finger_width_m=self._width(), allowed=allowed)
        return self._run(plan)

    def set_gripper(self, width_m: float) -> float:
        """Move the fingers."""
        return self.arm.set_gripper(width_m)

    def capture(self) -> CameraFrame | None:
        """Scene camera frame."""
        return self.arm.capture()

    def now_s(self) -> float:
        """The arm's clock."""
        return self.arm.now_s()
