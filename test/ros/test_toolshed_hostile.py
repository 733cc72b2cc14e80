"""Hostile traffic on the toolshed topics (loopback): malformed, oversized and deep messages never
end a replica; only requests signed with the agent's session key reach the robot tools, and the
arm does not move for anyone else. The sim node is the robot; "arm" serves robot tools
(world=ros, robot_tools=true, the key in its environment), "noarm" does not (robot_tools=false,
no key)."""

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
from std_msgs.msg import Float64MultiArray, String  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from spacetools_ros.core.tools.auth import KEY_ENV, new_key, sign  # noqa: E402
from spacetools_ros.core.tools.wire import (Request, WireError, decode_request,  # noqa: E402
                                            decode_response)
from spacetools_ros.ros import topics  # noqa: E402
from spacetools_ros.ros.tool_client import ToolClient  # noqa: E402

KEY = new_key()
DETECT = ("roborefer.detect_one", {"obj_name": "red block", "image_index": 0})


def server(rid: str, env: dict, *params: str) -> subprocess.Popen:
    args = [a for p in ("publish_debug:=false", f"replica_id:={rid}", *params) for a in ("-p", p)]
    return subprocess.Popen([sys.executable, "-m", "spacetools_ros.ros.tool_server_node", "--ros-args", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


class Wire:
    """This process's view of the toolshed topics: a signing client, a raw publisher, every
    request (as sent) and response seen, and the robot's command and joint-state topics."""

    def __init__(self) -> None:
        rclpy.init()
        self.node = rclpy.create_node("toolshed_hostile_test")
        self.client = ToolClient(self.node, timeout_s=15.0, retries=0, session_key=KEY.encode())
        self.raw = self.node.create_publisher(String, topics.TOOLSHED_REQUEST, 50)
        self.sent: dict[str, str] = {}  # id -> request text as it went over the wire
        self.answers: dict[str, list[dict]] = {}
        self.trajectories: list = []
        self.gripper: list = []
        self.joints: list = [None]
        n = self.node
        n.create_subscription(String, topics.TOOLSHED_REQUEST, self._on_request, 100)
        n.create_subscription(String, topics.TOOLSHED_RESPONSE, self._on_response, 100)
        n.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, self.trajectories.append, 50)
        n.create_subscription(Float64MultiArray, topics.GRIPPER_COMMAND, self.gripper.append, 50)
        n.create_subscription(JointState, topics.JOINT_STATES, self._on_joints, 10)
        self._ex = SingleThreadedExecutor()
        self._ex.add_node(n)
        threading.Thread(target=self._ex.spin, daemon=True).start()

    def _on_request(self, msg: String) -> None:
        try:
            self.sent[decode_request(msg.data).id] = msg.data
        except WireError:
            pass  # the hostile ones

    def _on_response(self, msg: String) -> None:
        try:
            doc = decode_response(msg.data)
        except WireError:
            return
        self.answers.setdefault(doc["id"], []).append(doc)

    def _on_joints(self, msg: JointState) -> None:
        self.joints[0] = list(msg.position[:7])

    def publish(self, text: str) -> None:
        self.raw.publish(String(data=text))

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
        assert c.wait_for_tool("robot.execute_grasp", 90), "the robot replica did not announce its tools"
        assert wait_for(lambda: "noarm" in c.table.alive("roborefer.detect_one"), 60)
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


def _hostile(wire: Wire, grasp_pose: list) -> dict[str, str | None]:
    """Publish the attacks; returns request id -> the text its answer must contain (None: no answer)."""
    deep = "[" * 5000 + "]" * 5000
    addressed = {"replica": "arm", "episode": "agent-ep"}
    grasp = {"grasp_pose": grasp_pose}
    expect: dict[str, str | None] = {}

    def raw(text: str) -> None:
        wire.publish(text)

    def req(rid: str, name: str, args, expected: str | None, **extra) -> None:
        raw(json.dumps({"id": rid, "name": name, "arguments": args, **addressed, **extra}))
        expect[rid] = expected

    raw(deep)
    raw('{"id": "deep1", "replica": "arm", "name": "roborefer.detect_one", "arguments": ' + deep + "}")
    raw("x" * 2_000_000)
    raw(json.dumps({"id": "big1", "name": "roborefer.detect_one", "arguments": {"blob": "x" * 2_000_000}, **addressed}))
    raw(bytes(range(1, 256)).decode("latin-1") * 50)
    raw('{"id": 5, "replica": "arm", "name": "roborefer.detect_one"}')
    raw('{"id": "nan1", "replica": "arm", "name": "roborefer.detect_one", "arguments": {"x": NaN}}')
    expect.update({"deep1": None, "big1": None, "nan1": None})
    req("wtype", 7, {}, "Error: ValueError: malformed request")
    req("wargs", "roborefer.detect_one", [1, 2], "Error: ValueError: malformed request")
    req("wimgs", "roborefer.detect_one", {"obj_name": "x", "image_index": 0},
        "Error: ValueError: malformed request", images=["latest"] * 10_000)
    # robot calls without the credential
    req("u-capture", "robot.capture_image", {}, "Error: PermissionError: robot tools are served only to requests "
                                                 "signed")
    req("u-grasp", "robot.execute_grasp", grasp, "Error: PermissionError")
    req("u-select", "view_selection.select_view", {"target": "red block"}, "Error: PermissionError")
    bad = sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="badkey"), new_key().encode())
    raw(bad.encode())
    expect["badkey"] = "Error: PermissionError: bad signature"
    tampered = json.loads(sign(Request("arm", "robot.capture_image", {}, "agent-ep", (), id="tampered"),
                               KEY.encode()).encode())
    tampered.update(name="robot.execute_grasp", arguments=grasp)
    raw(json.dumps(tampered))
    expect["tampered"] = "Error: PermissionError: bad signature"
    stale = sign(Request("arm", "robot.execute_grasp", grasp, "agent-ep", (), id="stale"), KEY.encode(),
                 now=time.time() - 120)
    raw(stale.encode())
    expect["stale"] = "Error: PermissionError: the request's timestamp"
    elsewhere = sign(Request("noarm", "robot.execute_grasp", grasp, "agent-ep", (), id="noarm-grasp"), KEY.encode())
    raw(elsewhere.encode())
    expect["noarm-grasp"] = "Error: PermissionError: robot tools are not enabled on replica noarm"
    # unsigned calls stay in their own episode: closing "agent-ep" unsigned leaves the agent's alone
    raw(Request("arm", "episode.end", {}, "agent-ep", (), id="u-end", end_episode=True).encode())
    expect["u-end"] = "Episode closed."
    return expect


