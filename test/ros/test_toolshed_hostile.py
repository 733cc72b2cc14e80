"""Hostile requests to the toolshed's services (loopback): malformed, oversized and deep requests are
answered with an error and never end a replica; only requests signed with the agent's session key
reach the robot tools, and the arm does not move for anyone else. The sim node is the robot; "arm"
serves robot tools (world=ros, robot_tools=true, the key in its environment), "noarm" does not
(robot_tools=false, no key). The attacks are raw CallTool/EndEpisode requests, made past ToolClient."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from ros_probe import stop_process, wait_for  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from spacetools_interfaces.srv import CallTool, EndEpisode  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from spacetools_ros.core.tools.auth import KEY_ENV, new_key, sign  # noqa: E402
from spacetools_ros.core.tools.wire import MAX_IMAGES, MAX_REQUEST_CHARS, Request  # noqa: E402
from spacetools_ros.ros import topics  # noqa: E402
from spacetools_ros.ros.tool_client import ToolClient  # noqa: E402

KEY = new_key()
DETECT = ("roborefer.detect_one", {"obj_name": "red block", "image_index": 0})
MALFORMED = "Error: ValueError: malformed request: "
REFUSED = "Error: PermissionError: "
CLOSED = "Episode closed."
ANSWER_S = 15.0  # every request is answered within this (services always answer)
BURST = 10  # concurrent calls, more than the replicas' max_pending_calls (4) and within a service queue (10)


def server(rid: str, env: dict, *params: str) -> subprocess.Popen:
    args = [a for p in ("publish_debug:=false", f"replica_id:={rid}", *params) for a in ("-p", p)]
    return subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node", "--ros-args", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def service(replica: str, name: str) -> str:
    """The absolute name of one of a replica's services (this test runs without a namespace)."""
    return f"/{topics.replica_services(replica)}/{name}"


def as_call(req: Request, **fields) -> CallTool.Request:
    """The CallTool request of ``req`` as it stands (signed or not), ``fields`` replaced afterwards."""
    msg = CallTool.Request(request_id=req.id, episode_id=req.episode, tool=req.name,
                           arguments_json=json.dumps(req.arguments),
                           image_stamps_ns=[-1 if i == "latest" else int(i) for i in req.images],
                           signed_at=float(req.ts or 0.0), signature=req.sig or "")
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def as_end(req: Request) -> EndEpisode.Request:
    """The EndEpisode request of ``req`` (an ``end_episode`` Request, signed or not)."""
    return EndEpisode.Request(request_id=req.id, episode_id=req.episode, signed_at=float(req.ts or 0.0),
                              signature=req.sig or "")


