"""A real sensor's depth holes (0 pixels): a point on a hole takes the valid depth around it, and a
hole is never a surface to grow a mask over."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from spacetools_ros.core.camera import CameraFrame, ray_point_base, valid_depth_at


def _frame(depth: np.ndarray, rgb: np.ndarray | None = None) -> CameraFrame:
    h, w = depth.shape
    k = np.array([[500.0, 0, w / 2], [0, 500.0, h / 2], [0, 0, 1]])
    return CameraFrame("scene", rgb if rgb is not None else np.full((h, w, 3), 128, np.uint8), depth, k, np.eye(4))


def test_a_hole_takes_the_median_of_its_valid_neighbours_and_a_large_one_no_plane_below_stays_unknown():
    depth = np.full((40, 40), 0.8, np.float32)
    depth[18:21, 18:21] = 0.0
    assert math.isclose(valid_depth_at(depth, 19, 19), 0.8, abs_tol=1e-6)
    p = ray_point_base(_frame(depth), 19.5 / 40, 19.5 / 40)
    assert math.isclose(p[2], 0.8, abs_tol=1e-6)
    depth[5:35, 5:35] = 0.0
    assert math.isnan(valid_depth_at(depth, 19, 19))
    assert not np.all(np.isfinite(ray_point_base(_frame(depth), 0.5, 0.5)))


def test_a_wide_hole_is_level_with_the_surface_seen_around_it():
    # a camera 0.8 m above a table, looking straight down; a dark plate's floor returns no depth
    depth = np.full((120, 120), 0.8, np.float32)
    depth[30:90, 30:90] = 0.0
    down = np.array([[1.0, 0, 0, 0.5], [0, -1.0, 0, 0.0], [0, 0, -1.0, 0.8], [0, 0, 0, 1.0]])
    frame = dataclasses.replace(_frame(depth), extrinsics=down)
    assert math.isnan(valid_depth_at(depth, 60, 70))
    p = ray_point_base(frame, 60.5 / 120, 70.5 / 120)
    assert abs(p[2]) < 1e-3, p                  # on the table plane ...
    k = frame.intrinsics                         # ... along the pixel's own ray
    assert np.allclose(p[:2], [0.5 + 0.8 * (60.5 - k[0, 2]) / k[0, 0], -0.8 * (70.5 - k[1, 2]) / k[1, 1]], atol=1e-3)
    depth[:] = 0.0                               # nothing valid anywhere: unknown
    assert not np.all(np.isfinite(ray_point_base(_frame(depth), 0.5, 0.5)))


def test_a_mask_grown_from_a_hole_never_covers_other_holes():
    from spacetools_ros.backends.tools.offline import OfflineSegmentation

    depth = np.full((40, 40), 0.8, np.float32)
    depth[:, 30:] = 0.0          # a band the sensor could not see
    depth[10:13, 10:13] = 0.0    # a hole under the prompt
    mask = OfflineSegmentation._grow(_frame(depth), [(11, 11)])
    assert mask[20, 20] and not mask[:, 30:].any()



def test_missing_depth_is_filled_from_the_same_colour_not_from_the_table_behind():
    from spacetools_ros.backends.perception.tabletop import fill_holes_by_colour

    rng = np.random.default_rng(3)
    rgb = np.full((60, 80, 3), (180, 150, 110), np.uint8)   # wood table
    depth = np.full((60, 80), 1.0, np.float32)
    rgb[20:40, 30:50] = (15, 15, 15)                         # a black plate 2 cm nearer
    depth[20:40, 30:50] = 0.98
    holes = rng.random(depth.shape) < 0.3
    holes[20:40, 30:50] = rng.random((20, 20)) < 0.9         # dark paint returns little light
    depth[holes] = 0.0
    filled = fill_holes_by_colour(depth, rgb)
    plate = filled[20:40, 30:50]
    assert (plate > 0).all() and np.allclose(plate, 0.98, atol=1e-4)
    table = np.ones(depth.shape, bool)
    table[20:40, 30:50] = False
    assert (filled[table] > 0).all() and np.allclose(filled[table], 1.0, atol=1e-4)
    # no measured pixel of that colour nearby: the hole stays a hole
    lone = depth.copy()
    lone[20:40, 30:50] = 0.0
    assert (fill_holes_by_colour(lone, rgb)[25:35, 35:45] == 0).all()


def test_the_depth_tool_fills_a_dark_blocks_holes_and_keeps_what_the_sensor_measured():
    """A navy cube returns depth on a tenth of its pixels; the depth tool's cloud had 37 of its
    points to plan a grasp from. Filled from the same colour, it has most of them; measured pixels
    keep their values."""
    import os

    os.environ.setdefault("MUJOCO_GL", "egl")
    from spacetools_ros.backends.perception.tabletop import TabletopPerception
    from spacetools_ros.backends.tools.offline import SensorDepth
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.evaluation.openworld import make_case

    case = make_case("dev", "colour_words", 63, "structured_light", "camera")
    s = EmbeddedSession.create(case.scene)
    try:
        frame = s.tool_world().capture()
    finally:
        s.close()
    cube = min(TabletopPerception()(frame).objects, key=lambda o: np.hypot(*(o.centroid_base[:2] - [0.327, -0.009])))
    raw = np.where(np.isfinite(frame.depth_m), frame.depth_m, 0.0)
    depth, _ = SensorDepth().depth(frame)
    assert (raw[cube.mask] > 0).mean() < 0.2 and (depth[cube.mask] > 0).mean() > 0.6
    measured = raw > 0
    assert np.array_equal(depth[measured], raw[measured].astype(np.float32))
