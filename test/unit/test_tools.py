"""Every tool of the protocol on a rendered sim frame, and bad calls that must come back as the
protocol's error text without breaking the server."""

import json

import numpy as np
import pytest

from spacetools_ros.backends.tools.factory import build_toolshed
from spacetools_ros.backends.tools.toolshed import Episode
from spacetools_ros.backends.tools.world import SimToolWorld
from spacetools_ros.compose.session import EmbeddedSession
from spacetools_ros.core.camera import ray_point_base
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.scene import load_scene
from spacetools_ros.core.tools.protocol import ToolCall, ToolCallError, parse_tool_call
from spacetools_ros.core.tools.variables import VariableStore

CLOUD_ARGS = {"point_cloud": "$point_cloud", "mask": "$segmentation_mask", "focal_length_px": "$focal_length_px"}


@pytest.fixture(scope="module")
def env():
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    session = EmbeddedSession.create(scene)
    world = SimToolWorld(session)
    shed = build_toolshed(world)
    frame = session.sim.render(segmentation=True)
    yield scene, session, shed, frame
    session.close()


def call(shed, ep, name, **args):
    return shed.execute(ToolCall(name, args), ep)


def gt_mask(scene, frame, name):
    return frame.segmentation == [o.name for o in scene.objects].index(name)


def inside(mask, pt):
    h, w = mask.shape
    return bool(mask[int(pt[1] * h), int(pt[0] * w)])


@pytest.mark.parametrize("query, truth", [("red block", "red_block"), ("the blue bowl", "blue_bowl"),
                                          ("green can", "green_can"), ("yellow ball", "yellow_ball"),
                                          ("the largest object", "blue_bowl"),
                                          ("the object closest to the robot", "green_can"),
                                          ("the cube next to the can", "red_block")])
def test_pointing_hits_the_right_object(env, query, truth):
    scene, _, shed, frame = env
    ep = Episode.starting_with(frame)
    r = call(shed, ep, "roborefer.detect_one", obj_name=query, image_index=0)
    assert r.ok and r.text.startswith(f"Detected 1 instance(s) of '{query}': [(")
    assert inside(gt_mask(scene, frame, truth), r.data["points"][0])
    v = call(shed, ep, "vlm.detect_one", obj_name=query, image_index=0)
    var = query.replace(" ", "_") + "_detections"
    assert v.text.endswith(f" Use ${var} to reference them.") and var in ep.variables


def test_detect_all_and_nothing_found(env):
    _, _, shed, frame = env
    ep = Episode.starting_with(frame)
    r = call(shed, ep, "roborefer.detect_all", obj_name="objects", image_index=0)
    assert len(r.data["points"]) == 4
    r = call(shed, ep, "roborefer.detect_one", obj_name="purple elephant", image_index=0)
    assert r.text == "Detected 0 instance(s) of 'purple elephant': []"
    r = call(shed, ep, "vlm.detect_one", obj_name="purple elephant", image_index=0)
    assert "Use $" not in r.text


def test_segmentation_depth_bbox_grasp_chain(env):
    scene, session, shed, frame = env
    ep = Episode.starting_with(frame)
    pt = call(shed, ep, "roborefer.detect_one", obj_name="red block", image_index=0).data["points"][0]
    s = call(shed, ep, "sam2.segment_from_point", x=pt[0], y=pt[1], image_index=0)
    assert s.text.startswith(f"Segmented object at normalized coords ({pt[0]:.3f}, {pt[1]:.3f}) with IoU score: ")
    assert s.text.endswith("Use $segmentation_mask (boolean array, 480x640) to reference it.")
    gt = gt_mask(scene, frame, "red_block")
    m = ep.variables.get("segmentation_mask")
    assert (m & gt).sum() / (m | gt).sum() > 0.85
    s2 = call(shed, ep, "sam2.segment_from_points", points=json.dumps([pt, pt]), image_index=0)
    assert s2.text.startswith("Segmented object using 2 normalized points with best IoU score: ")
    d = call(shed, ep, "depth_estimator.estimate_depth", image_index=0)
    assert d.text.startswith("Estimated depth map for 640x480 image. Focal length: 433.")
    d = call(shed, ep, "depth_estimator.estimate_depth_with_pointcloud", image_index=0)
    assert "3D points. Depth range in point cloud:" in d.text and ep.variables.get("point_cloud").shape[1] == 3
    ix = call(shed, ep, "vision_ops.index_at", data="$depth_map", u=pt[0], v=pt[1])
    assert ix.text.startswith(f"Pixel value at ({pt[0]:.3f}, {pt[1]:.3f}) is ") and 0.5 < ix.data["value"] < 1.5
    b = call(shed, ep, "bounding_box.compute_bbox", **CLOUD_ARGS)
    assert b.ok and "points.Corners in 3D: [[" in b.text and "\nEdges: [(0, 1), (1, 2)" in b.text
    c = np.array(b.data["centre_3d"])
    c_base = frame.extrinsics[:3, :3] @ c + frame.extrinsics[:3, 3]
    true = session.sim.object_poses()["red_block"][0] + [0, 0, 0.02]
    assert np.linalg.norm(c_base - true) < 0.01
    g = call(shed, ep, "grasp_generator.compute_grasp", image_index=0, **CLOUD_ARGS)
    assert g.text.startswith("Generated collision-free grasp with confidence ")
    assert "Projected 2D gripper points: [(" in g.text
    pose = np.array(ep.variables.get("grasp_pose"))
    assert pose.shape == (4, 4) and abs(np.linalg.det(pose[:3, :3]) - 1) < 1e-6


