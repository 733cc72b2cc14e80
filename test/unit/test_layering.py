"""core/ and backends/ never import rclpy or ROS messages."""

import pkgutil
import subprocess
import sys

import spacetools_ros


def test_core_and_backends_import_without_rclpy():
    mods = [m.name for m in pkgutil.walk_packages(spacetools_ros.__path__, "spacetools_ros.")
            if m.name.startswith(("spacetools_ros.core", "spacetools_ros.backends"))]
    code = ("import sys, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('rclpy', 'sensor_msgs', 'std_msgs', 'trajectory_msgs')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(mods) > 10