class Wire:
    """This process's side of the toolshed: a signing ToolClient (every CallTool request it makes
    is kept, as sent, by id), raw service clients of both replicas, and the robot's command and
    joint-state topics. Spun by an executor in a daemon thread; every wait is bounded."""

    def __init__(self) -> None:
        rclpy.init()
        self.node = n = rclpy.create_node("toolshed_hostile_test")
        self.client = ToolClient(n, timeout_s=15.0, retries=0, session_key=KEY.encode())
        self.sent: dict[str, CallTool.Request] = {}  # request id -> the CallTool request the client sent
        make = self.client._request

        def keep(req: Request) -> CallTool.Request:
            msg = make(req)
            self.sent[msg.request_id] = msg
            return msg

        self.client._request = keep
        self._raw = {(rid, srv): n.create_client(typ, service(rid, srv))
                     for rid in ("arm", "noarm")
                     for srv, typ in ((topics.CALL_TOOL, CallTool), (topics.END_EPISODE, EndEpisode))}
        self.answers: list = []  # every answer to a raw request
        self.trajectories: list = []
        self.gripper: list = []
        self.joints: list = [None]
        n.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, self.trajectories.append, 50)
        n.create_subscription(Float64MultiArray, topics.GRIPPER_COMMAND, self.gripper.append, 50)
        n.create_subscription(JointState, topics.JOINT_STATES, self._on_joints, 10)
        self._ex = SingleThreadedExecutor()
        self._ex.add_node(n)
        threading.Thread(target=self._ex.spin, daemon=True).start()

    def _on_joints(self, msg: JointState) -> None:
        self.joints[0] = list(msg.position[:7])

    def services_ready(self, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        return all(c.wait_for_service(timeout_sec=max(0.1, end - time.monotonic())) for c in self._raw.values())

    def send_async(self, replica: str, request):
        """Send a raw CallTool or EndEpisode request to ``replica``; returns what ``wait`` takes."""
        srv = topics.END_EPISODE if isinstance(request, EndEpisode.Request) else topics.CALL_TOOL
        client = self._raw[(replica, srv)]
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        return client, future, done

    def wait(self, pending: list, timeout_s: float = ANSWER_S) -> list:
        """The answers of sent requests, in order (None for one not answered within ``timeout_s``)."""
        end = time.monotonic() + timeout_s
        out = []
        for client, future, done in pending:
            if done.wait(max(0.0, end - time.monotonic())):
                out.append(future.result())
                self.answers.append(out[-1])
            else:
                client.remove_pending_request(future)
                out.append(None)
        return out

    def send(self, replica: str, request, timeout_s: float = ANSWER_S):
        """A raw request's answer, or None when none came within ``timeout_s``."""
        return self.wait([self.send_async(replica, request)], timeout_s)[0]

    def close(self) -> None:
        self._ex.shutdown(timeout_sec=2)
        self.node.destroy_node()
        rclpy.shutdown()


class Procs(dict):
    """The processes by name; ``stop`` ends one once and keeps its exit code and output."""

    def __init__(self, **procs: subprocess.Popen) -> None:
        super().__init__(procs)
        self.done: dict[str, tuple[int, str]] = {}

    def stop(self, name: str) -> tuple[int, str]:
        if name not in self.done:
            p = self[name]
            self.done[name] = stop_process(p) if p.poll() is None else (p.returncode, p.communicate(timeout=30)[0])
        return self.done[name]


@pytest.fixture(scope="module")
def shed():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    keyless = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    procs = Procs(sim=subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.sim_node", "--ros-args", "-p",
                                        "real_time_factor:=2.0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, env=keyless),
                  arm=server("arm", {**keyless, KEY_ENV: KEY}, "world:=ros", "robot_tools:=true"),
                  noarm=server("noarm", keyless, "world:=ros", "robot_tools:=false"),
                  keyless_arm=server("keyless_arm", keyless, "world:=ros", "robot_tools:=true"))
    wire = Wire()
    try:
        c = wire.client
        assert c.wait_for_tool("robot.execute_grasp", 90), "the robot replica's services did not appear"
        assert wait_for(lambda: "noarm" in c.table.alive("roborefer.detect_one"), 60)
        assert wire.services_ready(30), "a replica's services cannot be reached"
        assert wait_for(lambda: wire.joints[0] is not None, 60), "no joint states from the sim node"
        assert wait_for(lambda: c.call("robot.capture_image", {}, episode="warmup", images=(), prefer="arm")["ok"],
                        60, period_s=1.0), "the robot replica sees no camera"
        yield wire, procs
    finally:
        wire.close()
        for name in procs:
            procs.stop(name)


def test_robot_replica_without_the_key_refuses_to_start(shed):
    _, procs = shed
    assert wait_for(lambda: procs["keyless_arm"].poll() is not None, 60)
    code, out = procs.stop("keyless_arm")
    assert code == 2, out[-2000:]
    assert f"robot_tools is true but {KEY_ENV} is not set" in out


def _hostile(grasp_pose: list) -> list[tuple[str, str, object, str, str]]:
    """The attacks: (case, replica, raw request, the prefix its answer's text must have, the error
    class a CallTool answer must name; "" for an EndEpisode answer). Only an unsigned end of an
    episode is answered ok (it closes the unsigned episode of that name, not the agent's)."""
    deep = "[" * 5000 + "]" * 5000
    deep_object = '{"a": ' * 5000 + "1" + "}" * 5000
    garbage = bytes(range(1, 256)).decode("latin-1") * 50
    grasp = {"grasp_pose": grasp_pose}
    detect_args = json.dumps(DETECT[1])
    cases: list[tuple[str, str, object, str, str]] = []

    def call(case: str, expected: str, kind: str, replica: str = "arm", **fields) -> None:
        msg = CallTool.Request(request_id=case, episode_id="agent-ep", tool=DETECT[0], arguments_json=detect_args,
                               image_stamps_ns=[])
        for key, value in fields.items():
            setattr(msg, key, value)
        cases.append((case, replica, msg, expected, kind))

    def malformed(case: str, why: str, **fields) -> None:
        call(case, MALFORMED + why, "ValueError", **fields)

    def signed(case: str, req: Request, expected: str, replica: str = "arm", **fields) -> None:
        cases.append((case, replica, as_call(req, **fields), expected, "PermissionError"))

    # the arguments: oversized, deep, not an object, not JSON, not finite
    malformed("big", "request of 2000012 characters", arguments_json=json.dumps({"blob": "x" * 2_000_000}))
    malformed("just-over", "request of", arguments_json=json.dumps({"blob": "x" * (MAX_REQUEST_CHARS - 256)}))
    malformed("deep", "arguments_json refused: nested deeper", arguments_json=deep)
    malformed("deep-object", "arguments_json refused: nested deeper", arguments_json=deep_object)
    malformed("args-list", "arguments_json must be a JSON object", arguments_json="[1, 2]")
    malformed("args-number", "arguments_json must be a JSON object", arguments_json="7")
    malformed("args-null", "arguments_json must be a JSON object", arguments_json="null")
    malformed("args-nan", "arguments_json refused", arguments_json='{"obj_name": "red block", "x": NaN}')
    malformed("args-inf", "arguments_json refused", arguments_json='{"obj_name": "red block", "x": 1e999}')
    malformed("args-long-int", "arguments_json refused", arguments_json='{"x": ' + "9" * 5000 + "}")
    malformed("args-not-json", "arguments_json refused: not valid JSON", arguments_json="{'obj_name': 'red block'}")
    malformed("args-binary", "arguments_json refused", arguments_json=garbage)
    # tool names, ids and episode tokens
    malformed("tool-empty", "request field 'name'", tool="")
    malformed("tool-space", "request field 'name'", tool="roborefer.detect_one --all")
    malformed("tool-long", "request field 'name'", tool="t" * 129)
    malformed("tool-binary", "request field 'name'", tool=garbage)
    malformed("tool-huge", "request of", tool="t" * 300_000)
    malformed("id-empty", "request field 'id'", request_id="")
    malformed("id-long", "request field 'id'", request_id="i" * 65)
    malformed("id-newline", "request field 'id'", request_id="id\n[ERROR] forged log line")
    malformed("id-binary", "request field 'id'", request_id=garbage)
    malformed("episode-empty", "request field 'episode'", episode_id="")
    malformed("episode-long", "request field 'episode'", episode_id="e" * 129)
    malformed("episode-binary", "request field 'episode'", episode_id=garbage)
    malformed("episode-huge", "request of", episode_id="e" * 300_000)
    # image stamps: too many, below -1
    malformed("stamps-10k", f"at most {MAX_IMAGES} image stamps", image_stamps_ns=[-1] * 10_000)
    malformed("stamps-17", f"at most {MAX_IMAGES} image stamps", image_stamps_ns=[-1] * (MAX_IMAGES + 1))
    malformed("stamp-minus-2", "request field 'images'", image_stamps_ns=[-2])
    malformed("stamp-min", "request field 'images'", image_stamps_ns=[-1, -2**63])
    call("stamp-unknown", "Error: RuntimeError: no buffered frame with stamp", "RuntimeError", image_stamps_ns=[123])
    # signature fields that are not a signature
    malformed("sig-binary", "request field 'sig'", signed_at=time.time(), signature=garbage)
    malformed("sig-upper", "request field 'sig'", signed_at=time.time(), signature="AB" * 32)
    malformed("sig-nan-time", "request field 'ts'", signed_at=float("nan"), signature="0" * 64)
    malformed("sig-inf-time", "request field 'ts'", signed_at=float("inf"), signature="0" * 64)
    call("sig-no-time", REFUSED + "the request's timestamp", "PermissionError", signature="0" * 64)
    call("tool-unknown", "Error when executing tool: Unknown tool 'no_such.tool'", "Error", tool="no_such.tool")
    # robot calls without the credential
    call("u-capture", REFUSED + "robot tools are served only to requests signed", "PermissionError",
         tool="robot.capture_image", arguments_json="{}")
    call("u-grasp", REFUSED + "robot tools are served only to requests signed", "PermissionError",
         tool="robot.execute_grasp", arguments_json=json.dumps(grasp))
    call("u-grasp-var", REFUSED + "robot tools are served only to requests signed", "PermissionError",
         tool="robot.execute_grasp", arguments_json='{"grasp_pose": "$grasp_pose"}')
    call("u-select", REFUSED + "robot tools are served only to requests signed", "PermissionError",
         tool="view_selection.select_view", arguments_json='{"target": "red block"}')
    call("u-grasp-noarm", REFUSED + "robot tools are not enabled on replica noarm", "PermissionError",
         replica="noarm", tool="robot.execute_grasp", arguments_json=json.dumps(grasp))
    # signatures that do not verify, or verify where robot tools are not served
    signed("badkey", sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="badkey"),
                          new_key().encode()), REFUSED + "bad signature")
    signed("tampered", sign(Request("arm", "robot.capture_image", {}, "agent-ep", (), id="tampered"), KEY.encode()),
           REFUSED + "bad signature", tool="robot.execute_grasp", arguments_json=json.dumps(grasp))
    signed("tampered-args", sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="tampered-args"),
                                 KEY.encode()), REFUSED + "bad signature",
           arguments_json=json.dumps({"grasp_pose": "$grasp_pose"}))
    signed("tampered-episode", sign(Request("arm", "robot.execute_grasp", grasp, "other-ep", (),
                                            id="tampered-episode"), KEY.encode()),
           REFUSED + "bad signature", episode_id="agent-ep")
    signed("other-replica", sign(Request("noarm", "robot.execute_grasp", grasp, "agent-ep", (), id="other-replica"),
                                 KEY.encode()), REFUSED + "bad signature")
    signed("stale", sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="stale"), KEY.encode(),
                         now=time.time() - 120), REFUSED + "the request's timestamp")
    signed("future", sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="future"), KEY.encode(),
                          now=time.time() + 120), REFUSED + "the request's timestamp")
    signed("noarm-grasp", sign(Request("noarm", "robot.execute_grasp", grasp, "agent-ep", (), id="noarm-grasp"),
                               KEY.encode()), REFUSED + "robot tools are not enabled on replica noarm", replica="noarm")
    # ends of the agent's episode: malformed, with the wrong key, and unsigned (which closes only the
    # unsigned episode of that name)
    cases.append(("end-malformed", "arm", EndEpisode.Request(request_id="end-malformed", episode_id=garbage),
                  MALFORMED + "request field 'episode'", ""))
    cases.append(("end-bad-id", "arm", EndEpisode.Request(request_id="", episode_id="agent-ep"),
                  MALFORMED + "request field 'id'", ""))
    cases.append(("end-badkey", "arm", as_end(sign(Request("arm", "episode.end", {}, "agent-ep", (), id="end-badkey",
                                                           end_episode=True), new_key().encode())),
                  REFUSED + "bad signature", ""))
    cases.append(("u-end", "arm", EndEpisode.Request(request_id="u-end", episode_id="agent-ep"), CLOSED, ""))
    return cases