def test_robot_tools_pick_and_place(env):
    scene, session, shed, frame = env
    ep = Episode()
    cap = call(shed, ep, "robot.capture_image")
    assert cap.text == "Captured image: 640\u00d7480 pixels." and len(ep.images) == 1
    pt = call(shed, ep, "roborefer.detect_one", obj_name="red block", image_index=0).data["points"][0]
    call(shed, ep, "sam2.segment_from_point", x=pt[0], y=pt[1], image_index=0)
    rd = call(shed, ep, "robot.get_depth_with_pointcloud")
    assert rd.text.startswith("Retrieved depth map and generated ") and "from robot data." in rd.text
    call(shed, ep, "grasp_generator.compute_grasp", image_index=0, **CLOUD_ARGS)
    g = call(shed, ep, "robot.execute_grasp", grasp_pose="$grasp_pose")
    assert g.text == "Grasp execution succeeded.", g.data
    assert session.sim.object_poses()["red_block"][0][2] > 0.05
    bowl = call(shed, ep, "roborefer.detect_one", obj_name="blue bowl", image_index=0).data["points"][0]
    near_rim = [bowl[0], bowl[1] + 0.04]  # on the bowl's near wall in the image: the block goes in its middle
    asked = ray_point_base(frame, *near_rim)
    p = call(shed, ep, "robot.place_object_at_2d_location", placement_point_2d=json.dumps(near_rim))
    assert p.text == "Release operation succeeded.", p.data
    block, bowl_pos = session.sim.object_poses()["red_block"][0], session.sim.object_poses()["blue_bowl"][0]
    assert np.linalg.norm(block[:2] - bowl_pos[:2]) < 0.03
    # the response says where the block was put (what the agent's check looks at), not the point asked
    assert np.linalg.norm(np.asarray(p.data["point_base"])[:2] - block[:2]) < 0.02
    assert np.linalg.norm(asked[:2] - block[:2]) > 0.03


def test_view_selection_prefers_the_view_that_sees_the_target():
    from spacetools_ros.core.scene import scene_from_dict

    scene = scene_from_dict({"objects": [
        {"name": "red_block", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04], "position": [0.5, 0.0]},
        {"name": "tall_box", "shape": "box", "color": "gray", "size": [0.06, 0.25, 0.25], "position": [0.62, 0.0]}],
        "cameras": [{"name": "side", "position": [0.5, 0.9, 0.5], "look_at": [0.5, 0.0, 0.0]}]})
    session = EmbeddedSession.create(scene)
    try:
        shed = build_toolshed(SimToolWorld(session))
        ep = Episode()
        r = call(shed, ep, "view_selection.select_view", target="red block")
        assert r.ok and r.data["best"] == "side", r.text
        assert len(ep.images) == 1
    finally:
        session.close()


