"""The motion layer's Protocols, defined in ``core.motion_api`` (with the primitives that call them)
and re-exported here for the backends that implement them."""

from __future__ import annotations

from ...core.motion_api import ArmBackend, ExecutionReport, MotionBackend, MotionFactory, MotionStep

__all__ = ["ArmBackend", "ExecutionReport", "MotionBackend", "MotionFactory", "MotionStep"]
