"""A robot reached over ROS 2 as the agent's world: the arm, gripper and camera topics (RosArm),
the motion layer (the embedded planner, or MoveItPy on a MoveIt install) and the primitives.

The cell file (a scene YAML) gives the camera's pose in the base frame; its objects are ignored:
what is on the table is perceived.
"""

from __future__ import annotations

from dataclasses import dataclass

from rclpy.node import Node

from ..backends.motion.registry import MOTION
from ..backends.motion.settings import MotionSettings, motion_settings
from ..backends.tools.world import PerceivedToolWorld
from ..core.manipulation import Manipulator
from ..core.motion_api import MotionBackend
from ..core.robot_spec import RobotSpec, load_robot_spec
from ..core.scene import Scene
from .ros_arm import RosArm, RosArmConfig


@dataclass
class RobotSession:
    """Everything the agent needs to act on a robot over ROS."""

    over_ros = True

    cell: Scene
    robot: RobotSpec
    settings: MotionSettings
    arm: RosArm
    motion: MotionBackend
    manipulator: Manipulator

    @staticmethod
    def create(node: Node, cell: Scene, motion_kind: str = "embedded", moveit_group: str = "panda_arm",
               settings: MotionSettings | None = None, robot: RobotSpec | None = None,
               arm_config: RosArmConfig | None = None) -> "RobotSession":
        """Subscribe to the robot on ``node`` and build the motion stack.

        Raises:
            ConfigError: unknown motion kind, or MoveIt missing for ``moveit``.
        """
        MOTION.check(motion_kind)  # before subscribing to anything
        robot = robot or load_robot_spec()
        settings = settings or motion_settings()
        arm = RosArm(node, robot, cell.camera.extrinsics(), settings.monitor, arm_config)
        motion = MOTION.create(motion_kind, robot=robot, arm=arm, settings=settings, moveit_group=moveit_group)
        man = Manipulator(motion, robot.gripper_max_width_m, robot.home_rad, settings.primitives,
                          joint_limits=(robot.position_lower_rad, robot.position_upper_rad))
        return RobotSession(cell, robot, settings, arm, motion, man)

    def tool_world(self) -> PerceivedToolWorld:
        """The robot tools' world: the robot's camera, obstacles from perception."""
        cam = self.cell.camera.name

        def capture(camera: str | None = None):
            if camera not in (None, cam):
                raise ValueError(f"unknown camera '{camera}' (this robot has: {cam})")
            frame = self.arm.capture()
            if frame is None:
                raise RuntimeError("no camera frame received (colour, depth and camera info within "
                                   f"{self.arm.config.camera.sync_tolerance_s} s of each other)")
            return frame

        return PerceivedToolWorld(self.manipulator, capture, [cam], self.cell.table)

    def ready(self, timeout_s: float = 10.0) -> str | None:
        """None when joint states and a camera frame arrive and both controllers listen, else what
        is missing (so that no command is sent into the void)."""
        return self.arm.ready(timeout_s)

    def close(self) -> None:
        """Nothing to release (subscriptions go with the node)."""
