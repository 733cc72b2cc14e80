"""What the agent found and did, as marker descriptions in the robot's base frame (ROS-free).

One tool call gives at most a few markers, each in a namespace per kind:

- ``detections`` / ``labels``: a pointing tool's points (the depth of the image they were found in
  lifts them to 3D) and the description that was asked for;
- ``mask_boxes``: the base-frame box around a segmentation mask's 3D points;
- ``bboxes``: a 3D bounding box tool's edges;
- ``grasps`` / ``grippers``: a grasp pose as an arrow along the approach into the TCP, and the open
  gripper's outline around it;
- ``places``: where a place put (or tried to put) the object's bottom.

Marker ids are ``call_index * IDS_PER_CALL + k``: describing the same call again (once its image is
known) replaces its markers instead of adding more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .camera import CameraFrame, backproject, ray_point_base
from .grasping import FINGER_BELOW_TCP_M, grasp_tcp_in_base
from .safety import PLACE_TOOL

SHAPES = ("sphere", "cube", "arrow", "line_list", "text")
NAMESPACES = ("detections", "labels", "mask_boxes", "bboxes", "grasps", "grippers", "places")
IDS_PER_CALL = 32
MAX_POINTS = IDS_PER_CALL  # detections drawn per call
MAX_LABEL_CHARS = 60
MASK_PERCENTILES = (2.0, 98.0)  # a mask's box ignores the outermost points (edge pixels, depth noise)
MIN_MASK_POINTS = 10
# the 3D box tool's corner order: 0-3 one face, 4-7 the opposite one, i and i+4 joined
BOX_EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7))
APPROACH_M = 0.12      # the grasp arrow's length: the last straight stretch into the TCP
GRIPPER_OPEN_M = 0.08  # outline drawn fully open
FINGER_LENGTH_M = 0.05
DETECTION_DIAMETER_M = 0.02
PLACE_DIAMETER_M = 0.03
LABEL_HEIGHT_M = 0.025
LABEL_LIFT_M = 0.04

RGBA = tuple[float, float, float, float]
COLORS: dict[str, RGBA] = {
    "detections": (1.0, 0.85, 0.1, 1.0), "labels": (1.0, 1.0, 1.0, 1.0), "mask_boxes": (0.1, 0.8, 1.0, 0.35),
    "bboxes": (0.1, 0.8, 1.0, 1.0), "grasps": (0.1, 0.9, 0.2, 1.0), "grippers": (0.1, 0.9, 0.2, 0.8),
    "places": (0.9, 0.2, 0.9, 0.9), "failed": (0.95, 0.15, 0.1, 0.9)}

Vec3 = tuple[float, float, float]
FrameOf = Callable[[int], CameraFrame | None]


@dataclass(frozen=True)
class MarkerSpec:
    """One marker, in the base frame.

    Attributes:
        ns: namespace (one of ``NAMESPACES``): what kind of thing it shows.
        id: unique within ``ns`` for one command.
        shape: one of ``SHAPES``.
        position_m: centre of a sphere, cube or text; the origin for arrows and line lists (0).
        orientation_xyzw: rotation of a cube (identity: axis-aligned in the base frame).
        scale: sphere/cube: size along x, y, z (m); arrow: shaft diameter, head diameter, head
            length; line list: line width (x); text: letter height (z).
        rgba: colour and opacity, 0..1.
        points_m: arrow: (start, tip); line list: pairs of segment end points.
        text: a text marker's words.
    """

    ns: str
    id: int
    shape: str
    scale: Vec3
    rgba: RGBA
    position_m: Vec3 = (0.0, 0.0, 0.0)
    orientation_xyzw: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    points_m: tuple[Vec3, ...] = ()
    text: str = ""


def _vec(p) -> Vec3:
    return (float(p[0]), float(p[1]), float(p[2]))


def _finite(a: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(a)))


def _image_index(arguments: Mapping[str, Any] | None, data: Mapping[str, Any]) -> int | None:
    """The image a call worked on: the response's own index, else the call's argument."""
    for source in (data, arguments or {}):
        value = source.get("image_index")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _frame(frame_of: FrameOf, index: int | None) -> CameraFrame | None:
    if index is None:
        return None
    try:
        return frame_of(index)
    except (IndexError, KeyError):
        return None


def _label(arguments: Mapping[str, Any] | None, name: str) -> str:
    text = (arguments or {}).get("obj_name")
    text = text if isinstance(text, str) and text.strip() else name.split(".")[-1]
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 3] + "..."


def detection_markers(base_id: int, points_norm: Sequence, frame: CameraFrame, label: str) -> list[MarkerSpec]:
    """A sphere and a label per detected point (normalized image coordinates in ``frame``)."""
    out: list[MarkerSpec] = []
    d = DETECTION_DIAMETER_M
    for k, p in enumerate(list(points_norm)[:MAX_POINTS]):
        if not (isinstance(p, (list, tuple)) and len(p) == 2):
            continue
        x, y = float(p[0]), float(p[1])
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            continue
        pt = ray_point_base(frame, x, y)
        if not _finite(pt):
            continue
        out.append(MarkerSpec("detections", base_id + k, "sphere", (d, d, d), COLORS["detections"], _vec(pt)))
        out.append(MarkerSpec("labels", base_id + k, "text", (0.0, 0.0, LABEL_HEIGHT_M), COLORS["labels"],
                              _vec(pt + np.array([0.0, 0.0, LABEL_LIFT_M])), text=label))
    return out


def mask_box_marker(base_id: int, mask: np.ndarray, frame: CameraFrame) -> MarkerSpec | None:
    """The base-frame axis-aligned box around the mask's 3D points (robust percentiles), or None
    when the frame has no depth, the mask does not match the image, or too few points are valid."""
    m = np.asarray(mask)
    if frame.depth_m is None or m.ndim != 2 or m.shape != frame.depth_m.shape:
        return None
    m = m.astype(bool)
    pts = backproject(frame.depth_m, frame.intrinsics)[m]
    pts = pts[np.all(np.isfinite(pts), axis=1) & (pts[:, 2] > 0)]
    if len(pts) < MIN_MASK_POINTS:
        return None
    t = np.asarray(frame.extrinsics, dtype=float)
    base = pts.astype(float) @ t[:3, :3].T + t[:3, 3]
    lo, hi = np.percentile(base, MASK_PERCENTILES, axis=0)
    size = np.maximum(hi - lo, 0.005)
    return MarkerSpec("mask_boxes", base_id, "cube", _vec(size), COLORS["mask_boxes"], _vec((lo + hi) / 2))


def bbox_marker(base_id: int, corners_cam, extrinsics: np.ndarray) -> MarkerSpec | None:
    """The 12 edges of a 3D box tool's result (8 corners in the camera's optical frame)."""
    c = np.asarray(corners_cam, dtype=float)
    if c.shape != (8, 3) or not _finite(c):
        return None
    t = np.asarray(extrinsics, dtype=float)
    b = c @ t[:3, :3].T + t[:3, 3]
    pts = tuple(_vec(b[i]) for edge in BOX_EDGES for i in edge)
    return MarkerSpec("bboxes", base_id, "line_list", (0.004, 0.0, 0.0), COLORS["bboxes"], points_m=pts)


def grasp_markers(base_id: int, grasp_cam, extrinsics: np.ndarray) -> list[MarkerSpec]:
    """An arrow along the approach into the TCP and the open gripper's outline, for a 4x4 grasp
    pose in the camera's optical frame (the hand frame: x = finger axis, z = approach)."""
    g = np.asarray(grasp_cam, dtype=float)
    if g.shape != (4, 4) or not _finite(g):
        return []
    try:
        tcp = grasp_tcp_in_base(np.asarray(extrinsics, dtype=float), g)
    except ValueError:
        return []
    r, p = tcp.rotation, tcp.position
    x, z = r[:, 0], r[:, 2]
    arrow = MarkerSpec("grasps", base_id, "arrow", (0.008, 0.016, 0.025), COLORS["grasps"],
                       points_m=(_vec(p - APPROACH_M * z), _vec(p)))
    half, tip, back = GRIPPER_OPEN_M / 2, FINGER_BELOW_TCP_M, FINGER_BELOW_TCP_M - FINGER_LENGTH_M
    segs = [(-half, tip, -half, back), (half, tip, half, back), (-half, back, half, back), (0.0, back, 0.0, back - 0.04)]
    pts = tuple(_vec(p + a * x + b * z) for x0, z0, x1, z1 in segs for a, b in ((x0, z0), (x1, z1)))
    outline = MarkerSpec("grippers", base_id, "line_list", (0.003, 0.0, 0.0), COLORS["grippers"], points_m=pts)
    return [arrow, outline]


