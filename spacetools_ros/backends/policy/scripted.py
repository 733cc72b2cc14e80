"""The offline default policy: a deterministic reasoner that parses the command and then acts
through the same tools and the same tagged transcript as the VLM, retrying after failures."""

from __future__ import annotations

import json
import re
from typing import Generator

import numpy as np

from ...core.commands import CommandError, parse_command
from ...core.conversation import Message
from ...core.language.relations import relation_words
from ..pointing.referring import ReferenceError, parse_reference

_PTS = re.compile(r"Detected (\d+) instance\(s\) of '.*?': (\[.*\])")
_C2D = re.compile(r"Corners in normalized image coordinates: (\[.*?\]\])")
_EXTENT = re.compile(r"Extent: \[([^\]]{0,80})\]")
_VIEW = re.compile(r"^Best view for '.*?': \S+ \(image_index (\d+)\)")
_RESPONSE = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.S)
SIDE_GAP = 0.03  # normalized image width between an anchor's edge and a small placed object's centre
FREE_RADIUS = 0.06  # normalized image distance an object's point must keep from a free spot
SAME_OBJECT_RADIUS = 0.1  # normalized image distance within which a retry takes an object for the one it tried
HAND_ROOM_CM = 4.0  # a free spot asked for after each place the hand could not reach is this much wider
ANCHOR_STILL_RADIUS = 0.03  # ... and a destination object not found again by its words, for the one found before
NEAR_DIRECTIONS = 8  # "next to": the sides of the anchor tried for the most room


_PAIR = re.compile(r"[(\[]\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*,\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*[)\]]")


def _pairs(text: str) -> list[tuple[float, float]]:
    """Every ``(x, y)`` / ``[x, y]`` number pair in a tool's text (read as text, never evaluated)."""
    return [(float(x), float(y)) for x, y in _PAIR.findall(text)]


def _points(text: str) -> list[tuple[float, float]]:
    m = _PTS.search(text)
    return _pairs(m.group(2)) if m else []


def _half_extent(resp: str) -> tuple[float, float] | None:
    """Half width and height (normalized image units) of a 3D box's projected corners in a
    compute_bbox response; None when the response has no eight corners."""
    m = _C2D.search(resp)
    pairs = _pairs(m.group(1)) if m else []
    if len(pairs) != 8:
        return None
    c = np.array(pairs)
    return float(np.ptp(c[:, 0]) / 2), float(np.ptp(c[:, 1]) / 2)


def _across_cm(resp: str) -> float | None:
    """The larger horizontal side (cm) of a compute_bbox response's extent, or None."""
    m = _EXTENT.search(resp)
    vals = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))] if m else []
    if len(vals) != 3 or not 0.005 <= max(vals[:2]) <= 0.4:
        return None
    return round(100 * max(vals[:2]), 1)


def _call(name: str, args: dict, thought: str) -> str:
    return f"<think>{thought}</think>\n<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


def _answer(text: str, thought: str) -> str:
    return f"<think>{thought}</think>\n<answer>{text}</answer>"


class ScriptDriver:
    """A policy whose turns come from a generator script (``_script(first user message)``): the
    first turn starts it, every later turn sends it what ``_feed`` makes of the latest tool
    responses, and a finished script answers ``_finished()``."""

    _gen: Generator | None = None
    _primed = False

    def start(self, command: str) -> None:
        """Begin a new episode (a command or a question)."""
        self._gen = self._script(command)
        self._primed = False

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """Advance the script with the latest tool responses."""
        if self._gen is None:
            self.start(next((m.content for m in messages if m.role == "user"), ""))
        last = messages[-1].content if messages and messages[-1].role == "user" else ""
        try:
            if not self._primed:
                self._primed = True
                return next(self._gen)
            return self._gen.send(self._feed(_RESPONSE.findall(last), last))
        except StopIteration:
            return self._finished()

    def _script(self, text: str) -> Generator:
        raise NotImplementedError

    def _feed(self, blocks: list[str], last: str):
        """What the script is sent: the tool responses of the last user turn (default: all of them)."""
        return blocks

    def _finished(self) -> str:
        return _answer("Stopped.", "The task has already ended.")


