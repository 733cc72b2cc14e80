"""Marker descriptions of a real episode's tool calls (test/unit/data/episode_tool_records.json: the
scripted policy putting the red block in the blue bowl in the packaged scene), drawn against the
scene camera's real render: where the markers land in the base frame, their namespaces and ids."""

import json
from pathlib import Path

import numpy as np
import pytest

from spacetools_ros.core.markers import (
    BOX_EDGES,
    IDS_PER_CALL,
    NAMESPACES,
    SHAPES,
    ToolRecord,
    episode_markers,
    is_finite_spec,
    tool_markers,
    with_arguments,
)
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.scene import load_scene

DATA = Path(__file__).parent / "data" / "episode_tool_records.json"


@pytest.fixture(scope="module")
def episode():
    """The recorded calls and responses, the scene's first camera frame (what image 0 and 1 of the
    episode show of the blue bowl and the red block) and the red block's mask."""
    from spacetools_ros.backends.sim.mujoco_sim import MujocoSim, ensure_headless_gl

    ensure_headless_gl()
    doc = json.loads(DATA.read_text())
    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    sim = MujocoSim(scene)
    try:
        frame = sim.render(segmentation=True)
    finally:
        sim.close()
    names = [o.name for o in scene.objects]
    mask = frame.segmentation == names.index("red_block")
    records = [ToolRecord(r["name"], None, r["data"], mask if r["name"].startswith("sam2.segment") else None)
               for r in doc["responses"]]
    truth = {o.name: np.array([*o.position, 0.0]) for o in scene.objects}
    return doc, records, frame, truth, scene


def by_ns(specs, ns):
    return [s for s in specs if s.ns == ns]


def test_the_recorded_episode_has_the_shapes_the_markers_read(episode):
    doc, records, *_ = episode
    assert [c["name"] for c in doc["tool_calls"]] == [r.name for r in records]
    grasp = next(r.data for r in records if r.name == "grasp_generator.compute_grasp")
    assert np.asarray(grasp["grasp_pose"]).shape == (4, 4)
    place = next(r.data for r in records if r.name == "robot.place_object_at_2d_location")
    assert len(place["point_base"]) == 3 and place["result"]["success"] is True
    assert all(len(p) == 2 for r in records if r.name.endswith("detect_one") for p in r.data["points"])


def test_markers_of_the_whole_episode_land_on_the_objects(episode):
    doc, records, frame, truth, _ = episode
    records = with_arguments(records, doc["tool_calls"])
    assert records[1].arguments == {"obj_name": "red block", "image_index": 0}
    specs = episode_markers(records, {0: frame, 1: frame}.get)
    assert {s.ns for s in specs} == {"detections", "labels", "mask_boxes", "grasps", "grippers", "places"}
    assert {s.ns for s in specs} <= set(NAMESPACES) and {s.shape for s in specs} <= set(SHAPES)
    assert all(is_finite_spec(s) for s in specs)
    keys = [(s.ns, s.id) for s in specs]
    assert len(keys) == len(set(keys))  # every marker its own (ns, id)

    red, bowl = truth["red_block"], truth["blue_bowl"]
    dets = by_ns(specs, "detections")
    labels = {s.id: s.text for s in by_ns(specs, "labels")}
    assert [labels[d.id] for d in dets] == ["red block", "blue bowl", "blue bowl"]
    assert np.linalg.norm(np.array(dets[0].position_m)[:2] - red[:2]) < 0.04  # a point on the block's top
    assert 0.02 < dets[0].position_m[2] < 0.06
    assert all(np.linalg.norm(np.array(d.position_m)[:2] - bowl[:2]) < 0.06 for d in dets[1:])
    assert dets[0].id == 1 * IDS_PER_CALL and dets[2].id == 7 * IDS_PER_CALL  # the ids follow the call order

    (box,) = by_ns(specs, "mask_boxes")
    assert box.shape == "cube" and np.linalg.norm(np.array(box.position_m)[:2] - red[:2]) < 0.02
    assert all(0.02 < s < 0.07 for s in box.scale)  # a 4 cm block, seen from one side

    (arrow,) = by_ns(specs, "grasps")
    start, tip = (np.array(p) for p in arrow.points_m)
    assert arrow.shape == "arrow" and np.linalg.norm(tip[:2] - red[:2]) < 0.02 and 0.0 < tip[2] < 0.04
    assert start[2] - tip[2] > 0.1  # from above, down into the TCP
    (outline,) = by_ns(specs, "grippers")
    assert outline.shape == "line_list" and len(outline.points_m) % 2 == 0

    (place,) = by_ns(specs, "places")
    point = next(r.data for r in records if r.name == "robot.place_object_at_2d_location")["point_base"]
    assert place.shape == "sphere" and np.allclose(place.position_m, point)
    assert np.linalg.norm(np.array(place.position_m)[:2] - bowl[:2]) < 0.03


