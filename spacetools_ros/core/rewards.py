"""Verifiable rewards for spatial tasks, each a float in [0, 1] (plain numpy, no ROS).

Sources: SpaceTools (arXiv 2512.04069, §4.3 and App. D) for answers, pointing, 2D boxes, pose
corners and grasps; 3D-R1 (arXiv 2507.23478) for the format, perception and semantic rewards.

Model output is outside data: text that does not parse, has the wrong shape, holds non-finite or
implausibly large numbers, or is longer than ``MAX_TEXT_CHARS`` scores 0 and never raises.
Parsing is bounded: a length check, a character whitelist, then the package's bounded JSON
decoder (nesting depth and element count capped); nothing is evaluated. Ground truth comes from
the caller: a malformed one raises ``ValueError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .grasping import GRASP_FRAME_TO_TCP_M
from .tools.decode import DecodeError, Limits, loads

MAX_TEXT_CHARS = 64 * 1024  # longer model output scores 0 unread
MAX_POINTS = 64              # points in one pointing answer
MAX_BOXES = 256              # boxes in one answer
MAX_ABS = 1e6                # larger coordinates are not plausible pixels or metres
ROTATION_TOL = 1e-3
NNDC_DECAY = 5.0             # SpaceTools' exponential NNDC: e^(-5 d)

_NUMERIC_LIMITS = Limits(max_chars=MAX_TEXT_CHARS, max_depth=3, max_items=4096, max_string_chars=64)
_NUMERIC_TEXT = re.compile(r"[0-9eE+\-.,\s\[\]()]*")
_POINTS_OBJECT = re.compile(r'\{\s*"points"\s*:\s*(.*)\}', re.S)
_PUNCT = re.compile(r"[^\w\s]+")
# a list of lists inside free text: "[[...], [...]]" (bounded repetitions, no nesting inside)
_BOX_LIST = re.compile(r"\[\s*\[[^\[\]]{0,512}\](?:\s*,\s*\[[^\[\]]{0,512}\]){0,255}\s*\]")

Embedder = Callable[[list[str]], np.ndarray]


# ----------------------------------------------------------------------------- parsing helpers

def _numeric_json(text: str) -> Any | None:
    """A JSON value made of numbers and lists only (``(``/``)`` read as ``[``/``]``), or None."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS or not _NUMERIC_TEXT.fullmatch(text):
        return None
    if text.count(",") >= _NUMERIC_LIMITS.max_items:  # too many elements: skip decoding them
        return None
    try:
        return loads(text.replace("(", "[").replace(")", "]"), _NUMERIC_LIMITS)
    except DecodeError:
        return None


def _finite_array(value: Any, max_size: int) -> np.ndarray | None:
    """``value`` (numeric text or array-like) as a finite float array with |v| <= MAX_ABS, or None."""
    if isinstance(value, str):
        value = _numeric_json(value.strip())
        if value is None:
            return None
    if isinstance(value, np.ndarray) and (value.size > max_size or value.dtype.kind not in "biuf"):
        return None
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.size == 0 or arr.size > max_size or not np.all(np.isfinite(arr)) or np.abs(arr).max() > MAX_ABS:
        return None
    return arr