class ScriptedPolicy(ScriptDriver):
    """Deterministic, tool-using pick-and-place reasoner."""

    name = "scripted"

    def __init__(self, max_grasp_attempts: int = 3, max_place_attempts: int = 3) -> None:
        self.max_grasp_attempts = max_grasp_attempts
        self.max_place_attempts = max_place_attempts
        self._last_response = ""

    def _feed(self, blocks: list[str], last: str) -> str:
        return blocks[-1] if blocks else last  # one call a turn: its response

    def _new_episode(self) -> None:
        """What the script knows at the start of an episode, after its first image."""
        self.images = 1
        self.views_tried = 0
        self.fallback_pick = None
        self.pick_half = None  # the object's half extent in the image (normalized), once measured
        self.pick_across_cm = None  # ... and its width on the table
        self.failed_spots: list = []  # places the robot could not put the object (still held)
        self.grasps = 0
        self.places = 0
        self.last_pick = None  # (point, view) of the object the last grasp went for
        self.anchors_seen: dict = {}  # where each destination object was last found: (point, view)

    # ------------------------------------------------------------------ the script
    def _script(self, text: str) -> Generator[str, str, None]:
        try:
            cmd = parse_command(text)
            for ref in (cmd.pick, cmd.anchor, cmd.anchor2):
                if ref:
                    parse_reference(ref)
        except (CommandError, ReferenceError) as exc:
            yield _answer(f"I cannot do that: {exc}.", "The request is not a pick-and-place task I can ground.")
            return
        resp = yield _call("robot.capture_image", {}, "I need to see the scene first.")
        if "Captured image" not in resp:
            yield _answer("I cannot do that: no camera image.", "Capturing an image failed.")
            return
        self._new_episode()
        dest = None
        while True:
            outcome = yield from self._grasp(cmd, dest)
            if isinstance(outcome, str):  # finished (answered)
                return
            # the scene may have changed while grasping: find the destination again in the fresh image
            dest = yield from self._destination(cmd, self.images - 1, attempt=self.places)
            if dest is None:
                return
            result = yield from self._place(cmd, dest)
            if result == "done":
                return
            dest = None  # the object is back on the table: grasp it again, then re-plan the spot

    def _grasp(self, cmd, dest):
        """Find, segment and grasp the object; returns the destination, or "end" after answering."""
        while True:
            img = self.images - 1
            name = self.fallback_pick or cmd.pick
            if not self.fallback_pick:
                name = _pick_words(cmd)
            resp = yield _call("roborefer.detect_all", {"obj_name": name, "image_index": img},
                               f"Find every '{name}' in the latest image.")
            pts = _points(resp)
            if not pts and self.last_pick is not None and self.last_pick[1] == self.views_tried:
                # a can the failed grasp tipped over may read as another shape now: its colour where it stood
                near = yield from self._same_object(cmd, None, self.last_pick[0], img)
                pts = [near] if near is not None else []
            if not pts:
                other = yield from self._other_view(name)
                if other is not None:
                    continue  # the next round looks in the new view
                yield _answer(f"I cannot find the {cmd.pick}.", f"No '{cmd.pick}' is visible.")
                return "end"
            ref = parse_reference(cmd.pick)
            if len(pts) > 1 and not (ref.superlative or ref.relation or ref.ordinal is not None or ref.plural):
                yield _answer(f"I cannot do that: '{cmd.pick}' is ambiguous ({len(pts)} objects match).",
                              "Several objects match and nothing tells them apart.")
                return "end"
            pick = pts[0]
            if self.last_pick is not None and self.last_pick[1] == self.views_tried:
                pick = yield from self._same_object(cmd, pick, self.last_pick[0], img)
            self.last_pick = (pick, self.views_tried)
            if dest is None:
                dest = yield from self._destination(cmd, img, attempt=self.places)
                if dest is None:
                    return "end"
            yield _call("sam2.segment_from_point", {"x": pick[0], "y": pick[1], "image_index": img},
                        f"Segment the {cmd.pick}.")
            yield _call("depth_estimator.estimate_depth_with_pointcloud", {"image_index": img},
                        "I need the 3D points to plan a grasp.")
            if cmd.relation not in ("in", "on", "between") and self.pick_half is None:
                resp = yield _call("bounding_box.compute_bbox", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                                 "focal_length_px": "$focal_length_px"},
                                   f"How much room does the {cmd.pick} need where it goes?")
                self.pick_half = _half_extent(resp)
                self.pick_across_cm = _across_cm(resp)
            resp = yield _call("grasp_generator.compute_grasp",
                               {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                "focal_length_px": "$focal_length_px", "image_index": img},
                               "Generate a collision-free grasp on the mask.")
            self.grasps += 1
            if resp.startswith("Generated"):
                resp = yield _call("robot.execute_grasp", {"grasp_pose": "$grasp_pose"}, "Execute the grasp.")
                self.images += 0 if resp.startswith("Error") else 1  # the robot returns a fresh image after acting
                if "succeeded" in resp:
                    return dest
            if self.grasps >= self.max_grasp_attempts:
                yield _answer(f"I failed to grasp the {cmd.pick} after {self.grasps} attempts.", "Out of attempts.")
                return "end"
            # self-correction: look again at the fresh image and retry

    def _place(self, cmd, dest):
        """Place at dest, retrying; "done" after answering, "regrasp" when the object fell."""
        while True:
            resp = yield _call("robot.place_object_at_2d_location",
                               {"placement_point_2d": [round(dest[0], 4), round(dest[1], 4)]},
                               f"Place the {cmd.pick} {relation_words(cmd.relation)} the {cmd.anchor}.")
            self.images += 0 if resp.startswith("Error") else 1
            self.places += 1
            if "succeeded" in resp:
                where = f"{relation_words(cmd.relation)} the {cmd.anchor}{' and the ' + cmd.anchor2 if cmd.anchor2 else ''}"
                unchecked = re.search(r"\(cannot check: ([^)]*)\)", resp)
                if unchecked:  # released, but the look afterwards could not tell: say so, claim nothing
                    yield _answer(f"I put the {cmd.pick} {where}, but I could not confirm it: {unchecked.group(1)}.",
                                  "The object was released; the check could not see the result.")
                else:
                    yield _answer(f"Done: the {cmd.pick} is {where}.", "The object was released.")
                return "done"
            if self.places >= self.max_place_attempts:
                yield _answer(f"I failed to place the {cmd.pick} after {self.places} attempts.", "Out of attempts.")
                return "done"
            if "still in the gripper" in resp or resp.startswith("Error"):  # nothing was let go: another spot
                self.failed_spots.append(dest)
                alt = yield from self._destination(cmd, self.images - 1, attempt=self.places)
                if alt is None:
                    return "done"
                dest = alt
                continue
            # did it fall? an object still in the hand is above the camera's table view
            resp_place = resp
            resp = yield _call("roborefer.detect_all", {"obj_name": _pick_words(cmd), "image_index": self.images - 1},
                               f"Is the {cmd.pick} back on the table?")
            fallen = bool(_points(resp))
            ref = parse_reference(cmd.pick)
            colours = " ".join(sorted(ref.colors | ref.tints))
            if not fallen and colours:  # a fallen object may look like another shape now
                resp = yield _call("roborefer.detect_all", {"obj_name": f"{colours} object", "image_index": self.images - 1},
                                   f"Maybe it fell over: is anything {colours} on the table?")
                fallen = len(_points(resp)) == 1
                if fallen:
                    self.fallback_pick = f"{colours} object"
            if fallen:
                if self.grasps >= self.max_grasp_attempts:
                    yield _answer(f"The {cmd.pick} fell and I am out of grasp attempts.", "Out of attempts.")
                    return "done"
                return "regrasp"
            released = re.search(r"The object was released, but (.+)\.\s*$", resp_place)
            if released:  # let go where it was put, and not found again to pick up: say what the check saw
                yield _answer(f"I put the {cmd.pick} down, but {released.group(1)}, and I cannot find it again "
                              "to try once more.", "Released; the check refuted it; the object is not found again.")
                return "done"
            if "gripper is empty" in resp_place:  # it fell where the camera does not see it
                yield _answer(f"The {cmd.pick} slipped out of the gripper and I cannot see it on the table any more.",
                              "The hand is empty and the object is nowhere in view.")
                return "done"
            alt = yield from self._destination(cmd, self.images - 1, attempt=self.places)
            if alt is None:
                return "done"
            dest = alt

    def _same_object(self, cmd, found, last, img: int):
        """After a failed grasp, the object to try again is the one just tried: a can that tipped
        over or slid a little may no longer fit a relative description ("the can on the right"),
        which then names its twin, or none (``found`` None: a can lying down reads as a block).
        Something of the object's colour near where it stood is it."""
        if found is not None and np.hypot(found[0] - last[0], found[1] - last[1]) < SAME_OBJECT_RADIUS:
            return found
        near = yield from self._colour_near(cmd.pick, last, img, SAME_OBJECT_RADIUS,
                                            f"The {cmd.pick} I tried to grasp stood at {last[0]:.3f}, {last[1]:.3f}: "
                                            "is it still there?")
        return found if near is None else near

    def _colour_near(self, name: str, last, img: int, radius: float, why: str):
        """Something of ``name``'s colour within ``radius`` of the image point ``last`` (the nearest),
        or None (also when the words name no colour)."""
        ref = parse_reference(name)
        colours = " ".join(sorted(ref.colors | ref.tints))
        if not colours:
            return None
        resp = yield _call("roborefer.detect_all", {"obj_name": f"{colours} object", "image_index": img}, why)
        near = [p for p in _points(resp) if np.hypot(p[0] - last[0], p[1] - last[1]) < radius]
        return min(near, key=lambda p: np.hypot(p[0] - last[0], p[1] - last[1])) if near else None

    def _other_view(self, name: str):
        """Ask for the camera that shows ``name`` best; its image index (now the latest image), or None."""
        if self.views_tried >= 1:
            return None
        self.views_tried += 1
        resp = yield _call("view_selection.select_view", {"target": name},
                           f"The {name} is not visible from here: which camera shows it best?")
        m = _VIEW.search(resp)
        if m is None:
            return None
        self.images = int(m.group(1)) + 1
        return int(m.group(1))

    def _find(self, name: str, img: int):
        """The first point of ``name`` in an image, or None after answering that it is not there."""
        resp = yield _call("roborefer.detect_one", {"obj_name": name, "image_index": img}, f"Find the {name}.")
        pts = _points(resp)
        seen = self.anchors_seen.get(name)
        if not pts and seen is not None and seen[1] == self.views_tried:
            # found before in this view, and nothing moved it since: a brown block on a brown table,
            # its top read as table, became "a bowl" once the arm held the other block
            near = yield from self._colour_near(name, seen[0], img, ANCHOR_STILL_RADIUS,
                                                f"The {name} stood at {seen[0][0]:.3f}, {seen[0][1]:.3f}: is it still there?")
            pts = [] if near is None else [near]
        if pts:
            self.anchors_seen[name] = (pts[0], self.views_tried)
        if not pts:
            other = yield from self._other_view(name)
            if other is not None:
                resp = yield _call("roborefer.detect_one", {"obj_name": name, "image_index": other},
                                   f"Find the {name} in the new view.")
                pts = _points(resp)
        if not pts:
            yield _answer(f"I cannot find the {name}.", f"No '{name}' is visible.")
            return None
        return pts[0]

    def _free_spot(self, cmd, img: int):
        """Ask the pointer for room beside the anchor (the relation's words, the object's size);
        the point, or None when it finds none (or only spots that failed already)."""
        # after a spot the hand could not get down to (squeezed between a bowl and a can: the object
        # fitted, the hand did not), ask for more room: the next spot taken from the image alone
        # lay 31 cm from the bowl
        across = self.pick_across_cm + HAND_ROOM_CM * len(self.failed_spots) if self.pick_across_cm else None
        size = f" for an object {across:.1f} cm across" if across else ""
        where = f"{relation_words(cmd.relation)} the {cmd.anchor}"
        if cmd.relation == "between":
            where += f" and the {cmd.anchor2}"
        resp = yield _call("roborefer.detect_one", {"obj_name": f"a free spot {where}{size}", "image_index": img},
                           f"Where is there room {where}?")
        pts = [p for p in _points(resp) if all(np.hypot(p[0] - f[0], p[1] - f[1]) >= FREE_RADIUS for f in self.failed_spots)]
        return pts[0] if pts else None

    def _destination(self, cmd, img: int, attempt: int = 0):
        """Image point where the object goes (None after answering a refusal)."""
        a = yield from self._find(cmd.anchor, img)
        if a is None or cmd.relation in ("in", "on"):
            return a
        if cmd.relation == "between":
            b = yield from self._find(cmd.anchor2, img)
            if b is None:
                return None
            # the middle in the image is not the middle on the table when one stands farther away
            spot = yield from self._free_spot(cmd, img)
            return spot if spot is not None else ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        spot = yield from self._free_spot(cmd, img)
        if spot is not None:
            return spot
        # no free spot pointed out: a side of the anchor from its extent (a segmentation and a 3D box)
        yield _call("sam2.segment_from_point", {"x": a[0], "y": a[1], "image_index": img}, f"Segment the {cmd.anchor}.")
        yield _call("depth_estimator.estimate_depth_with_pointcloud", {"image_index": img}, "3D points of the scene.")
        resp = yield _call("bounding_box.compute_bbox", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                         "focal_length_px": "$focal_length_px"},
                           f"How large is the {cmd.anchor} in the image?")
        half_w, half_h = _half_extent(resp) or (0.05, 0.05)
        # room for the object itself: a large one (a bowl) needs its own half size beside the anchor
        own_w, own_h = self.pick_half or (0.0, 0.0)
        room_w, room_h = max(SIDE_GAP, own_w + 0.01), max(SIDE_GAP, own_h + 0.01)
        # a retry moves the spot out (something stood there), then in (it was out of reach), then further out
        far = (1.0, 1.5, 0.6, 2.0)[min(attempt, 3)]
        gap_x = half_w + room_w + SIDE_GAP * (far - 1.0)
        gap_y = half_h + room_h + SIDE_GAP * (far - 1.0)
        resp = yield _call("roborefer.detect_all", {"obj_name": "objects", "image_index": img},
                           "Is anything standing where the object should go?")
        others = [p for p in _points(resp) if np.hypot(p[0] - a[0], p[1] - a[1]) > 1e-3]
        if cmd.relation == "near":  # any side will do: the one with the most room around the spot
            best = None
            for k in range(NEAR_DIRECTIONS):
                ang = 2 * np.pi * k / NEAR_DIRECTIONS
                x, y = a[0] + np.cos(ang) * gap_x, a[1] + np.sin(ang) * gap_y
                if not (0.03 <= x <= 0.97 and 0.03 <= y <= 0.97) or any(
                        np.hypot(f[0] - x, f[1] - y) < FREE_RADIUS for f in self.failed_spots):
                    continue
                room = min((np.hypot(p[0] - x, p[1] - y) for p in others), default=1.0)
                if best is None or room > best[0] + 1e-9:
                    best = (room, x, y)
            if best is not None:
                return (float(best[1]), float(best[2]))
        rel = ["left", "right", "front", "behind"][attempt % 4] if cmd.relation == "near" else cmd.relation
        step = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "front": (0.0, 1.0), "behind": (0.0, -1.0)}[rel]
        x, y = a[0] + step[0] * gap_x, a[1] + step[1] * gap_y
        # keep clear of whatever else stands there: move further out while the spot is taken
        for _ in range(4):
            if all(np.hypot(p[0] - x, p[1] - y) > FREE_RADIUS for p in others):
                break
            x, y = x + step[0] * SIDE_GAP, y + step[1] * SIDE_GAP
        return (float(np.clip(x, 0.0, 1.0)), float(np.clip(y, 0.0, 1.0)))


def _pick_words(cmd) -> str:
    """The object to move as the pointing tool is asked for it: a rank ("the object closest to the
    robot", "the second cube") is among everything but the destination."""
    r = parse_reference(cmd.pick)
    if (r.superlative or r.ordinal is not None) and r.relation is None:
        return f"{cmd.pick} except the {cmd.anchor}"
    return cmd.pick

