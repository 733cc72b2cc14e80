"""``spacetools data gen``: every category written as a loadable dataset, byte-identical reruns,
disjoint split seeds, bad arguments refused, and stored truths checked against an independent
computation from each row's scene file alone (own pinhole projection, own relation rules)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spacetools_ros.learning import CATEGORIES
from spacetools_ros.learning import dataset as ds
from spacetools_ros.learning.truths import rle_decode, rle_encode

N = 16   # two scenes of eight questions, one per category
N_LONG = 24


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "spacetools_ros.cli.main", "data", "gen", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same command twice (CLI, and in process with two worker processes), a longer run, and a
    small validation run."""
    root = tmp_path_factory.mktemp("tasks")
    res = cli("--n", str(N), "--split", "train", "--out", str(root / "a"), "--seed", "3")
    assert res.returncode == 0, res.stderr
    ds.generate(N, "train", root / "b", seed=3, progress=lambda line: None, workers=2)
    ds.generate(N_LONG, "train", root / "long", seed=3, progress=lambda line: None)
    ds.generate(2, "val", root / "val", seed=3, categories=("fit", "relative_depth"), progress=lambda line: None)
    return root


def load(folder: Path):
    from datasets import load_dataset

    files = sorted(str(p) for p in (folder / "data").glob("*.parquet"))
    return load_dataset("parquet", data_files=files, split="train", cache_dir=str(folder.parent / "hf_cache"))


def rows_of(folder: Path) -> list[dict]:
    out = []
    for r in load(folder):
        r = dict(r)
        r["gt"] = json.loads(r["ground_truth"])
        out.append(r)
    return out


# --------------------------------------------------------------------------- independent geometry


def camera_of(scene: dict, name: str) -> dict:
    cams = [scene["camera"], *scene.get("cameras", [])]
    return next(c for c in cams if c.get("name", "scene") == name)


def pinhole(cam: dict):
    """(R optical->base, centre, f, cx, cy) of a scene-file camera: OpenCV axes, fx = fy from the vertical fov."""
    c = np.asarray(cam["position"], float)
    fwd = np.asarray(cam["look_at"], float) - c
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    f = cam["height"] / 2 / math.tan(math.radians(cam["fov_y_deg"]) / 2)
    return np.stack([right, down, fwd], axis=1), c, f, cam["width"] / 2, cam["height"] / 2


def to_pixels(cam: dict, pts) -> tuple[np.ndarray, np.ndarray]:
    r, c, f, cx, cy = pinhole(cam)
    p = (np.atleast_2d(np.asarray(pts, float)) - c) @ r
    return np.stack([f * p[:, 0] / p[:, 2] + cx, f * p[:, 1] / p[:, 2] + cy], axis=1), p[:, 2]


def objects_of(gt: dict) -> dict:
    """name -> (scene object, bottom centre (3,)), placements applied."""
    out = {o["name"]: (o, np.array([*o["position"], 0.0])) for o in gt["scene"]["objects"]}
    for p in gt["placements"]:
        out[p["object"]] = (out[p["object"]][0], np.asarray(p["position"], float))
    return out


def height(o: dict) -> float:
    return o["size"][0] if o["shape"] == "sphere" else o["size"][-1]


def corners(o: dict, bottom: np.ndarray) -> np.ndarray:
    sx, sy = (o["size"][0], o["size"][1]) if o["shape"] == "box" else (o["size"][0], o["size"][0])
    yaw = math.radians(o.get("yaw_deg", 0.0))
    rot = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    pts = []
    for z in (0.0, height(o)):
        for lx, ly in ((-sx / 2, -sy / 2), (sx / 2, -sy / 2), (sx / 2, sy / 2), (-sx / 2, sy / 2)):
            xy = rot @ [lx, ly] + bottom[:2]
            pts.append([xy[0], xy[1], bottom[2] + z])
    return np.array(pts)


