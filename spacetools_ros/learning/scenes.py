"""Seeded random tabletop scenes for task generation: distinct colours, containers, shapes that repeat
(for relational and superlative references), sometimes an object resting in or on another, and, when
a scene must hold a multi-view question, a tall occluder hiding one object from the first camera
while two more cameras look from elsewhere.

Frames: base frame (x forward, y left, z up, metres), as in ``core/scene.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.camera import project
from ..core.scene import Scene, scene_from_dict, scene_to_dict
from ..core.sensor_spec import random_appearance
from ..core.shapes import support_radius_m

IMAGE_W, IMAGE_H = 320, 240       # every camera renders at this size (its scene size: K is exact)
FOV_Y_DEG = 58.0
WORKSPACE_CENTRE = (0.5, 0.0, 0.0)
REGION_X_M = (0.32, 0.70)         # object centres (reachable, clear of the robot base keep-out)
REGION_Y_M = (-0.30, 0.30)
GAP_M = 0.04                      # free space kept between footprints
# colours well apart from each other and from every table top random_appearance draws
PALETTE = ("red", "green", "blue", "yellow", "orange", "purple", "black", "pink", "cyan")
SMALL_SHAPES = ("box", "cylinder", "sphere")
FIT_MARGIN_M = 0.01               # see fit_slack_m
OCCLUDER_GAP_M = 0.02             # between the hidden object's footprint and the occluder
OCCLUDER_DEPTH_M = 0.03
IN_VIEW_MARGIN_PX = 12.0
STACK_PROBABILITY = 0.4
LARGE_BOX_PROBABILITY = 0.5


@dataclass
class SceneDraft:
    """A drawn scene before simulation.

    Attributes:
        scene: the validated scene (``scene_dict`` builds it again).
        scene_dict: ``scene_to_dict(scene)``: what a row stores.
        placements: objects moved after the world is built and before it settles (an object resting
            in or on another cannot be written as a scene file position): [{object, support,
            position (3,), quat_wxyz (4,)}].
        hidden: name of the object the occluder hides from the first camera (multi-view scenes).
        occluder: name of that occluder.
    """

    scene: Scene
    scene_dict: dict
    placements: list[dict] = field(default_factory=list)
    hidden: str | None = None
    occluder: str | None = None


def camera_dict(name: str, azimuth_deg: float, elevation_deg: float, distance_m: float,
                look_at: tuple[float, float, float] = WORKSPACE_CENTRE) -> dict:
    """A camera on a sphere around ``look_at`` looking at it (azimuth 0 = on the +x side, facing the robot)."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    pos = [look_at[0] + distance_m * math.cos(el) * math.cos(az), look_at[1] + distance_m * math.cos(el) * math.sin(az),
           look_at[2] + distance_m * math.sin(el)]
    return {"name": name, "position": [round(v, 5) for v in pos], "look_at": [round(v, 5) for v in look_at],
            "width": IMAGE_W, "height": IMAGE_H, "fov_y_deg": FOV_Y_DEG}


def footprint_radius(shape: str, size: list[float]) -> float:
    """Radius of the circle around an object's footprint (m)."""
    return math.hypot(size[0], size[1]) / 2 if shape == "box" else size[0] / 2


def height_of(shape: str, size: list[float]) -> float:
    """Height above the table (m)."""
    return size[0] if shape == "sphere" else size[-1]


def fit_slack_m(obj_shape: str, obj_size: list[float], container_shape: str, container_size: list[float]) -> float:
    """Room left when an object lies flat inside a dish: the dish's inner diameter (inside its wall,
    ``core/shapes.support_radius_m``) less the diameter of the circle around the object's footprint.
    The fit rule: it fits when the slack is at least ``FIT_MARGIN_M``, it does not when the slack is
    at most ``-FIT_MARGIN_M``; pairs in between are never asked about."""
    from ..core.scene import SceneObject

    dish = SceneObject("c", container_shape, (0.5, 0.5, 0.5), tuple(container_size), (0.5, 0.0))
    return 2.0 * support_radius_m(dish) - 2.0 * footprint_radius(obj_shape, obj_size)


def _small_size(rng: np.random.Generator, shape: str) -> list[float]:
    u = lambda a, b: round(float(rng.uniform(a, b)), 4)  # noqa: E731
    if shape == "box":
        return [u(0.03, 0.075), u(0.03, 0.06), u(0.03, 0.07)]
    if shape == "cylinder":
        return [u(0.03, 0.06), u(0.04, 0.10)]
    return [u(0.035, 0.06)]