def test_while_the_episode_runs_what_needs_no_image_is_drawn_already(episode):
    _, records, frame, _, scene = episode
    nothing = {}.get  # the episode's images are not known yet
    live = {r.name: tool_markers(i, r.name, None, r.data, nothing, mask=r.mask,
                                 fallback_extrinsics=scene.camera.extrinsics()) for i, r in enumerate(records)}
    assert live["roborefer.detect_all"] == [] and live["sam2.segment_from_point"] == []
    assert [s.ns for s in live["grasp_generator.compute_grasp"]] == ["grasps", "grippers"]  # the cell's camera
    assert [s.ns for s in live["robot.place_object_at_2d_location"]] == ["places"]
    final = tool_markers(5, "grasp_generator.compute_grasp", {"image_index": 0}, records[5].data, {0: frame}.get)
    assert final == live["grasp_generator.compute_grasp"]  # the same ids: the final drawing replaces it


def test_bad_data_draws_nothing_and_failed_places_are_red():
    frame_of = {}.get
    eye = np.eye(4)
    for name, data in [("grasp_generator.compute_grasp", {"grasp_pose": [[1, 2], [3, 4]]}),
                       ("grasp_generator.compute_grasp", {"grasp_pose": "$grasp_pose"}),
                       ("grasp_generator.compute_grasp", {"grasp_pose": np.full((4, 4), np.nan).tolist()}),
                       ("robot.place_object_at_2d_location", {"point_base": [0.1, "x", 0.0]}),
                       ("robot.place_object_at_2d_location", {"point_base": [float("inf"), 0.0, 0.0]}),
                       ("bounding_box.compute_bbox", {"corners_3d": [[0, 0, 1]] * 7}),
                       ("roborefer.detect_one", {"points": "nowhere", "image_index": 0}),
                       ("robot.capture_image", {"image_index": 0})]:
        assert tool_markers(0, name, {}, data, frame_of, fallback_extrinsics=eye) == [], (name, data)
    (failed,) = tool_markers(2, "robot.place_object_at_2d_location", None,
                             {"point_base": [0.5, 0.0, 0.01], "result": {"success": False}}, frame_of)
    (ok,) = tool_markers(2, "robot.place_object_at_2d_location", None,
                         {"point_base": [0.5, 0.0, 0.01], "result": {"success": True}}, frame_of)
    assert failed.rgba[0] > 0.9 > failed.rgba[2] and ok.rgba != failed.rgba and failed.id == ok.id == 2 * IDS_PER_CALL


def test_a_3d_box_is_drawn_with_the_box_tools_edges():
    from spacetools_ros.backends.tools.geometry3d import EDGES

    assert [tuple(e) for e in EDGES] == list(BOX_EDGES)
    corners = np.array([[x, y, z] for z in (1.0, 1.1) for x, y in ((0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1))])
    (box,) = tool_markers(3, "bounding_box.compute_bbox", {"image_index": 0}, {"corners_3d": corners.tolist()},
                          {}.get, fallback_extrinsics=np.eye(4))
    assert box.ns == "bboxes" and box.shape == "line_list" and len(box.points_m) == 24
    lengths = [np.linalg.norm(np.subtract(a, b)) for a, b in zip(box.points_m[::2], box.points_m[1::2])]
    assert np.allclose(lengths, 0.1)  # every drawn segment is a box edge, none a diagonal


def test_arguments_are_taken_only_while_the_calls_match():
    recs = [ToolRecord("a.x", None, {}), ToolRecord("b.y", None, {}), ToolRecord("c.z", None, {})]
    calls = [{"name": "a.x", "arguments": {"k": 1}}, {"name": "other", "arguments": {"k": 2}},
             {"name": "c.z", "arguments": {"k": 3}}]
    out = with_arguments(recs, calls)
    assert [r.arguments for r in out] == [{"k": 1}, None, None]
