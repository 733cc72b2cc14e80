"""The dataset card (``README.md``) of a generated split: what is in it and how every answer is computed."""

from __future__ import annotations

from pathlib import Path

TRUTHS = """\
| category | question | `answer` | `ground_truth` (besides the common fields) |
|---|---|---|---|
| `pointing_object` | point to an object by colour + shape ("the red block"), by a side relation to another object ("the block to the left of the blue bowl") or a superlative ("the leftmost ball") | `[(x, y)]`: the visible mask's centroid, or the mask pixel farthest from its border when the centroid is off the mask | `mask_rle` (the object's visible pixels in the first camera, from the simulator's segmentation), `centroid`, `point`, `bbox_px`, `visible_px`, `expression`, `kind`, and `relation`/`anchor`/`frame` or `superlative`/`frame` |
| `pointing_free_space` | "a free spot on the table to the left of the blue plate" | `[(x, y)]`: the region pixel farthest from the region's border | `mask_rle` of the region: pixels that see the table (rendered depth on the table plane, no object), at least `clearance_m` (0.03 m) from every object's footprint, 3 cm inside the table's edges, 0.25-0.80 m from the robot base, and where a point on the table stands in the relation to the anchor by `core/relations.py`'s side rule; `centroid`, `point`, `point_table_xy_m`, `region_px` |
| `yes_no` | left / right / in front of / behind (frame stated) or in (a bowl) / on (a plate or a block) | `Yes` / `No`, alternating across the run | `answer` (`yes`/`no`), `relation`, `object`, `anchor`, `frame` (`camera`, `robot`, or `any` for in/on): `core.relations.relation_holds` on the settled poses. Side questions are only asked about pairs within 27 cm whose main offset clearly dominates (1.25x the other, twice the rule's minimum) |
| `fit` | "can the red block fit in the blue bowl?" | `Yes` / `No`, alternating | rule: fits when the dish's inner diameter (inside its wall) exceeds the diameter of the circle around the object's footprint by at least 0.01 m; does not fit when it is at least 0.01 m short; pairs in between are not asked. `object_footprint_diameter_m`, `container_inner_diameter_m`, `slack_m` |
| `relative_depth` | "which is closer to the camera: (A) ... or (B) ...?" | `A` / `B`, alternating | `closer` (object name), `closer_phrase`, `options` with each object's depth of its box centre along the optical axis (they differ by at least 5 cm) |
| `box3d_corners` | the 8 image corners of an object's 3D box | `[(x1, y1), ..., (x8, y8)]` normalised | `corners_px` (8x2 pixel coordinates, continuous: pixel (u, v) spans [u, u+1)), `corners_norm`, `corners_base_m`, `corners_camera_m`, `order` (bottom face then top face, each counter-clockwise from above), `edges`. The box: the object's size from the scene (cylinders, balls, dishes: their diameter square) at its settled pose |
| `grasp` | a top-down parallel-jaw grasp of a block, can or ball | `Grasp center: [x, y], Left finger base: ..., Right finger base: ..., Left finger tip: ..., Right finger tip: ...` (projected gripper points) | `pose_base` (4x4 hand frame in the base frame: x = finger closing axis, +x = left finger, z = approach, the TCP 0.1034 m along z), `pose_camera`, `tcp_base_m` (on the object's axis at `core.grasping.grasp_height_m` above its bottom), `contacts_base_m` (2x3, left then right, where the pads meet the surface), `contacts_norm`, `width_m` (contact distance: the block's narrower side; a can's or ball's diameter / chord at the TCP height, fingers across the line of sight from the robot base), `opening_m`, `yaw_rad`, `top_centre_base_m`, `gripper_points_norm` |
| `multi_view` | an object hidden (under 20 % of its unoccluded pixels) from the first camera: which camera shows it best, and where | `camera: <name>, point: [(x, y)]` | `camera` (most visible pixels among the cameras that show at least 50 % of it), `mask_rle`/`centroid`/`point` there, `visible_px_per_camera`, `unoccluded_px_per_camera` (rendered with the other objects removed), `visible_fraction`, `also_visible`, `occluder` |
"""


