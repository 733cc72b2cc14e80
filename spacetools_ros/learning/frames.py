"""A task's camera frames rebuilt from its ground truth: the scene file and placements of the row,
built and settled exactly as ``data gen`` does (``context.build_context``), then every camera rendered
as an RGB-D frame (the dataset stores only the RGB images; tools need depth)."""

from __future__ import annotations

from ..core.camera import CameraFrame
from ..core.scene import scene_from_dict
from .context import build_context
from .scenes import SceneDraft


def draft_from_truth(truth: dict) -> SceneDraft:
    """The scene draft a row was made from (``ground_truth``'s scene, placements, hidden object, occluder).

    Raises:
        SceneError: the stored scene does not validate.
        KeyError: the truth has no scene.
    """
    scene_dict = truth["scene"]
    return SceneDraft(scene_from_dict(scene_dict, source="<ground truth>"), scene_dict,
                      list(truth.get("placements") or []), truth.get("hidden"), truth.get("occluder"))


def scene_frames(truth: dict) -> dict[str, CameraFrame]:
    """Every camera of a row's scene, rendered after settling: {camera name: frame} with RGB (as the
    dataset's PNG), the renderer's exact depth (metres along the optical axis) and calibration.

    Raises:
        SceneError / KeyError: a malformed stored scene.
    """
    ctx, sim = build_context(draft_from_truth(truth))
    try:
        return {cam.name: sim.render(cam.name, depth=True, segmentation=False, exact=True) for cam in ctx.scene.cameras}
    finally:
        sim.close()