def test_hostile_requests_neither_kill_a_replica_nor_move_the_arm(shed):
    wire, procs = shed
    c = wire.client
    ep = dict(episode="agent-ep", images=(), prefer="arm")
    cap = c.call("robot.capture_image", {}, **ep)
    assert cap["ok"], cap
    det = c.call(*DETECT, **ep)
    assert det["ok"], det
    x, y = det["data"]["points"][0]
    assert c.call("sam2.segment_from_point", {"x": x, "y": y, "image_index": 0}, **ep)["ok"]
    assert c.call("depth_estimator.estimate_depth_with_pointcloud", {"image_index": 0}, **ep)["ok"]
    g = c.call("grasp_generator.compute_grasp", {"point_cloud": "$point_cloud", "mask": "$segmentation_mask",
                                                 "focal_length_px": "$focal_length_px", "image_index": 0}, **ep)
    assert g["ok"], g
    n_traj, n_grip, q0 = len(wire.trajectories), len(wire.gripper), wire.joints[0]

    t0 = time.monotonic()
    # the agent's own signed call, as it went to the replica, sent again
    replay = wire.send("arm", wire.sent[g["id"]])
    assert replay is not None and not replay.ok and replay.error == "PermissionError", replay
    assert replay.text.startswith(f"{REFUSED}request id {g['id']} was already used"), replay.text
    # every hostile request is answered, with the expected error and nothing else
    wrong = {}
    for case, replica, request, expected, kind in _hostile(g["data"]["grasp_pose"]):
        got = wire.send(replica, request)
        if got is None:
            wrong[case] = "no answer"
        elif got.ok != (expected == CLOSED) or not got.text.startswith(expected) or (
                kind and (got.error != kind or got.replica_id != replica)):
            wrong[case] = (got.ok, getattr(got, "error", None), got.text[:300])
    assert not wrong, wrong
    # more concurrent calls than a replica lets wait: the surplus is answered "overloaded" at once
    burst = [CallTool.Request(request_id=f"burst-{i}", episode_id=f"burst-{i}", tool=DETECT[0],
                              arguments_json=json.dumps(DETECT[1]), image_stamps_ns=[-1]) for i in range(BURST)]
    answers = wire.wait([wire.send_async("arm", b) for b in burst], 60)
    assert all(a is not None for a in answers), [a and a.text[:100] for a in answers]
    overloaded = [a for a in answers if "is overloaded" in a.text]
    served = [a for a in answers if a.ok and a.text.startswith("Detected 1")]
    assert overloaded and served and len(overloaded) + len(served) == BURST, [a.text[:100] for a in answers]
    assert all(not a.ok and a.text.startswith("Error: RuntimeError: tool server arm is overloaded")
               and a.error == "RuntimeError" for a in overloaded), [a.text[:100] for a in overloaded]
    assert KEY not in repr(wire.answers)

    # both replicas still serve vision calls, unsigned ones included
    assert procs["arm"].poll() is None and procs["noarm"].poll() is None
    for rid in ("arm", "noarm"):
        probe = wire.send(rid, as_call(Request(rid, *DETECT, episode="after", id=f"after-{rid}")))
        assert probe is not None, f"{rid} does not answer any more"
        assert probe.ok and probe.text.startswith("Detected 1") and probe.replica_id == rid, probe
    # nothing was sent to the robot, and it stood still
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    assert len(wire.trajectories) == n_traj and len(wire.gripper) == n_grip
    assert max(abs(a - b) for a, b in zip(q0, wire.joints[0])) < 1e-3

    # the agent's signed call does move it, in the episode the unsigned end did not close; a replay does not
    r = c.call("robot.execute_grasp", {"grasp_pose": "$grasp_pose"}, timeout_s=180.0, **ep)
    assert r["ok"] and r["text"].startswith("Grasp execution"), r
    assert len(wire.trajectories) > n_traj
    n_traj, n_grip = len(wire.trajectories), len(wire.gripper)
    again = wire.send("arm", wire.sent[r["id"]])  # refused as used (or, after a long grasp, as stale)
    assert again is not None and not again.ok and again.text.startswith(REFUSED), again
    time.sleep(1.0)
    assert len(wire.trajectories) == n_traj and len(wire.gripper) == n_grip
    assert KEY not in repr(wire.answers)


