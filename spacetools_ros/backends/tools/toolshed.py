"""The toolshed: executes validated tool calls with the texts, variables and errors of the
SpaceTools protocol, plus structured data for ROS topics and debug images."""

from __future__ import annotations

import ast
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...core.camera import CameraFrame, ray_point_base
from ...core.grasping import grasp_tcp_in_base
from ...core.orchestrator import MOTION_TOOLS
from ...core.safety import SafetyEnvelope
from ...core.tools.protocol import ToolCall, ToolCallError, ToolSchema, load_schemas, truncate_middle, validate_call
from ...core.tools.variables import VariableStore
from .base import DepthBackend, GraspBackend, PointingBackend, SegmentationBackend, ToolWorld
from .geometry3d import EDGES, gravity_box, mask_select, open3d_box, point_cloud, project_norm, table_plane

GRIPPER_POINTS = np.array([[0, 0, 0], [0.08, 0, 0], [-0.08, 0, 0], [0.08, 0, 0.08], [-0.08, 0, 0.08]], float)


@dataclass
class Episode:
    """Per-conversation state: images (index = image_index) and the variable store."""

    images: list[CameraFrame] = field(default_factory=list)
    variables: VariableStore = field(default_factory=VariableStore)
    episode_id: str = "default"

    def close(self) -> None:
        """Free the images and variables."""
        self.images.clear()
        self.variables.clear()


@dataclass
class ToolResponse:
    """Result of one call: the protocol text, structured data, optional images and timing."""

    name: str
    text: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    images: list[np.ndarray] = field(default_factory=list, repr=False)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (images left out)."""
        return {"name": self.name, "text": self.text, "ok": self.ok, "data": self.data, "elapsed_s": round(self.elapsed_s, 4)}


def _pts_repr(points) -> str:
    return repr([(float(x), float(y)) for x, y in points])


def _as_array(value: Any, name: str, dims: int) -> np.ndarray:
    """Arrays given as stored variables, lists, or JSON/Python-literal text (parsed, never executed)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError) as exc:
                raise TypeError(f"{name} must be an array; got text that is not a literal") from exc
    arr = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value
    if arr.ndim != dims:
        raise TypeError(f"{name} must be a {dims}-D array, got shape {arr.shape}")
    return arr


