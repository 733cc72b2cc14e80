"""A real sensor's depth holes (0 pixels): a point on a hole takes the valid depth around it, and a
hole is never a surface to grow a mask over."""

from __future__ import annotations

import math

import numpy as np

from spacetools_ros.core.camera import CameraFrame, ray_point_base, valid_depth_at


def _frame(depth: np.ndarray, rgb: np.ndarray | None = None) -> CameraFrame:
    h, w = depth.shape
    k = np.array([[500.0, 0, w / 2], [0, 500.0, h / 2], [0, 0, 1]])
    return CameraFrame("scene", rgb if rgb is not None else np.full((h, w, 3), 128, np.uint8), depth, k, np.eye(4))


def test_a_hole_takes_the_median_of_its_valid_neighbours_and_a_large_hole_stays_unknown():
    depth = np.full((40, 40), 0.8, np.float32)
    depth[18:21, 18:21] = 0.0
    assert math.isclose(valid_depth_at(depth, 19, 19), 0.8, abs_tol=1e-6)
    p = ray_point_base(_frame(depth), 19.5 / 40, 19.5 / 40)
    assert math.isclose(p[2], 0.8, abs_tol=1e-6)
    depth[5:35, 5:35] = 0.0
    assert math.isnan(valid_depth_at(depth, 19, 19))
    assert not np.all(np.isfinite(ray_point_base(_frame(depth), 0.5, 0.5)))


def test_a_mask_grown_from_a_hole_never_covers_other_holes():
    from spacetools_ros.backends.tools.offline import OfflineSegmentation

    depth = np.full((40, 40), 0.8, np.float32)
    depth[:, 30:] = 0.0          # a band the sensor could not see
    depth[10:13, 10:13] = 0.0    # a hole under the prompt
    mask = OfflineSegmentation._grow(_frame(depth), [(11, 11)])
    assert mask[20, 20] and not mask[:, 30:].any()