def _container_size(rng: np.random.Generator, shape: str) -> list[float]:
    u = lambda a, b: round(float(rng.uniform(a, b)), 4)  # noqa: E731
    return [u(0.10, 0.17), u(0.045, 0.06)] if shape == "bowl" else [u(0.12, 0.19), 0.015]


class _Placer:
    """Objects placed one by one at random free spots of the region."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.objects: list[dict] = []

    def free(self, pos, r: float, skip: tuple[str, ...] = (), gap: float = GAP_M) -> bool:
        return all(math.dist(pos, o["position"]) >= r + footprint_radius(o["shape"], o["size"]) + gap
                   for o in self.objects if o["name"] not in skip)

    def add(self, name: str, shape: str, color: str, size: list[float], yaw_deg: float | None = None,
            pos=None, skip: tuple[str, ...] = ()) -> dict | None:
        r = footprint_radius(shape, size)
        yaw = round(float(self.rng.uniform(-90, 90)), 3) if shape == "box" and yaw_deg is None else (yaw_deg or 0.0)
        for _ in range(1 if pos is not None else 200):
            p = list(pos) if pos is not None else [float(self.rng.uniform(*REGION_X_M)), float(self.rng.uniform(*REGION_Y_M))]
            if self.free(p, r, skip):
                obj = {"name": name, "shape": shape, "color": color, "size": size,
                       "position": [round(p[0], 5), round(p[1], 5)], "yaw_deg": yaw}
                self.objects.append(obj)
                return obj
        return None


def _occluder_for(target: dict, camera: dict, rng: np.random.Generator) -> tuple[list[float], list[float], float] | None:
    """(position, size, yaw_deg) of a box standing between ``target`` and the camera that hides the
    target's top from it: its far face ``OCCLUDER_GAP_M`` from the target's footprint, high enough
    that the ray to the target's farthest top point passes into it, wider than the target."""
    t = np.asarray(target["position"], float)
    c = np.asarray(camera["position"], float)
    to_cam = c[:2] - t
    dist = float(np.linalg.norm(to_cam))
    if dist < 0.3:
        return None
    u = to_cam / dist
    r_t = footprint_radius(target["shape"], target["size"])
    h_t = height_of(target["shape"], target["size"])
    s_far = dist - r_t - OCCLUDER_GAP_M
    h_req = c[2] - (c[2] - h_t) * s_far / (dist + r_t)
    height = round(h_req + float(rng.uniform(0.02, 0.04)), 4)
    width = round(2 * r_t + float(rng.uniform(0.02, 0.04)), 4)
    if height > 0.30 or width > 0.30:
        return None
    centre = t + u * (r_t + OCCLUDER_GAP_M + OCCLUDER_DEPTH_M / 2)
    yaw = math.degrees(math.atan2(u[1], u[0]))
    return [float(centre[0]), float(centre[1])], [OCCLUDER_DEPTH_M, width, height], round(yaw, 3)


def in_view(scene: Scene, margin_px: float = IN_VIEW_MARGIN_PX) -> bool:
    """Every object's bottom and top centre projects inside the first camera's image."""
    cam = scene.camera
    pts = np.array([[*o.position, z] for o in scene.objects for z in (0.0, o.height_m)])
    rel = (pts - np.asarray(cam.position)) @ (np.asarray(cam.look_at) - np.asarray(cam.position))
    uv = project(pts, cam.intrinsics(), cam.extrinsics())
    return bool(np.all(rel > 0) and np.all((uv[:, 0] > margin_px) & (uv[:, 0] < cam.width - margin_px)
                                          & (uv[:, 1] > margin_px) & (uv[:, 1] < cam.height - margin_px)))


