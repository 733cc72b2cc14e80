"""Jerk-limited time parameterisation of the planner's joint paths with Ruckig.

Why this design:

- Ruckig (community version) computes time-optimal, jerk-limited state-to-state motions. Its
  intermediate waypoints need the Pro version (or a remote service), so it is not asked to follow
  a multi-waypoint path; left to itself between two joint states it would leave the straight
  joint-space line that the planner checked for collisions.
- The geometry therefore stays the planner's: the path is split where it turns (the arm stops
  there, as any finite-acceleration trajectory must at a corner) and every piece is a curve q(s)
  through its waypoints: a straight piece is the exact joint-space line, a piece of many nearly
  aligned waypoints (a dense Cartesian path) is a C2 natural cubic spline that passes through every
  waypoint (its third derivative exists, so the jerk along it is bounded).
- Only the scalar progress s(t) along a piece is timed, by Ruckig as one-DoF problems. Bounds
  S1, S2, S3 on s', s'', s''' follow from the chain rule so that every joint stays within its
  limits wherever they hold (the spline's derivative maxima are exact per interval):
      |q'|   <= |q_s| S1
      |q''|  <= |q_s| S2 + |q_ss| S1^2
      |q'''| <= |q_s| S3 + 3 |q_ss| S1 S2 + |q_sss| S1^3
  On a straight line (q_ss = q_sss = 0) these bounds are exact and the result is the time-optimal
  jerk-limited motion along that line, from rest to rest. On a curve they are conservative: the
  curve is timed whole (one set of bounds) or cut at its waypoints into sections with their own
  bounds that meet at zero s'' and at speeds both neighbours can reach (a forward and a backward
  pass, as in phase-plane methods); the faster, over a few splits between speed and acceleration,
  is kept. Each Ruckig profile is checked to stay inside its section (s never runs back).
- The trajectory is sampled at every Ruckig phase boundary plus a regular grid. On a straight
  piece the motion is a cubic in time between phase boundaries, which the follower's cubic
  Hermite interpolation reproduces exactly; curved pieces are sampled finely.
- A spline can bulge off the polyline that the planner checked (next to an IK jump in a
  Cartesian path): ``departures`` returns those stretches so that the planner checks them again.
- toppra (path-following, time-optimal under velocity/acceleration limits) has no jerk limit: its
  bang-bang acceleration would need a jerk post-process, and it brings scipy and matplotlib. The
  acceleration-only time-optimal bound that this timing is reported against is
  ``core.timing.time_parameterize`` (benchmarks/trajectory_timing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ...core.timing import split_at_corners
from ...core.trajectory import JointTrajectory

LINE_SAMPLE_DT_S = 0.02      # a straight piece is exact at any spacing: points only for the follower and checks
CURVE_SAMPLE_DT_S = 0.001    # a curved piece is interpolated between samples (C1 at them): keep them close
MIN_SAMPLE_GAP_S = 1e-7      # phase boundaries closer than this are one sample
MIN_ROOM = 1e-3              # a bound on s'' or s''' below this fraction of the joint limits is no room at all
JOIN_SPEED_MARGIN = 0.999    # speeds where sections meet stay this far inside what both can reach
CURVE_JERK_MARGIN = 0.98     # a curved piece is timed to this fraction of the jerk limits: the interpolation
                             # between its samples is C1, with tiny acceleration steps at the samples
_SPEED_FRACTIONS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def _ruckig():
    """The Ruckig module (a required dependency: requirements/embedded.txt).

    Raises:
        ImportError: when it is not installed, with how to install it.
    """
    try:
        import ruckig
    except ImportError as exc:
        raise ImportError("jerk-limited trajectory timing needs the 'ruckig' package "
                          "(pip install -r requirements/embedded.txt)") from exc
    return ruckig


def require_ruckig() -> None:
    """Fail now, with a clear message, if Ruckig is missing (call where the planner is built)."""
    _ruckig()


@dataclass(frozen=True)
class _Curve:
    """A piece of the path as q(s), s in [0, length] (joint-space chord length, rad)."""

    knots: np.ndarray          # (K,) s at the waypoints
    points: np.ndarray         # (K, J) waypoints, rad
    second: np.ndarray         # (K, J) q_ss at the knots (zeros on a straight piece)

    @property
    def length(self) -> float:
        return float(self.knots[-1])

    @property
    def straight(self) -> bool:
        return len(self.knots) == 2

    def evaluate(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(q, q_s, q_ss) at path parameters s (M,)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length)
        i = np.clip(np.searchsorted(self.knots, s, side="right") - 1, 0, len(self.knots) - 2)
        h = (self.knots[i + 1] - self.knots[i])[:, None]
        t = (s - self.knots[i])[:, None]
        y0, y1, m0, m1 = self.points[i], self.points[i + 1], self.second[i], self.second[i + 1]
        b = (y1 - y0) / h - h * (2 * m0 + m1) / 6
        dm = (m1 - m0) / h
        q = y0 + b * t + m0 * t**2 / 2 + dm * t**3 / 6
        return q, b + m0 * t + dm * t**2 / 2, m0 + dm * t

    def derivative_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per interval and joint, exact maxima of |q_s|, |q_ss|, |q_sss| (each (K-1, J))."""
        h = np.diff(self.knots)[:, None]
        y0, y1, m0, m1 = self.points[:-1], self.points[1:], self.second[:-1], self.second[1:]
        b = (y1 - y0) / h - h * (2 * m0 + m1) / 6
        dm = (m1 - m0) / h
        ends = np.maximum(np.abs(b), np.abs(b + m0 * h + dm * h**2 / 2))
        # q_s is a quadratic in t: its extremum lies where q_ss = m0 + dm t = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            tv = np.where(np.abs(dm) > 1e-12, -m0 / dm, -1.0)
        inside = (tv > 0) & (tv < h)
        tv = np.where(inside, tv, 0.0)
        vertex = np.where(inside, np.abs(b + m0 * tv + dm * tv**2 / 2), 0.0)
        return np.maximum(ends, vertex), np.maximum(np.abs(m0), np.abs(m1)), np.abs(dm)


