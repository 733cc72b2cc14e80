"""A camera looking straight down on the table: objects show only their top faces (no side faces
down to the table), a glossy table returns no depth in a glare spot under the camera, and a dish's
floor, barely above the table, reads as table between its rim and its middle."""

import numpy as np
import pytest

from spacetools_ros.backends.perception.tabletop import TabletopPerception
from spacetools_ros.backends.perception.verify import seen_object
from spacetools_ros.compose.session import EmbeddedSession
from spacetools_ros.core.camera import CameraFrame
from spacetools_ros.core.scene import scene_from_dict, with_sensor
from spacetools_ros.evaluation.openworld import camera_dict

from holding import hold_at_home

OBJECTS = [
    {"name": "black_box", "shape": "box", "color": "black", "size": [0.045, 0.045, 0.06], "position": [0.47, -0.05]},
    # under the camera's axis: in the glare spot, where the table around it has no depth
    {"name": "purple_cylinder", "shape": "cylinder", "color": "purple", "size": [0.04, 0.075], "position": [0.50, 0.01]},
    {"name": "blue_plate", "shape": "plate", "color": "blue", "size": [0.17, 0.016], "position": [0.62, -0.22]},
]


def _session(elevation_deg: float, objects=OBJECTS) -> EmbeddedSession:
    scene = scene_from_dict({"seed": 7, "camera": camera_dict(0.0, elevation_deg, 1.0), "objects": objects})
    return EmbeddedSession.create(with_sensor(scene, "structured_light"))


def _seen(session):
    world = session.tool_world()
    scene = world.cache(world.capture())
    return scene, {f"{o.color}_{o.shape}": o for o in scene.objects}


@pytest.mark.slow
def test_from_straight_above_every_object_is_found_standing_on_the_table():
    session = _session(85.0)
    try:
        scene, seen = _seen(session)
        assert set(seen) == {"black_box", "purple_cylinder", "blue_plate"}, sorted(seen)
        truth = {k: np.asarray(v[0]) for k, v in session.sim.object_poses().items()}
        for name in ("black_box", "purple_cylinder"):
            assert seen[name].top_only  # (nearly) no side face reaches the table in this view
            body = seen_object(seen[name], scene).body
            assert body.position[2] == 0.0  # it stands on the table, though its bottom is hidden
            assert np.linalg.norm(body.position[:2] - truth[name][:2]) < 0.02, (name, body.position, truth[name])
        assert not seen["blue_plate"].top_only
        # the glare spot: the can's surroundings returned hardly any depth
        d = scene.frame.depth_m[seen["purple_cylinder"].mask]
        assert np.mean(np.isfinite(d) & (d > 0)) < 0.5
    finally:
        session.close()


@pytest.mark.slow
def test_from_the_usual_oblique_view_side_faces_reach_the_table():
    session = _session(40.0)
    try:
        _, seen = _seen(session)
        assert set(seen) == {"black_box", "purple_cylinder", "blue_plate"}, sorted(seen)
        assert not any(o.top_only for o in seen.values())
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.parametrize("elevation_deg", [80.0, 85.0])
def test_from_above_a_bowl_half_in_the_glare_spot_is_found_and_the_glare_adds_nothing(elevation_deg):
    """The glare spot took half a purple bowl's depth: its seen half had 42% of its surroundings
    neither table nor objects (its own unseen half), like the table's own edge, and was dropped
    (held-out camera case 358: "I cannot find the purple basin"); at 85 deg a patch of table filled
    in beside its rim read as a brown can (the table around it in the glare had no depth)."""
    objects = [{"name": "purple_bowl", "shape": "bowl", "color": "purple", "size": [0.15, 0.05],
                "position": [0.58, -0.075]},
               {"name": "orange_box", "shape": "box", "color": "orange", "size": [0.045, 0.045, 0.05],
                "position": [0.66, 0.21]}]
    session = _session(elevation_deg, objects)
    try:
        scene, seen = _seen(session)
        assert set(seen) == {"purple_bowl", "orange_box"}, sorted(seen)
        d = scene.frame.depth_m[seen["purple_bowl"].mask]
        assert np.mean(np.isfinite(d) & (d > 0)) < 0.6  # the glare: much of it without depth
        body = seen_object(seen["purple_bowl"], scene).body
        assert np.linalg.norm(body.position[:2] - np.array([0.58, -0.075])) < 0.03, body.position
    finally:
        session.close()


@pytest.mark.slow
def test_from_above_an_object_in_the_hand_at_home_is_not_one_standing_on_the_table():
    session = _session(85.0, OBJECTS[:1] + OBJECTS[2:])
    try:
        hold_at_home(session, "black_box", [0.47, -0.05, 0.035])
        _, seen = _seen(session)
        assert set(seen) == {"blue_plate"}, sorted(seen)
    finally:
        session.close()


