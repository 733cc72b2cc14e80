"""Scene description: YAML scene files loaded into validated, frozen dataclasses.

Frames: everything is in the robot base frame (x forward, y left, z up, metres); the table
top is the plane z = 0 and objects stand on it.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SceneError
from .geometry import look_at_rotation
from .safe_yaml import YamlReadError, read_yaml
from .sensor_spec import (APPEARANCE_BOUNDS, SENSOR_BOUNDS, SENSOR_MODELS, TABLE_RGB, Appearance,  # noqa: F401
                          SensorSpec, random_appearance, sensor_to_dict)
from .tools.decode import clip, short

SHAPES = ("box", "cylinder", "sphere", "bowl", "plate")
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "green": (0.15, 0.65, 0.20),
    "blue": (0.12, 0.30, 0.85),
    "yellow": (0.95, 0.85, 0.10),
    "orange": (0.98, 0.50, 0.05),
    "purple": (0.50, 0.18, 0.65),
    "white": (0.95, 0.95, 0.95),
    "black": (0.06, 0.06, 0.06),
    "gray": (0.50, 0.50, 0.50),
    "brown": (0.50, 0.30, 0.12),
    "pink": (0.98, 0.55, 0.75),
    "cyan": (0.10, 0.80, 0.85),
}
SIZE_ARITY = {"box": 3, "cylinder": 2, "bowl": 2, "plate": 2, "sphere": 1}
NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_OBJECTS = 12
MIN_SIZE_M = 0.01
MAX_SIZE_M = 0.30
MAX_SCENE_FILE_BYTES = 256 * 1024
MAX_EXTRA_CAMERAS = 8
MIN_CAMERA_SIDE_PX = 16
MAX_CAMERA_SIDE_PX = 1920
MAX_CAMERA_PIXELS = 1920 * 1200
MAX_CAMERA_COORD_M = 10.0
MAX_YAW_DEG = 3600.0
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Table:
    """The table: a box whose top face is z = 0 (base frame)."""

    x_range_m: tuple[float, float] = (-0.25, 0.95)
    y_range_m: tuple[float, float] = (-0.65, 0.65)
    thickness_m: float = 0.04
    robot_keepout_radius_m: float = 0.20

    def contains(self, x: float, y: float, margin_m: float = 0.0) -> bool:
        """Whether (x, y) lies on the table top, ``margin_m`` away from its edges."""
        return (
            self.x_range_m[0] + margin_m <= x <= self.x_range_m[1] - margin_m
            and self.y_range_m[0] + margin_m <= y <= self.y_range_m[1] - margin_m
        )


@dataclass(frozen=True)
class CameraSpec:
    """A fixed pinhole camera. Intrinsics: fx = fy, principal point at the image centre.

    Attributes:
        name: camera name (the first camera is the scene camera, ``scene``).
        position: (3,) camera centre in the base frame, metres.
        look_at: (3,) point the optical axis passes through, base frame.
        width, height: image size in pixels.
        fov_y_deg: vertical field of view, degrees.
        sensor: depth sensor model (``ideal`` by default).
    """

    name: str = "scene"
    position: tuple[float, float, float] = (1.2, 0.0, 0.6)
    look_at: tuple[float, float, float] = (0.5, 0.0, 0.0)
    width: int = 640
    height: int = 480
    fov_y_deg: float = 58.0
    sensor: SensorSpec = SensorSpec()

    @property
    def focal_length_px(self) -> float:
        """fx = fy in pixels."""
        return self.height / 2.0 / math.tan(math.radians(self.fov_y_deg) / 2.0)

    def intrinsics(self) -> np.ndarray:
        """3x3 K matrix (OpenCV convention)."""
        f = self.focal_length_px
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])

    def extrinsics(self) -> np.ndarray:
        """4x4 pose of the optical frame (x right, y down, z forward) in the base frame."""
        t = np.eye(4)
        t[:3, :3] = look_at_rotation(self.position, self.look_at)
        t[:3, 3] = self.position
        return t


@dataclass(frozen=True)
class SceneObject:
    """One object standing on the table.

    Attributes:
        name: unique id, ``[a-z0-9_]{1,64}``.
        shape: one of ``SHAPES``.
        color_name: colour word, or ``None`` when given as RGB.
        rgb: colour in 0..1.
        size: per shape: box (x, y, z); cylinder/bowl/plate (diameter, height); sphere (diameter,).
        position: (x, y) of the centre on the table top, metres, base frame.
        yaw_deg: rotation about z.
        mass_kg: mass.
    """

    name: str
    shape: str
    rgb: tuple[float, float, float]
    size: tuple[float, ...]
    position: tuple[float, float]
    color_name: str | None = None
    yaw_deg: float = 0.0
    mass_kg: float = 0.1

    @property
    def height_m(self) -> float:
        """Height of the object above the table."""
        return self.size[0] if self.shape == "sphere" else self.size[-1]

    @property
    def footprint_radius_m(self) -> float:
        """Radius of the smallest circle around the footprint."""
        if self.shape == "box":
            return math.hypot(self.size[0], self.size[1]) / 2.0
        return self.size[0] / 2.0

    def footprint(self, n: int = 24) -> np.ndarray:
        """(k, 2) convex polygon of the footprint in the base frame."""
        if self.shape == "box":
            hx, hy = self.size[0] / 2.0, self.size[1] / 2.0
            pts = np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]])
            c, s = math.cos(math.radians(self.yaw_deg)), math.sin(math.radians(self.yaw_deg))
            pts = pts @ np.array([[c, s], [-s, c]])
        else:
            r = self.size[0] / 2.0
            a = np.linspace(0, 2 * math.pi, n, endpoint=False)
            pts = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
        return pts + np.asarray(self.position)


@dataclass(frozen=True)
class Scene:
    """A validated scene: objects, cameras (first = scene camera), table, seed, and the rendered
    look (``appearance``; None = the built-in lighting and table colour)."""

    objects: tuple[SceneObject, ...]
    cameras: tuple[CameraSpec, ...] = (CameraSpec(),)
    table: Table = field(default_factory=Table)
    seed: int = 0
    source: str = "<memory>"
    appearance: Appearance | None = None

    @property
    def camera(self) -> CameraSpec:
        """The scene camera."""
        return self.cameras[0]

    def object(self, name: str) -> SceneObject:
        """Object by name.

        Raises:
            KeyError: with the list of known names.
        """
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"unknown object '{name}' (scene has: {', '.join(o.name for o in self.objects)})")


# --------------------------------------------------------------------------- validation


def _type_name(v: Any) -> str:
    return type(v).__name__


def _show(value: Any) -> str:
    """A bounded rendering of a value for an error message (huge integers by size only)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return short(value, 40)


