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
                and getattr(c.func, "id", "") == "DeclareLaunchArgument" and isinstance(c.args[0], ast.Constant)}
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


def test_packaged_topic_lists_are_relative_but_clock_and_tf():
    topics = [spec.split(":", 1)[0] for spec in load_params(config_dir() / "recorder.yaml", "spacetools_recorder")["topics"]]
    assert [t for t in topics if t.startswith("/")] == ["/clock", "/tf", "/tf_static"]  # global by ROS convention
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


LAUNCH = ROOT / "launch"
AGENT_LAUNCHES = ("spacetools_agent.launch.py", "spacetools_gazebo.launch.py", "spacetools_isaac.launch.py")


def _load(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _node_calls(tree, package: str, executable: str):
    for c in ast.walk(tree):
        if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "Node":
            kw = {k.arg: k.value for k in c.keywords}
            if getattr(kw.get("package"), "value", None) == package and getattr(kw.get("executable"), "value", None) == executable:
                yield kw


def _dict_keys(node) -> set[str]:
    return {k.value for d in ast.walk(node) if isinstance(d, ast.Dict) for k in d.keys if isinstance(k, ast.Constant)}


@pytest.mark.parametrize("name", ["spacetools_gazebo.launch.py", "spacetools_isaac.launch.py"])
def test_the_simulator_launch_files_import_launch_only_when_launched(name):
    tree = ast.parse((LAUNCH / name).read_text())
    top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names} | \
        {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert not {m for m in top if m.split(".")[0] in ("launch", "launch_ros", "ament_index_python")}, top
    _load(LAUNCH / name)  # importable without a ROS install
    doc = ast.get_docstring(tree)
    assert "ros2 launch spacetools_ros " + name in doc and "Needs" in doc


@pytest.mark.parametrize("name", AGENT_LAUNCHES)
def test_every_agent_launch_keeps_the_action_and_topic_contract(name):
    tree = ast.parse((LAUNCH / name).read_text())
    doc = ast.get_docstring(tree)
    assert "spacetools/execute" in doc and "spacetools/markers" in doc
    (agent,) = _node_calls(tree, "spacetools_ros", "spacetools_agent")
    declared = set(load_params(config_dir() / "agent.yaml", "spacetools_agent")) | {"use_sim_time"}
    keys = _dict_keys(agent["parameters"])
    assert keys <= declared, keys - declared  # only parameters the agent has
    assert {"world", "scene", "policy", "camera_pose_source"} <= keys
    worlds = [v for d in ast.walk(agent["parameters"]) if isinstance(d, ast.Dict)
              for k, v in zip(d.keys, d.values) if getattr(k, "value", None) == "world"]
    assert [ast.literal_eval(v) for v in worlds] == ["ros"]
    declared_args = {c.args[0].value for c in ast.walk(tree) if isinstance(c, ast.Call)
                     and getattr(c.func, "id", "") == "DeclareLaunchArgument" and isinstance(c.args[0], ast.Constant)}
    assert {"rviz", "camera_pose_source"} <= declared_args
    rviz = list(_node_calls(tree, "rviz2", "rviz2"))
    assert rviz and all("spacetools.rviz" in ast.unparse(kw["arguments"]) for kw in rviz)


def test_gazebo_bridges_and_controllers_onto_the_package_topics():
    from spacetools_ros.ros import topics

    gz = _load(LAUNCH / "spacetools_gazebo.launch.py")
    args, remaps = gz._bridge_arguments("camera")
    assert args[0].startswith(topics.CLOCK + "@rosgraph_msgs/msg/Clock[")
    assert {ros for _, ros in remaps} == {topics.COLOR_IMAGE, topics.DEPTH_IMAGE, topics.COLOR_INFO, topics.POINTS}
    assert all(not gz_name.startswith("/") and f"{gz_name}@" in " ".join(args) for gz_name, _ in remaps)
    assert f"{gz.ARM_CONTROLLER}/joint_trajectory" == topics.ARM_TRAJECTORY
    assert f"{gz.GRIPPER_CONTROLLER}/commands" == topics.GRIPPER_COMMAND
    tree = ast.parse((LAUNCH / "spacetools_gazebo.launch.py").read_text())
    (spawner,) = _node_calls(tree, "controller_manager", "spawner")
    assert {"ARM_CONTROLLER", "GRIPPER_CONTROLLER", "joint_state_broadcaster"} <= \
        {getattr(e, "id", getattr(e, "value", None)) for e in spawner["arguments"].elts}


def test_isaac_topic_arguments_are_agent_parameters_with_relative_defaults():
    isaac = _load(LAUNCH / "spacetools_isaac.launch.py")
    params = load_params(config_dir() / "agent.yaml", "spacetools_agent")
    names = {name for name, _, _ in isaac.TOPIC_ARGUMENTS}
    assert names == {"color_image_topic", "depth_image_topic", "camera_info_topic", "joint_states_topic",
                     "arm_trajectory_topic", "gripper_command_topic"} and names <= set(params)
    for name, default, _ in isaac.TOPIC_ARGUMENTS:
        assert not default.startswith("/"), name
    defaults = dict((n, d) for n, d, _ in isaac.TOPIC_ARGUMENTS)
    assert defaults["arm_trajectory_topic"] == params["arm_trajectory_topic"]  # the controllers' names stay
    assert defaults["gripper_command_topic"] == params["gripper_command_topic"]


@pytest.mark.parametrize("name", ["spacetools_sim.launch.py", "spacetools_agent.launch.py"])
def test_the_cell_launches_offer_robot_state_publisher_and_rviz(name):
    tree = ast.parse((LAUNCH / name).read_text())
    args = {c.args[0].value: {k.arg: getattr(k.value, "value", None) for k in c.keywords}
            for c in ast.walk(tree) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "DeclareLaunchArgument"}
    assert args["rsp"]["default_value"] == "true" and args["rviz"]["default_value"] == "false"
    (rsp,) = _node_calls(tree, "robot_state_publisher", "robot_state_publisher")
    assert "rsp" in ast.unparse(rsp["condition"])
    assert "without_links" in (LAUNCH / name).read_text()  # the sim node's camera frame is not published twice


def test_camera_pose_source_is_cell_unless_asked_and_tf_needs_tf2():
    from spacetools_ros.core.errors import ConfigError
    from spacetools_ros.ros.camera_buffer import CameraConfig
    from spacetools_ros.ros.camera_pose import require_tf2

    assert CameraConfig().pose_source == "cell"
    assert load_params(config_dir() / "agent.yaml", "spacetools_agent")["camera_pose_source"] == "cell"
    assert CameraConfig(pose_source="tf").pose_source == "tf"
    with pytest.raises(ValueError):
        CameraConfig(pose_source="guess")
    try:
        import tf2_ros  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="tf2_ros"):
            require_tf2()
    else:
        require_tf2()
