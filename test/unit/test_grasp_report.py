"""A grasp is reported by what the hand holds once the arm is out of the camera's view: an object
lifted, then lost on the way home, is a failed grasp (it had been reported held, and the next
place found the hand empty)."""

import numpy as np
import pytest

from spacetools_ros.compose.session import EmbeddedSession
from spacetools_ros.core.geometry import Pose
from spacetools_ros.core.grasping import top_down_rotation
from spacetools_ros.core.results import FailureReason
from spacetools_ros.core.scene import scene_from_dict

CAN = {"name": "red_can", "shape": "cylinder", "color": "red", "size": [0.038, 0.064], "position": [0.5, 0.0]}


@pytest.mark.parametrize("slips", [False, True], ids=["held", "slips_on_the_way"])
def test_a_grasp_is_reported_by_what_is_held_after_the_way_home(slips):
    session = EmbeddedSession.create(scene_from_dict({"objects": [CAN]}))
    try:
        world = session.tool_world()
        man = session.manipulator
        if slips:  # the can slides out as the arm reaches home; the closed fingers meet
            go_home = man.go_home

            def home_and_drop(*args, **kwargs):
                go_home(*args, **kwargs)
                man.motion.set_gripper(man.max_width)
                man.motion.set_gripper(0.0)
            man.go_home = home_and_drop
        res = world.execute_grasp(Pose(np.array([0.5, 0.0, 0.04]), top_down_rotation(0.0)))
        can_z = float(session.sim.object_poses()["red_can"][0][2])
        if slips:
            assert not res.success and res.reason == FailureReason.OBJECT_DROPPED.value, res
            assert man.holding is None and can_z < 0.05
        else:
            assert res.success and man.holding is not None and can_z > 0.2, (res, can_z)
    finally:
        session.close()
