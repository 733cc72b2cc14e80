"""The planning scene the robot tools plan against, built from perception while the hand holds
something: the held object is left out, what stands on the table under the hand is not."""

import numpy as np
import pytest

from spacetools_ros.compose.session import EmbeddedSession
from spacetools_ros.core.scene import scene_from_dict

from holding import hold_at_home


@pytest.mark.slow
def test_a_plate_under_the_hand_at_home_stays_in_the_planning_scene():
    scene = scene_from_dict({"objects": [
        {"name": "red_box", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04], "position": [0.55, -0.2]},
        {"name": "orange_plate", "shape": "plate", "color": "orange", "size": [0.17, 0.015], "position": [0.34, -0.01]}]})
    session = EmbeddedSession.create(scene)
    try:
        world = hold_at_home(session, "red_box", [0.55, -0.2, 0.025])  # home: the hand stands above the plate
        man = session.manipulator
        assert np.linalg.norm(man.motion.tcp_pose().position[:2] - [0.34, -0.01]) < 0.06
        world._perceived_scene()
        names = [o.name for o in man.motion.planning_scene().objects]
        plates = [o for o in man.motion.planning_scene().objects if o.name.endswith("_plate")]
        assert len(plates) == 1, names
        assert np.linalg.norm(plates[0].pose.position[:2] - [0.34, -0.01]) < 0.02  # its rim's centre
        assert not any(n.endswith(("_box", "_cylinder")) for n in names), names  # the held block is not an obstacle
        # and a place "on" the plate goes to its middle
        point = man.object_at(np.array([0.40, -0.04, 0.0]))
        assert point is not None and point.name == plates[0].name
    finally:
        session.close()