def _curve(points: np.ndarray) -> _Curve:
    """Straight line (two waypoints) or C2 natural cubic spline through the waypoints."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    points = points[np.concatenate([[True], seg > 1e-9])]
    knots = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    n = len(knots)
    second = np.zeros_like(points)
    if n > 2:  # tridiagonal system for the second derivatives; natural ends (q_ss = 0)
        h = np.diff(knots)
        slope = np.diff(points, axis=0) / h[:, None]
        a = np.zeros((n - 2, n - 2))
        idx = np.arange(n - 2)
        a[idx, idx] = 2 * (h[:-1] + h[1:])
        a[idx[1:], idx[:-1]] = h[1:-1]
        a[idx[:-1], idx[1:]] = h[1:-1]
        second[1:-1] = np.linalg.solve(a, 6 * np.diff(slope, axis=0))
    return _Curve(knots, points, second)


def _interval_caps(p: np.ndarray, q2: np.ndarray, vmax: np.ndarray, amax: np.ndarray) -> np.ndarray:
    """Per interval, the speed s' above which some joint exceeds its velocity limit, or its
    acceleration limit through curvature alone."""
    with np.errstate(divide="ignore"):
        by_v = np.where(p > 1e-12, vmax / np.maximum(p, 1e-12), np.inf)
        by_a = np.where(q2 > 1e-12, np.sqrt(amax / np.maximum(q2, 1e-12)), np.inf)
    return np.min(np.minimum(by_v, by_a), axis=1)


def _section_bounds(p, q2, q3, vmax, amax, jmax, s1: np.ndarray) -> np.ndarray | None:
    """Bounds (S1, S2, S3) on the speed, acceleration and jerk of s, one row per section, that keep
    every joint within its limits given each section's derivative maxima (rows of p, q2, q3);
    None when some section has nothing left for S2 or S3."""
    eps = 1e-12
    s1 = s1[:, None]
    room_a = amax - q2 * s1**2
    if not np.all(np.isfinite(s1)) or np.any(s1 <= 0) or np.any(room_a <= MIN_ROOM * amax):
        return None
    s2 = np.min(np.where(p > eps, room_a / np.maximum(p, eps), np.inf), axis=1, keepdims=True)
    for _ in range(30):  # give S3 room where the curvature terms take the whole jerk budget
        short = np.any(jmax - 3 * q2 * s1 * s2 - q3 * s1**3 <= MIN_ROOM * jmax, axis=1, keepdims=True)
        if not np.any(short):
            break
        s2 = np.where(short, 0.5 * s2, s2)
    room_j = jmax - 3 * q2 * s1 * s2 - q3 * s1**3
    if np.any(room_j <= MIN_ROOM * jmax):
        return None
    s3 = np.min(np.where(p > eps, room_j / np.maximum(p, eps), np.inf), axis=1, keepdims=True)
    out = np.hstack([s1, s2, s3])
    return out if np.all(np.isfinite(out)) else None


def _travel(v0: float, v1: float, a: float, j: float) -> float:
    """Distance a jerk-limited change of speed v0 -> v1 takes, at zero acceleration at both ends."""
    dv = abs(v1 - v0)
    duration = dv / a + a / j if dv >= a * a / j else 2.0 * np.sqrt(dv / j)
    return 0.5 * (v0 + v1) * duration


def _reach(v0: float, length: float, a: float, j: float, cap: float) -> float:
    """Highest speed <= cap that can be reached from v0 within ``length`` (cap itself when v0 >= cap)."""
    if v0 >= cap or _travel(v0, cap, a, j) <= length:
        return cap
    lo, hi = v0, cap
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _travel(v0, mid, a, j) <= length else (lo, mid)
    return lo


def _progress(length: float, bounds: tuple[float, float, float], v0: float = 0.0, v1: float = 0.0):
    """Ruckig's time-optimal trajectory of one scalar from (0, v0, 0) to (length, v1, 0)."""
    rk = _ruckig()
    inp = rk.InputParameter(1)
    inp.current_position, inp.target_position = [0.0], [float(length)]
    inp.current_velocity, inp.target_velocity = [float(v0)], [float(v1)]
    inp.current_acceleration, inp.target_acceleration = [0.0], [0.0]
    inp.max_velocity, inp.max_acceleration, inp.max_jerk = [bounds[0]], [bounds[1]], [bounds[2]]
    traj = rk.Trajectory(1)
    result = rk.Ruckig(1).calculate(inp, traj)
    if result not in (rk.Result.Working, rk.Result.Finished):
        raise ValueError(f"ruckig could not time a path section ({result}; length {length:.4g} rad)")
    ext = traj.position_extrema[0]
    if ext.min < -1e-9 or ext.max > length + 1e-9:  # s must neither run back nor overshoot the section
        raise ValueError(f"ruckig's profile leaves a path section ({ext.min:.3g}..{ext.max:.3g} of {length:.4g} rad)")
    return traj


