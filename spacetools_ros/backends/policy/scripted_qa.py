"""The offline spatial-question teacher: reads the templated questions of ``spacetools data gen`` and
answers them through the vision tools (pointing, segmentation, depth, boxes, grasps) in the tagged
transcript a VLM writes. Tool texts are read as text (number pairs by a regex), never evaluated.

What it decides, per question:
- pointing to an object / a free spot: the pointing tool's point for the expression;
- relative depth: the sensor depth at each object's detected point (smaller = closer);
- yes/no: in/on from the container's 3D box footprint; left/right/in front of/behind in the camera's
  view from the objects' boxes (image columns, and rows: lower in the image = in front). In the robot's
  view it asks the pointing tool (which reads side words in the frame the question states) for the
  named shape beside the anchor and says Yes when that is the object asked about;
- fit: footprint diameters from the 3D boxes against the dish's inner diameter;
- 3D box corners, grasps: the box and grasp tools' projected points;
- multi view: the other images that show the object, the one with the most segmented points.
Anything else is answered ``unknown``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Generator

import numpy as np

from ...core.shapes import BOWL_WALL_THICKNESS_M
from .scripted import ScriptDriver, _answer

_PAIR = re.compile(r"[(\[]\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*,\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*[)\]]")
_TRIPLE = re.compile(r"\[\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*,\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*,\s*"
                     r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*\]")
_DETECTED = re.compile(r"Detected (\d+) instance\(s\) of '.*?': (\[.*\])")
_BBOX = re.compile(r"computed from (\d+)/\d+ points\.Corners in 3D: (\[.*?\]\])\n"
                   r"Corners in normalized image coordinates: (\[.*?\]\])\n.*?Extent: \[([^\]]{0,80})\]", re.S)
_GRASP = re.compile(r"Projected 2D gripper points: (\[.*\])")
_VALUE = re.compile(r"^Pixel value at \([^)]*\) is (-?\d+(?:\.\d+)?(?:e-?\d+)?)$")
_PHRASE = r"(the [a-z]+ [a-z]+)"
_FRAME_CAMERA = "from the camera's view"
_FRAME_ROBOT = "from the robot's view"
_SIDES = {"to the left of": "left", "to the right of": "right", "in front of": "front", "behind": "behind"}
_NOUN_PLURAL = {"block": "blocks", "can": "cans", "ball": "balls", "bowl": "bowls", "plate": "plates"}
ROUND_NOUNS = ("can", "ball", "bowl", "plate")
SAME_POINT = 0.02  # normalized image distance within which two detections are the same object

QUESTIONS = {
    "free_space": re.compile(r"^Point to a free spot on the table (?P<rel>.+?)\. (?:Left, right|Answer)"),
    "pointing": re.compile(r"^Point to (?P<expr>.+?)\. (?:Left, right|Answer with the point)"),
    "yes_no": re.compile(rf"Is {_PHRASE} (?P<rel>to the left of|to the right of|in front of|behind|in|on) "
                         rf"{_PHRASE}\? Answer Yes or No\.$"),
    "fit": re.compile(rf"^Can {_PHRASE} fit in {_PHRASE}\? Answer Yes or No\.$"),
    "depth": re.compile(r"^Which is closer to the camera: \(A\) (?P<a>.+?) or \(B\) (?P<b>.+?)\? Answer with A or B\.$"),
    "box": re.compile(r"^Give the 8 corners of the 3D bounding box of (?P<obj>.+?) in the image\."),
    "grasp": re.compile(r"^Grasp (?P<obj>.+?) from above with a parallel-jaw gripper\."),
    "multi": re.compile(r"^The images come from the cameras (?P<cams>.+?), in this order\. (?P<obj>.+?) is hidden, "
                        r"or nearly, in the (?P<first>\S+) camera's image\."),
}

Script = Generator[str, list[str], None]


def _floats(text: str, pattern: re.Pattern = _PAIR) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in m) for m in pattern.findall(text)]


def _call(calls: list[tuple[str, dict]], thought: str) -> str:
    blocks = "\n".join(f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls)
    return f"<think>{thought}</think>\n{blocks}"


def _unknown(why: str) -> str:
    return _answer("unknown", why)


def _fmt(points) -> str:
    return "[" + ", ".join(f"({x:.3f}, {y:.3f})" for x, y in points) + "]"


def _detected(resp: str) -> list[tuple[float, float]]:
    m = _DETECTED.search(resp)
    return [(p[0], p[1]) for p in _floats(m.group(2))] if m else []


class _Box:
    """A compute_bbox answer: masked points, corners (3D camera frame, normalized 2D), extent."""

    def __init__(self, resp: str) -> None:
        m = _BBOX.search(resp)
        if m is None:
            raise ValueError("no box")
        self.points = int(m.group(1))
        self.c3 = np.array(_floats(m.group(2), _TRIPLE), float)
        self.c2 = np.array(_floats(m.group(3)), float)
        self.extent = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(4))]
        if self.c3.shape != (8, 3) or self.c2.shape != (8, 2) or len(self.extent) != 3:
            raise ValueError("malformed box")

    @property
    def centre_2d(self) -> np.ndarray:
        return self.c2.mean(axis=0)

    def footprint_m(self, round_shape: bool) -> float:
        """Diameter of the circle around the footprint (round things: their width)."""
        a, b = self.extent[0], self.extent[1]
        return max(a, b) if round_shape else math.hypot(a, b)

    def holds_above_footprint(self, p: np.ndarray) -> bool:
        """Whether a 3D point lies over this box's bottom face (bottom then top face corners)."""
        o, e1, e2, up = self.c3[0], self.c3[1] - self.c3[0], self.c3[3] - self.c3[0], self.c3[4] - self.c3[0]
        d = p - o
        s, t = d @ e1 / max(e1 @ e1, 1e-12), d @ e2 / max(e2 @ e2, 1e-12)
        return 0.0 <= s <= 1.0 and 0.0 <= t <= 1.0 and d @ up >= 0.0


