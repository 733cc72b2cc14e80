"""Pointing to free space ("a free spot left of the blue bowl"): parsed with the one relation
vocabulary, found in 3D on the perceived table in the frame the side words are read in, clear of
every object, and judged by the simulator's truth with the same relation rules as a placement."""

from __future__ import annotations

import numpy as np
import pytest

from spacetools_ros.backends.pointing.free_space import DEFAULT_ROOM_M, find_spot, parse_spot
from spacetools_ros.core.relations import Body, relation_holds
from spacetools_ros.core.scene import load_scene
from spacetools_ros.core.paths import config_dir


@pytest.mark.parametrize("text, relation, anchor, room", [
    ("a free spot left of the blue bowl", "left", "the blue bowl", DEFAULT_ROOM_M),
    ("Free space to the right of the red can for an object 16 cm across", "right", "the red can", 0.08),
    ("an empty place next to the can", "near", "the can", DEFAULT_ROOM_M),
    ("a spot in front of the green plate for an object 4.5 cm across", "front", "the green plate", 0.0225),
    ("the spot behind the ball", "behind", "the ball", DEFAULT_ROOM_M),
    ("a spot in the bowl", "in", "the bowl", DEFAULT_ROOM_M),
])
def test_free_space_descriptions(text, relation, anchor, room):
    q = parse_spot(text)
    assert q is not None and (q.relation, q.anchor) == (relation, anchor) and q.room_m == pytest.approx(room)


@pytest.mark.parametrize("text", ["the red block", "a spot under the bowl", "a free spot", "spot left of",
                                  "the spot between the bowl", "a place for the cup"])
def test_other_descriptions_are_not_free_space(text):
    assert parse_spot(text) is None


@pytest.fixture(scope="module")
def demo():
    from spacetools_ros.compose.session import EmbeddedSession

    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    session = EmbeddedSession.create(scene)
    world = session.tool_world()
    frame = world.capture()
    yield scene, frame, world.cache(frame)
    session.close()


def _on_table(uv, frame) -> np.ndarray:
    """The base-frame table point (z = 0) under a normalized image point."""
    k, t = frame.intrinsics, frame.extrinsics
    ray = np.linalg.inv(k) @ np.array([uv[0] * frame.width, uv[1] * frame.height, 1.0])
    d = t[:3, :3] @ ray
    s = -t[2, 3] / d[2]
    return t[:3, 3] + s * d


def _true(scene, name):
    from spacetools_ros.cli.suite import true_body

    o = scene.object(name)
    return true_body(o, [o.position[0], o.position[1], 0.0])


@pytest.mark.parametrize("spatial_frame", ["camera", "robot"])
@pytest.mark.parametrize("words, relation", [("left of", "left"), ("right of", "right"), ("in front of", "front"),
                                             ("behind", "behind"), ("next to", "near")])
def test_a_free_spot_satisfies_its_relation_in_the_simulator(demo, spatial_frame, words, relation):
    scene, frame, seen = demo
    q = parse_spot(f"a free spot {words} the blue bowl")
    uv = find_spot(seen, q, spatial_frame)
    if uv is None:  # the table may end on that side; then no other frame's spot is returned either
        pytest.skip(f"no room {words} the bowl in the {spatial_frame} frame")
    p = _on_table(uv, frame)
    room = Body(p, q.room_m, q.room_m, None)
    ok, why = relation_holds(relation, room, _true(scene, "blue_bowl"), frame.intrinsics, frame.extrinsics,
                             frame=spatial_frame)
    assert ok, why
    for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):  # and where a place a centimetre off lands
        off = Body(p + 0.01 * np.array([np.cos(a), np.sin(a), 0.0]), q.room_m, q.room_m, None)
        ok, why = relation_holds(relation, off, _true(scene, "blue_bowl"), frame.intrinsics, frame.extrinsics,
                                 frame=spatial_frame)
        assert ok, why
    for o in scene.objects:  # clear of everything standing there (true footprints)
        assert np.hypot(p[0] - o.position[0], p[1] - o.position[1]) >= o.footprint_radius_m + q.room_m, o.name


def test_the_frame_decides_which_side_is_left(demo):
    """The demo camera faces the robot: the image's left is the robot's right (-y)."""
    scene, frame, seen = demo
    q = parse_spot("a free spot left of the blue bowl")
    bowl_y = scene.object("blue_bowl").position[1]
    assert _on_table(find_spot(seen, q, "camera"), frame)[1] < bowl_y - 0.05
    assert _on_table(find_spot(seen, q, "robot"), frame)[1] > bowl_y + 0.05


def test_a_spot_in_a_bowl_and_a_missing_anchor(demo):
    scene, frame, seen = demo
    p = _on_table(find_spot(seen, parse_spot("a spot in the blue bowl"), "camera"), frame)
    bowl = scene.object("blue_bowl")
    assert np.hypot(p[0] - bowl.position[0], p[1] - bowl.position[1]) < 0.04
    assert find_spot(seen, parse_spot("a free spot left of the purple plate"), "camera") is None
    with pytest.raises(ValueError):
        find_spot(seen, parse_spot("a free spot left of the blue bowl"), "sideways")


