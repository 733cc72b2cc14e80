"""At the far edge of the table a grasp straight down is out of the arm's reach; the hand leans about
its finger axis (the pads on the same two faces) and the object is picked, carried and put down
upright. In the simulator, with the arm's real kinematics."""

import math

import numpy as np
import pytest

from spacetools_ros.core.errors import MotionFailure
from spacetools_ros.core.geometry import Pose, quat_to_mat
from spacetools_ros.core.grasping import top_down_rotation
from spacetools_ros.core.scene import scene_from_dict


def _tilt_deg(quat) -> float:
    """How far an object's up axis leans from vertical (its pose's quaternion, w x y z)."""
    return float(np.degrees(np.arccos(np.clip(quat_to_mat(np.asarray(quat))[2, 2], -1.0, 1.0))))


@pytest.mark.slow
@pytest.mark.parametrize("yaw_deg", [15.0, 105.0])  # the fingers closing along the reach, and across it
def test_a_block_beyond_a_straight_down_reach_is_picked_by_a_leaning_hand(yaw_deg):
    """A 5 cm block 80 cm from the base (a table corner a clutter scene put it in): no IK solution
    straight down at any turn of the hand; three grasps said "failed" and the task was lost."""
    from spacetools_ros.compose.session import EmbeddedSession

    centre = np.array([0.727, 0.345])
    scene = scene_from_dict({"objects": [{"name": "brown_box", "shape": "box", "color": "brown",
                                          "size": [0.048, 0.05, 0.055], "position": centre.tolist(),
                                          "yaw_deg": yaw_deg}]})
    session = EmbeddedSession.create(scene)
    try:
        session.refresh_planning_scene()
        man = session.manipulator
        grasp = Pose(np.array([*centre, 0.039]), top_down_rotation(math.radians(yaw_deg)))
        for yaw in range(0, 360, 45):  # straight down is out of reach whichever way the hand turns
            with pytest.raises(MotionFailure):
                man.motion.ik(Pose(grasp.position, top_down_rotation(math.radians(yaw))), finger_width_m=0.08)
        res = man.execute_grasp(grasp, "brown_box")
        assert res.success, res.message
        tcp = man.motion.tcp_pose()
        lean = math.degrees(math.acos(-float(tcp.rotation[2, 2])))
        assert 5.0 < lean < 25.0, lean
        assert abs(float(tcp.rotation[:, 0] @ grasp.rotation[:, 0])) > 0.95  # the pads on the same faces
        pos, quat = session.sim.object_poses()["brown_box"]
        assert pos[2] > 0.05 and _tilt_deg(quat) < 10.0  # lifted, upright
        target = np.array([0.5, 0.1, 0.0])
        res = man.place_at(target)
        assert res.success, res.message
        pos, quat = session.sim.object_poses()["brown_box"]
        assert np.linalg.norm(np.asarray(pos)[:2] - target[:2]) < 0.03 and _tilt_deg(quat) < 5.0
    finally:
        session.close()
