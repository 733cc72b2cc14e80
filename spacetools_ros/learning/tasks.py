"""Questions and exact answers per category, built from a settled, rendered scene (``SceneContext``).

Side words follow ``core/relations.py`` (and the README's "Which way is left"): in the ``camera``
frame left/right are image columns and in front of = nearer the camera (lower in the image); in the
``robot`` frame left = +y of the base, right = -y, in front = -x (nearer the robot), behind = +x.
Every question that uses a side word says which frame it means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.relations import SIDE_MIN_M, SIDE_MIN_PX, relation_holds
from .context import MIN_VISIBLE_PX, SceneContext, image_side, rounded
from .scenes import FIT_MARGIN_M, fit_slack_m
from .truths import (FREE_CLEARANCE_M, GRIPPER_POINTS, answer_point, body, box_corners, centre_of, centroid_norm,
                     free_space_mask, interior_point_norm, project_px, rle_encode, table_points, to_camera,
                     top_down_grasp)

SIDES = ("left", "right", "front", "behind")
REL_WORDS = {"left": "to the left of", "right": "to the right of", "front": "in front of", "behind": "behind"}
FRAME_NOTES = {"camera": "Left, right, in front of and behind are meant from the camera's view (in front = nearer the camera).",
               "robot": "Left, right, in front of and behind are meant from the robot's view: its own left and right, "
                        "in front = nearer the robot."}
POINT_FORMAT = "Answer with the point as [(x, y)] in normalized image coordinates (0 to 1, origin at the top-left)."
YES_NO_FORMAT = "Answer Yes or No."
CLEAR_MAX_DIST_M = 0.27    # side questions only about pairs this close (the rule's limit is 0.30 m) ...
CLEAR_DOMINANCE = 1.25     # ... whose main offset is at least this many times the other ...
CLEAR_MIN_FACTOR = 2.0     # ... and this many times the rule's minimum
FAR_M = 0.33               # a same-shape object this far from the anchor is clearly not beside it
SUPERLATIVE_GAP_PX = 25.0  # the leftmost / rightmost object leads the next by this much (camera frame) ...
SUPERLATIVE_GAP_M = 0.05   # ... or by this much (robot frame)
MIN_REGION_PX = 40         # a free-space region shows at least this many pixels
DEPTH_GAP_M = 0.05         # relative depth: the two centres differ at least this much along the optical axis
HIDDEN_MAX_FRACTION = 0.2  # multi view: at most this share of the object shows in the first camera ...
SHOWN_MIN_FRACTION = 0.5   # ... and at least this share (and MIN_VISIBLE_PX) in the camera that shows it best


@dataclass
class Task:
    """One question: its text, the reference answer, the truth a reward needs, the cameras whose
    images the question shows (in order)."""

    category: str
    question: str
    answer: str
    truth: dict
    cameras: tuple[str, ...]


def _fmt_points(pts) -> str:
    return "[" + ", ".join(f"({x:.3f}, {y:.3f})" for x, y in pts) + "]"


def _norm(uv: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(uv, float) / np.array([w, h], float)


def clear_side(ctx: SceneContext, name: str, anchor: str, frame: str) -> str | None:
    """The side relation (left/right/front/behind) that clearly holds between two objects resting on
    the table, or None when none does (too far apart, too close, or the offsets too alike)."""
    if not (ctx.resting_on_table(name) and ctx.resting_on_table(anchor)):
        return None
    p, a = ctx.poses[name][0], ctx.poses[anchor][0]
    d = float(np.hypot(*(p[:2] - a[:2])))
    if d >= CLEAR_MAX_DIST_M or d < ctx.obj(anchor).footprint_radius_m + 0.01:
        return None
    if frame == "camera":
        uv = project_px(np.stack([p, a]), ctx.first.intrinsics, ctx.first.extrinsics)
        across, along = uv[0] - uv[1]  # du (columns), dv (rows, down = nearer)
        words, minimum = (("left", "right"), ("behind", "front")), SIDE_MIN_PX
    else:
        along, across = p[:2] - a[:2]  # dx (forward), dy (left)
        words, minimum = (("right", "left"), ("front", "behind")), SIDE_MIN_M
    big, small = (across, along) if abs(across) >= abs(along) else (along, across)
    if abs(big) < CLEAR_DOMINANCE * abs(small) or abs(big) < CLEAR_MIN_FACTOR * minimum:
        return None
    pair = words[0] if big is across else words[1]
    return pair[1] if big > 0 else pair[0]


def holds(ctx: SceneContext, relation: str, name: str, anchor: str, frame: str = "camera") -> bool:
    """``core.relations.relation_holds`` on the settled poses (camera frame = the first camera)."""
    ok, _ = relation_holds(relation, body(ctx.obj(name), ctx.poses[name][0]), body(ctx.obj(anchor), ctx.poses[anchor][0]),
                           ctx.first.intrinsics, ctx.first.extrinsics, frame=frame)
    return ok


def _object_mask_truth(ctx: SceneContext, name: str, view=None) -> dict:
    view = view or ctx.first
    mask = view.mask(ctx.index(name))
    v, u = np.nonzero(mask)
    return {"object": name, "camera": view.spec.name, "mask_rle": rle_encode(mask), "centroid": centroid_norm(mask),
            "point": answer_point(mask), "bbox_px": [int(u.min()), int(v.min()), int(u.max()) + 1, int(v.max()) + 1],
            "visible_px": int(mask.sum())}


def _new(ctx: SceneContext, question: str) -> bool:
    if question in ctx.used:
        return False
    ctx.used.add(question)
    return True


# --------------------------------------------------------------------------- pointing


def pointing_object(ctx: SceneContext, rng: np.random.Generator, want=None) -> Task | None:
    """"Point to the red block" / "the block to the left of the blue bowl" / "the leftmost ball"."""
    names = ctx.referable_names()
    kinds = [str(k) for k in rng.permutation(["relational", "superlative"])] if rng.random() < 0.7 else []
    for kind in kinds + ["attribute"]:
        found = _superlative(ctx, rng, names) if kind == "superlative" else \
            _relational(ctx, rng, names) if kind == "relational" else _attribute(ctx, rng, names)
        if found is None:
            continue
        target, phrase, extra, note = found
        question = f"Point to {phrase}.{' ' + note if note else ''} {POINT_FORMAT}"
        if not _new(ctx, question):
            continue
        truth = {**_object_mask_truth(ctx, target), "expression": phrase, "kind": kind, **extra}
        return Task("pointing_object", question, _fmt_points([truth["point"]]), truth, (ctx.first.spec.name,))
    return None


def _attribute(ctx, rng, names):
    for name in rng.permutation(names):
        name = str(name)
        if f"Point to {ctx.phrase(name)}. {POINT_FORMAT}" not in ctx.used:
            return name, ctx.phrase(name), {}, ""
    return None


def _relational(ctx, rng, names):
    for shape in rng.permutation(sorted({ctx.obj(n).shape for n in names})):
        group = [o.name for o in ctx.scene.objects if o.shape == shape]
        if len(group) < 2 or not all(ctx.referable(g) for g in group):
            continue
        for anchor in rng.permutation([n for n in names if n not in group]):
            anchor = str(anchor)
            frame = str(rng.choice(["camera", "robot"]))
            for target in rng.permutation(group):
                target = str(target)
                rel = clear_side(ctx, target, anchor, frame)
                if rel is None or not holds(ctx, rel, target, anchor, frame):
                    continue
                others_clear = all(not holds(ctx, rel, g, anchor, frame) and (
                    clear_side(ctx, g, anchor, frame) not in (None, rel)
                    or float(np.hypot(*(ctx.poses[g][0][:2] - ctx.poses[anchor][0][:2]))) > FAR_M)
                    for g in group if g != target)
                if others_clear:
                    noun = ctx.phrase(target).split()[-1]
                    phrase = f"the {noun} {REL_WORDS[rel]} {ctx.phrase(anchor)}"
                    return target, phrase, {"relation": rel, "anchor": anchor, "frame": frame}, FRAME_NOTES[frame]
    return None


def _superlative(ctx, rng, names):
    for shape in rng.permutation(sorted({ctx.obj(n).shape for n in names})):
        group = [o.name for o in ctx.scene.objects if o.shape == shape]
        if len(group) < 2 or not all(ctx.referable(g) for g in group):
            continue
        frame = str(rng.choice(["camera", "robot"]))
        side = str(rng.choice(["left", "right"]))
        if frame == "camera":  # further left = smaller image column
            key = {g: (-1.0 if side == "left" else 1.0) * image_side(ctx, g) for g in group}
            gap = SUPERLATIVE_GAP_PX
        else:  # further left = larger base y
            key = {g: (1.0 if side == "left" else -1.0) * float(ctx.poses[g][0][1]) for g in group}
            gap = SUPERLATIVE_GAP_M
        order = sorted(group, key=lambda g: -key[g])
        if key[order[0]] - key[order[1]] < gap:
            continue
        noun = ctx.phrase(order[0]).split()[-1]
        return order[0], f"the {side}most {noun}", {"superlative": f"{side}most", "frame": frame}, FRAME_NOTES[frame]
    return None


def pointing_free_space(ctx: SceneContext, rng: np.random.Generator, want=None) -> Task | None:
    """"Point to a free spot on the table to the left of the blue plate.": the free region's mask."""
    anchors = [n for n in ctx.referable_names() if ctx.resting_on_table(n)]
    placed = [(ctx.obj(n), p, q) for n, (p, q) in ctx.poses.items()]
    v0 = ctx.first
    for _ in range(8):
        if not anchors:
            return None
        anchor = str(rng.choice(anchors))
        rel, frame = str(rng.choice(SIDES)), str(rng.choice(["camera", "robot"]))
        question = (f"Point to a free spot on the table {REL_WORDS[rel]} {ctx.phrase(anchor)}. {FRAME_NOTES[frame]} "
                    f"{POINT_FORMAT}")
        if question in ctx.used:
            continue
        mask = free_space_mask(rel, frame, ctx.obj(anchor), ctx.poses[anchor][0], placed, v0.intrinsics,
                               v0.extrinsics, v0.depth_m, v0.segmentation, ctx.scene.table)
        if int(mask.sum()) < MIN_REGION_PX:
            continue
        ctx.used.add(question)
        point = interior_point_norm(mask)
        xy, _ = table_points(v0.intrinsics, v0.extrinsics, v0.spec.width, v0.spec.height)
        spot = xy[int(point[1] * v0.spec.height), int(point[0] * v0.spec.width)]
        truth = {"anchor": anchor, "relation": rel, "frame": frame, "camera": v0.spec.name, "mask_rle": rle_encode(mask),
                 "centroid": centroid_norm(mask), "point": point, "point_table_xy_m": rounded(spot),
                 "region_px": int(mask.sum()), "clearance_m": FREE_CLEARANCE_M}
        return Task("pointing_free_space", question, _fmt_points([point]), truth, (v0.spec.name,))
    return None