def _number(value: Any, field_path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SceneError(field_path, f"expected a finite number, got {_show(value)} ({_type_name(value)})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise SceneError(field_path, f"expected a finite number, got {_show(value)}")
    return number


def _vector(value: Any, field_path: str, length: int) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)):
        raise SceneError(field_path, f"expected a list of {length} numbers, got {_show(value)}")
    if len(value) != length:
        raise SceneError(field_path, f"expected {length} numbers, got {len(value)}")
    return tuple(_number(v, f"{field_path}[{i}]") for i, v in enumerate(value))


def _check_keys(data: dict, allowed: set[str], required: set[str], field_path: str) -> None:
    for key in data:
        if not isinstance(key, str):
            raise SceneError(field_path or "scene",
                             f"field names must be strings, got {short(key, 30)} ({_type_name(key)})")
    unknown = sorted(set(data) - allowed)
    if unknown:
        key = unknown[0] if len(unknown[0]) <= 30 and unknown[0].isprintable() else short(unknown[0], 30)
        raise SceneError(f"{field_path}.{key}" if field_path else key,
                         f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if key not in data:
            raise SceneError(f"{field_path}.{key}" if field_path else key, "missing required field")


def _parse_color(value: Any, field_path: str) -> tuple[tuple[float, float, float], str | None]:
    if isinstance(value, str):
        key = value.strip().lower().replace("grey", "gray")
        if key not in COLORS:
            raise SceneError(field_path,
                             f"unknown colour {short(value, 30)} (known: {', '.join(COLORS)}, or [r, g, b] in 0..1)")
        return COLORS[key], key
    rgb = _vector(value, field_path, 3)
    if any(c < 0.0 or c > 1.0 for c in rgb):
        raise SceneError(field_path, f"rgb components must be in 0..1, got {list(rgb)}")
    return (rgb[0], rgb[1], rgb[2]), None


def _parse_object(data: Any, idx: int) -> SceneObject:
    fp = f"objects[{idx}]"
    if not isinstance(data, dict):
        raise SceneError(fp, f"expected a mapping, got {_type_name(data)}")
    _check_keys(data, {"name", "shape", "color", "size", "position", "yaw_deg", "mass_kg"},
                {"name", "shape", "color", "size", "position"}, fp)
    name = data["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SceneError(f"{fp}.name", f"must match [a-z0-9_]{{1,64}}, got {short(name, 40)}")
    shape = data["shape"]
    if shape not in SHAPES:
        raise SceneError(f"{fp}.shape", f"unknown shape {short(shape, 40)} (known: {', '.join(SHAPES)})")
    rgb, color_name = _parse_color(data["color"], f"{fp}.color")
    n = SIZE_ARITY[shape]
    size_raw = data["size"]
    if shape == "sphere" and isinstance(size_raw, (int, float)) and not isinstance(size_raw, bool):
        size_raw = [size_raw]
    size = _vector(size_raw, f"{fp}.size", n)
    for i, s in enumerate(size):
        if s < MIN_SIZE_M or s > MAX_SIZE_M:
            raise SceneError(f"{fp}.size[{i}]", f"must be between {MIN_SIZE_M} and {MAX_SIZE_M} m, got {s}")
    if shape == "bowl" and size[1] < 0.02:
        raise SceneError(f"{fp}.size[1]", "a bowl must be at least 0.02 m high")
    if shape in ("bowl", "plate") and size[0] < 0.06:
        raise SceneError(f"{fp}.size[0]", f"a {shape} must be at least 0.06 m across")
    if shape == "plate" and not 0.01 <= size[1] <= 0.03:
        raise SceneError(f"{fp}.size[1]", "a plate's rim must be 0.01 to 0.03 m high")
    position = _vector(data["position"], f"{fp}.position", 2)
    yaw = _number(data.get("yaw_deg", 0.0), f"{fp}.yaw_deg")
    if abs(yaw) > MAX_YAW_DEG:
        raise SceneError(f"{fp}.yaw_deg", f"must be in -{MAX_YAW_DEG:g}..{MAX_YAW_DEG:g} degrees, got {yaw:.6g}")
    mass = _number(data.get("mass_kg", 0.1), f"{fp}.mass_kg")
    if not 0.005 <= mass <= 2.0:
        raise SceneError(f"{fp}.mass_kg", f"must be between 0.005 and 2.0 kg, got {mass}")
    return SceneObject(name=name, shape=shape, rgb=rgb, color_name=color_name, size=size,
                       position=(position[0], position[1]), yaw_deg=yaw, mass_kg=mass)


def _bounded(value: Any, field_path: str, bounds: tuple[float, float]) -> float:
    number = _number(value, field_path)
    if not bounds[0] <= number <= bounds[1]:
        raise SceneError(field_path, f"must be in {bounds[0]:g}..{bounds[1]:g}, got {number:.6g}")
    return number


def _parse_seed(value: Any, field_path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise SceneError(field_path, f"expected an integer in 0..{MAX_SEED}, got {_show(value)}")
    return value


def _parse_sensor(data: Any, fp: str) -> SensorSpec:
    """``ideal`` | ``structured_light`` | {model: structured_light, <override>: value, seed: int}."""
    if isinstance(data, str):
        data = {"model": data}
    if not isinstance(data, dict):
        raise SceneError(fp, f"expected a model name or a mapping, got {_type_name(data)}")
    allowed = {"model", "seed", *SENSOR_BOUNDS}
    for key in data:
        if isinstance(key, str) and key not in allowed:  # the full list would not fit in a message
            near = difflib.get_close_matches(key, sorted(allowed), n=1)
            shown = key if len(key) <= 30 and key.isprintable() else short(key, 30)
            known = clip("known: model, seed, " + ", ".join(SENSOR_BOUNDS), 110)
            raise SceneError(f"{fp}.{shown}", f"unknown sensor setting ({f'did you mean {near[0]}?' if near else known})")
    _check_keys(data, allowed, {"model"}, fp)
    model = data["model"]
    if model not in SENSOR_MODELS:
        raise SceneError(f"{fp}.model", f"unknown sensor model {short(model, 30)} (known: {', '.join(SENSOR_MODELS)})")
    extra = sorted(set(data) - {"model"})
    if model == "ideal" and extra:
        raise SceneError(f"{fp}.{extra[0]}", "the ideal sensor takes no settings (use model: structured_light)")
    values = {k: _bounded(data[k], f"{fp}.{k}", SENSOR_BOUNDS[k]) for k in SENSOR_BOUNDS if k in data}
    spec = SensorSpec(model=model, seed=_parse_seed(data["seed"], f"{fp}.seed") if "seed" in data else None,
                      **values)
    if spec.min_range_m >= spec.max_range_m:
        raise SceneError(f"{fp}.max_range_m", f"must be more than min_range_m ({spec.min_range_m:g} m)")
    return spec


def _parse_appearance(data: Any, seed: int) -> Appearance:
    """``random`` (drawn from the scene seed) | {table_color, light_intensity, light_azimuth_deg, light_tilt_deg}."""
    if data == "random":
        return random_appearance(seed)
    if not isinstance(data, dict):
        raise SceneError("appearance", f"expected 'random' or a mapping, got {_show(data)}")
    _check_keys(data, {"table_color", *APPEARANCE_BOUNDS}, set(), "appearance")
    base = Appearance()
    rgb = _parse_color(data["table_color"], "appearance.table_color")[0] if "table_color" in data else base.table_rgb
    values = {k: _bounded(data[k], f"appearance.{k}", APPEARANCE_BOUNDS[k]) for k in APPEARANCE_BOUNDS if k in data}
    return Appearance(table_rgb=rgb, **values)


def _parse_camera(data: Any, fp: str, default_name: str) -> CameraSpec:
    if not isinstance(data, dict):
        raise SceneError(fp, f"expected a mapping, got {_type_name(data)}")
    _check_keys(data, {"name", "position", "look_at", "width", "height", "fov_y_deg", "sensor"}, set(), fp)
    base = CameraSpec()
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SceneError(f"{fp}.name", f"must match [a-z0-9_]{{1,64}}, got {short(name, 40)}")
    position = _vector(data.get("position", list(base.position)), f"{fp}.position", 3)
    look_at = _vector(data.get("look_at", list(base.look_at)), f"{fp}.look_at", 3)
    for key, vec in (("position", position), ("look_at", look_at)):
        for i, c in enumerate(vec):
            if abs(c) > MAX_CAMERA_COORD_M:
                raise SceneError(f"{fp}.{key}[{i}]", f"must be within +-{MAX_CAMERA_COORD_M:g} m, got {c:.6g}")
    sizes = {}
    for key in ("width", "height"):
        v = data.get(key, getattr(base, key))
        if isinstance(v, bool) or not isinstance(v, int) or not MIN_CAMERA_SIDE_PX <= v <= MAX_CAMERA_SIDE_PX:
            raise SceneError(f"{fp}.{key}", f"expected an integer in {MIN_CAMERA_SIDE_PX}..{MAX_CAMERA_SIDE_PX}, "
                                            f"got {_show(v)}")
        sizes[key] = v
    if sizes["width"] * sizes["height"] > MAX_CAMERA_PIXELS:
        raise SceneError(f"{fp}.width", f"{sizes['width']}x{sizes['height']} is more than {MAX_CAMERA_PIXELS} pixels "
                                        "(at most 1920x1200)")
    fov = _number(data.get("fov_y_deg", base.fov_y_deg), f"{fp}.fov_y_deg")
    if not 10.0 <= fov <= 150.0:
        raise SceneError(f"{fp}.fov_y_deg", f"must be in 10..150 degrees, got {fov}")
    if math.dist(position, look_at) < 0.05:
        raise SceneError(f"{fp}.look_at", "must be at least 0.05 m from the camera position")
    try:
        look_at_rotation(position, look_at)
    except ValueError as exc:  # pragma: no cover - guarded above
        raise SceneError(f"{fp}.look_at", str(exc)) from exc
    sensor = _parse_sensor(data["sensor"], f"{fp}.sensor") if "sensor" in data else SensorSpec()
    return CameraSpec(name=name, position=position, look_at=look_at, width=sizes["width"],
                      height=sizes["height"], fov_y_deg=fov, sensor=sensor)


def _polygons_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex polygons."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
        for nrm in normals:
            pa, pb = a @ nrm, b @ nrm
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def scene_from_dict(data: Any, source: str = "<memory>") -> Scene:
    """Validate a parsed scene mapping.

    Raises:
        SceneError: naming the first offending field.
    """
    if not isinstance(data, dict):
        raise SceneError("scene", f"expected a mapping at the top level, got {_type_name(data)}")
    _check_keys(data, {"seed", "objects", "camera", "cameras", "appearance"}, {"objects"}, "")
    seed = _parse_seed(data.get("seed", 0), "seed")
    raw_objects = data["objects"]
    if not isinstance(raw_objects, list):
        raise SceneError("objects", f"expected a list, got {_type_name(raw_objects)}")
    if not 1 <= len(raw_objects) <= MAX_OBJECTS:
        raise SceneError("objects", f"expected 1..{MAX_OBJECTS} objects, got {len(raw_objects)}")
    objects = [_parse_object(o, i) for i, o in enumerate(raw_objects)]
    table = Table()
    seen: dict[str, int] = {}
    for i, o in enumerate(objects):
        if o.name in seen:
            raise SceneError(f"objects[{i}].name", f"duplicate name '{o.name}' (also objects[{seen[o.name]}])")
        seen[o.name] = i
        fp = o.footprint()
        if not all(table.contains(x, y) for x, y in fp):
            raise SceneError(f"objects[{i}].position",
                             f"'{o.name}' is off the table (table x {table.x_range_m}, y {table.y_range_m})")
        if np.min(np.linalg.norm(fp, axis=1)) < table.robot_keepout_radius_m:
            raise SceneError(f"objects[{i}].position",
                             f"'{o.name}' is inside the robot base keep-out (r < {table.robot_keepout_radius_m} m)")
    for i, a in enumerate(objects):
        for j in range(i):
            b = objects[j]
            if _polygons_overlap(a.footprint(), b.footprint()):
                raise SceneError(f"objects[{i}].position", f"'{a.name}' overlaps '{b.name}'")
    cameras: list[CameraSpec] = []
    if "camera" in data:
        cameras.append(_parse_camera(data["camera"], "camera", "scene"))
    else:
        cameras.append(CameraSpec())
    extra = data.get("cameras", [])
    if not isinstance(extra, list):
        raise SceneError("cameras", f"expected a list, got {_type_name(extra)}")
    if len(extra) > MAX_EXTRA_CAMERAS:
        raise SceneError("cameras", f"at most {MAX_EXTRA_CAMERAS} extra cameras, got {len(extra)}")
    for i, c in enumerate(extra):
        cameras.append(_parse_camera(c, f"cameras[{i}]", f"camera{i + 1}"))
    names: set[str] = set()
    for c in cameras:
        if c.name in names:
            raise SceneError("cameras", f"camera names must be unique, '{c.name}' appears twice")
        names.add(c.name)
    appearance = _parse_appearance(data["appearance"], seed) if "appearance" in data else None
    return Scene(objects=tuple(objects), cameras=tuple(cameras), table=table, seed=seed, source=source,
                 appearance=appearance)


def with_sensor(scene: Scene, sensor: str | SensorSpec = "structured_light", *,
                vary_appearance: bool = False) -> Scene:
    """The scene with every camera's sensor model replaced (and, optionally, a random look drawn
    from the scene seed, see ``random_appearance``).

    Raises:
        SceneError: an unknown model name.
    """
    spec = sensor if isinstance(sensor, SensorSpec) else _parse_sensor(sensor, "sensor")
    cameras = tuple(replace(c, sensor=spec) for c in scene.cameras)
    appearance = random_appearance(scene.seed) if vary_appearance else scene.appearance
    return replace(scene, cameras=cameras, appearance=appearance)


def load_scene(path: str | Path) -> Scene:
    """Load and validate a YAML scene file (at most ``MAX_SCENE_FILE_BYTES``, read by ``core.safe_yaml``).

    Raises:
        SceneError: the file is missing, too large, not UTF-8, not YAML (or uses anchors, aliases, tags,
            non-string keys, deep nesting), or fails validation. Messages are at most 200 characters.
    """
    p = Path(path)
    try:
        data = read_yaml(p, MAX_SCENE_FILE_BYTES, "scene")
    except YamlReadError as exc:
        raise SceneError("scene", str(exc)) from None
    return scene_from_dict(data, source=str(p))


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """Inverse of ``scene_from_dict`` (round-trips through YAML)."""
    objs = []
    for o in scene.objects:
        objs.append({
            "name": o.name, "shape": o.shape,
            "color": o.color_name if o.color_name else list(o.rgb),
            "size": list(o.size), "position": list(o.position),
            "yaw_deg": o.yaw_deg, "mass_kg": o.mass_kg,
        })
    cams = []
    for c in scene.cameras:
        cam = {"name": c.name, "position": list(c.position), "look_at": list(c.look_at),
               "width": c.width, "height": c.height, "fov_y_deg": c.fov_y_deg}
        if not c.sensor.ideal:
            cam["sensor"] = sensor_to_dict(c.sensor)
        cams.append(cam)
    out: dict[str, Any] = {"seed": scene.seed, "objects": objs, "camera": cams[0]}
    if len(cams) > 1:
        out["cameras"] = cams[1:]
    if scene.appearance is not None:
        a = scene.appearance
        out["appearance"] = {"table_color": list(a.table_rgb), "light_intensity": a.light_intensity,
                             "light_azimuth_deg": a.light_azimuth_deg, "light_tilt_deg": a.light_tilt_deg}
    return out