def _plan_progress(curve: _Curve, vmax, amax, jmax, fraction: float, split: bool):
    """[(s at the section's start, Ruckig trajectory of s)] through the curve, whole or cut at every
    waypoint (``split``) into sections that meet at speeds both neighbours can reach; None when
    ``fraction`` (of each section's speed cap) leaves no room."""
    p, q2, q3 = curve.derivative_bounds()
    if not split:
        p, q2, q3 = p.max(axis=0, keepdims=True), q2.max(axis=0, keepdims=True), q3.max(axis=0, keepdims=True)
    bounds = _section_bounds(p, q2, q3, vmax, amax, jmax, fraction * _interval_caps(p, q2, vmax, amax))
    if bounds is None:
        return None
    starts = curve.knots[:-1] if split else curve.knots[:1]
    lengths = np.diff(curve.knots) if split else np.array([curve.length])
    n = len(lengths)
    speed = np.zeros(n + 1)  # s' where sections meet, at zero s''; at rest at both ends
    for k in range(n - 1):   # forward: as fast as each section can accelerate to
        cap = min(bounds[k, 0], bounds[k + 1, 0])
        speed[k + 1] = _reach(speed[k], lengths[k], bounds[k, 1], bounds[k, 2], cap) * JOIN_SPEED_MARGIN
    for k in range(n - 1, 0, -1):  # backward: no faster than each section can brake from
        speed[k] = min(speed[k], _reach(speed[k + 1], lengths[k], bounds[k, 1], bounds[k, 2], speed[k])
                       * JOIN_SPEED_MARGIN)
    try:
        return [(float(starts[k]), _progress(float(lengths[k]), tuple(bounds[k]), speed[k], speed[k + 1]))
                for k in range(n)]
    except (ValueError, _ruckig().RuckigError):
        return None  # this option cannot be timed; another one will


