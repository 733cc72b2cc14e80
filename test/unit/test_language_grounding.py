"""Grounding on synthetic detections: look-alike superlatives and ordinals, questions back when a
reference is ambiguous or matches nothing, off-palette colour words, stacking anchors, and the camera
versus the robot frame for spatial words."""

from __future__ import annotations

import numpy as np
import pytest

from spacetools_ros.backends.perception.tabletop import DetectedObject
from spacetools_ros.backends.pointing.referring import ground, parse_reference, resolve
from spacetools_ros.core.language.colors import BASE_COLORS, NAMED_COLORS

CAM_X = 1.2  # the camera stands at x = 1.2 looking along -x: image u grows with base +y


def obj(index: int, shape: str, color: str, x: float, y: float, size: float = 0.04, height: float = 0.04,
        rgb: tuple[int, int, int] | None = None, base: bool = True) -> DetectedObject:
    """A detection at base (x, y): image column from y, camera depth from x."""
    u = int(160 + 400 * y)
    mask = np.zeros((240, 320), bool)
    mask[100:110, max(u - 4, 0):u + 4] = True
    rgb = rgb if rgb is not None else BASE_COLORS.get(color, (128, 128, 128))
    return DetectedObject(index=index, mask=mask, points_cam=np.zeros((1, 3)),
                          centroid_cam=np.array([y, 0.3, CAM_X - x]), height_m=height,
                          rgb_median=np.array(rgb, float), pixel=(u, 105), area_px=80,
                          footprint_centre=np.array([x, y]), footprint_size=np.array([size, size]),
                          footprint_yaw=0.0, circularity=1.0, corners=0.07, footprint_corners=0.07, flat_top_fraction=1.0, centre_low_fraction=0.0,
                          sphere_rms_m=0.0, sphere_radius_m=0.0,
                          centroid_base=np.array([x, y, height / 2]) if base else None, shape=shape, color=color)


def ids(objs) -> list[int]:
    return [o.index for o in objs]


@pytest.fixture()
def two_red_blocks():
    return [obj(0, "box", "red", 0.5, -0.15), obj(1, "box", "red", 0.5, 0.15), obj(2, "bowl", "blue", 0.4, 0.0, 0.16)]


def test_ground_keeps_every_match_for_callers(two_red_blocks):
    assert ids(ground(parse_reference("red block"), two_red_blocks)) == [0, 1]


def test_ambiguous_singular_asks_which(two_red_blocks):
    r = resolve(parse_reference("the red block"), two_red_blocks)
    assert r.question == "I see two red blocks: the one on the left or the one on the right?"
    assert r.found is None and ids(r.objects) == [0, 1]


def test_three_lookalikes_and_plural(two_red_blocks):
    objs = two_red_blocks + [obj(3, "box", "red", 0.5, 0.0)]
    q = resolve(parse_reference("red block"), objs).question
    assert q == "I see three red blocks: the one on the left, the one in the middle or the one on the right?"
    assert resolve(parse_reference("red blocks"), objs).question is None


def test_lookalikes_one_behind_the_other_are_told_apart_front_to_back():
    objs = [obj(0, "sphere", "yellow", 0.45, 0.0), obj(1, "sphere", "yellow", 0.7, 0.005)]
    q = resolve(parse_reference("yellow ball"), objs).question
    assert q == "I see two yellow balls: the one in front or the one at the back?"


def test_nothing_matches_says_what_is_missing(two_red_blocks):
    assert resolve(parse_reference("the purple bowl"), two_red_blocks).question == "I don't see a purple bowl"
    q = resolve(parse_reference("the block left of the purple bowl"), two_red_blocks).question
    assert q == "I don't see a purple bowl"
    q = resolve(parse_reference("the orange ball"), two_red_blocks).question
    assert q == "I don't see an orange ball"
    q = resolve(parse_reference("the fourth block from the left"), two_red_blocks).question
    assert q == "I see only 2 blocks"


def test_a_relation_that_decides_needs_no_question(two_red_blocks):
    r = resolve(parse_reference("the red block left of the bowl"), two_red_blocks)
    assert r.question is None and r.found.index == 0


@pytest.mark.parametrize("text, want", [("leftmost block", 0), ("rightmost block", 3),
                                        ("second block from the left", 1), ("second block from the right", 2),
                                        ("first block from the right", 3), ("last block", 3),
                                        ("the third cube from the left", 2), ("second from the left", 1),
                                        ("block on the left", 0), ("the left one", 0)])
