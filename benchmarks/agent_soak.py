"""The ROS agent soak: many commands in a row through the documented path, as a user would run it.

Per scene: `spacetools_bringup --agent --scene S` (the sim node as the robot, the agent acting on it
through its topics), then `spacetools command "..."` again and again, resetting the sim between
commands (its ~/reset service). Each command is judged twice: what the agent said (`success`,
`verified`) and what the simulator's truth shows (/spacetools/sim_status, the task suite's rules).
The same commands also run in process (embedded cell) for the reference rate. Prints the success
rates, the agreement of the agent's word with the truth, and each node's memory at start, after
warm-up and at the end. Bounded in count and time; loopback only, private ROS domain.

Usage: python benchmarks/agent_soak.py [--scenes 5] [--per-scene 10] [--skip-in-process]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ["ROS_DOMAIN_ID"] = str(random.randint(120, 169))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from spacetools_ros.cli.suite import Task, judge  # noqa: E402
from spacetools_ros.core.paths import config_dir  # noqa: E402
from spacetools_ros.core.scene import Scene, load_scene, scene_to_dict  # noqa: E402
from spacetools_ros.core.scene_gen import random_pick_place_scene  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORDS = {"box": "block", "cylinder": "can", "sphere": "ball", "bowl": "bowl", "plate": "plate"}


def _name(o) -> str:
    return f"{o.color_name} {WORDS[o.shape]}"


def scene_tasks(scene: Scene, container: str, n: int) -> list[Task]:
    """``n`` commands on one scene: every small object into/onto the container, then beside it."""
    c = scene.object(container)
    prep = "in" if c.shape == "bowl" else "on"
    small = [o for o in scene.objects if o.shape not in ("bowl", "plate")]
    tasks = []
    rels = [("left", "to the left of"), ("right", "to the right of")]
    k = 0
    while len(tasks) < n:
        o = small[k % len(small)]
        if (k // len(small)) % 2 == 0:
            tasks.append(Task(scene.seed, "soak", f"put the {_name(o)} {prep} the {_name(c)}", o.name, prep, container))
        else:
            rel, words = rels[k % 2]
            tasks.append(Task(scene.seed, "soak", f"move the {_name(o)} {words} the {_name(c)}", o.name, rel, container))
        k += 1
    return tasks


def scenes(n: int) -> list[tuple[Scene, str]]:
    demo = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    out = [(demo, "blue_bowl")]
    seed = 3100
    while len(out) < n:
        sc, _pick, cont = random_pick_place_scene(seed, n_distractors=2)
        seed += 1
        names = {_name(o) for o in sc.objects}
        if len(names) == len(sc.objects):  # every object can be named unambiguously
            out.append((sc, cont))
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def child_pid(parent: int, module: str) -> int | None:
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and module in cmd:
            return int(p.name)
    return None


class Truth:
    """The sim node's true object positions (/spacetools/sim_status) and its ~/reset service."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import String
        from std_srvs.srv import Trigger

        from spacetools_ros.ros import topics

        rclpy.init()
        self.rclpy = rclpy
        self.node = rclpy.create_node("agent_soak")
        self.latest: dict = {}
        self.stamp = 0.0
        self.node.create_subscription(String, topics.SIM_STATUS, self._on_status, 10)
        self.reset_client = self.node.create_client(Trigger, "/spacetools_sim/reset")
        self.Trigger = Trigger
        self.ex = SingleThreadedExecutor()
        self.ex.add_node(self.node)
        threading.Thread(target=self.ex.spin, daemon=True).start()

    def _on_status(self, msg) -> None:
        try:
            doc = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(doc, dict) and isinstance(doc.get("objects"), dict):
            self.latest, self.stamp = doc["objects"], time.monotonic()

    def fresh_positions(self, timeout_s: float = 10.0) -> dict:
        t = time.monotonic()
        while self.stamp <= t and time.monotonic() - t < timeout_s:
            time.sleep(0.1)
        return dict(self.latest)

    def reset(self) -> bool:
        if not self.reset_client.wait_for_service(timeout_sec=10.0):
            return False
        fut = self.reset_client.call_async(self.Trigger.Request())
        end = time.monotonic() + 10.0
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1.5)  # fresh joint states and frames after the reset
        return fut.done() and fut.result().success

    def close(self) -> None:
        self.ex.shutdown(timeout_sec=2)
        self.node.destroy_node()
        self.rclpy.shutdown()


