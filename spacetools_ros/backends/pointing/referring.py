"""Referring expressions ("the red block", "second cube from the left", "can next to the plate")
grounded on perceived objects, with a question back when they are ambiguous or match nothing.

The words are parsed in core/language (one vocabulary for commands and descriptions). Spatial words
follow ``spatial_frame``: ``camera`` (default) is the view an image-pointing model reads: left/right
are image columns, front/behind nearer to/farther from the camera. ``robot``: left/right are +y/-y
of the robot base, front/behind smaller/larger base x (nearer to/farther from the robot along its
forward axis), nearest/farthest by distance from the base origin (needs ``centroid_base``).
"closest to the robot" always uses the base origin when the camera extrinsics are known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...core.language import senses
from ...core.language.colors import (
    BASE_COLORS,
    BASE_SYNONYMS,
    FIT_TIE,
    color_fit,
    shade_fit,
    tint_fits,
)
from ...core.language.frames import SPATIAL_FRAMES, check_frame
from ...core.language.phrasing import noun_phrase, which_question, with_article
from ...core.language.reference import Reference, ReferenceError, parse_reference
from ...core.language.vocabulary import GENERIC_WORDS, SHAPE_WORDS, SUPERLATIVE_AXES
from ..perception.describe import DISH_MIN_WIDTH_M
from ..perception.tabletop import DetectedObject
from .synonyms import default_resolver

__all__ = [
    "COLOR_WORDS",
    "GENERIC",
    "SHAPE_WORDS",
    "SUPERLATIVES",
    "Reference",
    "ReferenceError",
    "Resolution",
    "ground",
    "parse_reference",
    "resolve",
    "warm_up",
]

COLOR_WORDS = {c: [c] + [w for w, b in BASE_SYNONYMS.items() if b == c] for c in BASE_COLORS}
GENERIC = set(GENERIC_WORDS)
SUPERLATIVES = SUPERLATIVE_AXES
FRAMES = SPATIAL_FRAMES
# key values closer than this cannot tell two objects apart
TIE = {"lateral_camera": 6.0, "lateral_robot": 0.015, "depth_camera": 0.015, "depth_robot": 0.015,
       "near": 0.015, "robot": 0.015, "height": 0.005, "distance": 0.01}
SIZE_TIE = 0.12  # relative

senses.install(default_resolver)


@dataclass(frozen=True)
class Resolution:
    """Objects a reference picks out, best first, and a question when it does not pick out one.

    Attributes:
        objects: the matches (for a plural reference, all of them).
        question: None when a singular reference names exactly one object; otherwise what to ask
            ("I see two red blocks: the one on the left or the one on the right?", "I don't see a
            purple bowl").
    """

    objects: tuple[DetectedObject, ...]
    question: str | None = None

    @property
    def found(self) -> DetectedObject | None:
        """The object when it is unambiguous."""
        return self.objects[0] if self.objects and self.question is None else None


def _size(o: DetectedObject) -> float:
    """Volume estimate by shape (a partial view shortens the short footprint side of round things)."""
    long_, short = o.footprint_size
    h = max(o.height_m, 0.005)
    if o.shape == "sphere":
        return float(np.pi / 6 * h**3)
    if o.shape in ("cylinder", "bowl", "plate"):
        return float(np.pi / 4 * long_**2 * h)
    return float(long_ * short * h)


def _lateral(o: DetectedObject, frame: str, mask_mean: bool = True) -> float | None:
    """Grows to the right: image u (camera), -y of the base (robot)."""
    if frame == "robot":
        return None if o.centroid_base is None else -float(o.centroid_base[1])
    return float(np.nonzero(o.mask)[1].mean()) if mask_mean else float(o.pixel[0])


def _depth(o: DetectedObject, frame: str) -> float | None:
    """Grows away from the viewer: camera depth (camera), base x (robot)."""
    if frame == "robot":
        return None if o.centroid_base is None else float(o.centroid_base[0])
    return float(o.centroid_cam[2])


def _key(o: DetectedObject, axis: str, frame: str) -> float | None:
    if axis == "lateral":
        return _lateral(o, frame)
    if axis == "depth":
        return _depth(o, frame)
    if axis == "robot" or (axis == "near" and frame == "robot"):
        return None if o.centroid_base is None else float(np.linalg.norm(o.centroid_base[:2]))
    if axis == "near":
        return float(o.centroid_cam[2])
    if axis == "height":
        return float(o.height_m)
    return _size(o)


def _tied(a: float, b: float, axis: str, frame: str) -> bool:
    if axis == "size":
        return abs(a - b) <= SIZE_TIE * max(abs(a), abs(b), 1e-12)
    return abs(a - b) <= TIE.get(f"{axis}_{frame}", TIE.get(axis, 0.0))


def _tint_fits(ref: Reference, o: DetectedObject, rivals: list[DetectedObject] | tuple = ()) -> bool:
    """An off-palette colour word ("teal") fits the object's measured colour (no such word: True),
    and, among ``rivals`` that it fits, it is one of the best fits (``_best_tints``): a blue block is
    no navy ball beside a ball that is navy."""
    if not ref.tints:
        return True
    if not all(tint_fits(t, o.rgb_median, _paint_rgb(o)) for t in ref.tints):
        return False
    fitting = [r for r in rivals if r is not o and all(tint_fits(t, r.rgb_median, _paint_rgb(r)) for t in ref.tints)]
    return not fitting or any(b is o for b in _best_tints(ref, [o, *fitting]))


def _paint_rgb(o: DetectedObject) -> np.ndarray:
    """Its paint's hue (the median chromaticity of its pixels) at the brightness it was seen (the
    sum of its measured colour): a mint ball in bright light measured (180, 255, 210), its green
    clipped, which reads a bluer, paler hue than its paint's (0.26, 0.43, 0.31)."""
    return np.asarray(o.paint(), float) * float(np.sum(o.rgb_median))