def test_lookalike_superlatives_and_ordinals(text, want):
    blocks = [obj(i, "box", "green", 0.5, y) for i, y in enumerate((-0.2, -0.05, 0.08, 0.22))]
    r = resolve(parse_reference(text), blocks)
    assert r.question is None and r.found.index == want


def test_middle_of_three_and_of_four():
    blocks = [obj(i, "box", "green", 0.5, y) for i, y in enumerate((-0.2, -0.05, 0.08))]
    assert resolve(parse_reference("the middle block"), blocks).found.index == 1
    assert resolve(parse_reference("the block in the middle"), blocks).found.index == 1
    blocks.append(obj(3, "box", "green", 0.5, 0.22))
    q = resolve(parse_reference("the middle block"), blocks).question
    assert q == "I can't tell which block is in the middle: the one on the left or the one on the right?"


def test_sizes_and_heights():
    balls = [obj(0, "sphere", "red", 0.5, -0.1, 0.04, 0.04), obj(1, "sphere", "red", 0.5, 0.1, 0.06, 0.06),
             obj(2, "bowl", "blue", 0.4, 0.0, 0.16, 0.06)]
    assert resolve(parse_reference("the bigger ball"), balls).found.index == 1
    assert resolve(parse_reference("the smaller ball"), balls).found.index == 0
    assert resolve(parse_reference("the largest object"), balls).found.index == 2


def test_a_superlative_that_cannot_decide_asks():
    balls = [obj(0, "sphere", "red", 0.5, -0.1, 0.05, 0.05), obj(1, "sphere", "red", 0.5, 0.1, 0.0502, 0.0502)]
    q = resolve(parse_reference("the biggest ball"), balls).question
    assert q == "I can't tell which ball is the biggest: the one on the left or the one on the right?"


def test_nearest_to_an_anchor_and_robot():
    objs = [obj(0, "box", "red", 0.35, -0.1), obj(1, "box", "red", 0.6, 0.1), obj(2, "bowl", "blue", 0.65, 0.2, 0.16)]
    assert resolve(parse_reference("the block nearest the bowl"), objs).found.index == 1
    assert resolve(parse_reference("the block closest to the robot"), objs).found.index == 0
    assert resolve(parse_reference("the block farthest from the robot"), objs).found.index == 1
    assert resolve(parse_reference("block farthest from the bowl"), objs).found.index == 0


def test_stacking_anchor_grounds_to_the_other_block():
    objs = [obj(0, "box", "red", 0.5, -0.1), obj(1, "box", "green", 0.5, 0.1), obj(2, "box", "blue", 0.6, 0.0)]
    assert resolve(parse_reference("green block"), objs).found.index == 1
    assert resolve(parse_reference("red block"), objs).found.index == 0


def off_palette_scene():
    named = ["teal", "olive", "navy", "maroon", "salmon", "gold", "indigo", "mint"]
    objs = [obj(i, "box", "gray", 0.5, -0.3 + 0.08 * i, rgb=NAMED_COLORS[n]) for i, n in enumerate(named)]
    for o, n in zip(objs, named):  # perception names them with the base palette
        o.color = {"teal": "cyan", "olive": "yellow", "navy": "blue", "maroon": "red", "salmon": "pink",
                   "gold": "yellow", "indigo": "purple", "mint": "green"}[n]
    return named, objs


@pytest.mark.parametrize("word", ["teal", "olive", "navy", "maroon", "salmon", "gold", "indigo", "mint"])
def test_off_palette_words_ground_to_the_nearest_colour(word):
    named, objs = off_palette_scene()
    r = resolve(parse_reference(f"the {word} block"), objs)
    assert r.question is None and r.found.index == named.index(word)


def test_off_palette_word_grounds_to_a_base_palette_object_that_fits():
    objs = [obj(0, "box", "cyan", 0.5, -0.1), obj(1, "box", "red", 0.5, 0.1), obj(2, "box", "blue", 0.5, 0.0)]
    assert resolve(parse_reference("the teal block"), objs).found.index == 0
    assert resolve(parse_reference("the navy block"), objs).found.index == 2
    assert resolve(parse_reference("the crimson block"), objs).found.index == 1


