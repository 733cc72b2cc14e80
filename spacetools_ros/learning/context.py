"""One simulated scene for task generation: the world built and settled, every camera rendered once,
and what the questions need from it (true poses, visible pixels, phrases)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.language.phrasing import SHAPE_NOUNS
from ..core.scene import CameraSpec, SceneObject
from .scenes import SceneDraft
from .truths import box_corners, project_px

SETTLE_STEPS = 150            # physics steps (0.3 s) after the world's own settling and any placement
MIN_VISIBLE_PX = 20           # an object a question names shows at least this many pixels ...
MIN_VISIBLE_FRACTION = 0.35   # ... and this share of its projected box's outline area
HIDE_Z_M = -5.0               # where objects go while another is rendered alone (under the floor)


@dataclass
class View:
    """One camera's render (at the camera's own size: its K is exact).

    Attributes:
        spec: the scene's camera.
        rgb: (H, W, 3) uint8.
        segmentation: (H, W) int32 object index (scene order), -1 = none.
        depth_m: (H, W) exact depth along the optical axis (first camera only), else None.
        counts: visible pixels per object name.
    """

    spec: CameraSpec
    rgb: np.ndarray
    segmentation: np.ndarray
    depth_m: np.ndarray | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def intrinsics(self) -> np.ndarray:
        return self.spec.intrinsics()

    @property
    def extrinsics(self) -> np.ndarray:
        return self.spec.extrinsics()

    def mask(self, index: int) -> np.ndarray:
        return self.segmentation == index


@dataclass
class SceneContext:
    """A settled scene and its renders; the question builders read only this."""

    draft: SceneDraft
    poses: dict[str, tuple[np.ndarray, np.ndarray]]
    views: list[View]
    max_opening_m: float
    amodal: dict[tuple[str, str], int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    @property
    def scene(self):
        return self.draft.scene

    @property
    def first(self) -> View:
        return self.views[0]

    def obj(self, name: str) -> SceneObject:
        return self.scene.object(name)

    def index(self, name: str) -> int:
        return [o.name for o in self.scene.objects].index(name)

    def phrase(self, name: str) -> str:
        """"the red block" (colours are unique in a scene, so colour + shape names one object)."""
        o = self.obj(name)
        return f"the {o.color_name} {SHAPE_NOUNS[o.shape]}"

    def resting_on_table(self, name: str) -> bool:
        return float(self.poses[name][0][2]) < 0.01

    def projected_area_px(self, name: str, view: View | None = None) -> float:
        """Area of the convex outline of the object's projected box in a view (pixels)."""
        import cv2

        view = view or self.first
        pos, quat = self.poses[name]
        uv = project_px(box_corners(self.obj(name), pos, quat), view.intrinsics, view.extrinsics)
        return float(cv2.contourArea(cv2.convexHull(uv.astype(np.float32))))

    def referable(self, name: str) -> bool:
        """The first camera shows the object well enough for a question to name it."""
        if name == self.draft.hidden:
            return False
        n = self.first.counts.get(name, 0)
        return n >= MIN_VISIBLE_PX and n >= MIN_VISIBLE_FRACTION * self.projected_area_px(name)

    def referable_names(self) -> list[str]:
        return [o.name for o in self.scene.objects if self.referable(o.name)]

    def camera_record(self) -> dict:
        """{camera: {width, height, intrinsics 3x3, extrinsics 4x4 (optical frame in the base frame)}}."""
        return {v.spec.name: {"width": v.spec.width, "height": v.spec.height,
                              "intrinsics": rounded(v.intrinsics, 6), "extrinsics": rounded(v.extrinsics, 6)}
                for v in self.views}

    def pose_record(self) -> dict:
        """{object: {position (3,), quat_wxyz (4,)}} after settling, base frame."""
        return {n: {"position": rounded(p, 6), "quat_wxyz": rounded(q, 6)} for n, (p, q) in self.poses.items()}


def rounded(a, nd: int = 5):
    """Nested lists of floats rounded to ``nd`` decimals (JSON-ready)."""
    arr = np.asarray(a, float)
    return np.round(arr, nd).tolist() if arr.ndim else round(float(arr), nd)


def build_context(draft: SceneDraft, robot=None):
    """Build the world, apply the draft's placements and let everything settle; (context without
    views, sim). The caller closes the sim."""
    from ..backends.sim.mujoco_sim import MujocoSim

    sim = MujocoSim(draft.scene, robot)
    try:
        for p in draft.placements:
            sim.set_object_pose(p["object"], p["position"], p["quat_wxyz"])
        sim.step(SETTLE_STEPS)
        poses = sim.object_poses()
    except Exception:
        sim.close()
        raise
    return SceneContext(draft, poses, [], sim.robot.gripper_max_width_m), sim


def render_views(ctx: SceneContext, sim) -> None:
    """Render every camera once: the first with exact depth and segmentation, the others with segmentation."""
    names = [o.name for o in ctx.scene.objects]
    for i, cam in enumerate(ctx.scene.cameras):
        f = sim.render(cam.name, depth=i == 0, segmentation=True, exact=True)
        ids, n = np.unique(f.segmentation[f.segmentation >= 0], return_counts=True)
        counts = {names[int(k)]: int(c) for k, c in zip(ids, n)}
        ctx.views.append(View(cam, f.rgb, f.segmentation, f.depth_m, counts))


def render_alone(ctx: SceneContext, sim, name: str) -> None:
    """Pixels the object would show in every camera with no other object in the way (the robot stays),
    into ``ctx.amodal[(name, camera)]``. Restores every pose afterwards (no physics step in between)."""
    idx = ctx.index(name)
    others = [o.name for o in ctx.scene.objects if o.name != name]
    for k, n in enumerate(others):
        sim.set_object_pose(n, [10.0 + 0.5 * k, 0.0, HIDE_Z_M])
    try:
        for cam in ctx.scene.cameras:
            f = sim.render(cam.name, depth=False, segmentation=True, exact=True)
            ctx.amodal[(name, cam.name)] = int(np.count_nonzero(f.segmentation == idx))
    finally:
        for n in others:
            p, q = ctx.poses[n]
            sim.set_object_pose(n, p, q)


def image_side(ctx: SceneContext, name: str) -> float:
    """Image column (px) of the object's box centre in the first camera."""
    from .truths import centre_of

    p, q = ctx.poses[name]
    c = centre_of(ctx.obj(name), p, q)
    return float(project_px(c[None, :], ctx.first.intrinsics, ctx.first.extrinsics)[0, 0])
