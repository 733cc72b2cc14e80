"""An embedded session: the MuJoCo cell, the arm, the motion layer and the primitives in one process."""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.motion.registry import MOTION
from ..backends.motion.settings import MotionSettings, motion_settings
from ..backends.motion.sim_arm import SimArm
from ..backends.sim.mujoco_sim import MujocoSim
from ..core.manipulation import Manipulator
from ..core.motion_api import MotionBackend
from ..core.planning_scene import planning_scene_from_poses
from ..core.robot_spec import RobotSpec, load_robot_spec
from ..core.scene import Scene

EMBEDDED_MOTION = "embedded"  # the in-process cell plans with the embedded planner (MoveIt needs ROS)


@dataclass
class EmbeddedSession:
    """Everything one embedded episode needs."""

    scene: Scene
    robot: RobotSpec
    settings: MotionSettings
    sim: MujocoSim
    arm: SimArm
    motion: MotionBackend
    manipulator: Manipulator

    @staticmethod
    def create(scene: Scene, settings: MotionSettings | None = None, robot: RobotSpec | None = None,
               real_time_factor: float = 0.0) -> EmbeddedSession:
        """Build the simulated cell and the motion stack for a scene."""
        robot = robot or load_robot_spec()
        settings = settings or motion_settings()
        sim = MujocoSim(scene, robot)
        arm = SimArm(sim, settings.monitor, real_time_factor=real_time_factor)
        motion = MOTION.create(EMBEDDED_MOTION, robot=robot, arm=arm, settings=settings)
        man = Manipulator(motion, robot.gripper_max_width_m, robot.home_rad, settings.primitives,
                          joint_limits=(robot.position_lower_rad, robot.position_upper_rad))
        session = EmbeddedSession(scene, robot, settings, sim, arm, motion, man)
        session.refresh_planning_scene()
        return session

    def refresh_planning_scene(self) -> None:
        """Obstacles from the simulator's true object poses (the motion-level check; the agent
        uses perception instead). The held object stays attached."""
        held = self.manipulator.holding
        poses = {k: v for k, v in self.sim.object_poses().items() if held is None or k != held.name}
        ps = planning_scene_from_poses(self.scene, poses)
        if held is not None:
            from ..core.planning_scene import PlanningScene

            ps = PlanningScene(ps.objects, ps.table, held)
        self.motion.set_planning_scene(ps)

    def tool_world(self):
        """The robot tools' world: rendered frames, obstacles from perception."""
        from ..backends.tools.world import SimToolWorld

        return SimToolWorld(self)

    def close(self) -> None:
        """Release renderers."""
        self.sim.close()
