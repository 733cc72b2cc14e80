"""Hostile scene and parameter files: every one is refused quickly with one short typed error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from spacetools_ros.backends.motion.settings import load_params, motion_settings
from spacetools_ros.core import safe_yaml
from spacetools_ros.core.errors import ConfigError, SceneError
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.robot_spec import load_robot_spec
from spacetools_ros.core.safe_yaml import YamlReadError, read_yaml
from spacetools_ros.core.scene import MAX_SCENE_FILE_BYTES, load_scene, scene_from_dict, scene_to_dict

DEMO = config_dir() / "scenes" / "box_in_bowl.yaml"
OBJ = "{name: red_block, shape: box, color: red, size: [0.04, 0.04, 0.04], position: [0.5, 0.1]}"
MAX_MESSAGE = 200


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: ``levels`` anchors, each nine aliases of the previous one."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def refused(path: Path, match: str | None = None, budget_s: float = 2.0) -> SceneError:
    """Load ``path`` expecting a short SceneError within ``budget_s``."""
    t0 = time.perf_counter()
    with pytest.raises(SceneError) as err:
        load_scene(path)
    elapsed = time.perf_counter() - t0
    assert elapsed < budget_s, f"took {elapsed:.2f} s"
    message = str(err.value)
    assert len(message) <= MAX_MESSAGE, message
    assert err.value.field == "scene" or message.startswith(err.value.field)
    if match:
        assert match in message, message
    return err.value


def write(tmp_path: Path, text: str | bytes, name: str = "scene.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_billion_laughs_is_refused_at_the_first_anchor(tmp_path):
    p = write(tmp_path, billion_laughs())
    assert len(p.read_bytes()) < 1024
    err = refused(p, "anchors/aliases are not allowed", budget_s=0.5)
    assert "line 1" in str(err)


def test_an_alias_alone_is_refused(tmp_path):
    p = write(tmp_path, f"objects: [{OBJ}]\nseed: &s 1\ncamera: {{width: *s}}\n")
    refused(p, "anchors/aliases are not allowed")


def test_file_over_the_size_cap_is_refused_before_parsing(tmp_path, monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("the parser must not run")

    monkeypatch.setattr(yaml, "parse", no_parsing)
    p = write(tmp_path, "#" * MAX_SCENE_FILE_BYTES + "\n")
    refused(p, f"limit {MAX_SCENE_FILE_BYTES}")


def test_file_at_the_size_cap_is_still_read(tmp_path):
    body = f"objects: [{OBJ}]\n"
    p = write(tmp_path, body + "#" * (MAX_SCENE_FILE_BYTES - len(body) - 1) + "\n")
    assert p.stat().st_size == MAX_SCENE_FILE_BYTES
    assert load_scene(p).objects[0].name == "red_block"


def test_binary_junk_is_not_utf8(tmp_path):
    p = write(tmp_path, bytes(range(256)) * 16)
    refused(p, "not UTF-8 text")


def test_utf16_scene_is_not_utf8(tmp_path):
    p = write(tmp_path, DEMO.read_text().encode("utf-16"))
    refused(p, "not UTF-8 text")
    p = write(tmp_path, DEMO.read_text().encode("utf-16-le"), "nobom.yaml")
    refused(p, "not UTF-8 text")


def test_utf8_bom_is_accepted(tmp_path):
    p = write(tmp_path, b"\xef\xbb\xbf" + DEMO.read_bytes())
    assert len(load_scene(p).objects) == 4


@pytest.mark.parametrize("text, where", [
    (f"{{1: 2, objects: [{OBJ}]}}", "top level"),
    (f"objects: [{OBJ}]\ntrue: 1\n", "top level"),
    ("objects:\n  - {1: 2, name: red_block, shape: box}\n", "objects[0]"),
    (f"objects: [{OBJ}, {{[1, 2]: x}}]\n", "objects[1]"),
    (f"objects: [{OBJ}]\ncamera: {{null: 640}}\n", "camera"),
])
def test_non_string_keys_are_refused_with_their_path(tmp_path, text, where):
    err = refused(write(tmp_path, text), "keys must be strings")
    assert where in str(err)


def test_non_string_keys_from_memory_are_a_scene_error():
    with pytest.raises(SceneError, match="must be strings"):
        scene_from_dict({1: 2, "objects": []})
    obj = yaml.safe_load(OBJ)
    obj[7] = 1
    with pytest.raises(SceneError) as err:
        scene_from_dict({"objects": [obj]})
    assert err.value.field == "objects[0]"


def test_duplicate_keys_are_refused(tmp_path):
    refused(write(tmp_path, f"objects: [{OBJ}]\nseed: 1\nseed: 2\n"), "duplicate key 'seed'")


@pytest.mark.parametrize("text", [
    "[" * 100_000,
    "{a: " * 60_000,
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
    "- " * 100_000 + "x\n",
])
def test_deep_nesting_is_refused_without_recursion(tmp_path, text):
    err = refused(write(tmp_path, text))
    assert "nest" in str(err)


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
def test_depth_and_node_limits_hold_for_either_parser(tmp_path, monkeypatch, loader):
    monkeypatch.setattr(safe_yaml, "_PARSER_LOADER", loader)
    with pytest.raises(YamlReadError, match="nested deeper than 20"):
        read_yaml(write(tmp_path, "{a: " * 100_000), 10**6, "test")
    with pytest.raises(YamlReadError, match="nested deeper than 20"):
        read_yaml(write(tmp_path, "[" * 21 + "]" * 21), 10**6, "test")
    assert read_yaml(write(tmp_path, "[" * 20 + "]" * 20), 10**6, "test") == [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]
    with pytest.raises(YamlReadError, match="YAML nodes"):
        read_yaml(write(tmp_path, "[" + "1, " * 30_000 + "1]"), 10**6, "test")


def test_camera_of_4096_squared_is_refused(tmp_path):
    p = write(tmp_path, f"objects: [{OBJ}]\ncamera: {{width: 4096, height: 4096}}\n")
    err = refused(p)
    assert err.field == "camera.width"


@pytest.mark.parametrize("camera, field", [
    ({"width": 1921, "height": 100}, "camera.width"),
    ({"width": 640, "height": 1921}, "camera.height"),
    ({"width": 1920, "height": 1920}, "camera.width"),
    ({"width": 15}, "camera.width"),
    ({"position": [1e300, 0.0, 0.6]}, "camera.position[0]"),
    ({"look_at": [0.5, 0.0, -50.0]}, "camera.look_at[2]"),
])
def test_camera_limits(camera, field):
    with pytest.raises(SceneError) as err:
        scene_from_dict({"objects": [yaml.safe_load(OBJ)], "camera": camera})
    assert err.value.field == field


def test_largest_camera_is_accepted():
    s = scene_from_dict({"objects": [yaml.safe_load(OBJ)], "camera": {"width": 1920, "height": 1200}})
    assert (s.camera.width, s.camera.height) == (1920, 1200)


def test_at_most_eight_extra_cameras():
    cams = [{"name": f"c{i}"} for i in range(9)]
    with pytest.raises(SceneError) as err:
        scene_from_dict({"objects": [yaml.safe_load(OBJ)], "cameras": cams})
    assert err.value.field == "cameras"
    assert len(scene_from_dict({"objects": [yaml.safe_load(OBJ)], "cameras": cams[:8]}).cameras) == 9


@pytest.mark.parametrize("seed", [2**31, 10**40, 2**5000, -1, 1.5, "1"])
def test_seed_is_bounded(seed):
    with pytest.raises(SceneError) as err:
        scene_from_dict({"objects": [yaml.safe_load(OBJ)], "seed": seed})
    assert err.value.field == "seed" and len(str(err.value)) <= MAX_MESSAGE


def test_largest_seed_is_accepted():
    assert scene_from_dict({"objects": [yaml.safe_load(OBJ)], "seed": 2**31 - 1}).seed == 2**31 - 1


def test_huge_seed_in_a_file(tmp_path):
    refused(write(tmp_path, f"objects: [{OBJ}]\nseed: {'9' * 5000}\n"), "number longer than")
    err = refused(write(tmp_path, f"objects: [{OBJ}]\nseed: {'9' * 90}\n"))
    assert err.field == "seed"


@pytest.mark.parametrize("yaw", [3601.0, -1e300, 10**200])
def test_yaw_is_bounded(yaw):
    obj = dict(yaml.safe_load(OBJ), yaw_deg=yaw)
    with pytest.raises(SceneError) as err:
        scene_from_dict({"objects": [obj]})
    assert err.value.field == "objects[0].yaw_deg"


@pytest.mark.parametrize("text", [
    "!!python/object/apply:os.system ['echo owned']\n",
    f"objects: [{OBJ}]\nseed: !!python/object:builtins.int 1\n",
    f"objects: [{OBJ}]\nseed: !!int '1'\n",
    "%TAG !x! tag:example.com,2000:\n---\nobjects: !x!thing []\n",
])
def test_tags_are_refused(tmp_path, text):
    refused(write(tmp_path, text), "tags are not allowed")


def test_several_documents_are_refused(tmp_path):
    refused(write(tmp_path, f"objects: [{OBJ}]\n---\nobjects: []\n"), "single YAML document")


def test_merge_keys_are_refused(tmp_path):
    refused(write(tmp_path, f"objects: [{OBJ}]\ncamera: {{<<: {{width: 320}}}}\n"), "keys must be strings")


@pytest.mark.parametrize("text", [
    "objects: [unclosed" + "x" * 100_000,
    "objects: '" + "x" * 200_000 + "'\n",
    f"objects: [{OBJ}]\ncolour{'x' * 5000}: 1\n",
    f"objects: [{dict(yaml.safe_load(OBJ), color='z' * 9000)}]\n".replace("'", ""),
    f"objects: [{dict(yaml.safe_load(OBJ), name='N' * 9000)}]\n".replace("'", ""),
    "objects:\n\t- x\n",
    "\x07objects: []\n",
    "objects: [" + ", ".join([OBJ] * 13) + "]\n",
])
def test_every_message_is_short(tmp_path, text):
    refused(write(tmp_path, text))


def test_missing_file_and_directory(tmp_path):
    refused(tmp_path / ("n" * 200), "file not found")
    refused(tmp_path, "not a regular file")


def test_normal_scene_still_loads_and_round_trips(tmp_path):
    s = load_scene(DEMO)
    assert [o.name for o in s.objects] == ["red_block", "blue_bowl", "green_can", "yellow_ball"]
    p = write(tmp_path, yaml.safe_dump(scene_to_dict(s)))
    assert load_scene(p).objects == s.objects


def test_load_params_refuses_aliases(tmp_path):
    p = write(tmp_path, "spacetools_motion:\n  ros__parameters:\n    velocity_scaling: &v 0.5\n"
                        "    acceleration_scaling: *v\n", "motion.yaml")
    with pytest.raises(ConfigError, match="anchors/aliases are not allowed"):
        load_params(p, "spacetools_motion")


def test_load_params_bomb_is_refused_quickly(tmp_path):
    p = write(tmp_path, billion_laughs(), "params.yaml")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_params(p, "spacetools_motion")
    assert time.perf_counter() - t0 < 0.5 and len(str(err.value)) <= MAX_MESSAGE


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e999"])
def test_non_finite_motion_values_are_refused(tmp_path, value):
    p = write(tmp_path, f"spacetools_motion:\n  ros__parameters:\n    planning_time_s: {value}\n", "motion.yaml")
    params = load_params(p, "spacetools_motion")
    with pytest.raises(ConfigError, match="planning_time_s"):
        motion_settings(params)


@pytest.mark.parametrize("params, key", [
    ({"velocity_scaling": "fast"}, "velocity_scaling"),
    ({"velocity_scaling": True}, "velocity_scaling"),
    ({"max_replans": "3"}, "max_replans"),
    ({"max_replans": 2.5}, "max_replans"),
    ({"cartesian_step_m": 0.0}, "cartesian_step_m"),
    ({"check_step_m": float("nan")}, "check_step_m"),
    ({"workspace_x_m": [0.1, float("inf")]}, "workspace_x_m"),
    ({"workspace_y_m": [0.5, -0.5]}, "workspace_y_m"),
    ({"workspace_z_m": ["a", 1]}, "workspace_z_m"),
    ({"goal_tolerance_rad": None}, "goal_tolerance_rad"),
    ({"timeout_margin_s": 10**400}, "timeout_margin_s"),
])
def test_motion_settings_reject_wrong_types_and_ranges(params, key):
    with pytest.raises(ConfigError, match=key) as err:
        motion_settings(params)
    assert len(str(err.value)) <= MAX_MESSAGE


def test_packaged_config_still_loads():
    assert motion_settings().backend == "embedded"
    assert load_robot_spec().dof == 7


@pytest.mark.parametrize("text", [
    "name: panda\n<<: {x: 1}\n",
    "[1, 2]\n",
    "\xff",
])
def test_robot_spec_failures_are_config_errors(tmp_path, text):
    p = write(tmp_path, text.encode("latin-1"), "robot.yaml")
    with pytest.raises(ConfigError):
        load_robot_spec(p)


def test_robot_spec_refuses_non_finite_limits(tmp_path):
    original = config_dir().joinpath("robot_panda.yaml").read_text()
    text = original.replace("gripper_force_n: 40.0", "gripper_force_n: .nan")
    with pytest.raises(ConfigError, match="gripper_force_n"):
        load_robot_spec(write(tmp_path, text, "robot.yaml"))
    text = original.replace("home_rad: [0.0,", "home_rad: [zero,")
    with pytest.raises(ConfigError, match="home_rad"):
        load_robot_spec(write(tmp_path, text, "robot.yaml"))


def test_cli_run_with_a_bomb_is_invalid_input(tmp_path, monkeypatch):
    from spacetools_ros.cli.main import main

    monkeypatch.setenv("MUJOCO_GL", "egl")
    bomb = write(tmp_path, billion_laughs(), "bomb.yaml")
    out = tmp_path / "result.json"
    code = main(["run", "--scene", str(bomb), "--command", "put the red block in the blue bowl", "--json", str(out)])
    assert code == 2
    doc = json.loads(out.read_text())
    assert doc["success"] is False and doc["reason"] == "invalid_input"
    assert "anchors/aliases" in doc["error"] and len(doc["error"]) <= MAX_MESSAGE
