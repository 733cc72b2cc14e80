"""Builds the MuJoCo model of the robot cell (table, Panda arm + hand, objects, cameras)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...core.errors import ConfigError
from ...core.geometry import mat_to_quat
from ...core.robot_spec import RobotSpec
from ...core.scene import Scene
from ...core.sensor_spec import TABLE_RGB, Appearance
from ...core.shapes import Primitive, object_primitives
from .sensor_model import true_camera_pose

TIMESTEP_S = 0.002
# joint-space PD gains of the arm's position servos (kp N*m/rad, kv N*m*s/rad, torque limit N*m)
ARM_KP = (4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0)
ARM_KV = (450.0, 450.0, 350.0, 350.0, 200.0, 200.0, 200.0)
ARM_TORQUE = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
GRIPPER_KP = 2500.0
GRIPPER_KV = 60.0
OBJECT_FRICTION = (1.0, 0.01, 0.002)  # sliding, torsional, rolling (a dropped ball comes to rest)
FINGER_FRICTION = (1.5, 0.06, 0.0002)
KEY_LIGHT_TARGET = np.array([0.6, 0.1, 0.0])  # where the key light points (base frame, m)


def panda_asset_dir() -> Path:
    """Folder with the Panda MJCF and meshes shipped by the ``dm-robotics-panda`` package.

    Raises:
        ConfigError: when the package is not installed.
    """
    try:
        import importlib.util

        spec = importlib.util.find_spec("dm_robotics")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            p = Path(root) / "panda" / "assets" / "panda"
            if (p / "panda.xml").is_file():
                return p
    raise ConfigError("Panda assets not found: install them with 'pip install --no-deps dm-robotics-panda'")


def _camera_quat_mj(pose: np.ndarray) -> np.ndarray:
    """MuJoCo camera orientation (x right, y up, looks along -z) from an optical-frame pose."""
    return mat_to_quat(pose[:3, :3] @ np.diag([1.0, -1.0, -1.0]))


def _add_lights(spec, world, appearance: Appearance | None) -> None:
    """Head, key and fill lights; ``appearance`` None = the built-in lighting."""
    gain = 1.0 if appearance is None else appearance.light_intensity
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.3 * gain] * 3
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    if appearance is None:
        key_pos, key_dir = [0.6, 0.3, 2.0], [0.0, -0.1, -1.0]
    else:  # aimed at the same workspace point from the chosen direction, 2 m away
        az, tilt = math.radians(appearance.light_azimuth_deg), math.radians(appearance.light_tilt_deg)
        d = np.array([math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), -math.cos(tilt)])
        key_pos, key_dir = list(KEY_LIGHT_TARGET - 2.0 * d), list(d)
    world.add_light(name="key", pos=key_pos, dir=key_dir, castshadow=False,
                    diffuse=[0.45 * gain] * 3, specular=[0.05, 0.05, 0.05])
    world.add_light(name="fill", pos=[1.5, -0.8, 1.5], dir=[-0.7, 0.4, -0.6], castshadow=False,
                    diffuse=[0.2 * gain] * 3, specular=[0.0, 0.0, 0.0])


def add_primitive(body, prim: Primitive, mujoco, **geom_kw):
    """Add one primitive as a geom to a MjsBody."""
    kinds = {"box": mujoco.mjtGeom.mjGEOM_BOX, "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
             "sphere": mujoco.mjtGeom.mjGEOM_SPHERE}
    size = list(prim.size) + [0.0] * (3 - len(prim.size))
    quat = [math.cos(prim.yaw_rad / 2), 0.0, 0.0, math.sin(prim.yaw_rad / 2)]
    return body.add_geom(type=kinds[prim.kind], size=size, pos=list(prim.position), quat=quat, **geom_kw)


def _merged_panda_xml(robot: RobotSpec) -> str:
    """One MJCF document: the arm file with the hand file's body mounted on the flange."""
    import xml.etree.ElementTree as ET

    assets = panda_asset_dir()
    arm = ET.parse(assets / "panda.xml").getroot()
    hand = ET.parse(assets / "panda_hand.xml").getroot()
    arm.find("compiler").set("meshdir", str(assets))
    arm.find("compiler").set("texturedir", str(assets))
    arm_asset = arm.find("asset")
    have = {(e.tag, e.get("name")) for e in arm_asset}
    for e in hand.find("asset"):
        if (e.tag, e.get("name")) not in have:
            arm_asset.append(e)
    flange = next(b for b in arm.iter("body") if b.get("name") == "panda_link8")
    hand_body = hand.find("worldbody").find("body")
    for site in list(hand_body.findall("site")):
        if site.get("name") == "wrist_site":
            hand_body.remove(site)
    yaw = robot.hand_yaw_on_flange_rad
    hand_body.set("quat", f"{math.cos(yaw / 2)} 0 0 {math.sin(yaw / 2)}")
    flange.append(hand_body)
    for tag in ("equality", "tendon"):  # the hand's own actuator is replaced by the world's servo
        arm.append(hand.find(tag))
    return ET.tostring(arm, encoding="unicode")


