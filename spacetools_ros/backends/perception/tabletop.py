"""Objects on a table from one RGB-D frame: RANSAC table plane, points above it, image-space
clustering split at depth discontinuities, then colour/depth region growing of each segment.

Works on any pinhole RGB-D camera (simulated or real); ground truth is never used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.camera import CameraFrame, backproject


@dataclass(frozen=True)
class PerceptionConfig:
    """Thresholds (metres, pixels)."""

    min_height_m: float = 0.005        # above the table plane
    max_height_m: float = 0.32         # taller clusters are the robot, not objects
    max_float_m: float = 0.035         # segments whose lowest point is higher do not stand on the table ...
    top_view_max_m: float = 0.2        # ... unless seen from above: only a top face this low or lower, ...
    top_view_table_around: float = 0.65  # ... with this much of the pixels around it table (a box or can
                                       #     under a camera looking straight down shows no side faces;
                                       #     0.76 around a black box at 80 deg elevation; the top of a
                                       #     box in a bowl has the bowl around it, an object in the hand
                                       #     is held far higher)
    depth_jump_m: float = 0.015        # splits touching segments at depth discontinuities
    min_pixels: int = 60               # at 640x480; scaled with the image's pixel count (a smaller image
                                       # shows the same object with fewer pixels)
    ransac_iters: int = 200
    plane_tol_m: float = 0.004
    grow_color_dist: float = 45.0      # RGB distance for region growing
    grow_iters: int = 4
    robot_base_radius_m: float = 0.22  # clusters centred this close to the base origin are the robot
    min_forward_m: float = 0.08        # ... or behind the base's front (base x below this) are not objects
    max_reach_m: float = 1.0           # ... nor clusters centred further from the base than this: at the
                                       #     table's far corners grazing depth noise raises phantom bumps
    min_table_around: float = 0.62     # ... nor segments whose surrounding pixels are less than this
                                       #     part table or objects: the table's own edge, where grazing
                                       #     depth rose 2 cm over the floor beyond it (0.47-0.56 measured
                                       #     there, 0.69 and up around 234 objects of development scenes)
    ring_px: int = 4                   # ... the surrounding pixels: this wide a ring around the segment
    table_like_max_height_m: float = 0.03  # ... nor low segments with depth on under this part of their
    table_like_max_coverage: float = 0.6   #     pixels whose colour is the table's around them (within
    table_like_rgb_dist: float = 30.0      #     this RGB distance): the table's own far edge, where
                                           #     grazing depth rose 2 cm (seen from behind the robot)
    table_hole_chroma_dist: float = 0.03  # pixels without depth this near the table's chromaticity count
                                       # as table around a segment (glare on a glossy top, seen from above)
    top_view_lower_m: float = 0.01     # ... and, under a camera looking down (its axis within
    looking_down_deg: float = 20.0     #     this of the table's normal), pixels this much lower than
                                       #     it: a box in a bowl shows only its top face from there,
                                       #     with the bowl's floor around it (2 of 8 scenes missed it)
    unseen_support_min: float = 0.5    # ... or, with this much of the pixels just below it surfaces the
                                       # sensor returned no depth for (a block on a black block: 0.73)
    own_hole_chroma_dist: float = 0.05  # ... and so do those of the segment's own paint (its side
                                       # faces, too steep for depth)
    own_holes_min_chroma: float = 0.08  # ... when that paint is this colourful (chromaticity from grey:
                                       # 0.25 for a purple bowl half in glare; the dark grey bump of
                                       # grazing depth at the table's edge, 0.03, over a floor as dark)
    split_hue_deg: float = 40.0        # two colour clusters this far apart in hue split a segment
    split_min_chroma: float = 15.0     # ... when both are this colourful (Lab a*b* radius)
    hole_join_px: int = 3              # two segments this close across missing depth ...
    hole_join_chroma_dist: float = 0.04  # ... of the same paint (chromaticity; shading only scales) ...
    hole_join_gap_m: float = 0.012     # ... whose footprints touch: one object
    island_chroma_dist: float = 0.12   # a segment inside another's outline, no higher and at most
    island_max_height_m: float = 0.015  # this high, this near in chromaticity: one dish (its floor lit
                                       # differently from its rim: 0.066 and 0.082 measured from above;
                                       # anything put in a dish stands higher)
    container_max_m: float = 0.21      # two such parts spanning at most this, one of them large, ...
    container_gap_m: float = 0.03      # ... footprints this close: one container
    rims_min_long_m: float = 0.06      # ... or both parts this long, the two together at most
    rims_span_ratio: float = 1.25      # ... this many times the longer one, at most
    rims_gap_m: float = 0.08           # ... this far apart (a black plate's rims were 3.5 cm apart)


def _ring(mask: np.ndarray, ring_px: int) -> np.ndarray:
    """The ``ring_px``-wide ring of pixels around ``mask``."""
    import cv2

    k = 2 * ring_px + 1
    return cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool) & ~mask


def _around(mask: np.ndarray, support: np.ndarray, ring_px: int) -> float:
    """The part of the ring of pixels around ``mask`` that ``support`` covers."""
    ring = _ring(mask, ring_px)
    return float(support[ring].mean()) if ring.any() else 0.0


def _chroma_dist(rgb_a: np.ndarray, rgb_b: np.ndarray) -> np.ndarray | float:
    """Distance between chromaticities (r, g, b) / (r + g + b) of colours along the last axis
    (broadcast): shading scales a paint's colour, not its chromaticity."""
    a, b = np.asarray(rgb_a, np.float32), np.asarray(rgb_b, np.float32)
    return np.linalg.norm(a / (a.sum(axis=-1, keepdims=True) + 1e-6) - b / (b.sum(axis=-1, keepdims=True) + 1e-6), axis=-1)


