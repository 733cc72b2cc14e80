"""Grasps from a real sensor's data: a ball's centre from a resting-ball fit (one side seen, noisy
depth), the hand's body kept clear of neighbours, and grasp heights taken above the table the
camera sees (a small calibration error lifts or lowers it by millimetres in the base frame)."""

from __future__ import annotations

import numpy as np
import pytest

from spacetools_ros.backends.tools.grasp_sampler import GeometricGraspSampler, _ball, resting_sphere
from spacetools_ros.core.camera import CameraFrame
from spacetools_ros.core.safety import GRASP_TOOL, decode_target, seen_table_height
from spacetools_ros.core.scene import CameraSpec
from spacetools_ros.core.tools.protocol import ToolCall
from spacetools_ros.core.tools.variables import VariableStore


def _one_side_of_a_ball(centre_xy, r, noise_m, rng, n=400):
    """Points on the half of a resting ball facing +x (what one camera sees), with depth noise."""
    th = rng.uniform(-np.pi / 2, np.pi / 2, n)      # azimuth towards the camera
    ph = rng.uniform(0.15, np.pi - 0.15, n)          # polar angle
    p = np.stack([np.sin(ph) * np.cos(th), np.sin(ph) * np.sin(th), np.cos(ph)], axis=1) * r
    p += rng.normal(0.0, noise_m, (n, 3)) * np.array([1.0, 0.0, 0.6])  # smeared along the ray
    return p[:, :2] + centre_xy, p[:, 2] + r


def test_a_resting_ball_is_found_from_one_noisy_side():
    rng = np.random.default_rng(0)
    uv, h = _one_side_of_a_ball(np.array([0.3, -0.1]), 0.022, 0.002, rng)
    centre, r, rms = resting_sphere(uv, h)
    assert np.linalg.norm(centre - [0.3, -0.1]) < 0.003 and abs(r - 0.022) < 0.002 and rms < 0.0029
    # the middle of the seen points is a centimetre towards the camera: the fit is not
    assert np.linalg.norm(uv.mean(axis=0) - [0.3, -0.1]) > 0.008
    assert _ball(uv, h, float(np.percentile(h, 99))) is not None


def test_a_block_is_not_taken_for_a_ball():
    rng = np.random.default_rng(1)
    top = np.stack([rng.uniform(-0.02, 0.02, 300), rng.uniform(-0.02, 0.02, 300)], axis=1)
    side = np.stack([np.full(200, 0.02), rng.uniform(-0.02, 0.02, 200)], axis=1)
    uv = np.concatenate([top, side]) + rng.normal(0, 0.001, (500, 2))
    h = np.concatenate([np.full(300, 0.04), rng.uniform(0.0, 0.04, 200)]) + rng.normal(0, 0.001, 500)
    assert _ball(uv, h, float(np.percentile(h, 99))) is None


def _table_cloud(n_side=120, spacing=0.004):
    """A camera-frame cloud: a flat table 0.9 m below a camera looking straight down."""
    g = (np.arange(n_side) - n_side / 2) * spacing
    x, y = np.meshgrid(g, g)
    return np.stack([x.ravel(), y.ravel(), np.full(x.size, 0.9)], axis=1)


def test_no_grasp_puts_the_hand_on_a_tall_neighbour():
    table = _table_cloud()
    # a 4 cm block at the centre, and a can 9 cm away along camera x, 6 cm tall
    g = np.arange(-0.02, 0.0201, 0.004)
    bx, by = np.meshgrid(g, g)
    block = np.stack([bx.ravel(), by.ravel(), np.full(bx.size, 0.86)], axis=1)
    a = np.linspace(0, 2 * np.pi, 60)
    can = np.concatenate([np.stack([0.09 + 0.02 * np.cos(a), 0.02 * np.sin(a), np.full(60, z)], axis=1)
                          for z in np.arange(0.84, 0.9, 0.005)])
    cloud = np.concatenate([table, block, can])
    idx = np.arange(len(table), len(table) + len(block))
    grasps, tried = GeometricGraspSampler().grasps(cloud, idx)
    assert grasps and tried == 12
    for pose, _ in grasps:  # fingers along camera x would put the hand over the can
        assert abs(pose[0, 0]) < 0.9, pose[:3, 0]