# --------------------------------------------------------------------------- yes / no


def yes_no(ctx: SceneContext, rng: np.random.Generator, want: str = "yes") -> Task | None:
    """"From the camera's view, is the red block to the left of the blue bowl?" / "Is the ball in the bowl?".

    In/on questions are asked (a third of the time) only in scenes where something visibly rests in a
    dish or on a block, for either answer, so the relation does not give the answer away."""
    names = ctx.referable_names()
    stacked = [p for p in ctx.draft.placements if p["object"] in names and p["support"] in names]
    support: dict[str, list] = {}
    sides: dict[str, list] = {}
    for a in names:
        ao = ctx.obj(a)
        for o in names:
            if o == a:
                continue
            if stacked and ao.shape in ("bowl", "plate", "box"):  # in a bowl, on a plate or a block
                rel = "in" if ao.shape == "bowl" else "on"
                truth = holds(ctx, rel, o, a)
                near = float(np.hypot(*(ctx.poses[o][0][:2] - ctx.poses[a][0][:2])))
                clear = truth or near > ao.footprint_radius_m + ctx.obj(o).footprint_radius_m
                if clear and truth == (want == "yes"):
                    support.setdefault(rel, []).append((rel, o, a, None))
            for frame in ("camera", "robot"):
                side = clear_side(ctx, o, a, frame)
                if side is None or not holds(ctx, side, o, a, frame):
                    continue
                for rel in ([side] if want == "yes" else [r for r in SIDES if r != side]):
                    if holds(ctx, rel, o, a, frame) == (want == "yes"):
                        sides.setdefault(rel, []).append((rel, o, a, frame))
    groups = [support, sides] if stacked and rng.random() < 1 / 3 else [sides, support]
    for cands in groups:
        for rel in rng.permutation(sorted(cands)):
            options = cands[str(rel)]
            for i in rng.permutation(len(options)):
                rel_, o, a, frame = options[int(i)]
                if frame is None:
                    question = f"Is {ctx.phrase(o)} {rel_} {ctx.phrase(a)}? {YES_NO_FORMAT}"
                else:
                    question = f"{FRAME_NOTES[frame]} Is {ctx.phrase(o)} {REL_WORDS[rel_]} {ctx.phrase(a)}? {YES_NO_FORMAT}"
                if not _new(ctx, question):
                    continue
                truth = {"answer": want, "relation": rel_, "object": o, "anchor": a, "frame": frame or "any"}
                return Task("yes_no", question, want.capitalize(), truth, (ctx.first.spec.name,))
    return None


