"""The layers: core/ and backends/ never import rclpy or ROS messages; core/ imports no other layer
(its Protocols live in core); backends/ and compose/ import neither cli/ nor ros/; ros/ never imports cli/."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import spacetools_ros

PKG = Path(spacetools_ros.__file__).parent
ROS_MODULES = ("rclpy", "sensor_msgs", "std_msgs", "trajectory_msgs", "geometry_msgs", "moveit_msgs", "shape_msgs")



def imports(layer: str) -> set[tuple[str, str]]:
    """(file relative to the package, absolute module) of every import in a layer, wherever it is
    written (top level, inside functions, under TYPE_CHECKING)."""
    found = set()
    for path in sorted((PKG / layer).rglob("*.py")):
        rel = path.relative_to(PKG)
        package = ["spacetools_ros", *rel.parent.parts]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {(rel.as_posix(), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found.add((rel.as_posix(), module))
    return found


def offending(layer: str, banned: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(f, m) for f, m in imports(layer) if any(m == b or m.startswith(b + ".") for b in banned)}


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


def test_the_import_scanner_sees_relative_and_absolute_imports():
    found = imports("ros")
    assert ("ros/agent_node.py", "spacetools_ros.compose.policy") in found  # from ..compose.policy import
    assert ("ros/agent_node.py", "rclpy.node") in found


def test_core_imports_neither_ros_nor_another_layer():
    bad = offending("core", ROS_MODULES + tuple(f"spacetools_ros.{x}" for x in ("backends", "compose", "cli", "ros")))
    assert not bad, bad


def test_backends_and_compose_import_neither_cli_nor_ros():
    for layer in ("backends", "compose"):
        bad = offending(layer, ("spacetools_ros.cli", "spacetools_ros.ros", "rclpy"))
        assert not bad, bad
    assert not offending("backends", ("spacetools_ros.compose",))


def test_ros_never_imports_cli():
    bad = offending("ros", ("spacetools_ros.cli",))
    assert not bad, bad
    names = {alias.name for path in (PKG / "ros").glob("*.py") for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cli")
             for alias in node.names}
    assert names <= {"run_command"}, names  # nothing else of the CLI, neither sessions nor policies


def test_motion_protocols_live_in_core_and_are_reexported():
    from spacetools_ros.backends.motion import base
    from spacetools_ros.core import motion_api

    for name in ("ArmBackend", "MotionBackend", "MotionStep", "ExecutionReport"):
        assert getattr(base, name) is getattr(motion_api, name)