@pytest.mark.parametrize("name, args, expected", [
    ("nope.tool", {}, "Error when executing tool: Unknown tool 'nope.tool'"),
    ("sam2.segment_from_point", {"x": 0.5, "image_index": 0}, "Error: TypeError: sam2.segment_from_point() missing"),
    ("sam2.segment_from_point", {"x": 0.5, "y": 0.5, "image_index": 0, "z": 1}, "Error: TypeError: sam2.segment_from_point() got unexpected"),
    ("sam2.segment_from_point", {"x": 1.5, "y": 0.5, "image_index": 0}, "Error: ValueError: x=1.5 is outside"),
    ("sam2.segment_from_point", {"x": 0.5, "y": 0.5, "image_index": 3}, "Error: IndexError: image_index 3 out of range"),
    ("sam2.segment_from_point", {"x": "a", "y": 0.5, "image_index": 0}, "Error: TypeError: x must be of type number"),
    ("vision_ops.index_at", {"data": "$nothing", "u": 0.5, "v": 0.5}, "Error: TypeError: data must be an image-shaped array, got str"),
    ("vision_ops.index_at", {"data": "$depth_map", "u": 1.0, "v": 0.5}, "Error: IndexError"),
    ("bounding_box.compute_bbox", {"point_cloud": "$nope", "mask": "$segmentation_mask", "focal_length_px": 400},
     "Error: TypeError: point_cloud must be Nx3 numpy array, got str. Did you use the $ syntax to access the variable?"),
    ("robot.execute_grasp", {"grasp_pose": "[[1, 0], [0, 1]]"}, "Error: ValueError: grasp_pose must be a 4x4"),
    ("robot.execute_grasp", {"grasp_pose": "__import__('os').system('true')"}, "Error: TypeError: grasp_pose must be an array"),
    ("robot.place_object_at_2d_location", {"placement_point_2d": "[2.0, 0.5]"}, "Error: ValueError: placement_point_2d must be"),
    # the shed that moves the robot enforces the safety envelope itself, whoever calls it
    ("robot.execute_grasp", {"grasp_pose": "[[1,0,0,0],[0,1,0,0],[0,0,1,3.0],[0,0,0,1]]"},
     "Error: PermissionError: grasp at"),
])
def test_bad_calls_return_protocol_errors_and_change_nothing(env, name, args, expected):
    _, session, shed, frame = env
    ep = Episode.starting_with(frame)
    call(shed, ep, "depth_estimator.estimate_depth", image_index=0)
    q0 = session.sim.arm_state().position.copy()
    r = shed.execute(ToolCall(name, args), ep)
    assert not r.ok and r.text.startswith(expected), r.text
    assert np.abs(session.sim.arm_state().position - q0).max() < 1e-6
    ok = call(shed, ep, "roborefer.detect_all", obj_name="objects", image_index=0)  # still serving
    assert ok.ok


def test_malformed_json_and_huge_input():
    with pytest.raises(ToolCallError) as err:
        parse_tool_call('{"name": "sam2.segment_from_point", "arguments": {')
    assert err.value.text.startswith("Error: JSONDecodeError:")
    with pytest.raises(ToolCallError):
        parse_tool_call("x" * 300_000)
    with pytest.raises(ToolCallError):
        parse_tool_call('["not", "an", "object"]')
    assert parse_tool_call('{"name": "a.b", "arguments": "{\\"x\\": 1}"}').arguments == {"x": 1}


def test_variable_store_references_and_memory_bound():
    vs = VariableStore(max_bytes=3 * 8 * 1000)
    vs.set("a", np.zeros(1000))
    assert vs.resolve("$a") is vs.get("a")
    assert vs.resolve("value $missing") == "value $missing"
    vs.set("b", np.zeros(1000))
    vs.set("c", np.zeros(1000))
    vs.set("d", np.zeros(1000))  # over budget: the least recently used goes
    assert "a" not in vs and {"b", "c", "d"} <= set(vs.names())
    vs.clear()
    assert len(vs) == 0


def test_open3d_box_when_there_is_no_table():
    from spacetools_ros.backends.tools.geometry3d import open3d_box

    rng = np.random.default_rng(0)
    pts = rng.uniform([-0.02, -0.03, 0.9], [0.02, 0.03, 0.95], size=(500, 3))
    corners, extent = open3d_box(pts)
    assert corners.shape == (8, 3)
    np.testing.assert_allclose(np.sort(extent), [0.04, 0.05, 0.06], atol=0.006)
    np.testing.assert_allclose(corners.mean(axis=0), [0.0, 0.0, 0.925], atol=0.005)


def test_perception_separates_a_block_inside_a_bowl():
    """A red block resting in a blue bowl is one depth segment; colour splits it into two objects,
    so the robot world can still report where the block went."""
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    session = EmbeddedSession.create(scene)
    try:
        bowl = session.sim.object_poses()["blue_bowl"][0]
        session.sim.set_object_pose("red_block", [bowl[0], bowl[1], 0.03])
        session.sim.step(400)  # let it settle on the bowl's floor
        seen = SimToolWorld(session).perceived_positions()
        truth = session.sim.object_poses()
        assert "red_box" in seen and "blue_bowl" in seen, seen
        for name, key in (("red_block", "red_box"), ("blue_bowl", "blue_bowl")):
            assert np.linalg.norm(np.array(seen[key][:2]) - truth[name][0][:2]) < 0.02, (name, seen)
    finally:
        session.close()
