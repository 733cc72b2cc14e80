"""The robot's camera does not see the object: the agent finds it through another camera of the
scene (view selection in the loop), acts through that view and says which view it used."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

from spacetools_ros.core.scene import scene_from_dict  # noqa: E402

HIDDEN = {
    "seed": 5,
    "camera": {"name": "front", "position": [1.2, 0.0, 0.6], "look_at": [0.5, 0.0, 0.0]},
    "cameras": [{"name": "side", "position": [0.45, 0.85, 0.75], "look_at": [0.45, 0.0, 0.0]}],
    "objects": [
        {"name": "red_sphere", "shape": "sphere", "color": "red", "size": [0.045], "position": [0.45, 0.0]},
        {"name": "gray_box", "shape": "box", "color": "gray", "size": [0.06, 0.26, 0.24], "position": [0.62, 0.0]},
        {"name": "blue_bowl", "shape": "bowl", "color": "blue", "size": [0.16, 0.05], "position": [0.42, -0.27]},
    ],
}


@pytest.fixture(scope="module")
def hidden_scene():
    return scene_from_dict(HIDDEN)


def test_the_robot_camera_does_not_see_the_hidden_ball(hidden_scene):
    from spacetools_ros.backends.pointing.referring import ground, parse_reference
    from spacetools_ros.compose.session import EmbeddedSession

    session = EmbeddedSession.create(hidden_scene)
    try:
        world = session.tool_world()
        ref = parse_reference("red ball")
        assert not ground(ref, world.cache(world.capture()).objects)  # hidden behind the box
        assert ground(ref, world.cache(world.capture("side")).objects)
    finally:
        session.close()


def test_select_view_switches_what_the_robot_looks_through(hidden_scene):
    from spacetools_ros.backends.tools.factory import build_toolshed
    from spacetools_ros.backends.tools.toolshed import Episode
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.core.tools.protocol import ToolCall

    session = EmbeddedSession.create(hidden_scene)
    try:
        world = session.tool_world()
        shed, e = build_toolshed(world), Episode()
        r = shed.execute(ToolCall("view_selection.select_view", {"target": "red ball"}), e)
        assert r.data["best"] == "side" and r.text.startswith("Best view for 'red ball': side")
        assert world.active_camera == "side"
        r = shed.execute(ToolCall("robot.capture_image", {}), e)
        assert r.data["camera"] == "side"
        r = shed.execute(ToolCall("view_selection.select_view", {"target": "purple plate"}), e)
        assert "is not seen in any view" in r.text and world.active_camera == "side"
    finally:
        session.close()


def test_the_agent_uses_the_view_that_shows_the_objects(hidden_scene):
    from spacetools_ros.backends.policy.scripted import ScriptedPolicy
    from spacetools_ros.compose.episode import run_command
    from spacetools_ros.compose.session import EmbeddedSession

    session = EmbeddedSession.create(hidden_scene)
    lines: list[str] = []
    try:
        outcome, episode = run_command(session, "put the red ball in the blue bowl", ScriptedPolicy(),
                                       progress=lines.append)
        episode.close()
        ball = np.asarray(session.sim.object_poses()["red_sphere"][0])
        bowl = np.asarray(session.sim.object_poses()["blue_bowl"][0])
    finally:
        session.close()
    assert any("using view side" in line for line in lines), lines[:5]
    assert outcome.success and outcome.verification.evidence["view"] == "side", outcome.to_dict()["verification"]
    assert np.linalg.norm(ball[:2] - bowl[:2]) < 0.05  # the simulator agrees


def test_the_offline_policy_selects_a_view_itself_when_it_cannot_find_the_object(hidden_scene):
    from spacetools_ros.backends.policy.scripted import ScriptedPolicy
    from spacetools_ros.backends.tools.factory import build_toolshed
    from spacetools_ros.backends.tools.toolshed import Episode
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.core.orchestrator import Orchestrator, ToolResult

    session = EmbeddedSession.create(hidden_scene)
    try:
        world = session.tool_world()
        shed, e = build_toolshed(world), Episode()

        def execute(call):
            r = shed.execute(call, e)
            return ToolResult(r.text, r.ok, r.data)

        outcome = Orchestrator(ScriptedPolicy(), execute, shed.schemas).run("put the red ball in the blue bowl")
        ball = np.asarray(session.sim.object_poses()["red_sphere"][0])
        bowl = np.asarray(session.sim.object_poses()["blue_bowl"][0])
    finally:
        session.close()
    names = [c["name"] for c in outcome.tool_calls]
    assert names.index("view_selection.select_view") < names.index("robot.execute_grasp"), names
    assert np.linalg.norm(ball[:2] - bowl[:2]) < 0.05


def test_a_check_the_robot_view_cannot_make_is_made_through_another_view():
    """The ball ends behind the tall box, hidden from the robot's camera: the verdict comes from the
    side camera, which sees it, and the robot goes on looking through its own."""
    from spacetools_ros.backends.perception.verify import PerceptionVerifier
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.core.commands import parse_command

    scene = dict(HIDDEN, objects=[dict(HIDDEN["objects"][0], position=[0.40, 0.26]), *HIDDEN["objects"][1:]])
    session = EmbeddedSession.create(scene_from_dict(scene))
    lines: list[str] = []
    try:
        world = session.tool_world()
        v = PerceptionVerifier(world.capture, world.cache, world.cameras, world.use_camera, lines.append)
        assert v.begin(parse_command("put the red ball behind the gray box")) is None
        assert v.view == "front"
        session.sim.set_object_pose("red_sphere", [0.45, 0.0, 0.0225])  # as if placed there
        session.sim.step(100)
        spot = np.array([0.45, 0.0, 0.0])
        assert v._check(spot).verified is None  # the robot's camera does not see it
        verdict = v.check(spot)
        assert verdict.verified is True and verdict.evidence["view"] == "side", verdict
        assert any("checked in view side" in line for line in lines), lines
        assert world.active_camera == "front"
        session.sim.set_object_pose("red_sphere", [0.30, 0.0, 0.0225])  # in front of the box: seen, and wrong
        session.sim.step(100)
        assert v.check(np.array([0.30, 0.0, 0.0])).verified is False
    finally:
        session.close()
