"""Execution monitoring: tracking error and timeout of a running trajectory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .results import FailureReason
from .trajectory import JointTrajectory


@dataclass(frozen=True)
class MonitorConfig:
    """Limits of execution monitoring.

    Attributes:
        max_tracking_error_rad: largest allowed |q_desired - q_measured| on any joint.
        goal_tolerance_rad: largest final error for success.
        timeout_margin_s: time allowed past the trajectory's duration to settle.
    """

    max_tracking_error_rad: float = 0.08
    goal_tolerance_rad: float = 0.01
    timeout_margin_s: float = 1.5


class TrajectoryMonitor:
    """Watches measured joint positions against a trajectory started at ``start_s``.

    ``start_lag_s`` > 0 is for a controller reached over a network: the trajectory starts when it
    arrives, up to that much after ``start_s``, so the error is taken against the best-matching
    start in that window (a blocked arm still shows a growing error).
    """

    def __init__(self, traj: JointTrajectory, start_s: float, config: MonitorConfig | None = None,
                 start_lag_s: float = 0.0) -> None:
        self.traj = traj
        self.start_s = start_s
        self.config = config or MonitorConfig()
        self.start_lag_s = max(0.0, start_lag_s)
        self._lags = np.linspace(0.0, self.start_lag_s, 6) if self.start_lag_s > 0 else np.zeros(1)
        self.max_error_rad = 0.0

    def update(self, now_s: float, q_measured: np.ndarray) -> tuple[bool, str | None]:
        """Check one measurement.

        Returns:
            (done, failure reason or None). done with None = goal reached.
        """
        t = now_s - self.start_s
        err = min(float(np.max(np.abs(self.traj.sample(t - lag)[0] - q_measured))) for lag in self._lags)
        self.max_error_rad = max(self.max_error_rad, err)
        if err > self.config.max_tracking_error_rad:
            return True, FailureReason.TRACKING_ERROR.value
        if t >= self.traj.duration_s:
            final_err = float(np.max(np.abs(self.traj.positions[-1] - q_measured)))
            if final_err <= self.config.goal_tolerance_rad:
                return True, None
            if t > self.traj.duration_s + self.start_lag_s + self.config.timeout_margin_s:
                return True, FailureReason.TIMEOUT.value
        return False, None
