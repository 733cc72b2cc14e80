"""``spacetools tool``: run tool calls on the embedded sim's camera frame and print the responses."""

from __future__ import annotations

import sys

import numpy as np

from ..core.tools.protocol import ToolCall, ToolCallError, parse_tool_call


def calls_from_args(pairs: list[str]) -> list[ToolCall]:
    """``NAME 'JSON_ARGS' [NAME 'JSON_ARGS' ...]`` into tool calls (a trailing NAME gets {}).

    Raises:
        ToolCallError: malformed JSON arguments.
    """
    calls = []
    i = 0
    while i < len(pairs):
        name = pairs[i]
        raw = pairs[i + 1] if i + 1 < len(pairs) else "{}"
        calls.append(parse_tool_call({"name": name, "arguments": raw}))  # the one bounded decoder
        i += 2
    return calls


def run_tools(scene, pairs: list[str], image_out: str | None = None) -> dict:
    """Run the calls in one episode whose image 0 is the scene camera frame."""
    from ..backends.tools.annotate import annotate
    from ..backends.tools.factory import build_toolshed
    from ..backends.tools.toolshed import Episode
    from ..backends.tools.world import SimToolWorld
    from ..compose.session import EmbeddedSession

    session = EmbeddedSession.create(scene)
    world = SimToolWorld(session)
    shed = build_toolshed(world)
    frame = world.capture()
    episode = Episode.starting_with(frame)
    steps = []
    try:
        calls = calls_from_args(pairs)
    except ToolCallError as exc:
        session.close()
        return {"ok": False, "text": exc.text, "steps": [], "camera": _camera(frame)}
    for call in calls:
        resp = shed.execute(call, episode)
        steps.append(resp)
        print(f"[tool] {call.name}: {'ok' if resp.ok else 'error'} ({resp.elapsed_s * 1000:.0f} ms)", file=sys.stderr)
    last = steps[-1]
    doc = {"name": last.name, "ok": last.ok, "text": last.text, "data": last.data,
           "steps": [s.to_dict() for s in steps], "camera": _camera(frame)}
    if image_out:
        import cv2

        img = annotate(frame.rgb, steps, episode.variables)
        cv2.imwrite(image_out, np.ascontiguousarray(img[..., ::-1]))
        doc["image"] = image_out
    episode.close()
    session.close()
    return doc


def _camera(frame) -> dict:
    return {"name": frame.camera, "width": frame.width, "height": frame.height,
            "intrinsics": np.round(frame.intrinsics, 6).tolist(), "extrinsics": np.round(frame.extrinsics, 6).tolist(),
            "frame": "OpenCV optical frame; extrinsics = camera pose in the robot base frame"}
