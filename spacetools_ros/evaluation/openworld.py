"""Open-world evaluation cases: seeded scenes and the commands a person would give, by category,
drawn from a development or a held-out vocabulary (evaluation/language.py). Each case names the
true objects (so the simulator judges it) or expects a refusal / question with no motion."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..core.camera import project
from ..core.errors import SceneError
from ..core.scene import COLORS, Scene, scene_from_dict, with_sensor
from .language import Vocabulary, vocabulary

CATEGORIES = ("phrasing", "lookalikes", "cameras", "clutter", "side_relations", "stacking", "colour_words",
              "refusals")
WORKSPACE_CENTRE = (0.5, 0.0, 0.0)
REGION_X_M = (0.30, 0.70)
REGION_Y_M = (-0.30, 0.30)
FINGER_ROOM_M = 0.05  # free space kept between footprints
SEED_BASE = {"dev": 10_000, "heldout": 70_000}
PALETTE = [c for c in COLORS if c not in ("gray", "white")]  # well apart from each other and the table


@dataclass(frozen=True)
class Case:
    """One evaluation episode.

    Attributes:
        split, category, seed: where it comes from (the scene is a function of these).
        command: what the person says.
        expect: ``act`` (judged by the simulator) or ``refuse`` (must end with no motion).
        pick, relation, anchor, anchor2: the true objects and relation of an ``act`` case.
        note: what makes the case what it is (for the report).
    """

    split: str
    category: str
    seed: int
    scene: Scene
    command: str
    expect: str
    pick: str | None = None
    relation: str | None = None
    anchor: str | None = None
    anchor2: str | None = None
    note: str = ""

    def task(self):
        """The case as a task of the suite (what the simulator judges an ``act`` case by)."""
        from ..cli.suite import Task

        return Task(self.seed, self.category, self.command, self.pick, self.relation, self.anchor, self.anchor2)


def camera_dict(azimuth_deg: float, elevation_deg: float, distance_m: float) -> dict:
    """A camera on a sphere around the workspace centre, looking at it."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    cx, cy, cz = WORKSPACE_CENTRE
    pos = [cx + distance_m * math.cos(el) * math.cos(az), cy + distance_m * math.cos(el) * math.sin(az),
           cz + distance_m * math.sin(el)]
    return {"name": "scene", "position": [round(v, 4) for v in pos], "look_at": [cx, cy, cz]}


def _size(rng: np.random.Generator, shape: str, small_container: bool = False) -> list[float]:
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    if shape == "box":
        return [u(0.035, 0.05), u(0.035, 0.05), u(0.035, 0.06)]
    if shape == "cylinder":
        return [u(0.035, 0.05), u(0.05, 0.09)]
    if shape == "sphere":
        return [u(0.04, 0.05)]
    if shape == "bowl":
        return [u(0.11, 0.13), u(0.045, 0.055)] if small_container else [u(0.14, 0.17), u(0.045, 0.06)]
    return [u(0.11, 0.13), 0.015] if small_container else [u(0.15, 0.18), 0.015]


def _radius(shape: str, size: list[float]) -> float:
    return math.hypot(size[0], size[1]) / 2 if shape == "box" else size[0] / 2