def footprint_gap(o: dict, bottom: np.ndarray, spot: np.ndarray) -> float:
    """Distance (m) from a table point to an object's footprint."""
    off = spot[:2] - bottom[:2]
    if o["shape"] != "box":
        return float(np.hypot(*off)) - o["size"][0] / 2
    yaw = math.radians(o.get("yaw_deg", 0.0))
    lx = abs(off[0] * math.cos(yaw) + off[1] * math.sin(yaw)) - o["size"][0] / 2
    ly = abs(-off[0] * math.sin(yaw) + off[1] * math.cos(yaw)) - o["size"][1] / 2
    return float(np.hypot(max(lx, 0.0), max(ly, 0.0))) if max(lx, ly) > 0 else max(lx, ly)


# --------------------------------------------------------------------------- tests


def test_every_category_has_a_valid_row(runs):
    from spacetools_ros.core.scene import scene_from_dict

    rows = rows_of(runs / "a")
    assert len(rows) == N and {r["category"] for r in rows} == set(CATEGORIES)
    assert [r["index"] for r in rows] == list(range(N))
    for r in rows:
        assert r["split"] == "train" and r["answer"] and r["question"]
        (msg,) = r["messages"]
        assert msg["role"] == "user"
        kinds = [c["type"] for c in msg["content"]]
        assert kinds == ["image"] * len(r["images"]) + ["text"] and msg["content"][-1]["text"] == r["question"]
        for rel in r["images"]:
            import cv2

            img = cv2.imread(str(runs / "a" / rel))
            assert img is not None and img.shape == (240, 320, 3) and img.std() > 5
        gt = r["gt"]
        scene = scene_from_dict(gt["scene"])
        assert scene.seed == r["scene_seed"] and gt["category"] == r["category"]
        assert set(gt["object_poses"]) == {o.name for o in scene.objects}
        if "mask_rle" in gt:
            mask = rle_decode(gt["mask_rle"])
            assert mask.shape == (240, 320) and mask.any()
            x, y = gt["point"]
            assert mask[int(y * 240), int(x * 320)], "the reference point lies on the mask"
    assert (runs / "a" / "README.md").read_text().startswith("---\n")
    card = (runs / "a" / "README.md").read_text()
    assert "| multi_view | 2 |" in card and "data/train-*.parquet" in card


def test_same_command_gives_identical_rows_and_images(runs):
    """Byte-identical files whether the scenes are made in one process or two."""
    a, b = runs / "a", runs / "b"
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    # a longer run starts with the same tasks
    short, long_ = load(a).to_list(), load(runs / "long").to_list()
    assert long_[:N] == short and len(long_) == N_LONG


def test_splits_draw_disjoint_scene_seeds(runs):
    val = rows_of(runs / "val")
    train = rows_of(runs / "long")
    assert {r["scene_seed"] for r in val}.isdisjoint({r["scene_seed"] for r in train})
    ranges = {s: (ds.scene_seed(s, 0, 0), ds.scene_seed(s, ds.MAX_SEED, ds.SCENES_PER_SEED - 1)) for s in ds.SPLITS}
    spans = sorted(ranges.values())
    assert all(hi < lo for (_, hi), (lo, _) in zip(spans, spans[1:]))
    assert spans[-1][1] <= 2**31 - 1 and ds.MAX_TASKS <= ds.SCENES_PER_SEED  # a run never leaves its seed's range
    assert all(r["split"] == "val" and r["id"].startswith("val-") for r in val)


def test_answers_are_balanced():
    pattern = ds.slot_pattern(tuple(CATEGORIES))
    wants = [w for k in range(10) for w in ds.slot_wants(pattern, k)]
    assert wants.count("yes") == wants.count("no") == 10 and wants.count("A") == wants.count("B") == 5
    assert ds.slot_pattern(("multi_view",)) == ["multi_view"]
    assert ds.slot_pattern(("yes_no", "fit")) == ["yes_no", "fit"] * 3


