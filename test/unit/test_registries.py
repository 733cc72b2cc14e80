"""One name -> lazily imported factory registry per capability: unknown names are refused with the
known ones listed, every shipped default resolves, every backend carries the name it was built under,
model libraries stay unimported until chosen, and the composition layer reads the policy settings."""

import subprocess
import sys

import pytest

from spacetools_ros.backends.motion.registry import MOTION
from spacetools_ros.backends.motion.settings import load_params, motion_settings
from spacetools_ros.backends.policy.registry import POLICIES
from spacetools_ros.backends.registry import Registry
from spacetools_ros.backends.tools.factory import DEPTH, GRASP, POINTING, REGISTRIES, SEGMENTATION, build_toolshed
from spacetools_ros.compose.policy import make_policy
from spacetools_ros.compose.toolshed import MODEL_PARAMETERS, ToolshedConfig, toolshed_parameters
from spacetools_ros.core.errors import ConfigError
from spacetools_ros.core.paths import config_dir

ALL = {"pointing": (POINTING, ("offline", "openai")), "segmentation": (SEGMENTATION, ("offline", "sam2")),
       "depth": (DEPTH, ("sensor", "transformers")), "grasp": (GRASP, ("geometric", "graspgen")),
       "policy": (POLICIES, ("scripted", "openai", "local")), "motion": (MOTION, ("embedded", "moveit"))}


@pytest.mark.parametrize("capability", list(ALL))
def test_unknown_names_are_refused_listing_the_known_ones(capability):
    registry, names = ALL[capability]
    assert registry.names() == names
    with pytest.raises(ConfigError) as err:
        registry.create("magic")
    assert str(err.value) == f"unknown {capability} backend 'magic' (one of: {', '.join(names)})"
    with pytest.raises(ConfigError, match=f"unknown {capability} backend"):
        registry.check(None)


def test_unknown_names_are_refused_where_they_are_configured():
    with pytest.raises(ConfigError, match=r"unknown pointing backend 'magic' \(one of: offline, openai\)"):
        build_toolshed(pointing="magic")
    with pytest.raises(ConfigError, match=r"unknown policy backend 'magic' \(one of: scripted, openai, local\)"):
        make_policy("magic")
    with pytest.raises(ConfigError, match=r"unknown motion backend 'magic' \(one of: embedded, moveit\)"):
        motion_settings({"backend": "magic"})
    with pytest.raises(ConfigError, match=r"unknown depth backend 'magic' \(one of: sensor, transformers\)"):
        ToolshedConfig.from_params({"depth_backend": "magic"})


def test_every_shipped_default_resolves_and_names_its_backend():
    tool_params = load_params(config_dir() / "tool_server.yaml", "spacetools_tool_server")
    shed = ToolshedConfig.from_params({k: v for k, v in tool_params.items() if k in toolshed_parameters()}).build()
    assert [shed.pointing.name, shed.segmentation.name, shed.depth_backend.name, shed.grasp.name] == \
        [tool_params[f"{k}_backend"] for k in REGISTRIES] == ["offline", "offline", "sensor", "geometric"]
    agent = load_params(config_dir() / "agent.yaml", "spacetools_agent")
    policy = make_policy(agent["policy"], agent["policy_url"], agent["model"])
    assert policy.name == agent["policy"] == "scripted"
    for motion in (agent["motion"], tool_params["motion"], motion_settings().backend):
        assert motion in MOTION and callable(MOTION.factory(motion))
    for registry, names in ALL.values():  # every factory named by a string imports
        for name in names:
            if name not in ("local", "moveit"):
                assert callable(registry.factory(name))


def test_the_tool_server_file_lists_every_toolshed_parameter_with_its_default():
    params = load_params(config_dir() / "tool_server.yaml", "spacetools_tool_server")
    assert {k: params.get(k) for k in toolshed_parameters()} == toolshed_parameters()
    for param, (kind, backend, _keyword, _default) in MODEL_PARAMETERS.items():
        assert backend in REGISTRIES[kind], param