class SceneBuilder:
    """Objects placed one by one at random free spots that the camera sees."""

    def __init__(self, rng: np.random.Generator, camera: dict, region=(REGION_X_M, REGION_Y_M)) -> None:
        self.rng = rng
        self.camera = camera
        self.region = region
        self.objects: list[dict] = []

    def add(self, name: str, shape: str, color, size: list[float], near: tuple[float, float] | None = None,
            within_m: float = 0.0) -> bool:
        """Place one object (``near``: within ``within_m`` of that point); False when no spot is free."""
        r = _radius(shape, size)
        for _ in range(300):
            if near is None:
                pos = [float(self.rng.uniform(*self.region[0])), float(self.rng.uniform(*self.region[1]))]
            else:
                a, d = float(self.rng.uniform(0, 2 * math.pi)), float(self.rng.uniform(0.0, within_m))
                pos = [near[0] + d * math.cos(a), near[1] + d * math.sin(a)]
                if not (self.region[0][0] <= pos[0] <= self.region[0][1] and self.region[1][0] <= pos[1] <= self.region[1][1]):
                    continue
            if any(math.dist(pos, o["position"]) < r + _radius(o["shape"], o["size"]) + FINGER_ROOM_M
                   for o in self.objects):
                continue
            cand = {"name": name, "shape": shape, "color": color, "size": size, "position": pos,
                    "yaw_deg": float(self.rng.uniform(-90, 90)) if shape == "box" else 0.0}
            try:  # on the table, clear of the robot base
                scene_from_dict({"objects": self.objects + [cand]})
            except SceneError:
                continue
            self.objects.append(cand)
            return True
        return False

    def scene(self, seed: int) -> Scene:
        """The validated scene."""
        return scene_from_dict({"seed": seed, "camera": self.camera, "objects": self.objects},
                               source=f"<evaluation seed {seed}>")


def visible(scene: Scene, margin_px: float = 25.0) -> bool:
    """Every object's centre projects well inside the robot camera's image."""
    cam = scene.camera
    pts = np.array([[*o.position, o.height_m / 2] for o in scene.objects])
    z = (pts - np.asarray(cam.position)) @ (np.asarray(cam.look_at) - np.asarray(cam.position))
    uv = project(pts, cam.intrinsics(), cam.extrinsics())
    return bool(np.all(z > 0) and np.all(uv[:, 0] > margin_px) and np.all(uv[:, 0] < cam.width - margin_px)
                and np.all(uv[:, 1] > margin_px) and np.all(uv[:, 1] < cam.height - margin_px))


def image_u(scene: Scene, name: str) -> float:
    """Image column of an object's centre in the robot camera."""
    o = scene.object(name)
    cam = scene.camera
    return float(project(np.array([[*o.position, o.height_m / 2]]), cam.intrinsics(), cam.extrinsics())[0, 0])


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _phrase(voc: Vocabulary, rng, pick: str, rel: str, anchor: str) -> str:
    text = _pick(rng, voc.templates).format(pick=pick, rel=_pick(rng, voc.relation_words[rel]), anchor=anchor)
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def _noun(voc: Vocabulary, rng, shape: str) -> str:
    return _pick(rng, voc.nouns[shape])


def _base(rng, voc: Vocabulary, cat: str, camera: dict, n_distractors: int, pick_shape: str | None = None,
          container: str | None = None, small_containers: bool = False, region=(REGION_X_M, REGION_Y_M)):
    """A builder with the object to move, a container and distractors in distinct palette colours."""
    colours = list(PALETTE)
    rng.shuffle(colours)
    b = SceneBuilder(rng, camera, region)
    pick_shape = pick_shape or _pick(rng, ("box", "cylinder", "sphere"))
    container = container or _pick(rng, ("bowl", "plate"))
    b.add(f"{colours[0]}_{pick_shape}", pick_shape, colours[0], _size(rng, pick_shape))
    b.add(f"{colours[1]}_{container}", container, colours[1], _size(rng, container, small_containers))
    shapes = ("box", "cylinder", "sphere", "bowl", "plate") if cat == "clutter" else ("box", "cylinder", "sphere")
    taken = {(colours[0], pick_shape), (colours[1], container)}  # distractors are never look-alikes of them
    for i in range(n_distractors):
        shape = shapes[i % len(shapes)] if cat == "clutter" else _pick(rng, shapes)
        c = colours[(2 + i) % len(colours)]
        if (c, shape) in taken:
            c = next(x for x in colours if (x, shape) not in taken)
        taken.add((c, shape))
        b.add(f"{c}_{shape}_{i}", shape, c, _size(rng, shape, small_container=True))
    return b, colours


