"""Typed decoding of tool arguments: the forms the protocol allows, and nothing else.

A grasp pose may be a nested 4x4 list, a flat list of 16 numbers, the JSON text of either, a
``$variable`` (also as list elements); a normalised point ``[x, y]`` likewise. Values come back
typed and tagged with the image they were computed in (when the toolshed knows it), so the
safety envelope and the robot tools consume the same value. Whatever does not decode becomes a
``ToolCallError`` (the protocol's ``Error: ...`` text). Parsing is bounded and iterative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decode import DecodeError, loads, short
from .protocol import CALL_LIMITS, ToolCallError
from .variables import VariableStore

MAX_POINTS = 64
ROTATION_TOL = 1e-3


@dataclass(frozen=True)
class GraspPoseArg:
    """A grasp pose as the policy gave it.

    Attributes:
        matrix: 4x4 pose of the hand in the optical frame of the camera that took image
            ``image_index`` (OpenCV: x right, y down, z forward), metres.
        image_index: the image it was computed in; None when it was given as literal numbers
            (then it refers to the robot camera's latest image).
        source: ``$name`` of the variable it came from, or ``literal``.
    """

    matrix: np.ndarray
    image_index: int | None
    source: str


@dataclass(frozen=True)
class PointArg:
    """A normalised image point (x = column, y = row, both in [0, 1]).

    Attributes:
        image_index: the image it refers to; None = the robot camera's latest image.
    """

    x: float
    y: float
    image_index: int | None
    source: str


def _resolve(value: Any, variables: VariableStore, what: str) -> tuple[Any, int | None, str]:
    """Exactly ``$name`` -> (stored value, its image tag, name); JSON text -> decoded; else as is."""
    ref = variables.reference(value)
    if ref is not None:
        if ref not in variables:
            raise ToolCallError("TypeError", f"{what} refers to ${ref}, which is not defined "
                                             f"(defined: {short(', '.join('$' + n for n in variables.names()), 120)})")
        return variables.get(ref), variables.image_index(ref), f"${ref}"
    if isinstance(value, str):
        try:
            return loads(value, CALL_LIMITS), None, "literal"
        except DecodeError as exc:
            raise ToolCallError("TypeError", f"{what} must be an array or JSON text of one: {exc}") from None
    return value, None, "literal"


def _numbers(value: Any, variables: VariableStore, what: str) -> tuple[np.ndarray, int | None, str]:
    """A finite float array from lists (``$name`` elements resolved) or a stored array."""
    value, tag, source = _resolve(value, variables, what)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf" or value.size > CALL_LIMITS.max_items:
            raise ToolCallError("TypeError", f"{what} must be numeric, got an array of {value.dtype}")
        arr = value.astype(float)
    else:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ToolCallError("TypeError", f"{what} must be an array of numbers, got {short(value, 40)}")
        value = variables.resolve(value)
        stack, count = [value], 0
        while stack:  # every leaf a real number (no bools, no strings), without recursion
            v = stack.pop()
            count += 1
            if count > CALL_LIMITS.max_items:
                raise ToolCallError("ValueError", f"{what} has too many elements")
            if isinstance(v, (list, tuple)):
                stack.extend(v)
            elif isinstance(v, np.ndarray):
                if v.dtype.kind not in "iuf":
                    raise ToolCallError("TypeError", f"{what} must contain numbers only")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, int) and abs(v) > 2**53):
                raise ToolCallError("TypeError", f"{what} must contain numbers only, got {short(v, 40)}")
        try:
            arr = np.asarray(value, dtype=float)
        except (ValueError, TypeError):
            raise ToolCallError("ValueError", f"{what} is not a rectangular array of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ToolCallError("ValueError", f"{what} contains non-finite numbers")
    return arr, tag, source


def decode_grasp_pose(value: Any, variables: VariableStore) -> GraspPoseArg:
    """A rigid 4x4 transform from any allowed form.

    Raises:
        ToolCallError: not 4x4 / 16 numbers, non-finite, not a rotation, bottom row not [0 0 0 1].
    """
    arr, tag, source = _numbers(value, variables, "grasp_pose")
    if arr.size != 16 or arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape != (4, 4)):
        raise ToolCallError("ValueError", f"grasp_pose must be a 4x4 matrix (or 16 numbers), got shape {arr.shape}")
    m = arr.reshape(4, 4)
    r = m[:3, :3]
    if np.abs(m[3] - np.array([0.0, 0.0, 0.0, 1.0])).max() > 1e-6:
        raise ToolCallError("ValueError", "grasp_pose must be homogeneous (last row 0 0 0 1)")
    if abs(np.linalg.det(r) - 1.0) > ROTATION_TOL or np.abs(r.T @ r - np.eye(3)).max() > ROTATION_TOL:
        raise ToolCallError("ValueError", "grasp_pose rotation is not a proper rotation matrix")
    if np.abs(m[:3, 3]).max() > 100.0:
        raise ToolCallError("ValueError", "grasp_pose translation is not a plausible distance in metres")
    return GraspPoseArg(m.copy(), tag, source)


def decode_point_2d(value: Any, variables: VariableStore, what: str = "placement_point_2d") -> PointArg:
    """``[x, y]`` normalised, from a list, JSON text or a variable (a stored list of detections
    must hold exactly one point).

    Raises:
        ToolCallError: not two finite numbers in [0, 1].
    """
    arr, tag, source = _numbers(value, variables, what)
    if arr.shape == (1, 2):
        arr = arr[0]
    if arr.shape != (2,):
        raise ToolCallError("ValueError", f"{what} must be [x, y] (one point), got shape {arr.shape}")
    x, y = float(arr[0]), float(arr[1])
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ToolCallError("ValueError", f"{what} must be [x, y] with both in [0, 1], got [{x:.4g}, {y:.4g}]")
    return PointArg(x, y, tag, source)


def decode_points_2d(value: Any, variables: VariableStore, what: str = "points") -> list[tuple[float, float]]:
    """A non-empty list of at most ``MAX_POINTS`` normalised (x, y) points.

    Raises:
        ToolCallError: wrong shape, too many points, outside [0, 1].
    """
    arr, _tag, _src = _numbers(value, variables, what)
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 2 or not 1 <= len(arr) <= MAX_POINTS:
        raise ToolCallError("ValueError", f"{what} must be a list of 1..{MAX_POINTS} normalized (x, y) pairs, "
                                          f"got shape {arr.shape}")
    if np.any(arr < 0) or np.any(arr > 1):
        raise ToolCallError("ValueError", f"{what} must be normalized (x, y) pairs in [0, 1]")
    return [(float(x), float(y)) for x, y in arr]


def decode_focal_length(value: Any, variables: VariableStore) -> float:
    """A positive focal length in pixels: a number, numeric text or ``$focal_length_px``.

    Raises:
        ToolCallError: anything else.
    """
    ref = variables.reference(value)
    if ref is not None:
        value = variables.get(ref) if ref in variables else value
    if isinstance(value, str):
        try:
            value = loads(value.strip(), CALL_LIMITS)
        except DecodeError:
            raise ToolCallError("TypeError", "focal_length_px must be a number ($focal_length_px)") from None
    if isinstance(value, np.ndarray) and value.size == 1:
        value = float(value.reshape(()))
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ToolCallError("TypeError", f"focal_length_px must be a number, got {short(value, 40)}")
    f = float(value)
    if not (math.isfinite(f) and 0.0 < f < 1e6):
        raise ToolCallError("ValueError", "focal_length_px must be a positive number")
    return f


def decode_array(value: Any, variables: VariableStore, what: str, hint: str) -> np.ndarray:
    """A stored array (point cloud, mask, depth map) or a bounded literal list of numbers.

    Raises:
        ToolCallError: text that is not a ``$variable`` (the protocol's hint text), non-numeric data.
    """
    ref = variables.reference(value)
    if ref is not None and ref in variables:
        value = variables.get(ref)
    if isinstance(value, str):
        raise ToolCallError("TypeError", f"{what} must be {hint}, got str. Did you use the $ syntax to access the variable?")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ToolCallError("TypeError", f"{what} must be {hint}, got an array of {value.dtype}")
        return value
    if isinstance(value, (list, tuple)):
        arr, _tag, _src = _numbers(list(value), variables, what)
        return arr
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    raise ToolCallError("TypeError", f"{what} must be {hint}, got {type(value).__name__}")