def test_hostile_messages_neither_kill_a_replica_nor_move_the_arm(shed):
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
    assert wait_for(lambda: g["id"] in wire.sent, 5)
    n_traj, n_grip, q0 = len(wire.trajectories), len(wire.gripper), wire.joints[0]

    t0 = time.monotonic()
    expect = _hostile(wire, g["data"]["grasp_pose"])
    wire.publish(wire.sent[g["id"]])  # the agent's own signed call, sniffed and sent again
    answered = [rid for rid, text in expect.items() if text is not None]
    assert wait_for(lambda: all(rid in wire.answers for rid in answered)
                    and len(wire.answers.get(g["id"], [])) >= 2, 30), \
        {rid: wire.answers.get(rid) for rid in answered}
    replays = wire.answers[g["id"]]
    assert len(replays) == 2 and replays[1]["text"].startswith("Error: PermissionError: request id"), replays
    for rid, text in expect.items():
        if text is None:
            assert rid not in wire.answers, wire.answers[rid]
            continue
        got = wire.answers[rid]
        assert len(got) == 1 and got[0]["text"].startswith(text) and got[0]["ok"] == (text == "Episode closed."), got
    assert KEY not in json.dumps(wire.answers)

    # both replicas still serve vision calls, unsigned ones included
    assert procs["arm"].poll() is None and procs["noarm"].poll() is None
    for rid in ("arm", "noarm"):
        probe = Request(rid, *DETECT, episode="after", id=f"after-{rid}")
        wire.publish(probe.encode())
        assert wait_for(lambda: probe.id in wire.answers, 15), f"{rid} does not answer any more"
        assert wire.answers[probe.id][0]["ok"] and wire.answers[probe.id][0]["text"].startswith("Detected 1")
    # nothing was sent to the robot, and it stood still
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    assert len(wire.trajectories) == n_traj and len(wire.gripper) == n_grip
    assert max(abs(a - b) for a, b in zip(q0, wire.joints[0])) < 1e-3

    # the agent's signed call does move it, in the episode the unsigned end did not close; a replay does not
    r = c.call("robot.execute_grasp", {"grasp_pose": "$grasp_pose"}, timeout_s=180.0, **ep)
    assert r["ok"] and r["text"].startswith("Grasp execution"), r
    assert len(wire.trajectories) > n_traj
    assert wait_for(lambda: r["id"] in wire.sent, 5)
    n_traj = len(wire.trajectories)
    wire.publish(wire.sent[r["id"]])
    assert wait_for(lambda: len(wire.answers.get(r["id"], [])) >= 2, 15)
    assert wire.answers[r["id"]][1]["text"].startswith("Error: PermissionError"), wire.answers[r["id"]]
    time.sleep(1.0)
    assert len(wire.trajectories) == n_traj


def test_logs_are_bounded_and_never_show_the_key(shed):
    _, procs = shed
    (arm_code, arm_log), (code, log) = procs.stop("arm"), procs.stop("noarm")  # complete once stopped
    for text in (arm_log, log):
        assert KEY not in text
        about_input = [line for line in text.splitlines() if "[WARN]" in line or "[ERROR]" in line]
        assert about_input and all(len(line) < 400 for line in about_input), max(about_input, key=len)[:500]
    assert "refused robot.execute_grasp" in arm_log and "ignored malformed request" in arm_log, arm_log[-3000:]
    assert arm_code == 0 and code == 0, (arm_log[-2000:], log[-2000:])


def test_bringup_hands_a_fresh_key_to_its_children_only_through_their_environment():
    from spacetools_ros.ros.bringup import session_env

    env = session_env({"PATH": "/bin"})
    assert len(env[KEY_ENV]) == 64 and env["PATH"] == "/bin"
    assert session_env({"PATH": "/bin"})[KEY_ENV] != env[KEY_ENV]
    assert session_env({KEY_ENV: "a" * 40})[KEY_ENV] == "a" * 40
    with pytest.raises(ValueError):
        session_env({KEY_ENV: "short"})
