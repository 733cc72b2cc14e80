"""Joint trajectories and their following with joint_trajectory_controller semantics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointTrajectory:
    """A timed joint-space trajectory.

    Attributes:
        joint_names: names of the joints, in column order.
        times_s: (N,) strictly increasing times from the start, seconds; times_s[0] >= 0.
        positions: (N, J) rad.
        velocities: (N, J) rad/s, or None (then linear interpolation is used).
        accelerations: (N, J) rad/s^2, or None.
    """

    joint_names: tuple[str, ...]
    times_s: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None = None
    accelerations: np.ndarray | None = None

    def __post_init__(self) -> None:
        t, q = np.asarray(self.times_s, dtype=float), np.asarray(self.positions, dtype=float)
        if q.ndim != 2 or q.shape[1] != len(self.joint_names) or t.shape != (q.shape[0],) or len(t) == 0:
            raise ValueError("trajectory shapes do not match its joint names")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
            raise ValueError("trajectory contains non-finite values")
        if t[0] < 0 or np.any(np.diff(t) <= 0):
            raise ValueError("trajectory times must be >= 0 and strictly increasing")
        for arr in (self.velocities, self.accelerations):
            if arr is not None and (np.shape(arr) != q.shape or not np.all(np.isfinite(arr))):
                raise ValueError("trajectory velocities/accelerations do not match positions")

    @property
    def duration_s(self) -> float:
        """Time of the last point."""
        return float(self.times_s[-1])

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity at time t (clamped to the trajectory's span).

        Cubic Hermite between points when velocities are given, else linear.
        """
        times = self.times_s
        q = self.positions
        if t <= times[0]:
            return q[0].copy(), np.zeros(q.shape[1]) if self.velocities is None else self.velocities[0].copy()
        if t >= times[-1]:
            return q[-1].copy(), np.zeros(q.shape[1])
        i = int(np.searchsorted(times, t, side="right") - 1)
        h = times[i + 1] - times[i]
        s = (t - times[i]) / h
        if self.velocities is None:
            return q[i] + s * (q[i + 1] - q[i]), (q[i + 1] - q[i]) / h
        v0, v1 = self.velocities[i], self.velocities[i + 1]
        h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
        pos = h00 * q[i] + h10 * h * v0 + h01 * q[i + 1] + h11 * h * v1
        d00, d10, d01, d11 = 6 * s**2 - 6 * s, 3 * s**2 - 4 * s + 1, -6 * s**2 + 6 * s, 3 * s**2 - 2 * s
        vel = (d00 * q[i] + d10 * h * v0 + d01 * q[i + 1] + d11 * h * v1) / h
        return pos, vel

    def sample_many(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised ``sample`` over an array of times; returns (positions, velocities)."""
        times, q = self.times_s, self.positions
        ts = np.clip(np.asarray(ts, dtype=float), times[0], times[-1])
        i = np.clip(np.searchsorted(times, ts, side="right") - 1, 0, len(times) - 2) if len(times) > 1 else None
        if i is None:
            return np.repeat(q[:1], len(ts), 0), np.zeros((len(ts), q.shape[1]))
        h = (times[i + 1] - times[i])[:, None]
        s = (ts[:, None] - times[i][:, None]) / h
        if self.velocities is None:
            return q[i] + s * (q[i + 1] - q[i]), (q[i + 1] - q[i]) / h
        v0, v1 = self.velocities[i], self.velocities[i + 1]
        pos = ((2 * s**3 - 3 * s**2 + 1) * q[i] + (s**3 - 2 * s**2 + s) * h * v0
               + (-2 * s**3 + 3 * s**2) * q[i + 1] + (s**3 - s**2) * h * v1)
        vel = ((6 * s**2 - 6 * s) * q[i] + (3 * s**2 - 4 * s + 1) * h * v0
               + (-6 * s**2 + 6 * s) * q[i + 1] + (3 * s**2 - 2 * s) * h * v1) / h
        return pos, vel

    def max_limit_ratios(self, vmax: np.ndarray, amax: np.ndarray, dt_s: float = 0.001) -> tuple[float, float]:
        """Largest |v|/vmax and |a|/amax of the interpolated trajectory, sampled every ``dt_s``."""
        ts = np.arange(0.0, self.duration_s + dt_s, dt_s)
        if len(ts) < 3:
            return 0.0, 0.0
        _, v = self.sample_many(ts)
        a = np.diff(v, axis=0) / dt_s
        return float(np.max(np.abs(v) / vmax)), float(np.max(np.abs(a) / amax))

    def reordered(self, names: tuple[str, ...]) -> "JointTrajectory":
        """The same trajectory with its columns in the order of ``names``.

        Raises:
            ValueError: when a name is missing or unknown.
        """
        if set(names) != set(self.joint_names) or len(names) != len(self.joint_names):
            raise ValueError(f"trajectory joints {list(self.joint_names)} do not match {list(names)}")
        idx = [self.joint_names.index(n) for n in names]
        pick = (lambda a: None if a is None else np.asarray(a)[:, idx])
        return JointTrajectory(tuple(names), np.asarray(self.times_s), np.asarray(self.positions)[:, idx],
                               pick(self.velocities), pick(self.accelerations))


class TrajectoryFollower:
    """Setpoint generator with ros2_control joint_trajectory_controller semantics.

    A new trajectory replaces the active one; its times count from its start stamp (0 = now);
    a first point in the future is reached by interpolating from the current setpoint; after
    the last point the final position is held.
    """

    def __init__(self, joint_names: tuple[str, ...], initial_q: np.ndarray) -> None:
        self.joint_names = tuple(joint_names)
        self._hold = np.asarray(initial_q, dtype=float).copy()
        self._traj: JointTrajectory | None = None
        self._start_s = 0.0

    def set_trajectory(self, traj: JointTrajectory, now_s: float, start_s: float | None = None) -> None:
        """Accept a trajectory (already validated) starting at ``start_s`` (default: now)."""
        traj = traj.reordered(self.joint_names)
        q_now, _ = self.setpoint(now_s)
        start = now_s if start_s is None or start_s <= 0 else start_s
        times, pos = np.asarray(traj.times_s), np.asarray(traj.positions)
        vel = traj.velocities
        if times[0] > 1e-9 or start > now_s:
            lead = start - now_s
            times = np.concatenate([[0.0], times + lead])
            pos = np.vstack([q_now, pos])
            vel = None if vel is None else np.vstack([np.zeros(len(q_now)), vel])
            start = now_s
        self._traj = JointTrajectory(self.joint_names, times, pos, vel)
        self._start_s = start

    def stop(self, now_s: float) -> None:
        """Hold the current setpoint (cancels the active trajectory)."""
        self._hold, _ = self.setpoint(now_s)
        self._traj = None

    def active(self, now_s: float) -> bool:
        """Whether a trajectory is still running at ``now_s``."""
        return self._traj is not None and now_s - self._start_s < self._traj.duration_s

    def setpoint(self, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Desired (position, velocity) at ``now_s``."""
        if self._traj is None:
            return self._hold.copy(), np.zeros_like(self._hold)
        return self._traj.sample(now_s - self._start_s)
