"""Structured-light / active-stereo RGB-D sensor model applied to rendered depth frames.

The model (``SensorSpec.model == "structured_light"``) turns the renderer's exact depth into what
an Intel RealSense D4xx-class camera publishes at VGA resolution:

* depth noise, std sigma(z) = a + b z**2 (stereo: sigma_z = z**2 sigma_d / (f B)); defaults
  a = 1 mm, b = 2.5 mm/m**2 (about 3 mm at 0.9 m; a D435 with 0.08 px sub-pixel error, f ~ 430 px,
  B = 50 mm gives 3.7 mm/m**2, a D415 ~2.4 mm/m**2). Half of the variance is spatially correlated
  over ``NOISE_GRAIN_PX`` (about a stereo matching window), so it does not all average away over
  an object's pixels;
* quantisation to the driver's depth unit (1 mm, as z16 with depth_scale 0.001);
* missing pixels, published as depth 0 like the drivers do:
    - outside min..max range (0.16..3 m);
    - occlusion bands: background the second imager (``baseline_m`` to the right) cannot see, on
      the left of foreground edges, f B (1/z_front - 1/z_back) pixels wide;
    - on both sides of depth discontinuities (steps above 1 cm + 1 % of z; slanted planes are
      not edges) with probability ``edge_dropout`` (0.5);
    - low returned signal: albedo * cos(incidence) / z**2 around ``min_signal`` (0.04) or below:
      dark surfaces (a black face seen head-on at 1.2 m, or at 45 deg at 1 m, loses half its
      pixels; coloured and white surfaces keep theirs), grazing and far dim surfaces, in
      clustered holes;
    - specular highlights: glossy surfaces seen within ``SPECULAR_CONE_DEG`` of their normal
      (the projected pattern is saturated there);
    - ``SPECKLE_DROPOUT`` (0.2 %) isolated holes;
* an extrinsic calibration error: the camera really sits at reported_pose @ offset, the offset a
  rotation of 0.75..1.25 x ``calib_rot_deg`` (0.4 deg) about a random axis and a translation of
  0.75..1.25 x ``calib_trans_m`` (4 mm) in a random direction, fixed per (seed, camera).

Deterministic: the calibration offset depends on (seed, camera name), a frame's noise and holes on
(seed, camera name, frame time).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from ...core.scene import CameraSpec
from ...core.sensor_spec import SensorSpec

NOISE_GRAIN_PX = 4            # correlation length of the correlated half of the noise
NOISE_CORRELATED_FRACTION = 0.5
HOLE_GRAIN_PX = 4             # holes from low signal come in clusters of about this size
EDGE_JUMP_M = 0.01            # + EDGE_JUMP_REL * z: a depth step above this is an edge
EDGE_JUMP_REL = 0.01
OCCLUSION_TOL_PX = 0.25
SIGNAL_SOFTNESS = 0.2         # relative width of the low-signal dropout transition
SPECULAR_CONE_DEG = 8.0
SPECKLE_DROPOUT = 0.002
DEFAULT_SPECULAR = 0.5        # geoms without a material: the MJCF material default


@dataclass(frozen=True)
class SurfaceMaps:
    """What the renderer knows about the surface seen at each pixel (inputs of the dropout model).

    Attributes:
        albedo: (H, W) diffuse reflectance in 0..1 (0 where nothing is seen).
        specular: (H, W) specular strength in 0..1.
    """

    albedo: np.ndarray
    specular: np.ndarray


def _name_key(camera: str) -> int:
    return zlib.crc32(camera.encode())


def calibration_offset(spec: SensorSpec, seed: int, camera: str) -> np.ndarray:
    """4x4 offset of the true camera pose from the reported one: true = reported @ offset
    (identity for the ideal sensor). Fixed per (seed, camera)."""
    if spec.ideal:
        return np.eye(4)
    rng = np.random.default_rng([seed, _name_key(camera), 0xCA1])
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = math.radians(spec.calib_rot_deg) * rng.uniform(0.75, 1.25)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    rot = np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * k @ k
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = direction * spec.calib_trans_m * rng.uniform(0.75, 1.25)
    return out


def sensor_seed(spec: SensorSpec, scene_seed: int) -> int:
    """The seed a camera's model uses: its own, else the scene's."""
    return scene_seed if spec.seed is None else spec.seed


def true_camera_pose(camera: CameraSpec, scene_seed: int) -> np.ndarray:
    """4x4 pose (base frame, optical axes) where the camera really is; ``camera.extrinsics()`` is what
    is reported with its frames."""
    return camera.extrinsics() @ calibration_offset(camera.sensor, sensor_seed(camera.sensor, scene_seed),
                                                    camera.name)


def depth_sigma_m(spec: SensorSpec, z_m: np.ndarray | float) -> np.ndarray | float:
    """Depth noise std (m) at depth z (m)."""
    return spec.noise_base_m + spec.noise_quad_per_m * np.square(z_m)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], grain_px: int) -> np.ndarray:
    """Zero-mean, unit-std Gaussian field correlated over about ``grain_px`` pixels."""
    import cv2

    h, w = shape
    coarse = rng.normal(size=(h // grain_px + 2, w // grain_px + 2)).astype(np.float32)
    field = cv2.resize(coarse, (w + 2 * grain_px, h + 2 * grain_px), interpolation=cv2.INTER_CUBIC)
    field = field[grain_px:grain_px + h, grain_px:grain_px + w]
    return (field - field.mean()) / max(float(field.std()), 1e-6)


def _discontinuity(z: np.ndarray) -> np.ndarray:
    """Size of the depth step at each pixel, metres: z**2 |second difference of 1/z| along rows or
    columns (0 on any plane, however slanted, since 1/z is affine in the pixel coordinates of a
    plane; both pixels next to a step get about the step's size). Pixels with nothing seen count as
    infinitely far."""
    inv = np.where(z > 0, 1.0 / np.maximum(z, 1e-6), 0.0)
    pad = np.pad(inv, 1, mode="edge")
    d2x = np.abs(pad[1:-1, :-2] - 2.0 * inv + pad[1:-1, 2:])
    d2y = np.abs(pad[:-2, 1:-1] - 2.0 * inv + pad[2:, 1:-1])
    return np.maximum(d2x, d2y) * np.square(z)


def _incidence_cos(z: np.ndarray, k: np.ndarray) -> np.ndarray:
    """|cos| of the angle between the viewing ray and the surface normal (from depth gradients)."""
    h, w = z.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], axis=-1)
    pts = rays * z[..., None]
    du = np.gradient(pts, axis=1)
    dv = np.gradient(pts, axis=0)
    n = np.cross(du, dv)
    num = np.abs(np.sum(n * rays, axis=-1))
    den = np.linalg.norm(n, axis=-1) * np.linalg.norm(rays, axis=-1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0).astype(np.float32)


def _occluded(z: np.ndarray, f_px: float, baseline_m: float) -> np.ndarray:
    """Pixels the second imager (``baseline_m`` along +x) cannot see: a nearer surface to their right
    lands on or left of them in its image."""
    if baseline_m <= 0:
        return np.zeros(z.shape, bool)
    w = z.shape[1]
    disparity = np.where(z > 0, f_px * baseline_m / np.maximum(z, 1e-6), 0.0)
    x_r = np.arange(w, dtype=np.float64)[None, :] - disparity
    # smallest x_r strictly to the right of each pixel
    suffix = np.minimum.accumulate(x_r[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([suffix[:, 1:], np.full((z.shape[0], 1), np.inf)], axis=1)
    return (z > 0) & (right_min < x_r - OCCLUSION_TOL_PX)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Logistic approximation of the standard normal CDF (|error| < 0.01)."""
    return 1.0 / (1.0 + np.exp(-1.702 * x))


def measure_depth(depth_m: np.ndarray, surface: SurfaceMaps, intrinsics: np.ndarray, spec: SensorSpec,
                  seed: int, camera: str, stamp_s: float) -> np.ndarray:
    """The depth image the sensor publishes for a true depth image.

    Args:
        depth_m: (H, W) exact depth along the optical axis, metres (non-finite or <= 0: nothing seen).
        surface: albedo and specular maps of the seen surfaces.
        intrinsics: 3x3 K of this image.
        spec: the sensor model; ``ideal`` returns ``depth_m`` itself.
        seed, camera, stamp_s: determine the noise and holes of this frame.

    Returns:
        (H, W) float32 metres, 0 where the sensor has no depth.
    """
    if spec.ideal:
        return depth_m
    z = np.where(np.isfinite(depth_m) & (depth_m > 0), depth_m, 0.0).astype(np.float32)
    shape = z.shape
    rng = np.random.default_rng([seed, _name_key(camera), round(stamp_s * 1e6) & 0xFFFFFFFFFFFF])
    missing = (z < spec.min_range_m) | (z > spec.max_range_m)
    missing |= _occluded(z, float(intrinsics[0, 0]), spec.baseline_m)
    # probabilistic holes: edges, low signal, specular highlights, speckle
    edge = _discontinuity(z) > EDGE_JUMP_M + EDGE_JUMP_REL * z
    cos_inc = _incidence_cos(z, intrinsics)
    signal = np.clip(surface.albedo, 0.0, 1.0) * cos_inc / np.maximum(z, 1e-3) ** 2
    if spec.min_signal > 0:
        arg = np.clip((signal - spec.min_signal) / (SIGNAL_SOFTNESS * spec.min_signal), -50.0, 50.0)
        p_signal = 1.0 / (1.0 + np.exp(arg))
    else:
        p_signal = np.zeros(shape, np.float32)
    highlight = cos_inc > math.cos(math.radians(SPECULAR_CONE_DEG))
    p_spec = np.where(highlight, np.clip(2.0 * surface.specular, 0.0, 1.0), 0.0)
    p_edge = np.where(edge, spec.edge_dropout, 0.0)
    clustered = _normal_cdf(np.sqrt(0.5) * (_smooth_field(rng, shape, HOLE_GRAIN_PX) + rng.normal(size=shape)))
    white = rng.random(shape)
    missing |= clustered < p_signal
    missing |= white < 1.0 - (1.0 - p_edge) * (1.0 - p_spec) * (1.0 - SPECKLE_DROPOUT)
    # noise, then quantisation
    c = NOISE_CORRELATED_FRACTION
    unit_noise = math.sqrt(1.0 - c) * rng.normal(size=shape) + math.sqrt(c) * _smooth_field(rng, shape, NOISE_GRAIN_PX)
    measured = z + depth_sigma_m(spec, z) * unit_noise
    if spec.depth_unit_m > 0:
        measured = np.round(measured / spec.depth_unit_m) * spec.depth_unit_m
    return np.where(missing | (z <= 0) | (measured <= 0), 0.0, measured).astype(np.float32)