def run_ros(scene_list, per_scene: int) -> tuple[list[dict], dict]:
    rows: list[dict] = []
    memory: dict[str, list] = {"agent": [], "sim": []}
    truth = Truth()
    try:
        for si, (scene, container) in enumerate(scene_list):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "scene.yaml"
                path.write_text(yaml.safe_dump(scene_to_dict(scene)))
                bring = subprocess.Popen([str(BIN / "spacetools_bringup"), "--agent", "--scene", str(path)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                try:
                    for k, task in enumerate(scene_tasks(scene, container, per_scene)):
                        if k:
                            truth.reset()
                        out = Path(tmp) / f"r{k}.json"
                        t0 = time.perf_counter()
                        code = subprocess.call([str(BIN / "spacetools"), "command", task.command, "--json", str(out),
                                                "--timeout", "240", "--wait-agent", "120"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        wall = time.perf_counter() - t0
                        doc = json.loads(out.read_text()) if out.exists() else {}
                        pos = truth.fresh_positions()
                        poses = {n: (np.asarray(p, float),) for n, p in pos.items()}
                        ok, why = judge(scene, task, poses, False) if set(poses) >= {task.pick, task.anchor} \
                            else (False, "no sim status")
                        agent = child_pid(bring.pid, "agent_node")
                        memory["agent"].append(rss_mb(agent) if agent else None)
                        memory["sim"].append(rss_mb(bring.pid))
                        row = {"scene": si, "agent_mb": memory["agent"][-1], "sim_mb": memory["sim"][-1], "command": task.command, "exit": code, "agent_success": bool(doc.get("success")),
                               "verified": doc.get("verified"), "reason": doc.get("reason"), "truth": ok, "why": why,
                               "cleanup": doc.get("cleanup"), "wall_s": round(wall, 1)}
                        rows.append(row)
                        mark = "ok " if ok else "FAIL"
                        said = "" if row["agent_success"] == ok else " [agent said the opposite]"
                        print(f"{mark} scene {si} {task.command:55s} {wall:5.1f} s agent {memory['agent'][-1] or 0:6.0f} MB "
                              f"sim {memory['sim'][-1] or 0:6.0f} MB {'' if ok else why}{said}", file=sys.stderr, flush=True)
                finally:
                    os.killpg(bring.pid, signal.SIGINT)
                    try:
                        bring.wait(60)
                    except subprocess.TimeoutExpired:
                        os.killpg(bring.pid, signal.SIGKILL)
    finally:
        truth.close()
    return rows, memory


def run_in_process(scene_list, per_scene: int) -> list[bool]:
    from spacetools_ros.backends.policy.scripted import ScriptedPolicy
    from spacetools_ros.compose.episode import run_command
    from spacetools_ros.compose.session import EmbeddedSession

    out = []
    for scene, container in scene_list:
        for task in scene_tasks(scene, container, per_scene):
            s = EmbeddedSession.create(scene)
            try:
                run_command(s, task.command, ScriptedPolicy(), progress=lambda m: None)
                ok, _ = judge(scene, task, s.sim.object_poses(), s.manipulator.holding is not None)
            finally:
                s.close()
            out.append(ok)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=5)
    p.add_argument("--per-scene", type=int, default=10)
    p.add_argument("--skip-in-process", action="store_true")
    args = p.parse_args()
    scene_list = scenes(args.scenes)
    ref = [] if args.skip_in_process else run_in_process(scene_list, args.per_scene)
    rows, mem = run_ros(scene_list, args.per_scene)
    n = len(rows)
    print(f"\nROS agent soak: {n} commands over {len(scene_list)} scenes (spacetools_bringup --agent + spacetools command)")
    print(f"success (simulator's truth): {sum(r['truth'] for r in rows)}/{n}"
          + (f"; in process, same commands: {sum(ref)}/{len(ref)}" if ref else ""))
    print(f"agent's success agrees with the truth: {sum(r['agent_success'] == r['truth'] for r in rows)}/{n}; "
          f"put-backs: {sum(bool(r['cleanup']) for r in rows)}")
    print("memory per scene (MB; agent / sim node): after the 1st command, after the 3rd (warm-up), at the end, max")
    for si in sorted({r["scene"] for r in rows}):
        g = [r for r in rows if r["scene"] == si]
        for node in ("agent", "sim"):
            v = [r[f"{node}_mb"] for r in g if r[f"{node}_mb"] is not None]
            if v:
                print(f"  scene {si} {node:5s} {v[0]:7.0f} {v[min(2, len(v) - 1)]:7.0f} {v[-1]:7.0f} {max(v):7.0f}")

if __name__ == "__main__":
    main()
