"""OutcomeVerifier by perception: the command's objects are found in a fresh frame before anything
moves, found again after each place (by their looks, nearest where they should be), and the
requested relation is checked in 3D with core/relations.py; other objects must not have moved."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ...core.camera import CameraFrame
from ...core.commands import Command
from ...core.relations import COLLATERAL_M, Body, relation_holds
from ...core.shapes import BOWL_WALL_THICKNESS_M, DISH_FLOOR_M
from ...core.verify import Verdict
from ..pointing.referring import ReferenceError, parse_reference, resolve
from ..tools.geometry3d import base_footprint
from .describe import SPARSE_DEPTH, color_names
from .tabletop import DetectedObject, TableScene


INSIDE_MIN_PX = 30            # pixels of the picked object's colour name inside a container's outline
INSIDE_MIN_HEIGHT_M = 0.012   # ... above the table (and above a bowl's floor)
INSIDE_MIN_FRACTION = 0.08  # of the picked object's area before it moved
INSIDE_WALL_CLEAR_M = 0.015  # same colour: only what stands this far inside the container's wall counts
BOTTOM_PERCENTILE = 2.0     # of the visible points' heights: an object's bottom
INSIDE_BOTTOM_PERCENTILE = 10.0  # of the heights of its pixels inside the container: its bottom (edges smear)
PROPPED_M = 0.02  # a top this much higher than the object's own height: it rests partly on something
TOP_FACE_PERCENTILE = 95.0  # of a block's point heights: its top face
PARTLY_HIDDEN_AREA = 0.5  # an anchor seen in less than this part of its pixels before is partly hidden
FAR_FROM_PLACE_M = 0.10     # a look-alike further than this from where the object was put is another one
SAME_SIZE = 0.8  # a segment this wide, of a container's radius, where the container stood: it, joined


@dataclass(frozen=True)
class Seen:
    """One perceived object as the checks need it (base frame)."""

    color: str
    shape: str
    body: Body
    maybe_colors: frozenset[str] = frozenset()  # names the same paint takes in other light
    top_m: float = 0.0  # its segment's highest point above the table

    @property
    def label(self) -> str:
        """e.g. ``red box``."""
        return f"{self.color} {self.shape}"


def seen_object(o: DetectedObject, scene: TableScene) -> Seen:
    """Footprint, height and the support area of a perceived object, in the base frame."""
    t = scene.frame.extrinsics
    fp = base_footprint(o.points_cam, scene.plane, t, dish=o.shape in ("bowl", "plate"))
    l1, l2 = fp.sides
    # its bottom: the lowest visible points (a few stray ones at the edges, mixed with what is
    # behind, do not count)
    low = float(np.percentile(o.points_cam @ t[:3, :3].T[:, 2] + t[2, 3], BOTTOM_PERCENTILE))
    if o.top_only:  # its top face alone, seen from above with the table all around it: on the table
        low = 0.0
    position = np.array([*fp.centre, max(low, 0.0)])
    radius = max(l1, l2) / 2
    height = fp.height
    # a block's top face as something put on it rests on: most of its highest points, not the single
    # highest (a dark block's filled-in depth scatters a few well above it)
    top_face = float(np.percentile(o.points_cam @ scene.plane[:3] + scene.plane[3], TOP_FACE_PERCENTILE))
    support = {"bowl": (radius - BOWL_WALL_THICKNESS_M, DISH_FLOOR_M["bowl"]),
               "plate": (radius - BOWL_WALL_THICKNESS_M, DISH_FLOOR_M["plate"]), "sphere": (0.0, None),
               "box": (min(l1, l2) / 2, min(height, top_face))}.get(o.shape, (radius, height))
    return Seen(o.color, o.shape, Body(position, radius, support[0], support[1]), frozenset(o.maybe_colors), height)


def _bottom_from_top(now: Seen, first: Seen, min_rise_m: float) -> Seen:
    """``now`` with its bottom at its top less its own height as first seen, when that rise is at
    least ``min_rise_m`` and above the bottom its lowest points give; else ``now`` unchanged."""
    rise = now.top_m - first.top_m
    if first.top_m <= 0.0 or rise < min_rise_m or now.body.position[2] >= rise:
        return now
    return replace(now, body=replace(now.body, position=np.array([*now.body.position[:2], rise])))


def stacked_bottom(now: Seen, first: Seen) -> Seen:
    """An object put on a block that is now hidden: the block's visible sides may have joined this
    object's segment (a pink block under a purple one), whose lowest points then lie on the table.
    Its bottom is then its top less its own height as first seen, when that is higher."""
    return _bottom_from_top(now, first, 0.0)


def propped_up(now: Seen, first: Seen) -> Seen:
    """An object put down beside something whose top now stands PROPPED_M or more above its own
    height as first seen rests partly on something (a plate with its edge on a neighbour): some of
    its lowest points touch the table, so its bottom is taken as its top less its own height."""
    return _bottom_from_top(now, first, PROPPED_M)


# colour names that shading alone turns into each other (a white box in the far corner reads gray)
NEIGHBOUR_COLOURS = {"white": {"gray"}, "gray": {"white", "black"}, "black": {"gray"}}
NEIGHBOUR_MAX_M = 0.06  # ... accepted only this close to where the object should be
KNOCK_MAX_M = 0.35  # a bystander found again further than this from where it stood is not found again


SHAPE_MISMATCH_M = 0.05  # an object of another shape counts as this much further away when matching


def _nearest(objs: list[Seen], like: Seen, near: np.ndarray, used: set[int]) -> int | None:
    """The object that looks like ``like`` (same colour, else a colour shading turns it into) nearest
    ``near``, one of the same shape preferred by SHAPE_MISMATCH_M: a small ball's reading flickers
    between ball and block from frame to frame, and a bystander ball read as a block, now read as a
    ball where it stood, was matched to another ball read as a block 29 cm away (knocked 29 cm)."""
    best = None
    for i, o in enumerate(objs):
        if i in used:
            continue
        if o.color == like.color:
            off = 0
        elif o.color in NEIGHBOUR_COLOURS.get(like.color, ()) or like.color in o.maybe_colors:
            off = 1
        else:
            continue
        dist = float(np.linalg.norm(o.body.position[:2] - near[:2]))
        if off and dist > NEIGHBOUR_MAX_M:
            continue  # another colour far away is another object
        key = (off, dist + (SHAPE_MISMATCH_M if o.shape != like.shape else 0.0))
        if best is None or key < best[0]:
            best = (key, i)
    return None if best is None else best[1]


def _xyz(p: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in p]


class PerceptionVerifier:
    """OutcomeVerifier over a camera and tabletop perception.

    Args:
        capture: a fresh frame of the robot's camera (taken with the arm out of view).
        perceive: frame -> TableScene (the toolshed's perception cache, so frames are not perceived twice).
    """

    def __init__(self, capture: Callable[[], CameraFrame], perceive: Callable[[CameraFrame], TableScene],
                 views: Callable[[], list[str]] | None = None, use_view: Callable[[str], None] | None = None,
                 progress: Callable[[str], None] = lambda s: None, spatial_frame: str = "camera") -> None:
        """``views`` / ``use_view``: the cameras, and switching the one ``capture`` looks through (when
        the command's objects are not all seen, the other views are tried before giving up)."""
        self.capture = capture
        self.perceive = perceive
        self.views = views
        self.use_view = use_view
        self.progress = progress
        self.spatial_frame = spatial_frame  # of the command's side words: the robot's first view or its base
        self.command: Command | None = None
        self._before: list[Seen] = []
        self._roles: dict[str, int] = {}
        self.view: str | None = None  # the camera the objects were found in
        self._relation_frame: tuple[np.ndarray, np.ndarray] | None = None

    def _look(self) -> tuple[list[Seen], TableScene]:
        frame = self.capture()
        scene = self.perceive(frame)
        return [seen_object(o, scene) for o in scene.objects], scene

    def begin(self, command: Command) -> Verdict | None:
        """Find the command's objects before anything moves, in the robot's view or, when they are
        not all seen there, in the first other view that shows them all (the robot then looks through it)."""
        self._relation_frame = None  # side relations are judged in the robot's first view, whichever view looks
        missing = self._find(command)
        if missing is None or self.views is None or self.use_view is None or missing.evidence.get("ambiguous"):
            return missing  # a question is asked from the robot's own view
        first = self.view
        for cam in self.views():
            if cam == first:
                continue
            self.use_view(cam)
            if self._find(command) is None:
                self.progress(f"[agent] {missing.summary} in view {first}: using view {cam}")
                return None
        self.use_view(first)
        self._find(command)
        return missing

    def _find(self, command: Command) -> Verdict | None:
        self.command = command
        self._before, scene = self._look()
        self.view = scene.frame.camera
        if self._relation_frame is None:
            self._relation_frame = (scene.frame.intrinsics, scene.frame.extrinsics)
        self._before_area = [int(o.area_px) for o in scene.objects]
        self._roles = {}
        for role, text in (("anchor", command.anchor), ("anchor2", command.anchor2), ("pick", command.pick)):
            if not text:
                continue
            # the object to move is never one of its own anchors ("the object closest to the robot")
            pool = [o for i, o in enumerate(scene.objects) if role != "pick" or i not in self._roles.values()]
            try:
                res = resolve(parse_reference(text), pool, spatial_frame=self.spatial_frame)
            except ReferenceError as exc:
                return Verdict(None, f"cannot find the {text}", {"role": role, "question": str(exc)})
            if not res.objects:
                return Verdict(None, f"cannot find the {text}", {"role": role, "question": res.question})
            if res.question is not None:
                return Verdict(None, f"cannot check: the {text} is ambiguous",
                               {"role": role, "question": res.question, "ambiguous": True})
            k = scene.objects.index(res.objects[0])
            self._roles[role] = k
            shape = parse_reference(text).shape
            if shape is not None and shape != res.objects[0].shape and shape in res.objects[0].maybe_shapes:
                # taken for what the words say, a reading perception left open (a bowl seen from low
                # as a wide can): its support is that shape's (a bowl's floor, not a can's top)
                self._before[k] = seen_object(replace(res.objects[0], shape=shape), scene)
        if len(set(self._roles.values())) < len(self._roles):
            return Verdict(None, "cannot check: two roles of the command name the same object",
                           {"roles": {k: self._before[v].label for k, v in self._roles.items()}})
        return None

    def after_grasp(self) -> None:
        """New baseline for the bystanders (not the picked object, not the anchors): collateral is
        what moves between now and the check. A bystander not seen within FAR_FROM_PLACE_M of where
        it stood keeps its baseline: the nearest look-alike further off is another object (a can's
        twin, taken by a second grasp, was given the dropped can 19 cm away as its place, and the
        twin put in the bowl passed for the can)."""
        if "pick" not in self._roles:
            return
        after, _scene = self._look()
        used: set[int] = set()
        for k, was in enumerate(self._before):
            if k in self._roles.values():
                continue
            j = _nearest(after, was, was.body.position, used)
            if j is not None and np.linalg.norm(after[j].body.position[:2] - was.body.position[:2]) <= FAR_FROM_PLACE_M:
                used.add(j)
                self._before[k] = after[j]

    def check(self, place_point_base: np.ndarray | None) -> Verdict:
        """Is the picked object where the command wants it, and is everything else where it was?
        When the robot's view cannot tell (an object hidden from it now), the other views are
        looked through; the robot goes on looking through its own."""
        verdict = self._check(place_point_base)
        if verdict.verified is not None or self.views is None or self.use_view is None or "pick" not in self._roles:
            return verdict
        own = self.view
        try:
            for cam in self.views():
                if cam == own:
                    continue
                self.use_view(cam)
                other = self._check(place_point_base)
                if other.verified is not None:
                    self.progress(f"[agent] {verdict.summary} in view {own}: checked in view {cam}")
                    return other
        finally:
            self.use_view(own)
        return verdict

    def _check(self, place_point_base: np.ndarray | None) -> Verdict:
        cmd = self.command
        if cmd is None or "pick" not in self._roles:
            return Verdict(None, "cannot check: the command's objects were not found before acting")
        after, scene = self._look()
        frame = scene.frame
        used: set[int] = set()
        found: dict[str, Seen] = {}
        where: dict[str, int] = {}  # their index in ``after``
        hidden: list[str] = []
        picked = self._before[self._roles["pick"]]
        for role in ("anchor", "anchor2"):
            if role in self._roles:
                was = self._before[self._roles[role]]
                i = _nearest(after, was, was.body.position, used)
                container = role == "anchor" and cmd.relation in ("in", "on")
                standing = self._stands_where(after, was, used) if container else None
                if container and (i is None or (
                        np.linalg.norm(after[i].body.position[:2] - was.body.position[:2]) > FAR_FROM_PLACE_M
                        and standing is not None)):
                    # covered by what was put on it, or one segment with it (an orange block in a
                    # black bowl reads as one orange can where the bowl stood, while a black plate
                    # 38 cm away looks like the bowl): judged where it stood; what was put in it
                    # is looked for inside that segment (an orange can in a black bowl: one "brown
                    # bowl")
                    hidden.append(was.label)
                    found[role] = was
                    if standing is not None:
                        where[role] = standing
                    continue
                if i is None:
                    return Verdict(None, f"cannot check: the {was.label} is not seen any more", {"role": role})
                used.add(i)
                # where it is now, but its geometry as first seen: an object placed in a container may
                # merge with it into one segment of another shape
                now = after[i]
                where[role] = i
                at = now.body.position
                dark_container = (role == "anchor" and cmd.relation in ("in", "on")
                                  and scene.objects[i].depth_coverage < SPARSE_DEPTH
                                  and np.linalg.norm(at[:2] - was.body.position[:2]) <= COLLATERAL_M + picked.body.radius_m)
                # a dark container is located by its few pixels with depth: what was put on it hides
                # some and shifts its seen centre by up to that object's size (4-5 cm seen, the plate
                # still). An anchor seen through the same camera in under PARTLY_HIDDEN_AREA of its
                # pixels is mostly behind what was put in front of it (a plate's 255 of 860 pixels
                # were located 31 cm off). Neither is evidence of a move: where it was seen whole
                partly_hidden = (frame.camera == self.view
                                 and scene.objects[i].area_px < PARTLY_HIDDEN_AREA * self._before_area[self._roles[role]])
                if dark_container or partly_hidden:
                    at = was.body.position
                found[role] = Seen(now.color, was.shape, Body(at, was.body.radius_m,
                                                              was.body.support_radius_m, was.body.support_height_m))
        guess = place_point_base if place_point_base is not None else found["anchor"].body.position
        i = _nearest(after, picked, np.asarray(guess, float), used | self._twins_in_place(after, picked, used))
        obj = after[i] if i is not None else None
        if "anchor" in where and (obj is None or (cmd.relation in ("in", "on") and np.linalg.norm(
                obj.body.position[:2] - np.asarray(guess, float)[:2]) > FAR_FROM_PLACE_M)):
            # in a container of a similar hue it may not be a segment of its own (a look-alike far
            # from where it was put is another object): what stands inside the container
            inside = self._inside(scene, where["anchor"], self._roles["pick"])
            if inside is not None:
                obj, i = inside, None
        if obj is None:
            return Verdict(None, f"cannot check: the {picked.label} is not seen", {"role": "pick"})
        if i is not None:
            used.add(i)
        if hidden and cmd.relation == "on":
            obj = stacked_bottom(obj, picked)
        if cmd.relation not in ("in", "on"):
            obj = propped_up(obj, picked)
        # its footprint as first seen, standing alone: now it may be one segment with what it fell
        # or was put on (a plate dropped onto another read 2 cm wider, "next to" at 9.6 cm for 12)
        obj = replace(obj, body=replace(obj.body, radius_m=picked.body.radius_m))
        k, t = self._relation_frame or (frame.intrinsics, frame.extrinsics)
        ok, why = relation_holds(cmd.relation, obj.body, found["anchor"].body, k, t,
                                 found["anchor2"].body if "anchor2" in found else None, frame=self.spatial_frame)
        moved = []
        for k, was in enumerate(self._before):
            if k in self._roles.values():
                continue
            j = _nearest(after, was, was.body.position, used)
            if j is None:
                continue  # hidden behind something now; not evidence of a push
            d = float(np.linalg.norm(after[j].body.position[:2] - was.body.position[:2]))
            if d > KNOCK_MAX_M:
                continue  # a look-alike far across the table is another thing, not this one pushed
            used.add(j)
            if d > COLLATERAL_M:
                moved.append({"object": was.label, "moved_m": round(d, 3)})
        evidence = {"view": frame.camera, "relation": cmd.relation, "object": obj.label, "object_at": _xyz(obj.body.position),
                    "anchor": found["anchor"].label, "anchor_at": _xyz(found["anchor"].body.position),
                    "detail": why, "collateral": moved, "stamp_s": round(float(frame.stamp_s), 3)}
        if hidden:
            evidence["hidden_under_object"] = hidden
        for role in ("anchor", "anchor2"):
            if role in found:
                d = float(np.linalg.norm(found[role].body.position[:2] - self._before[self._roles[role]].body.position[:2]))
                if d > COLLATERAL_M:
                    return Verdict(False, f"the {found[role].label} was moved {d * 100:.0f} cm", evidence)
        if not ok:
            return Verdict(False, f"the {obj.label} is not {_words(cmd)}: {why}", evidence)
        if moved:
            return Verdict(False, f"the {moved[0]['object']} was knocked {moved[0]['moved_m'] * 100:.0f} cm", evidence)
        return Verdict(True, f"the {obj.label} is {_words(cmd)}", evidence)

    @staticmethod
    def _stands_where(after: list[Seen], was: Seen, used: set[int]) -> int | None:
        """The index of something of ``was``'s size (of any look: it, joined with what was put in
        it) that now stands on the spot ``was`` stood on: centre within COLLATERAL_M, radius at
        least SAME_SIZE of its own (the object put there alone, the container pushed away, is
        smaller); None when nothing does."""
        return next((j for j, o in enumerate(after) if j not in used
                     and np.linalg.norm(o.body.position[:2] - was.body.position[:2]) <= COLLATERAL_M
                     and o.body.radius_m >= SAME_SIZE * was.body.radius_m), None)

    def _twins_in_place(self, after: list[Seen], picked: Seen, used: set[int]) -> set[int]:
        """Objects that look like the picked one and stand where a look-alike bystander stood: that
        bystander, not the picked object (which, merged into a container's segment, may not be a
        segment of its own)."""
        out: set[int] = set()
        for k, was in enumerate(self._before):
            if k in self._roles.values() or was.color != picked.color:
                continue
            j = _nearest(after, was, was.body.position, used | out)
            if j is not None and np.linalg.norm(after[j].body.position[:2] - was.body.position[:2]) <= COLLATERAL_M:
                out.add(j)
        return out

    def _inside(self, scene: TableScene, anchor_index: int, pick_index: int) -> Seen | None:
        """The picked object as the pixels of its colour inside the anchor's outline and above the
        table (a small or similar-coloured object in a container may not be a segment of its own)."""
        import cv2

        o = scene.objects[anchor_index]
        frame = scene.frame
        was = self._before[pick_index]
        if frame.depth_m is None:
            return None
        anchor = self._before[self._roles["anchor"]]
        same = anchor.color == was.color  # then colour cannot tell them apart: what rises from its floor
        hull = cv2.convexHull(np.stack(np.nonzero(o.mask)[::-1], axis=1).astype(np.int32))
        outline = np.zeros(o.mask.shape, np.uint8)
        cv2.fillConvexPoly(outline, hull, 1)
        pv, pu = np.nonzero(outline.astype(bool) & (True if same else color_names(frame.rgb) == was.color))
        z = frame.depth_m[pv, pu].astype(float)
        k, t = frame.intrinsics, frame.extrinsics
        need = max(INSIDE_MIN_PX, INSIDE_MIN_FRACTION * self._before_area[pick_index])
        if not same and len(pv) >= need and np.mean(np.isfinite(z) & (z > 0)) < SPARSE_DEPTH:
            # a dark object returns too little depth to stand anywhere: its pixels, cast onto the
            # level of its middle standing on the container's floor (a wall hides its lower part).
            # Whatever its depth before: a black block seen whole returned depth on 0.71 of its
            # pixels, its top face alone in a bowl on 26 of 222
            a = anchor.body
            floor = a.position[2] + (a.support_height_m or 0.0)
            mid = floor + 0.5 * (was.body.support_height_m or 2 * was.body.radius_m)
            rays = np.stack([(pu + 0.5 - k[0, 2]) / k[0, 0], (pv + 0.5 - k[1, 2]) / k[1, 1], np.ones(len(pu))], 1) @ t[:3, :3].T
            s = (mid - t[2, 3]) / np.where(np.abs(rays[:, 2]) > 1e-9, rays[:, 2], -1e-9)
            xy = t[:2, 3] + s[:, None] * rays[:, :2]
            xy = xy[s > 0]
            if len(xy) < need:
                return None
            return Seen(was.color, was.shape, Body(np.array([*np.median(xy, axis=0), floor]), was.body.radius_m,
                                                   was.body.support_radius_m, was.body.support_height_m))
        cam = np.stack([(pu + 0.5 - k[0, 2]) * z / k[0, 0], (pv + 0.5 - k[1, 2]) * z / k[1, 1], z], 1)
        base = cam @ t[:3, :3].T + t[:3, 3]
        keep = np.isfinite(z) & (z > 0) & (base[:, 2] > INSIDE_MIN_HEIGHT_M)
        if same:
            a = anchor.body
            r = np.linalg.norm(base[:, :2] - a.position[:2], axis=1)
            keep &= (r < a.support_radius_m - INSIDE_WALL_CLEAR_M) & (
                base[:, 2] > a.position[2] + (a.support_height_m or 0.0) + INSIDE_MIN_HEIGHT_M)
        base = base[keep]
        if len(base) < max(INSIDE_MIN_PX, INSIDE_MIN_FRACTION * self._before_area[pick_index]):
            return None
        bottom = max(float(np.percentile(base[:, 2], INSIDE_BOTTOM_PERCENTILE)), 0.0)
        position = np.array([*np.median(base[:, :2], axis=0), bottom])
        return Seen(was.color, was.shape, Body(position, was.body.radius_m, was.body.support_radius_m,
                                               was.body.support_height_m))


def _words(cmd: Command) -> str:
    rel = {"in": "in", "on": "on", "left": "left of", "right": "right of", "front": "in front of", "behind": "behind",
           "near": "next to", "between": "between"}.get(cmd.relation, cmd.relation)
    tail = f" and the {cmd.anchor2}" if cmd.anchor2 else ""
    return f"{rel} the {cmd.anchor}{tail}"