def place_marker(base_id: int, point_base, succeeded: bool | None) -> MarkerSpec | None:
    """A sphere where the object's bottom was to go (red when the place failed)."""
    p = np.asarray(point_base, dtype=float) if isinstance(point_base, (list, tuple)) else np.full(3, np.nan)
    if p.shape != (3,) or not _finite(p):
        return None
    d = PLACE_DIAMETER_M
    color = COLORS["failed"] if succeeded is False else COLORS["places"]
    return MarkerSpec("places", base_id, "sphere", (d, d, d), color, _vec(p))


def tool_markers(call_index: int, name: str, arguments: Mapping[str, Any] | None, data: Mapping[str, Any],
                 frame_of: FrameOf, *, mask: np.ndarray | None = None,
                 fallback_extrinsics: np.ndarray | None = None) -> list[MarkerSpec]:
    """The markers of one tool call (its response ``data``), or [] when it shows nothing in 3D or
    what it needs is not known yet.

    Args:
        call_index: the call's position in the episode (0-based): fixes the markers' ids.
        name: tool name.
        arguments: the call's arguments (None when not known: labels and image indices the
            response does not repeat are then missing).
        data: the response's structured data.
        frame_of: image index -> the frame (depth, intrinsics, extrinsics) or None when unknown.
        mask: a segmentation tool's mask (H x W) of that image.
        fallback_extrinsics: the camera pose used for camera-frame results whose image is unknown.
    """
    if not isinstance(data, Mapping) or call_index < 0:
        return []
    base_id = call_index * IDS_PER_CALL
    frame = _frame(frame_of, _image_index(arguments, data))
    extrinsics = frame.extrinsics if frame is not None else fallback_extrinsics
    try:
        if name.endswith((".detect_one", ".detect_all")) and frame is not None:
            points = data.get("points")
            return detection_markers(base_id, points, frame, _label(arguments, name)) if isinstance(points, list) else []
        if name.startswith("sam2.segment") and mask is not None and frame is not None:
            box = mask_box_marker(base_id, mask, frame)
            return [box] if box is not None else []
        if name == "bounding_box.compute_bbox" and extrinsics is not None:
            box = bbox_marker(base_id, data.get("corners_3d"), extrinsics)
            return [box] if box is not None else []
        if name == "grasp_generator.compute_grasp" and extrinsics is not None:
            return grasp_markers(base_id, data.get("grasp_pose"), extrinsics)
        if name == PLACE_TOOL:
            result = data.get("result")
            ok = result.get("success") if isinstance(result, Mapping) else None
            sphere = place_marker(base_id, data.get("point_base"), ok if isinstance(ok, bool) else None)
            return [sphere] if sphere is not None else []
    except (TypeError, ValueError):  # malformed data draws nothing; it never stops an episode
        return []
    return []


