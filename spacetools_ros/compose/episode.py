"""One command carried out in a session (the embedded cell or a robot over ROS): the toolshed,
the orchestrator, the agent's own check of the outcome, and the put-back that always runs.
Shared by the CLI, the ROS agent node and the benchmarks."""

from __future__ import annotations

import sys

from ..core.orchestrator import EpisodeOutcome, Orchestrator, ToolResult


def run_command(session, command: str, policy, progress=lambda s: print(s, file=sys.stderr),
                on_response=None, spatial_frame: str = "camera") -> tuple[EpisodeOutcome, object]:
    """Run one command in a session (embedded or a robot over ROS); returns the outcome and the tool episode.

    Whatever happens inside the episode (a crashing policy or tool included), the episode ends
    with nothing in the hand: an object still held is put back where it was picked (``cleanup``),
    and an unexpected error becomes the outcome's reason instead of an exception.
    ``on_response`` sees every tool response (for videos and logs). ``spatial_frame``: what side words
    (left/right/in front of/behind) mean, for the pointing tool and the check of the outcome alike:
    ``camera`` (as the robot's camera sees the table) or ``robot`` (the robot base's own sides)."""
    import time

    from ..backends.perception.verify import PerceptionVerifier
    from ..backends.tools.factory import build_toolshed
    from ..backends.tools.toolshed import Episode
    from ..core.safety import SafetyEnvelope
    from ..core.tools.decode import clip

    world = session.tool_world()
    shed = build_toolshed(world, safety=SafetyEnvelope(session.settings.primitives.workspace),
                          options={"pointing": {"spatial_frame": spatial_frame}})
    episode = Episode()

    def execute(call) -> ToolResult:
        r = shed.execute(call, episode)
        if on_response is not None:
            on_response(r)
        return ToolResult(r.text, r.ok, r.data)

    orch = Orchestrator(policy, execute, shed.schemas, progress=progress,
                        images=lambda: [f.rgb for f in episode.images],
                        is_cancelled=lambda: bool(getattr(session.arm, "cancel_requested", False)),
                        verifier=PerceptionVerifier(world.capture, world.cache, world.cameras, world.use_camera,
                                                    progress, spatial_frame=spatial_frame))
    t0 = time.perf_counter()
    outcome = None
    try:
        world.clear_view_before_first_look(progress)
        outcome = orch.run(command)
    except Exception as exc:  # noqa: BLE001 - reported in the result, never a traceback with a held object
        outcome = EpisodeOutcome(False, "internal_error", None, 0, [], [], None, time.perf_counter() - t0, {},
                                 error=f"{type(exc).__name__}: {clip(str(exc))}")
        progress(f"[agent] the episode failed: {outcome.error}")
    finally:
        cleanup = _put_back(world, progress)
        if outcome is not None:
            outcome.cleanup = cleanup
    if getattr(session, "over_ros", False):
        # motion and frames come over the robot's topics: their overhead is inside "motion"/"tools"
        # and is measured against the in-process world by benchmarks/agent_ros.py
        outcome.timings.pop("ros_overhead", None)
    return outcome, episode


def _put_back(world, progress) -> str | None:
    """Never end an episode with an object in the hand: put it back where it was picked."""
    held = world.manipulator.holding
    if held is None:
        return None
    try:
        res = world.return_held()
    except Exception as exc:  # noqa: BLE001 - say what happened; the caller's result is still written
        res, why = None, f"{type(exc).__name__}"
    else:
        why = res.reason if res is not None else "no pick origin"
    text = (f"the episode ended holding {held.name}: put back where it was picked" if res is not None and res.success
            else f"the episode ended holding {held.name}; putting it back failed ({why})")
    progress(f"[agent] {text}")
    return text
