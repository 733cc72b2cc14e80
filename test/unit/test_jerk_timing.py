"""Jerk-limited timing of the planner's paths: through the waypoints, from rest to rest, within the
velocity, acceleration and jerk limits, and close to the acceleration-only time-optimal bound."""

import sys
from itertools import pairwise

import numpy as np
import pytest

from spacetools_ros.backends.motion.embedded_planner import POLYLINE_CORNER_TOL_RAD, EmbeddedPlanner
from spacetools_ros.backends.motion.jerk_timing import departures, jerk_limited_trajectory, measured_limit_ratios
from spacetools_ros.backends.motion.settings import motion_settings
from spacetools_ros.core.errors import ConfigError
from spacetools_ros.core.geometry import Pose
from spacetools_ros.core.grasping import top_down_rotation
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.planning_scene import CollisionObject, PlanningScene
from spacetools_ros.core.robot_spec import load_robot_spec
from spacetools_ros.core.shapes import Primitive
from spacetools_ros.core.timing import time_parameterize

ROBOT = load_robot_spec()
NAMES = ROBOT.arm_joints
VMAX, AMAX, JMAX = (ROBOT.velocity_limit_rad_s * 0.5, ROBOT.acceleration_limit_rad_s2 * 0.5,
                    ROBOT.jerk_limit_rad_s3 * 0.5)
WALL = CollisionObject("wall", (Primitive("box", (0.04, 0.06, 0.15), (0.0, 0.0, 0.15)),),
                       Pose(np.array([0.5, 0.0, 0.0]), np.eye(3)), 0.3)
TOL = 1e-3  # numerical tolerance on the measured limit ratios (finite differences every 0.1 ms)


