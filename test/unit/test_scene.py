"""Scene files: valid files load; every kind of bad file names the field and raises."""

import pytest
import yaml

from spacetools_ros.core.errors import SceneError
from spacetools_ros.core.paths import config_dir
from spacetools_ros.core.scene import load_scene, scene_from_dict, scene_to_dict

GOOD = {"objects": [{"name": "red_block", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04],
                     "position": [0.5, 0.1]}]}


def with_obj(**changes):
    obj = dict(GOOD["objects"][0], **changes)
    return {"objects": [obj]}


def test_demo_scene_loads_with_defaults():
    s = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    assert [o.name for o in s.objects] == ["red_block", "blue_bowl", "green_can", "yellow_ball"]
    assert s.camera.width == 640 and s.camera.height == 480
    assert s.object("blue_bowl").shape == "bowl"


def test_minimal_scene_gets_default_camera_and_mass():
    s = scene_from_dict(GOOD)
    assert s.camera.position == (1.2, 0.0, 0.6)
    assert s.objects[0].mass_kg == 0.1 and s.objects[0].rgb[0] > 0.5


def test_round_trip_through_yaml(tmp_path):
    s = load_scene(config_dir() / "scenes" / "box_in_bowl.yaml")
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(scene_to_dict(s)))
    assert load_scene(p).objects == s.objects


@pytest.mark.parametrize("data, field", [
    (with_obj(shape="pyramid"), "objects[0].shape"),
    (with_obj(color="teal"), "objects[0].color"),
    (with_obj(color=[1.2, 0, 0]), "objects[0].color"),
    (with_obj(size=[-0.04, 0.04, 0.04]), "objects[0].size[0]"),
    (with_obj(size=[0.04, 0.04]), "objects[0].size"),
    (with_obj(size="big"), "objects[0].size"),
    (with_obj(position=[2.0, 0.0]), "objects[0].position"),
    (with_obj(position=[0.05, 0.0]), "objects[0].position"),
    (with_obj(position=["a", 0.0]), "objects[0].position[0]"),
    (with_obj(name="Red Block"), "objects[0].name"),
    (with_obj(positon=[0.5, 0.1]), "objects[0].positon"),
    (with_obj(mass_kg=True), "objects[0].mass_kg"),
    ({"objects": []}, "objects"),
    ({"objects": "x"}, "objects"),
    ([1, 2], "scene"),
    ({"objects": GOOD["objects"] * 2}, "objects[1].name"),
    ({"objects": GOOD["objects"] + [dict(GOOD["objects"][0], name="b", position=[0.51, 0.11])]}, "objects[1].position"),
    ({"objects": GOOD["objects"], "camera": {"width": 0}}, "camera.width"),
    ({"objects": GOOD["objects"], "camera": {"position": [0.5, 0, 0], "look_at": [0.5, 0, 0]}}, "camera.look_at"),
    ({"objects": GOOD["objects"], "seed": -1}, "seed"),
])
def test_bad_scenes_name_the_field(data, field):
    with pytest.raises(SceneError) as err:
        scene_from_dict(data)
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_bad_files(tmp_path):
    with pytest.raises(SceneError, match="file not found"):
        load_scene(tmp_path / "missing.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("objects: [unclosed")
    with pytest.raises(SceneError, match="not valid YAML"):
        load_scene(p)