class Toolshed:
    """Routes calls to tool implementations; every failure becomes the protocol's error text."""

    def __init__(self, pointing: PointingBackend, segmentation: SegmentationBackend, depth: DepthBackend,
                 grasp: GraspBackend, world: ToolWorld | None = None, schemas: dict[str, ToolSchema] | None = None,
                 pointing_vlm: PointingBackend | None = None, view_scorer: Callable | None = None,
                 safety: SafetyEnvelope | None = None) -> None:
        self.pointing = pointing
        self.pointing_vlm = pointing_vlm or pointing
        self.segmentation = segmentation
        self.depth_backend = depth
        self.grasp = grasp
        self.world = world
        self.view_scorer = view_scorer
        # the server that moves the robot enforces the envelope itself, whoever the caller is
        self.safety = safety or SafetyEnvelope()
        self.schemas = schemas or load_schemas()
        self.handlers: dict[str, Callable[[Episode, dict], ToolResponse]] = {
            "roborefer.detect_one": lambda e, a: self._detect(e, a, "roborefer", False),
            "roborefer.detect_all": lambda e, a: self._detect(e, a, "roborefer", True),
            "vlm.detect_one": lambda e, a: self._detect(e, a, "vlm", False),
            "vlm.detect_all": lambda e, a: self._detect(e, a, "vlm", True),
            "sam2.segment_from_point": self._segment_point,
            "sam2.segment_from_points": self._segment_points,
            "depth_estimator.estimate_depth": lambda e, a: self._depth(e, self._image(e, a), False, ""),
            "depth_estimator.estimate_depth_with_pointcloud": lambda e, a: self._depth(e, self._image(e, a), True, ""),
            "vision_ops.index_at": self._index_at,
            "bounding_box.compute_bbox": self._bbox,
            "grasp_generator.compute_grasp": self._grasp,
            "robot.capture_image": self._capture,
            "robot.get_depth": lambda e, a: self._robot_depth(e, False),
            "robot.get_depth_with_pointcloud": lambda e, a: self._robot_depth(e, True),
            "robot.execute_grasp": self._execute_grasp,
            "robot.place_object_at_2d_location": self._place_2d,
            "view_selection.select_view": self._select_view,
        }

    @property
    def tool_names(self) -> list[str]:
        """Tools this shed serves."""
        return [n for n in self.schemas if n in self.handlers]

    # ------------------------------------------------------------------ entry
    def execute(self, call: ToolCall, episode: Episode) -> ToolResponse:
        """Validate and run one call. Never raises for bad input: errors come back as text."""
        t0 = time.perf_counter()
        try:
            validate_call(call, self.schemas, n_images=len(episode.images))
            handler = self.handlers.get(call.name)
            if handler is None:
                raise ToolCallError("ValueError", f"Tool '{call.name}' is not served here", unknown_tool=True)
            args = episode.variables.resolve_arguments(call.arguments)
            refusal = self.safety.check(call, args, episode.images[-1] if episode.images else None) \
                if call.name in MOTION_TOOLS and self.world else None
            resp = ToolResponse(call.name, refusal, False, {"error": "PermissionError"}) if refusal \
                else handler(episode, args)
        except ToolCallError as exc:
            resp = ToolResponse(call.name, exc.text, False, {"error": exc.exc_type})
        except Exception as exc:  # noqa: BLE001 - a tool failure is shown to the model, never raised
            resp = ToolResponse(call.name, f"Error: {type(exc).__name__}: {exc}", False, {"error": type(exc).__name__})
        resp.text = truncate_middle(resp.text)
        resp.elapsed_s = time.perf_counter() - t0
        return resp

    def _image(self, episode: Episode, args: dict) -> CameraFrame:
        return episode.images[int(args["image_index"])]

    # ------------------------------------------------------------------ pointing
    def _detect(self, e: Episode, a: dict, family: str, all_matches: bool) -> ToolResponse:
        frame = self._image(e, a)
        name = str(a["obj_name"])
        backend = self.pointing if family == "roborefer" else self.pointing_vlm
        pts = backend.point(frame, name, all_matches)
        if not all_matches:
            pts = pts[:1]
        text = f"Detected {len(pts)} instance(s) of '{name}': {_pts_repr(pts)}"
        if family == "vlm" and pts:
            var = f"{name.replace(' ', '_')}_detections"
            e.variables.set(var, [tuple(p) for p in pts])
            text += f" Use ${var} to reference them."
        return ToolResponse(f"{family}.detect_{'all' if all_matches else 'one'}", text, True,
                            {"points": [list(p) for p in pts], "image_index": int(a["image_index"])})

    # ------------------------------------------------------------------ segmentation
    def _segment(self, e: Episode, frame: CameraFrame, pts_norm: list[tuple[float, float]], name: str, label: str):
        h, w = frame.height, frame.width
        px = [(min(int(x * w), w - 1), min(int(y * h), h - 1)) for x, y in pts_norm]
        mask, score = self.segmentation.segment(frame, px)
        e.variables.set("segmentation_mask", mask.astype(bool))
        text = f"{label} with {'IoU score' if len(pts_norm) == 1 else 'best IoU score'}: {score:.3f}. " \
               f"Use $segmentation_mask (boolean array, {h}x{w}) to reference it."
        return ToolResponse(name, text, True, {"mask_pixels": int(mask.sum()), "score": score}, [mask])

    def _segment_point(self, e: Episode, a: dict) -> ToolResponse:
        frame = self._image(e, a)
        x, y = float(a["x"]), float(a["y"])
        return self._segment(e, frame, [(x, y)], "sam2.segment_from_point",
                             f"Segmented object at normalized coords ({x:.3f}, {y:.3f})")

    def _segment_points(self, e: Episode, a: dict) -> ToolResponse:
        frame = self._image(e, a)
        pts = _as_array(a["points"], "points", 2)
        if pts.shape[1] != 2 or len(pts) == 0 or np.any(pts < 0) or np.any(pts > 1):
            raise ValueError("points must be a non-empty list of normalized (x, y) pairs in [0, 1]")
        return self._segment(e, frame, [tuple(p) for p in pts], "sam2.segment_from_points",
                             f"Segmented object using {len(pts)} normalized points")

    # ------------------------------------------------------------------ depth
    def _depth(self, e: Episode, frame: CameraFrame, with_cloud: bool, source: str) -> ToolResponse:
        depth, f = self.depth_backend.depth(frame)
        h, w = depth.shape
        e.variables.set("depth_map", depth)
        e.variables.set("focal_length_px", float(f))
        fin = depth[np.isfinite(depth) & (depth > 0)]
        if not with_cloud:
            name = "robot.get_depth" if source else "depth_estimator.estimate_depth"
            head = (f"Retrieved depth map for {w}x{h} image{source}." if source
                    else f"Estimated depth map for {w}x{h} image.")
            text = (f"{head} Focal length: {f:.1f}px. Depth range: {fin.min():.2f}m to {fin.max():.2f}m "
                    f"(mean: {fin.mean():.2f}m). Use $depth_map (numpy array, {h}x{w}) to reference the depth data "
                    f"and $focal_length_px (float) to reference the focal length.")
            return ToolResponse(name, text, True, {"width": w, "height": h, "focal_length_px": f})
        cloud = point_cloud(depth, f)
        e.variables.set("point_cloud", cloud)
        z = cloud[:, 2]
        if source:
            name = "robot.get_depth_with_pointcloud"
            head = f"Retrieved depth map and generated {len(cloud):,} 3D points{source} data."
        else:
            name = "depth_estimator.estimate_depth_with_pointcloud"
            head = f"Generated {w}x{h} depth map and {len(cloud):,} 3D points."
        text = (f"{head} Depth range in point cloud: {z.min():.2f}m to {z.max():.2f}m (mean: {z.mean():.2f}m). "
                f"Use $depth_map (numpy array, {h}x{w}), $point_cloud (numpy array, {len(cloud)}x3) and "
                f"$focal_length_px (float) to reference the results.")
        return ToolResponse(name, text, True, {"width": w, "height": h, "n_points": len(cloud), "focal_length_px": f})

    def _index_at(self, e: Episode, a: dict) -> ToolResponse:
        data = a["data"]
        if isinstance(data, str):
            raise TypeError("data must be an image-shaped array, got str. Did you use the $ syntax to access the variable?")
        arr = np.asarray(data)
        if arr.ndim < 2:
            raise TypeError(f"data must be an image-shaped array, got shape {arr.shape}")
        u, v = float(a["u"]), float(a["v"])
        h, w = arr.shape[:2]
        col, row = int(u * w), int(v * h)
        if col >= w or row >= h:
            raise IndexError(f"index ({row}, {col}) is out of bounds for an array of shape {arr.shape[:2]}")
        value = arr[row, col]
        value = value.tolist() if isinstance(value, np.ndarray) else value.item() if hasattr(value, "item") else value
        return ToolResponse("vision_ops.index_at", f"Pixel value at ({u:.3f}, {v:.3f}) is {value!r}", True,
                            {"value": value})

    # ------------------------------------------------------------------ 3D
    def _cloud_mask(self, a: dict) -> tuple[np.ndarray, np.ndarray, float]:
        cloud, mask = a["point_cloud"], a["mask"]
        if isinstance(cloud, str):
            raise TypeError("point_cloud must be Nx3 numpy array, got str. Did you use the $ syntax to access the variable?")
        if isinstance(mask, str):
            raise TypeError("mask must be HxW boolean numpy array, got str. Did you use the $ syntax to access the variable?")
        cloud = np.asarray(cloud, dtype=np.float32)
        mask = np.asarray(mask).astype(bool)
        if cloud.ndim != 2 or cloud.shape[1] != 3:
            raise TypeError(f"point_cloud must be Nx3 numpy array, got shape {cloud.shape}")
        if mask.ndim != 2:
            raise TypeError(f"mask must be HxW boolean numpy array, got shape {mask.shape}")
        f = a["focal_length_px"]
        if isinstance(f, str):
            try:
                f = float(f)
            except ValueError as exc:
                raise TypeError("focal_length_px must be a number ($focal_length_px)") from exc
        if not (isinstance(f, (int, float)) and math.isfinite(f) and f > 0):
            raise ValueError("focal_length_px must be a positive number")
        return cloud, mask, float(f)

    def _bbox(self, e: Episode, a: dict) -> ToolResponse:
        cloud, mask, f = self._cloud_mask(a)
        idx = mask_select(cloud, mask, f)
        if len(idx) == 0:
            raise RuntimeError(f"Mask removed all points (total {len(cloud)}, kept 0). Check intrinsics and mask alignment.")
        obj = cloud[idx]
        try:
            plane = table_plane(cloud)
            above = obj @ plane[:3] + plane[3]
            inl = obj[above > 0.002] if np.sum(above > 0.002) >= 10 else obj
            corners, extent = gravity_box(inl, plane)
        except Exception:  # noqa: BLE001 - no table in view: Open3D's minimal box of the points
            corners, extent = open3d_box(obj)
        h, w = mask.shape
        c2d = project_norm(corners, f, w, h)
        e.variables.set("obb_corners_3d", corners)
        e.variables.set("obb_corners_2d", c2d)
        e.variables.set("edges", list(EDGES))
        e.variables.set("extent", extent)
        vol = float(np.prod(extent))
        c3 = [[round(float(v), 3) for v in c] for c in corners]
        c2 = [[round(float(v), 3) for v in c] for c in c2d]
        text = (f"Oriented bounding box computed from {len(idx)}/{len(cloud)} points.Corners in 3D: {c3}\n"
                f"Corners in normalized image coordinates: {c2}\nEdges: {EDGES}\n"
                f"Extent: {[round(float(v), 3) for v in extent]}\nVolume: {vol:.3f}")
        return ToolResponse("bounding_box.compute_bbox", text, True,
                            {"corners_3d": c3, "corners_2d": c2, "centre_3d": corners.mean(axis=0).tolist(),
                             "extent": extent.tolist()})

    def _grasp(self, e: Episode, a: dict) -> ToolResponse:
        cloud, mask, f = self._cloud_mask(a)
        idx = mask_select(cloud, mask, f)
        grasps, tried = self.grasp.grasps(cloud, idx)
        if not grasps:
            raise RuntimeError("Grasp generation produced zero grasps")
        pose, conf = grasps[0]
        e.variables.set("grasp_pose", pose.tolist())
        pts = (pose[:3, :3] @ GRIPPER_POINTS.T).T + pose[:3, 3]
        h, w = mask.shape
        p2 = project_norm(pts, f, w, h)
        p2s = "[" + ", ".join(f"({x:.3f}, {y:.3f})" for x, y in p2) + "]"
        text = (f"Generated collision-free grasp with confidence {conf:.3f} from {len(idx)}/{len(cloud)} masked points. "
                f"Filtered {tried} → {len(grasps)} collision-free grasps. Projected 2D gripper points: {p2s}")
        return ToolResponse("grasp_generator.compute_grasp", text, True,
                            {"grasp_pose": pose.tolist(), "confidence": conf, "points_2d": p2.tolist()})

    # ------------------------------------------------------------------ robot
    def _need_world(self) -> ToolWorld:
        if self.world is None:
            raise RuntimeError("no robot is connected to this tool server")
        return self.world

    def _capture(self, e: Episode, a: dict) -> ToolResponse:
        frame = self._need_world().capture()
        e.images.append(frame)
        e.variables.set("captured_image", frame.rgb)
        return ToolResponse("robot.capture_image", f"Captured image: {frame.width}\u00d7{frame.height} pixels.", True,
                            {"image_index": len(e.images) - 1, "camera": frame.camera, "stamp_s": frame.stamp_s},
                            [frame.rgb])

    def _robot_depth(self, e: Episode, with_cloud: bool) -> ToolResponse:
        frame = self._need_world().capture()
        return self._depth(e, frame, with_cloud, " from robot")

    def _camera_frame(self, e: Episode) -> CameraFrame:
        if not e.images:
            raise RuntimeError("no image has been captured yet; call robot.capture_image first")
        return e.images[-1]

    def _execute_grasp(self, e: Episode, a: dict) -> ToolResponse:
        world = self._need_world()
        g = _as_array(a["grasp_pose"], "grasp_pose", 1 if np.ndim(a["grasp_pose"]) == 1 else 2)
        g = g.reshape(4, 4) if g.size == 16 else g
        if g.shape != (4, 4):
            raise ValueError(f"grasp_pose must be a 4x4 matrix (or 16 numbers), got shape {g.shape}")
        frame = self._camera_frame(e)
        tcp = grasp_tcp_in_base(frame.extrinsics, g)  # raises on non-finite / non-rotation input
        res = world.execute_grasp(tcp)
        after = world.capture()
        e.images.append(after)
        e.variables.set("captured_image", after.rgb)
        text = "Grasp execution succeeded." if res.success else "Grasp execution failed."
        return ToolResponse("robot.execute_grasp", text, True, {"result": res.to_dict(), "image_index": len(e.images) - 1,
                                                                "stamp_s": after.stamp_s}, [after.rgb])

    def _place_2d(self, e: Episode, a: dict) -> ToolResponse:
        world = self._need_world()
        p = _as_array(a["placement_point_2d"], "placement_point_2d", 1)
        if p.shape != (2,) or not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
            raise ValueError("placement_point_2d must be [x, y] with both in [0, 1]")
        frame = self._camera_frame(e)
        point = ray_point_base(frame, float(p[0]), float(p[1]))
        if not np.all(np.isfinite(point)):
            raise ValueError("no depth at the placement point")
        point[2] = max(point[2], 0.0)  # depth noise puts table points a hair below z = 0
        res = world.place_at(point, None)
        after = world.capture()
        e.images.append(after)
        e.variables.set("captured_image", after.rgb)
        text = "Release operation succeeded." if res.success else "Release operation failed."
        return ToolResponse("robot.place_object_at_2d_location", text, True,
                            {"result": res.to_dict(), "point_base": point.round(4).tolist(),
                             "image_index": len(e.images) - 1, "stamp_s": after.stamp_s}, [after.rgb])

    # ------------------------------------------------------------------ view selection
    def _select_view(self, e: Episode, a: dict) -> ToolResponse:
        if self.view_scorer is None:
            raise RuntimeError("view selection is not available on this server")
        world = self._need_world()
        scores = self.view_scorer(world, str(a["target"]))
        if not scores:
            raise RuntimeError("no camera is available")
        best = max(scores, key=lambda s: s["score"])
        frame = world.capture(best["camera"])
        e.images.append(frame)
        lines = "; ".join(f"{s['camera']}: score {s['score']:.3f} (visible {s['visibility']:.2f}, "
                          f"unoccluded {1 - s['occlusion']:.2f}, coverage {s['coverage']:.2f})" for s in scores)
        text = (f"Best view for '{a['target']}': {best['camera']} (image_index {len(e.images) - 1}). "
                f"Scores: {lines}.")
        return ToolResponse("view_selection.select_view", text, True,
                            {"best": best["camera"], "scores": scores, "image_index": len(e.images) - 1,
                             "stamp_s": frame.stamp_s}, [frame.rgb])