def fit(ctx: SceneContext, rng: np.random.Generator, want: str = "yes") -> Task | None:
    """"Can the red block fit in the blue bowl?" by ``scenes.fit_slack_m`` (footprint vs inner diameter)."""
    names = ctx.referable_names()
    cands = []
    for c in names:
        co = ctx.obj(c)
        if co.shape not in ("bowl", "plate"):
            continue
        for o in names:
            if o == c:
                continue
            oo = ctx.obj(o)
            slack = fit_slack_m(oo.shape, list(oo.size), co.shape, list(co.size))
            if (slack >= FIT_MARGIN_M and want == "yes") or (slack <= -FIT_MARGIN_M and want == "no"):
                cands.append((o, c, slack))
    for i in rng.permutation(len(cands)):
        o, c, slack = cands[int(i)]
        question = f"Can {ctx.phrase(o)} fit in {ctx.phrase(c)}? {YES_NO_FORMAT}"
        if not _new(ctx, question):
            continue
        oo, co = ctx.obj(o), ctx.obj(c)
        truth = {"answer": want, "object": o, "container": c, "object_footprint_diameter_m": round(2 * oo.footprint_radius_m, 5),
                 "container_inner_diameter_m": round(2 * oo.footprint_radius_m + slack, 5), "slack_m": round(slack, 5),
                 "rule": f"fits when the container's inner diameter exceeds the diameter of the circle around the "
                         f"object's footprint by at least {FIT_MARGIN_M} m"}
        return Task("fit", question, want.capitalize(), truth, (ctx.first.spec.name,))
    return None


