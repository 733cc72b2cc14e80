"""Colour names and shape classes of detected segments (geometry and colour rules, no learning)."""

from __future__ import annotations

import colorsys

import numpy as np

from .tabletop import DetectedObject

# hue centres in degrees for chromatic colour words
HUES = {"red": 0.0, "orange": 28.0, "yellow": 55.0, "green": 125.0, "cyan": 185.0, "blue": 225.0, "purple": 280.0,
        "pink": 330.0}

# brown is a less saturated orange: saturation does not change with the light's intensity, brightness
# does (an orange block in dim light is as dark as a brown one in bright light)
BROWN_MAX_SAT = 0.86
BROWN_DARK_V = 0.3


def color_name(rgb: np.ndarray) -> str:
    """Nearest colour word for a (shaded) RGB value in 0..255."""
    r, g, b = (float(c) / 255.0 for c in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    if s < 0.25 or v < 0.2:
        if v < 0.25:
            return "black"
        return "white" if v > 0.72 else "gray"
    hue = h * 360.0
    if 12.0 <= hue <= 45.0 and (s < BROWN_MAX_SAT or v < BROWN_DARK_V):
        return "brown"
    if (hue >= 300.0 or hue < 12.0) and s < 0.6:
        return "pink"
    best = min(HUES, key=lambda k: min(abs(hue - HUES[k]), 360.0 - abs(hue - HUES[k])))
    return best


def color_names(rgb: np.ndarray) -> np.ndarray:
    """``color_name`` of every pixel of an (..., 3) RGB array (0..255), vectorised."""
    x = np.asarray(rgb, dtype=float) / 255.0
    v = x.max(axis=-1)
    c = v - x.min(axis=-1)
    s = np.where(v > 0, c / np.maximum(v, 1e-9), 0.0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    cc = np.maximum(c, 1e-9)
    hue = np.where(v == r, ((g - b) / cc) % 6.0, np.where(v == g, (b - r) / cc + 2.0, (r - g) / cc + 4.0)) * 60.0
    names = list(HUES)
    centres = np.array([HUES[k] for k in names])
    dist = np.abs(hue[..., None] - centres)
    best = np.array(names, dtype=object)[np.argmin(np.minimum(dist, 360.0 - dist), axis=-1)]
    out = best.copy()
    out[(hue >= 300.0) | (hue < 12.0)] = np.where(s[(hue >= 300.0) | (hue < 12.0)] < 0.6, "pink",
                                                   best[(hue >= 300.0) | (hue < 12.0)])
    out[(hue >= 12.0) & (hue <= 45.0) & ((s < BROWN_MAX_SAT) | (v < BROWN_DARK_V))] = "brown"
    achrom = (s < 0.25) | (v < 0.2)
    out[achrom] = np.where(v[achrom] < 0.25, "black", np.where(v[achrom] > 0.72, "white", "gray"))
    return out


SPHERE_NOISY_RMS_M = 0.0025  # a ball's fit residual under sensor noise (cans and blocks measured above)
SPHERE_MAX_CORNERS = 0.045  # ... and its whole footprint without a box's corners
BOX_CORNERS = 0.036       # corner strength of a top face from which on it is a box's (a disc's is ~0)
# box vs can: the mean corner strength of the top face and of the whole footprint (each alone is
# noisy on a small segment: a far block's 300 px). On 686 development-scene segments of blocks and
# cans (modelled sensor) it misnames 29 where the top face alone at BOX_CORNERS misnamed 34, and
# leaves 2 of them outside SHAPE_MARGIN (9 before) while leaving fewer correct ones open (86, 92)
BOX_SCORE = 0.031
SHAPE_MARGIN = 0.010      # box vs cylinder: a score this close to BOX_SCORE leaves both open
SPHERE_WIDE_FIT = 1.2  # a fitted ball up to this much wider than the segment is tall may be one
SPHERE_LOOSE_RMS_M = 0.004  # a rounder fit than this, a round footprint and height ~ width: maybe a sphere
SHADE_FACTORS = (0.75, 1.3)  # the same paint under dimmer / brighter light
ROUND_SILHOUETTE = 0.8     # mask area / its enclosing circle's from which on a ball is plausible (a
                           # ball's image outline is a disc from any view: 0.67-0.91 measured, half
                           # of them above 0.8; blocks and cans up to 0.77)


BOXY_SILHOUETTE = 0.65     # a "ball" with a block's corners (BOX_SCORE) and an outline this far from a
                           # disc may be a block: far 4 cm blocks read as balls at 0.46 and 0.63 (corners
                           # 0.044, 0.061); of 148 balls on development scenes (clutter, cameras, look-alikes,
                           # side relations) none with corners under 0.666
CAN_MIN_ROUNDNESS = 0.72  # a lit "can" whose footprint's short side is under this part of its long
                          # side may be a block (136 lit cans on development scenes: 0.74 and up;
                          # blocks from 0.65; a block with faint corners read 0.69)
SMALL_SEGMENT_PX = 160    # a block, can or ball seen in fewer pixels (in a 640x480 image: far and low,
                           # 118-154 px measured) has too few points for its shape: all three stay open
SPARSE_DEPTH = 0.6        # a segment with depth on fewer of its pixels (black paint: 0.2-0.5 measured,
                           # others 0.89 and up) has its top face filled in, its corners unknown
DISH_MIN_WIDTH_M = 0.09   # round and wider than this: a bowl or a plate (as in shape_name)
DISH_MIN_ROUNDNESS = 0.6  # a dish's footprint: its short side at least this part of its long side
PLATE_MAX_HEIGHT_M = 0.028  # a dish lower than this is a plate, else a bowl
# ... and a dark one's: its height comes from the few pixels that return depth, raised by their
# noise (black plates on development scenes: 1.8-2.9 cm with 8-44% of their pixels; black bowls
# 5.3-5.6 cm). At the lit threshold a black plate read 2.1 cm in one frame and 2.9 cm, a bowl, in the next
DARK_PLATE_MAX_HEIGHT_M = 0.038


def shape_name(o: DetectedObject) -> str:
    """box | cylinder | sphere | bowl | plate, from the segment's 3D geometry."""
    long_, short = o.footprint_size
    # dishes are round: a wide footprint that is long and thin, or has a box's corners, is a slab
    # (unless the paint is too dark for a full footprint: its outline is then not to be trusted)
    dish = long_ > DISH_MIN_WIDTH_M and (o.depth_coverage < SPARSE_DEPTH or (
        short > DISH_MIN_ROUNDNESS * long_ and o.footprint_corners < BOX_CORNERS))
    if dish and o.height_m < (DARK_PLATE_MAX_HEIGHT_M if o.depth_coverage < SPARSE_DEPTH else PLATE_MAX_HEIGHT_M):
        return "plate"
    if long_ > DISH_MIN_WIDTH_M and o.height_m < PLATE_MAX_HEIGHT_M and o.footprint_corners < BOX_CORNERS:
        return "plate"  # wide, low and without corners, but not round: a plate partly hidden (by a can before it)
    if dish and o.centre_low_fraction > 0.35:
        return "bowl"
    if o.sphere_rms_m < 0.0015 and abs(2 * o.sphere_radius_m - o.height_m) < 0.25 * o.height_m:
        return "sphere"
    if (o.sphere_rms_m < SPHERE_NOISY_RMS_M and 0.78 * o.height_m <= 2 * o.sphere_radius_m <= 1.05 * o.height_m
            and o.footprint_corners < SPHERE_MAX_CORNERS):
        return "sphere"  # a noisy sensor roughens a ball; its fit is still tall as wide, its footprint round
    return "box" if box_score(o) >= BOX_SCORE else "cylinder"


def box_score(o: DetectedObject) -> float:
    """How much a block's corners show: the mean of the top face's and the footprint's corner strength."""
    return (o.corners + o.footprint_corners) / 2


def silhouette_roundness(mask: np.ndarray) -> float:
    """The mask's area over its smallest enclosing circle's (1 disc, ~0.6 a square's view)."""
    import cv2

    ys, xs = np.nonzero(mask)
    if len(xs) < 10:
        return 0.0
    _, r = cv2.minEnclosingCircle(np.stack([xs, ys], axis=1).astype(np.float32))
    return float(len(xs) / (np.pi * (r + 0.5) ** 2))


def maybe_ball(o: DetectedObject) -> bool:
    """Whether a segment read as a block or a can may be a ball: its outline in the image is a disc
    (from any view), or its sphere fit is round with a footprint as wide as it is tall, or a noisy
    fit is about as tall as wide (a ball seen from the side shows half its footprint, 4.7 by 3.2 cm
    for a 4.8 cm ball, and a noisy sensor may fit it a little wide, 5.4 cm)."""
    long_, short = o.footprint_size
    h = o.height_m
    if o.sphere_rms_m < SPHERE_LOOSE_RMS_M and short > 0.75 * long_ and abs(h - long_) < 0.3 * max(h, long_):
        return True
    if o.sphere_rms_m < SPHERE_NOISY_RMS_M and 0.78 * h <= 2 * o.sphere_radius_m <= SPHERE_WIDE_FIT * h:
        return True
    return silhouette_roundness(o.mask) >= ROUND_SILHOUETTE


def other_shapes(o: DetectedObject) -> frozenset[str]:
    """Shapes the cues do not rule out besides ``o.shape`` (a real sensor's missing pixels clip a
    box's corners, roughen a sphere; a dark ball returns too little depth for its 3D shape, yet
    its outline in the image is a disc; a wide low "can" may be a bowl whose inside is hidden)."""
    out = set()
    small = {"box", "cylinder", "sphere"}
    if o.shape in small and o.area_px < SMALL_SEGMENT_PX * o.mask.size / (640 * 480):
        return frozenset(small - {o.shape})  # a few hundred noisy points: the shape is a guess
    if o.shape in ("box", "cylinder") and maybe_ball(o):
        out.add("sphere")
    long_, short = o.footprint_size
    if o.shape == "cylinder" and long_ > DISH_MIN_WIDTH_M:
        out.add("bowl")  # seen from low across the table a bowl's inside is hidden behind its near wall
    if o.shape == "cylinder" and o.depth_coverage >= SPARSE_DEPTH and short < CAN_MIN_ROUNDNESS * long_:
        out.add("box")  # a can's footprint is round, however few corners a block's top face shows
    if o.shape in ("box", "cylinder") and (abs(box_score(o) - BOX_SCORE) < SHAPE_MARGIN
                                           or o.depth_coverage < SPARSE_DEPTH):
        out |= {"box", "cylinder"}  # near the corner threshold, or a dark object's 3D shape guessed
    if o.shape == "sphere":
        out.add("cylinder")
        if box_score(o) >= BOX_SCORE and silhouette_roundness(o.mask) < BOXY_SILHOUETTE:
            out.add("box")  # a block's corners and an outline no ball shows
    return frozenset(out - {o.shape})


def other_colors(rgb: np.ndarray) -> frozenset[str]:
    """Colour names of the same paint a little darker or lighter (orange reads brown in dim light)."""
    base = color_name(rgb)
    return frozenset(color_name(np.clip(np.asarray(rgb, float) * f, 0, 255)) for f in SHADE_FACTORS) - {base}


def segment_color(o: DetectedObject, rgb: np.ndarray | None = None) -> str:
    """The colour name of a segment: the name most of its lit pixels take when most of them are
    colourful (a grey block standing in an orange bowl, one segment with it, does not turn the bowl
    brown), else the name of its lit faces' mean colour (white, grey and black objects)."""
    if rgb is not None:
        px = np.asarray(rgb)[o.mask].astype(float)
        lit = px[px.max(axis=1) >= DOMINANT_MIN_V * 255.0]
        if len(lit) >= DOMINANT_MIN_SHARE * len(px):  # a dark object's few lit pixels are highlights
            names = color_names(lit)
            colourful = names[~np.isin(names, ACHROMATIC)]
            if len(colourful) >= DOMINANT_MIN_SHARE * len(lit):
                values, counts = np.unique(colourful, return_counts=True)
                return str(values[int(np.argmax(counts))])
    return color_name(o.rgb_median)


ACHROMATIC = ("white", "gray", "black")
DOMINANT_MIN_V = 0.3       # pixels darker than this are shade, not paint
DOMINANT_MIN_SHARE = 0.5


def describe(objects: list[DetectedObject], k: np.ndarray | None = None, axes: np.ndarray | None = None,
             plane: np.ndarray | None = None, rgb: np.ndarray | None = None) -> None:
    """Fill in ``color`` and ``shape`` of each object (in place). With the camera intrinsics and
    the table frame, a container's point moves to the centre of its floor (where things go); with
    the colour image, colours are named from the segment's pixels (``segment_color``)."""
    for o in objects:
        o.color = segment_color(o, rgb)
        o.shape = shape_name(o)
        o.maybe_shapes = other_shapes(o)
        o.maybe_colors = other_colors(o.rgb_median)
        if o.shape in ("bowl", "plate") and k is not None and axes is not None and plane is not None:
            n, d = plane[:3], plane[3]
            floor = o.footprint_centre[0] * axes[:, 0] + o.footprint_centre[1] * axes[:, 1] - d * n + 0.008 * n
            u = int(floor[0] / floor[2] * k[0, 0] + k[0, 2])
            v = int(floor[1] / floor[2] * k[1, 1] + k[1, 2])
            if 0 <= v < o.mask.shape[0] and 0 <= u < o.mask.shape[1] and o.mask[v, u]:
                o.pixel = (u, v)
