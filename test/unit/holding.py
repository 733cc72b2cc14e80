"""Test helper: an embedded session's hand holding an object, back at home."""

import numpy as np

from spacetools_ros.core.geometry import Pose
from spacetools_ros.core.grasping import top_down_rotation


def hold_at_home(session, name: str, grasp_at) -> object:
    """Grasp ``name`` top-down at ``grasp_at`` (planned against the true scene), go home; the
    session's tool world, ready to look."""
    session.refresh_planning_scene()
    res = session.manipulator.execute_grasp(Pose(np.asarray(grasp_at, float), top_down_rotation(0.0)), name)
    assert res.success, res.message
    world = session.tool_world()
    world._clear_view()
    return world