def test_a_grasp_is_taken_above_the_table_the_camera_sees():
    cam = CameraSpec()
    k, t = cam.intrinsics(), cam.extrinsics()
    h, w = 480, 640
    # the depth a camera 5 mm lower than its calibration sees of the table at z = 0 ...
    t_true = t.copy()
    t_true[2, 3] -= 0.005
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], axis=-1)
    dirs = rays @ t_true[:3, :3].T
    depth = (-t_true[2, 3] / dirs[..., 2]).astype(np.float32)
    depth[(depth < 0) | (depth > 5)] = 0.0
    frame = CameraFrame("scene", np.zeros((h, w, 3), np.uint8), depth, k, t)
    # ... through the calibrated pose puts the table 5 mm above z = 0
    assert abs(seen_table_height(frame, np.array([0.5, 0.0])) - 0.005) < 0.001
    grasp_cam = np.linalg.inv(t) @ np.array([[1, 0, 0, 0.5], [0, -1, 0, 0.0], [0, 0, -1, 0.125], [0, 0, 0, 1.0]])
    vars_ = VariableStore()
    vars_.set("grasp_pose", grasp_cam.tolist(), image_index=0)
    target = decode_target(ToolCall(GRASP_TOOL, {"grasp_pose": "$grasp_pose"}), vars_, lambda arg: (0, frame))
    assert abs(target.tcp.position[2] - (0.125 - 0.1034 - 0.005)) < 0.0015


def test_the_arm_hanging_high_above_the_object_is_not_an_obstacle_to_its_grasp():
    """At home the arm's hand hangs over the table; a block below it was refused every grasp because
    the points of the arm 40 cm up were taken for something in the hand's way."""
    table = _table_cloud()
    g = np.arange(-0.02, 0.0201, 0.004)
    bx, by = np.meshgrid(g, g)
    block = np.stack([bx.ravel(), by.ravel(), np.full(bx.size, 0.86)], axis=1)
    arm = np.stack([bx.ravel() * 2, by.ravel() * 2, np.full(bx.size, 0.45)], axis=1)  # 45 cm above the table
    cloud = np.concatenate([table, block, arm])
    idx = np.arange(len(table), len(table) + len(block))
    grasps, _ = GeometricGraspSampler().grasps(cloud, idx)
    assert grasps
    # the same thing 4 cm above the block's top is in the hand's way
    low = arm.copy()
    low[:, 2] = 0.86 - 0.04 - 0.05
    with pytest.raises(RuntimeError, match="collide"):
        GeometricGraspSampler().grasps(np.concatenate([table, block, low]), idx)


def _ball_on_a_noisy_table(noise_m: float, seed: int = 0):
    """A camera-frame cloud looking straight down: a table 0.9 m below with ``noise_m`` rms depth
    noise, and the top half of a 4 cm ball on it (indices of the ball's points)."""
    rng = np.random.default_rng(seed)
    table = _table_cloud(240, 0.002)  # a pixel's spacing at a metre
    table[:, 2] += rng.normal(0.0, noise_m, len(table))
    table = table[np.linalg.norm(table[:, :2], axis=1) > 0.021]  # under the ball: hidden
    g = np.arange(-0.02, 0.0201, 0.002)
    bx, by = np.meshgrid(g, g)
    inside = bx ** 2 + by ** 2 < 0.02 ** 2
    bz = 0.9 - 0.02 - np.sqrt(0.02 ** 2 - bx[inside] ** 2 - by[inside] ** 2)
    ball = np.stack([bx[inside], by[inside], bz + rng.normal(0.0, noise_m, bz.size)], axis=1)
    return np.concatenate([table, ball]), np.arange(len(table), len(table) + len(ball))


def test_a_ball_on_a_noisy_table_is_not_walled_in_by_the_table_noise():
    """A structured-light table reads 2.5 mm rms at a metre, with heavier tails than a normal
    distribution (1% of its points 9 mm up; here 3 mm rms, normal): several percent of its points
    stand more than 4 mm up, and around a 4 cm ball (the hand's TCP 1.8 cm up, the fingertips
    lower) those in the open fingers' way had refused every grasp. An obstacle rises above the noise."""
    cloud, idx = _ball_on_a_noisy_table(0.003)
    grasps, _ = GeometricGraspSampler().grasps(cloud, idx)
    assert grasps
    # a neighbour's edge 1.5 cm high where one finger comes down along camera x is still in the way
    gz = np.arange(0.9 - 0.015, 0.9, 0.003)
    gy = np.arange(-0.03, 0.0301, 0.003)
    wy, wz = np.meshgrid(gy, gz)
    wall = np.stack([np.full(wy.size, 0.052), wy.ravel(), wz.ravel()], axis=1)
    grasps, _ = GeometricGraspSampler().grasps(np.concatenate([cloud, wall]), idx)
    assert grasps
    for pose, _ in grasps:  # fingers along camera x would put one finger on the wall
        assert abs(pose[0, 0]) < 0.9, pose[:3, 0]
