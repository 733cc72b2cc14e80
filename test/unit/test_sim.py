"""The MuJoCo cell: camera geometry, trajectory execution and the grasp/place primitives."""

import numpy as np
import pytest

from spacetools_ros.backends.motion.sim_arm import SimArm
from spacetools_ros.backends.sim.mujoco_sim import MujocoSim
from spacetools_ros.core.camera import backproject, project
from spacetools_ros.core.errors import MotionFailure
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.robot_spec import load_robot_spec
from spacetools_ros.core.scene import load_scene
from spacetools_ros.core.timing import time_parameterize

ROBOT = load_robot_spec()


@pytest.fixture(scope="module")
def sim():
    s = MujocoSim(load_scene(config_dir() / "scenes" / "box_in_bowl.yaml"), ROBOT)
    yield s
    s.close()


def test_frame_encodings_and_depth_geometry(sim):
    f = sim.render(segmentation=True)
    assert f.rgb.shape == (480, 640, 3) and f.rgb.dtype == np.uint8
    assert f.depth_m.shape == (480, 640) and f.depth_m.dtype == np.float32
    # a table point off the optical axis: rendered depth equals its z in the optical frame
    p = np.array([[0.8, 0.25, 0.0]])
    u, v = project(p, f.intrinsics, f.extrinsics)[0]
    pts = backproject(f.depth_m, f.intrinsics)
    cam = pts[int(v), int(u)]
    base = f.extrinsics[:3, :3] @ cam + f.extrinsics[:3, 3]
    assert abs(base[2]) < 0.005 and np.linalg.norm(base[:2] - p[0, :2]) < 0.01
    # the red block's true position projects onto its segmentation mask
    idx = [o.name for o in sim.scene.objects].index("red_block")
    pos = sim.object_poses()["red_block"][0] + [0, 0, 0.02]
    u, v = project(pos[None], f.intrinsics, f.extrinsics)[0]
    assert f.segmentation[int(v), int(u)] == idx
    assert f.rgb[int(v), int(u), 0] > 120 and f.rgb[int(v), int(u), 2] < 80


def test_trajectory_execution_reaches_goal(sim):
    sim.reset()
    arm = SimArm(sim)
    goal = ROBOT.home_rad + np.array([0.3, 0.2, -0.2, 0.3, 0.2, -0.2, 0.3])
    traj = time_parameterize(np.stack([ROBOT.home_rad, goal]), ROBOT.arm_joints,
                             ROBOT.velocity_limit_rad_s * 0.5, ROBOT.acceleration_limit_rad_s2 * 0.5)
    rep = arm.execute(traj)
    assert np.abs(arm.joint_positions() - goal).max() < 0.01
    assert rep.max_tracking_error_rad < 0.05
    assert rep.duration_s == pytest.approx(traj.duration_s, abs=0.5)


def test_blocked_motion_is_reported_not_forced(sim):
    sim.reset()
    arm = SimArm(sim)
    # drive the hand 15 cm into the table: the monitor stops it with a tracking error
    from spacetools_ros.backends.motion.mujoco_kinematics import MujocoKinematics
    from spacetools_ros.core.geometry import Pose
    from spacetools_ros.core.grasping import top_down_rotation

    kin = MujocoKinematics(ROBOT)
    goal = kin.ik(Pose(np.array([0.5, 0.0, -0.15]), top_down_rotation(0.0)), ROBOT.home_rad, check_collision=False)
    assert goal is not None
    traj = time_parameterize(np.stack([ROBOT.home_rad, goal]), ROBOT.arm_joints,
                             ROBOT.velocity_limit_rad_s * 0.3, ROBOT.acceleration_limit_rad_s2 * 0.3)
    with pytest.raises(MotionFailure) as err:
        arm.execute(traj)
    assert err.value.reason in ("tracking_error", "timeout")


def test_gripper_closes_on_nothing(sim):
    sim.reset()
    arm = SimArm(sim)
    assert arm.set_gripper(0.0) < 0.002
    assert arm.set_gripper(0.08) > 0.075
