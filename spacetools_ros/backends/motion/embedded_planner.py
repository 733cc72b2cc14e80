"""The embedded planner: IK, OMPL RRT-Connect in joint space, straight-line Cartesian paths,
a dense (<= 5 mm) collision re-check of every path and jerk-limited time parameterisation."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...core.errors import MotionFailure
from ...core.geometry import Pose, rotation_log
from ...core.planning_scene import PlanningScene
from ...core.results import FailureReason
from ...core.robot_spec import RobotSpec
from ...core.trajectory import JointTrajectory
from .jerk_timing import departures, jerk_limited_trajectory, require_ruckig
from .mujoco_kinematics import ROBOT_REACH_M, Clearances, MujocoKinematics


LIMIT_TOL_RAD = 1e-3  # measured joints may overshoot a limit this much (the sim node accepts the same)
# a measured start may sit past a limit by the servo's overshoot of a goal at the limit (1.7 mrad seen:
# every later plan then refused to start, the arm stuck): a path from it starts at the limit
START_OVERSHOOT_RAD = 0.01
POLYLINE_CORNER_TOL_RAD = 0.01  # a joint path stops at turns above this (below: a spline, < 1/800 of a segment off)
OFF_PATH_TOL_RAD = 2e-4  # timed positions farther than this from the checked path are checked again


@dataclass(frozen=True)
class PlannerConfig:
    """Embedded planner settings (see config/motion.yaml)."""

    velocity_scaling: float = 0.5
    acceleration_scaling: float = 0.5
    jerk_scaling: float = 0.5
    planning_time_s: float = 2.0
    max_replans: int = 3
    check_step_m: float = 0.005
    cartesian_step_m: float = 0.005
    cartesian_max_joint_jump_rad: float = 0.15
    cartesian_max_deviation_m: float = 0.015
    seed: int = 0
    clearances: Clearances = Clearances()


@dataclass(frozen=True)
class Plan:
    """A checked, timed trajectory and how long it took to produce."""

    trajectory: JointTrajectory
    path: np.ndarray
    plan_time_s: float


def _interp_pose(a: Pose, b: Pose, s: float) -> Pose:
    w = rotation_log(b.rotation @ a.rotation.T) * s
    angle = np.linalg.norm(w)
    if angle < 1e-12:
        r = np.eye(3)
    else:
        k = w / angle
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        r = np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx
    return Pose(a.position + s * (b.position - a.position), r @ a.rotation, a.frame)


class EmbeddedPlanner:
    """Collision-aware planning for the arm in a ``PlanningScene``."""

    def __init__(self, robot: RobotSpec, config: PlannerConfig | None = None) -> None:
        require_ruckig()
        self.robot = robot
        self.config = config or PlannerConfig()
        self.kin = MujocoKinematics(robot, self.config.clearances)
        self._rng = np.random.default_rng(self.config.seed)

    @property
    def vmax(self) -> np.ndarray:
        """Velocity limits after scaling, rad/s."""
        return self.robot.velocity_limit_rad_s * self.config.velocity_scaling

    @property
    def amax(self) -> np.ndarray:
        """Acceleration limits after scaling, rad/s^2."""
        return self.robot.acceleration_limit_rad_s2 * self.config.acceleration_scaling

    @property
    def jmax(self) -> np.ndarray:
        """Jerk limits after scaling, rad/s^3."""
        return self.robot.jerk_limit_rad_s3 * self.config.jerk_scaling

    def set_scene(self, scene: PlanningScene) -> None:
        """Replace the planning scene."""
        self.kin.set_scene(scene)

    # ------------------------------------------------------------------ IK
    def ik(self, pose: Pose, seed: np.ndarray, *, finger_width_m: float | None = None,
           allowed: frozenset = frozenset()) -> np.ndarray:
        """Collision-free IK solution near ``seed``.

        Raises:
            MotionFailure: ``ik_failed`` when no valid solution exists.
        """
        q = self.kin.ik(pose, seed, finger_width_m=finger_width_m, allowed=allowed)
        if q is None:
            raise MotionFailure(FailureReason.IK_FAILED.value,
                                f"no collision-free IK solution for TCP at {np.round(pose.position, 3).tolist()}")
        return q

    # ------------------------------------------------------------------ checking
    def first_collision(self, path: np.ndarray, finger_width_m: float, allowed: frozenset = frozenset()):
        """Densely re-check a joint path: no robot point moves more than ``check_step_m`` between checks.

        Returns:
            None when the path is clear, else (waypoint parameter, contact list).
        """
        step = self.config.check_step_m / ROBOT_REACH_M
        for i in range(len(path) - 1):
            a, b = path[i], path[i + 1]
            n = max(1, int(np.ceil(np.sum(np.abs(b - a)) / step)))
            for k in range(n + 1):
                q = a + (b - a) * (k / n)
                if not self.robot.within_limits(q, tol=LIMIT_TOL_RAD):
                    return i + k / n, [("joint_limits", "", 0.0)]
                hits = self.kin.contacts(q, finger_width_m, allowed)
                if hits:
                    return i + k / n, hits
        return None

    def _timed(self, path: np.ndarray, t0: float, smooth: bool, finger_width_m: float, allowed: frozenset,
               speed_scale: float = 1.0) -> Plan:
        # a slower motion is the same motion in stretched time: v * k, a * k^2, jerk * k^3
        k = float(np.clip(speed_scale, 0.05, 1.0))
        limits = (self.vmax * k, self.amax * k**2, self.jmax * k**3)
        traj = jerk_limited_trajectory(path, self.robot.arm_joints, *limits,
                                       corner_tol_rad=(np.pi if smooth else POLYLINE_CORNER_TOL_RAD))
        # the spline through the waypoints may bulge off the checked polyline (next to an IK jump):
        # check what bulges; if it hits, stop at every waypoint, which follows the checked polyline exactly
        for run in departures(traj.positions, path, OFF_PATH_TOL_RAD):
            if self.first_collision(run, finger_width_m, allowed) is not None:
                traj = jerk_limited_trajectory(path, self.robot.arm_joints, *limits, corner_tol_rad=0.0)
                break
        return Plan(traj, path, time.perf_counter() - t0)

    # ------------------------------------------------------------------ joint-space
    def plan_joints(self, q_start: np.ndarray, q_goal: np.ndarray, *, finger_width_m: float,
                    allowed: frozenset = frozenset(), speed_scale: float = 1.0) -> Plan:
        """Collision-free joint-space path, densely re-checked and time-parameterised.

        Raises:
            MotionFailure: ``collision`` (start or goal in collision) or ``no_path``.
        """
        t0 = time.perf_counter()
        q_start, q_goal = self._measured_start(q_start), np.asarray(q_goal, dtype=float)
        if not self.robot.within_limits(q_goal, tol=LIMIT_TOL_RAD):
            raise MotionFailure(FailureReason.NO_PATH.value, "goal configuration outside joint limits")
        for label, q in (("start", q_start), ("goal", q_goal)):
            hits = self.kin.contacts(q, finger_width_m, allowed)
            if hits:
                raise MotionFailure(FailureReason.COLLISION.value, f"{label} configuration in collision: {_fmt(hits)}")
        lo, hi = np.asarray(self.robot.position_lower_rad), np.asarray(self.robot.position_upper_rad)
        q_goal = np.clip(q_goal, lo, hi)
        direct = np.stack([q_start, q_goal])
        if self.first_collision(direct, finger_width_m, allowed) is None:
            return self._timed(direct, t0, False, finger_width_m, allowed, speed_scale)
        last = None
        for _ in range(self.config.max_replans):
            path = self._rrt_connect(q_start, q_goal, finger_width_m, allowed)
            if path is None:
                continue
            path = self._shortcut(path, finger_width_m, allowed)
            last = self.first_collision(path, finger_width_m, allowed)
            if last is None:
                return self._timed(path, t0, False, finger_width_m, allowed, speed_scale)
        detail = "" if last is None else f" (re-check found {_fmt(last[1])})"
        raise MotionFailure(FailureReason.NO_PATH.value, f"no collision-free path found{detail}")

    def _measured_start(self, q_start) -> np.ndarray:
        """The arm's measured joints as a path's first waypoint: one a servo's overshoot past a
        limit is put at the limit (the sampler and the re-check need it inside).

        Raises:
            MotionFailure: ``no_path`` when it is farther out than an overshoot.
        """
        q = np.asarray(q_start, dtype=float)
        if not self.robot.within_limits(q, tol=START_OVERSHOOT_RAD):
            raise MotionFailure(FailureReason.NO_PATH.value, "start configuration outside joint limits")
        return np.clip(q, np.asarray(self.robot.position_lower_rad), np.asarray(self.robot.position_upper_rad))

    def _rrt_connect(self, q_start, q_goal, width, allowed) -> np.ndarray | None:
        from ompl import base as ob
        from ompl import geometric as og
        from ompl import util as ou

        ou.setLogLevel(ou.LogLevel.LOG_WARN)
        ou.RNG.setSeed(int(self._rng.integers(1, 2**31 - 1)))
        n = self.robot.dof
        space = ob.RealVectorStateSpace(n)
        bounds = ob.RealVectorBounds(n)
        for i in range(n):
            bounds.setLow(i, float(self.robot.position_lower_rad[i]))
            bounds.setHigh(i, float(self.robot.position_upper_rad[i]))
        space.setBounds(bounds)
        ss = og.SimpleSetup(space)
        kin = self.kin

        def valid(state) -> bool:
            q = np.array([state[i] for i in range(n)])
            return not kin.contacts(q, width, allowed)

        ss.setStateValidityChecker(valid)
        start, goal = space.allocState(), space.allocState()
        for i in range(n):
            start[i], goal[i] = float(q_start[i]), float(q_goal[i])
        ss.setStartAndGoalStates(start, goal)
        si = ss.getSpaceInformation()
        si.setStateValidityCheckingResolution(0.005)
        ss.setPlanner(og.RRTConnect(si))
        path = None
        try:
            if ss.solve(self.config.planning_time_s) and ss.haveExactSolutionPath():
                ss.simplifySolution(0.5)
                p = ss.getSolutionPath()
                path = np.array([[p.getState(k)[i] for i in range(n)] for k in range(p.getStateCount())])
        finally:
            # break the reference cycle between the planner and the Python callback
            ss.setStateValidityChecker(lambda state: True)
        return path

    def _shortcut(self, path: np.ndarray, width, allowed, tries: int = 30) -> np.ndarray:
        path = list(path)
        for _ in range(tries):
            if len(path) <= 2:
                break
            i, j = sorted(self._rng.choice(len(path), 2, replace=False))
            if j - i < 2:
                continue
            if self.first_collision(np.stack([path[i], path[j]]), width, allowed) is None:
                path = path[: i + 1] + path[j:]
        return np.array(path)

    # ------------------------------------------------------------------ Cartesian
    def plan_cartesian(self, q_start: np.ndarray, goal: Pose, *, finger_width_m: float,
                       allowed: frozenset = frozenset()) -> Plan:
        """Straight-line TCP motion from the current pose to ``goal``.

        Raises:
            MotionFailure: ``ik_failed`` (the line leaves the workspace or jumps in joint space),
                ``collision`` (the line hits something).
        """
        t0 = time.perf_counter()
        q_start = self._measured_start(q_start)
        try:
            return self._cartesian(q_start, goal, finger_width_m, allowed, t0)
        except MotionFailure as exc:
            if exc.reason != FailureReason.IK_FAILED.value:
                raise
            # near a singularity or a joint limit the line cannot be followed step by step:
            # accept a joint-space path to the goal if it stays close to the line
            q_goal = self.kin.ik(goal, q_start, finger_width_m=finger_width_m, allowed=allowed)
            if q_goal is None:
                raise
            path = np.stack([np.asarray(q_start, dtype=float), q_goal])
            start_pose = self.kin.fk(q_start)
            seg = goal.position - start_pose.position
            for s_ in np.linspace(0.0, 1.0, 21):
                p = self.kin.fk(path[0] + s_ * (path[1] - path[0])).position
                off = p - start_pose.position
                # off the segment, not the infinite line: turned in place (a segment of 1 mm), a
                # swing of the whole arm dipped the TCP 8 cm along the line's direction
                along = float(np.clip((off @ seg) / max(seg @ seg, 1e-12), 0.0, 1.0))
                dev = np.linalg.norm(off - along * seg)
                if dev > self.config.cartesian_max_deviation_m:
                    raise
            if self.first_collision(path, finger_width_m, allowed) is not None:
                raise
            return self._timed(path, t0, False, finger_width_m, allowed)

    def _cartesian(self, q_start, goal: Pose, finger_width_m: float, allowed: frozenset, t0: float) -> Plan:
        start_pose = self.kin.fk(q_start)
        dist = float(np.linalg.norm(goal.position - start_pose.position))
        ang = float(np.linalg.norm(rotation_log(goal.rotation @ start_pose.rotation.T)))
        n = max(2, int(np.ceil(max(dist / self.config.cartesian_step_m, ang / 0.02))))
        qs = [np.asarray(q_start, dtype=float)]
        for k in range(1, n + 1):
            target = _interp_pose(start_pose, goal, k / n)
            q = self.kin.ik(target, qs[-1], restarts=0, check_collision=False, max_iter=60)
            if q is None or np.max(np.abs(q - qs[-1])) > self.config.cartesian_max_joint_jump_rad:
                raise MotionFailure(FailureReason.IK_FAILED.value,
                                    f"Cartesian path breaks at {np.round(target.position, 3).tolist()}")
            qs.append(q)
        path = np.array(qs)
        hit = self.first_collision(path, finger_width_m, allowed)
        if hit is not None:
            raise MotionFailure(FailureReason.COLLISION.value, f"Cartesian path collides: {_fmt(hit[1])}")
        return self._timed(path, t0, True, finger_width_m, allowed)


def _fmt(hits) -> str:
    a, b, d = hits[0]
    return f"{a} vs {b} ({d * 1000:.1f} mm)"
