"""Raw hostile messages on /toolshed/request against a robot replica (sim node as the robot), on a
private ROS domain over loopback: part of benchmarks/hostile_inputs.py."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time


def _wait(cond, timeout_s: float, period_s: float = 0.1) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(period_s)
    return bool(cond())


def ros_cases(case_type) -> list:
    """Starts the sim node and one robot replica (with the session key), throws the messages,
    and judges each: answered with an error or ignored, replica alive, nothing sent to the arm."""
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(150, 199))
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import Float64MultiArray, String
    from trajectory_msgs.msg import JointTrajectory

    from spacetools_ros.core.tools.auth import KEY_ENV, new_key, sign
    from spacetools_ros.core.tools.wire import Request, WireError, decode_response
    from spacetools_ros.ros.topics import TOOLSHED_REQUEST as REQUEST, TOOLSHED_RESPONSE as RESPONSE
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
    pub = node.create_publisher(String, REQUEST, 50)
    answers: dict[str, list[dict]] = {}
    sent_to_arm: list = []

    def on_response(msg) -> None:
        try:
            doc = decode_response(msg.data)
        except WireError:
            return
        answers.setdefault(doc["id"], []).append(doc)

    node.create_subscription(String, RESPONSE, on_response, 100)
    node.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, sent_to_arm.append, 50)
    node.create_subscription(Float64MultiArray, topics.GRIPPER_COMMAND, sent_to_arm.append, 50)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()
    cases = []
    try:
        if not (client.wait_for_tool("robot.execute_grasp", 90)
                and _wait(lambda: client.call("robot.capture_image", {}, episode="warm", images=(), prefer="arm")["ok"],
                          60, 1.0)):
            c = case_type("ros", "replica_start")
            c.outcome, c.detail = "crashed", "the robot replica did not come up"
            return [c]
        grasp = [[1, 0, 0, 0.0], [0, -1, 0, 0.0], [0, 0, -1, 0.9], [0, 0, 0, 1]]
        deep = "[" * 5000 + "]" * 5000
        to_arm = {"replica": "arm", "episode": "bench"}
        msgs: list[tuple[str, str, str | None]] = [  # (case, text, id whose answer must be an error; None: ignored)
            ("deep_json_5000", deep, None),
            ("deep_arguments", '{"id": "d1", "replica": "arm", "name": "roborefer.detect_one", "arguments": ' + deep + "}",
             None),
            ("two_megabytes", "x" * 2_000_000, None),
            ("binary_text", bytes(range(1, 256)).decode("latin-1") * 50, None),
            ("nan_argument", '{"id": "n1", "replica": "arm", "name": "roborefer.detect_one", "arguments": {"x": NaN}}', None),
            ("id_not_text", '{"id": 5, "replica": "arm", "name": "roborefer.detect_one"}', None),
            ("name_not_text", json.dumps({"id": "w1", "name": 7, "arguments": {}, **to_arm}), "w1"),
            ("arguments_a_list", json.dumps({"id": "w2", "name": "roborefer.detect_one", "arguments": [1], **to_arm}), "w2"),
            ("10k_images", json.dumps({"id": "w3", "name": "roborefer.detect_one", "arguments": {}, "images": ["latest"] * 10_000,
                                       **to_arm}), "w3"),
            ("unsigned_capture", json.dumps({"id": "u1", "name": "robot.capture_image", "arguments": {}, **to_arm}), "u1"),
            ("unsigned_grasp", json.dumps({"id": "u2", "name": "robot.execute_grasp", "arguments": {"grasp_pose": grasp},
                                           **to_arm}), "u2"),
            ("unsigned_view_select", json.dumps({"id": "u3", "name": "view_selection.select_view",
                                                 "arguments": {"target": "red block"}, **to_arm}), "u3"),
            ("wrong_key", sign(Request("arm", "robot.execute_grasp", {"grasp_pose": grasp}, "bench", (), id="k1"),
                               new_key().encode()).encode(), "k1"),
            ("stale_signature", sign(Request("arm", "robot.execute_grasp", {"grasp_pose": grasp}, "bench", (), id="k2"),
                                     key.encode(), now=time.time() - 120).encode(), "k2"),
        ]
        tampered = json.loads(sign(Request("arm", "robot.capture_image", {}, "bench", (), id="k3"), key.encode()).encode())
        tampered.update(name="robot.execute_grasp", arguments={"grasp_pose": grasp})
        msgs.append(("tampered_signature", json.dumps(tampered), "k3"))
        signed = sign(Request("arm", "robot.capture_image", {}, "bench", (), id="k4"), key.encode()).encode()
        msgs.append(("replayed_signed_call", signed, "k4"))
        n_arm = len(sent_to_arm)
        t0 = time.monotonic()
        for _name, text, _rid in msgs:
            pub.publish(String(data=text))
        pub.publish(String(data=signed))  # the replay of k4
        _wait(lambda: all(rid in answers for _, _, rid in msgs if rid) and len(answers.get("k4", [])) >= 2, 30)
        time.sleep(1.0)
        alive = arm.poll() is None
        probe = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="after")
        for name, _text, rid in msgs:
            c = case_type("ros", name)
            c.wall_s = time.monotonic() - t0
            got = answers.get(rid, []) if rid else []
            if not alive or not probe.get("ok"):
                c.outcome, c.detail = "crashed", "the replica died or stopped answering"
            elif len(sent_to_arm) > n_arm:
                c.outcome, c.detail = "moved_outside", f"{len(sent_to_arm) - n_arm} command(s) reached the arm"
            elif rid is None:
                c.detail = "ignored (not a request this replica can answer)"
            elif name == "replayed_signed_call":
                refusals = [g["text"] for g in got if g["text"].startswith("Error: PermissionError")]
                ok = len(got) == 2 and sum(g["ok"] for g in got) == 1 and len(refusals) == 1  # answered in either order
                c.outcome, c.detail = ("refused", refusals[0][:90]) if ok else ("handled", " | ".join(g["text"][:80] for g in got))
            elif got and not got[0]["ok"] and got[0]["text"].startswith("Error:"):
                c.detail = got[0]["text"][:90]
            else:
                c.outcome, c.detail = ("lost_result", "no answer") if not got else ("handled", got[0]["text"][:90])
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
