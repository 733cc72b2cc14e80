"""Raw hostile requests to a robot replica's toolshed services (CallTool, EndEpisode; the sim node
as the robot), on a private ROS domain over loopback: part of benchmarks/hostile_inputs.py, and
runnable alone.

Usage: python benchmarks/hostile_ros.py [--burst N]
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")

ANSWER_S = 20.0  # every request is answered within this (services always answer)
BURST = 10  # concurrent calls: more than the replica's max_pending_calls (4), within a service queue (10)


def _wait(cond, timeout_s: float, period_s: float = 0.1) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(period_s)
    return bool(cond())


def ros_cases(case_type, burst: int = BURST) -> list:
    """Starts the sim node and one robot replica (with the session key), sends the requests straight
    to its services, and judges each: answered with an error, replica alive, nothing sent to the arm."""
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(150, 199))
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from spacetools_interfaces.srv import CallTool, EndEpisode
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

    from spacetools_ros.core.tools.auth import KEY_ENV, new_key, sign
    from spacetools_ros.core.tools.wire import Request
    from spacetools_ros.ros import topics
    from spacetools_ros.ros.tool_client import ToolClient

    key = new_key()
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    sim = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args", "-p",
                            "real_time_factor:=2.0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    arm = subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node", "--ros-args", "-p",
                            "replica_id:=arm", "-p", "world:=ros", "-p", "robot_tools:=true", "-p", "publish_debug:=false"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**env, KEY_ENV: key})
    rclpy.init()
    node = rclpy.create_node("hostile_inputs_bench")
    client = ToolClient(node, timeout_s=20.0, retries=0, session_key=key.encode())
    base = "/" + topics.replica_services("arm")
    raw_call = node.create_client(CallTool, f"{base}/{topics.CALL_TOOL}")
    raw_end = node.create_client(EndEpisode, f"{base}/{topics.END_EPISODE}")
    sent_to_arm: list = []
    node.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, sent_to_arm.append, 50)
    node.create_subscription(Float64MultiArray, topics.GRIPPER_COMMAND, sent_to_arm.append, 50)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()

    def send_async(request):
        c = raw_end if isinstance(request, EndEpisode.Request) else raw_call
        done = threading.Event()
        future = c.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        return c, future, done

    def answers(pending: list, timeout_s: float = ANSWER_S) -> list:
        """The answers in order; None for one not answered within ``timeout_s``."""
        end, out = time.monotonic() + timeout_s, []
        for c, future, done in pending:
            if done.wait(max(0.0, end - time.monotonic())):
                out.append(future.result())
            else:
                c.remove_pending_request(future)
                out.append(None)
        return out

    def send(request):
        return answers([send_async(request)])[0]

    cases = []
    try:
        if not (client.wait_for_tool("robot.execute_grasp", 90)
                and raw_call.wait_for_service(timeout_sec=30) and raw_end.wait_for_service(timeout_sec=30)
                and _wait(lambda: client.call("robot.capture_image", {}, episode="warm", images=(), prefer="arm")["ok"],
                          60, 1.0)):
            c = case_type("ros", "replica_start")
            c.outcome, c.detail = "crashed", "the robot replica did not come up"
            return [c]
        grasp = {"grasp_pose": [[1, 0, 0, 0.0], [0, -1, 0, 0.0], [0, 0, -1, 0.9], [0, 0, 0, 1]]}
        deep = "[" * 5000 + "]" * 5000
        garbage = bytes(range(1, 256)).decode("latin-1") * 50
        detect = json.dumps({"obj_name": "red block", "image_index": 0})

        def call(rid: str, tool: str = "roborefer.detect_one", args: str = detect, **fields):
            msg = CallTool.Request(request_id=rid, episode_id="bench", tool=tool, arguments_json=args)
            for k, v in fields.items():
                setattr(msg, k, v)
            return msg

        def signed(req: Request, **fields):
            msg = CallTool.Request(request_id=req.id, episode_id=req.episode, tool=req.name,
                                   arguments_json=json.dumps(req.arguments), image_stamps_ns=[],
                                   signed_at=float(req.ts or 0.0), signature=req.sig or "")
            for k, v in fields.items():
                setattr(msg, k, v)
            return msg

        def end(req: Request):
            return EndEpisode.Request(request_id=req.id, episode_id=req.episode, signed_at=float(req.ts or 0.0),
                                      signature=req.sig or "")

        sign_for = {"replica": "arm", "episode": "bench", "images": ()}
        msgs: list[tuple[str, object]] = [  # (case, raw request); every one must be answered with an error
            ("deep_json_5000", call("d1", args=deep)),
            ("deep_object_5000", call("d2", args='{"a": ' * 5000 + "1" + "}" * 5000)),
            ("two_megabytes", call("b1", args=json.dumps({"blob": "x" * 2_000_000}))),
            ("binary_arguments", call("b2", args=garbage)),
            ("binary_tool_name", call("b3", tool=garbage)),
            ("binary_request_id", call(garbage)),
            ("binary_episode", call("b4", episode_id=garbage)),
            ("nan_argument", call("n1", args='{"obj_name": "red block", "x": NaN}')),
            ("nan_signed_at", call("n2", signed_at=float("nan"), signature="0" * 64)),
            ("id_not_identifier", call("id with spaces")),
            ("id_too_long", call("i" * 65)),
            ("tool_not_identifier", call("w1", tool="roborefer.detect_one --all")),
            ("tool_too_long", call("w4", tool="t" * 129)),
            ("unknown_tool", call("w5", tool="no_such.tool")),
            ("arguments_a_list", call("w2", args="[1]")),
            ("10k_images", call("w3", image_stamps_ns=[-1] * 10_000)),
            ("stamp_below_minus_one", call("w6", image_stamps_ns=[-2])),
            ("unknown_stamp", call("w7", image_stamps_ns=[123])),
            ("unsigned_capture", call("u1", tool="robot.capture_image", args="{}")),
            ("unsigned_grasp", call("u2", tool="robot.execute_grasp", args=json.dumps(grasp))),
            ("unsigned_view_select", call("u3", tool="view_selection.select_view", args='{"target": "red block"}')),
            ("wrong_key", signed(sign(Request(name="robot.execute_grasp", arguments=grasp, id="k1", **sign_for),
                                      new_key().encode()))),
            ("stale_signature", signed(sign(Request(name="robot.execute_grasp", arguments=grasp, id="k2", **sign_for),
                                            key.encode(), now=time.time() - 120))),
            ("tampered_signature", signed(sign(Request(name="robot.capture_image", arguments={}, id="k3", **sign_for),
                                               key.encode()), tool="robot.execute_grasp",
                                          arguments_json=json.dumps(grasp))),
            ("signed_for_another_replica",
             signed(sign(Request(name="robot.execute_grasp", arguments=grasp, id="k5",
                                 **{**sign_for, "replica": "other"}), key.encode()))),
            ("wrong_key_end_episode", end(sign(Request(name="episode.end", arguments={}, id="k6", end_episode=True,
                                                       **sign_for), new_key().encode()))),
            ("malformed_end_episode", EndEpisode.Request(request_id="e1", episode_id=garbage)),
        ]
        n_arm = len(sent_to_arm)
        t0 = time.monotonic()
        got: dict[str, tuple[list, float]] = {}
        for name, request in msgs:
            t = time.monotonic()
            got[name] = ([send(request)], time.monotonic() - t)
        # the replay: a validly signed call sent twice
        replay = signed(sign(Request(name="robot.capture_image", arguments={}, id="k4", **sign_for), key.encode()))
        t = time.monotonic()
        got["replayed_signed_call"] = ([send(replay), send(replay)], time.monotonic() - t)
        # a burst of concurrent calls, more than the replica lets wait
        t = time.monotonic()
        got["overload_burst"] = (answers([send_async(call(f"o{i}", image_stamps_ns=[-1])) for i in range(burst)], 60),
                                 time.monotonic() - t)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
        alive = arm.poll() is None
        probe = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="after")
        for name, (answered, wall_s) in got.items():
            c = case_type("ros", name)
            c.wall_s = wall_s
            if not alive or not probe.get("ok"):
                c.outcome, c.detail = "crashed", "the replica died or stopped answering"
            elif len(sent_to_arm) > n_arm:
                c.outcome, c.detail = "moved_outside", f"{len(sent_to_arm) - n_arm} command(s) reached the arm"
            elif any(a is None for a in answered):
                lost = sum(a is None for a in answered)
                c.outcome, c.detail = "lost_result", f"{lost} of {len(answered)} not answered"
            elif name == "replayed_signed_call":
                first, second = answered
                ok = first.ok and not second.ok and second.text.startswith("Error: PermissionError: request id")
                c.outcome, c.detail = ("refused", second.text[:90]) if ok else (
                    "handled", " | ".join(a.text[:80] for a in answered))
            elif name == "overload_burst":
                over = sum("is overloaded" in a.text for a in answered)
                served = sum(a.ok for a in answered)
                c.extra = {"overloaded": over, "served": served, "calls": len(answered)}
                c.detail = f"{over} of {len(answered)} answered 'overloaded', {served} served"
                if not over or over + served != len(answered):
                    c.outcome = "handled"
            elif not answered[0].ok and answered[0].text.startswith("Error"):
                c.detail = answered[0].text[:90]
            else:
                c.outcome, c.detail = "handled", answered[0].text[:90]
            cases.append(c)
    finally:
        ex.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.shutdown()
        for p in (arm, sim):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    return cases


def main() -> None:
    import argparse
    from dataclasses import dataclass, field

    @dataclass
    class Case:
        boundary: str
        name: str
        outcome: str = "refused"
        detail: str = ""
        wall_s: float = 0.0
        extra: dict = field(default_factory=dict)

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--burst", type=int, default=BURST, help="concurrent calls in the overload case (at most 10)")
    args = p.parse_args()
    t0 = time.perf_counter()
    cases = ros_cases(Case, burst=max(1, min(args.burst, 10)))
    for c in cases:
        mark = {"refused": "ok  ", "handled": "ok* "}.get(c.outcome, "BAD ")
        print(f"{mark}{c.boundary:8s} {c.name:28s} {c.outcome:14s} {c.wall_s:6.2f} s  {c.detail[:90]}", flush=True)
    bad = [c for c in cases if c.outcome not in ("refused", "handled")]
    print(f"[hostile] ros: {len(cases)} cases, {sum(c.outcome == 'refused' for c in cases)} refused, "
          f"{len(bad)} bad, {time.perf_counter() - t0:.0f} s", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