def distance_to_polyline(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Joint-space distance of each point to a polyline."""
    best = np.linalg.norm(points - polyline[0], axis=1)
    for a, b in pairwise(polyline):
        d = b - a
        u = np.clip((points - a) @ d / max(float(d @ d), 1e-18), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(points - (a + u[:, None] * d), axis=1))
    return best


def check(traj, path, vmax, amax, jmax, corner_tol, *, off_path_rad: float, max_ratio: float) -> float:
    """Every property this timing promises; returns duration / acceleration-only bound."""
    qs, _ = traj.sample_many(np.arange(0.0, traj.duration_s, 2e-4))
    qs = np.vstack([qs, traj.positions[-1:]])
    # through every waypoint (the sampled motion, as a fine polyline, passes within 10 urad) ...
    assert distance_to_polyline(path, qs).max() < 1e-5
    # ... and never far from the path between them
    assert distance_to_polyline(qs, path).max() < off_path_rad
    np.testing.assert_allclose(traj.positions[0], path[0], atol=1e-12)
    np.testing.assert_allclose(traj.positions[-1], path[-1], atol=1e-12)
    for k in (0, -1):  # at rest, and not accelerating, at both ends
        assert np.abs(traj.velocities[k]).max() < 1e-9 and np.abs(traj.accelerations[k]).max() < 1e-9
    assert np.abs(traj.sample(traj.duration_s)[1]).max() < 1e-9
    rv, ra, rj = measured_limit_ratios(traj, vmax, amax, jmax)
    assert rv <= 1 + TOL and ra <= 1 + TOL and rj <= 1 + TOL, (rv, ra, rj)
    bound = time_parameterize(path, NAMES, vmax, amax, step_rad=0.0005, corner_tol_rad=corner_tol).duration_s
    ratio = traj.duration_s / bound
    assert 0.995 <= ratio <= max_ratio, ratio
    return ratio


def trapezoid_time(d: np.ndarray, vmax: np.ndarray, amax: np.ndarray) -> float:
    """Exact acceleration-only time-optimal duration of a straight joint move from rest to rest."""
    length = np.linalg.norm(d)
    u = np.abs(d) / length
    v = np.min(vmax[u > 0] / u[u > 0])
    a = np.min(amax[u > 0] / u[u > 0])
    return length / v + v / a if length > v * v / a else 2 * np.sqrt(length / a)


@pytest.fixture(scope="module")
def planner():
    return EmbeddedPlanner(ROBOT)


@pytest.mark.parametrize("scale", [0.01, 0.2, 1.0, 3.0])
def test_straight_line_is_jerk_limited_and_close_to_the_bound(scale):
    path = np.stack([np.zeros(7), np.array([1.0, 0.5, -0.3, 0.2, 0.0, 0.4, 1.0]) * scale])
    traj = jerk_limited_trajectory(path, NAMES, VMAX, AMAX, JMAX)
    check(traj, path, VMAX, AMAX, JMAX, POLYLINE_CORNER_TOL_RAD, off_path_rad=1e-9, max_ratio=1.2)
    bound = trapezoid_time(path[1], VMAX, AMAX)
    assert bound <= traj.duration_s <= (1.2 if scale < 0.1 else 1.02) * bound


def test_the_measurement_sees_an_acceleration_step():
    path = np.stack([np.zeros(7), np.full(7, 0.5)])
    accel_only = time_parameterize(path, NAMES, VMAX, AMAX)
    assert measured_limit_ratios(accel_only, VMAX, AMAX, JMAX)[2] > 1.5  # what the jerk limit forbids


def test_curved_path_stays_within_limits():
    s = np.linspace(0, 1, 80)
    path = np.stack([np.sin(2 * s), s, np.cos(3 * s) - 1, -s * 0.5, s * s, s, 0 * s], 1)
    traj = jerk_limited_trajectory(path, NAMES, VMAX, AMAX, JMAX, corner_tol_rad=np.pi)
    check(traj, path, VMAX, AMAX, JMAX, np.pi, off_path_rad=1e-3, max_ratio=1.3)  # chords of a curve sag


def test_polyline_stops_at_its_corners():
    a, b, c = np.zeros(7), np.full(7, 0.3), np.array([0.6, 0, 0.6, 0, 0.6, 0, 0.6])
    path = np.stack([a, b, c])
    traj = jerk_limited_trajectory(path, NAMES, VMAX, AMAX, JMAX)
    check(traj, path, VMAX, AMAX, JMAX, POLYLINE_CORNER_TOL_RAD, off_path_rad=1e-9, max_ratio=1.05)
    k = int(np.argmin(np.linalg.norm(traj.positions - b, axis=1)))
    assert np.linalg.norm(traj.positions[k] - b) < 1e-12 and np.linalg.norm(traj.velocities[k]) < 1e-9


def test_planned_straight_joint_move(planner):
    planner.set_scene(PlanningScene())
    goal = planner.ik(Pose(np.array([0.5, -0.2, 0.15]), top_down_rotation(0.3)), ROBOT.home_rad)
    plan = planner.plan_joints(ROBOT.home_rad, goal, finger_width_m=0.08)
    assert len(plan.path) == 2
    check(plan.trajectory, plan.path, planner.vmax, planner.amax, planner.jmax, POLYLINE_CORNER_TOL_RAD,
          off_path_rad=1e-9, max_ratio=1.05)


def test_planned_path_around_an_obstacle(planner):
    planner.set_scene(PlanningScene())
    q_a = planner.ik(Pose(np.array([0.5, 0.3, 0.15]), top_down_rotation(0.0)), ROBOT.home_rad)
    q_b = planner.ik(Pose(np.array([0.5, -0.3, 0.15]), top_down_rotation(0.0)), ROBOT.home_rad)
    planner.set_scene(PlanningScene((WALL,)))
    plan = planner.plan_joints(q_a, q_b, finger_width_m=0.08)
    assert len(plan.path) > 2
    check(plan.trajectory, plan.path, planner.vmax, planner.amax, planner.jmax, POLYLINE_CORNER_TOL_RAD,
          off_path_rad=2e-3, max_ratio=1.1)
    qs, _ = plan.trajectory.sample_many(np.linspace(0, plan.trajectory.duration_s, 400))
    assert not any(planner.kin.contacts(q, 0.08) for q in qs)


def test_planned_cartesian_line(planner):
    planner.set_scene(PlanningScene())
    start = planner.ik(Pose(np.array([0.5, 0.1, 0.25]), top_down_rotation(0.2)), ROBOT.home_rad)
    plan = planner.plan_cartesian(start, Pose(np.array([0.5, 0.1, 0.12]), top_down_rotation(0.6)), finger_width_m=0.08)
    assert len(plan.path) > 10
    check(plan.trajectory, plan.path, planner.vmax, planner.amax, planner.jmax, np.pi,
          off_path_rad=5e-4, max_ratio=1.3)


def test_slower_motion_scales_every_limit(planner):
    planner.set_scene(PlanningScene())
    goal = planner.ik(Pose(np.array([0.45, 0.25, 0.2]), top_down_rotation(-0.4)), ROBOT.home_rad)
    full = planner.plan_joints(ROBOT.home_rad, goal, finger_width_m=0.08).trajectory
    half = planner.plan_joints(ROBOT.home_rad, goal, finger_width_m=0.08, speed_scale=0.5).trajectory
    assert half.duration_s == pytest.approx(2 * full.duration_s, rel=1e-6)
    rv, ra, rj = measured_limit_ratios(half, planner.vmax * 0.5, planner.amax * 0.25, planner.jmax * 0.125)
    assert max(rv, ra, rj) <= 1 + TOL and max(rv, ra, rj) > 0.9


def test_a_spline_that_bulges_into_something_is_replaced_by_stops(planner, monkeypatch):
    # waypoints that turn by less than the corner tolerance: the spline through them leaves the polyline
    turn = 0.8 * POLYLINE_CORNER_TOL_RAD
    d0 = np.array([1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    d1 = d0 * np.cos(turn) + np.array([0.0, 0.0, 1.0, 0, 0, 0, 0]) * np.linalg.norm(d0) * np.sin(turn)
    path = np.stack([ROBOT.home_rad, ROBOT.home_rad + 0.5 * d0, ROBOT.home_rad + 0.5 * (d0 + d1)])
    assert departures(jerk_limited_trajectory(path, NAMES, VMAX, AMAX, JMAX).positions, path, 2e-4)
    checked = []
    monkeypatch.setattr(planner, "first_collision", lambda p, w, allowed=frozenset(): checked.append(p) or (0.0, []))
    plan = planner._timed(path, 0.0, False, 0.08, frozenset())
    assert checked
    traj = plan.trajectory
    k = int(np.argmin(np.linalg.norm(traj.positions - path[1], axis=1)))
    assert np.linalg.norm(traj.positions[k] - path[1]) < 1e-12 and np.linalg.norm(traj.velocities[k]) < 1e-9
    assert distance_to_polyline(traj.sample_many(np.linspace(0, traj.duration_s, 500))[0], path).max() < 1e-9


def test_departures_finds_only_what_leaves_the_path():
    path = np.stack([np.zeros(7), np.full(7, 1.0)])
    on = np.linspace(path[0], path[1], 50)
    assert departures(on, path, 1e-4) == []
    off = on.copy()
    off[20:23, 0] += 0.01
    runs = departures(off, path, 1e-4)
    assert len(runs) == 1 and len(runs[0]) == 5  # the three off the path and one neighbour each side


def test_no_motion_is_a_short_hold():
    traj = jerk_limited_trajectory(np.stack([ROBOT.home_rad, ROBOT.home_rad]), NAMES, VMAX, AMAX, JMAX)
    assert traj.duration_s == pytest.approx(0.05)
    np.testing.assert_allclose(traj.positions, np.stack([ROBOT.home_rad] * 2))


@pytest.mark.parametrize("jmax", [np.zeros(7), np.full(7, np.inf), np.full(6, 1.0)])
def test_bad_limits_are_refused(jmax):
    with pytest.raises(ValueError, match="limits"):
        jerk_limited_trajectory(np.stack([np.zeros(7), np.ones(7)]), NAMES, VMAX, AMAX, jmax)


def test_missing_ruckig_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ruckig", None)
    with pytest.raises(ImportError, match="ruckig"):
        jerk_limited_trajectory(np.stack([np.zeros(7), np.ones(7)]), NAMES, VMAX, AMAX, JMAX)
    with pytest.raises(ImportError, match="ruckig"):
        EmbeddedPlanner(ROBOT)


def test_jerk_limits_and_scaling_are_configured():
    np.testing.assert_allclose(ROBOT.jerk_limit_rad_s3, [7500, 3750, 5000, 6250, 7500, 10000, 10000])
    assert motion_settings().planner.jerk_scaling == 0.5
    assert motion_settings({"jerk_scaling": 0.25}).planner.jerk_scaling == 0.25


@pytest.mark.parametrize("value", [0.0, 1.5, -0.1, "fast", True, float("nan")])
def test_jerk_scaling_out_of_range_is_refused(value):
    with pytest.raises(ConfigError, match="jerk_scaling"):
        motion_settings({"jerk_scaling": value})


@pytest.mark.parametrize("old, new", [("jerk_limit_rad_s3: [7500.0,", "jerk_limit_rad_s3: [0.0,"),
                                      ("jerk_limit_rad_s3: [7500.0,", "jerk_limit_rad_s3: [-1.0,"),
                                      ("jerk_limit_rad_s3: [7500.0, ", "jerk_limit_rad_s3: ["),
                                      ("jerk_limit_rad_s3:", "jerk_limits:")])
def test_robot_jerk_limits_are_validated(tmp_path, old, new):
    text = (config_dir() / "robot_panda.yaml").read_text()
    assert old in text
    p = tmp_path / "robot.yaml"
    p.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match="jerk_limit_rad_s3"):
        load_robot_spec(p)