def make_case(split: str, category: str, index: int, sensor: str = "structured_light",
              spatial_frame: str = "camera") -> Case:
    """Case ``index`` of a category in a split (deterministic; redrawn until the camera sees everything).
    ``sensor``: the cameras' sensor model; with a real one the lighting and table colour vary too
    (``ideal``: the renderer's exact data and the default look). ``spatial_frame``: the frame the
    case's side words are read in (a case whose relation already holds in it is redrawn)."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    voc = vocabulary(split)
    seed = SEED_BASE[split] + 1000 * CATEGORIES.index(category) + index
    for attempt in range(40):
        rng = np.random.default_rng(seed * 101 + attempt)
        case = _draw(split, category, seed, rng, voc)
        if case is not None and visible(case.scene) and not already_done(case, spatial_frame) \
                and (spatial_frame == "camera" or case.category != "side_relations" or _robot_side_is_free(case)):
            if sensor == "ideal":
                return case
            return replace(case, scene=with_sensor(case.scene, sensor, vary_appearance=True))
    raise RuntimeError(f"no visible scene for {split}/{category}/{index}")


def already_done(case: Case, spatial_frame: str = "camera") -> bool:
    """An ``act`` case whose relation already holds before anything moves proves nothing."""
    if case.expect != "act":
        return False
    from ..cli.suite import judge

    poses = {o.name: (np.array([o.position[0], o.position[1], 0.0]), None) for o in case.scene.objects}
    return judge(case.scene, case.task(), poses, False, spatial_frame)[0]


def _robot_side_is_free(case: Case) -> bool:
    """The robot-frame side of the anchor a case asks for has room on the reachable table (as
    ``_side_is_free`` checks the camera-frame side when the case is drawn)."""
    from ..core.language.frames import base_direction

    if case.relation not in ("left", "right", "front", "behind"):
        return True
    a = case.scene.object(case.anchor)
    p = case.scene.object(case.pick)
    spot = np.asarray(a.position) + base_direction(case.relation) * (a.footprint_radius_m + p.footprint_radius_m + 0.05)
    if not (0.3 <= float(np.hypot(*spot)) <= 0.75 and case.scene.table.contains(spot[0], spot[1], margin_m=0.05)):
        return False
    return all(o.name in (case.anchor, case.pick) or math.dist(spot, o.position) > o.footprint_radius_m + 0.08
               for o in case.scene.objects)


def _draw(split: str, cat: str, seed: int, rng, voc: Vocabulary) -> Case | None:
    cams = voc.cameras
    camera = camera_dict(*(_pick(rng, cams) if cat == "cameras" else (0.0, 40.0, 1.05)))
    if cat in ("phrasing", "cameras"):
        b, _ = _base(rng, voc, cat, camera, int(rng.integers(1, 4)))
        p, c = b.objects[0], b.objects[1]
        rel = "in" if c["shape"] == "bowl" else "on"
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", rel,
                      f"{c['color']} {_noun(voc, rng, c['shape'])}")
        return Case(split, cat, seed, b.scene(seed), cmd, "act", p["name"], rel, c["name"],
                    note=f"camera {camera['position']}" if cat == "cameras" else "")
    if cat == "clutter":
        pick_shape = _pick(rng, ("box", "cylinder", "sphere", "bowl", "plate"))
        b, _ = _base(rng, voc, cat, camera, int(rng.integers(8, 11)), pick_shape=pick_shape, container="plate"
                     if pick_shape in ("bowl", "plate") else None, small_containers=True,
                     region=((0.25, 0.75), (-0.38, 0.38)))
        p, c = b.objects[0], b.objects[1]
        rel = ("in" if c["shape"] == "bowl" else "on") if pick_shape in ("box", "cylinder", "sphere") else "near"
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", rel,
                      f"{c['color']} {_noun(voc, rng, c['shape'])}")
        return Case(split, cat, seed, b.scene(seed), cmd, "act", p["name"], rel, c["name"],
                    note=f"{len(b.objects)} objects, pick a {pick_shape}")
    if cat == "side_relations":
        b, colours = _base(rng, voc, cat, camera, int(rng.integers(1, 3)))
        p, c = b.objects[0], b.objects[1]
        rel = _pick(rng, ("left", "right", "front", "behind", "near", "between"))
        if rel == "between":
            extra = colours[-1]
            if not b.add(f"{extra}_cylinder_far", "cylinder", extra, _size(rng, "cylinder"), near=tuple(c["position"]),
                         within_m=0.32):
                return None
            o2 = b.objects[-1]
            if math.dist(o2["position"], c["position"]) < 0.2:
                return None
            anchor = f"{c['color']} {_noun(voc, rng, c['shape'])} and the {extra} {_noun(voc, rng, 'cylinder')}"
            cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", "in", anchor)
            cmd = cmd.replace(" inside the ", " between the ").replace(" into the ", " between the ") \
                .replace(" in the ", " between the ")
            if " between the " not in cmd:
                return None
            return Case(split, "side_relations", seed, b.scene(seed), cmd, "act", p["name"], "between", c["name"],
                        o2["name"], note="between")
        if rel != "near" and not _side_is_free(b, p, c, rel):
            return None  # a person would not ask for a spot off the table or out of reach
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", rel,
                      f"{c['color']} {_noun(voc, rng, c['shape'])}")
        return Case(split, cat, seed, b.scene(seed), cmd, "act", p["name"], rel, c["name"], note=rel)
    if cat == "stacking":
        colours = list(PALETTE)
        rng.shuffle(colours)
        b = SceneBuilder(rng, camera)
        b.add(f"{colours[0]}_box", "box", colours[0], [float(rng.uniform(0.035, 0.045))] * 2 + [0.04])
        base = [float(rng.uniform(0.055, 0.065))] * 2 + [float(rng.uniform(0.035, 0.05))]
        b.add(f"{colours[1]}_box", "box", colours[1], base)
        for i in range(int(rng.integers(1, 3))):
            shape = _pick(rng, ("cylinder", "sphere", "bowl"))
            b.add(f"{colours[2 + i]}_{shape}_{i}", shape, colours[2 + i], _size(rng, shape, small_container=True))
        p, c = b.objects[0], b.objects[1]
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, 'box')}", "on", f"{c['color']} {_noun(voc, rng, 'box')}")
        return Case(split, cat, seed, b.scene(seed), cmd, "act", p["name"], "on", c["name"], note="block on block")
    if cat == "colour_words":
        words = list(voc.colours)
        word = _pick(rng, words)
        rgb = [round(v, 3) for v in voc.colours[word]]
        b, colours = _base(rng, voc, cat, camera, int(rng.integers(1, 3)))
        b.objects[0]["color"] = rgb
        b.objects[0]["name"] = f"{word}_{b.objects[0]['shape']}"
        p, c = b.objects[0], b.objects[1]
        if _too_close(rgb, [o["color"] for o in b.objects[1:]]):
            return None
        rel = "in" if c["shape"] == "bowl" else "on"
        cmd = _phrase(voc, rng, f"{word} {_noun(voc, rng, p['shape'])}", rel, f"{c['color']} {_noun(voc, rng, c['shape'])}")
        return Case(split, cat, seed, b.scene(seed), cmd, "act", p["name"], rel, c["name"], note=word)
    if cat == "lookalikes":
        return _lookalike(split, seed, rng, voc, camera)
    return _refusal(split, seed, rng, voc, camera)


def _side_is_free(b: SceneBuilder, p: dict, c: dict, rel: str) -> bool:
    """The spot on that side of the anchor (in the robot camera's view) is on the reachable table
    and free of other objects."""
    from ..core.geometry import look_at_rotation

    r = look_at_rotation(b.camera["position"], b.camera["look_at"])
    right, forward = r[:2, 0], r[:2, 2]
    d = {"left": -right, "right": right, "front": -forward, "behind": forward}[rel]
    d = d / max(float(np.linalg.norm(d)), 1e-9)
    rp, rc = _radius(p["shape"], p["size"]), _radius(c["shape"], c["size"])
    spot = np.asarray(c["position"]) + d * (rc + rp + 0.06)
    if not (0.28 <= spot[0] <= 0.72 and abs(spot[1]) <= 0.35 and np.linalg.norm(spot) >= 0.32):
        return False
    return all(math.dist(spot, o["position"]) > rp + _radius(o["shape"], o["size"]) + 0.03
               for o in b.objects if o is not p and o is not c)


def _too_close(rgb, others, min_dist: float = 0.25) -> bool:
    return any(math.dist(rgb, COLORS[o] if isinstance(o, str) else o) < min_dist for o in others)


def _lookalike(split: str, seed: int, rng, voc: Vocabulary, camera: dict) -> Case | None:
    """Two objects alike in colour and shape; the command tells them apart by place or rank."""
    b, colours = _base(rng, voc, "lookalikes", camera, int(rng.integers(0, 2)))
    p, c = b.objects[0], b.objects[1]
    twin = dict(p, name=p["name"] + "_twin", size=_size(rng, p["shape"]))
    if not b.add(twin["name"], twin["shape"], twin["color"], twin["size"]):
        return None
    scene = b.scene(seed)
    u_p, u_t = image_u(scene, p["name"]), image_u(scene, twin["name"])
    if abs(u_p - u_t) < 60:  # a person would not call one of them "the left one"
        return None
    left = u_p < u_t
    noun = _noun(voc, rng, p["shape"])
    dev = split == "dev"
    forms = (["leftmost {c} {n}", "{c} {n} on the left"] if left else ["rightmost {c} {n}", "{c} {n} on the right"]) \
        if dev else (["first {c} {n} from the left", "{c} {n} that is furthest to the left"] if left else
                     ["first {c} {n} from the right", "{c} {n} that is furthest to the right"])
    if not dev:  # ordinals counted from the other side
        forms.append("second {c} {n} from the right" if left else "second {c} {n} from the left")
    ref = _pick(rng, forms).format(c=p["color"], n=noun)
    rel = "in" if c["shape"] == "bowl" else "on"
    cmd = _phrase(voc, rng, ref, rel, f"{c['color']} {_noun(voc, rng, c['shape'])}")
    return Case(split, "lookalikes", seed, scene, cmd, "act", p["name"], rel, c["name"], note=ref)


def _refusal(split: str, seed: int, rng, voc: Vocabulary, camera: dict) -> Case | None:
    """An unknown noun, a destination that is not there, or two look-alikes with nothing to tell them
    apart: the answer is a refusal or a question, and nothing moves."""
    b, colours = _base(rng, voc, "refusals", camera, int(rng.integers(1, 3)))
    p, c = b.objects[0], b.objects[1]
    kind = _pick(rng, ("unknown_noun", "missing_destination", "ambiguous"))
    dest = f"{c['color']} {_noun(voc, rng, c['shape'])}"
    rel = "in" if c["shape"] == "bowl" else "on"
    if kind == "unknown_noun":
        cmd = _phrase(voc, rng, f"{p['color']} {_pick(rng, voc.unknown_nouns)}", rel, dest)
    elif kind == "missing_destination":
        absent = next(col for col in colours[::-1] if all(o["color"] != col for o in b.objects))
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", rel, f"{absent} {_noun(voc, rng, c['shape'])}")
    else:
        if not b.add(p["name"] + "_twin", p["shape"], p["color"], _size(rng, p["shape"])):
            return None
        cmd = _phrase(voc, rng, f"{p['color']} {_noun(voc, rng, p['shape'])}", rel, dest)
    return Case(split, "refusals", seed, b.scene(seed), cmd, "refuse", note=kind)


def evaluation_set(split: str, per_category: int, categories: tuple[str, ...] = CATEGORIES,
                   sensor: str = "structured_light") -> list[Case]:
    """``per_category`` cases of every category of ``split``."""
    return [make_case(split, cat, i, sensor) for cat in categories for i in range(per_category)]
