"""When does "X in/on/left of/... Y" hold? One set of rules, applied to objects as perceived (the
agent's own check of its work) and to the simulator's true poses (the task suite's judge).

Frames: positions are bottom centres in the base frame (m). Side relations (left, right, in front
of, behind) are judged in the camera's image, as the spatial words are documented: left/right =
image columns, in front of = nearer the camera (lower in the image), behind = farther.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import project

SIDE_MIN_PX = 10.0       # left/right: at least this many pixels beside the anchor's centre
DEPTH_MIN_PX = 5.0       # front/behind: at least this many pixels
SIDE_MAX_DIST_M = 0.30   # ... and not further than this from the anchor
NEAR_MAX_GAP_M = 0.10    # next to: footprints at most this far apart
SUPPORT_TOL_M = 0.005    # in/on: centre inside the support area (+ this)
SUPPORT_Z_TOL_M = 0.012  # in/on: resting no lower than the support surface (- this)
RAISED_SUPPORT_Z_FRACTION = 0.5  # ... or, on a raised support, no lower than half its height
RAISED_SUPPORT_M = 0.02  # a support whose top is this high (a block, a can; not a dish's floor) is raised
ON_TABLE_MAX_Z_M = 0.03  # a side placement rests on the table
BETWEEN_MAX_OFF_M = 0.06  # between: at most this far from the line joining the anchors
SIDE_MIN_M = 0.02        # robot frame: at least this far beside the anchor's centre
SPATIAL_FRAMES = ("camera", "robot")
COLLATERAL_M = 0.03      # another object moved further than this: collateral


@dataclass(frozen=True)
class Body:
    """An object for relation checks.

    Attributes:
        position: (3,) bottom centre, base frame, m.
        radius_m: footprint radius (largest horizontal extent / 2).
        support_radius_m: radius of the area something placed on/in it may rest on.
        support_height_m: height of that surface above the object's bottom (None: nothing rests on it).
    """

    position: np.ndarray
    radius_m: float
    support_radius_m: float
    support_height_m: float | None


def relation_holds(relation: str, obj: Body, anchor: Body, intrinsics: np.ndarray, extrinsics: np.ndarray,
                   anchor2: Body | None = None, frame: str = "camera") -> tuple[bool, str]:
    """Whether ``obj`` stands in ``relation`` to ``anchor`` (and ``anchor2`` for between), with the
    evidence in words. ``frame``: side relations in the camera's image (``camera``) or in the robot
    base frame (``robot``: left = +y, right = -y, in front of = nearer the robot = -x, behind = +x)."""
    if frame not in SPATIAL_FRAMES:
        raise ValueError(f"spatial frame must be one of {SPATIAL_FRAMES}, got {frame!r}")
    p, a = np.asarray(obj.position, float), np.asarray(anchor.position, float)
    d = float(np.linalg.norm(p[:2] - a[:2]))
    if relation in ("in", "on"):
        if anchor.support_height_m is None:
            return False, "nothing can rest on the anchor"
        # inside a raised support's footprint nothing stands on the table (it would be inside the
        # block): the bottom need only be well above the table, which a measured top (a dark
        # block's reads centimetres off) does not decide to the millimetre
        z_tol = max(SUPPORT_Z_TOL_M, RAISED_SUPPORT_Z_FRACTION * anchor.support_height_m)
        up = p[2] >= a[2] + anchor.support_height_m - z_tol
        # on a raised support (a block, a can) at its top's height, what overlaps its top rests on
        # it: nothing else stands there (a block 2.4 cm off a 5.6 cm cube's centre rests on it, and
        # the camera put it 3.6 cm off, beyond the top's half size)
        reach = anchor.support_radius_m + (obj.radius_m if anchor.support_height_m >= RAISED_SUPPORT_M else 0.0)
        ok = d <= reach + SUPPORT_TOL_M and up
        return ok, f"{d * 100:.1f} cm from the anchor's centre (support radius {anchor.support_radius_m * 100:.1f} cm), " \
                   f"bottom at {p[2] * 100:.1f} cm"
    if p[2] > ON_TABLE_MAX_Z_M:
        return False, f"not resting on the table (bottom at {p[2] * 100:.1f} cm)"
    if relation == "near":
        if d < anchor.radius_m:  # on it (a plate dropped onto the dish it was to go beside), not next to it
            return False, f"within the anchor's footprint ({d * 100:.1f} cm from its centre)"
        gap = d - obj.radius_m - anchor.radius_m
        return gap <= NEAR_MAX_GAP_M, f"{gap * 100:.1f} cm between the footprints"
    if relation == "between":
        if anchor2 is None:
            return False, "between needs two anchors"
        b = np.asarray(anchor2.position, float)
        ab = b[:2] - a[:2]
        n = float(np.linalg.norm(ab))
        if n < 1e-6:
            return False, "the two anchors are the same place"
        s = float(np.dot(p[:2] - a[:2], ab) / n ** 2)
        rel = p[:2] - a[:2]
        off = float(abs(ab[0] * rel[1] - ab[1] * rel[0]) / n)  # distance from the line
        ok = 0.15 <= s <= 0.85 and off <= BETWEEN_MAX_OFF_M
        return ok, f"{s * 100:.0f}% of the way from the first anchor, {off * 100:.1f} cm off the line"
    if d < anchor.radius_m:  # beside it, not on it or in it
        return False, f"within the anchor's footprint ({d * 100:.1f} cm from its centre)"
    if frame == "robot":
        dx, dy = p[:2] - a[:2]
        ok = {"left": dy > SIDE_MIN_M and abs(dy) > abs(dx), "right": dy < -SIDE_MIN_M and abs(dy) > abs(dx),
              "front": dx < -SIDE_MIN_M and abs(dx) > abs(dy), "behind": dx > SIDE_MIN_M and abs(dx) > abs(dy)}.get(relation)
        if ok is None:
            return False, f"unknown relation {relation!r}"
        return bool(ok and d < SIDE_MAX_DIST_M), f"dx={dx * 100:.0f}cm dy={dy * 100:.0f}cm (robot frame), " \
                                                 f"{d * 100:.0f} cm from the anchor"
    uv = project(np.stack([p, a]), intrinsics, extrinsics)
    du, dv = uv[0] - uv[1]
    ok = {"left": du < -SIDE_MIN_PX and abs(du) > abs(dv), "right": du > SIDE_MIN_PX and abs(du) > abs(dv),
          "front": dv > DEPTH_MIN_PX and abs(dv) > abs(du), "behind": dv < -DEPTH_MIN_PX and abs(dv) > abs(du)}.get(relation)
    if ok is None:
        return False, f"unknown relation {relation!r}"
    return bool(ok and d < SIDE_MAX_DIST_M), f"du={du:.0f}px dv={dv:.0f}px, {d * 100:.0f} cm from the anchor"