def _best_tints(ref: Reference, objs: list[DetectedObject]) -> list[DetectedObject]:
    """The objects an off-palette colour word fits best: the word's paint in the light that suits it
    best (``shade_fit``: a dim mint can over a saturated green one, a dim khaki block over a yellow
    one) and, among those within FIT_TIE of the best, its colour as measured (``color_fit``: an olive
    block over a yellow one that is olive-like only darkened), within FIT_TIE of the best."""
    shade = {id(o): max(shade_fit(t, _paint_rgb(o)) for t in ref.tints) for o in objs}
    best = min(shade.values(), default=0.0)
    objs = [o for o in objs if shade[id(o)] - best < FIT_TIE]
    fit = {id(o): max(color_fit(t, o.rgb_median) for t in ref.tints) for o in objs}
    best = min(fit.values(), default=0.0)
    return sorted((o for o in objs if fit[id(o)] - best < FIT_TIE), key=lambda o: fit[id(o)])


def _looks(ref: Reference, objects: list[DetectedObject]) -> list[DetectedObject]:
    """Objects of the reference's colours, shape and size; off-palette colour words by measured colour.

    Where the exact readings are fewer than the words presuppose (none at all, or one for "the
    rightmost cube" / "the second cube", which speak of several), objects whose shape perception
    also found plausible (a box with clipped corners read as a can) are candidates too."""
    cands = [o for o in objects if (not ref.colors or o.color in ref.colors) and (ref.shape is None or o.shape == ref.shape)
             and _tint_fits(ref, o)]
    need = max(2, ref.ordinal or 0) if (ref.superlative or ref.ordinal is not None) and ref.shape else 1
    if len(cands) < need:  # counted among the objects the colour word fits (an orange ball is no navy one)
        cands += [o for o in objects if (not ref.colors or o.color in ref.colors)
                  and ref.shape is not None and ref.shape != o.shape and ref.shape in o.maybe_shapes]
    if ref.tints:
        cands = [o for o in cands if _tint_fits(ref, o)]
        if cands and not ref.plural:  # the best fit, and whatever fits as well as it
            cands = _best_tints(ref, cands)
        else:
            cands.sort(key=lambda o: max(color_fit(t, o.rgb_median) for t in ref.tints))
    if ref.shape == "cylinder" and len(cands) > 1:
        # a can as wide as a dish that may be a bowl (its inside hidden behind its near wall) is no
        # rival of a can-sized one: "the orange can" beside an orange bowl seen from low
        firm = [o for o in cands if not ("bowl" in o.maybe_shapes and o.footprint_size[0] > DISH_MIN_WIDTH_M)]
        cands = firm or cands
    if ref.size and len(cands) > 1:
        med = np.median([_size(o) for o in objects])
        keep = [o for o in cands if (_size(o) >= med) == (ref.size == "big")]
        cands = keep or sorted(cands, key=_size, reverse=ref.size == "big")[:1]
    return cands