def test_model_settings_reach_only_the_chosen_backend():
    assert ToolshedConfig.from_params({"sam2_checkpoint": "/x/sam2.pt"}).options == {}  # offline chosen
    cfg = ToolshedConfig.from_params({"segmentation_backend": "sam2", "sam2_checkpoint": "/x/sam2.pt",
                                      "depth_model_path": "/x/depth"})
    assert cfg.segmentation == "sam2" and cfg.depth == "sensor"
    assert cfg.options == {"segmentation": {"checkpoint": "/x/sam2.pt", "model_cfg": "configs/sam2.1/sam2.1_hiera_s.yaml",
                                            "device": "cpu"}}
    with pytest.raises(ConfigError, match="must be a string"):
        ToolshedConfig.from_params({"sam2_checkpoint": 3})


def test_options_a_backend_does_not_take_are_refused():
    with pytest.raises(ConfigError, match=r"segmentation backend 'offline' takes no option checkpoint"):
        build_toolshed(options={"segmentation": {"checkpoint": "sam2.pt"}})
    with pytest.raises(ConfigError, match=r"Sam2Segmentation takes no option checkpont"):
        build_toolshed(segmentation="sam2", options={"segmentation": {"checkpont": "sam2.pt"}})
    with pytest.raises(ConfigError, match="unknown tool capabilities: segmentaton"):
        build_toolshed(options={"segmentaton": {}})


def test_the_registry_imports_lazily_and_names_what_it_builds():
    reg: Registry = Registry("demo", {"counter": "collections:Counter", "fn": lambda **kw: type("B", (), kw)()})
    assert "counter" in reg and "nope" not in reg and reg.names() == ("counter", "fn")
    built = reg.create("counter")
    assert built.name == "counter" and type(built).__name__ == "Counter"
    assert reg.create("fn", x=1).name == "fn"
    with pytest.raises(ValueError):
        reg.register("bad", "no_colon")


def test_model_libraries_stay_unimported_until_chosen():
    code = ("import sys\n"
            "from spacetools_ros.compose.policy import make_policy\n"
            "from spacetools_ros.compose.toolshed import ToolshedConfig\n"
            "ToolshedConfig().build(); make_policy('scripted')\n"
            "heavy = ('torch', 'transformers', 'sam2', 'openai', 'grasp_gen', 'moveit', 'rclpy',\n"
            "         'spacetools_ros.backends.policy.openai_policy', 'spacetools_ros.backends.policy.local_vlm',\n"
            "         'spacetools_ros.backends.tools.sam2_backend', 'spacetools_ros.backends.tools.depth_model')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_openai_policy_settings_come_from_its_config_file_through_the_composition_layer(tmp_path):
    from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy

    shipped = load_params(config_dir() / "policy_openai.yaml", "spacetools_policy_openai")
    policy = make_policy("openai")
    assert isinstance(policy, OpenAIPolicy) and policy.name == "openai"
    assert (policy.model, policy.timeout_s, policy.max_retries, policy.max_tokens, policy.token_budget,
            policy.temperature, policy.send_images, policy.max_body_bytes, policy.max_text_chars) == \
        (shipped["model"], shipped["timeout_s"], shipped["max_retries"], shipped["max_tokens"], shipped["token_budget"],
         shipped["temperature"], shipped["send_images"], shipped["max_body_bytes"], shipped["max_text_chars"])
    over = make_policy("openai", url="http://10.0.0.7:9000/v1", model="served")  # --policy-url / --model
    assert over.model == "served" and over.timeout_s == shipped["timeout_s"]
    assert (over._endpoint.host, over._endpoint.port) == ("10.0.0.7", 9000)
    assert make_policy("openai", url="", model="").model == shipped["model"]  # empty ROS parameters: the file's
    f = tmp_path / "policy.yaml"
    f.write_text("spacetools_policy_openai:\n  ros__parameters:\n    model: other\n    timeout_s: 7.5\n")
    mine = make_policy("openai", settings_file=str(f))
    assert (mine.model, mine.timeout_s) == ("other", 7.5)


def test_the_spatial_frame_reaches_the_offline_pointer():
    cfg = ToolshedConfig.from_params({"spatial_frame": "robot"})
    assert cfg.options == {"pointing": {"spatial_frame": "robot"}}
    assert cfg.build().pointing.spatial_frame == "robot"
    assert build_toolshed().pointing.spatial_frame == "camera"
    with pytest.raises(ValueError, match="spatial_frame must be one of"):
        ToolshedConfig.from_params({"spatial_frame": "sideways"}).build()