def test_logs_are_bounded_and_never_show_the_key(shed):
    _, procs = shed
    (arm_code, arm_log), (code, log) = procs.stop("arm"), procs.stop("noarm")  # complete once stopped
    for text in (arm_log, log):
        assert KEY not in text
        about_input = [line for line in text.splitlines() if "[WARN]" in line or "[ERROR]" in line]
        assert about_input and all(len(line) < 400 for line in about_input), max(about_input, key=len)[:500]
    assert "refused robot.execute_grasp" in arm_log and "refused a malformed call" in arm_log, arm_log[-3000:]
    assert "refused robot.execute_grasp" in log, log[-3000:]
    assert arm_code == 0 and code == 0, (arm_log[-2000:], log[-2000:])


def test_bringup_hands_a_fresh_key_to_its_children_only_through_their_environment():
    from spacetools_ros.ros.bringup import session_env

    env = session_env({"PATH": "/bin"})
    assert len(env[KEY_ENV]) == 64 and env["PATH"] == "/bin"
    assert session_env({"PATH": "/bin"})[KEY_ENV] != env[KEY_ENV]
    assert session_env({KEY_ENV: "a" * 40})[KEY_ENV] == "a" * 40
    with pytest.raises(ValueError):
        session_env({KEY_ENV: "short"})
