"""Beside the robot base some grasps are reached only with a joint at its limit, from where the hand
cannot rise along a line: a 17.5 cm plate pinched at its rim nearest the base fell as the arm swung
home. With a robot connected, the grasp tool offers a grasp the arm takes well inside its joint
limits, and the primitive takes the half-turned twin farther inside them. In the simulator, with
the arm's real kinematics and the modelled camera."""

import numpy as np
import pytest

from spacetools_ros.backends.tools.toolshed import COMFORT_MARGIN, MAX_COMFORT_CHECKS, Episode, comfortable_first
from spacetools_ros.core.geometry import Pose
from spacetools_ros.core.grasping import top_down_rotation
from spacetools_ros.core.scene import scene_from_dict, with_sensor

PLATE = {"name": "pink_plate", "shape": "plate", "color": "pink", "size": [0.175, 0.015], "position": [0.357, 0.025]}
FAR = {"name": "orange_plate", "shape": "plate", "color": "orange", "size": [0.125, 0.015], "position": [0.55, 0.3]}


@pytest.fixture()
def session():
    from spacetools_ros.compose.session import EmbeddedSession

    s = EmbeddedSession.create(with_sensor(scene_from_dict({"seed": 3, "objects": [PLATE, FAR]}), "structured_light"))
    s.refresh_planning_scene()
    yield s
    s.close()


def _rim(angle_deg: float, radius: float = 0.083) -> Pose:
    a = np.radians(angle_deg)
    centre = np.array(PLATE["position"])
    return Pose(np.r_[centre + radius * np.array([np.cos(a), np.sin(a)]), 0.016], top_down_rotation(a))


def test_a_rim_grasp_beside_the_base_is_near_a_limit_and_one_on_the_far_side_is_not(session):
    world = session.tool_world()
    near, far = world.grasp_comforts([_rim(180.0), _rim(0.0)])
    assert near is not None and far is not None  # both reachable ...
    assert near < COMFORT_MARGIN <= far, (near, far)  # ... one only at a joint's limit
    assert world.grasp_comforts([Pose(np.array([1.5, 0.0, 0.02]), top_down_rotation(0.0))]) == [None]


def test_the_primitive_takes_the_twin_farther_inside_the_limits(session):
    man = session.manipulator
    grasp = _rim(120.0)  # reached both ways: one posture 2% from a limit, its twin 6%
    options, _ = man._reachable(grasp, man._target_of(grasp)[1])
    assert len(options) == 2 and options[0][2] > options[1][2]
    assert man.grasp_comfort(grasp) == pytest.approx(options[0][2])


class FakeComfortWorld:
    """A fake ToolWorld (named as such) that reports given comforts and records what it was asked."""

    def __init__(self, comforts):
        self.comforts, self.asked = comforts, []

    def grasp_comforts(self, tcps):
        self.asked.append(len(tcps))
        return self.comforts[:len(tcps)]


@pytest.mark.parametrize("comforts, first", [
    ([0.02, 0.2, 0.3], 1),        # the first of the best few well inside the limits
    ([0.2, 0.01, 0.3], 0),        # the best grasp as it comes
    ([0.01, None, 0.05], 2),      # none well inside: the one farthest inside
    ([None, None, None], 0),      # none reachable: the order as it was
])
def test_the_grasp_offered_is_the_first_the_arm_takes_well_inside_its_limits(comforts, first):
    grasps = [(np.eye(4) * (k + 1), 0.9 - 0.1 * k) for k in range(3)]
    out = comfortable_first(grasps, [None] * 3, FakeComfortWorld(comforts).grasp_comforts)
    assert out[0] is grasps[first] and sorted(id(g) for g in out) == sorted(id(g) for g in grasps)


def test_no_more_grasps_than_a_few_are_asked_about():
    world = FakeComfortWorld([0.0] * 50)
    comfortable_first([(np.eye(4), 0.5)] * 50, [None] * 50, world.grasp_comforts)
    assert world.asked == [MAX_COMFORT_CHECKS]
    one = [(np.eye(4), 0.5)]
    assert comfortable_first(one, [None]) is one  # no robot to ask: the order as it was


@pytest.mark.slow
def test_the_plate_beside_the_base_is_picked_where_the_arm_is_at_ease_and_carried_home(session):
    from spacetools_ros.backends.tools.factory import build_toolshed
    from spacetools_ros.core.tools.protocol import ToolCall

    world = session.tool_world()
    shed, e = build_toolshed(world), Episode()
    assert shed.execute(ToolCall("robot.capture_image", {}), e).ok
    r = shed.execute(ToolCall("roborefer.detect_one", {"obj_name": "pink plate", "image_index": 0}), e)
    x, y = r.data["points"][0]
    shed.execute(ToolCall("sam2.segment_from_point", {"x": x, "y": y, "image_index": 0}), e)
    shed.execute(ToolCall("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}), e)
    r = shed.execute(ToolCall("grasp_generator.compute_grasp", {
        "point_cloud": "$point_cloud", "mask": "$segmentation_mask", "focal_length_px": "$focal_length_px",
        "image_index": 0}), e)
    assert r.text.startswith("Generated"), r.text
    r = shed.execute(ToolCall("robot.execute_grasp", {"grasp_pose": "$grasp_pose"}), e)
    assert r.text.startswith("Grasp execution succeeded"), r.data
    pos = session.sim.object_poses()["pink_plate"][0]
    assert pos[2] > 0.2  # carried home in the hand, not dropped on the way
    e.close()
