"""What a gripper command carries, ROS-free: the opening width (m) or one position per finger
joint (m; the Panda's fingers each move half the opening), as a forward command controller over the
finger joints expects. One encoder and one checked decoder per unit."""

from __future__ import annotations

import math
from typing import Sequence

UNITS = ("width", "finger_position")


def check_unit(unit: str) -> str:
    """``unit`` when it is one of ``UNITS``.

    Raises:
        ValueError: any other value.
    """
    if unit not in UNITS:
        raise ValueError(f"gripper_command_unit must be one of {', '.join(UNITS)}, got {str(unit)[:40]!r}")
    return unit


def encode(width_m: float, unit: str, fingers: int) -> list[float]:
    """The command values for an opening of ``width_m``: [width] or one half-width per finger."""
    if check_unit(unit) == "width":
        return [float(width_m)]
    return [float(width_m) / 2.0] * fingers


def decode(data: Sequence[float], unit: str, fingers: int, max_width_m: float) -> float:
    """The opening width a command asks for.

    Raises:
        ValueError: the wrong number of values, a non-finite one, fingers asked to different
            positions, or a width outside 0..``max_width_m``.
    """
    want = 1 if check_unit(unit) == "width" else fingers
    expected = "[width_m]" if unit == "width" else f"{fingers} finger positions (m)"
    if len(data) != want:  # counted before anything is converted
        raise ValueError(f"expected {expected}, got {len(data)} value(s)")
    values = [float(v) for v in data]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected {expected} as finite numbers")
    if unit == "finger_position" and max(values) - min(values) > 1e-6:
        raise ValueError("the fingers must be commanded to the same position")
    width = values[0] if unit == "width" else 2.0 * values[0]
    if not 0.0 <= width <= max_width_m + 1e-9:
        raise ValueError(f"an opening of {width:.4f} m is outside 0..{max_width_m} m")
    return width