def test_corners_and_centroids_match_an_independent_projection(runs):
    checked = {"box3d_corners": 0, "pointing": 0}
    for r in rows_of(runs / "long"):
        gt = r["gt"]
        objs = objects_of(gt)
        if r["category"] == "box3d_corners":
            o, bottom = objs[gt["object"]]
            uv, _ = to_pixels(camera_of(gt["scene"], "scene"), corners(o, bottom))
            assert np.abs(uv - np.asarray(gt["corners_px"])).max() < 1.5, gt["object"]
            answer = [float(v) for v in r["answer"].replace("(", " ").replace(")", " ").replace("[", " ")
                      .replace("]", " ").replace(",", " ").split()]
            assert np.allclose(np.reshape(answer, (8, 2)) * [320, 240], uv, atol=1.5)
            checked["box3d_corners"] += 1
        if r["category"] in ("pointing_object", "multi_view"):
            o, bottom = objs[gt["object"]]
            cam = camera_of(gt["scene"], gt["camera"])
            centre = bottom + [0.0, 0.0, height(o) / 2]
            uv, _ = to_pixels(cam, centre)
            size_px, _ = to_pixels(cam, corners(o, bottom))
            span = float(np.max(size_px.max(axis=0) - size_px.min(axis=0)))
            got = np.asarray(gt["centroid"]) * [320, 240]
            # the visible pixels' centroid vs the box centre: the camera sees the top and one side
            assert np.linalg.norm(got - uv[0]) < max(4.0, 0.35 * span), (r["id"], got, uv[0], span)
            checked["pointing"] += 1
    assert checked["box3d_corners"] >= 2 and checked["pointing"] >= 4


def test_depth_fit_and_relations_match_the_scene_file(runs):
    seen = set()
    for r in rows_of(runs / "long") + rows_of(runs / "val"):
        gt = r["gt"]
        objs = objects_of(gt)
        cam = camera_of(gt["scene"], "scene")
        if r["category"] == "relative_depth":
            a, b = gt["options"]["A"]["object"], gt["options"]["B"]["object"]
            za = to_pixels(cam, objs[a][1] + [0, 0, height(objs[a][0]) / 2])[1][0]
            zb = to_pixels(cam, objs[b][1] + [0, 0, height(objs[b][0]) / 2])[1][0]
            assert r["answer"] == ("A" if za < zb else "B") and gt["closer"] == (a if za < zb else b)
            seen.add("relative_depth")
        elif r["category"] == "fit":
            o, c = objs[gt["object"]][0], objs[gt["container"]][0]
            foot = math.hypot(o["size"][0], o["size"][1]) if o["shape"] == "box" else o["size"][0]
            inner = c["size"][0] - 2 * 0.006  # the dish's wall
            assert abs(inner - foot) >= 0.01 and r["answer"] == ("Yes" if inner - foot > 0 else "No")
            seen.add("fit")
        elif r["category"] == "yes_no":
            o, p = objs[gt["object"]]
            a, q = objs[gt["anchor"]]
            rel, frame = gt["relation"], gt["frame"]
            if rel in ("in", "on"):
                expect = any(pl["object"] == o["name"] and pl["support"] == a["name"] for pl in gt["placements"])
            elif frame == "robot":
                dx, dy = (p - q)[:2]
                main = {"left": dy, "right": -dy, "front": -dx, "behind": dx}[rel]
                other = abs(dx) if rel in ("left", "right") else abs(dy)
                expect = main > 0.02 and main > other and np.hypot(dx, dy) < 0.30
            else:
                uv, _ = to_pixels(cam, np.stack([p, q]))
                du, dv = uv[0] - uv[1]
                main = {"left": -du, "right": du, "front": dv, "behind": -dv}[rel]
                other = abs(dv) if rel in ("left", "right") else abs(du)
                expect = main > (10 if rel in ("left", "right") else 5) and main > other and np.hypot(*(p - q)[:2]) < 0.30
            assert r["answer"] == ("Yes" if expect else "No"), (r["question"], gt)
            seen.add("yes_no")
    assert seen == {"relative_depth", "fit", "yes_no"}