@pytest.mark.slow
@pytest.mark.parametrize("spatial_frame", ["camera", "robot"])
def test_the_agent_places_left_in_the_frame_it_is_given(spatial_frame):
    """One command, two frames: the block ends left of the bowl as the frame reads it, judged by
    the simulator with the same rules and frame, and on the other side of the bowl in the other."""
    from spacetools_ros.backends.policy.scripted import ScriptedPolicy
    from spacetools_ros.cli.suite import Task, judge
    from spacetools_ros.compose.episode import run_command
    from spacetools_ros.compose.session import EmbeddedSession

    scene = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    session = EmbeddedSession.create(scene)
    try:
        command = "put the red block to the left of the blue bowl"
        out, ep = run_command(session, command, ScriptedPolicy(), progress=lambda s: None, spatial_frame=spatial_frame)
        ep.close()
        poses = session.sim.object_poses()
        task = Task(0, "relational", command, "red_block", "left", "blue_bowl")
        ok, why = judge(scene, task, poses, False, spatial_frame)
        assert ok and out.success and out.verified is True, (why, out.reason, out.answer)
        other = "robot" if spatial_frame == "camera" else "camera"
        assert not judge(scene, task, poses, False, other)[0]
    finally:
        session.close()


@pytest.mark.slow
def test_a_spot_keeps_its_relation_where_a_place_a_little_off_lands():
    """A spot on the diagonal between 'behind' and 'right of' held for the perceived bowl, and the
    can placed 1-2 cm off it stood beside the bowl in the world: for each side word, the spot holds
    its relation to the bowl as perceived wherever within 2 cm of it the object lands."""
    from spacetools_ros.backends.perception.verify import seen_object
    from spacetools_ros.backends.pointing.free_space import PLACE_ERROR_M
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.evaluation.openworld import make_case

    case = make_case("dev", "side_relations", 62, "structured_light", "camera")
    session = EmbeddedSession.create(case.scene)
    try:
        world = session.tool_world()
        session.sim.set_object_pose("green_cylinder", [0.05, 0.55, 0.0])  # in the hand, as when the agent asks
        session.sim.step(100)
        frame = world.capture()
        seen = world.cache(frame)
    finally:
        session.close()
    (bowl,) = [o for o in seen.objects if o.shape == "bowl"]
    anchor = seen_object(bowl, seen).body
    k, t = frame.intrinsics, frame.extrinsics
    for relation, words in (("behind", "behind"), ("front", "in front of"), ("left", "left of"), ("right", "right of")):
        q = parse_spot(f"a free spot {words} the yellow bowl for an object 4.4 cm across")
        uv = find_spot(seen, q, "camera")
        if uv is None:
            assert relation != "behind"  # the side the command asked for has room; others may not
            continue
        p = _on_table(uv, frame)
        for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            off = Body(p + 0.999 * PLACE_ERROR_M * np.array([np.cos(a), np.sin(a), 0.0]), q.room_m, q.room_m, None)
            ok, why = relation_holds(relation, off, anchor, k, t, frame="camera")
            assert ok, (relation, why)


@pytest.mark.slow
def test_a_spot_between_two_objects_is_one_the_camera_sees_on_the_table():
    """The middle between a bowl and a can stood behind the bowl's wall in the camera's view: the
    place cast that pixel onto the bowl and the can went into it. The spot is on the line where the
    table is seen and there is room."""
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.evaluation.openworld import make_case

    case = make_case("dev", "side_relations", 51, "structured_light", "camera")
    session = EmbeddedSession.create(case.scene)
    try:
        world = session.tool_world()
        session.sim.set_object_pose("orange_cylinder", [0.05, -0.55, 0.0])  # in the hand, as when the agent asks
        session.sim.step(100)
        frame = world.capture()
        seen = world.cache(frame)
    finally:
        session.close()
    q = parse_spot("a free spot between the red bowl and the pink can for an object 4.6 cm across")
    uv = find_spot(seen, q, "camera")
    assert uv is not None
    u, v = int(uv[0] * frame.width), int(uv[1] * frame.height)
    assert seen.table_mask[v, u]  # the table, not the bowl's wall, at the spot's pixel
    p = _on_table(uv, frame)
    ok, why = relation_holds("between", Body(p, q.room_m, q.room_m, None), _true(case.scene, "red_bowl"),
                             frame.intrinsics, frame.extrinsics, _true(case.scene, "pink_cylinder_far"))
    assert ok, why
    assert np.hypot(*(p[:2] - np.asarray(case.scene.object("red_bowl").position))) > \
        case.scene.object("red_bowl").footprint_radius_m + q.room_m
