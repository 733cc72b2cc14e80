"""The openai policy backend against a real local OpenAI-compatible server (transformers serve with a
tiny random-weight Qwen2 built offline); the model ends its turn at once, so the agent must stop
cleanly without moving the arm. Also: an unreachable server ends the episode with a policy error."""

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

from spacetools_ros.core.paths import config_dir

SERVE = shutil.which("transformers", path=str(Path(sys.executable).parent))
DEMO = str(config_dir() / "scenes" / "box_in_bowl.yaml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if SERVE is None:
        pytest.skip("transformers[serving] not installed")
    sys.path.insert(0, str(Path(__file__).parent))
    import tiny_llm

    root = tmp_path_factory.mktemp("llm")
    model = tiny_llm.build(root / "model")
    (root / "hf" / "hub").mkdir(parents=True)
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(root / "hf"))
    proc = subprocess.Popen([SERVE, "serve", str(model), "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read())
            time.sleep(0.5)
    yield url + "/v1", str(model)
    proc.terminate()
    proc.wait(timeout=30)


def run_cli(tmp_path, *extra, env=None):
    out = tmp_path / "r.json"
    res = subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "run", "--scene", DEMO,
                          "--command", "put the red block in the blue bowl", "--json", str(out), *extra],
                         capture_output=True, text=True, timeout=300, env=env)
    return res, json.loads(out.read_text())


def test_openai_policy_round_trip_ends_cleanly_without_motion(server, tmp_path):
    url, model = server
    env = dict(os.environ, OPENAI_API_KEY="sk-test-never-logged")
    res, doc = run_cli(tmp_path, "--policy", "openai", "--policy-url", url, "--model", model, env=env)
    assert res.returncode == 1
    assert doc["reason"] == "no_tool_call_or_answer" and doc["tool_calls"] == []
    assert doc["transcript"][0]["role"] == "system" and "<tools>" in doc["transcript"][0]["content"]
    assert doc["transcript"][-1] == {"role": "assistant", "content": "", "images": []}
    assert doc["final_object_poses"]["red_block"][:2] == pytest.approx([0.5, 0.12], abs=0.003)  # nothing moved
    assert "sk-test-never-logged" not in res.stderr + res.stdout + json.dumps(doc)


def test_unreachable_policy_server_is_a_clean_error(tmp_path):
    res, doc = run_cli(tmp_path, "--policy", "openai", "--policy-url", f"http://127.0.0.1:{free_port()}/v1",
                       "--model", "m")
    assert res.returncode == 1 and doc["reason"] == "policy_error" and doc["tool_calls"] == []


def test_local_tiny_qwen25_vl_policy_runs_on_images(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    pytest.importorskip("transformers")
    import numpy as np
    import tiny_vlm

    from spacetools_ros.backends.policy.local_vlm import LocalVLMPolicy
    from spacetools_ros.core.conversation import Message

    model = tiny_vlm.build(tmp_path / "vlm")
    policy = LocalVLMPolicy(str(model), max_new_tokens=6)
    img = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    text = policy.next_turn([Message("system", "You control a robot."), Message("user", "Captured image.", [0])], [img])
    assert isinstance(text, str)
    # the same loop as the VLM: random weights give no tool call, so the episode ends without motion
    res, doc = run_cli(tmp_path, "--policy", "local", "--model", str(model))
    assert res.returncode == 1 and doc["reason"] in ("no_tool_call_or_answer", "malformed_output", "no_robot_action")
    assert doc["transcript"][2]["role"] == "assistant"
    assert doc["final_object_poses"]["red_block"][:2] == pytest.approx([0.5, 0.12], abs=0.003)


def test_openai_policy_reads_the_real_servers_reply_and_usage(server):
    import numpy as np

    from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy
    from spacetools_ros.core.conversation import Message

    url, model = server
    policy = OpenAIPolicy.from_config(base_url=url, model=model, timeout_s=60.0, max_tokens=8)
    policy.start("look")
    img = np.zeros((32, 48, 3), np.uint8)
    t0 = time.monotonic()
    text = policy.next_turn([Message("system", "You control a robot."), Message("user", "Captured image.", [0])], [img])
    assert text == "" and time.monotonic() - t0 < 60.0
    assert 0 <= policy.tokens_used <= 8  # the server's own count (or an estimate), within what was asked