def test_grasp_and_free_space_match_the_scene_file(runs):
    seen = set()
    for r in rows_of(runs / "long"):
        gt = r["gt"]
        objs = objects_of(gt)
        if r["category"] == "grasp":
            o, bottom = objs[gt["object"]]
            contacts = np.asarray(gt["contacts_base_m"])
            assert np.linalg.norm(contacts.mean(axis=0)[:2] - bottom[:2]) < 0.003
            pose = np.asarray(gt["pose_base"])
            assert np.allclose(pose[:3, 2], [0, 0, -1], atol=1e-6)  # approach straight down
            axis = pose[:3, 0]
            assert np.allclose((contacts[0] - contacts[1]) / np.linalg.norm(contacts[0] - contacts[1]), axis, atol=1e-3)  # stored to 0.01 mm
            if o["shape"] == "box":
                yaw = math.radians(o["yaw_deg"])
                narrow = 0 if o["size"][0] <= o["size"][1] else 1
                side = np.array([math.cos(yaw), math.sin(yaw), 0.0]) if narrow == 0 else \
                    np.array([-math.sin(yaw), math.cos(yaw), 0.0])
                assert abs(axis @ side) > 0.999 and abs(gt["width_m"] - o["size"][narrow]) < 1e-6
            elif o["shape"] == "cylinder":
                assert abs(gt["width_m"] - o["size"][0]) < 1e-6
            tcp = np.asarray(gt["tcp_base_m"])
            assert np.allclose(pose[:3, 3] + 0.1034 * pose[:3, 2], tcp, atol=1e-4)
            assert 0 < tcp[2] - bottom[2] <= height(o)
            seen.add("grasp")
        if r["category"] == "pointing_free_space":
            cam = camera_of(gt["scene"], "scene")
            rot, c, f, cx, cy = pinhole(cam)
            mask = rle_decode(gt["mask_rle"])
            vs, us = np.nonzero(mask)
            pick = np.linspace(0, len(us) - 1, 25).astype(int)
            a, q = objs[gt["anchor"]]
            for u, v in zip(us[pick], vs[pick]):
                d = rot @ [(u + 0.5 - cx) / f, (v + 0.5 - cy) / f, 1.0]
                spot = c + d * (-c[2] / d[2])
                for o, bottom in objs.values():
                    assert footprint_gap(o, bottom, spot) > 0.03 - 0.002, (r["id"], o["name"])
                off = spot[:2] - q[:2]
                assert np.hypot(*off) < 0.30
                if gt["frame"] == "robot":
                    main = {"left": off[1], "right": -off[1], "front": -off[0], "behind": off[0]}[gt["relation"]]
                    assert main > 0.02 and main >= abs(off[1] if gt["relation"] in ("front", "behind") else off[0])
                else:
                    ua, _ = to_pixels(cam, q)
                    du, dv = u + 0.5 - ua[0][0], v + 0.5 - ua[0][1]
                    main = {"left": -du, "right": du, "front": dv, "behind": -dv}[gt["relation"]]
                    assert main >= abs(dv if gt["relation"] in ("left", "right") else du)
            seen.add("pointing_free_space")
    assert seen == {"grasp", "pointing_free_space"}


def test_masks_round_trip_as_coco_rle():
    rng = np.random.default_rng(0)
    for shape in ((240, 320), (5, 7), (1, 1)):
        m = rng.random(shape) < 0.3
        m[0, 0] = bool(rng.integers(2))
        rle = rle_encode(m)
        assert rle["size"] == list(shape) and sum(rle["counts"]) == m.size
        assert np.array_equal(rle_decode(rle), m)
    assert rle_encode(np.array([[True, False], [True, True]]))["counts"] == [0, 2, 1, 1]  # column-major, zeros first


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n must be between 1 and 1000000"),
    (["--n", "1000001"], "--n must be between 1 and 1000000"),
    (["--n", "5", "--categories", "pointing_object,teleport"], "unknown category teleport"),
    (["--n", "5", "--seed", "-1"], "--seed must be between 0 and 699"),
    (["--n", "5", "--split", "dev"], "invalid choice"),
    (["--n", "5", "--workers", "0"], "--workers must be between 1 and 64"),
])
def test_cli_refuses_bad_arguments(tmp_path, args, message):
    full = ["--split", "train", *args] if "--split" not in args else args
    res = cli(*full, "--out", str(tmp_path / "new"), timeout=60)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert not (tmp_path / "new").exists()


def test_cli_refuses_an_existing_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    res = cli("--n", "5", "--split", "train", "--out", str(tmp_path), timeout=60)
    assert res.returncode == 2 and "exists and is not empty" in res.stderr, res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