def _phase_times(traj) -> np.ndarray:
    """Start and end of every phase of a one-DoF Ruckig trajectory, s."""
    prof = traj.profiles[0][0]
    t = np.concatenate([[0.0], np.cumsum(prof.t)]) + prof.brake.duration
    return np.unique(np.concatenate([[0.0], t, [traj.duration]]))


def _sample_times(traj, dt_s: float) -> np.ndarray:
    ts = np.concatenate([_phase_times(traj), np.arange(0.0, traj.duration, dt_s)])
    ts = np.unique(np.clip(ts, 0.0, traj.duration))
    ts = ts[np.concatenate([[True], np.diff(ts) > MIN_SAMPLE_GAP_S])]
    ts[-1] = traj.duration  # the last sample is the end, even when merged with a near one
    return ts


def _time_piece(points: np.ndarray, vmax, amax, jmax):
    """(t, q, qd, qdd) of one piece, from rest to rest; None when the piece has no length."""
    curve = _curve(points)
    if len(curve.knots) < 2 or curve.length < 1e-9:
        return None
    if not curve.straight:
        jmax = jmax * CURVE_JERK_MARGIN
    best, best_s = None, np.inf
    options = [(1.0, False)] if curve.straight else [(f, split) for f in _SPEED_FRACTIONS for split in (False, True)]
    for fraction, split in options:
        plan = _plan_progress(curve, vmax, amax, jmax, fraction, split)
        if plan is not None and sum(traj.duration for _, traj in plan) < best_s:
            best, best_s = plan, sum(traj.duration for _, traj in plan)
    if best is None:
        raise ValueError("path piece too curved to time within the joint limits")
    dt = LINE_SAMPLE_DT_S if curve.straight else CURVE_SAMPLE_DT_S
    ts, states, t0 = [np.zeros(1)], [np.zeros((1, 3))], 0.0
    for s0, traj in best:
        t = _sample_times(traj, dt)[1:]
        st = np.array([[x[0] for x in traj.at_time(float(tk))] for tk in t])  # s, s', s''
        st[:, 0] += s0
        ts.append(t + t0)
        states.append(st)
        t0 += traj.duration
    times, state = np.concatenate(ts), np.vstack(states)
    s, sd, sdd = state[:, 0], state[:, 1], state[:, 2]
    s[-1], sd[-1], sdd[-1] = curve.length, 0.0, 0.0
    q, qs, qss = curve.evaluate(s)
    q[-1] = curve.points[-1]
    return times, q, qs * sd[:, None], qs * sdd[:, None] + qss * (sd**2)[:, None]


