"""``spacetools`` command line: embedded episodes, tools, and commands to a running agent."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from ..core.errors import ConfigError, SceneError, SpacetoolsError, TargetError
from .bag import add_bag_arguments, cmd_bag
from .bench import add_bench_arguments, cmd_bench
from .command_client import add_command_arguments, cmd_command
from .data import add_data_arguments, cmd_data
from .train import add_train_arguments, cmd_train

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def safe_ros_environment() -> None:
    """Keep DDS discovery on this host (set before any rclpy import)."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")


def _xy(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected X,Y in metres, got '{text}'") from exc
    return x, y


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="spacetools", description="Language-driven pick-and-place on ROS 2.")
    sub = p.add_subparsers(dest="subcommand", required=True)
    pp = sub.add_parser("pick-place", help="one motion-level pick-and-place in the embedded sim (true poses)")
    pp.add_argument("--scene", required=True, help="scene YAML file")
    pp.add_argument("--pick", required=True, help="name of the object to pick")
    target = pp.add_mutually_exclusive_group(required=True)
    target.add_argument("--place-on", help="name of the object to place it on / in")
    target.add_argument("--place-at", type=_xy, help="X,Y on the table (base frame, metres)")
    pp.add_argument("--record", help="write a rosbag2 (MCAP) bag into this new directory")
    pp.add_argument("--video", help="write an episode video (.mp4/.avi) or image strip (.png/.jpg)")
    pp.add_argument("--json", required=True, help="write the result document here")
    pp.add_argument("--motion-config", help="motion parameter YAML (default: config/motion.yaml)")
    pp.add_argument("--real-time", type=float, default=0.0, help="pace the sim: 1 = real time, 0 = as fast as possible")
    rn = sub.add_parser("run", help="carry out a natural-language pick-and-place command with the agent")
    rn.add_argument("--scene", required=True, help="scene YAML file")
    rn.add_argument("--command", required=True, help='e.g. "put the red block in the blue bowl"')
    rn.add_argument("--policy", default="scripted", help="scripted (offline default) | openai | local")
    rn.add_argument("--policy-url", help="OpenAI-compatible endpoint for --policy openai")
    rn.add_argument("--model", help="model name (--policy openai) or checkpoint folder (--policy local)")
    rn.add_argument("--record", help="write a rosbag2 (MCAP) bag into this new directory")
    rn.add_argument("--video", help="episode video (.mp4/.avi) or image strip (.png/.jpg)")
    rn.add_argument("--json", required=True, help="write the result document here")
    rn.add_argument("--spatial-frame", choices=("camera", "robot"), default="camera",
                    help="what left/right/in front of/behind mean: camera = as the robot's camera sees the "
                         "table (default), robot = the robot base's own sides")
    add_command_arguments(sub.add_parser("command", help="send a command to a running spacetools_agent (its "
                                                          "ExecuteCommand action) and wait for the result"))
    tl = sub.add_parser("tool", help="run a tool (or a chain: NAME ARGS NAME ARGS ...) on the sim camera frame")
    tl.add_argument("--scene", required=True, help="scene YAML file")
    tl.add_argument("--image-out", help="write the camera image with the results drawn in (PNG/JPG)")
    tl.add_argument("calls", nargs="+", metavar="NAME [JSON_ARGS]", help="tool name and its JSON arguments")
    add_bag_arguments(sub.add_parser("bag", help="inspect a recorded bag, or repair one whose recorder was killed"))
    add_data_arguments(sub.add_parser("data", help="generate spatial tasks with exact ground truth (data gen)"))
    add_bench_arguments(sub.add_parser("bench", help="score a policy on spatial tasks, per category (data gen output)"))
    add_train_arguments(sub.add_parser("train", help="train a tool-using policy (sft, grpo; TRL on CPU or GPU)"))
    return p