def build_robot_spec(robot: RobotSpec, mujoco):
    """MjSpec with the Panda arm and hand mounted at the world origin (no actuators)."""
    arm = mujoco.MjSpec.from_string(_merged_panda_xml(robot))
    hand_body = arm.body("panda_hand")
    # TCP between the fingertips: x along the finger opening axis, z = approach
    hand_body.add_site(name=robot.tcp_frame, pos=[0.0, 0.0, robot.tcp_offset_from_hand_m],
                       quat=[math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)], size=[0.005, 0, 0])
    for j in arm.joints:
        if j.name in robot.arm_joints:
            j.armature = 0.1
    for g in arm.geoms:
        if g.name.endswith("finger_collision"):
            g.friction = list(FINGER_FRICTION)
            g.condim = 4
            g.priority = 1
    return arm


def build_world(scene: Scene, robot: RobotSpec):
    """Compile the full cell for a scene.

    Returns:
        (model, name info dict) where the dict maps object names to body names.
    """
    import mujoco

    spec = build_robot_spec(robot, mujoco)
    spec.modelname = "spacetools_cell"
    spec.option.timestep = TIMESTEP_S
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    max_w = max(c.width for c in scene.cameras)
    max_h = max(c.height for c in scene.cameras)
    spec.visual.global_.offwidth = max(640, max_w)
    spec.visual.global_.offheight = max(480, max_h)
    world = spec.worldbody
    _add_lights(spec, world, scene.appearance)
    table_rgb = TABLE_RGB if scene.appearance is None else scene.appearance.table_rgb
    t = scene.table
    cx, cy = (t.x_range_m[0] + t.x_range_m[1]) / 2, (t.y_range_m[0] + t.y_range_m[1]) / 2
    hx, hy = (t.x_range_m[1] - t.x_range_m[0]) / 2, (t.y_range_m[1] - t.y_range_m[0]) / 2
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, -0.75],
                   rgba=[0.30, 0.32, 0.35, 1])
    world.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, t.thickness_m / 2],
                   pos=[cx, cy, -t.thickness_m / 2], rgba=[*table_rgb, 1], friction=[1.0, 0.01, 0.0002])
    for sx in (-1, 1):
        for sy in (-1, 1):
            world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.03, 0.355],
                           pos=[cx + sx * (hx - 0.05), cy + sy * (hy - 0.05), -0.395], rgba=[0.4, 0.4, 0.4, 1],
                           contype=0, conaffinity=0)
    for obj in scene.objects:
        body = world.add_body(name=f"obj/{obj.name}", pos=[obj.position[0], obj.position[1], 0.0005],
                              quat=[math.cos(math.radians(obj.yaw_deg) / 2), 0, 0, math.sin(math.radians(obj.yaw_deg) / 2)])
        body.add_freejoint(name=f"obj/{obj.name}")
        prims = object_primitives(obj)
        vols = []
        for p in prims:
            if p.kind == "box":
                vols.append(8 * p.size[0] * p.size[1] * p.size[2])
            elif p.kind == "cylinder":
                vols.append(math.pi * p.size[0] ** 2 * 2 * p.size[1])
            else:
                vols.append(4 / 3 * math.pi * p.size[0] ** 3)
        density = obj.mass_kg / sum(vols)
        for k, p in enumerate(prims):
            add_primitive(body, p, mujoco, name=f"obj/{obj.name}/{k}", rgba=[*obj.rgb, 1.0],
                          friction=list(OBJECT_FRICTION), condim=6, density=density)
    for cam in scene.cameras:  # at its true pose: a modelled calibration error moves it off the reported one
        pose = true_camera_pose(cam, scene.seed)
        world.add_camera(name=f"cam/{cam.name}", pos=list(pose[:3, 3]), quat=list(_camera_quat_mj(pose)),
                         fovy=cam.fov_y_deg)
    # arm position servos with velocity feed-forward (see MujocoSim.set_arm_command)
    for j, name in enumerate(robot.arm_joints):
        spec.add_actuator(name=f"act/{name}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
                          gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE,
                          gainprm=[ARM_KP[j]] + [0] * 9, biasprm=[0, -ARM_KP[j], -ARM_KV[j]] + [0] * 7,
                          forcelimited=True, forcerange=[-ARM_TORQUE[j], ARM_TORQUE[j]],
                          ctrllimited=False)
    # gripper: both fingers on one tendon (mean finger travel), force-limited like a real hand
    f = robot.gripper_force_n * 2.0
    spec.add_actuator(name="act/gripper", target="split", trntype=mujoco.mjtTrn.mjTRN_TENDON,
                      gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE,
                      gainprm=[GRIPPER_KP] + [0] * 9, biasprm=[0, -GRIPPER_KP, -GRIPPER_KV] + [0] * 7,
                      forcelimited=True, forcerange=[-f, f], ctrllimited=True,
                      ctrlrange=[0.0, robot.gripper_max_width_m / 2])
    model = spec.compile()
    return model