def _dish_from_above(middle_height_m: float, middle_rgb) -> list:
    """Perception of a blue plate seen 0.8 m straight above: rim 17 mm high, floor 4 mm (under the
    table threshold of 5 mm), its middle ``middle_height_m`` high in ``middle_rgb``."""
    h, w = 240, 320
    k = np.array([[300.0, 0, w / 2], [0, 300.0, h / 2], [0, 0, 1]])
    v, u = np.mgrid[0:h, 0:w]
    r = np.hypot(u - w / 2, v - h / 2)
    height = np.where(r < 32, 0.017, 0.0)
    height = np.where(r < 26, 0.004, height)
    height = np.where(r < 12, middle_height_m, height)
    rgb = np.full((h, w, 3), 150, np.uint8)
    rgb[r < 32] = (30, 60, 170)
    rgb[r < 12] = middle_rgb
    down = np.array([[1.0, 0, 0, 0.5], [0, -1.0, 0, 0.0], [0, 0, -1.0, 0.8], [0, 0, 0, 1.0]])
    return TabletopPerception()(CameraFrame("scene", rgb, (0.8 - height).astype(np.float32), k, down)).objects


def test_a_dish_whose_floor_reads_as_table_around_its_middle_is_one_object():
    objects = _dish_from_above(0.009, (24, 58, 180))  # sagging depth, lit a little differently
    assert len(objects) == 1, [(o.area_px, o.height_m) for o in objects]
    assert objects[0].mask[120, 160] and objects[0].mask[120, 190]


@pytest.mark.parametrize("height_m, rgb", [(0.03, (24, 58, 180)), (0.009, (200, 40, 40))])
def test_something_in_the_dish_taller_than_its_floor_or_of_another_paint_stays_apart(height_m, rgb):
    objects = _dish_from_above(height_m, rgb)
    assert len(objects) == 2, [(o.area_px, o.height_m) for o in objects]


POSES = [*__import__("spacetools_ros.evaluation.language", fromlist=["DEV"]).DEV.cameras, (0.0, 85.0, 1.0)]
SCENE = [
    {"name": "red_box", "shape": "box", "color": "red", "size": [0.045, 0.045, 0.045], "position": [0.42, 0.12]},
    {"name": "green_cylinder", "shape": "cylinder", "color": "green", "size": [0.04, 0.08], "position": [0.58, -0.12]},
    {"name": "yellow_sphere", "shape": "sphere", "color": "yellow", "size": [0.045], "position": [0.40, -0.15]},
    {"name": "blue_bowl", "shape": "bowl", "color": "blue", "size": [0.15, 0.055], "position": [0.62, 0.14]},
]


@pytest.mark.slow
@pytest.mark.parametrize("pose", POSES, ids=[f"az{a:.0f}_el{e:.0f}" for a, e, _ in POSES])
def test_every_development_camera_pose_sees_each_object_where_it_stands(pose):
    scene = scene_from_dict({"seed": 11, "camera": camera_dict(*pose), "objects": SCENE})
    session = EmbeddedSession.create(with_sensor(scene, "structured_light"))
    try:
        seen_scene, seen = _seen(session)
        assert set(seen) == {o["name"] for o in SCENE}, sorted(seen)
        for o in SCENE:
            body = seen_object(seen[o["name"]], seen_scene).body
            assert np.linalg.norm(body.position[:2] - o["position"]) < 0.025, (o["name"], body.position)
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 5])
def test_from_above_a_box_in_a_bowl_is_found_in_it(seed):
    """Only the box's top face shows, with the bowl's floor around it: it stands in the bowl (these
    two scenes lost it), its bottom no lower than that face."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.4, 0.6), rng.uniform(-0.2, 0.2)
    objects = [{"name": "purple_bowl", "shape": "bowl", "color": "purple", "size": [0.15, 0.055], "position": [x, y]},
               {"name": "yellow_box", "shape": "box", "color": "yellow", "size": [0.045, 0.045, 0.045],
                "position": [0.35, -0.3 if y > 0 else 0.3]}]
    scene = scene_from_dict({"seed": seed, "camera": camera_dict(0.0, 80.0, 1.0), "objects": objects})
    session = EmbeddedSession.create(with_sensor(scene, "structured_light", vary_appearance=True))
    try:
        session.sim.set_object_pose("yellow_box", [x, y, 0.06])
        session.sim.step(400)
        seen_scene, seen = _seen(session)
        assert set(seen) == {"purple_bowl", "yellow_box"}, sorted(seen)
        box = seen_object(seen["yellow_box"], seen_scene).body
        assert not seen["yellow_box"].top_only and box.position[2] > 0.03
        assert np.linalg.norm(box.position[:2] - [x, y]) < 0.03
    finally:
        session.close()