def cmd_run(args: argparse.Namespace) -> int:
    """Run ``run``; exit 0 when the command was carried out."""
    import time

    from ..backends.sim.mujoco_sim import ensure_headless_gl
    from ..compose.policy import make_policy
    from ..compose.session import EmbeddedSession
    from ..core.scene import load_scene
    from .media import EpisodeVideo, check_output_path
    from ..compose.episode import run_command
    from .run import write_outcome

    ensure_headless_gl()
    t0 = time.perf_counter()
    if not Path(args.json).parent.exists():
        raise ConfigError(f"--json directory {Path(args.json).parent} does not exist")
    scene = load_scene(args.scene)
    if args.video:
        check_output_path(args.video)
    if args.record and Path(args.record).exists():
        raise ConfigError(f"--record directory {args.record} already exists (bags are never overwritten)")
    policy = make_policy(args.policy, args.policy_url, args.model)
    session = EmbeddedSession.create(scene)
    video = EpisodeVideo(args.video) if args.video else None
    bag = None
    if args.record:
        from .episode_bag import EpisodeBag

        bag = EpisodeBag.attach(args.record, session)
    overlays: list = []
    if video:
        from ..backends.tools.annotate import annotate

        def frame_cb(sim):
            rgb = sim.render(depth=False, width=320, height=240).rgb
            video.add(annotate(rgb, overlays[-3:]) if overlays else rgb, sim.time_s)

        session.arm.add_observer(frame_cb, 0.1)

    def on_tool(resp):  # tool results with something to draw go into the video
        if resp.data.get("points") or resp.data.get("points_2d") or resp.data.get("corners_2d"):
            overlays.append(resp)

    def progress(line: str) -> None:
        print(line, file=sys.stderr)
        if video:
            video.label = line.replace("[agent] ", "")[:60]

    old = {s_: signal.signal(s_, lambda *_: setattr(session.arm, "cancel_requested", True))
           for s_ in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome, episode = run_command(session, args.command, policy, progress=progress, on_response=on_tool,
                                       spatial_frame=args.spatial_frame)
    finally:
        for s_, h in old.items():
            signal.signal(s_, h)
    doc = outcome.to_dict()
    doc["command"] = args.command[:2000] if isinstance(args.command, str) else None
    doc["policy"] = args.policy
    try:  # the result document is written whatever happens to the video or the bag
        doc["final_object_poses"] = session.sim.object_positions()
        if video:
            video.label = "done: " + ("success" if doc["success"] else f"failed ({doc['reason']})")
            video.add(session.sim.render(depth=False, width=320, height=240).rgb, session.sim.time_s)
            doc["video"] = str(video.write())
        if bag:
            from ..ros import topics

            bag.write_json(topics.TRANSCRIPT, {"transcript": doc["transcript"]})
            bag.write_json(topics.EPISODE_RESULT, {k: v for k, v in doc.items() if k != "transcript"})
            bag.close()
            doc["bag"] = args.record
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        doc["output_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        doc["wall_s"] = round(time.perf_counter() - t0, 3)
        write_outcome(doc, args.json)
        episode.close()
        session.close()
    status = "SUCCESS" if doc["success"] else f"FAILED ({doc['reason']})"
    print(f"[run] {status}: {doc['answer']}; {len(doc['tool_calls'])} tool calls, first move after "
          f"{doc['time_to_first_move_s']} s, total {doc['total_s']:.1f} s; result in {args.json}", file=sys.stderr)
    if doc["reason"] == "invalid_command":
        return EXIT_BAD_INPUT
    return EXIT_OK if doc["success"] else EXIT_FAILED


def cmd_tool(args: argparse.Namespace) -> int:
    """Run ``tool``; prints the response JSON; exit 1 when the (last) tool returned an error."""
    from ..backends.sim.mujoco_sim import ensure_headless_gl
    from ..core.scene import load_scene
    from .tool import run_tools

    ensure_headless_gl()
    scene = load_scene(args.scene)
    if args.image_out and Path(args.image_out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ConfigError("--image-out must end in .png or .jpg")
    doc = run_tools(scene, args.calls, args.image_out)
    print(json.dumps(doc, indent=2))
    return EXIT_OK if doc["ok"] else EXIT_FAILED


def _write_json(path: str, doc: dict) -> None:
    Path(path).write_text(json.dumps(doc, indent=2))


def cmd_pick_place(args: argparse.Namespace) -> int:
    """Run ``pick-place``; returns the exit code."""
    from ..backends.motion.settings import load_params, motion_settings
    from ..backends.sim.mujoco_sim import ensure_headless_gl
    from ..core.scene import load_scene
    from .media import EpisodeVideo, check_output_path
    from .pick_place import resolve_targets, run_pick_place

    ensure_headless_gl()
    json_path = Path(args.json)
    if not json_path.parent.exists():
        raise ConfigError(f"--json directory {json_path.parent} does not exist")
    scene = load_scene(args.scene)
    target = resolve_targets(scene, args.pick, args.place_on, args.place_at)
    if args.video:
        check_output_path(args.video)
    if args.record and Path(args.record).exists():
        raise ConfigError(f"--record directory {args.record} already exists (bags are never overwritten)")
    settings = motion_settings(load_params(args.motion_config, "spacetools_motion") if args.motion_config else None)

    from ..compose.session import EmbeddedSession

    print(f"[pick-place] scene {scene.source}: {len(scene.objects)} objects; building the cell", file=sys.stderr)
    session = EmbeddedSession.create(scene, settings, real_time_factor=args.real_time)
    video = EpisodeVideo(args.video) if args.video else None
    bag = None
    if args.record:
        from .episode_bag import EpisodeBag

        bag = EpisodeBag.attach(args.record, session)
    from ..ros import topics

    if video:
        session.arm.add_observer(lambda sim: video.add(sim.render(depth=False, width=320, height=240).rgb, sim.time_s), 0.1)

    interrupted = {"flag": False}

    def on_signal(signum, _frame):
        interrupted["flag"] = True
        session.arm.cancel_requested = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        doc = run_pick_place(session, args.pick, target,
                             on_result=(lambda r: bag.write_json(topics.ACTION_RESULT, r.to_dict())) if bag else None,
                             label=(lambda s: setattr(video, "label", s)) if video else None)
    except TargetError:
        if bag:
            bag.close()
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if interrupted["flag"]:
        doc["success"], doc["reason"] = False, "cancelled"
    doc["final_object_poses"] = session.sim.object_positions()
    doc["scene"] = scene.source
    if video:
        video.label = "done: " + ("success" if doc["success"] else f"failed ({doc['reason']})")
        video.add(session.sim.render(depth=False, width=320, height=240).rgb, session.sim.time_s)
        doc["video"] = str(video.write())
    if bag:
        bag.write_json(topics.EPISODE_RESULT, {k: v for k, v in doc.items() if k != "actions"})
        bag.close()
        doc["bag"] = str(Path(args.record))
    session.close()
    _write_json(args.json, doc)
    status = "SUCCESS" if doc["success"] else f"FAILED ({doc['reason']})"
    print(f"[pick-place] {status}; sim {doc['timings']['sim_time_s']:.1f} s, wall {doc['timings']['wall_time_s']:.1f} s; "
          f"result in {args.json}", file=sys.stderr)
    return EXIT_OK if doc["success"] else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``spacetools`` command."""
    safe_ros_environment()
    args = build_parser().parse_args(argv)
    handlers = {"pick-place": cmd_pick_place, "tool": cmd_tool, "run": cmd_run, "command": cmd_command,
                "bag": cmd_bag, "data": cmd_data, "bench": cmd_bench,
                "train": cmd_train}
    try:
        code = handlers[args.subcommand](args)
    except (SceneError, TargetError, ConfigError) as exc:
        print(f"spacetools {args.subcommand}: error: {exc}", file=sys.stderr)
        _failure_json(args, "invalid_input", str(exc)[:500])
        code = EXIT_BAD_INPUT
    except SpacetoolsError as exc:
        print(f"spacetools {args.subcommand}: failed: {exc}", file=sys.stderr)
        _failure_json(args, "failed", f"{type(exc).__name__}: {str(exc)[:300]}")
        code = EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - one line and a result document, never a bare traceback
        print(f"spacetools {args.subcommand}: internal error: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        _failure_json(args, "internal_error", f"{type(exc).__name__}: {str(exc)[:300]}")
        code = EXIT_FAILED
    return code


def _failure_json(args: argparse.Namespace, reason: str, error: str) -> None:
    """A result document for a run that failed before it could write its own."""
    path = getattr(args, "json", None)
    if path and Path(path).parent.is_dir():
        _write_json(path, {"success": False, "reason": reason, "error": error})


if __name__ == "__main__":
    sys.exit(main())
