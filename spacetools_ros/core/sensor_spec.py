"""How a scene's cameras sense and how the cell looks: the depth sensor model of a camera and the
lighting and table colour (values only; scene files are parsed in core/scene.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SENSOR_MODELS = ("ideal", "structured_light")
# bounds of the sensor overrides a scene file may set (inclusive)
SENSOR_BOUNDS: dict[str, tuple[float, float]] = {
    "noise_base_m": (0.0, 0.05), "noise_quad_per_m": (0.0, 0.05), "depth_unit_m": (0.0, 0.01),
    "min_range_m": (0.0, 1.0), "max_range_m": (0.5, 20.0), "baseline_m": (0.0, 0.3),
    "edge_dropout": (0.0, 1.0), "min_signal": (0.0, 1.0), "calib_rot_deg": (0.0, 5.0),
    "calib_trans_m": (0.0, 0.05),
}
APPEARANCE_BOUNDS: dict[str, tuple[float, float]] = {
    "light_intensity": (0.2, 3.0), "light_azimuth_deg": (-360.0, 360.0), "light_tilt_deg": (0.0, 75.0),
}
TABLE_RGB = (0.72, 0.62, 0.48)


@dataclass(frozen=True)
class SensorSpec:
    """Depth sensor model of a camera (applied by ``backends/sim/sensor_model.py``).

    ``ideal``: the renderer's exact depth from the exactly reported pose. ``structured_light``: an
    active-stereo RGB-D camera (RealSense D4xx-like) with the constants below; the defaults are
    documented in the sensor model module.

    Attributes:
        model: one of ``SENSOR_MODELS``.
        noise_base_m, noise_quad_per_m: depth noise std sigma(z) = noise_base_m + noise_quad_per_m * z**2
            (z in metres, so noise_quad_per_m is in 1/m).
        depth_unit_m: quantisation step of the published depth.
        min_range_m, max_range_m: depth outside this range is missing.
        baseline_m: projector / second imager offset along the optical x axis (occlusion bands).
        edge_dropout: probability that a pixel at a depth discontinuity is missing.
        min_signal: returned-signal level (albedo * cos(incidence) / z**2) at which half the pixels are missing.
        calib_rot_deg, calib_trans_m: nominal size of the extrinsic calibration error (the pose reported
            with the frame differs from the true pose by about this much).
        seed: seed of the calibration error and the noise; None = the scene's seed.
    """

    model: str = "ideal"
    noise_base_m: float = 0.001
    noise_quad_per_m: float = 0.0025
    depth_unit_m: float = 0.001
    min_range_m: float = 0.16
    max_range_m: float = 3.0
    baseline_m: float = 0.05
    edge_dropout: float = 0.5
    min_signal: float = 0.04
    calib_rot_deg: float = 0.4
    calib_trans_m: float = 0.004
    seed: int | None = None

    @property
    def ideal(self) -> bool:
        """Whether frames are the renderer's exact data."""
        return self.model == "ideal"


@dataclass(frozen=True)
class Appearance:
    """Rendered look of the cell (colour images and the sensor's albedo; geometry is unchanged).

    Attributes:
        table_rgb: table top colour in 0..1.
        light_intensity: factor on the key, fill and head lights' diffuse intensity.
        light_azimuth_deg, light_tilt_deg: direction of the key light (azimuth about z in the base
            frame, tilt from straight down); it stays aimed at the workspace.
    """

    table_rgb: tuple[float, float, float] = TABLE_RGB
    light_intensity: float = 1.0
    light_azimuth_deg: float = -90.0
    light_tilt_deg: float = 5.71


def random_appearance(seed: int) -> Appearance:
    """A plausible lab look drawn from ``seed``: table top (light/dark wood, white/grey laminate,
    green bench, each jittered), light intensity 0.6..1.4, key light from any azimuth, 0..45 deg tilt."""
    rng = np.random.default_rng([seed, 0xA99E])
    tops = ((0.72, 0.62, 0.48), (0.45, 0.32, 0.20), (0.86, 0.86, 0.83), (0.50, 0.51, 0.53), (0.52, 0.62, 0.55))
    base = np.array(tops[int(rng.integers(len(tops)))])
    rgb = np.clip(base + rng.uniform(-0.05, 0.05, 3), 0.0, 1.0)
    return Appearance(table_rgb=(float(rgb[0]), float(rgb[1]), float(rgb[2])),
                      light_intensity=float(rng.uniform(0.6, 1.4)), light_azimuth_deg=float(rng.uniform(-180, 180)),
                      light_tilt_deg=float(rng.uniform(0.0, 45.0)))


def sensor_to_dict(spec: SensorSpec) -> str | dict[str, Any]:
    """The model name alone, or a mapping with the settings that differ from the defaults."""
    base = SensorSpec()
    changed = {k: getattr(spec, k) for k in (*SENSOR_BOUNDS, "seed") if getattr(spec, k) != getattr(base, k)}
    return {"model": spec.model, **changed} if changed else spec.model
