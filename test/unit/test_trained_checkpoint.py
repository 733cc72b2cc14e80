"""A checkpoint written by ``spacetools train`` drives the agent in the embedded world with
``--policy local`` and is served by a real local OpenAI-compatible server (``transformers serve``,
no torchvision: the checkpoint's images-only processor, loaded with --trust-remote-code) that
``--policy openai`` talks to with the task's images."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from spacetools_ros.core.paths import config_dir

pytest.importorskip("trl")
SERVE = shutil.which("transformers", path=str(Path(sys.executable).parent))
DEMO = str(config_dir() / "scenes" / "box_in_bowl.yaml")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from spacetools_ros.backends.policy.scripted_qa import ScriptedQAPolicy
    from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl
    from spacetools_ros.cli.main import main
    from spacetools_ros.learning.dataset import generate
    from spacetools_ros.learning.teach import teach
    from spacetools_ros.learning.tiny_model import build

    ensure_headless_gl()
    root = tmp_path_factory.mktemp("trained")
    generate(8, "train", root / "tasks", seed=0, categories=("pointing_object", "relative_depth"),
             progress=lambda line: None)
    teach(ScriptedQAPolicy(), root / "tasks", root / "teach", progress=lambda line: None)
    build(root / "base", vocab_size=800)
    cfg = root / "sft.yaml"
    cfg.write_text(yaml.safe_dump({"model": "base", "output_dir": "sft", "data": ["teach"], "max_steps": 2,
                                   "gradient_accumulation_steps": 1, "max_pixels": 112 * 112, "device": "cpu"}))
    assert main(["train", "sft", "--config", str(cfg)]) == 0
    return root, root / "sft" / "checkpoint"


def test_the_trained_checkpoint_drives_the_agent_with_policy_local(trained, tmp_path):
    _, ckpt = trained
    out = tmp_path / "r.json"
    res = subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "run", "--scene", DEMO, "--policy", "local",
                          "--model", str(ckpt), "--json", str(out), "--command", "put the red block in the blue bowl"],
                         capture_output=True, text=True, timeout=600)
    doc = json.loads(out.read_text())
    assert res.returncode in (0, 1), res.stderr[-2000:]
    assert doc["transcript"][2]["role"] == "assistant" and doc["reason"] != "internal_error"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_trained_checkpoint_is_served_and_benchmarked_with_policy_openai(trained, tmp_path):
    if SERVE is None:
        pytest.skip("transformers[serving] not installed")
    from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy
    from spacetools_ros.compose.bench import run_bench

    root, ckpt = trained
    (tmp_path / "hf" / "hub").mkdir(parents=True)
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    proc = subprocess.Popen([SERVE, "serve", str(ckpt), "--host", "127.0.0.1", "--port", str(port),
                             "--trust-remote-code"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
                time.sleep(0.5)
        policy = OpenAIPolicy(f"http://127.0.0.1:{port}/v1", str(ckpt), max_tokens=12, timeout_s=120)
        seen = []
        doc = run_bench(policy, root / "tasks", limit=2, progress=lambda s: None,
                        on_task=lambda res, row: seen.append(res.outcome))
        assert doc["n"] == 2 and 0.0 <= doc["overall"]["mean_reward"] <= 1.0
        for outcome in seen:  # the served model answered (with the task's image in the request)
            assert outcome.reason != "policy_error", outcome.error
            assert outcome.messages[2].role == "assistant" and outcome.messages[2].content
            assert outcome.messages[1].images == [0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