def _rows(value: Any, cols: int, max_rows: int) -> np.ndarray | None:
    """An (N, cols) finite array with 1 <= N <= max_rows (one bare row is accepted), or None."""
    arr = _finite_array(value, cols * max_rows)
    if arr is None:
        return None
    if arr.shape == (cols,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != cols or not 1 <= len(arr) <= max_rows:
        return None
    return arr


def _truth_rows(value: Any, cols: int, what: str) -> np.ndarray:
    """Caller-given rows: like ``_rows`` but a failure raises ValueError."""
    arr = _rows(value, cols, 100_000)
    if arr is None:
        raise ValueError(f"{what} must be a non-empty finite array of shape (N, {cols})")
    return arr


def answer_text(text: str) -> str | None:
    """The stripped text between the first ``<answer>`` and the next ``</answer>``, or None."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return None
    i = text.find("<answer>")
    if i < 0:
        return None
    j = text.find("</answer>", i + 8)
    return None if j < 0 else text[i + 8:j].strip()


def _answer_or_all(text: str) -> str | None:
    """The ``<answer>`` content when the text has the tag, else the whole (stripped) text."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return None
    return answer_text(text) if "<answer>" in text else text.strip()


def parse_points(text: str) -> np.ndarray | None:
    """Normalised image points from a model answer, as an (N, 2) array of (x, y) in [0, 1].

    Accepted forms (optionally inside ``<answer>...</answer>``), as the pointing tools print them:
    ``[(x, y), ...]`` (Python repr of tuples), ``[[x, y], ...]``, ``{"points": [[x, y], ...]}``, and
    one bare ``(x, y)`` / ``[x, y]``. At most ``MAX_POINTS`` points. Returns None for anything else
    (other text around the list, a coordinate outside [0, 1], NaN/Infinity, too many points).
    """
    body = _answer_or_all(text)
    if not body:
        return None
    m = _POINTS_OBJECT.fullmatch(body)
    arr = _rows(m.group(1).strip() if m else body, 2, MAX_POINTS)
    if arr is None or np.any(arr < 0.0) or np.any(arr > 1.0):
        return None
    return arr


# ----------------------------------------------------------------------------- geometry helpers

def _cross(o: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull of 2D points (monotone chain), collinear points dropped."""
    pts = sorted(set(map(tuple, np.asarray(points, float).reshape(-1, 2).tolist())))
    if len(pts) < 3:
        return np.asarray(pts, float).reshape(-1, 2)
    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], float)


def polygon_area(poly: np.ndarray) -> float:
    """Signed shoelace area (positive for counter-clockwise vertices)."""
    p = np.asarray(poly, float).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: ``subject`` polygon clipped to the convex counter-clockwise ``clip``."""
    out = [np.asarray(p, float) for p in np.asarray(subject, float).reshape(-1, 2)]
    c = np.asarray(clip, float).reshape(-1, 2)
    for i in range(len(c)):
        if not out:
            break
        a, e = c[i], c[(i + 1) % len(c)] - c[i]
        src, out = out, []
        for j in range(len(src)):
            p, q = src[j - 1], src[j]
            sp = e[0] * (p[1] - a[1]) - e[1] * (p[0] - a[0])  # >= 0: left of (inside) the edge
            sq = e[0] * (q[1] - a[1]) - e[1] * (q[0] - a[0])
            if sq >= 0:
                if sp < 0:
                    out.append(p + (q - p) * (sp / (sp - sq)))
                out.append(q)
            elif sp >= 0:
                out.append(p + (q - p) * (sp / (sp - sq)))
    return np.asarray(out, float).reshape(-1, 2)


def _proper_hull(points: np.ndarray) -> np.ndarray | None:
    """The hull when it has positive area (relative to its extent), else None."""
    hull = convex_hull(points)
    if len(hull) < 3:
        return None
    extent = float(np.ptp(hull, axis=0).max())
    return hull if polygon_area(hull) > 1e-12 * extent * extent else None


def _interval_overlap(a: np.ndarray, b: np.ndarray, dims: int) -> np.ndarray:
    """Intersection volumes of every box of ``a`` (N, 2*dims) with every box of ``b`` (M, 2*dims)."""
    lo = np.maximum(a[:, None, :dims], b[None, :, :dims])
    hi = np.minimum(a[:, None, dims:], b[None, :, dims:])
    return np.prod(np.clip(hi - lo, 0.0, None), axis=2)


def _box_iou_matrix(a: np.ndarray, b: np.ndarray, dims: int) -> np.ndarray:
    """Axis-aligned IoU of every box of ``a`` with every box of ``b`` (boxes as mins then maxes)."""
    inter = _interval_overlap(a, b, dims)
    va = np.prod(a[:, dims:] - a[:, :dims], axis=1)
    vb = np.prod(b[:, dims:] - b[:, :dims], axis=1)
    union = va[:, None] + vb[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _valid_boxes(arr: np.ndarray | None, dims: int) -> bool:
    return arr is not None and bool(np.all(arr[:, dims:] >= arr[:, :dims]))


def _truth_boxes(value: Any, dims: int, what: str) -> np.ndarray:
    arr = _truth_rows(value, 2 * dims, what)
    if not np.all(arr[:, dims:] > arr[:, :dims]):
        raise ValueError(f"{what}: every box needs max > min on each axis")
    return arr


# ----------------------------------------------------------------------------- SpaceTools rewards

def normalise_answer(text: str) -> str:
    """Case-folded, punctuation replaced by spaces, whitespace collapsed."""
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def binary_answer(pred_text: str, truth: str, options: Mapping[str, str] | Sequence[str] | None = None) -> float:
    """Multiple-choice / yes-no correctness: 1.0 if the normalised answer equals the truth, else 0.0.

    Source: SpaceTools §4.3 (MC and yes/no rewards are binary). The answer is the ``<answer>``
    content when the text has that tag, else the whole text. Normalisation (``normalise_answer``):
    case, punctuation and whitespace are ignored, nothing else ("Yes." == "yes", "(A)" == "A." == "a",
    but "Yes, it is" != "yes"; no synonyms). With ``options`` (letters -> texts, or a list labelled
    A, B, C, ...), ``truth`` may be a label or an option text, and the prediction may be the label,
    the option text, or the label followed by the option text.

    Raises:
        ValueError: empty truth, or a truth that names none of the options.
    """
    t = normalise_answer(truth) if isinstance(truth, str) else ""
    if not t:
        raise ValueError("truth must be a non-empty answer")
    accepted = {t}
    if options is not None:
        opts = dict(options) if isinstance(options, Mapping) else {chr(65 + i): o for i, o in enumerate(options)}
        norm = {normalise_answer(k): normalise_answer(v) for k, v in opts.items()}
        label = t if t in norm else next((k for k, v in norm.items() if v == t), None)
        if label is None:
            raise ValueError("truth names none of the options")
        accepted = {label, norm[label], f"{label} {norm[label]}"}
    body = _answer_or_all(pred_text)
    return 1.0 if body is not None and normalise_answer(body) in accepted else 0.0


def _target_region(target: np.ndarray, image_size: tuple[int, int] | None
                   ) -> tuple[Callable[[float, float], bool], np.ndarray, tuple[int, int]]:
    """(hit test on normalised points, centroid (normalised x, y), (W, H)) of a mask or a polygon."""
    t = np.asarray(target)
    if t.dtype == bool:
        if t.ndim != 2 or not t.any():
            raise ValueError("target mask must be a non-empty boolean H x W array")
        h, w = t.shape
        if image_size is not None and tuple(image_size) != (w, h):
            raise ValueError(f"image_size {tuple(image_size)} does not match the mask's (W, H) = ({w}, {h})")
        rows, cols = np.nonzero(t)
        centroid = np.array([(cols.mean() + 0.5) / w, (rows.mean() + 0.5) / h])

        def hit(x: float, y: float) -> bool:
            return bool(t[min(int(y * h), h - 1), min(int(x * w), w - 1)])

        return hit, centroid, (w, h)
    if image_size is None or len(image_size) != 2 or min(image_size) < 1:
        raise ValueError("a polygon target needs image_size = (W, H)")
    poly = _truth_rows(t, 2, "target polygon")
    hull = _proper_hull(poly)
    if hull is None:
        raise ValueError("target polygon has no area")
    area = polygon_area(hull)
    nxt = np.roll(hull, -1, axis=0)
    cr = hull[:, 0] * nxt[:, 1] - nxt[:, 0] * hull[:, 1]
    centroid = ((hull + nxt) * cr[:, None]).sum(axis=0) / (6.0 * area)

    def hit_poly(x: float, y: float) -> bool:
        return all(_cross(hull[i], nxt[i], (x, y)) >= 0 for i in range(len(hull)))

    return hit_poly, centroid, (int(image_size[0]), int(image_size[1]))


def pointing(points: str | Any, target: np.ndarray, image_size: tuple[int, int] | None = None,
             nndc: str = "linear") -> float:
    """Pointing reward: mean over predicted points of max(hit, NNDC).

    Source: SpaceTools §4.3, R = max(R_B, R_NNDC). ``points``: answer text (``parse_points``) or an
    (N, 2) array of normalised (x = column, y = row) points in [0, 1]. ``target``: a boolean H x W
    mask, or an (K, 2) array of normalised ground-truth points whose convex hull is the region (as
    RoboSpatial scores it); ``image_size`` = (W, H), required for a polygon.

    hit = 1 if the point lies in the region: for a mask, pixel (col, row) = (min(int(x W), W-1),
    min(int(y H), H-1)) is set; for a polygon, the point is inside or on its hull.
    d = distance from the point to the region's centroid (mask: mean of pixel centres; polygon: area
    centroid of the hull).
    ``nndc="linear"``: NNDC = max(0, 1 - d / d_max), d and d_max = hypot(W, H) (the image diagonal)
    in pixels.  ``nndc="exp"`` (the paper's form): d in normalised units (sqrt(dx^2 + dy^2), dx, dy
    in [0, 1]) and NNDC = (e^(-5 d) - e^(-5 sqrt 2)) / (1 - e^(-5 sqrt 2)).
    Several points: the mean over points of max(hit, NNDC) (the pointing tasks take one point).

    Raises:
        ValueError: empty/malformed target, size mismatch, unknown ``nndc``.
    """
    if nndc not in ("linear", "exp"):
        raise ValueError(f"nndc must be 'linear' or 'exp', got {nndc!r}")
    hit, centroid, (w, h) = _target_region(target, image_size)
    pts = parse_points(points) if isinstance(points, str) else _rows(points, 2, MAX_POINTS)
    if pts is None or np.any(pts < 0.0) or np.any(pts > 1.0):
        return 0.0
    floor = math.exp(-NNDC_DECAY * math.sqrt(2.0))
    scores = []
    for x, y in pts:
        dx, dy = x - centroid[0], y - centroid[1]
        if nndc == "linear":
            near = max(0.0, 1.0 - math.hypot(dx * w, dy * h) / math.hypot(w, h))
        else:
            near = (math.exp(-NNDC_DECAY * math.hypot(dx, dy)) - floor) / (1.0 - floor)
        scores.append(max(1.0 if hit(float(x), float(y)) else 0.0, min(1.0, max(0.0, near))))
    return float(np.mean(scores))


def box2d_iou(pred_boxes: str | Any, truth_boxes: Any) -> float:
    """Mean IoU of 2D boxes (x1, y1, x2, y2): (1/M) sum_j max_i IoU(pred_i, truth_j).

    Source: SpaceTools' MIoU for 2D boxes. Averaged over the ground-truth boxes, each taking its
    best prediction (a missed object counts 0; extra predictions cost nothing). ``pred_boxes``:
    text (a JSON list of 4-number lists, tuples allowed) or an (N, 4) array; 0.0 with no
    prediction, a malformed one, or any box with x2 < x1 or y2 < y1.

    Raises:
        ValueError: truth boxes not (M, 4) finite with x2 > x1 and y2 > y1.
    """
    truth = _truth_boxes(truth_boxes, 2, "truth_boxes")
    pred = _rows(_answer_or_all(pred_boxes) if isinstance(pred_boxes, str) else pred_boxes, 4, MAX_BOXES)
    if not _valid_boxes(pred, 2):
        return 0.0
    return float(np.clip(_box_iou_matrix(pred, truth, 2).max(axis=0).mean(), 0.0, 1.0))


def pose_corners_iou(pred_corners_2d: str | Any, truth_corners_2d: Any) -> float:
    """IoU of the convex hulls of 8 predicted and 8 true projected box corners.

    Source: SpaceTools §4.3 (BOP-ASK pose): corner order is irrelevant; 0 unless the prediction has
    exactly 8 corners. IoU = area(H_p ∩ H_t) / (area(H_p) + area(H_t) - area(H_p ∩ H_t)), hulls by
    monotone chain, intersection by Sutherland-Hodgman clipping of the two convex polygons. Any
    common unit works (pixels or normalised coordinates): IoU is unchanged by axis scaling.
    ``pred_corners_2d``: text (``[(x, y), ...]`` or ``[[x, y], ...]``) or an (8, 2) array. A
    degenerate hull (no area) on either side scores 0.

    Raises:
        ValueError: truth not a finite (8, 2) array.
    """
    truth = _truth_rows(truth_corners_2d, 2, "truth_corners_2d")
    if truth.shape != (8, 2):
        raise ValueError(f"truth_corners_2d must be 8 x 2, got {truth.shape}")
    pred = _rows(_answer_or_all(pred_corners_2d) if isinstance(pred_corners_2d, str) else pred_corners_2d,
                 2, 8)
    if pred is None or pred.shape != (8, 2):
        return 0.0
    hp, ht = _proper_hull(pred), _proper_hull(truth)
    if hp is None or ht is None:
        return 0.0
    inter = abs(polygon_area(clip_convex(hp, ht)))
    union = polygon_area(hp) + polygon_area(ht) - inter
    return float(np.clip(inter / union, 0.0, 1.0)) if union > 0 else 0.0


def contacts_from_pose(pose: Any, width_m: float, tcp_depth_m: float = GRASP_FRAME_TO_TCP_M) -> np.ndarray:
    """The two fingertip contacts (2 x 3) of a parallel-jaw grasp pose.

    Convention of this package (``core.grasping``, ``backends.tools.grasp_sampler``): the 4x4 pose
    is the gripper base (hand) frame, x = the fingers' closing axis, z = approach, and the fingertip
    centre (TCP) lies ``tcp_depth_m`` along z (``GRASP_FRAME_TO_TCP_M``; pass 0 for a pose given
    at the TCP). Contacts = pose * (±width_m / 2, 0, tcp_depth_m).

    Raises:
        ValueError: not a finite rigid 4x4 transform, or a width that is not positive.
    """
    m = _finite_array(pose, 16)
    if m is None or m.size != 16 or not (isinstance(width_m, (int, float)) and math.isfinite(width_m) and width_m > 0):
        raise ValueError("a grasp needs a finite 4x4 pose and a positive width")
    m = m.reshape(4, 4)
    r = m[:3, :3]
    if (np.abs(m[3] - [0.0, 0.0, 0.0, 1.0]).max() > 1e-6 or abs(np.linalg.det(r) - 1.0) > ROTATION_TOL
            or np.abs(r.T @ r - np.eye(3)).max() > ROTATION_TOL):
        raise ValueError("grasp pose is not a rigid transform")
    local = np.array([[width_m / 2, 0.0, tcp_depth_m], [-width_m / 2, 0.0, tcp_depth_m]])
    return local @ r.T + m[:3, 3]


def _contacts(value: Any, width_m: float | None, tcp_depth_m: float) -> np.ndarray | None:
    """2 x 3 contacts from contacts or a 4x4 pose (needs ``width_m``); None when neither."""
    arr = _finite_array(_answer_or_all(value) if isinstance(value, str) else value, 16)
    if arr is None:
        return None
    if arr.shape == (2, 3):
        return arr
    if arr.size == 16 and arr.ndim in (1, 2) and width_m is not None:
        try:
            return contacts_from_pose(arr, width_m, tcp_depth_m)
        except ValueError:
            return None
    return None


def grasp_contact(pred_contacts: str | Any, truth_contacts: Any, scale_m: float, *,
                  width_m: float | None = None, tcp_depth_m: float = GRASP_FRAME_TO_TCP_M) -> float:
    """Normalised negative contact error: max(0, 1 - e / scale_m).

    e = min over the two orderings of the mean distance between matched fingertip contacts
    (a parallel-jaw grasp is symmetric under swapping its fingers):
    e = min((|p0-t0| + |p1-t1|) / 2, (|p0-t1| + |p1-t0|) / 2), contacts in metres.
    Source: SpaceTools' R_NNCE = 1 - min(δ_max, ē / d) / δ_max with d the gripper width and
    δ_max = 10, i.e. this reward with scale_m = 10 * width (here on the two 3D contacts).
    Each grasp is a 2 x 3 array of contacts or a 4x4 pose (with ``width_m``; see
    ``contacts_from_pose``); the prediction may also be JSON text of either. A malformed prediction,
    a non-rigid pose, or a pose without ``width_m`` scores 0.

    Raises:
        ValueError: ``scale_m`` not positive, or truth not usable as contacts.
    """
    try:
        scale = float(scale_m)
    except (TypeError, ValueError):
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError("scale_m must be a positive distance")
    truth = _contacts(truth_contacts, width_m, tcp_depth_m) if not isinstance(truth_contacts, str) else None
    if truth is None:
        raise ValueError("truth_contacts must be 2 x 3 contacts, or a rigid 4x4 pose with width_m")
    pred = _contacts(pred_contacts, width_m, tcp_depth_m)
    if pred is None:
        return 0.0
    d = np.linalg.norm
    err = min((d(pred[0] - truth[0]) + d(pred[1] - truth[1])) / 2, (d(pred[0] - truth[1]) + d(pred[1] - truth[0])) / 2)
    return float(max(0.0, 1.0 - err / scale))


# ----------------------------------------------------------------------------- 3D-R1 rewards

def _tagged(text: str) -> tuple[str, str] | None:
    """(think, answer) when each of the four tags occurs once, in the order
    <think> </think> <answer> </answer>; else None."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return None
    tags = ("<think>", "</think>", "<answer>", "</answer>")
    if any(text.count(t) != 1 for t in tags):
        return None
    a, b, c, d = (text.find(t) for t in tags)
    if not a < b < c < d:
        return None
    return text[a + 7:b].strip(), text[c + 8:d].strip()


def format_reward(text: str) -> float:
    """3D-R1 format reward: 0.5 for the tags, + 0.25 for a thought, + 0.25 for an answer.

    Source: 3D-R1 (arXiv 2507.23478). 0.0 unless ``<think>...</think>`` and ``<answer>...</answer>``
    are both present, each tag exactly once, in that order; then 0.5, plus 0.25 if the stripped
    think text is longer than 20 characters, plus 0.25 if the stripped answer text is longer than
    10 characters (maximum 1.0).
    """
    parts = _tagged(text)
    if parts is None:
        return 0.0
    think, answer = parts
    return 0.5 + (0.25 if len(think) > 20 else 0.0) + (0.25 if len(answer) > 10 else 0.0)


def perception_reward(pred_boxes_3d: str | Any, truth_boxes_3d: Any) -> float:
    """3D-R1 perception reward: (1/N) sum_i max_j IoU3D(pred_i, truth_j).

    Source: 3D-R1 (arXiv 2507.23478). Axis-aligned boxes (xmin, ymin, zmin, xmax, ymax, zmax);
    averaged over the predicted boxes. ``pred_boxes_3d``: text (a JSON list of 6-number lists) or
    an (N, 6) array; 0.0 with no prediction, a malformed one, or any box with max < min.

    Raises:
        ValueError: truth boxes not (M, 6) finite with positive extent on every axis.
    """
    truth = _truth_boxes(truth_boxes_3d, 3, "truth_boxes_3d")
    pred = _rows(_answer_or_all(pred_boxes_3d) if isinstance(pred_boxes_3d, str) else pred_boxes_3d, 6, MAX_BOXES)
    if not _valid_boxes(pred, 3):
        return 0.0
    return float(np.clip(_box_iou_matrix(pred, truth, 3).max(axis=1).mean(), 0.0, 1.0))


def semantic_reward(pred_answer: str, ref_answer: str, embed: Embedder) -> float:
    """3D-R1 semantic reward: clip(cos(e(pred), e(ref)), 0, 1).

    Source: 3D-R1 (arXiv 2507.23478), which embeds with CLIP ViT-B/32's text encoder; ``embed`` is
    injected: a callable ``list[str] -> (len, D) array`` (``backends.text_embedding.minilm_embedder()`` is this package's
    offline stand-in). Vectors are re-normalised before the dot product. An empty or over-long
    prediction, or a zero/non-finite prediction vector, scores 0.

    Raises:
        ValueError: empty reference, or an embedder returning the wrong shape.
    """
    if not isinstance(ref_answer, str) or not ref_answer.strip():
        raise ValueError("ref_answer must be non-empty text")
    if not isinstance(pred_answer, str) or not pred_answer.strip() or len(pred_answer) > MAX_TEXT_CHARS:
        return 0.0
    vecs = np.asarray(embed([pred_answer.strip(), ref_answer.strip()]), dtype=float)
    if vecs.ndim != 2 or vecs.shape[0] != 2:
        raise ValueError(f"embedder returned shape {vecs.shape}, expected (2, D)")
    if not np.all(np.isfinite(vecs)):
        return 0.0
    n = np.linalg.norm(vecs, axis=1)
    if n.min() <= 0:
        return 0.0
    return float(np.clip(np.dot(vecs[0], vecs[1]) / (n[0] * n[1]), 0.0, 1.0))


@dataclass(frozen=True)
class RewardBreakdown:
    """The parts of the 3D-R1 reward and their weighted total."""

    format: float
    perception: float
    semantic: float
    total: float


def split_boxes(answer: str) -> tuple[np.ndarray | None, str]:
    """(boxes, remaining text) of a 3D-R1 answer.

    Box syntax: the first list of lists in the answer, ``[[xmin, ymin, zmin, xmax, ymax, zmax], ...]``
    (JSON numbers, or tuples); the boxes are None when there is none or it is not N x 6 valid boxes.
    The remaining text is the answer with that list removed, whitespace collapsed.
    """
    m = _BOX_LIST.search(answer) if len(answer) <= MAX_TEXT_CHARS else None
    if m is None:
        return None, " ".join(answer.split())
    boxes = _rows(m.group(0), 6, MAX_BOXES)
    rest = " ".join((answer[:m.start()] + " " + answer[m.end():]).split())
    return (boxes if _valid_boxes(boxes, 3) else None), rest


def r1_breakdown(text: str, truth_boxes_3d: Any, ref_answer: str, embed: Embedder) -> RewardBreakdown:
    """3D-R1 reward parts: total = 0.3 * format + 0.4 * perception + 0.3 * semantic.

    The ``<answer>`` content (first ``<answer>`` to the next ``</answer>``) is split by
    ``split_boxes``: its boxes feed ``perception_reward`` and the rest of its text feeds
    ``semantic_reward`` against ``ref_answer``. No answer: perception and semantic are 0.

    Raises:
        ValueError: malformed truth boxes or reference (see the parts).
    """
    truth = _truth_boxes(truth_boxes_3d, 3, "truth_boxes_3d")
    if not isinstance(ref_answer, str) or not ref_answer.strip():
        raise ValueError("ref_answer must be non-empty text")
    fmt = format_reward(text)
    answer = answer_text(text)
    perception = semantic = 0.0
    if answer:
        boxes, rest = split_boxes(answer)
        perception = perception_reward(boxes, truth) if boxes is not None else 0.0
        semantic = semantic_reward(rest, ref_answer, embed)
    return RewardBreakdown(fmt, perception, semantic, 0.3 * fmt + 0.4 * perception + 0.3 * semantic)


def r1_total(text: str, truth_boxes_3d: Any, ref_answer: str, embed: Embedder) -> float:
    """3D-R1 total reward: 0.3 * format + 0.4 * perception + 0.3 * semantic (see ``r1_breakdown``)."""
    return r1_breakdown(text, truth_boxes_3d, ref_answer, embed).total


# ----------------------------------------------------------------------------- registry

REWARDS: dict[str, Callable[..., float]] = {
    "pointing_object": pointing,
    "pointing_free_space": pointing,
    "yes_no": binary_answer,
    "fit": binary_answer,
    "relative_depth": binary_answer,
    "multi_view": binary_answer,
    "box3d_corners": pose_corners_iou,
    "grasp": grasp_contact,
}

# a teacher trace is kept for training when its reward is strictly above this (SpaceTools
# Toolshed's trace filter: > 0.5 for yes/no and pointing, > 0.3 for boxes; grasp has no published
# value and uses 0.5)
KEEP_THRESHOLDS: dict[str, float] = {
    "pointing_object": 0.5,
    "pointing_free_space": 0.5,
    "yes_no": 0.5,
    "fit": 0.5,
    "relative_depth": 0.5,
    "multi_view": 0.5,
    "box3d_corners": 0.3,
    "grasp": 0.5,
}


def keep_trace(category: str, reward: float) -> bool:
    """Whether a teacher trace of ``category`` with ``reward`` is kept (reward > threshold).

    Raises:
        KeyError: unknown category.
    """
    return reward > KEEP_THRESHOLDS[category]
