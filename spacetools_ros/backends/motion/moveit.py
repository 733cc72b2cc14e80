"""MotionBackend over MoveItPy, for real arms and Gazebo/Isaac on a ROS 2 + MoveIt 2 install.

MoveIt cannot be installed in the embedded (pip) environment, so this module is imported lazily
and is not exercised by the test suite. It maps the same primitive calls onto MoveIt: collision
objects and the attached object go into the planning scene, joint goals are planned by the
configured pipeline (OMPL by default), straight-line moves by Pilz LIN, and trajectories are
executed through MoveIt's controller manager (time-parameterised and monitored by MoveIt).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import MotionFailure
from ...core.geometry import Pose, mat_to_quat
from ...core.planning_scene import PlanningScene
from ...core.results import FailureReason
from ...core.robot_spec import RobotSpec
from .base import MotionStep


def _pose_msg(pose: Pose, frame: str):
    from geometry_msgs.msg import PoseStamped

    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pose.position)
    w, x, y, z = mat_to_quat(pose.rotation)
    msg.pose.orientation.w, msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z = w, x, y, z
    return msg


def _collision_object_msg(name: str, primitives, pose: Pose, frame: str):
    from geometry_msgs.msg import Pose as PoseMsg
    from moveit_msgs.msg import CollisionObject
    from shape_msgs.msg import SolidPrimitive

    co = CollisionObject(id=name)
    co.header.frame_id = frame
    co.pose = _pose_msg(pose, frame).pose
    for p in primitives:
        if p.kind == "box":
            sp = SolidPrimitive(type=SolidPrimitive.BOX, dimensions=[2 * p.size[0], 2 * p.size[1], 2 * p.size[2]])
        elif p.kind == "cylinder":
            sp = SolidPrimitive(type=SolidPrimitive.CYLINDER, dimensions=[2 * p.size[1], p.size[0]])
        else:
            sp = SolidPrimitive(type=SolidPrimitive.SPHERE, dimensions=[p.size[0]])
        pm = PoseMsg()
        pm.position.x, pm.position.y, pm.position.z = (float(v) for v in p.position)
        pm.orientation.w, pm.orientation.z = float(np.cos(p.yaw_rad / 2)), float(np.sin(p.yaw_rad / 2))
        co.primitives.append(sp)
        co.primitive_poses.append(pm)
    co.operation = CollisionObject.ADD
    return co


class MoveItMotion:
    """MotionBackend using MoveItPy (``moveit.planning.MoveItPy``).

    Args:
        robot: robot specifics (frames, joint names).
        group: MoveIt planning group of the arm.
        set_gripper: callable moving the fingers (e.g. a gripper action client) -> width reached.
        gripper_width: callable returning the measured finger opening.
        capture: callable returning a scene camera frame, or None.
    """

    def __init__(self, robot: RobotSpec, group: str, set_gripper: Callable[[float], float],
                 gripper_width: Callable[[], float], capture: Callable[[], CameraFrame | None] = lambda: None,
                 node_name: str = "spacetools_moveit") -> None:
        from moveit.planning import MoveItPy, PlanRequestParameters

        self.robot = robot
        self.moveit = MoveItPy(node_name=node_name)
        self.arm = self.moveit.get_planning_component(group)
        self.group = group
        self._lin = PlanRequestParameters(self.moveit, "pilz_lin")
        self._lin.planning_pipeline = "pilz_industrial_motion_planner"
        self._lin.planner_id = "LIN"
        self._set_gripper, self._gripper_width, self._capture = set_gripper, gripper_width, capture
        self._scene = PlanningScene()
        self.plan_times_s: deque[float] = deque(maxlen=1000)  # the latest (a session runs for days)

    # ------------------------------------------------------------------ scene
    def set_planning_scene(self, scene: PlanningScene) -> None:
        """Mirror obstacles and the attached object into MoveIt's planning scene."""
        from moveit_msgs.msg import AttachedCollisionObject, CollisionObject

        monitor = self.moveit.get_planning_scene_monitor()
        with monitor.read_write() as ps:
            ps.remove_all_collision_objects()
            for o in scene.objects:
                ps.apply_collision_object(_collision_object_msg(o.name, o.primitives, o.pose, self.robot.base_frame))
            if scene.attached is not None:
                a = scene.attached
                aco = AttachedCollisionObject(link_name=self.robot.tcp_frame,
                                              touch_links=[self.robot.tcp_frame, "panda_hand", "panda_leftfinger",
                                                           "panda_rightfinger"])
                aco.object = _collision_object_msg(a.name, a.primitives, a.pose_in_tcp, self.robot.tcp_frame)
                aco.object.operation = CollisionObject.ADD
                ps.process_attached_collision_object(aco)
            ps.current_state.update()
        self._scene = scene

    def planning_scene(self) -> PlanningScene:
        """The scene last applied."""
        return self._scene

    # ------------------------------------------------------------------ state
    def _state(self):
        monitor = self.moveit.get_planning_scene_monitor()
        with monitor.read_only() as ps:
            st = ps.current_state
            st.update()
            return st

    def current_joints(self) -> np.ndarray:
        """Measured arm joints from MoveIt's current state."""
        return np.asarray(self._state().get_joint_group_positions(self.group), dtype=float)

    def tcp_pose(self, q: np.ndarray | None = None) -> Pose:
        """TCP pose by MoveIt's forward kinematics."""
        st = self._state()
        if q is not None:
            st.set_joint_group_positions(self.group, np.asarray(q, dtype=float))
            st.update()
        return Pose.from_matrix(np.asarray(st.get_global_link_transform(self.robot.tcp_frame)))

    def gripper_width(self) -> float:
        """Measured finger opening."""
        return float(self._gripper_width())

    def ik(self, pose: Pose, *, allowed: frozenset = frozenset(), finger_width_m: float | None = None) -> np.ndarray:
        """IK through the group's kinematics plugin (collision checking is MoveIt's)."""
        st = self._state()
        if not st.set_from_ik(self.group, _pose_msg(pose, self.robot.base_frame).pose, self.robot.tcp_frame, 0.1):
            raise MotionFailure(FailureReason.IK_FAILED.value, "MoveIt IK found no solution")
        return np.asarray(st.get_joint_group_positions(self.group), dtype=float)

    # ------------------------------------------------------------------ motion
    def _plan_execute(self, params=None) -> MotionStep:
        t0 = time.perf_counter()
        result = self.arm.plan(single_plan_parameters=params) if params is not None else self.arm.plan()
        plan_time = time.perf_counter() - t0
        self.plan_times_s.append(plan_time)
        if not result:
            raise MotionFailure(FailureReason.NO_PATH.value, "MoveIt found no plan")
        traj = result.trajectory
        t1 = time.perf_counter()
        status = self.moveit.execute(traj, controllers=[])
        if status is not None and not getattr(status, "status", "SUCCEEDED") == "SUCCEEDED":
            raise MotionFailure(FailureReason.TRACKING_ERROR.value, f"execution ended with {status}")
        return MotionStep(plan_time, float(traj.duration), time.perf_counter() - t1)

    def move_joints(self, q_goal: np.ndarray, *, allowed: frozenset = frozenset(), speed_scale: float = 1.0) -> MotionStep:
        """Plan to a joint goal with the default pipeline and execute (speed_scale is MoveIt's
        velocity/acceleration scaling of the request)."""
        from moveit.core.robot_state import RobotState

        goal = RobotState(self.moveit.get_robot_model())
        goal.set_joint_group_positions(self.group, np.asarray(q_goal, dtype=float))
        self.arm.set_start_state_to_current_state()
        self.arm.set_goal_state(robot_state=goal)
        return self._plan_execute()

    def move_linear(self, goal: Pose, *, allowed: frozenset = frozenset()) -> MotionStep:
        """Straight TCP line with Pilz LIN."""
        self.arm.set_start_state_to_current_state()
        self.arm.set_goal_state(pose_stamped_msg=_pose_msg(goal, self.robot.base_frame), pose_link=self.robot.tcp_frame)
        return self._plan_execute(self._lin)

    def set_gripper(self, width_m: float) -> float:
        """Move the fingers through the provided gripper interface."""
        return float(self._set_gripper(width_m))

    def capture(self) -> CameraFrame | None:
        """Scene camera frame from the provided source."""
        return self._capture()

    def now_s(self) -> float:
        """Wall-clock seconds (MoveIt executes in real time)."""
        return time.monotonic()