# --------------------------------------------------------------------------- depth, boxes, grasps


def relative_depth(ctx: SceneContext, rng: np.random.Generator, want: str = "A") -> Task | None:
    """"Which is closer to the camera: (A) ... or (B) ...?" from the optical-axis depth of the box centres."""
    names = ctx.referable_names()
    depth = {n: float(to_camera(centre_of(ctx.obj(n), *ctx.poses[n])[None, :], ctx.first.extrinsics)[0, 2]) for n in names}
    pairs = [(a, b) for a in names for b in names if a < b and abs(depth[a] - depth[b]) >= DEPTH_GAP_M]
    for i in rng.permutation(len(pairs)):
        a, b = pairs[int(i)]
        near, far = (a, b) if depth[a] < depth[b] else (b, a)
        opt = {"A": near, "B": far} if want == "A" else {"A": far, "B": near}
        question = (f"Which is closer to the camera: (A) {ctx.phrase(opt['A'])} or (B) {ctx.phrase(opt['B'])}? "
                    "Answer with A or B.")
        if not _new(ctx, question):
            continue
        truth = {"answer": want, "closer": near, "closer_phrase": ctx.phrase(near),
                 "options": {k: {"object": v, "phrase": ctx.phrase(v), "depth_m": round(depth[v], 5)} for k, v in opt.items()}}
        return Task("relative_depth", question, want, truth, (ctx.first.spec.name,))
    return None


def box3d_corners(ctx: SceneContext, rng: np.random.Generator, want=None) -> Task | None:
    """The 8 projected corners of an object's oriented box."""
    v0 = ctx.first
    w, h = v0.spec.width, v0.spec.height
    for name in rng.permutation(ctx.referable_names()):
        name = str(name)
        corners = box_corners(ctx.obj(name), *ctx.poses[name])
        cam = to_camera(corners, v0.extrinsics)
        uv = project_px(corners, v0.intrinsics, v0.extrinsics)
        if np.any(cam[:, 2] <= 0.05) or np.any(uv < 0) or np.any(uv[:, 0] > w) or np.any(uv[:, 1] > h):
            continue
        question = (f"Give the 8 corners of the 3D bounding box of {ctx.phrase(name)} in the image. Answer with 8 points "
                    "[(x1, y1), ..., (x8, y8)] in normalized image coordinates: the bottom face, then the top face.")
        if not _new(ctx, question):
            continue
        norm = _norm(uv, w, h)
        truth = {"object": name, "camera": v0.spec.name, "corners_px": rounded(uv, 3), "corners_norm": rounded(norm, 5),
                 "corners_base_m": rounded(corners, 5), "corners_camera_m": rounded(cam, 5),
                 "order": "bottom face then top face, each counter-clockwise from above from the object's (-x, -y) corner",
                 "edges": [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]]}
        return Task("box3d_corners", question, _fmt_points(norm), truth, (v0.spec.name,))
    return None


