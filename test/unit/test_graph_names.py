"""Names and namespaces without a running graph: every launch file takes a namespace and
use_sim_time for every node, the bringup's ROS arguments carry a parameter file's values into a
namespace, and the packaged files name topics relative to it."""

import ast
from pathlib import Path

import pytest

from spacetools_ros.backends.motion.settings import load_params
from spacetools_ros.core.paths import config_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("launch_file", sorted((ROOT / "launch").glob("*.launch.py")), ids=lambda p: p.name)
def test_every_launched_node_gets_the_namespace_and_use_sim_time(launch_file):
    tree = ast.parse(launch_file.read_text())
    declared = {c.args[0].value for c in ast.walk(tree) if isinstance(c, ast.Call)
                and getattr(c.func, "id", "") == "DeclareLaunchArgument"}
    assert {"namespace", "use_sim_time"} <= declared
    nodes = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "Node"]
    assert nodes
    for node in nodes:
        kw = {k.arg: k.value for k in node.keywords}
        assert "namespace" in kw, ast.unparse(node)[:80]
        params = ast.unparse(kw["parameters"])
        assert "sim_time" in params, params  # the {"use_sim_time": ...} dict
    assert '"/' not in launch_file.read_text().replace('"/**', "")  # no absolute topic names


def test_parameter_arguments_quote_values_for_ros():
    from spacetools_ros.ros.bringup import parameter_arguments

    args = parameter_arguments({"a": 1, "b": 0.5, "c": "", "d": ["x:y/z"], "e": True, "n": {"m": "on"}})
    assert args == ["-p", "a:=1", "-p", "b:=0.5", "-p", 'c:=""', "-p", 'd:=["x:y/z"]', "-p", "e:=true",
                    "-p", 'n.m:="on"']
    with pytest.raises(ValueError):
        parameter_arguments({"x": float("nan")})


def test_node_arguments_repeat_the_file_only_under_a_namespace():
    from spacetools_ros.ros.bringup import node_arguments

    agent = config_dir() / "agent.yaml"
    plain = node_arguments(agent, "spacetools_agent")
    assert plain == ["--params-file", str(agent)]
    ns = node_arguments(agent, "spacetools_agent", "/robot1", use_sim_time=True)
    assert ns[:4] == ["-r", "__ns:=/robot1", "--params-file", str(agent)]
    assert "camera_qos:=\"auto\"" in ns and "sync_tolerance_s:=0.02" in ns and ns[-2:] == ["-p", "use_sim_time:=true"]
    assert node_arguments(None, "spacetools_recorder", "/r") == ["-r", "__ns:=/r"]


def test_bringup_refuses_a_bad_namespace(capsys):
    from spacetools_ros.ros.bringup import parse_args

    assert parse_args(["--namespace", "robot1/"]).namespace == "/robot1"
    with pytest.raises(SystemExit):
        parse_args(["--namespace", "robot 1"])
    assert "not a valid ROS 2 namespace" in capsys.readouterr().err


def test_packaged_topic_lists_are_relative_but_clock():
    topics = [spec.split(":", 1)[0] for spec in load_params(config_dir() / "recorder.yaml", "spacetools_recorder")["topics"]]
    assert [t for t in topics if t.startswith("/")] == ["/clock"]
    for name, node in (("agent.yaml", "spacetools_agent"), ("tool_server.yaml", "spacetools_tool_server")):
        params = load_params(config_dir() / name, node)
        for key in ("joint_states_topic", "arm_trajectory_topic", "gripper_command_topic", "color_image_topic",
                    "depth_image_topic", "camera_info_topic"):
            assert not params[key].startswith("/"), (name, key)
        assert params["camera_qos"] == "auto" and params["sync_tolerance_s"] == 0.02


def test_camera_config_checks_its_values():
    from spacetools_ros.ros.camera_buffer import CameraConfig

    assert CameraConfig().qos == "auto"
    for bad in ({"qos": "fast"}, {"sync_tolerance_s": -0.1}, {"sync_tolerance_s": 5.0},
                {"sync_tolerance_s": float("nan")}, {"color_topic": "camera//color"}, {"info_topic": ""}):
        with pytest.raises(ValueError):
            CameraConfig(**bad)