def jerk_limited_trajectory(path: np.ndarray, joint_names: tuple[str, ...], vmax: np.ndarray, amax: np.ndarray,
                            jmax: np.ndarray, *, corner_tol_rad: float = 0.01) -> JointTrajectory:
    """Jerk-limited trajectory along a joint path, at rest at both ends and at its corners.

    Args:
        path: (M, J) waypoints, rad; the trajectory passes through every one of them.
        joint_names: names of the J joints.
        vmax: (J,) velocity limits, rad/s (already scaled).
        amax: (J,) acceleration limits, rad/s^2.
        jmax: (J,) jerk limits, rad/s^3.
        corner_tol_rad: direction change above which the arm stops at a waypoint; between stops the
            waypoints are joined by a cubic spline (it departs from the straight segments by about
            segment length x turn / 8, so keep this small for sparse paths).

    Returns:
        JointTrajectory with positions, velocities and accelerations, starting at t = 0.

    Raises:
        ImportError: when Ruckig is not installed.
        ValueError: on non-positive limits or a piece that cannot be timed.
    """
    path = np.asarray(path, dtype=float)
    limits = [np.asarray(x, dtype=float) for x in (vmax, amax, jmax)]
    if path.ndim != 2 or path.shape[1] != len(joint_names) or len(path) == 0:
        raise ValueError("path shape does not match the joint names")
    for x in limits:
        if x.shape != (path.shape[1],) or not np.all(np.isfinite(x)) or np.any(x <= 0):
            raise ValueError("joint limits must be positive and finite, one per joint")
    zeros = np.zeros((1, path.shape[1]))
    ts, qs, qds, qdds = [np.zeros(1)], [path[:1]], [zeros], [zeros]
    t0 = 0.0
    for piece in split_at_corners(path, corner_tol_rad):
        timed = _time_piece(piece, *limits)
        if timed is None:
            continue
        t, q, qd, qdd = timed
        ts.append(t[1:] + t0)
        qs.append(q[1:])
        qds.append(qd[1:])
        qdds.append(qdd[1:])
        t0 += t[-1]
    if len(ts) == 1:  # no motion: hold the start slightly in the future
        ts.append(np.array([0.05]))
        qs.append(path[:1])
        qds.append(zeros)
        qdds.append(zeros)
    qd_all, qdd_all = np.vstack(qds), np.vstack(qdds)
    return JointTrajectory(tuple(joint_names), np.concatenate(ts), np.vstack(qs), qd_all, qdd_all)


def measured_limit_ratios(traj: JointTrajectory, vmax: np.ndarray, amax: np.ndarray, jmax: np.ndarray,
                          dt_s: float = 1e-4) -> tuple[float, float, float]:
    """Largest |v|/vmax, |a|/amax, |j|/jmax of the interpolated trajectory (what the follower
    plays), by finite differences of velocities sampled every ``dt_s``."""
    ts = np.arange(0.0, traj.duration_s + dt_s, dt_s)
    _, v = traj.sample_many(ts)
    a = np.diff(v, axis=0) / dt_s
    j = np.diff(a, axis=0) / dt_s
    ratio = (lambda x, lim: float(np.max(np.abs(x) / lim)) if len(x) else 0.0)
    return ratio(v, vmax), ratio(a, amax), ratio(j, jmax)


def distance_to_polyline(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Joint-space distance (rad) of each of the points (N, J) to the polyline (M, J)."""
    q, path = np.asarray(points, dtype=float), np.asarray(polyline, dtype=float)
    dist = np.linalg.norm(q - path[0], axis=1)
    for a, b in pairwise(path):
        d = b - a
        u = np.clip((q - a) @ d / max(float(d @ d), 1e-18), 0.0, 1.0)
        dist = np.minimum(dist, np.linalg.norm(q - (a + u[:, None] * d), axis=1))
    return dist


def departures(positions: np.ndarray, path: np.ndarray, tol_rad: float) -> list[np.ndarray]:
    """Runs of consecutive trajectory positions (with one neighbour on each side) that lie farther
    than ``tol_rad`` from the polyline ``path``: the stretches a dense check of the polyline did not cover."""
    q = np.asarray(positions, dtype=float)
    off = distance_to_polyline(q, path) > tol_rad
    off = off | np.concatenate([off[1:], [False]]) | np.concatenate([[False], off[:-1]])
    idx = np.flatnonzero(off)
    if len(idx) == 0:
        return []
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    return [q[r] if len(r) > 1 else q[[r[0], r[0]]] for r in runs]
