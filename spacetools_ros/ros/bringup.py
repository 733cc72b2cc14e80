"""spacetools_bringup: start the embedded world's nodes without ``ros2 launch``.

Same executables and parameter files as launch/spacetools_sim.launch.py (and, with --agent,
spacetools_agent.launch.py); stops cleanly on SIGINT/SIGTERM (the bag is closed) or after
``--duration`` seconds. With ``--tools ros`` the agent and the robot replica share a session key
(SPACETOOLS_SESSION_KEY, generated when unset) through their environment only.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from typing import Mapping

from rclpy.parameter import Parameter

from ..core.paths import config_dir
from ..core.tools.auth import KEY_ENV, new_key, session_key


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the bringup."""
    p = argparse.ArgumentParser(prog="spacetools_bringup", description=__doc__.splitlines()[0])
    p.add_argument("--scene", help="scene YAML (default: the packaged demo scene)")
    p.add_argument("--record", help="record a rosbag2 (MCAP) bag into this new directory")
    p.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    p.add_argument("--real-time-factor", type=float, help="override the sim's real_time_factor")
    p.add_argument("--agent", action="store_true",
                   help="also start spacetools_agent acting on the sim node through its topics (world=ros)")
    p.add_argument("--policy", default="scripted", help="the agent's policy (scripted | openai | local)")
    p.add_argument("--tools", choices=("local", "ros"), default="local",
                   help="with --agent: run the tools in the agent (local) or on a toolshed replica that drives the arm")
    p.add_argument("--spatial-frame", choices=("camera", "robot"), default="camera",
                   help="side words in the camera's view or the robot base's frame (the agent and its replica)")
    p.add_argument("--sim-params", default=str(config_dir() / "sim_node.yaml"), help="sim node parameter file")
    return p.parse_args(argv)


def session_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` holding the session key: the one already set, else a fresh random one.

    Raises:
        ValueError: a key that is set but too short.
    """
    env = dict(environ)
    if session_key(env) is None:
        env[KEY_ENV] = new_key()
    return env


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_this_process():
    """A ``preexec_fn`` after which a child gets SIGTERM when this process dies, even by SIGKILL.

    Linux only (``prctl(PR_SET_PDEATHSIG)``, tied to the calling thread: start children from the
    main thread, before rclpy starts any thread); elsewhere None, and children are stopped only on a
    clean exit.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent was already gone before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def main(argv: list[str] | None = None) -> None:
    """Start the sim node (the recorder with --record, the agent with --agent) and spin until stopped."""
    args = parse_args(argv if argv is not None else sys.argv[1:])
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")
    if args.scene and not Path(args.scene).is_file():
        print(f"error: scene file not found: {args.scene}", file=sys.stderr)
        sys.exit(2)
    if args.record and Path(args.record).exists():
        print(f"error: --record directory {args.record} already exists", file=sys.stderr)
        sys.exit(2)
    agent_env = None  # None: the children inherit this environment
    if args.agent and args.tools == "ros":  # the key reaches the agent and the robot replica this way only
        try:
            agent_env = session_env(os.environ)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    from .sim_node import SimNode
    from .spin import run_nodes

    ros_args = ["--ros-args", "--params-file", args.sim_params]
    sim_overrides = []
    if args.scene:
        sim_overrides.append(Parameter("scene", value=str(Path(args.scene).resolve())))
    if args.real_time_factor is not None:
        sim_overrides.append(Parameter("real_time_factor", value=float(args.real_time_factor)))

    # children in their own processes: the bag writer and the agent's planner must not compete
    # with physics and rendering for the GIL
    # and none outlives this process: a SIGKILLed bringup still ends them (the recorder closes its bag)
    children = []
    preexec = die_with_this_process()
    if args.record:
        children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.recorder_node", "--ros-args",
                                          "-p", f"output:={Path(args.record).resolve()}"], preexec_fn=preexec))
    if args.agent:
        agent_args = ["-p", "world:=ros", "-p", f"policy:={args.policy}", "-p", f"tools:={args.tools}",
                      "-p", f"spatial_frame:={args.spatial_frame}"]
        cell = ["-p", f"scene:={Path(args.scene).resolve()}"] if args.scene else []
        agent_args += cell
        if args.tools == "ros":
            children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node",
                                              "--ros-args", "--params-file", str(config_dir() / "tool_server.yaml"),
                                              "-p", "world:=ros", "-p", "robot_tools:=true", "-p", "replica_id:=robot0",
                                              "-p", f"spatial_frame:={args.spatial_frame}", *cell],
                                             env=agent_env, preexec_fn=preexec))
        children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.agent_node", "--ros-args",
                                          "--params-file", str(config_dir() / "agent.yaml"), *agent_args],
                                         env=agent_env, preexec_fn=preexec))
    code = run_nodes(lambda: [SimNode(parameter_overrides=sim_overrides)], ["spacetools_bringup", *ros_args],
                     duration_s=args.duration)
    for child in reversed(children):
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    sys.exit(code)


if __name__ == "__main__":
    main()