def write_card(out: Path, summary: dict, pattern: list[str]) -> None:
    """Write ``out/README.md`` for a generated split (deterministic: no timings)."""
    from .dataset import MAX_SEED, SCENES_PER_SEED, SPLIT_BASE
    from .scenes import IMAGE_H, IMAGE_W

    split, n = summary["split"], summary["tasks"]
    size = "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000 else "100K<n<1M" \
        if n < 1_000_000 else "1M<n<10M"
    counts = "\n".join(f"| {c} | {summary['counts'][c]} |" for c in summary["counts"])
    seeds = "\n".join(f"| {s} | {b} .. {b + (MAX_SEED + 1) * SCENES_PER_SEED - 1} |" for s, b in SPLIT_BASE.items())
    text = f"""---
license: apache-2.0
language:
- en
pretty_name: spacetools spatial tasks
task_categories:
- visual-question-answering
tags:
- spatial-reasoning
- robotics
- synthetic
- mujoco
size_categories:
- {size}
configs:
- config_name: default
  data_files:
  - split: {split}
    path: data/{split}-*.parquet
---

# spacetools spatial tasks ({split})

Questions about random tabletop scenes in the embedded MuJoCo world of `spacetools_ros`, each with an
answer computed exactly from the simulator's state (true poses after the objects settle, rendered
segmentation and depth, the cameras' calibration). Made with
`spacetools data gen --n {n} --split {split} --seed {summary['seed']} --categories {','.join(summary['counts'])}`.

## Contents

{n} tasks from {summary['scenes']} scenes ({summary['tasks_per_scene']} questions a scene, slots: {', '.join(pattern)}).

| category | {split} |
|---|---|
{counts}

Images: `images/<scene_id>_<camera>.png`, {IMAGE_W}x{IMAGE_H}, the cameras' own size (so the intrinsics
in `ground_truth.cameras` apply as they are). Every question shows the first camera's image
(`scene`, across the table from the robot, looking at the workspace from 30-58 degrees up); multi-view
questions show every camera of their scene in the scene's order: `scene`, `side` (from the robot's
left or right) and `overhead` (70-80 degrees up). Scenes: 1-2 dishes, often a large low block, 3-5
small blocks, cans and balls (one shape at least twice), each object its own colour, a random table
colour and lighting; about 40 % of the scenes put a small object in a dish or on the large block; scenes
holding a multi-view question stand a tall block in front of one object as seen from `scene`.

## Columns

- `id`, `index` (task number in the run), `category`, `split`, `scene_id`, `scene_seed`
- `question`: the question with its answer format
- `messages`: one user message in the Qwen2.5-VL chat format: `{{"type": "image"}}` per image (stored
  with `"text": null`), then `{{"type": "text", "text": question}}`
- `images`: image paths relative to this folder, in placeholder order
- `answer`: the reference answer text
- `ground_truth`: JSON with everything a reward needs (table below) and, in every row: `scene` (the
  scene file as a mapping, valid for `core.scene.scene_from_dict`), `placements` (objects moved into
  a dish or onto a block after the world is built, before settling), `object_poses` (settled, base
  frame: bottom centre and quaternion w, x, y, z), `cameras` (per camera `intrinsics` 3x3 and
  `extrinsics` 4x4 = the optical frame's pose in the base frame, x right, y down, z forward),
  `image_size`, `hidden`/`occluder` (multi-view scenes).

Conventions: base frame x forward, y left, z up (metres); normalised image points (x, y) in [0, 1]
with the origin at the top-left corner (x = column / width); masks are COCO uncompressed run-length
encodings (`{{"size": [H, W], "counts": [...]}}`, column-major, starting with a run of zeros). Side
words: `camera` frame = image left/right, in front = nearer the camera; `robot` frame = the robot
base's left (+y) / right (-y), in front = nearer the robot (-x), behind = +x; each question states
its frame.

## How the answers are computed

{TRUTHS}
## Seeds

Scene `k` of a run has seed `base(split) + seed * {SCENES_PER_SEED} + k` (`--seed` 0..{MAX_SEED}); task `i`
is question slot `i % {summary['tasks_per_scene']}` of scene `i // {summary['tasks_per_scene']}`. The
same command writes byte-identical parquet rows. Scene seeds per split (disjoint):

| split | scene seeds |
|---|---|
{seeds}
"""
    (out / "README.md").write_text(text)