def _table_colour_mask(rgb: np.ndarray, table_mask: np.ndarray, max_chroma_dist: float) -> np.ndarray:
    """The pixels of the table's paint (chromaticity within ``max_chroma_dist`` of the median of the
    pixels seen as table, brightness within a factor of 2; glare only brightens): where the sensor
    returned no depth, these are most likely table (glare on a glossy top)."""
    seen = rgb[table_mask]
    if len(seen) < 100:
        return np.zeros(table_mask.shape, bool)
    ref = np.median(seen[:: max(1, len(seen) // 5000)].astype(np.float32), axis=0)
    ratio = (rgb.astype(np.float32).sum(axis=2) + 1e-6) / (ref.sum() + 1e-6)
    return (_chroma_dist(rgb, ref) <= max_chroma_dist) & (ratio >= 0.5) & (ratio <= 2.0)


def _table_coloured(mask: np.ndarray, rgb: np.ndarray, table_mask: np.ndarray, ring_px: int, max_dist: float) -> bool:
    """Whether the segment's median colour is the table's just around it (within ``max_dist``); in a
    glare spot, where the table around it returned no depth, the table's a little farther out."""
    for width in (ring_px, 4 * ring_px, 16 * ring_px):
        ring = _ring(mask, width) & table_mask
        if ring.sum() >= 10:
            seg = np.median(rgb[mask].astype(float), axis=0)
            return float(np.linalg.norm(seg - np.median(rgb[ring].astype(float), axis=0))) < max_dist
    return False


@dataclass
class DetectedObject:
    """One segment. Points are in the camera optical frame; ``*_base`` in the base frame when known."""

    index: int
    mask: np.ndarray = field(repr=False)
    points_cam: np.ndarray = field(repr=False)
    centroid_cam: np.ndarray
    height_m: float
    rgb_median: np.ndarray            # mean colour of the brightest 30% of the pixels (lit faces)
    pixel: tuple[int, int]            # (u, v) inside the mask, far from its border
    area_px: int
    footprint_centre: np.ndarray      # (2,) in table coordinates
    footprint_size: np.ndarray        # (2,) min-area rectangle sides, metres (long, short)
    footprint_yaw: float
    circularity: float                # hull area / min-area-rect area (1 box, pi/4 disc)
    corners: float                    # corner_strength of the top face (~0.07 box, ~0 disc)
    footprint_corners: float          # corner_strength of the whole footprint
    flat_top_fraction: float          # fraction of points within 8 mm of the top
    centre_low_fraction: float        # fraction of central points well below the top (bowls)
    sphere_rms_m: float               # residual of a least-squares sphere fit beyond the depth noise
    sphere_radius_m: float
    centroid_base: np.ndarray | None = None
    shape: str = "object"
    color: str = "gray"
    maybe_shapes: frozenset[str] = frozenset()  # other readings the cues leave open (near a threshold)
    maybe_colors: frozenset[str] = frozenset()  # colour names of the same paint a little darker/lighter
    depth_coverage: float = 1.0       # fraction of its pixels where the sensor returned depth (before filling)
    top_only: bool = False            # only its top face is seen (a camera looking down on it): it
                                      # stands on the table around it, its bottom is hidden
    chroma_median: np.ndarray | None = None  # median of its pixels' chromaticities (r, g, b) / (r + g + b):
                                      # its paint, whatever the shading and a few pixels of something
                                      # else (None: that of ``rgb_median``)

    def paint(self) -> np.ndarray:
        """Its paint as a chromaticity (r, g, b) / (r + g + b)."""
        if self.chroma_median is not None:
            return self.chroma_median
        c = np.asarray(self.rgb_median, np.float32)
        return c / (float(c.sum()) + 1e-6)


@dataclass
class TableScene:
    """Perception result of one frame."""

    plane: np.ndarray                 # (4,) n.x + d = 0 in the camera frame, n towards the camera
    table_mask: np.ndarray = field(repr=False)
    objects: list[DetectedObject]
    frame: CameraFrame = field(repr=False)
    table_axes: np.ndarray = field(repr=False)  # (3, 3) columns e1, e2, n (camera frame)


def plane_axes(n: np.ndarray) -> np.ndarray:
    """(3, 3) columns e1, e2, n: an orthonormal frame whose third axis is the plane normal."""
    e3 = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(n, e3)
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(n, e1), n], axis=1)


def fit_plane(points: np.ndarray, rng: np.random.Generator, iters: int, tol: float) -> np.ndarray:
    """RANSAC plane (n, d) with n pointing towards the camera (n . p + d = 0)."""
    best, best_count = None, -1
    n_pts = len(points)
    for _ in range(iters):
        a, b, c = points[rng.integers(0, n_pts, 3)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-9:
            continue
        n /= norm
        d = -n @ a
        count = int(np.sum(np.abs(points @ n + d) < tol))
        if count > best_count:
            best, best_count = np.append(n, d), count
    n, d = best[:3], best[3]
    inl = points[np.abs(points @ n + d) < tol]
    # least-squares refinement on the inliers
    c = inl.mean(axis=0)
    _, _, vt = np.linalg.svd(inl - c, full_matrices=False)
    n = vt[2]
    d = -n @ c
    if d < 0:  # the camera (origin) is on the positive side
        n, d = -n, -d
    return np.append(n, d)


def fit_sphere(p: np.ndarray) -> tuple[float, float]:
    """Least-squares sphere through points; returns (rms residual, radius), metres."""
    a = np.hstack([2 * p, np.ones((len(p), 1))])
    b = (p**2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    c = sol[:3]
    r = float(np.sqrt(max(sol[3] + c @ c, 0.0)))
    rms = float(np.sqrt(np.mean((np.linalg.norm(p - c, axis=1) - r) ** 2)))
    return rms, r


def corner_strength(uv: np.ndarray, n_rays: int = 72) -> float:
    """How square an outline is: the 4th angular harmonic of the convex hull's radius about its
    centroid, relative to the mean radius (about 0.07 for a square, even with rounded corners, 0
    for a disc). Stretching an outline along one direction (a noisy sensor smears points along its
    rays) adds a 2nd harmonic and hardly changes the 4th, so a box's top stays a box."""
    import cv2

    hull = cv2.convexHull(np.asarray(uv, np.float32)).reshape(-1, 2).astype(np.float64)
    if len(hull) < 3:
        return 0.0
    x, y = hull[:, 0], hull[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-12:
        return 0.0
    c = np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (6.0 * area)
    th = np.linspace(0.0, 2.0 * np.pi, n_rays, endpoint=False)
    d = np.stack([np.cos(th), np.sin(th)], axis=1)[:, None, :]      # (K, 1, 2) ray directions
    a = (hull - c)[None]                                            # (1, J, 2) edge starts
    e = (np.roll(hull, -1, axis=0) - hull)[None]                    # (1, J, 2) edge vectors

    def cr(p, q):
        return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]

    den = cr(d, e)
    ok = np.abs(den) > 1e-12
    safe = np.where(ok, den, 1.0)
    s, u = cr(a, e) / safe, cr(a, d) / safe
    r = np.where(ok & (s > 0) & (u >= -1e-9) & (u <= 1 + 1e-9), s, 0.0).max(axis=1)
    return float(abs((r * np.exp(-4j * th)).sum()) / max(r.sum(), 1e-12))


def denoise_depth(depth_m: np.ndarray) -> np.ndarray:
    """Edge-preserving smoothing of a sensor depth image (bilateral, 1 cm range scale, 5x5), like a
    camera driver's spatial filter; pixels without depth (0 or non-finite) stay 0."""
    import cv2

    depth = np.asarray(depth_m, dtype=np.float32)
    valid = np.isfinite(depth) & (depth > 0)
    clean = np.where(valid, depth, 0.0).astype(np.float32)
    return np.where(valid, cv2.bilateralFilter(clean, 5, 0.01, 2.0), 0.0).astype(np.float32)


_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def fill_holes_by_colour(depth_m: np.ndarray, rgb: np.ndarray, max_iters: int = 12, colour_dist: float = 30.0,
                         min_neighbours: int = 2) -> np.ndarray:
    """Missing depth (0) filled from neighbouring valid pixels of nearly the same colour, grown one
    pixel ring per iteration (at most ``max_iters`` pixels from measured depth). A real sensor leaves
    holes at edges and on dark or shiny paint; the colour image has no holes, so a dark plate with a
    few measured pixels, or a box's corner lost at the depth edge, gets the depth of its own surface
    and not of the table behind it."""
    depth = np.asarray(depth_m, dtype=np.float32).copy()
    col = np.asarray(rgb, dtype=np.float32)
    h, w = depth.shape
    valid = depth > 0
    pad = 1
    shifts = [(slice(pad + dy, pad + dy + h), slice(pad + dx, pad + dx + w)) for dy, dx in _NEIGHBOURS]
    cp = np.pad(col, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    # which neighbour has nearly this pixel's colour does not change while depth is filled in
    similar = [np.abs(cp[sl] - col).sum(axis=2) < colour_dist for sl in shifts]
    for _ in range(max_iters):
        holes = ~valid
        if not holes.any():
            break
        dp = np.pad(depth, pad)
        vp = np.pad(valid, pad)
        total = np.zeros((h, w), np.float32)
        count = np.zeros((h, w), np.int32)
        for sl, same in zip(shifts, similar):
            ok = vp[sl] & same
            total += np.where(ok, dp[sl], 0.0)
            count += ok
        new = holes & (count >= min_neighbours)
        if not new.any():
            break
        depth[new] = total[new] / count[new]
        valid = valid | new
    return depth


def _table_noise(m: np.ndarray, height: np.ndarray, table_mask: np.ndarray, pad_px: int = 20) -> float:
    """Robust std (m) of the table's heights around a segment: the depth noise there (0 when
    fewer than 50 table pixels are near)."""
    ys, xs = np.nonzero(m)
    win = (slice(max(int(ys.min()) - pad_px, 0), int(ys.max()) + pad_px),
           slice(max(int(xs.min()) - pad_px, 0), int(xs.max()) + pad_px))
    h = height[win][table_mask[win]]
    if len(h) < 50:
        return 0.0
    return robust_std(h)


def robust_std(values: np.ndarray) -> float:
    """The standard deviation of normally distributed values estimated from their median absolute
    deviation (outliers do not move it)."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _island(outer: DetectedObject, inner: DetectedObject, max_height_m: float) -> bool:
    """Whether ``inner`` lies inside ``outer``'s outline (its convex hull: the objects are convex, and
    glare may have cut a dish's rim open) and no higher than it: a dish's floor cut off from its rim
    where the floor, barely above the table, reads as table in a ring around it (seen from above).
    Something standing in the dish is taller than ``max_height_m``."""
    import cv2

    if inner.height_m > min(outer.height_m, max_height_m):
        return False
    v, u = np.nonzero(outer.mask)
    hull = cv2.convexHull(np.stack([u, v], axis=1).astype(np.int32))
    filled = np.zeros(outer.mask.shape, np.uint8)
    cv2.fillConvexPoly(filled, hull, 1)
    return bool(filled.astype(bool)[inner.mask].mean() > 0.95)


CLIPPED_LEVEL = 250           # a pixel with a channel this bright may have lost some of it to the camera's range
UNCLIPPED_MIN_SHARE = 0.1     # ... the paint is read from the others when they are at least this share


def colour_stats(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A segment's colour from its (N, 3) RGB pixels: the mean of its brightest 30% (its lit faces,
    what it is named by) and the median of their chromaticities (its paint, which shading does not
    change and a few pixels of something else do not move), of the pixels no channel of which is
    clipped where there are enough of them (a mint ball in bright light, its green clipped in two
    thirds of its pixels, read (0.28, 0.40, 0.32) from all of them, (0.26, 0.44, 0.31) from the
    rest, its paint's (0.26, 0.43, 0.30))."""
    px = np.asarray(px, np.float32)
    br = px.sum(axis=1)
    chroma = px / (br[:, None] + 1e-6)
    unclipped = px.max(axis=1) < CLIPPED_LEVEL
    if unclipped.sum() >= max(MIN_PIXELS_FLOOR, UNCLIPPED_MIN_SHARE * len(px)):
        chroma = chroma[unclipped]
    return px[br >= np.percentile(br, 70)].mean(axis=0), np.median(chroma, axis=0)


def _same_paint(a: DetectedObject, b: DetectedObject, max_chroma_dist: float) -> bool:
    """Two segments that shading alone can turn into each other: the same paint (the median of
    their pixels' chromaticities; the colour of their brightest pixels is that of whatever
    bright thing shares the segment, a light ball against a bowl's wall) and lit colours within
    a factor of 2.5 in brightness."""
    sa, sb = float(np.sum(a.rgb_median)) + 1e-6, float(np.sum(b.rgb_median)) + 1e-6
    return bool(np.linalg.norm(a.paint() - b.paint()) <= max_chroma_dist and 0.4 <= sa / sb <= 2.5)


JOIN_SAMPLE_POINTS = 1000     # of each segment's points, when the gap between two is measured
TOP_ONLY_LOW_PERCENTILE = 2.0  # of a segment's heights: its bottom as far as it is seen
REFERENCE_PIXELS = 640 * 480  # the image size PerceptionConfig's pixel counts are given for
MIN_PIXELS_FLOOR = 12


class TabletopPerception:
    """Segments the objects standing on the dominant plane of an RGB-D frame."""

    def __init__(self, config: PerceptionConfig | None = None, seed: int = 0) -> None:
        self.cfg = config or PerceptionConfig()
        self.seed = seed

    def _min_pixels(self, shape: tuple[int, ...]) -> int:
        """The smallest segment, in pixels, in an image of this shape (``min_pixels`` scaled from 640x480)."""
        return max(MIN_PIXELS_FLOOR, round(self.cfg.min_pixels * shape[0] * shape[1] / REFERENCE_PIXELS))

    def __call__(self, frame: CameraFrame) -> TableScene:
        import cv2

        cfg = self.cfg
        rng = np.random.default_rng(self.seed)
        # a camera looking down: its optical axis within looking_down_deg of the table's normal
        down = bool(frame.extrinsics is not None and frame.extrinsics[2, 2] <= -np.cos(np.radians(cfg.looking_down_deg)))
        depth = fill_holes_by_colour(denoise_depth(frame.depth_m), frame.rgb)
        h, w = depth.shape
        min_px = self._min_pixels(depth.shape)
        pts = backproject(depth, frame.intrinsics)
        valid = np.isfinite(depth) & (depth > 0.05) & (depth < 5.0)
        flat = pts[valid]
        sample = flat[rng.integers(0, len(flat), min(len(flat), 20000))]
        plane = fit_plane(sample, rng, cfg.ransac_iters, cfg.plane_tol_m)
        n, d = plane[:3], plane[3]
        height = np.where(valid, pts @ n + d, 0.0).astype(np.float32)
        table_mask = valid & (np.abs(height) < cfg.min_height_m)
        above = valid & (height >= cfg.min_height_m) & (height < 1.0)
        # cut the mask at depth discontinuities so touching objects separate
        gx = np.abs(np.diff(depth, axis=1, prepend=depth[:, :1]))
        gy = np.abs(np.diff(depth, axis=0, prepend=depth[:1, :]))
        edges = (gx > cfg.depth_jump_m) | (gy > cfg.depth_jump_m)
        cut = above & ~edges
        n_lab, labels = cv2.connectedComponents(cut.astype(np.uint8), connectivity=4)
        axes = plane_axes(n)
        objects: list[DetectedObject] = []
        rgb = frame.rgb.astype(np.float32)
        t_base = frame.extrinsics
        chroma = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32)
        measured = np.isfinite(frame.depth_m) & (frame.depth_m > 0)
        # the table where glare or a dark patch left no depth: its colour, without depth
        table = table_mask | (~valid & _table_colour_mask(frame.rgb, table_mask, cfg.table_hole_chroma_dist))
        # surfaces the sensor returned no depth for that are not the table: dark or shiny objects
        unseen_depth = ~measured & ~table
        for lab in range(1, n_lab):
            m = labels == lab
            if m.sum() < min_px:
                continue
            if height[m].max() > cfg.max_height_m or self._floats(m, height, table, valid, frame.rgb, down, unseen_depth):
                continue  # the robot, or something it holds: not standing on the table
            for part in self._split_colours(m, chroma):
                if self._floats(part, height, table, valid, frame.rgb, down, unseen_depth):
                    continue  # e.g. the top of a box inside a bowl, cut off from its lower faces
                part = self._grow(part, rgb, depth, height, table_mask, above)
                obj = self._describe(len(objects), part, pts, height, rgb, axes, t_base,
                                     _table_noise(part, height, table_mask))
                if obj is None:
                    continue
                if obj.centroid_base is not None and not self._in_workspace(obj.centroid_base):
                    continue
                if _around(part, table | above | self._own_holes(part, frame.rgb, valid, table_mask),
                           cfg.ring_px) < cfg.min_table_around:
                    continue
                if (obj.height_m < cfg.table_like_max_height_m
                        and measured[part].mean() < cfg.table_like_max_coverage
                        and _table_coloured(part, frame.rgb, table_mask, cfg.ring_px, cfg.table_like_rgb_dist)):
                    continue
                obj.top_only = self._top_only(part, height, table, valid, frame.rgb)
                objects.append(obj)
        objects = self._join_across_holes(objects, valid, pts, height, rgb, axes, t_base, table_mask)
        for o in objects:
            o.depth_coverage = float(measured[o.mask].mean())
        return TableScene(plane, table_mask, objects, frame, axes)

    def _own_holes(self, m: np.ndarray, rgb: np.ndarray, valid: np.ndarray, table_mask: np.ndarray) -> np.ndarray:
        """Pixels without depth of the segment's own paint (not the table's): more of it the sensor
        did not see (glare from a camera straight above took half a purple bowl, whose seen half then
        had 42% of its surroundings neither table nor objects, like the table's own edge)."""
        own = np.median(rgb[m].astype(np.float32), axis=0)
        if (_chroma_dist(own, np.ones(3, np.float32)) < self.cfg.own_holes_min_chroma
                or _table_coloured(m, rgb, table_mask, self.cfg.ring_px, self.cfg.table_like_rgb_dist)):
            return np.zeros(m.shape, bool)
        return ~valid & (_chroma_dist(rgb, own) <= self.cfg.own_hole_chroma_dist)

    def _floats(self, m: np.ndarray, height: np.ndarray, table: np.ndarray, valid: np.ndarray, rgb: np.ndarray,
                looking_down: bool, unseen_depth: np.ndarray) -> bool:
        """Whether a segment does not stand on the table: its lowest point is higher than
        ``max_float_m`` and it is neither a top face seen from above (``looking_down``: the camera
        looks down, and what the face stands in or on counts, see ``_top_view``) nor resting on an
        object the sensor returns no depth for (``unseen_depth``; see ``_on_unseen``)."""
        if float(height[m].min()) <= self.cfg.max_float_m:
            return False
        return not (self._top_view(m, height, table, valid, rgb, looking_down) or self._on_unseen(m, height, unseen_depth))

    def _on_unseen(self, m: np.ndarray, height: np.ndarray, unseen_depth: np.ndarray) -> bool:
        """Whether a segment low enough to stand on something (not in the hand) has, just below it
        in the image, mostly a surface without depth that is not the table: a block put on a black
        block, which returns no depth, is cut off from it and would otherwise float."""
        cfg = self.cfg
        if float(height[m].min()) > cfg.top_view_max_m:
            return False
        ring = _ring(m, cfg.ring_px)
        rows = np.nonzero(m)[0]
        below = ring & (np.arange(m.shape[0])[:, None] > 0.5 * (rows.min() + rows.max()))
        return bool(below.any() and unseen_depth[below].mean() >= cfg.unseen_support_min)

    def _top_only(self, m: np.ndarray, height: np.ndarray, table: np.ndarray, valid: np.ndarray, rgb: np.ndarray) -> bool:
        """Whether a segment is (nearly all) a top face seen from above: its bottom (the 2nd
        percentile of its heights) is higher than ``max_float_m``, yet it stands on the table."""
        low = float(np.percentile(height[m], TOP_ONLY_LOW_PERCENTILE))
        return low > self.cfg.max_float_m and self._top_view(m, height, table, valid, rgb)

    def _top_view(self, m: np.ndarray, height: np.ndarray, table: np.ndarray, valid: np.ndarray, rgb: np.ndarray,
                  lower_counts: bool = False) -> bool:
        """Whether a segment above the table is a top face seen from above: low enough (not in the
        hand at home) with ``table`` all around it but for its own side faces where the sensor
        returned no depth (the top of a block on another block has that block around it); with
        ``lower_counts`` (a camera looking down), lower surfaces around it count too (the floor of
        the bowl it stands in, the block it stands on)."""
        cfg = self.cfg
        if float(height[m].min()) > cfg.top_view_max_m:
            return False
        ring = _ring(m, cfg.ring_px)
        if not ring.any():
            return False
        own = np.median(rgb[m].astype(np.float32), axis=0)
        sides = ~valid[ring] & (_chroma_dist(rgb[ring], own) <= cfg.own_hole_chroma_dist)
        support = table[ring] | sides
        if lower_counts:  # ... or what it stands in or on (lower)
            support |= valid[ring] & (height[ring] < float(height[m].min()) - cfg.top_view_lower_m)
        return float(support.mean()) >= cfg.top_view_table_around

    def _in_workspace(self, centre_base: np.ndarray) -> bool:
        """Whether a cluster centred here (base frame) can be an object on the robot's table: not the
        robot's own base, not behind it, within its reach (extended by a margin)."""
        cfg = self.cfg
        r = float(np.linalg.norm(centre_base[:2]))
        return cfg.robot_base_radius_m <= r <= cfg.max_reach_m and float(centre_base[0]) >= cfg.min_forward_m

    def _join_across_holes(self, objects, valid, pts, height, rgb, axes, t_base, table_mask) -> list[DetectedObject]:
        """One object seen as two segments because a real sensor left a band of missing depth through
        it (a bowl's rim): the same colour, masks a few pixels apart across pixels that are mostly
        holes, footprints touching. Touching objects are not joined: between them the depth is valid."""
        import cv2

        cfg = self.cfg
        kernel = np.ones((2 * cfg.hole_join_px + 1,) * 2, np.uint8)
        joined = True
        while joined:
            joined = False
            for i, j in ((i, j) for i in range(len(objects)) for j in range(i + 1, len(objects))):
                a, b = objects[i], objects[j]
                if not _same_paint(a, b, cfg.island_chroma_dist):
                    continue
                island = _island(a, b, cfg.island_max_height_m) or _island(b, a, cfg.island_max_height_m)
                if not island and not _same_paint(a, b, cfg.hole_join_chroma_dist):
                    continue
                da = cv2.dilate(a.mask.astype(np.uint8), kernel).astype(bool)
                db = cv2.dilate(b.mask.astype(np.uint8), kernel).astype(bool)
                band = da & db & ~a.mask & ~b.mask
                # footprints sampled finely enough that the gap is not the sampling's (every third
                # point of a dark bowl's two walls put them 3.1 cm apart, every one 2.7 cm)
                fa = a.points_cam[:: max(1, len(a.points_cam) // JOIN_SAMPLE_POINTS)] @ axes[:, :2]
                fb = b.points_cam[:: max(1, len(b.points_cam) // JOIN_SAMPLE_POINTS)] @ axes[:, :2]
                gap = float(np.min(np.linalg.norm(fa[:, None] - fb[None], axis=2)))
                rim = cv2.convexHull(np.concatenate([fa, fb]).astype(np.float32)).reshape(-1, 2)  # the span's ends
                span = float(np.max(np.linalg.norm(rim[:, None] - rim[None], axis=2)))
                holes_between = bool((da & b.mask).any() and band.any() and np.mean(~valid[band]) >= 0.5)
                # one container seen as its near and far walls (a real sensor's holes at the rim between)
                longest = max(a.footprint_size[0], b.footprint_size[0])
                container = (span <= cfg.container_max_m and longest > 0.06 and not bool(valid.all())
                             and (gap <= cfg.container_gap_m
                                  # ... or its near and far rims, both long, together hardly longer
                                  # than either (a dark plate's floor without depth between them)
                                  or (min(a.footprint_size[0], b.footprint_size[0]) > cfg.rims_min_long_m
                                      and span <= cfg.rims_span_ratio * longest and gap <= cfg.rims_gap_m)))
                if not ((holes_between and gap <= cfg.hole_join_gap_m) or container or island):
                    continue
                m = a.mask | b.mask
                obj = self._describe(i, m, pts, height, rgb, axes, t_base, _table_noise(m, height, table_mask))
                if obj is None:
                    continue
                obj.centroid_base = obj.centroid_base if obj.centroid_base is not None else a.centroid_base
                obj.top_only = a.top_only and b.top_only
                objects = [*objects[:i], obj, *objects[i + 1:j], *objects[j + 1:]]
                joined = True
                break
        for k, o in enumerate(objects):
            o.index = k
        return objects

    def _split_colours(self, m: np.ndarray, chroma: np.ndarray) -> list[np.ndarray]:
        """A segment holding two clearly different hues (a block in a bowl) as one part per colour.
        Shading changes lightness and chroma but hardly hue, so one object stays whole."""
        import cv2

        cfg = self.cfg
        ab = chroma[m] - 128.0
        min_px = self._min_pixels(m.shape)
        if len(ab) < 2 * min_px:
            return [m]
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(self.seed)
        _, lab, centres = cv2.kmeans(ab, 2, None, crit, 2, cv2.KMEANS_PP_CENTERS)
        lab = lab.ravel()
        radius = np.linalg.norm(centres, axis=1)
        hue = np.degrees(np.arctan2(centres[:, 1], centres[:, 0]))
        dhue = abs((hue[0] - hue[1] + 180.0) % 360.0 - 180.0)
        if (radius.min() < cfg.split_min_chroma or dhue < cfg.split_hue_deg
                or min(np.bincount(lab, minlength=2)) < min_px):
            return [m]
        full = np.full(m.shape, -1, np.int32)
        full[m] = lab
        parts = []
        for k in (0, 1):
            n, comp = cv2.connectedComponents((full == k).astype(np.uint8), connectivity=4)
            parts += [comp == i for i in range(1, n) if (comp == i).sum() >= min_px]
        return parts or [m]

    def _grow(self, m, rgb, depth, height, table_mask, above) -> np.ndarray:
        """Add neighbouring pixels of the segment's colour at a continuous depth (recovers the
        strip just above the table and thin rims)."""
        import cv2

        cfg = self.cfg
        col = np.median(rgb[m], axis=0)
        close_col = np.linalg.norm(rgb - col, axis=2) < cfg.grow_color_dist
        kernel = np.ones((3, 3), np.uint8)
        for _ in range(cfg.grow_iters):
            ring = cv2.dilate(m.astype(np.uint8), kernel).astype(bool) & ~m
            if not ring.any():
                break
            # within depth_jump_m of the segment's neighbouring depths (not the table seen behind it)
            deepest = cv2.dilate(np.where(m, depth, 0.0).astype(np.float32), kernel)
            nearest = -cv2.dilate(np.where(m, -depth, -1e6).astype(np.float32), kernel)
            continuous = (depth < deepest + cfg.depth_jump_m) & (depth > nearest - cfg.depth_jump_m)
            ok = ring & close_col & continuous & (height > 0.001) & (above | table_mask)
            if not ok.any():
                break
            m = m | ok
        return m

    def _describe(self, idx, m, pts, height, rgb, axes, t_base, noise_m: float = 0.0) -> DetectedObject | None:
        import cv2

        p = pts[m]
        hts = height[m]
        if len(p) < self._min_pixels(m.shape):
            return None
        top = float(np.percentile(hts, 98))
        # footprint in table coordinates (projection along the normal)
        uv = p @ axes[:, :2]
        hull = cv2.convexHull(uv.astype(np.float32))
        (cx, cy), (sw, sh), ang = cv2.minAreaRect(uv.astype(np.float32))
        rect_area = max(sw * sh, 1e-9)
        circ = float(cv2.contourArea(hull) / rect_area)
        flat_top = float(np.mean(hts > top - 0.008))
        rad = np.linalg.norm(uv - uv.mean(axis=0), axis=1)
        central = rad < 0.5 * max(rad.max(), 1e-6)
        centre_low = float(np.mean(hts[central] < top * 0.5)) if central.any() else 0.0
        dist = cv2.distanceTransform(np.pad(m, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        v, u = np.unravel_index(int(np.argmax(dist)), dist.shape)
        cen = p.mean(axis=0)
        cen_base = None if t_base is None else t_base[:3, :3] @ cen + t_base[:3, 3]
        long_, short = max(sw, sh), min(sw, sh)
        rgb_med, chroma = colour_stats(rgb[m])
        top_pts = uv[hts > top - 0.008]
        corners = footprint_corners = corner_strength(uv)
        if len(top_pts) >= 20:  # the top face alone tells a disc from a rectangle
            _, (tw, th), _ = cv2.minAreaRect(top_pts.astype(np.float32))
            circ = float(cv2.contourArea(cv2.convexHull(top_pts.astype(np.float32))) / max(tw * th, 1e-9))
            corners = corner_strength(top_pts)
        sphere_rms, sphere_r = fit_sphere(p)
        sphere_rms = float(np.sqrt(max(sphere_rms**2 - noise_m**2, 0.0)))  # the part the sensor noise does not explain
        return DetectedObject(idx, m, p, cen, top, rgb_med, (int(u), int(v)), int(m.sum()), np.array([cx, cy]),
                              np.array([long_, short]), float(np.deg2rad(ang)), circ, corners, footprint_corners, flat_top, centre_low,
                              sphere_rms, sphere_r, cen_base, chroma_median=chroma)
