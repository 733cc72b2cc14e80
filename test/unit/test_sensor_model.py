"""The RGB-D sensor model: noise statistics, missing pixels, calibration error, determinism, scene options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from spacetools_ros.backends.sim.sensor_model import (
    SurfaceMaps,
    calibration_offset,
    depth_sigma_m,
    measure_depth,
    true_camera_pose,
)
from spacetools_ros.core.errors import SceneError
from spacetools_ros.core.scene import (
    TABLE_RGB,
    Appearance,
    CameraSpec,
    SensorSpec,
    load_scene,
    random_appearance,
    scene_from_dict,
    scene_to_dict,
    with_sensor,
)

SL = SensorSpec(model="structured_light")
W, H = 320, 240
K = CameraSpec(width=W, height=H).intrinsics()
OBJ = {"name": "red_block", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04], "position": [0.5, 0.1]}


def surface(albedo: float = 0.8, specular: float = 0.0) -> SurfaceMaps:
    return SurfaceMaps(np.full((H, W), albedo, np.float32), np.full((H, W), specular, np.float32))


def measure(depth, surf=None, spec=SL, seed=3, stamp_s=0.0):
    return measure_depth(depth, surf or surface(), K, spec, seed, "scene", stamp_s)


# --------------------------------------------------------------------------- depth model


def test_noise_std_grows_with_distance_as_modelled():
    measured = {}
    for z in (0.5, 1.5):
        d = measure(np.full((H, W), z, np.float32))
        ok = d > 0
        assert ok.mean() > 0.95
        measured[z] = float(np.std(d[ok] - z))
        expected = math.sqrt(depth_sigma_m(SL, z) ** 2 + SL.depth_unit_m ** 2 / 12)  # noise + quantisation
        assert measured[z] == pytest.approx(expected, rel=0.1)
        assert abs(float(np.mean(d[ok] - z))) < 0.2 * expected  # unbiased
    assert measured[1.5] / measured[0.5] == pytest.approx(depth_sigma_m(SL, 1.5) / depth_sigma_m(SL, 0.5), rel=0.15)


def test_depth_is_quantised_to_the_depth_unit():
    d = measure(np.full((H, W), 0.8, np.float32))
    ok = d > 0
    steps = d[ok] / SL.depth_unit_m
    assert np.allclose(steps, np.round(steps), atol=1e-3)


def _block_scene():
    """A plane at 1 m with a 0.8 m block in the middle; left third of the plane dark."""
    depth = np.full((H, W), 1.0, np.float32)
    depth[80:160, 140:220] = 0.8
    albedo = np.full((H, W), 0.8, np.float32)
    albedo[:, :60] = 0.03
    return depth, SurfaceMaps(albedo, np.zeros((H, W), np.float32))


def test_missing_pixels_at_edges_and_dark_surfaces_not_on_bright_interior():
    depth, surf = _block_scene()
    d = measure(depth, surf)
    missing = d == 0
    block = np.zeros((H, W), bool)
    block[80:160, 140:220] = True
    ring = np.zeros((H, W), bool)
    ring[78:162, 138:222] = True
    inner = np.zeros((H, W), bool)
    inner[82:158, 142:218] = True
    edge = ring & ~inner
    bright = np.zeros((H, W), bool)
    bright[20:60, 240:300] = True
    dark = np.zeros((H, W), bool)
    dark[20:220, 5:55] = True
    assert missing[bright].mean() < 0.01
    assert missing[block & inner].mean() < 0.01
    assert missing[edge].mean() > 0.3
    assert missing[dark].mean() > 0.3
    # the second imager (to the right) cannot see the plane just left of the block:
    # a band f B (1/0.8 - 1/1.0) pixels wide, fully missing
    band = K[0, 0] * SL.baseline_m * (1 / 0.8 - 1 / 1.0)
    assert missing[85:155, 140 - int(band):138].all()
    assert missing[85:155, 224:230].mean() < 0.05  # no band on the right side


def test_dark_surfaces_lose_more_pixels_far_away_and_at_a_slant():
    dark = surface(albedo=0.06)
    near = (measure(np.full((H, W), 0.5, np.float32), dark) == 0).mean()
    far = (measure(np.full((H, W), 1.2, np.float32), dark) == 0).mean()
    assert near < 0.05 and far > 0.5


def test_out_of_range_and_nothing_seen_are_missing():
    depth = np.full((H, W), 1.0, np.float32)
    depth[:, :40] = SL.max_range_m + 0.5
    depth[:, 40:80] = SL.min_range_m / 2
    depth[:, 80:120] = np.inf
    depth[:, 120:160] = 0.0
    d = measure(depth)
    assert (d[:, :160] == 0).all()
    assert (d[:, 170:] > 0).mean() > 0.95


def test_specular_highlight_is_missing_on_glossy_surfaces_only():
    depth = np.full((H, W), 0.8, np.float32)  # facing the camera: the image centre is a highlight
    centre = (slice(H // 2 - 5, H // 2 + 5), slice(W // 2 - 5, W // 2 + 5))
    assert (measure(depth, surface(specular=0.5))[centre] == 0).all()
    assert (measure(depth, surface(specular=0.0))[centre] == 0).mean() < 0.05


def test_deterministic_by_seed_and_frame_time():
    depth, surf = _block_scene()
    a = measure(depth, surf, seed=5, stamp_s=1.25)
    assert np.array_equal(a, measure(depth, surf, seed=5, stamp_s=1.25))
    assert not np.array_equal(a, measure(depth, surf, seed=6, stamp_s=1.25))
    assert not np.array_equal(a, measure(depth, surf, seed=5, stamp_s=1.30))


def test_ideal_leaves_the_depth_exactly_unchanged():
    depth, surf = _block_scene()
    out = measure(depth, surf, spec=SensorSpec())
    assert out is depth
    assert np.array_equal(calibration_offset(SensorSpec(), 3, "scene"), np.eye(4))
    cam = CameraSpec()
    assert np.array_equal(true_camera_pose(cam, 3), cam.extrinsics())


def test_calibration_error_is_small_bounded_and_fixed_per_seed():
    angles, shifts = [], []
    for seed in range(30):
        off = calibration_offset(SL, seed, "scene")
        r = off[:3, :3]
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.linalg.det(r) == pytest.approx(1.0)
        angles.append(math.degrees(math.acos(np.clip((np.trace(r) - 1) / 2, -1, 1))))
        shifts.append(float(np.linalg.norm(off[:3, 3])))
    assert 0.3 - 1e-9 <= min(angles) and max(angles) <= 0.5 + 1e-9
    assert 0.003 - 1e-12 <= min(shifts) and max(shifts) <= 0.005 + 1e-12
    assert np.std(angles) > 0.01  # drawn, not constant
    assert np.array_equal(calibration_offset(SL, 7, "scene"), calibration_offset(SL, 7, "scene"))
    assert not np.array_equal(calibration_offset(SL, 7, "scene"), calibration_offset(SL, 7, "wrist"))
    cam = CameraSpec(sensor=SL)
    true = true_camera_pose(cam, 7)
    assert 0.003 <= np.linalg.norm(true[:3, 3] - cam.extrinsics()[:3, 3]) <= 0.005


# --------------------------------------------------------------------------- scene options


def scene_with(camera=None, **top):
    data = {"objects": [OBJ], **top}
    if camera is not None:
        data["camera"] = camera
    return scene_from_dict(data)


def test_sensor_and_appearance_are_off_by_default():
    s = scene_with()
    assert s.camera.sensor.ideal and s.appearance is None
    out = scene_to_dict(s)
    assert "sensor" not in out["camera"] and "appearance" not in out


def test_sensor_option_parsing():
    assert scene_with({"sensor": "structured_light"}).camera.sensor == SL
    s = scene_with({"sensor": {"model": "structured_light", "noise_quad_per_m": 0.004, "max_range_m": 2.0,
                               "seed": 11}})
    assert s.camera.sensor == SensorSpec(model="structured_light", noise_quad_per_m=0.004, max_range_m=2.0, seed=11)
    assert scene_with({"sensor": "ideal"}).camera.sensor == SensorSpec()
    extra = scene_from_dict({"objects": [OBJ], "cameras": [{"name": "side", "position": [0.5, -1.0, 0.5],
                                                            "sensor": "structured_light"}]})
    assert extra.camera.sensor.ideal and not extra.cameras[1].sensor.ideal


@pytest.mark.parametrize("sensor, field", [
    ("kinect", "camera.sensor.model"),
    (3, "camera.sensor"),
    ({"noise_base_m": 0.001}, "camera.sensor.model"),
    ({"model": "structured_light", "noise_base_m": -0.001}, "camera.sensor.noise_base_m"),
    ({"model": "structured_light", "noise_quad_per_m": 1.0}, "camera.sensor.noise_quad_per_m"),
    ({"model": "structured_light", "edge_dropout": 1.5}, "camera.sensor.edge_dropout"),
    ({"model": "structured_light", "calib_rot_deg": "big"}, "camera.sensor.calib_rot_deg"),
    ({"model": "structured_light", "calib_trans_m": float("nan")}, "camera.sensor.calib_trans_m"),
    ({"model": "structured_light", "min_signal": True}, "camera.sensor.min_signal"),
    ({"model": "structured_light", "seed": -2}, "camera.sensor.seed"),
    ({"model": "structured_light", "min_range_m": 0.9, "max_range_m": 0.8}, "camera.sensor.max_range_m"),
    ({"model": "structured_light", "nois_base_m": 0.001}, "camera.sensor.nois_base_m"),
    ({"model": "ideal", "noise_base_m": 0.001}, "camera.sensor.noise_base_m"),
])
def test_bad_sensor_options_are_refused_naming_the_field(sensor, field):
    with pytest.raises(SceneError) as exc:
        scene_with({"sensor": sensor})
    assert exc.value.field == field
    assert len(str(exc.value)) <= 200


def test_appearance_option_parsing():
    s = scene_with(appearance={"table_color": "gray", "light_intensity": 1.5, "light_azimuth_deg": 30,
                               "light_tilt_deg": 20})
    assert s.appearance == Appearance(table_rgb=(0.5, 0.5, 0.5), light_intensity=1.5, light_azimuth_deg=30.0,
                                      light_tilt_deg=20.0)
    assert scene_with(appearance={}).appearance == Appearance()
    r = scene_with(seed=42, appearance="random").appearance
    assert r == random_appearance(42) and r != random_appearance(43)
    assert 0.6 <= r.light_intensity <= 1.4 and 0.0 <= r.light_tilt_deg <= 45.0


@pytest.mark.parametrize("appearance, field", [
    ("sometimes", "appearance"),
    ({"light_intensity": 10.0}, "appearance.light_intensity"),
    ({"light_tilt_deg": -5}, "appearance.light_tilt_deg"),
    ({"table_color": "teal"}, "appearance.table_color"),
    ({"table_color": [2.0, 0.0, 0.0]}, "appearance.table_color"),
    ({"lights": 2}, "appearance.lights"),
])
def test_bad_appearance_options_are_refused_naming_the_field(appearance, field):
    with pytest.raises(SceneError) as exc:
        scene_with(appearance=appearance)
    assert exc.value.field == field


def test_new_options_round_trip_through_yaml(tmp_path):
    s = scene_from_dict({"seed": 9, "objects": [OBJ], "appearance": "random",
                         "camera": {"sensor": {"model": "structured_light", "edge_dropout": 0.3, "seed": 4}},
                         "cameras": [{"name": "side", "position": [0.5, -1.0, 0.5], "sensor": "structured_light"}]})
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(scene_to_dict(s)))
    back = load_scene(p)
    assert back.cameras == s.cameras and back.appearance == s.appearance


def test_with_sensor_turns_the_model_on_for_every_camera():
    s = scene_from_dict({"seed": 5, "objects": [OBJ],
                         "cameras": [{"name": "side", "position": [0.5, -1.0, 0.5]}]})
    on = with_sensor(s)
    assert all(c.sensor == SL for c in on.cameras) and on.appearance is None and on.objects == s.objects
    assert with_sensor(s, vary_appearance=True).appearance == random_appearance(5)
    assert with_sensor(s, SensorSpec(model="structured_light", edge_dropout=0.1)).camera.sensor.edge_dropout == 0.1
    with pytest.raises(SceneError):
        with_sensor(s, "lidar")


# --------------------------------------------------------------------------- in the simulator


SMALL_CAMERA = {"width": 160, "height": 120}


def test_simulator_frames_ideal_exact_and_structured_light_measured():
    from spacetools_ros.backends.sim.mujoco_sim import MujocoSim

    ideal = MujocoSim(scene_from_dict({"seed": 2, "objects": [OBJ], "camera": SMALL_CAMERA}))
    try:
        f = ideal.render()
        assert np.array_equal(f.depth_m, ideal.render(exact=True).depth_m)
        assert (f.depth_m > 0).all()
        assert np.allclose(ideal.model.geom("table").rgba[:3], TABLE_RGB)
    finally:
        ideal.close()
    scene = with_sensor(scene_from_dict({"seed": 2, "objects": [OBJ], "camera": SMALL_CAMERA}), vary_appearance=True)
    sim = MujocoSim(scene)
    try:
        f = sim.render(segmentation=True)
        exact = sim.render(exact=True).depth_m
        assert np.array_equal(f.extrinsics, scene.camera.extrinsics())  # the reported (calibrated) pose
        true_pos = sim.data.cam_xpos[sim.model.camera("cam/scene").id]
        assert 0.003 <= np.linalg.norm(true_pos - scene.camera.extrinsics()[:3, 3]) <= 0.005
        near = (exact < 1.5) & (f.segmentation == -1)  # the table
        ok = near & (f.depth_m > 0)
        assert 0.0 < (f.depth_m[near] == 0).mean() < 0.1
        assert 0.001 < np.std(f.depth_m[ok] - exact[ok]) < 0.01
        assert np.allclose(sim.model.geom("table").rgba[:3], scene.appearance.table_rgb)
        assert np.array_equal(f.depth_m, sim.render().depth_m)  # same frame time, same measurement
    finally:
        sim.close()
