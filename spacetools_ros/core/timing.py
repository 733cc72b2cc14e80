"""Time-optimal parameterisation of a geometric joint path under velocity/acceleration limits.

The path is split into C2 pieces (a joint-space polyline stops at its corners, where a
finite-acceleration trajectory must stop anyway; a dense Cartesian path is one smooth piece).
Each piece is parameterised by arc length s and the phase-plane problem in x = sdot^2 is solved
on a grid with a backward (max deceleration) and a forward (max acceleration) pass, which gives
the time-optimal profile up to the grid resolution.
"""

from __future__ import annotations

import numpy as np

from .trajectory import JointTrajectory


def _accel_bounds(a: np.ndarray, b: np.ndarray, x: float, amax: np.ndarray) -> tuple[float, float]:
    """Feasible path acceleration interval [L, U] at one grid point for x = sdot^2."""
    lo, hi = -np.inf, np.inf
    nz = np.abs(a) > 1e-12
    if np.any(nz):
        l1 = (-amax[nz] - b[nz] * x) / a[nz]
        u1 = (amax[nz] - b[nz] * x) / a[nz]
        lo = float(np.max(np.minimum(l1, u1)))
        hi = float(np.min(np.maximum(l1, u1)))
    return lo, hi


def _max_x(a: np.ndarray, b: np.ndarray, vmax: np.ndarray, amax: np.ndarray) -> np.ndarray:
    """Maximum-velocity curve: largest x per grid point satisfying velocity and acceleration limits."""
    n = a.shape[0]
    with np.errstate(divide="ignore"):
        xv = np.min(np.where(np.abs(a) > 1e-12, (vmax / np.maximum(np.abs(a), 1e-12)) ** 2, np.inf), axis=1)
    xv = np.minimum(xv, 1e6)
    # bisection (vectorised over the grid) for the largest x where some u satisfies every joint
    lo, hi = np.zeros(n), xv.copy()

    def feasible(x: np.ndarray) -> np.ndarray:
        nz = np.abs(a) > 1e-12
        safe_a = np.where(nz, a, 1.0)
        l1 = (-amax - b * x[:, None]) / safe_a
        u1 = (amax - b * x[:, None]) / safe_a
        lower = np.max(np.where(nz, np.minimum(l1, u1), -np.inf), axis=1)
        upper = np.min(np.where(nz, np.maximum(l1, u1), np.inf), axis=1)
        zero_ok = np.all(np.where(nz, True, np.abs(b * x[:, None]) <= amax), axis=1)
        return (lower <= upper) & zero_ok

    ok_top = feasible(hi)
    for _ in range(40):
        mid = (lo + hi) / 2
        f = feasible(mid)
        lo = np.where(f, mid, lo)
        hi = np.where(f, hi, mid)
    return np.where(ok_top, xv, lo)


def _topp_piece(q: np.ndarray, vmax: np.ndarray, amax: np.ndarray, step_rad: float):
    """Time-parameterise one smooth piece (waypoints q (M, J)); returns (t, q, qd, qdd)."""
    seg = np.linalg.norm(np.diff(q, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])
    q = q[keep]
    if len(q) < 2:
        return np.zeros(1), q[:1], np.zeros((1, q.shape[1])), np.zeros((1, q.shape[1]))
    s_wp = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(q, axis=0), axis=1))])
    length = s_wp[-1]
    n = max(8, int(np.ceil(length / step_rad)))
    s = np.linspace(0.0, length, n + 1)
    if len(q) == 2:  # straight line: exact derivatives
        d = (q[1] - q[0]) / length
        qs = q[0] + s[:, None] * d
        a = np.tile(d, (len(s), 1))
        b = np.zeros_like(a)
    else:  # cubic Hermite through the waypoints with finite-difference tangents
        tang = np.gradient(q, s_wp, axis=0)
        tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-12)
        idx = np.clip(np.searchsorted(s_wp, s, side="right") - 1, 0, len(s_wp) - 2)
        h = s_wp[idx + 1] - s_wp[idx]
        u = ((s - s_wp[idx]) / h)[:, None]
        p0, p1, m0, m1 = q[idx], q[idx + 1], tang[idx] * h[:, None], tang[idx + 1] * h[:, None]
        qs = (2 * u**3 - 3 * u**2 + 1) * p0 + (u**3 - 2 * u**2 + u) * m0 + (-2 * u**3 + 3 * u**2) * p1 + (u**3 - u**2) * m1
        a = np.gradient(qs, s, axis=0)
        b = np.gradient(a, s, axis=0)
    ds = np.diff(s)
    mvc = _max_x(a, b, vmax, amax)
    x = np.zeros(len(s))
    # backward pass: from rest at the end, decelerate as hard as allowed
    x[-1] = 0.0
    for i in range(len(s) - 2, -1, -1):
        nz = np.abs(a[i]) > 1e-12
        alpha = np.where(a[i] > 0, (-amax - 0 * b[i]) / np.where(nz, a[i], 1), (amax) / np.where(nz, a[i], 1))
        beta = -b[i] / np.where(nz, a[i], 1)
        # lower bound of u is max_j(alpha_j + beta_j x); need x + 2 ds (alpha_j + beta_j x) <= x_next
        coef = 1.0 + 2 * ds[i] * beta[nz]
        rhs = x[i + 1] - 2 * ds[i] * alpha[nz]
        cap = mvc[i]
        pos = coef > 1e-12
        if np.any(pos):
            cap = min(cap, float(np.min(rhs[pos] / coef[pos])))
        x[i] = max(cap, 0.0)
    # forward pass: from rest at the start, accelerate as hard as allowed
    x[0] = 0.0
    for i in range(len(s) - 1):
        _, hi = _accel_bounds(a[i], b[i], x[i], amax)
        x[i + 1] = min(x[i + 1], x[i] + 2 * ds[i] * hi) if np.isfinite(hi) else x[i + 1]
        x[i + 1] = max(x[i + 1], 0.0)
    sd = np.sqrt(x)
    dt = 2 * ds / np.maximum(sd[:-1] + sd[1:], 1e-12)
    t = np.concatenate([[0.0], np.cumsum(dt)])
    u_acc = np.concatenate([np.diff(x) / (2 * ds), [0.0]])
    qd = a * sd[:, None]
    qdd = a * u_acc[:, None] + b * x[:, None]
    return t, qs, qd, qdd