def draw_scene(scene_seed: int, attempt: int, multi_view: bool) -> SceneDraft | None:
    """One random scene (deterministic in its arguments); None when this draw does not work out.

    Contents: 1-2 dishes (a bowl and/or a plate), half the time a large low block, 3-5 small objects
    (one shape at least twice), every object its own palette colour; with ``multi_view`` a small
    object hidden behind a tall block from the first camera (``scene``) and two more cameras
    (``side``, ``overhead``)."""
    rng = np.random.default_rng([scene_seed, attempt, 0x5CE7E])
    colours = [str(c) for c in rng.permutation(PALETTE)]
    el_range = (30.0, 45.0) if multi_view else (35.0, 58.0)
    cameras = [camera_dict("scene", float(rng.uniform(-25, 25)), float(rng.uniform(*el_range)),
                           float(rng.uniform(0.85, 1.0)),
                           (round(0.5 + float(rng.uniform(-0.04, 0.04)), 4), round(float(rng.uniform(-0.04, 0.04)), 4), 0.0))]
    if multi_view:
        side = float(rng.choice([-1.0, 1.0]))
        cameras.append(camera_dict("side", side * float(rng.uniform(65, 110)), float(rng.uniform(35, 60)),
                                   float(rng.uniform(0.85, 1.0))))
        # from above the table's far half: over the robot, its hand would fill the view
        cameras.append(camera_dict("overhead", float(rng.uniform(-70, 70)), float(rng.uniform(70, 80)),
                                   float(rng.uniform(0.8, 0.95))))
    placer = _Placer(rng)
    n_small = int(rng.integers(3, 6))
    repeated = str(rng.choice(SMALL_SHAPES))
    small_shapes = [repeated, repeated] + [str(rng.choice(SMALL_SHAPES)) for _ in range(n_small - 2)]
    small_shapes = [small_shapes[i] for i in rng.permutation(len(small_shapes))]
    hidden = occluder = None
    if multi_view:  # the hidden object and its occluder first, while the region is empty
        shape = small_shapes.pop(0)
        col = colours.pop(0)
        size = _small_size(rng, shape)
        size[-1] = min(size[-1], 0.06) if shape != "sphere" else size[0]
        target = placer.add(f"{col}_{shape}", shape, col, size)
        occ = _occluder_for(target, cameras[0], rng) if target else None
        if occ is None:
            return None
        pos, osize, yaw = occ
        ocol = colours.pop(0)
        if placer.add(f"{ocol}_box", "box", ocol, osize, yaw_deg=yaw, pos=pos, skip=(target["name"],)) is None:
            return None
        hidden, occluder = target["name"], f"{ocol}_box"
    dishes = ["bowl", "plate"] if rng.random() < 0.5 else [str(rng.choice(["bowl", "plate"]))]
    for shape in dishes:
        col = colours.pop(0)
        if placer.add(f"{col}_{shape}", shape, col, _container_size(rng, shape)) is None:
            return None
    if rng.random() < LARGE_BOX_PROBABILITY and occluder is None:
        col = colours.pop(0)
        u = lambda a, b: round(float(rng.uniform(a, b)), 4)  # noqa: E731
        placer.add(f"{col}_box", "box", col, [u(0.09, 0.14), u(0.09, 0.14), u(0.03, 0.05)])
    for shape in small_shapes:
        if not colours:
            break
        col = colours.pop(0)
        if any(o["name"] == f"{col}_{shape}" for o in placer.objects):
            continue
        placer.add(f"{col}_{shape}", shape, col, _small_size(rng, shape))
    appearance = random_appearance(scene_seed)
    data = {"seed": int(scene_seed), "camera": cameras[0], "objects": placer.objects,
            "appearance": {"table_color": list(appearance.table_rgb), "light_intensity": appearance.light_intensity,
                           "light_azimuth_deg": appearance.light_azimuth_deg,
                           "light_tilt_deg": appearance.light_tilt_deg}}
    if len(cameras) > 1:
        data["cameras"] = cameras[1:]
    try:
        scene = scene_from_dict(data, source=f"<task scene {scene_seed}>")
    except Exception:  # noqa: BLE001 - an invalid draw is drawn again
        return None
    if not in_view(scene):
        return None
    draft = SceneDraft(scene, scene_to_dict(scene), hidden=hidden, occluder=occluder)
    if rng.random() < STACK_PROBABILITY:
        _stack(draft, rng)
    return draft


def _stack(draft: SceneDraft, rng: np.random.Generator) -> None:
    """Put one small object in a dish or on the large block (a placement after the world is built)."""
    objs = draft.scene.objects
    supports = [o for o in objs if o.shape in ("bowl", "plate") or (o.shape == "box" and min(o.size[:2]) >= 0.09
                                                                      and o.name != draft.occluder)]
    items = [o for o in objs if o.shape in SMALL_SHAPES and o.name not in (draft.hidden, draft.occluder)
             and not (o.shape == "box" and min(o.size[:2]) >= 0.09)]
    pairs = []
    for s in supports:
        for it in items:
            if s.shape == "box":
                room = min(s.size[:2]) - 2 * it.footprint_radius_m
                z = s.size[2]
            else:
                room = fit_slack_m(it.shape, list(it.size), s.shape, list(s.size))
                z = {"bowl": 0.008, "plate": 0.003}[s.shape]
            if room >= 0.02:
                pairs.append((s, it, z))
    if not pairs:
        return
    s, it, z = pairs[int(rng.integers(len(pairs)))]
    yaw = math.radians(it.yaw_deg)
    draft.placements.append({"object": it.name, "support": s.name,
                             "position": [s.position[0], s.position[1], round(z + 0.002, 5)],
                             "quat_wxyz": [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]})
