"""The camera's extrinsics as a TF transform (base -> optical frame, quaternion x, y, z, w), its
inverse, the checks on what is not a rigid transform, and the URDF without the frames another node
publishes."""

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from spacetools_ros.core.description import without_links
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.scene import CameraSpec, load_scene
from spacetools_ros.core.transforms import pose_matrix, transform_from_matrix
from spacetools_ros.ros import topics

ROOT = Path(__file__).resolve().parents[2]


def rpy_matrix(r, p, y):
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def test_the_scene_camera_becomes_base_to_optical_frame():
    cam = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml").camera
    tf = transform_from_matrix(cam.extrinsics(), topics.BASE_FRAME, topics.optical_frame(cam.name))
    assert (tf.parent, tf.child) == ("panda_link0", "scene_camera_optical_frame")
    assert tf.translation_m == pytest.approx(cam.position)
    x, y, z, w = tf.rotation_xyzw
    assert math.isclose(x * x + y * y + z * z + w * w, 1.0) and w >= 0
    r = tf.matrix()[:3, :3]
    # the optical convention: z (forward) looks at the look-at point, y (image down) points down
    forward = np.subtract(cam.look_at, cam.position)
    assert np.allclose(r[:, 2], forward / np.linalg.norm(forward))
    assert r[2, 1] < 0 and abs(r[2, 0]) < 1e-9  # image rows go down; image x stays level
    # a point seen on the optical axis, 1 m ahead, is where the extrinsics put it
    assert np.allclose(tf.matrix() @ [0, 0, 1, 1], cam.extrinsics() @ [0, 0, 1, 1])


def test_the_transform_matches_the_urdf_camera_joint():
    root = ET.parse(ROOT / "urdf" / "spacetools_cell.urdf").getroot()
    joint = next(j for j in root.findall("joint") if j.find("child").get("link") == "scene_camera_optical_frame")
    origin = joint.find("origin")
    xyz = [float(v) for v in origin.get("xyz").split()]
    rpy = [float(v) for v in origin.get("rpy").split()]
    m = transform_from_matrix(CameraSpec().extrinsics(), "panda_link0", "scene_camera_optical_frame").matrix()
    assert np.allclose(m[:3, 3], xyz, atol=1e-4) and np.allclose(m[:3, :3], rpy_matrix(*rpy), atol=1e-5)


def test_round_trip_and_quaternion_order():
    rng = np.random.default_rng(3)
    for _ in range(20):
        q = rng.normal(size=4)
        t = pose_matrix(rng.normal(size=3), q)
        tf = transform_from_matrix(t, "a", "b")
        assert np.allclose(tf.matrix(), t)
    half = math.sqrt(0.5)  # 90 deg about z: (x, y, z, w) = (0, 0, sin 45, cos 45)
    rz = np.eye(4)
    rz[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    assert transform_from_matrix(rz, "a", "b").rotation_xyzw == pytest.approx((0.0, 0.0, half, half))


@pytest.mark.parametrize("bad", [np.eye(3), np.diag([1.0, 1.0, -1.0, 1.0]), np.diag([2.0, 1.0, 1.0, 1.0]),
                                 np.full((4, 4), np.nan), np.vstack([np.eye(4)[:3], [0, 0, 1, 1]])])
def test_what_is_not_a_rigid_transform_is_refused(bad):
    with pytest.raises(ValueError):
        transform_from_matrix(bad, "a", "b")


def test_frames_must_be_two_names():
    for parent, child in (("", "b"), ("a", ""), ("a", "a")):
        with pytest.raises(ValueError):
            transform_from_matrix(np.eye(4), parent, child)
    with pytest.raises(ValueError):
        pose_matrix((0, 0, 0), (0, 0, 0, 0))


def test_the_urdf_without_the_camera_keeps_everything_else():
    text = (ROOT / "urdf" / "spacetools_cell.urdf").read_text()
    out = ET.fromstring(without_links(text, ["scene_camera_optical_frame"]))
    links = {link.get("name") for link in out.findall("link")}
    children = {j.find("child").get("link") for j in out.findall("joint")}
    before = ET.fromstring(text)
    assert "scene_camera_optical_frame" not in links | children
    assert links == {link.get("name") for link in before.findall("link")} - {"scene_camera_optical_frame"}
    assert len(out.findall("joint")) == len(before.findall("joint")) - 1
    with pytest.raises(ValueError, match="not a leaf"):
        without_links(text, ["panda_link7"])
    with pytest.raises(ValueError):
        without_links("<html/>", ["x"])