class ScriptedQAPolicy(ScriptDriver):
    """Deterministic tool-using teacher for the spatial questions of ``spacetools data gen``; its
    script is sent every tool response of the last turn (several calls a turn)."""

    name = "scripted_qa"

    def _finished(self) -> str:
        return _unknown("The question has already been answered.")

    # ------------------------------------------------------------------ dispatch
    def _script(self, q: str) -> Script:
        q = " ".join(q.split())
        for kind, pattern in QUESTIONS.items():
            m = pattern.search(q)
            if m is not None:
                yield from getattr(self, f"_{kind}")(m, q)
                return
        yield _unknown("This is not a question I know how to answer with the tools.")

    # ------------------------------------------------------------------ steps
    def _detect(self, phrases: list[str], img: int = 0) -> Generator[str, list[str], list[list]]:
        resp = yield _call([("roborefer.detect_one", {"obj_name": p, "image_index": img}) for p in phrases],
                           f"I need to locate {' and '.join(phrases)}.")
        return [_detected(r) for r in resp] + [[] for _ in range(len(phrases) - len(resp))]

    def _boxes(self, points: list[tuple[float, float]], img: int = 0) -> Generator[str, list[str], list]:
        """Depth with a point cloud, then per point: segment and its 3D box (one turn, in order)."""
        calls: list[tuple[str, dict]] = [("depth_estimator.estimate_depth_with_pointcloud", {"image_index": img})]
        for x, y in points:
            calls += [("sam2.segment_from_point", {"x": x, "y": y, "image_index": img}),
                      ("bounding_box.compute_bbox", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                     "focal_length_px": "$focal_length_px"})]
        resp = yield _call(calls, "I segment each object and measure its 3D box from the point cloud.")
        boxes = []
        for i in range(len(points)):
            try:
                boxes.append(_Box(resp[2 + 2 * i]))
            except (ValueError, IndexError):
                boxes.append(None)
        return boxes

    # ------------------------------------------------------------------ categories
    def _pointing(self, m: re.Match, q: str) -> Script:
        (pts,) = yield from self._detect([m.group("expr")])
        yield _answer(_fmt(pts[:1]), "The pointing tool found it.") if pts else _unknown("Nothing matched.")

    def _free_space(self, m: re.Match, q: str) -> Script:
        (pts,) = yield from self._detect([f"a free spot {m.group('rel')}"])
        yield _answer(_fmt(pts[:1]), "The pointing tool found a free spot.") if pts else _unknown("No free spot found.")

    def _depth(self, m: re.Match, q: str) -> Script:
        a, b = yield from self._detect([m.group("a"), m.group("b")])
        if not a or not b:
            yield _unknown("I could not find both objects.")
            return
        resp = yield _call([("depth_estimator.estimate_depth", {"image_index": 0})]
                           + [("vision_ops.index_at", {"data": "$depth_map", "u": p[0][0], "v": p[0][1]}) for p in (a, b)],
                           "I read the depth at each object's point.")
        vals = [_VALUE.match(r.strip()) for r in resp[1:3]]
        if len(vals) != 2 or not all(vals):
            yield _unknown("The depth lookup failed.")
            return
        da, db = (float(v.group(1)) for v in vals)
        yield _answer("A" if da < db else "B", f"Depth A {da:.3f} m, B {db:.3f} m.")

    def _yes_no(self, m: re.Match, q: str) -> Script:
        obj, rel, anchor = m.group(1), m.group("rel"), m.group(3)
        frame = "robot" if _FRAME_ROBOT in q else "camera" if _FRAME_CAMERA in q else None
        if frame == "robot" and rel in _SIDES:
            yield from self._robot_side(obj, rel, anchor)
            return
        pts = yield from self._detect([obj, anchor])
        if not all(pts):
            yield _unknown("I could not find both objects.")
            return
        bo, ba = yield from self._boxes([p[0] for p in pts])
        if bo is None or ba is None:
            yield _unknown("I could not measure both objects.")
            return
        if rel in ("in", "on"):
            yes = ba.holds_above_footprint(bo.c3.mean(axis=0))
            yield _answer("Yes" if yes else "No", f"The object's centre is {'' if yes else 'not '}over the support.")
            return
        du, dv = bo.centre_2d - ba.centre_2d
        side = ("right" if du > 0 else "left") if abs(du) >= abs(dv) else ("front" if dv > 0 else "behind")
        yes = _SIDES[rel] == side
        yield _answer("Yes" if yes else "No", f"In the image the object is {side} of the anchor.")

    def _robot_side(self, obj: str, rel: str, anchor: str) -> Script:
        noun = obj.split()[-1]
        own, beside = yield from self._detect([obj, f"the {noun} {rel} {anchor}"])
        if not own:
            yield _unknown("I could not find the object.")
            return
        yes = bool(beside) and math.dist(own[0], beside[0]) <= SAME_POINT
        yield _answer("Yes" if yes else "No", f"The {noun} {rel} {anchor} is {'' if yes else 'not '}{obj}.")

    def _fit(self, m: re.Match, q: str) -> Script:
        obj, dish = m.group(1), m.group(2)
        pts = yield from self._detect([obj, dish])
        if not all(pts):
            yield _unknown("I could not find both objects.")
            return
        bo, bd = yield from self._boxes([p[0] for p in pts])
        if bo is None or bd is None:
            yield _unknown("I could not measure both objects.")
            return
        need = bo.footprint_m(obj.split()[-1] in ROUND_NOUNS)
        inner = bd.footprint_m(True) - 2 * BOWL_WALL_THICKNESS_M
        yield _answer("Yes" if inner > need else "No", f"It needs {need:.3f} m across; the dish offers {inner:.3f} m.")

    def _box(self, m: re.Match, q: str) -> Script:
        (pts,) = yield from self._detect([m.group("obj")])
        if not pts:
            yield _unknown("I could not find the object.")
            return
        (box,) = yield from self._boxes(pts[:1])
        yield _answer(_fmt(box.c2), "The box tool gave the corners.") if box is not None else _unknown("No box.")

    def _grasp(self, m: re.Match, q: str) -> Script:
        (pts,) = yield from self._detect([m.group("obj")])
        if not pts:
            yield _unknown("I could not find the object.")
            return
        x, y = pts[0]
        resp = yield _call([("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}),
                            ("sam2.segment_from_point", {"x": x, "y": y, "image_index": 0}),
                            ("grasp_generator.compute_grasp", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                               "focal_length_px": "$focal_length_px", "image_index": 0})],
                           "I segment the object and ask the grasp tool.")
        g = _GRASP.search(resp[2]) if len(resp) > 2 else None
        p = _floats(g.group(1)) if g else []
        if len(p) != 5:
            yield _unknown("The grasp tool found no grasp.")
            return
        labels = ("Grasp center", "Left finger base", "Right finger base", "Left finger tip", "Right finger tip")
        yield _answer(", ".join(f"{lab}: [{a:.3f}, {b:.3f}]" for lab, (a, b) in zip(labels, p)),
                      "The grasp tool's projected gripper points.")

    def _multi(self, m: re.Match, q: str) -> Script:
        cams = [c.strip() for c in re.split(r",| and ", m.group("cams")) if c.strip()]
        phrase = m.group("obj")[0].lower() + m.group("obj")[1:]
        others = [i for i, c in enumerate(cams) if c != m.group("first")]
        found = yield from self._detect_each(phrase, others)
        best, best_n = None, -1
        for i, pts in zip(others, found):
            if not pts:
                continue
            (box,) = yield from self._boxes(pts[:1], i)
            n = box.points if box is not None else 0
            if n > best_n:
                best, best_n = (i, pts[0]), n
        if best is None:
            yield _unknown("No other image shows it.")
            return
        yield _answer(f"camera: {cams[best[0]]}, point: {_fmt([best[1]])}", f"{cams[best[0]]} shows {best_n} points of it.")

    def _detect_each(self, phrase: str, images: list[int]) -> Generator[str, list[str], list[list]]:
        resp = yield _call([("roborefer.detect_one", {"obj_name": phrase, "image_index": i}) for i in images],
                           f"I look for {phrase} in the other images.")
        return [_detected(r) for r in resp] + [[] for _ in range(len(images) - len(resp))]
