"""Referring expressions ("the red block", "leftmost cube", "can next to the plate") parsed into
constraints and grounded on perceived objects.

Spatial words are viewer-centric, as an image-pointing model reads them: left/right are image
left/right, front/behind are nearer to/farther from the camera. "closest to the robot" uses the
robot base origin when the camera extrinsics are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..perception.tabletop import DetectedObject

SHAPE_WORDS = {
    "box": ["box", "block", "cube", "brick", "crate", "cuboid"],
    "cylinder": ["cylinder", "can", "tin", "bottle", "cup", "mug", "tube", "jar", "canister", "glass"],
    "sphere": ["ball", "sphere", "orb", "globe", "marble"],
    "bowl": ["bowl", "basin", "pot"],
    "plate": ["plate", "dish", "saucer", "platter", "tray", "disc", "disk"],
}
COLOR_WORDS = {
    "red": ["red", "crimson", "scarlet", "maroon"], "green": ["green", "lime", "olive"],
    "blue": ["blue", "navy", "azure"], "yellow": ["yellow", "gold", "golden", "lemon"],
    "orange": ["orange", "amber"], "purple": ["purple", "violet", "magenta", "lilac"],
    "white": ["white", "ivory"], "black": ["black", "dark"], "gray": ["gray", "grey", "silver"],
    "brown": ["brown", "tan", "chocolate", "wooden"], "pink": ["pink", "rose"], "cyan": ["cyan", "teal", "turquoise", "aqua"],
}
GENERIC = {"object", "objects", "thing", "things", "item", "items", "one", "ones", "stuff", "toy", "piece"}
SUPERLATIVES = {
    "leftmost": ("u", min), "rightmost": ("u", max), "frontmost": ("depth", min), "nearest": ("depth", min),
    "closest": ("depth", min), "farthest": ("depth", max), "furthest": ("depth", max), "backmost": ("depth", max),
    "largest": ("size", max), "biggest": ("size", max), "smallest": ("size", min), "tiniest": ("size", min),
    "tallest": ("height", max), "shortest": ("height", min), "highest": ("height", max), "lowest": ("height", min),
}
RELATIONS = [("except", "except"), ("other than", "except"), ("but not", "except"), ("next to", "near"), ("near", "near"), ("beside", "near"), ("by", "near"), ("close to", "near"),
             ("left of", "left"), ("right of", "right"), ("in front of", "front"), ("behind", "behind"),
             ("in", "in"), ("inside", "in"), ("on", "on"), ("on top of", "on")]
STOP = {"the", "a", "an", "to", "of", "that", "is", "which", "please", "all", "every", "each", "most", "one"}


def _lex(table: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for key, words in table.items():
        for w in words:
            out[w] = key
            out[w + "s"] = key
            out[w + "es"] = key
    return out


SHAPE_LEX = _lex(SHAPE_WORDS)
COLOR_LEX = _lex(COLOR_WORDS)


@dataclass(frozen=True)
class Reference:
    """A parsed referring expression."""

    text: str
    colors: frozenset[str] = frozenset()
    shape: str | None = None
    superlative: str | None = None      # key of SUPERLATIVES, or "robot_closest"/"robot_farthest"
    size: str | None = None             # "big" | "small"
    relation: str | None = None
    anchor: "Reference | None" = None
    plural: bool = False
    unknown: tuple[str, ...] = ()       # content words that meant nothing to the parser


class ReferenceError(ValueError):
    """The expression cannot be parsed into anything groundable."""


def _parse_simple(text: str, use_synonyms: bool = True) -> Reference:
    words = re.findall(r"[a-z]+", text.lower())
    colors, shape, sup, size, plural, unknown = set(), None, None, None, False, []
    i = 0
    while i < len(words):
        w = words[i]
        two = " ".join(words[i:i + 4])
        if two.startswith(("closest to the robot", "nearest to the robot", "closest to robot", "nearest to robot")):
            sup = "robot_closest"
            i += 4 if "the" in two else 3
            continue
        if two.startswith(("farthest from the robot", "furthest from the robot", "farthest from robot")):
            sup = "robot_farthest"
            i += 4 if "the" in two else 3
            continue
        if w in COLOR_LEX:
            colors.add(COLOR_LEX[w])
        elif w in SHAPE_LEX:
            shape = SHAPE_LEX[w]
            plural = plural or (w not in SHAPE_WORDS[shape])
        elif w in SUPERLATIVES:
            sup = w
        elif w in ("big", "large", "huge", "bigger", "larger"):
            size = "big"
        elif w in ("small", "little", "tiny", "smaller"):
            size = "small"
        elif w in ("left", "right") and i + 1 < len(words) and words[i + 1] in ("most", "side"):
            sup = "leftmost" if w == "left" else "rightmost"
            i += 1
        elif w in GENERIC:
            plural = plural or w.endswith("s")
        elif w in ("all", "every", "both"):
            plural = True
        elif w not in STOP:
            unknown.append(w)
        i += 1
    if unknown and use_synonyms:
        from .synonyms import default_resolver

        resolver = default_resolver()
        still = []
        for w in unknown:
            hit = resolver.resolve(w) if resolver is not None else None
            if hit is None:
                still.append(w)
                continue
            kind, value = hit[0].split(":")
            if kind == "color":
                colors.add(value)
            elif shape is None:
                shape = value
        unknown = still
    return Reference(text, frozenset(colors), shape, sup, size, None, None, plural, tuple(unknown))


def parse_reference(text: str) -> Reference:
    """Parse an object description.

    Raises:
        ReferenceError: empty text, or no word of it describes an object.
    """
    t = " ".join(re.findall(r"[a-z]+", text.lower()))
    if not t:
        raise ReferenceError("empty object description")
    for phrase, rel in sorted(RELATIONS, key=lambda r: -len(r[0])):
        m = re.search(rf"\b(?:to the |on the )?{phrase}\b", t)
        if m and m.start() > 0:
            head, tail = t[: m.start()].strip(), t[m.end():].strip()
            if tail:
                ref = _parse_simple(head)
                return Reference(text, ref.colors, ref.shape, ref.superlative, ref.size, rel, parse_reference(tail),
                                 ref.plural, ref.unknown)
    ref = _parse_simple(t)
    if not (ref.colors or ref.shape or ref.superlative or ref.size) and ref.unknown:
        raise ReferenceError(f"nothing in '{text}' describes an object")
    return ref


def _size(o: DetectedObject) -> float:
    """Volume estimate by shape (a partial view shortens the short footprint side of round things)."""
    long_, short = o.footprint_size
    h = max(o.height_m, 0.005)
    if o.shape == "sphere":
        return float(np.pi / 6 * h**3)
    if o.shape in ("cylinder", "bowl", "plate"):
        return float(np.pi / 4 * long_**2 * h)
    return float(long_ * short * h)


def _key(o: DetectedObject, what: str) -> float:
    if what == "u":
        return float(np.nonzero(o.mask)[1].mean())
    if what == "depth":
        return float(o.centroid_cam[2])
    if what == "height":
        return float(o.height_m)
    return _size(o)


def ground(ref: Reference, objects: list[DetectedObject]) -> list[DetectedObject]:
    """Objects matching a reference, best first (empty when none)."""
    cands = [o for o in objects
             if (not ref.colors or o.color in ref.colors) and (ref.shape is None or o.shape == ref.shape)]
    if ref.size and len(cands) > 1:
        med = np.median([_size(o) for o in objects])
        keep = [o for o in cands if (_size(o) >= med) == (ref.size == "big")]
        cands = keep or sorted(cands, key=_size, reverse=ref.size == "big")[:1]
    if ref.anchor is not None and ref.relation == "except":
        excluded = {id(o) for o in ground(ref.anchor, objects)}
        inner = Reference(ref.text, ref.colors, ref.shape, ref.superlative, ref.size, None, None, ref.plural, ref.unknown)
        return ground(inner, [o for o in objects if id(o) not in excluded])
    if ref.anchor is not None:
        anchors = ground(ref.anchor, objects)
        if not anchors:
            return []
        a = anchors[0]
        cands = [o for o in cands if o is not a]
        au, ad = a.pixel[0], a.centroid_cam[2]
        if ref.relation == "left":
            cands = [o for o in cands if o.pixel[0] < au]
        elif ref.relation == "right":
            cands = [o for o in cands if o.pixel[0] > au]
        elif ref.relation == "front":
            cands = [o for o in cands if o.centroid_cam[2] < ad]
        elif ref.relation == "behind":
            cands = [o for o in cands if o.centroid_cam[2] > ad]
        cands.sort(key=lambda o: float(np.linalg.norm(o.centroid_cam - a.centroid_cam)))
        if ref.relation in ("near", "left", "right", "front", "behind", "in", "on") and not ref.plural:
            cands = cands[:1]
    if ref.superlative:
        if ref.superlative.startswith("robot_"):
            if any(o.centroid_base is None for o in cands):
                return []
            dist = (lambda o: float(np.linalg.norm(o.centroid_base[:2])))
            cands = sorted(cands, key=dist, reverse=ref.superlative == "robot_farthest")[:1]
        else:
            what, fn = SUPERLATIVES[ref.superlative]
            if cands:
                best = fn(cands, key=lambda o: _key(o, what))
                cands = [best]
    return cands