def grasp(ctx: SceneContext, rng: np.random.Generator, want=None) -> Task | None:
    """A top-down parallel-jaw grasp (``truths.top_down_grasp``) of a block, can or ball on the table."""
    v0 = ctx.first
    w, h = v0.spec.width, v0.spec.height
    for name in rng.permutation(ctx.referable_names()):
        name = str(name)
        if not ctx.resting_on_table(name):
            continue
        g = top_down_grasp(ctx.obj(name), *ctx.poses[name], ctx.max_opening_m)
        if g is None:
            continue
        question = (f"Grasp {ctx.phrase(name)} from above with a parallel-jaw gripper. Answer as: Grasp center: [x, y], "
                    "Left finger base: [x, y], Right finger base: [x, y], Left finger tip: [x, y], Right finger tip: [x, y] "
                    "(normalized image coordinates).")
        if not _new(ctx, question):
            continue
        pose = g["pose_base"]
        pts = GRIPPER_POINTS @ pose[:3, :3].T + pose[:3, 3]
        p2 = _norm(project_px(pts, v0.intrinsics, v0.extrinsics), w, h)
        pose_cam = np.linalg.inv(v0.extrinsics) @ pose
        labels = ("Grasp center", "Left finger base", "Right finger base", "Left finger tip", "Right finger tip")
        answer = ", ".join(f"{lab}: [{x:.3f}, {y:.3f}]" for lab, (x, y) in zip(labels, p2))
        truth = {"object": name, "camera": v0.spec.name, "pose_base": rounded(pose, 6), "pose_camera": rounded(pose_cam, 6),
                 "tcp_base_m": rounded(g["tcp_base"]), "contacts_base_m": rounded(g["contacts_base"]),
                 "contacts_norm": rounded(_norm(project_px(g["contacts_base"], v0.intrinsics, v0.extrinsics), w, h)),
                 "width_m": round(g["width_m"], 5), "opening_m": round(g["opening_m"], 5), "yaw_rad": round(g["yaw_rad"], 6),
                 "top_centre_base_m": rounded(g["top_centre_base"]), "gripper_points_norm": rounded(p2),
                 "gripper_points_local_m": GRIPPER_POINTS.tolist(),
                 "frame": "pose_base: hand frame in the base frame, x = finger closing axis (+x = left finger), "
                          "z = approach; the TCP (between the fingertips) is 0.1034 m along z"}
        return Task("grasp", question, answer, truth, (v0.spec.name,))
    return None


# --------------------------------------------------------------------------- multi view


def multi_view(ctx: SceneContext, rng: np.random.Generator, want=None) -> Task | None:
    """An object hidden from the first camera (``scenes.draw_scene``'s occluder): which camera shows it best, and where.
    Needs ``context.render_alone`` of the hidden object first (its unoccluded pixel counts)."""
    name = ctx.draft.hidden
    if name is None or len(ctx.views) < 2:
        return None
    first = ctx.first.spec.name
    alone = {v.spec.name: ctx.amodal.get((name, v.spec.name), 0) for v in ctx.views}
    seen = {v.spec.name: v.counts.get(name, 0) for v in ctx.views}
    if alone[first] < MIN_VISIBLE_PX or seen[first] >= HIDDEN_MAX_FRACTION * alone[first]:
        return None
    ok = [v for v in ctx.views[1:] if seen[v.spec.name] >= MIN_VISIBLE_PX
          and seen[v.spec.name] >= SHOWN_MIN_FRACTION * max(alone[v.spec.name], 1)]
    if not ok:
        return None
    best = max(ok, key=lambda v: seen[v.spec.name])
    cams = [v.spec.name for v in ctx.views]
    listing = ", ".join(cams[:-1]) + f" and {cams[-1]}"
    question = (f"The images come from the cameras {listing}, in this order. {ctx.phrase(name)[0].upper()}"
                f"{ctx.phrase(name)[1:]} is hidden, or nearly, in the {first} camera's image. Which camera shows it best, "
                "and where is it in that camera's image? Answer as: camera: <name>, point: [(x, y)] in normalized "
                "image coordinates of that image.")
    if not _new(ctx, question):
        return None
    target = _object_mask_truth(ctx, name, best)
    truth = {**target, "visible_px_per_camera": seen, "unoccluded_px_per_camera": alone,
             "visible_fraction": {c: round(seen[c] / alone[c], 4) if alone[c] else 0.0 for c in cams},
             "also_visible": {v.spec.name: _object_mask_truth(ctx, name, v)["point"] for v in ok if v is not best},
             "occluder": ctx.draft.occluder}
    answer = f"camera: {best.spec.name}, point: {_fmt_points([target['point']])}"
    return Task("multi_view", question, answer, truth, tuple(cams))


BUILDERS = {"pointing_object": pointing_object, "pointing_free_space": pointing_free_space, "yes_no": yes_no, "fit": fit,
            "relative_depth": relative_depth, "box3d_corners": box3d_corners, "grasp": grasp, "multi_view": multi_view}
