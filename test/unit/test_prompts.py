"""A served checkpoint's own prompt text: the system prompt and the tools block come from files,
reach the model byte for byte, and a bad file is a clear ConfigError."""

import json

import pytest

from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy
from spacetools_ros.core.conversation import system_prompt
from spacetools_ros.core.errors import ConfigError
from spacetools_ros.core.orchestrator import Orchestrator, ToolResult
from spacetools_ros.core.prompts import PromptSet, load_prompt_set
from spacetools_ros.core.tools.protocol import load_schemas
from spacetools_ros.testing.scripted_chat_server import ScriptedChatServer, completion

SCHEMAS = load_schemas()
KNOWN = set(SCHEMAS)
# the tools block as a checkpoint saw it: key order and spacing of its own, kept exactly
LINES = ['{"type": "function", "function": {"name": "roborefer.detect_one", "description": "Point at one object.",'
         ' "parameters": {"type": "object", "properties": {"obj_name": {"type": "string"}, "image_index":'
         ' {"type": "integer"}}, "required": ["obj_name", "image_index"]}}}',
         '{"function": {"name": "robot.capture_image", "parameters": {"type": "object", "properties": {}},'
         ' "description": "Take a picture."}, "type": "function"}']


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text)
    return str(p)


def test_a_tools_block_file_is_kept_byte_for_byte(tmp_path):
    block = write(tmp_path, "tools.txt", "<tools>\n" + "\n".join(LINES) + "\n</tools>\n")
    system = write(tmp_path, "system.txt", "You are a spatial reasoning expert.\n")
    ps = load_prompt_set(system, block, KNOWN)
    assert ps.system_text == "You are a spatial reasoning expert." and ps.tool_lines == tuple(LINES)
    text = system_prompt(SCHEMAS, base=ps.system_text, tool_lines=ps.tool_lines)
    assert text.startswith("You are a spatial reasoning expert.\n\n# Tools")
    assert "<tools>\n" + "\n".join(LINES) + "\n</tools>" in text
    assert "sam2.segment_from_point" not in text  # only what the file describes


def test_the_package_schema_form_gives_the_default_block(tmp_path):
    f = write(tmp_path, "schemas.json", json.dumps({n: {"description": s.description, "parameters": s.parameters}
                                                    for n, s in SCHEMAS.items()}))
    ps = load_prompt_set(None, f, KNOWN)
    assert system_prompt(SCHEMAS, tool_lines=ps.tool_lines) == system_prompt(SCHEMAS)
    assert load_prompt_set("", "", KNOWN) == PromptSet()


@pytest.mark.parametrize("content, message", [
    ('{"type": "function", "function": {"name": "robot.fly"}}', "not served here: robot.fly"),
    ("not json at all", "line 1 is not JSON"),
    ('{"type": "function"}', "not an OpenAI function description"),
    ("\n".join([LINES[0], LINES[0]]), "described twice"),
    ("<tools>\n</tools>", "no tools"),
    ('{"roborefer.detect_one": {"description": "x"}}', "needs a description and parameters"),
    ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "not JSON"),
])
def test_bad_tool_descriptions_are_refused_clearly(tmp_path, content, message):
    with pytest.raises(ConfigError, match=message):
        load_prompt_set(None, write(tmp_path, "t.txt", content), KNOWN)


def test_bad_files_are_refused_clearly(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_prompt_set(str(tmp_path / "missing.txt"), None, KNOWN)
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_prompt_set(write(tmp_path, "s.txt", b"\xff\xfe\x00", "wb"), None, KNOWN)
    with pytest.raises(ConfigError, match="bytes"):
        load_prompt_set(None, write(tmp_path, "big.txt", "x" * (2 << 20)), KNOWN)
    with pytest.raises(ConfigError, match="characters"):
        load_prompt_set(write(tmp_path, "empty.txt", "  \n"), None, KNOWN)
    with pytest.raises(ConfigError, match="not a file"):
        load_prompt_set(str(tmp_path), None, KNOWN)


def test_the_served_model_is_prompted_with_the_files_text(tmp_path):
    """Through a real OpenAI-compatible server on loopback: the first message of the request is the
    file's system prompt followed by the file's tools block, exactly."""
    system = write(tmp_path, "system.txt", "Reason inside <think></think>, answer inside <answer></answer>.")
    block = write(tmp_path, "tools.jsonl", "\n".join(LINES) + "\n")
    with ScriptedChatServer([completion("<think>nothing to do</think><answer>done</answer>")]) as srv:
        policy = OpenAIPolicy(base_url=srv.base_url, model="m", timeout_s=10.0, system_prompt_file=system,
                              tool_descriptions_file=block)

        def fake_execute(call):  # a named fake executor: no tool is expected to run
            return ToolResult("unused", False)

        Orchestrator(policy, fake_execute, SCHEMAS).run("put the red block in the blue bowl")
        sent = srv.requests[0].json["messages"][0]
    content = sent["content"] if isinstance(sent["content"], str) else sent["content"][-1]["text"]
    assert sent["role"] == "system"
    assert content == system_prompt(SCHEMAS, base=open(system).read(), tool_lines=tuple(LINES))
    with pytest.raises(ConfigError, match="not served here"):
        OpenAIPolicy(base_url="http://127.0.0.1:9/v1", model="m", tool_descriptions_file=write(
            tmp_path, "bad.jsonl", '{"type": "function", "function": {"name": "robot.fly"}}'))