@dataclass
class ToolRecord:
    """One tool call as far as it is known: name, arguments (None until known), response data and,
    for segmentation, the mask."""

    name: str
    arguments: Mapping[str, Any] | None
    data: Mapping[str, Any]
    mask: np.ndarray | None = None


def with_arguments(records: Sequence[ToolRecord], tool_calls: Sequence[Mapping[str, Any]]) -> list[ToolRecord]:
    """``records`` (responses in call order) completed with the arguments of the outcome's
    ``tool_calls`` (``{"name", "arguments"}`` each), position by position while the names agree;
    records after the first disagreement keep what they had."""
    out = list(records)
    for i, (rec, call) in enumerate(zip(records, tool_calls)):
        if not isinstance(call, Mapping) or call.get("name") != rec.name:
            break
        args = call.get("arguments")
        out[i] = ToolRecord(rec.name, args if isinstance(args, Mapping) else rec.arguments, rec.data, rec.mask)
    return out


def episode_markers(records: Sequence[ToolRecord], frame_of: FrameOf,
                    fallback_extrinsics: np.ndarray | None = None) -> list[MarkerSpec]:
    """Every call's markers, in call order."""
    out: list[MarkerSpec] = []
    for i, rec in enumerate(records):
        out += tool_markers(i, rec.name, rec.arguments, rec.data, frame_of, mask=rec.mask,
                            fallback_extrinsics=fallback_extrinsics)
    return out


def is_finite_spec(spec: MarkerSpec) -> bool:
    """Whether every number of a spec is finite (what a viewer can draw)."""
    nums = [*spec.position_m, *spec.orientation_xyzw, *spec.scale, *spec.rgba, *(v for p in spec.points_m for v in p)]
    return all(math.isfinite(v) for v in nums)