def _ground(ref: Reference, objects: list[DetectedObject], frame: str
            ) -> tuple[list[DetectedObject], tuple[list[DetectedObject], str, str] | None]:
    """(matches best first, (tied objects, tie kind, axis telling them apart) when the deciding
    criterion cannot tell the best ones apart)."""
    if ref.anchor is not None and ref.relation == "except":
        excluded = {id(o) for o in _ground(ref.anchor, objects, frame)[0]}
        inner = replace(ref, relation=None, anchor=None)
        return _ground(inner, [o for o in objects if id(o) not in excluded], frame)
    cands = _looks(ref, objects)
    tie = None
    if ref.anchor is not None:
        cands, tie = _related(ref, cands, objects, frame)
    if ref.superlative:
        axis, how = SUPERLATIVE_AXES[ref.superlative]
        if any(_key(o, axis, frame) is None for o in cands):
            return [], None
        if cands:
            ranked = sorted(cands, key=lambda o: _key(o, axis, frame), reverse=how == "max")
            if how == "median":
                ranked = [ranked[(len(ranked) - 1) // 2]] + ranked[: (len(ranked) - 1) // 2] + ranked[(len(ranked) + 1) // 2:]
                tie = (ranked[:2], "middle", "depth") if len(ranked) % 2 == 0 else None
            elif len(ranked) > 1 and _tied(_key(ranked[0], axis, frame), _key(ranked[1], axis, frame), axis, frame):
                tie = (ranked[:2], ref.superlative, "depth" if axis == "lateral" else "lateral")
            else:
                tie = None
            cands = ranked[:1]
    if ref.ordinal is not None:
        order = ref.order or "left"
        axis = "lateral" if order in ("left", "right") else "depth"
        if any(_key(o, axis, frame) is None for o in cands):
            return [], None
        ranked = sorted(cands, key=lambda o: _key(o, axis, frame), reverse=order in ("right", "back"))
        i = ref.ordinal - 1 if ref.ordinal > 0 else len(ranked) + ref.ordinal
        if not 0 <= i < len(ranked):
            return [], None
        near = [ranked[j] for j in (i - 1, i + 1) if 0 <= j < len(ranked)
                and _tied(_key(ranked[j], axis, frame), _key(ranked[i], axis, frame), axis, frame)]
        tie = ([ranked[i]] + near[:1], f"ordinal:{order}", "depth" if axis == "lateral" else "lateral") if near else None
        cands = [ranked[i]]
    return cands, tie


def _related(ref: Reference, cands: list[DetectedObject], objects: list[DetectedObject], frame: str):
    """Candidates standing in ``ref.relation`` to its anchor, nearest first (farthest for ``far``)."""
    anchors = ground(ref.anchor, objects, frame)
    if not anchors:
        return [], None
    a = anchors[0]
    cands = [o for o in cands if o is not a]
    if ref.relation == "between":
        others = ground(ref.anchor2, objects, frame) if ref.anchor2 is not None else []
        b = next((o for o in others if o is not a), None)
        if b is None:
            return [], None
        cands = [o for o in cands if o is not b]
        ab = b.centroid_cam - a.centroid_cam
        span = float(ab @ ab) or 1e-9
        cands = [o for o in cands if 0.1 <= float((o.centroid_cam - a.centroid_cam) @ ab) / span <= 0.9]
        mid = (a.centroid_cam + b.centroid_cam) / 2
        dist = (lambda o: float(np.linalg.norm(o.centroid_cam - mid)))
    else:
        dist = (lambda o: float(np.linalg.norm(o.centroid_cam - a.centroid_cam)))
    if ref.relation in ("left", "right"):
        au = _lateral(a, frame, mask_mean=False)
        if au is None or any(_lateral(o, frame, False) is None for o in cands):
            return [], None
        cands = [o for o in cands if (_lateral(o, frame, False) < au) == (ref.relation == "left")]
    elif ref.relation in ("front", "behind"):
        ad = _depth(a, frame)
        if ad is None or any(_depth(o, frame) is None for o in cands):
            return [], None
        cands = [o for o in cands if (_depth(o, frame) < ad) == (ref.relation == "front")]
    cands.sort(key=dist, reverse=ref.relation == "far")
    tie = None
    if not ref.plural and len(cands) > 1:
        if ref.relation != "far" and _tied(dist(cands[0]), dist(cands[1]), "distance", frame):
            tie = (cands[:2], f"relation:{ref.relation}", "lateral")
        cands = cands[:1]
    return cands, tie


def ground(ref: Reference, objects: list[DetectedObject], spatial_frame: str = "camera") -> list[DetectedObject]:
    """Objects matching a reference, best first (empty when none). A singular reference with a
    relation, superlative or ordinal gives one object; otherwise every match.

    Raises:
        ValueError: an unknown ``spatial_frame`` (camera | robot).
    """
    return _ground(ref, objects, check_frame(spatial_frame))[0]


def resolve(ref: Reference, objects: list[DetectedObject], spatial_frame: str = "camera") -> Resolution:
    """``ground`` plus a question back: several matches for a singular reference with nothing to
    tell them apart, a superlative or ordinal that does not decide, or nothing matching.

    Raises:
        ValueError: an unknown ``spatial_frame``.
    """
    found, tie = _ground(ref, objects, check_frame(spatial_frame))
    if not found:
        return Resolution((), _missing(ref, objects, spatial_frame))
    if ref.plural:
        return Resolution(tuple(found))
    if len(found) > 1:
        return Resolution(tuple(found), which_question(ref, len(found), _axis(found, spatial_frame)))
    if tie is not None:
        tied, kind, axis = tie
        what = kind if kind in SUPERLATIVE_AXES else None
        if what is None:
            return Resolution(tuple(tied), which_question(ref, len(tied), _axis(tied, spatial_frame, axis)))
        return Resolution(tuple(tied), which_question(ref, len(tied), _axis(tied, spatial_frame, axis), tie=what))
    if ref.shape is not None and not (ref.superlative or ref.ordinal is not None or ref.anchor is not None):
        # another object of that colour that may also be that shape (a box read as a can near the
        # threshold): the one exact reading is not enough to act on
        exact = {id(o) for o in found}
        maybe = [o for o in objects if id(o) not in exact and ref.shape in o.maybe_shapes
                 and (not ref.colors or o.color in ref.colors) and _tint_fits(ref, o, found)]
        if maybe:
            both = [*found, *maybe]
            return Resolution(tuple(both), which_question(ref, len(both), _axis(both, spatial_frame)))
    return Resolution(tuple(found))


def _axis(objs: list[DetectedObject], frame: str, prefer: str = "lateral") -> str:
    """The axis along which look-alikes are told apart: the preferred one unless they line up on it."""
    def spread(axis: str) -> float:
        keys = [_key(o, axis, frame) for o in objs]
        if any(k is None for k in keys):
            return 0.0
        scale = 1.0 if axis == "depth" or frame == "robot" else 0.001  # pixels vs metres, roughly
        return (max(keys) - min(keys)) * scale
    other = "depth" if prefer == "lateral" else "lateral"
    return prefer if spread(prefer) >= 0.5 * spread(other) else other


def _missing(ref: Reference, objects: list[DetectedObject], frame: str) -> str:
    """What to say when a reference matches nothing: the innermost part that is not there."""
    if frame == "robot" and any(o.centroid_base is None for o in objects) and (
            ref.superlative or ref.ordinal or ref.relation in ("left", "right", "front", "behind")):
        return "I can't tell sides in the robot's frame: the camera's pose is not known"
    for anchor in (ref.anchor, ref.anchor2):
        if anchor is not None and ref.relation != "except" and not ground(anchor, objects, frame):
            return _missing(anchor, objects, frame)
    plain = replace(ref, relation=None, anchor=None, anchor2=None, superlative=None, ordinal=None, order=None)
    if not _looks(plain, objects):
        # a colour name light can shift (orange reads brown in dim light) is asked about, never assumed
        alike = [o for o in objects if ref.colors & set(o.maybe_colors)
                 and (ref.shape is None or ref.shape == o.shape or ref.shape in o.maybe_shapes)]
        if len(alike) == 1:
            return f"I don't see {with_article(noun_phrase(ref))}; do you mean the {alike[0].color} {alike[0].shape}?"
        return f"I don't see {with_article(noun_phrase(ref))}"
    if ref.ordinal is not None:
        n = len(_ground(replace(ref, ordinal=None, order=None), objects, frame)[0])
        return f"I see only {n} {noun_phrase(ref, many=n != 1)}"
    if ref.superlative and SUPERLATIVE_AXES[ref.superlative][0] == "robot":
        return "I can't tell how far objects are from the robot: the camera's pose is not known"
    return f"I don't see {with_article(noun_phrase(ref, with_relation=True))}"


def warm_up() -> bool:
    """Load the word-similarity model now (it takes seconds) rather than inside the first command's
    time budget; True when it is available."""
    return default_resolver() is not None
