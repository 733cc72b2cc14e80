"""Seeded random scenes for tests, benchmarks and task suites (objects in the graspable region)."""

from __future__ import annotations

import numpy as np

from .scene import COLORS, Scene, scene_from_dict

REGION_X_M = (0.30, 0.70)
REGION_Y_M = (-0.30, 0.30)


def random_pick_place_scene(seed: int, n_distractors: int | None = None) -> tuple[Scene, str, str]:
    """A scene with one pickable object, one container (bowl or plate) and distractors.

    Returns:
        (scene, name of the object to pick, name of the container).
    """
    rng = np.random.default_rng(seed)
    colors = list(COLORS)
    rng.shuffle(colors)
    objs: list[dict] = []
    pick_shape = str(rng.choice(["box", "cylinder", "sphere"]))
    pick_size = {"box": [float(rng.uniform(0.03, 0.05)), float(rng.uniform(0.03, 0.05)), float(rng.uniform(0.03, 0.06))],
                 "cylinder": [float(rng.uniform(0.03, 0.05)), float(rng.uniform(0.04, 0.09))],
                 "sphere": [float(rng.uniform(0.035, 0.05))]}[pick_shape]
    container = str(rng.choice(["bowl", "plate"]))
    cont_size = [float(rng.uniform(0.14, 0.18)), float(rng.uniform(0.045, 0.06))] if container == "bowl" else \
        [float(rng.uniform(0.15, 0.19)), 0.015]
    specs = [("target", pick_shape, pick_size), ("container", container, cont_size)]
    n = int(rng.integers(0, 4)) if n_distractors is None else n_distractors
    for i in range(n):
        shape = str(rng.choice(["box", "cylinder", "sphere"]))
        size = {"box": [0.04, 0.05, 0.05], "cylinder": [0.05, 0.08], "sphere": [0.05]}[shape]
        specs.append((f"thing{i}", shape, size))
    for k, (role, shape, size) in enumerate(specs):
        color = colors[k % len(colors)]
        name = f"{color}_{shape}" if role != "container" else f"{color}_{container}"
        for _ in range(200):
            pos = [float(rng.uniform(*REGION_X_M)), float(rng.uniform(*REGION_Y_M))]
            cand = {"name": name, "shape": shape, "color": color, "size": size, "position": pos,
                    "yaw_deg": float(rng.uniform(-90, 90)) if shape == "box" else 0.0}
            try:
                scene_from_dict({"objects": objs + [cand]})
            except Exception:  # noqa: BLE001 - overlap: draw again
                continue
            # leave room for the fingers between objects
            if all(np.hypot(pos[0] - o["position"][0], pos[1] - o["position"][1]) > 0.13 for o in objs):
                objs.append(cand)
                break
    scene = scene_from_dict({"seed": seed, "objects": objs}, source=f"<random seed {seed}>")
    return scene, objs[0]["name"], objs[1]["name"]
