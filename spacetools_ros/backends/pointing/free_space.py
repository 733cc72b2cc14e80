"""Pointing to free space: "a free spot left of the blue bowl", "an empty place next to the can for
an object 16 cm across", "a spot in the bowl". The spot is found in 3D on the perceived table:
beside the anchor in the direction the side word names (in the camera's view or the robot's frame,
``spatial_frame``), where the placed object (``room``) keeps a gap from every perceived object, on
the table the camera sees, and where the relation's own rules (core/relations.py) hold for it.

The point comes back as a normalized image point, as any pointing answer does; the place tool casts
it back onto the table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ...core.camera import project
from ...core.language.frames import base_direction, check_frame, image_direction
from ...core.language.lexer import normalise
from ...core.language.relations import RELATION_PHRASES
from ...core.relations import NEAR_MAX_GAP_M, SIDE_MAX_DIST_M, Body, relation_holds
from ..perception.tabletop import TableScene
from ..perception.verify import seen_object
from .referring import ReferenceError, ground, parse_reference

SPOT_RELATIONS = ("left", "right", "front", "behind", "near", "in", "on", "between")
DEFAULT_ROOM_M = 0.025     # half the width of what goes there when the query does not say
MAX_ROOM_M = 0.15
SPOT_GAP_M = 0.03          # between the anchor's footprint and the placed object's
FREE_GAP_M = 0.015         # ... and from every other object's
STEP_M = 0.01              # spots tried outward from the anchor this far apart
LIMIT_MARGIN_M = 0.03      # ... no further than the relation's limit less this
SWAY_DEG = (0.0, 15.0, -15.0, 30.0, -30.0)  # ... and this far around the side word's direction
NEAR_DIRECTIONS = 16
BETWEEN_FRACTIONS = (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7)  # of the way from one anchor to the other
BETWEEN_OFFSETS_M = (0.0, 0.015, -0.015, 0.03, -0.03)  # ... and this far beside the line
REACH_M = (0.25, 0.80)     # a spot this far from the robot base (its arm places there)
TABLE_PIXELS_MIN = 0.8     # the spot's footprint seen as table (not off its edge or out of view)
# the relation must hold wherever within this of the spot the object lands (perception and the
# place are each a centimetre or two off): a spot on the diagonal between "behind" and "right of"
# was judged behind by the agent and beside by the world
PLACE_ERROR_M = 0.02
_ERRORS = [np.zeros(3)] + [np.array([PLACE_ERROR_M * math.cos(a), PLACE_ERROR_M * math.sin(a), 0.0])
                           for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]

_SPOT = re.compile(r"^(?:an? |the |some )?(?:free |empty |clear |open |unoccupied )?"
                   r"(?:spot|space|area|place|location|point|room)\s+(?P<rest>.+?)"
                   r"(?:\s+for an? (?:object|thing) (?P<cm>\d{1,2}(?: \d{1,2})?) cm (?:across|wide))?$")


@dataclass(frozen=True)
class SpotQuery:
    """A free-space description: the relation, the anchor phrase(s) and the room the placed object needs."""

    relation: str
    anchor: str
    anchor2: str | None
    room_m: float


def parse_spot(description: str) -> SpotQuery | None:
    """The free-space query in a description, or None when it is not one."""
    t = normalise(description)
    m = _SPOT.match(t)
    if m is None:
        return None
    rest = m.group("rest")
    for phrase in sorted(RELATION_PHRASES, key=len, reverse=True):
        if rest.startswith(phrase + " "):
            relation, anchor = RELATION_PHRASES[phrase], rest[len(phrase) + 1:]
            break
    else:
        return None
    if relation not in SPOT_RELATIONS:
        return None
    anchor2 = None
    if relation == "between":
        parts = anchor.split(" and ")
        if len(parts) != 2:
            return None
        anchor, anchor2 = parts
    room = DEFAULT_ROOM_M
    if m.group("cm"):
        room = min(float(m.group("cm").replace(" ", ".")) / 200.0, MAX_ROOM_M)
    return SpotQuery(relation, anchor.strip(), anchor2, max(room, 0.005))


def _one(phrase: str, scene: TableScene, spatial_frame: str):
    try:
        ref = parse_reference(phrase)
    except ReferenceError:
        return None
    found = ground(ref, scene.objects, spatial_frame)
    return found[0] if found else None


def _directions(relation: str, at: np.ndarray, spatial_frame: str, k: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    """Base-frame unit directions to try, the side word's own first."""
    if relation == "near":
        return [np.array([math.cos(a), math.sin(a)]) for a in np.linspace(0, 2 * math.pi, NEAR_DIRECTIONS, endpoint=False)]
    if spatial_frame == "robot":
        main = base_direction(relation)
    else:  # the base direction that shows in the image as the side word's image direction
        want = image_direction(relation, at, "camera", k, t)
        angles = np.radians(np.arange(0.0, 360.0, 2.0))
        ends = np.stack([at + np.array([0.05 * math.cos(a), 0.05 * math.sin(a), 0.0]) for a in angles])
        uv = project(np.vstack([at[None], ends]), k, t)
        d = uv[1:] - uv[0]
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
        best = float(angles[int(np.argmax(d @ want))])
        main = np.array([math.cos(best), math.sin(best)])
    out = []
    for sway in SWAY_DEG:
        c, s = math.cos(math.radians(sway)), math.sin(math.radians(sway))
        out.append(np.array([c * main[0] - s * main[1], s * main[0] + c * main[1]]))
    return out


