"""Health reports of the sim and the agent (ROS-free): a level, one line and a few key/values, as
diagnostic_msgs/DiagnosticStatus carries them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OK, WARN, ERROR, STALE = 0, 1, 2, 3  # diagnostic_msgs/DiagnosticStatus levels
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", STALE: "STALE"}
MIN_RTF_FRACTION = 0.8   # below this share of the requested real-time factor: WARN
MIN_RATE_FRACTION = 0.8  # camera frames per wall second below this share of the expected rate: WARN
MAX_VALUE_CHARS = 200
# failures that say something is broken (not that the world or the command was hard)
ERROR_REASONS = frozenset({"error", "internal_error", "robot_unavailable", "policy_error"})
# outcomes where the agent did what it should: refusing, asking back, being stopped
FINE_REASONS = frozenset({"invalid_command", "not_understood", "ambiguous", "not_found", "cancelled", "busy",
                          "shutdown"})


@dataclass(frozen=True)
class HealthReport:
    """One component's state.

    Attributes:
        level: ``OK`` | ``WARN`` | ``ERROR`` | ``STALE``.
        message: one line saying why.
        values: (key, value) pairs, values as short strings.
    """

    level: int
    message: str
    values: tuple[tuple[str, str], ...] = ()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


def _values(pairs: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _fmt(v)) for k, v in pairs.items())


def sim_health(*, running: bool, measured: bool, rtf: float, rtf_target: float, camera_hz: float,
               camera_hz_target: float, sim_time_s: float) -> HealthReport:
    """The simulation's state.

    Args:
        running: the physics thread is alive.
        measured: a full measuring period has passed (before that, rates are not judged).
        rtf: measured real-time factor (simulated seconds per wall second).
        rtf_target: the requested one (0 = as fast as possible: never judged).
        camera_hz: camera frames published per wall second.
        camera_hz_target: camera frames per simulated second (the ``camera_rate_hz`` parameter).
        sim_time_s: simulated time now.
    """
    # in wall time the camera can only be as fast as the simulation runs
    expected_hz = camera_hz_target * (rtf_target if rtf_target > 0 else rtf)
    values = _values({"real_time_factor": rtf, "real_time_factor_target": rtf_target, "camera_rate_hz": camera_hz,
                      "camera_rate_hz_expected": expected_hz, "sim_time_s": sim_time_s})
    if not running:
        return HealthReport(ERROR, "the simulation thread has stopped", values)
    if not measured:
        return HealthReport(OK, "starting", values)
    problems = []
    if rtf_target > 0 and rtf < MIN_RTF_FRACTION * rtf_target:
        problems.append(f"real-time factor {rtf:.2f} below the requested {rtf_target:g}")
    if expected_hz > 0 and camera_hz < MIN_RATE_FRACTION * expected_hz:
        problems.append(f"camera at {camera_hz:.1f} Hz, expected {expected_hz:.1f} Hz")
    if problems:
        return HealthReport(WARN, "; ".join(problems), values)
    return HealthReport(OK, "running", values)


def agent_health(*, alive: bool, busy: bool, command: str | None, last: Mapping[str, Any] | None, policy: str,
                 world: str, commands_run: int, commands_succeeded: int) -> HealthReport:
    """The agent's state.

    Args:
        alive: the worker that runs commands is alive.
        busy: a command runs now (``command``: which).
        last: the last finished command's result document (``success``, ``reason``, ``command``), if any.
        policy: the policy's name; world: where it acts.
        commands_run, commands_succeeded: counts since start.

    Levels: ERROR when the worker is gone or the last command failed because something is broken
    (``ERROR_REASONS``); WARN when it failed at the task (e.g. ``task_failed``, ``not_verified``,
    ``timeout``); OK otherwise, refusals and cancels included (the agent did what it should).
    """
    last = last or {}
    success, reason = last.get("success"), last.get("reason")
    values = _values({"state": "busy" if busy else "idle", "command": command or "", "policy": policy,
                      "world": world, "last_command": last.get("command") or "",
                      "last_success": "" if not last else bool(success), "last_reason": reason or "",
                      "commands_run": commands_run, "commands_succeeded": commands_succeeded})
    state = f"busy: {_fmt(command)}" if busy else "idle"
    if not alive:
        return HealthReport(ERROR, "the command worker has stopped", values)
    if not last or success is True:
        return HealthReport(OK, state if not last else f"{state}; the last command succeeded", values)
    if reason in ERROR_REASONS:
        return HealthReport(ERROR, f"{state}; the last command failed: {_fmt(reason)}", values)
    if reason in FINE_REASONS:
        return HealthReport(OK, f"{state}; the last command was not carried out: {_fmt(reason)}", values)
    return HealthReport(WARN, f"{state}; the last command failed: {_fmt(reason)}", values)