def test_off_palette_words_are_strict():
    objs = [obj(0, "box", "gray", 0.5, -0.1), obj(1, "box", "green", 0.5, 0.1), obj(2, "box", "white", 0.5, 0.0)]
    for word in ("teal", "magenta", "navy", "coral", "indigo"):
        r = resolve(parse_reference(f"the {word} block"), objs)
        assert r.objects == () and r.question == f"I don't see {'an' if word[0] in 'aeiou' else 'a'} {word} block"


def test_light_and_dark_shades():
    objs = [obj(0, "box", "blue", 0.5, -0.1, rgb=(173, 216, 230)), obj(1, "box", "blue", 0.5, 0.1, rgb=(0, 0, 139))]
    assert resolve(parse_reference("the light blue block"), objs).found.index == 0
    assert resolve(parse_reference("the dark blue block"), objs).found.index == 1


# camera at x = 1.2 looking at the robot: image left is the robot's right (-y), image front is far from the robot
FRAMES = [obj(0, "box", "red", 0.35, -0.2), obj(1, "box", "red", 0.7, 0.2), obj(2, "bowl", "blue", 0.5, 0.0, 0.16)]


@pytest.mark.parametrize("text, camera, robot", [
    ("the leftmost block", 0, 1), ("the rightmost block", 1, 0), ("the frontmost block", 1, 0),
    ("the block at the back", 0, 1), ("the block left of the bowl", 0, 1), ("the block right of the bowl", 1, 0),
    ("the block in front of the bowl", 1, 0), ("the block behind the bowl", 0, 1),
    ("the first block from the left", 0, 1), ("the nearest block", 1, 0),
    ("the block closest to the robot", 0, 0),
])
def test_camera_and_robot_frames(text, camera, robot):
    ref = parse_reference(text)
    assert ground(ref, FRAMES)[0].index == camera
    assert ground(ref, FRAMES, spatial_frame="camera")[0].index == camera
    assert resolve(ref, FRAMES, spatial_frame="robot").found.index == robot


def test_robot_frame_needs_the_base_pose():
    objs = [obj(0, "box", "red", 0.35, -0.2, base=False), obj(1, "box", "red", 0.7, 0.2, base=False)]
    assert ground(parse_reference("leftmost block"), objs, spatial_frame="robot") == []
    assert "robot's frame" in resolve(parse_reference("leftmost block"), objs, spatial_frame="robot").question
    assert ground(parse_reference("leftmost block"), objs)[0].index == 0
    with pytest.raises(ValueError):
        ground(parse_reference("block"), objs, spatial_frame="world")


def test_except_and_between():
    objs = [obj(0, "bowl", "blue", 0.5, -0.2, 0.16), obj(1, "plate", "white", 0.5, 0.2, 0.16),
            obj(2, "sphere", "red", 0.5, 0.0), obj(3, "sphere", "red", 0.7, 0.3)]
    assert ids(ground(parse_reference("the object closest to the robot except the blue bowl"), objs)) != [0]
    assert resolve(parse_reference("the ball between the bowl and the plate"), objs).found.index == 2


def test_frame_helpers_for_the_policy_and_the_check():
    from spacetools_ros.core.language.frames import camera_relation, robot_side_offset
    from spacetools_ros.core.scene import CameraSpec

    cam = CameraSpec()  # at x = 1.2 looking at the robot
    k, t = cam.intrinsics(), cam.extrinsics()
    anchor = np.array([0.5, 0.0, 0.0])
    assert camera_relation("left", anchor, "robot", k, t) == "right"
    assert camera_relation("right", anchor, "robot", k, t) == "left"
    assert camera_relation("front", anchor, "robot", k, t) == "behind"
    assert camera_relation("behind", anchor, "robot", k, t) == "front"
    assert camera_relation("left", anchor, "camera", k, t) == "left"
    assert camera_relation("in", anchor, "robot", k, t) == "in"
    along, across = robot_side_offset("left", np.array([0.5, 0.12]), anchor)
    assert along == pytest.approx(0.12) and across == pytest.approx(0.0)
    along, _ = robot_side_offset("front", np.array([0.38, 0.0]), anchor)
    assert along == pytest.approx(0.12)


def test_robot_frame_front_is_along_x_and_nearest_is_by_distance():
    objs = [obj(0, "box", "red", 0.30, 0.30), obj(1, "box", "red", 0.40, 0.0)]
    assert ground(parse_reference("the frontmost block"), objs, spatial_frame="robot")[0].index == 0
    assert ground(parse_reference("the nearest block"), objs, spatial_frame="robot")[0].index == 1
    assert ground(parse_reference("the block closest to the robot"), objs)[0].index == 1