def _on_table(scene: TableScene, p: np.ndarray, room: float, k: np.ndarray, t: np.ndarray) -> bool:
    ring = [p + np.array([room * math.cos(a), room * math.sin(a), 0.0]) for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]
    uv = project(np.stack([p, *ring]), k, t)
    h, w = scene.table_mask.shape
    ui, vi = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
    inside = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    if not inside.all():
        return False
    # the table under the spot, or an object standing on it (the table is behind it)
    seen = scene.table_mask[vi, ui]
    return float(seen.mean()) >= TABLE_PIXELS_MIN or bool(seen[0])


def find_spot(scene: TableScene, query: SpotQuery, spatial_frame: str = "camera") -> tuple[float, float] | None:
    """Normalized image point of a free spot for the query, or None when there is none (or the
    anchor is not seen)."""
    check_frame(spatial_frame)
    frame = scene.frame
    k, t = frame.intrinsics, frame.extrinsics
    anchor = _one(query.anchor, scene, spatial_frame)
    if anchor is None:
        return None
    seen = {o.index: seen_object(o, scene) for o in scene.objects}
    a = seen[anchor.index].body
    if query.relation in ("in", "on"):
        if a.support_height_m is None:
            return None
        p = np.array([a.position[0], a.position[1], a.position[2] + a.support_height_m])
        return _normalized(p, frame)
    if query.relation == "between":
        other = _one(query.anchor2 or "", scene, spatial_frame)
        if other is None or other.index == anchor.index:
            return None
        b = seen[other.index].body
        # from the middle outward along the line, then beside it: clear of both anchors (a bowl's
        # wall stood over the middle in the camera's view, and the object went into the bowl)
        others = [s.body for i, s in seen.items() if i not in (anchor.index, other.index)]
        ab = b.position[:2] - a.position[:2]
        across = np.array([-ab[1], ab[0]]) / max(float(np.linalg.norm(ab)), 1e-9)
        for frac in BETWEEN_FRACTIONS:
            for side in BETWEEN_OFFSETS_M:
                p = np.array([*(a.position[:2] + frac * ab + side * across), 0.0])
                if _spot_fits(scene, p, query.room_m, [a, b, *others],
                              lambda body: relation_holds("between", body, a, k, t, b, frame=spatial_frame)[0]):
                    return _normalized(p, frame)
        return None
    others = [s.body for i, s in seen.items() if i != anchor.index]
    room = query.room_m
    at = np.array([a.position[0], a.position[1], 0.0])
    first = a.radius_m + room + SPOT_GAP_M
    # the relation must still hold where the object lands: perception and the place are a few cm off
    last = a.radius_m + room + NEAR_MAX_GAP_M - LIMIT_MARGIN_M if query.relation == "near" else SIDE_MAX_DIST_M - LIMIT_MARGIN_M
    directions = _directions(query.relation, at, spatial_frame, k, t)
    for dist in np.arange(first, last + 1e-9, STEP_M):
        for d in directions:
            p = at + np.array([d[0] * dist, d[1] * dist, 0.0])
            if _spot_fits(scene, p, room, others,
                          lambda body: relation_holds(query.relation, body, a, k, t, frame=spatial_frame)[0]):
                return _normalized(p, frame)
    return None


def _spot_fits(scene: TableScene, p: np.ndarray, room: float, bodies: list[Body], holds) -> bool:
    """Whether an object ``room`` in radius fits at ``p``: within the arm's reach, FREE_GAP_M clear of
    every body, its relation (``holds``: Body -> bool) holding wherever within PLACE_ERROR_M of the
    spot it lands, and on the table the camera sees."""
    k, t = scene.frame.intrinsics, scene.frame.extrinsics
    return (REACH_M[0] <= math.hypot(p[0], p[1]) <= REACH_M[1]
            and all(np.linalg.norm(p[:2] - o.position[:2]) >= o.radius_m + room + FREE_GAP_M for o in bodies)
            and all(holds(Body(p + e, room, room, None)) for e in _ERRORS)
            and _on_table(scene, p, room, k, t))


def _normalized(p: np.ndarray, frame) -> tuple[float, float]:
    uv = project(p[None], frame.intrinsics, frame.extrinsics)[0]
    return float(uv[0] / frame.width), float(uv[1] / frame.height)
