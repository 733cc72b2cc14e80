"""ArmBackend over an in-process MuJoCo simulation (the embedded default, no ROS needed)."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ...core.camera import CameraFrame
from ...core.errors import MotionFailure
from ...core.monitor import MonitorConfig, TrajectoryMonitor
from ...core.results import FailureReason
from ...core.trajectory import JointTrajectory
from ..sim.mujoco_sim import MujocoSim
from .base import ExecutionReport

Observer = Callable[[MujocoSim], None]


class SimArm:
    """Executes trajectories by stepping the simulation; optional real-time pacing.

    Args:
        sim: the simulation.
        monitor: execution monitoring limits.
        real_time_factor: 0 = as fast as possible, 1 = real time, 2 = twice real time.
    """

    def __init__(self, sim: MujocoSim, monitor: MonitorConfig | None = None, real_time_factor: float = 0.0) -> None:
        self.sim = sim
        self.joint_names = sim.robot.arm_joints
        self.monitor_config = monitor or MonitorConfig()
        self.real_time_factor = real_time_factor
        self.observers: list[list] = []  # [period_s, next_time_s, callback]
        self.command_listeners: list[Callable[[str, object], None]] = []
        self.cancel_requested = False
        self.perturbations: list[Callable[[MujocoSim, str], None]] = []

    def now_s(self) -> float:
        """Simulation time."""
        return self.sim.time_s

    def joint_positions(self) -> np.ndarray:
        """Measured joint positions."""
        return self.sim.arm_state().position

    def gripper_width(self) -> float:
        """Measured finger opening."""
        return self.sim.arm_state().gripper_width_m

    def _advance(self, n: int = 10) -> None:
        t_wall = time.perf_counter()
        self.sim.step(n)
        for entry in self.observers:
            if self.sim.time_s >= entry[1]:
                entry[1] = self.sim.time_s + entry[0]
                entry[2](self.sim)
        if self.real_time_factor > 0:
            lag = n * self.sim.timestep_s / self.real_time_factor - (time.perf_counter() - t_wall)
            if lag > 0:
                time.sleep(lag)

    def add_observer(self, callback: Observer, period_s: float) -> None:
        """Call ``callback(sim)`` every ``period_s`` of simulated time while the arm moves."""
        self.observers.append([period_s, 0.0, callback])

    def _notify(self, kind: str, payload: object) -> None:
        for cb in self.command_listeners:
            cb(kind, payload)

    def _perturb(self, event: str) -> None:
        for p in self.perturbations:
            p(self.sim, event)

    def execute(self, traj: JointTrajectory) -> ExecutionReport:
        """Run the trajectory in the simulation with monitoring."""
        t0 = self.sim.time_s
        self._perturb("trajectory_start")
        self._notify("trajectory", traj)
        self.sim.send_trajectory(traj)
        mon = TrajectoryMonitor(traj.reordered(self.joint_names), t0, self.monitor_config)
        while True:
            if self.cancel_requested:
                self.sim.stop_arm()
                raise MotionFailure(FailureReason.CANCELLED.value, "motion cancelled")
            self._advance()
            done, reason = mon.update(self.sim.time_s, self.joint_positions())
            if done:
                if reason is not None:
                    self.sim.stop_arm()
                    raise MotionFailure(reason, f"max tracking error {mon.max_error_rad:.3f} rad")
                return ExecutionReport(self.sim.time_s - t0, mon.max_error_rad)

    def set_gripper(self, width_m: float, settle_s: float = 0.6) -> float:
        """Command the fingers and wait until they stop moving."""
        self._perturb("gripper_closing" if width_m < self.gripper_width() else "gripper_opening")
        self._notify("gripper", width_m)
        self.sim.set_gripper(width_m)
        t_end = self.sim.time_s + 2.0
        t_min = self.sim.time_s + 0.15
        last = self.gripper_width()
        still_since = None
        while self.sim.time_s < t_end:
            self._advance()
            w = self.gripper_width()
            if abs(w - last) < 2e-5:
                still_since = still_since if still_since is not None else self.sim.time_s
                if self.sim.time_s >= t_min and self.sim.time_s - still_since > 0.1:
                    break
            else:
                still_since = None
            last = w
        # let contact forces build up
        t_hold = self.sim.time_s + min(settle_s, 0.2)
        while self.sim.time_s < t_hold:
            self._advance()
        return self.gripper_width()

    def stop(self) -> None:
        """Hold the current set-point."""
        self.sim.stop_arm()

    def capture(self) -> CameraFrame | None:
        """Render the scene camera."""
        return self.sim.render()

    def wait(self, duration_s: float) -> None:
        """Let the simulation run (arm holding) for a while."""
        t_end = self.sim.time_s + duration_s
        while self.sim.time_s < t_end:
            self._advance()
