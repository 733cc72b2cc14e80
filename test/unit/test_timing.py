"""Time parameterisation: optimal on straight lines, within limits on curved paths."""

import numpy as np
import pytest

from spacetools_ros.core.robot_spec import load_robot_spec
from spacetools_ros.core.timing import split_at_corners, time_parameterize
from spacetools_ros.core.trajectory import JointTrajectory, TrajectoryFollower

ROBOT = load_robot_spec()
VMAX, AMAX = ROBOT.velocity_limit_rad_s, ROBOT.acceleration_limit_rad_s2
NAMES = ROBOT.arm_joints


def trapezoid_time(d: np.ndarray) -> float:
    length = np.linalg.norm(d)
    u = np.abs(d) / length
    vs = np.min(VMAX[u > 0] / u[u > 0])
    acc = np.min(AMAX[u > 0] / u[u > 0])
    return length / vs + vs / acc if length > vs * vs / acc else 2 * np.sqrt(length / acc)


@pytest.mark.parametrize("scale", [0.2, 1.0, 3.0])
def test_straight_line_is_time_optimal(scale):
    d = np.array([1.0, 0.5, -0.3, 0.2, 0.0, 0.4, 1.0]) * scale
    traj = time_parameterize(np.stack([np.zeros(7), d]), NAMES, VMAX, AMAX)
    assert traj.duration_s == pytest.approx(trapezoid_time(d), rel=0.01)
    np.testing.assert_allclose(traj.positions[-1], d, atol=1e-9)


def test_curved_path_respects_limits_and_ends_at_rest():
    s = np.linspace(0, 1, 80)
    path = np.stack([np.sin(2 * s), s, np.cos(3 * s) - 1, -s * 0.5, s * s, s, 0 * s], 1)
    traj = time_parameterize(path, NAMES, VMAX * 0.5, AMAX * 0.5)
    rv, ra = traj.max_limit_ratios(VMAX * 0.5, AMAX * 0.5)
    assert rv <= 1.0 + 1e-6 and ra <= 1.0 + 1e-6
    assert np.all(np.abs(traj.velocities[[0, -1]]) < 1e-9)
    np.testing.assert_allclose(traj.positions[-1], path[-1], atol=1e-9)


def test_polyline_stops_at_corners():
    a, b, c = np.zeros(7), np.full(7, 0.3), np.array([0.6, 0, 0.6, 0, 0.6, 0, 0.6])
    assert len(split_at_corners(np.stack([a, b, c]))) == 2
    traj = time_parameterize(np.stack([a, b, c]), NAMES, VMAX, AMAX)
    k = int(np.argmin(np.linalg.norm(traj.positions - b, axis=1)))
    assert np.linalg.norm(traj.velocities[k]) < 1e-6


def test_follower_replaces_and_holds():
    f = TrajectoryFollower(NAMES, np.zeros(7))
    traj = JointTrajectory(NAMES, np.array([1.0]), np.full((1, 7), 0.5))
    f.set_trajectory(traj, now_s=10.0)
    q, _ = f.setpoint(10.5)
    np.testing.assert_allclose(q, 0.25)  # interpolates from the current set-point to the first point
    np.testing.assert_allclose(f.setpoint(12.0)[0], 0.5)
    assert not f.active(12.0)
    traj2 = JointTrajectory(tuple(reversed(NAMES)), np.array([0.5]), np.arange(7.0)[None, :] / 10)
    f.set_trajectory(traj2, now_s=12.0)
    np.testing.assert_allclose(f.setpoint(20.0)[0], np.arange(7.0)[::-1] / 10)  # joint order mapped by name


@pytest.mark.parametrize("times, pos", [([0.0, 0.0], [[0] * 7, [1] * 7]), ([1.0], [[np.nan] * 7]), ([-1.0], [[0] * 7])])
def test_invalid_trajectories_rejected(times, pos):
    with pytest.raises(ValueError):
        JointTrajectory(NAMES, np.array(times), np.array(pos, dtype=float))
