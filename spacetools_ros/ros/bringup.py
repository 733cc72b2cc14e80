"""spacetools_bringup: start the embedded world's nodes without ``ros2 launch``.

Same executables and parameter files as launch/spacetools_sim.launch.py (and, with --agent,
spacetools_agent.launch.py); stops cleanly on SIGINT/SIGTERM (the bag is closed) or after
``--duration`` seconds. With ``--tools ros`` the agent and the robot replica share a session key
(SPACETOOLS_SESSION_KEY, generated when unset) through their environment only. ``--namespace``
puts every node (and so every topic, service and action but /clock) under one namespace;
``--use-sim-time`` sets use_sim_time on every node (the sim node publishes /clock).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from typing import Any, Mapping

from rclpy.parameter import Parameter

from ..core.paths import config_dir
from ..core.errors import ConfigError
from ..core.tools.auth import KEY_ENV, new_key, session_key
from .topics import normalize_namespace


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
    p.add_argument("--namespace", default="",
                   help="namespace of every node, e.g. robot1: topics, services and the agent's action move under "
                        "/robot1 (/clock stays global); default: none")
    p.add_argument("--use-sim-time", action="store_true",
                   help="every node takes its time from /clock (published by the sim node)")
    args = p.parse_args(argv)
    try:
        args.namespace = normalize_namespace(args.namespace)
    except ValueError as exc:
        p.error(str(exc))
    return args


def node_parameters(path: str | Path, node: str) -> dict[str, Any]:
    """The ``ros__parameters`` of ``node`` in a parameter file, read by the bounded YAML reader.

    A parameter file keys its sections by node name, which ROS matches against the fully
    qualified name: under a namespace a ``spacetools_sim:`` section no longer applies. Passing its
    values on as parameters (here, and in the launch files) makes them apply in any namespace.

    Raises:
        ConfigError: a missing, oversized or malformed file, or one without a section for ``node``.
    """
    from ..backends.motion.settings import load_params

    return load_params(path, node)


def _flat(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def parameter_arguments(params: Mapping[str, Any]) -> list[str]:
    """``-p name:=value`` ROS arguments for each parameter (values as JSON, which ROS reads as YAML;
    nested sections become dotted names).

    Raises:
        ValueError: a value that is not a finite number, string, bool or list of them.
    """
    args: list[str] = []
    for name, value in _flat(params).items():
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"parameter {name}: {exc}") from None
        args += ["-p", f"{name}:={text}"]
    return args


def node_arguments(params_file: str | Path | None, node: str, namespace: str = "",
                   use_sim_time: bool = False) -> list[str]:
    """The ROS arguments (after ``--ros-args``) that start ``node`` with its parameter file in
    ``namespace`` (already normalised, '' for none): the file, and under a namespace its section
    for ``node`` again as ``-p`` (see ``node_parameters``).

    Raises:
        ConfigError: under a namespace, a parameter file without a section for ``node``.
    """
    args: list[str] = []
    if namespace:
        args += ["-r", f"__ns:={namespace}"]
    if params_file is not None:
        args += ["--params-file", str(params_file)]
        if namespace:
            try:
                args += parameter_arguments(node_parameters(params_file, node))
            except ValueError as exc:
                raise ConfigError(f"{params_file}: {exc}") from None
    if use_sim_time:
        args += ["-p", "use_sim_time:=true"]
    return args


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
    if not Path(args.sim_params).is_file():
        print(f"error: sim parameter file not found: {args.sim_params}", file=sys.stderr)
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

    ns, sim_time = args.namespace, args.use_sim_time
    try:
        sim_file = {}
        if ns:  # the sim node runs in this process: its file's values as overrides apply in any namespace
            try:
                sim_file = node_parameters(args.sim_params, "spacetools_sim")
            except ConfigError:  # no plain spacetools_sim section: ROS matches the file's keys itself
                sim_file = {}
        sim_overrides = [Parameter(k, value=v) for k, v in _flat(sim_file).items()]
        tool_args = node_arguments(config_dir() / "tool_server.yaml", "spacetools_tool_server", ns, sim_time)
        agent_node_args = node_arguments(config_dir() / "agent.yaml", "spacetools_agent", ns, sim_time)
        recorder_args = node_arguments(None, "spacetools_recorder", ns, sim_time)
    except (ConfigError, TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    ros_args = ["--ros-args", "--params-file", args.sim_params]
    if sim_time:
        sim_overrides.append(Parameter("use_sim_time", value=True))
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
        output = json.dumps(str(Path(args.record).resolve()))
        children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.recorder_node", "--ros-args",
                                          *recorder_args, "-p", f"output:={output}"], preexec_fn=preexec))
    if args.agent:
        agent_args = ["-p", "world:=ros", "-p", f"policy:={json.dumps(args.policy)}", "-p", f"tools:={args.tools}",
                      "-p", f"spatial_frame:={args.spatial_frame}"]
        cell = ["-p", f"scene:={json.dumps(str(Path(args.scene).resolve()))}"] if args.scene else []
        agent_args += cell
        if args.tools == "ros":
            children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node",
                                              "--ros-args", *tool_args,
                                              "-p", "world:=ros", "-p", "robot_tools:=true", "-p", "replica_id:=robot0",
                                              "-p", f"spatial_frame:={args.spatial_frame}", *cell],
                                             env=agent_env, preexec_fn=preexec))
        children.append(subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.agent_node", "--ros-args",
                                          *agent_node_args, *agent_args],
                                         env=agent_env, preexec_fn=preexec))
    code = run_nodes(lambda: [SimNode(parameter_overrides=sim_overrides, namespace=ns or None)],
                     ["spacetools_bringup", *ros_args], duration_s=args.duration)
    for child in reversed(children):
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    sys.exit(code)


if __name__ == "__main__":
    main()
