"""Launch files, setup.py, package.xml, the RViz config and the URDF checked statically (no ros2
launch, no rviz2 here)."""

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def console_scripts() -> set[str]:
    text = (ROOT / "setup.py").read_text()
    return set(re.findall(r'"(\w+) = spacetools_ros[\w.]+:main"', text))


def test_launch_files_parse_and_name_existing_executables_and_files():
    launch_files = list((ROOT / "launch").glob("*.launch.py"))
    assert launch_files
    scripts = console_scripts()
    assert {"spacetools", "spacetools_sim", "spacetools_recorder", "spacetools_bringup"} <= scripts
    for lf in launch_files:
        tree = ast.parse(lf.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Node"]:
            kw = {k.arg: k.value for k in call.keywords}
            if isinstance(kw["package"], ast.Constant) and kw["package"].value == "spacetools_ros":
                assert kw["executable"].value in scripts
        for const in [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]:
            if const.endswith((".yaml", ".urdf", ".rviz")):
                hits = list(ROOT.glob(f"**/{const}"))
                assert hits, f"{lf.name} names missing file {const}"


def test_package_xml_format3_ament_python():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.find("export/build_type").text == "ament_python"
    deps = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "sensor_msgs", "trajectory_msgs", "std_msgs", "visualization_msgs", "diagnostic_msgs",
            "tf2_msgs", "robot_state_publisher"} <= deps


def _displays(displays):
    for d in displays:
        yield d
        yield from _displays(d.get("Displays", []))


def test_the_rviz_config_shows_the_package_topics_in_the_base_frame():
    import yaml

    from spacetools_ros.ros import topics

    doc = yaml.safe_load((ROOT / "config" / "spacetools.rviz").read_text())
    vm = doc["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == topics.BASE_FRAME
    displays = {d["Class"]: d for d in _displays(vm["Displays"])}
    assert {"rviz_default_plugins/RobotModel", "rviz_default_plugins/TF", "rviz_default_plugins/Image",
            "rviz_default_plugins/PointCloud2", "rviz_default_plugins/MarkerArray"} <= set(displays)
    assert displays["rviz_default_plugins/RobotModel"]["Description Topic"]["Value"] == "robot_description"
    assert displays["rviz_default_plugins/Image"]["Topic"]["Value"] == topics.COLOR_IMAGE
    assert displays["rviz_default_plugins/PointCloud2"]["Topic"]["Value"] == topics.POINTS
    assert displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == topics.MARKERS
    known = {v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str)} | {"robot_description"}
    named = {d[key]["Value"] for d in _displays(vm["Displays"]) for key in ("Topic", "Description Topic") if key in d}
    assert named <= known, named - known  # relative names of topics.py: they follow rviz2's namespace
    assert all(d.get("Enabled") is True for d in displays.values())


def test_setup_installs_the_launch_files_and_the_rviz_config():
    text = (ROOT / "setup.py").read_text()
    assert 'glob("config/*.rviz")' in text and 'glob("launch/*.py")' in text


def _rpy(r, p, y):
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def urdf_tcp(q: np.ndarray) -> np.ndarray:
    root = ET.parse(ROOT / "urdf" / "spacetools_cell.urdf").getroot()
    joints = {j.find("child").get("link"): j for j in root.findall("joint")}
    chain, link = [], "panda_tcp"
    while link in joints:
        chain.append(joints[link])
        link = joints[link].find("parent").get("link")
    t = np.eye(4)
    names = [f"panda_joint{i}" for i in range(1, 8)]
    for j in reversed(chain):
        o = j.find("origin")
        xyz = np.array([float(v) for v in (o.get("xyz", "0 0 0") if o is not None else "0 0 0").split()])
        rpy = [float(v) for v in (o.get("rpy", "0 0 0") if o is not None else "0 0 0").split()]
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = _rpy(*rpy), xyz
        t = t @ m
        if j.get("type") == "revolute":
            a = q[names.index(j.get("name"))]
            t = t @ np.block([[_rpy(0, 0, a), np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]])
    return t


def test_urdf_kinematics_match_the_mujoco_model():
    from spacetools_ros.backends.motion.mujoco_kinematics import MujocoKinematics
    from spacetools_ros.core.robot_spec import load_robot_spec

    robot = load_robot_spec()
    kin = MujocoKinematics(robot)
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.uniform(robot.position_lower_rad, robot.position_upper_rad)
        t = urdf_tcp(q)
        fk = kin.fk(q)
        np.testing.assert_allclose(t[:3, 3], fk.position, atol=1e-4)
        np.testing.assert_allclose(t[:3, :3], fk.rotation, atol=1e-4)
