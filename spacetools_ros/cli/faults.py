"""Execution faults injected into the embedded sim (for self-correction tests and the task suite):
the object is nudged as the fingers close, slips out on the lift, or the place spot gets blocked."""

from __future__ import annotations

import numpy as np

from ..backends.sim.mujoco_sim import MujocoSim

FAULTS = ("nudge", "slip", "block", "lose")


class FaultInjector:
    """Fires one fault, once, at the matching moment of the episode."""

    def __init__(self, kind: str, target: str, blocker: str | None = None, spot_xy=None) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r} ({', '.join(FAULTS)})")
        self.kind, self.target, self.blocker = kind, target, blocker
        self.spot_xy = None if spot_xy is None else np.asarray(spot_xy, dtype=float)
        self.fired = False
        self._closed = False
        self._carried = 0  # trajectories started with the object lifted

    def __call__(self, sim: MujocoSim, event: str) -> None:
        if self.fired:
            return
        pos = sim.object_poses()[self.target][0]
        if self.kind == "nudge" and event == "gripper_closing":
            # shove the object out from between the open fingers just before they close
            sim.set_object_pose(self.target, [pos[0] + 0.07, pos[1] + 0.07, pos[2]])
            self.fired = True
        elif self.kind == "slip":
            if event == "gripper_closing":
                self._closed = True
            elif event == "trajectory_start" and self._closed and pos[2] > 0.005:
                sim.step(50)  # a little into the lift
                p = sim.object_poses()[self.target][0]
                sim.set_object_pose(self.target, [p[0] + 0.06, p[1] + 0.08, 0.0005])  # clear of the fingers
                self.fired = True
        elif self.kind == "lose":  # carried off: it falls off the table, out of every camera's view
            if event == "gripper_closing":
                self._closed = True
            elif event == "trajectory_start" and self._closed and pos[2] > 0.05:
                # on the way to the place: the move home after the grasp is the first one lifted
                self._carried += 1
                if self._carried == 2:
                    sim.set_object_pose(self.target, [-0.6, 0.0, -0.70])
                    self.fired = True
        elif self.kind == "block" and event == "gripper_closing" and self.blocker and self.spot_xy is not None:
            sim.set_object_pose(self.blocker, [self.spot_xy[0], self.spot_xy[1], 0.0005])
            self.fired = True