def split_at_corners(path: np.ndarray, angle_tol_rad: float = 0.05) -> list[np.ndarray]:
    """Split a waypoint path where its direction turns by more than ``angle_tol_rad``."""
    path = np.asarray(path, dtype=float)
    if len(path) <= 2:
        return [path]
    pieces, start = [], 0
    for i in range(1, len(path) - 1):
        d0, d1 = path[i] - path[i - 1], path[i + 1] - path[i]
        n0, n1 = np.linalg.norm(d0), np.linalg.norm(d1)
        if n0 < 1e-9 or n1 < 1e-9:
            continue
        if np.arccos(np.clip(d0 @ d1 / (n0 * n1), -1, 1)) > angle_tol_rad:
            pieces.append(path[start:i + 1])
            start = i
    pieces.append(path[start:])
    return pieces


def time_parameterize(path: np.ndarray, joint_names: tuple[str, ...], vmax: np.ndarray, amax: np.ndarray,
                      *, step_rad: float = 0.01, corner_tol_rad: float = 0.05) -> JointTrajectory:
    """Time-optimal trajectory along a joint path, at rest at both ends and at sharp corners.

    Args:
        path: (M, J) waypoints, rad.
        joint_names: names of the J joints.
        vmax: (J,) velocity limits, rad/s (already scaled by any speed factor).
        amax: (J,) acceleration limits, rad/s^2.
        step_rad: grid resolution along the path (joint-space arc length).
        corner_tol_rad: direction change above which the path stops at a waypoint.

    Returns:
        JointTrajectory with positions, velocities and accelerations.
    """
    vmax, amax = np.asarray(vmax, dtype=float), np.asarray(amax, dtype=float)
    traj = _parameterize(np.asarray(path, dtype=float), joint_names, vmax, amax, step_rad, corner_tol_rad)
    # the interpolated trajectory may overshoot at switching points: tighten and redo
    for _ in range(3):
        rv, ra = traj.max_limit_ratios(vmax, amax)
        if rv <= 1.0 + 1e-6 and ra <= 1.0 + 1e-6:
            break
        traj = _parameterize(np.asarray(path, dtype=float), joint_names, vmax / max(rv, 1.0) * 0.995,
                             amax / max(ra, 1.0) * 0.99, step_rad, corner_tol_rad)
    for _ in range(6):  # still over somewhere: slow the whole trajectory down uniformly (v / s, a / s^2),
        rv, ra = traj.max_limit_ratios(vmax, amax)  # measured as the arm's last check measures it
        stretch = max(rv, float(np.sqrt(ra)), 1.0)
        if stretch <= 1.0 + 1e-6:
            break
        s = stretch * 1.01  # sampled accelerations across short segments do not scale exactly: a margin
        traj = JointTrajectory(traj.joint_names, traj.times_s * s, traj.positions, traj.velocities / s,
                               None if traj.accelerations is None else traj.accelerations / s ** 2)
    return traj


def _parameterize(path, joint_names, vmax, amax, step_rad, corner_tol_rad) -> JointTrajectory:
    ts, qs, qds, qdds = [np.zeros(1)], [path[:1]], [np.zeros((1, path.shape[1]))], [np.zeros((1, path.shape[1]))]
    t0 = 0.0
    for piece in split_at_corners(path, corner_tol_rad):
        t, q, qd, qdd = _topp_piece(piece, vmax, amax, step_rad)
        if len(t) < 2:
            continue
        ts.append(t[1:] + t0)
        qs.append(q[1:])
        qds.append(qd[1:])
        qdds.append(qdd[1:])
        t0 += t[-1]
    times = np.concatenate(ts)
    if len(times) == 1:  # no motion: a single hold point slightly in the future
        times = np.array([0.0, 0.05])
        qs.append(path[:1])
        qds.append(np.zeros((1, path.shape[1])))
        qdds.append(np.zeros((1, path.shape[1])))
    return JointTrajectory(tuple(joint_names), times, np.vstack(qs), np.vstack(qds), np.vstack(qdds))
